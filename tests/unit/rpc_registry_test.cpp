// ServiceRegistry lookups and the interceptor chain, with an in-memory method.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "rpc/service.hpp"

namespace trident::rpc {
namespace {

struct NoInput : MessageReader {
  Task<std::optional<std::string>> read() override { co_return std::nullopt; }
};
struct Collect : MessageWriter {
  std::vector<std::string> messages;
  Task<void> write(std::string m) override {
    messages.push_back(std::move(m));
    co_return;
  }
};

class Echo final : public Service {
 public:
  const google::protobuf::ServiceDescriptor* descriptor() const override { return nullptr; }
  std::vector<Method> methods() override {
    Method m;
    m.path = "/test.Echo/Say";
    m.invoke = [](Context& ctx, MessageReader&, MessageWriter& out) -> Task<void> {
      co_await out.write("said by " + std::string(ctx.method()));
    };
    return {m};
  }
};

// Runs a task that never suspends; returns what it threw.
std::exception_ptr run(Task<void> task) {
  std::exception_ptr error;
  bool done = false;
  Spawned s(std::move(task), [&](std::exception_ptr e) {
    error = e;
    done = true;
  });
  EXPECT_TRUE(done);
  return error;
}

TEST(RpcRegistry, FindsMethodsByPath) {
  Echo echo;
  ServiceRegistry registry;
  registry.add(echo);
  EXPECT_NE(registry.find("/test.Echo/Say"), nullptr);
  EXPECT_EQ(registry.find("/test.Echo/Shout"), nullptr);
  EXPECT_EQ(registry.find("test.Echo/Say"), nullptr);
}

TEST(RpcRegistry, InterceptorsRunInOrderAroundTheMethod) {
  Echo echo;
  ServiceRegistry registry;
  registry.add(echo);
  std::vector<std::string> log;
  registry.add_interceptor([&](Context&, const Method& m, Next next) -> Task<void> {
    log.push_back("outer in " + m.path);
    co_await next();
    log.push_back("outer out");
  });
  registry.add_interceptor([&](Context&, const Method&, Next next) -> Task<void> {
    log.push_back("inner in");
    co_await next();
    log.push_back("inner out");
  });
  Context ctx;
  ctx.set_method("/test.Echo/Say");
  NoInput in;
  Collect out;
  EXPECT_EQ(run(registry.call(*registry.find("/test.Echo/Say"), ctx, in, out)), nullptr);
  EXPECT_EQ(log, (std::vector<std::string>{"outer in /test.Echo/Say", "inner in", "inner out",
                                           "outer out"}));
  EXPECT_EQ(out.messages, std::vector<std::string>{"said by /test.Echo/Say"});
}

TEST(RpcRegistry, AnInterceptorCanRefuseTheCall) {
  Echo echo;
  ServiceRegistry registry;
  registry.add(echo);
  registry.add_interceptor([](Context& ctx, const Method&, Next next) -> Task<void> {
    if (ctx.client_metadata("authorization") != "Bearer ok") {
      throw Error(StatusCode::unauthenticated, "no valid token");
    }
    co_await next();
  });
  NoInput in;
  Collect out;
  Context refused;
  std::exception_ptr e = run(registry.call(*registry.find("/test.Echo/Say"), refused, in, out));
  ASSERT_NE(e, nullptr);
  try {
    std::rethrow_exception(e);
  } catch (const Error& err) {
    EXPECT_EQ(err.status().code, StatusCode::unauthenticated);
  }
  EXPECT_TRUE(out.messages.empty());  // the method never ran

  Context allowed;
  allowed.mutable_client_metadata().emplace_back("authorization", "Bearer ok");
  EXPECT_EQ(run(registry.call(*registry.find("/test.Echo/Say"), allowed, in, out)), nullptr);
  EXPECT_EQ(out.messages.size(), 1u);
}

}  // namespace
}  // namespace trident::rpc

namespace trident::rpc {
namespace {

TEST(RpcContext, MetadataKeysAreChecked) {
  Context ctx;
  ctx.add_initial_metadata("x-request-id", "abc");
  ctx.add_trailing_metadata("x-trace-bin", std::string("\x00\xff", 2));
  EXPECT_EQ(ctx.initial_metadata().size(), 1u);
  EXPECT_EQ(ctx.trailing_metadata().size(), 1u);
  for (const char* key :
       {"X-Upper", "grpc-status", "grpc-custom", "content-type", "te", "a b", ""}) {
    EXPECT_THROW(ctx.add_initial_metadata(key, "v"), Error) << key;
  }
  EXPECT_THROW(ctx.add_trailing_metadata("x-text", "line\nbreak"), Error);
  EXPECT_EQ(ctx.initial_metadata().size(), 1u);  // nothing half-added
}

}  // namespace
}  // namespace trident::rpc
