// The code protoc-gen-trident generates for proto/*.proto (compiled by
// trident_add_proto): the method table, the invokers run over in-memory
// MessageReader / MessageWriter fakes, the UNIMPLEMENTED defaults, and the
// client stubs over a fake Channel (and over a loopback to a generated
// service).
#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <deque>
#include <exception>
#include <initializer_list>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include <google/protobuf/descriptor.h>

#include "codegen_test.trident.h"
#include "lite.trident.h"
#include "no_package.trident.h"
#include "other/common.trident.h"

namespace {

namespace t = trident::codegen::test;
using trident::Spawned;
using trident::Task;
using trident::rpc::CallOptions;
using trident::rpc::Channel;
using trident::rpc::ClientCall;
using trident::rpc::ClientStream;
using trident::rpc::Context;
using trident::rpc::Error;
using trident::rpc::MessageReader;
using trident::rpc::MessageWriter;
using trident::rpc::Metadata;
using trident::rpc::Method;
using trident::rpc::MethodKind;
using trident::rpc::Reader;
using trident::rpc::Status;
using trident::rpc::StatusCode;
using trident::rpc::Writer;

// ---- driving tasks by hand: every fake below completes without suspending ----

template <typename T>
T Sync(Task<T> task) {
  std::optional<T> result;
  std::exception_ptr error;
  bool done = false;
  auto body = [](Task<T> inner, std::optional<T>* out) -> Task<void> {
    out->emplace(co_await std::move(inner));
  };
  Spawned run(body(std::move(task), &result), [&](std::exception_ptr e) {
    error = e;
    done = true;
  });
  if (!done) throw std::logic_error("the task suspended");
  if (error) std::rethrow_exception(error);
  return std::move(*result);
}

void Sync(Task<void> task) {
  std::exception_ptr error;
  bool done = false;
  Spawned run(std::move(task), [&](std::exception_ptr e) {
    error = e;
    done = true;
  });
  if (!done) throw std::logic_error("the task suspended");
  if (error) std::rethrow_exception(error);
}

// The rpc::Error a task fails with (a test failure if it does not).
template <typename T>
Status RunError(Task<T> task) {
  try {
    Sync(std::move(task));
  } catch (const Error& e) {
    return e.status();
  }
  ADD_FAILURE() << "expected an rpc::Error";
  return {};
}

// ---- in-memory byte streams ----

class FakeReader final : public MessageReader {
 public:
  explicit FakeReader(std::vector<std::string> messages) : messages_(std::move(messages)) {}
  Task<std::optional<std::string>> read() override {
    ++reads;
    if (next_ == messages_.size()) co_return std::nullopt;
    co_return messages_[next_++];
  }
  int reads = 0;

 private:
  std::vector<std::string> messages_;
  std::size_t next_ = 0;
};

class FakeWriter final : public MessageWriter {
 public:
  Task<void> write(std::string message) override {
    messages.push_back(std::move(message));
    co_return;
  }
  std::vector<std::string> messages;
};

std::string Bytes(std::int64_t value) {
  t::Num n;
  n.set_value(value);
  return n.SerializeAsString();
}

t::Num NumOf(std::int64_t value) {
  t::Num n;
  n.set_value(value);
  return n;
}

std::vector<std::int64_t> Values(const std::vector<std::string>& messages) {
  std::vector<std::int64_t> out;
  for (const std::string& m : messages) {
    t::Num n;
    EXPECT_TRUE(n.ParseFromString(m));
    out.push_back(n.value());
  }
  return out;
}

const Method& Find(const std::vector<Method>& methods, std::string_view path) {
  for (const Method& m : methods) {
    if (m.path == path) return m;
  }
  throw std::logic_error("no method " + std::string(path));
}

// ---- implementations of the generated base classes ----

class CalcImpl final : public t::Calc::Service {
 public:
  Task<t::Num> Inc(Context& ctx, const t::Num& request) override {
    ++calls;
    method_seen = std::string(ctx.method());
    if (reader != nullptr) reads_at_call = reader->reads;
    if (request.value() < 0) throw Error(StatusCode::invalid_argument, "negative");
    co_return NumOf(request.value() + 1);
  }
  Task<void> CountDown(Context&, const t::Num& request, Writer<t::Num>& out) override {
    ++calls;
    if (reader != nullptr) reads_at_call = reader->reads;
    for (std::int64_t v = request.value(); v > 0; --v) co_await out.write(NumOf(v));
  }
  Task<t::Num> Sum(Context&, Reader<t::Num>& in) override {
    ++calls;
    std::int64_t sum = 0;
    for (;;) {
      std::optional<t::Num> n = co_await in.read();
      if (!n) break;
      sum += n->value();
    }
    co_return NumOf(sum);
  }
  Task<void> Double(Context&, Reader<t::Num>& in, Writer<t::Num>& out) override {
    ++calls;
    for (;;) {
      std::optional<t::Num> n = co_await in.read();
      if (!n) break;
      co_await out.write(NumOf(n->value() * 2));
    }
  }

  int calls = 0;
  std::string method_seen;
  FakeReader* reader = nullptr;
  int reads_at_call = -1;
};

// Only the renamed methods: the others keep their UNIMPLEMENTED defaults.
class MiscImpl final : public t::Misc::Service {
 public:
  Task<t::Outer> Wrap(Context&, const t::Outer::Inner& request) override {
    t::Outer outer;
    *outer.mutable_inner() = request;
    co_return outer;
  }
  Task<t::Num> delete_(Context&, const t::Num& request) override {
    co_return NumOf(-request.value());
  }
  Task<t::Num> methods_(Context&, const t::Num&) override { co_return NumOf(1); }
  Task<t::Num> descriptor_(Context&, const t::Num&) override { co_return NumOf(2); }
  Task<t::Num> Descriptor(Context&, const t::Num&) override { co_return NumOf(3); }
  Task<t::Num> Service_(Context&, const t::Num&) override { co_return NumOf(4); }
  Task<void> Annotate(Context&, const trident::codegen::common::Note& note,
                      Writer<trident::codegen::common::Note>& out) override {
    trident::codegen::common::Note reply;
    reply.set_text("re: " + note.text());
    co_await out.write(reply);
  }
};

class BareImpl final : public Bare::Service {
 public:
  Task<google::protobuf::Empty> Touch(Context&, const google::protobuf::Empty&) override {
    ++touched;
    co_return google::protobuf::Empty();
  }
  int touched = 0;
};

// ---- the generated API, checked at compile time ----

static_assert(t::Calc::kServiceName == "trident.codegen.test.Calc");
static_assert(t::Misc::kServiceName == "trident.codegen.test.Misc");
static_assert(Bare::kServiceName == "Bare");
static_assert(std::is_base_of_v<trident::rpc::Service, t::Calc::Service>);
static_assert(std::is_same_v<decltype(&t::Calc::Service::Inc),
                             Task<t::Num> (t::Calc::Service::*)(Context&, const t::Num&)>);
static_assert(
    std::is_same_v<decltype(&t::Calc::Service::CountDown),
                   Task<void> (t::Calc::Service::*)(Context&, const t::Num&, Writer<t::Num>&)>);
static_assert(std::is_same_v<decltype(&t::Calc::Service::Sum),
                             Task<t::Num> (t::Calc::Service::*)(Context&, Reader<t::Num>&)>);
static_assert(
    std::is_same_v<decltype(&t::Calc::Service::Double),
                   Task<void> (t::Calc::Service::*)(Context&, Reader<t::Num>&, Writer<t::Num>&)>);
static_assert(std::is_same_v<decltype(&t::Calc::Client::Inc),
                             Task<t::Num> (t::Calc::Client::*)(const t::Num&, CallOptions)>);
static_assert(std::is_same_v<decltype(&t::Calc::Client::CountDown),
                             Task<ClientStream<t::Num, t::Num>> (t::Calc::Client::*)(const t::Num&,
                                                                                     CallOptions)>);
static_assert(std::is_same_v<decltype(&t::Calc::Client::Sum),
                             ClientStream<t::Num, t::Num> (t::Calc::Client::*)(CallOptions)>);
static_assert(std::is_same_v<decltype(&t::Calc::Client::Double),
                             ClientStream<t::Num, t::Num> (t::Calc::Client::*)(CallOptions)>);
static_assert(std::is_same_v<decltype(&t::Misc::Service::Ping),
                             Task<google::protobuf::Empty> (t::Misc::Service::*)(
                                 Context&, const google::protobuf::Empty&)>);
static_assert(
    std::is_same_v<decltype(&t::Misc::Service::Wrap),
                   Task<t::Outer> (t::Misc::Service::*)(Context&, const t::Outer_Inner&)>);
static_assert(
    std::is_same_v<decltype(&Bare::Service::assert_),
                   Task<void> (Bare::Service::*)(Context&, Reader<google::protobuf::Empty>&,
                                                 Writer<google::protobuf::Empty>&)>);
static_assert(!std::is_default_constructible_v<t::Calc::Client>);

// ---- the method table ----

TEST(CodegenMethods, PathsKindsAndDescriptors) {
  CalcImpl calc;
  const google::protobuf::ServiceDescriptor* sd = calc.descriptor();
  ASSERT_NE(sd, nullptr);
  EXPECT_EQ(sd->full_name(), "trident.codegen.test.Calc");
  EXPECT_EQ(sd->file()->name(), "codegen_test.proto");
  EXPECT_EQ(sd, google::protobuf::DescriptorPool::generated_pool()->FindServiceByName(
                    "trident.codegen.test.Calc"));

  std::vector<Method> methods = calc.methods();
  ASSERT_EQ(methods.size(), 4u);
  const char* paths[] = {"/trident.codegen.test.Calc/Inc", "/trident.codegen.test.Calc/CountDown",
                         "/trident.codegen.test.Calc/Sum", "/trident.codegen.test.Calc/Double"};
  MethodKind kinds[] = {MethodKind::unary, MethodKind::server_streaming,
                        MethodKind::client_streaming, MethodKind::bidi_streaming};
  for (int i = 0; i < 4; ++i) {
    SCOPED_TRACE(paths[i]);
    EXPECT_EQ(methods[i].path, paths[i]);
    EXPECT_EQ(methods[i].kind, kinds[i]);
    ASSERT_EQ(methods[i].descriptor, sd->method(i));
    EXPECT_EQ("/" + sd->full_name() + "/" + methods[i].descriptor->name(), methods[i].path);
    EXPECT_EQ(methods[i].descriptor->input_type(), t::Num::descriptor());
    EXPECT_EQ(methods[i].descriptor->output_type(), t::Num::descriptor());
    EXPECT_TRUE(static_cast<bool>(methods[i].invoke));
  }
}

TEST(CodegenMethods, SecondServiceKeepsProtoNames) {
  MiscImpl misc;
  const google::protobuf::ServiceDescriptor* sd = misc.descriptor();
  ASSERT_NE(sd, nullptr);
  EXPECT_EQ(sd->full_name(), "trident.codegen.test.Misc");
  std::vector<Method> methods = misc.methods();
  ASSERT_EQ(methods.size(), static_cast<std::size_t>(sd->method_count()));
  for (int i = 0; i < sd->method_count(); ++i) {
    EXPECT_EQ(methods[i].path, "/trident.codegen.test.Misc/" + sd->method(i)->name());
    EXPECT_EQ(methods[i].descriptor, sd->method(i));
  }
  const Method& wrap = Find(methods, "/trident.codegen.test.Misc/Wrap");
  EXPECT_EQ(wrap.descriptor->input_type(), t::Outer::Inner::descriptor());
  EXPECT_EQ(wrap.descriptor->output_type(), t::Outer::descriptor());
  const Method& ping = Find(methods, "/trident.codegen.test.Misc/Ping");
  EXPECT_EQ(ping.descriptor->input_type(), google::protobuf::Empty::descriptor());
  const Method& annotate = Find(methods, "/trident.codegen.test.Misc/Annotate");
  EXPECT_EQ(annotate.kind, MethodKind::server_streaming);
  EXPECT_EQ(annotate.descriptor->input_type(), trident::codegen::common::Note::descriptor());
  for (const char* name : {"delete", "methods", "descriptor", "Descriptor", "Service"}) {
    EXPECT_EQ(Find(methods, std::string("/trident.codegen.test.Misc/") + name).kind,
              MethodKind::unary);
  }
}

TEST(CodegenMethods, ServiceWithoutPackageOrMessages) {
  BareImpl bare;
  const google::protobuf::ServiceDescriptor* sd = bare.descriptor();
  ASSERT_NE(sd, nullptr);
  EXPECT_EQ(sd->full_name(), "Bare");
  EXPECT_EQ(sd->file()->name(), "no_package.proto");
  std::vector<Method> methods = bare.methods();
  ASSERT_EQ(methods.size(), 2u);
  EXPECT_EQ(methods[0].path, "/Bare/Touch");
  EXPECT_EQ(methods[0].kind, MethodKind::unary);
  EXPECT_EQ(methods[1].path, "/Bare/assert");
  EXPECT_EQ(methods[1].kind, MethodKind::bidi_streaming);

  Context ctx;
  FakeReader in({""});
  FakeWriter out;
  Sync(methods[0].invoke(ctx, in, out));
  EXPECT_EQ(bare.touched, 1);
  EXPECT_EQ(out.messages, std::vector<std::string>{""});
}

TEST(CodegenMethods, LiteRuntimeHasNoDescriptors) {
  namespace lite = trident::codegen::lite;
  static_assert(std::is_base_of_v<google::protobuf::MessageLite, lite::Ping>);
  static_assert(!std::is_base_of_v<google::protobuf::Message, lite::Ping>);
  struct LiteImpl final : lite::Lite::Service {
    Task<lite::Ping> Echo(Context&, const lite::Ping& request) override { co_return request; }
  } echo;
  EXPECT_EQ(echo.descriptor(), nullptr);
  std::vector<Method> methods = echo.methods();
  ASSERT_EQ(methods.size(), 2u);
  EXPECT_EQ(methods[0].path, "/trident.codegen.lite.Lite/Echo");
  EXPECT_EQ(methods[0].kind, MethodKind::unary);
  EXPECT_EQ(methods[0].descriptor, nullptr);
  EXPECT_EQ(methods[1].path, "/trident.codegen.lite.Lite/Chat");
  EXPECT_EQ(methods[1].kind, MethodKind::bidi_streaming);
  EXPECT_EQ(methods[1].descriptor, nullptr);

  lite::Ping ping;
  ping.set_n(7);
  Context ctx;
  FakeReader in({ping.SerializeAsString()});
  FakeWriter out;
  Sync(methods[0].invoke(ctx, in, out));
  EXPECT_EQ(out.messages, std::vector<std::string>{ping.SerializeAsString()});
  FakeReader none({});
  EXPECT_EQ(RunError(methods[1].invoke(ctx, none, out)).code, StatusCode::unimplemented);
}

// ---- invokers ----

TEST(CodegenInvoke, UnaryReadsTheWholeRequestStreamThenAnswers) {
  CalcImpl calc;
  std::vector<Method> methods = calc.methods();
  Context ctx;
  ctx.set_method("/trident.codegen.test.Calc/Inc");
  FakeReader in({Bytes(41)});
  calc.reader = &in;
  FakeWriter out;
  Sync(Find(methods, "/trident.codegen.test.Calc/Inc").invoke(ctx, in, out));
  EXPECT_EQ(calc.calls, 1);
  EXPECT_EQ(calc.reads_at_call, 2);  // the request, then the end of the stream
  EXPECT_EQ(calc.method_seen, "/trident.codegen.test.Calc/Inc");
  EXPECT_EQ(Values(out.messages), std::vector<std::int64_t>{42});
}

TEST(CodegenInvoke, UnaryWithoutARequestIsInternal) {
  CalcImpl calc;
  std::vector<Method> methods = calc.methods();
  Context ctx;
  FakeReader in({});
  FakeWriter out;
  Status s = RunError(Find(methods, "/trident.codegen.test.Calc/Inc").invoke(ctx, in, out));
  EXPECT_EQ(s.code, StatusCode::internal);
  EXPECT_EQ(s.message, "missing request message");
  EXPECT_EQ(calc.calls, 0);
  EXPECT_TRUE(out.messages.empty());
}

TEST(CodegenInvoke, UnaryWithTwoRequestsIsInternal) {
  CalcImpl calc;
  std::vector<Method> methods = calc.methods();
  Context ctx;
  FakeReader in({Bytes(1), Bytes(2)});
  FakeWriter out;
  Status s = RunError(Find(methods, "/trident.codegen.test.Calc/Inc").invoke(ctx, in, out));
  EXPECT_EQ(s.code, StatusCode::internal);
  EXPECT_EQ(s.message, "more than one request message for a unary method");
  EXPECT_EQ(calc.calls, 0);
  EXPECT_TRUE(out.messages.empty());
}

TEST(CodegenInvoke, UnparsableRequestIsInternal) {
  CalcImpl calc;
  std::vector<Method> methods = calc.methods();
  Context ctx;
  FakeReader in({std::string("\x08", 1)});  // field 1 varint, value missing
  FakeWriter out;
  Status s = RunError(Find(methods, "/trident.codegen.test.Calc/Inc").invoke(ctx, in, out));
  EXPECT_EQ(s.code, StatusCode::internal);
  EXPECT_EQ(calc.calls, 0);
}

TEST(CodegenInvoke, HandlerErrorsPassThrough) {
  CalcImpl calc;
  std::vector<Method> methods = calc.methods();
  Context ctx;
  FakeReader in({Bytes(-1)});
  FakeWriter out;
  Status s = RunError(Find(methods, "/trident.codegen.test.Calc/Inc").invoke(ctx, in, out));
  EXPECT_EQ(s.code, StatusCode::invalid_argument);
  EXPECT_EQ(s.message, "negative");
  EXPECT_TRUE(out.messages.empty());
}

TEST(CodegenInvoke, ServerStreaming) {
  CalcImpl calc;
  std::vector<Method> methods = calc.methods();
  const Method& m = Find(methods, "/trident.codegen.test.Calc/CountDown");
  Context ctx;
  FakeReader in({Bytes(3)});
  calc.reader = &in;
  FakeWriter out;
  Sync(m.invoke(ctx, in, out));
  EXPECT_EQ(calc.reads_at_call, 2);
  EXPECT_EQ(Values(out.messages), (std::vector<std::int64_t>{3, 2, 1}));

  FakeReader none({});
  calc.reader = nullptr;
  EXPECT_EQ(RunError(m.invoke(ctx, none, out)).message, "missing request message");
  FakeReader two({Bytes(1), Bytes(1)});
  Status s = RunError(m.invoke(ctx, two, out));
  EXPECT_EQ(s.code, StatusCode::internal);
  EXPECT_EQ(s.message, "more than one request message for a server-streaming method");
  EXPECT_EQ(calc.calls, 1);
}

TEST(CodegenInvoke, ClientStreaming) {
  CalcImpl calc;
  std::vector<Method> methods = calc.methods();
  const Method& m = Find(methods, "/trident.codegen.test.Calc/Sum");
  Context ctx;
  FakeReader in({Bytes(1), Bytes(2), Bytes(3), Bytes(4)});
  FakeWriter out;
  Sync(m.invoke(ctx, in, out));
  EXPECT_EQ(Values(out.messages), std::vector<std::int64_t>{10});

  FakeReader empty({});
  FakeWriter out2;
  Sync(m.invoke(ctx, empty, out2));
  EXPECT_EQ(Values(out2.messages), std::vector<std::int64_t>{0});
}

TEST(CodegenInvoke, Bidi) {
  CalcImpl calc;
  std::vector<Method> methods = calc.methods();
  Context ctx;
  FakeReader in({Bytes(1), Bytes(5), Bytes(-2)});
  FakeWriter out;
  Sync(Find(methods, "/trident.codegen.test.Calc/Double").invoke(ctx, in, out));
  EXPECT_EQ(Values(out.messages), (std::vector<std::int64_t>{2, 10, -4}));
}

TEST(CodegenInvoke, DefaultsAreUnimplemented) {
  struct Nothing final : t::Calc::Service {};
  struct NothingMisc final : t::Misc::Service {};
  struct NothingBare final : Bare::Service {};
  Nothing calc;
  NothingMisc misc;
  NothingBare bare;
  for (trident::rpc::Service* service :
       std::initializer_list<trident::rpc::Service*>{&calc, &misc, &bare}) {
    for (const Method& m : service->methods()) {
      SCOPED_TRACE(m.path);
      Context ctx;
      // One (empty, so valid) request for the single-request kinds.
      bool single = m.kind == MethodKind::unary || m.kind == MethodKind::server_streaming;
      FakeReader in(single ? std::vector<std::string>{""} : std::vector<std::string>{});
      FakeWriter out;
      Status s = RunError(m.invoke(ctx, in, out));
      EXPECT_EQ(s.code, StatusCode::unimplemented);
      EXPECT_EQ(s.message, "method " + m.path.substr(1) + " is not implemented");
      EXPECT_TRUE(out.messages.empty());
    }
  }
  // Called directly, too.
  Context ctx;
  Status s = RunError(calc.Inc(ctx, NumOf(1)));
  EXPECT_EQ(s.code, StatusCode::unimplemented);
  EXPECT_EQ(s.message, "method trident.codegen.test.Calc/Inc is not implemented");
}

TEST(CodegenInvoke, RenamedMethodsDispatchToTheirProtoPaths) {
  MiscImpl misc;
  std::vector<Method> methods = misc.methods();
  auto call = [&](const char* name, std::int64_t value) {
    Context ctx;
    FakeReader in({Bytes(value)});
    FakeWriter out;
    Sync(Find(methods, std::string("/trident.codegen.test.Misc/") + name).invoke(ctx, in, out));
    return Values(out.messages);
  };
  EXPECT_EQ(call("delete", 7), std::vector<std::int64_t>{-7});
  EXPECT_EQ(call("methods", 0), std::vector<std::int64_t>{1});
  EXPECT_EQ(call("descriptor", 0), std::vector<std::int64_t>{2});
  EXPECT_EQ(call("Descriptor", 0), std::vector<std::int64_t>{3});
  EXPECT_EQ(call("Service", 0), std::vector<std::int64_t>{4});

  Context ctx;
  t::Outer::Inner inner;
  inner.set_text("hi");
  FakeReader in({inner.SerializeAsString()});
  FakeWriter out;
  Sync(Find(methods, "/trident.codegen.test.Misc/Wrap").invoke(ctx, in, out));
  ASSERT_EQ(out.messages.size(), 1u);
  t::Outer outer;
  ASSERT_TRUE(outer.ParseFromString(out.messages[0]));
  EXPECT_EQ(outer.inner().text(), "hi");

  Status s = RunError(misc.Ping(ctx, google::protobuf::Empty()));
  EXPECT_EQ(s.code, StatusCode::unimplemented);
}

// ---- client stubs over a fake channel ----

struct CallRecord {
  std::string path;
  CallOptions options;
  std::vector<std::string> written;
  bool half_closed = false;
  bool cancelled = false;
  int reads_before_half_close = 0;
  std::deque<std::string> responses;
  Status status;
  int finished = 0;
};

class FakeCall final : public ClientCall {
 public:
  explicit FakeCall(CallRecord& r) : r_(r) {}
  Task<void> write(std::string message) override {
    EXPECT_FALSE(r_.half_closed) << "write after writes_done";
    r_.written.push_back(std::move(message));
    co_return;
  }
  Task<void> writes_done() override {
    r_.half_closed = true;
    co_return;
  }
  Task<std::optional<std::string>> read() override {
    if (!r_.half_closed) ++r_.reads_before_half_close;
    if (r_.responses.empty()) co_return std::nullopt;
    std::string m = std::move(r_.responses.front());
    r_.responses.pop_front();
    co_return std::move(m);
  }
  Task<Status> finish() override {
    ++r_.finished;
    co_return r_.status;
  }
  void cancel() override { r_.cancelled = true; }
  const Metadata& initial_metadata() const override { return none_; }
  const Metadata& trailing_metadata() const override { return none_; }

 private:
  CallRecord& r_;
  Metadata none_;
};

class FakeChannel final : public Channel {
 public:
  std::unique_ptr<ClientCall> start(std::string_view path, const CallOptions& options) override {
    CallRecord& r = calls.emplace_back();
    r.path = std::string(path);
    r.options = options;
    r.responses = std::exchange(next_responses, {});
    r.status = std::exchange(next_status, {});
    return std::make_unique<FakeCall>(r);
  }
  std::deque<CallRecord> calls;  // a deque: records stay where FakeCall points
  std::deque<std::string> next_responses;
  Status next_status;
};

TEST(CodegenClient, Unary) {
  FakeChannel channel;
  t::Calc::Client client(channel);
  channel.next_responses = {Bytes(42)};
  // A temporary CallOptions: the stub keeps it alive for the whole call.
  t::Num response =
      Sync(client.Inc(NumOf(41), CallOptions{std::chrono::seconds(5), {{"k", "v"}}, false}));
  EXPECT_EQ(response.value(), 42);
  ASSERT_EQ(channel.calls.size(), 1u);
  const CallRecord& r = channel.calls[0];
  EXPECT_EQ(r.path, "/trident.codegen.test.Calc/Inc");
  EXPECT_EQ(r.written, std::vector<std::string>{Bytes(41)});
  EXPECT_TRUE(r.half_closed);
  EXPECT_EQ(r.reads_before_half_close, 0);
  EXPECT_EQ(r.finished, 1);
  EXPECT_EQ(r.options.timeout, std::chrono::nanoseconds(std::chrono::seconds(5)));
  EXPECT_EQ(r.options.metadata, (Metadata{{"k", "v"}}));
}

TEST(CodegenClient, UnaryFailureIsThrown) {
  FakeChannel channel;
  t::Calc::Client client(channel);
  channel.next_status = Status{StatusCode::not_found, "gone", {}};
  Status s = RunError(client.Inc(NumOf(1)));
  EXPECT_EQ(s.code, StatusCode::not_found);
  EXPECT_EQ(s.message, "gone");

  channel.next_responses = {};  // OK status, no message
  EXPECT_EQ(RunError(client.Inc(NumOf(1))).code, StatusCode::internal);
}

TEST(CodegenClient, ServerStreamingSendsTheRequestAndHalfCloses) {
  FakeChannel channel;
  t::Calc::Client client(channel);
  channel.next_responses = {Bytes(3), Bytes(2), Bytes(1)};
  t::Num request = NumOf(3);
  ClientStream<t::Num, t::Num> stream = Sync(client.CountDown(request));
  ASSERT_EQ(channel.calls.size(), 1u);
  const CallRecord& r = channel.calls[0];
  EXPECT_EQ(r.path, "/trident.codegen.test.Calc/CountDown");
  EXPECT_EQ(r.written, std::vector<std::string>{Bytes(3)});
  EXPECT_TRUE(r.half_closed);
  std::vector<std::int64_t> got;
  while (std::optional<t::Num> n = Sync(stream.read())) got.push_back(n->value());
  EXPECT_EQ(got, (std::vector<std::int64_t>{3, 2, 1}));
  EXPECT_TRUE(Sync(stream.finish()).ok());
}

TEST(CodegenClient, ClientStreamingAndBidiStartTheCall) {
  FakeChannel channel;
  t::Calc::Client client(channel);
  channel.next_responses = {Bytes(3)};
  ClientStream<t::Num, t::Num> sum = client.Sum();
  ASSERT_EQ(channel.calls.size(), 1u);
  EXPECT_EQ(channel.calls[0].path, "/trident.codegen.test.Calc/Sum");
  EXPECT_TRUE(channel.calls[0].written.empty());
  Sync(sum.write(NumOf(1)));
  Sync(sum.write(NumOf(2)));
  Sync(sum.writes_done());
  EXPECT_EQ(channel.calls[0].written, (std::vector<std::string>{Bytes(1), Bytes(2)}));
  EXPECT_EQ(Sync(sum.read())->value(), 3);

  ClientStream<t::Num, t::Num> bidi = client.Double(CallOptions{{}, {}, true});
  ASSERT_EQ(channel.calls.size(), 2u);
  EXPECT_EQ(channel.calls[1].path, "/trident.codegen.test.Calc/Double");
  EXPECT_TRUE(channel.calls[1].options.compress);
  bidi.cancel();
  EXPECT_TRUE(channel.calls[1].cancelled);
}

TEST(CodegenClient, OtherServicesAndRenamedMethods) {
  FakeChannel channel;
  t::Misc::Client misc(channel);
  Bare::Client bare(channel);
  channel.next_responses = {Bytes(5)};
  EXPECT_EQ(Sync(misc.delete_(NumOf(1))).value(), 5);
  channel.next_responses = {""};
  Sync(misc.Ping(google::protobuf::Empty()));
  channel.next_responses = {""};
  Sync(bare.Touch(google::protobuf::Empty()));
  ClientStream<google::protobuf::Empty, google::protobuf::Empty> s = bare.assert_();
  ASSERT_EQ(channel.calls.size(), 4u);
  EXPECT_EQ(channel.calls[0].path, "/trident.codegen.test.Misc/delete");
  EXPECT_EQ(channel.calls[1].path, "/trident.codegen.test.Misc/Ping");
  EXPECT_EQ(channel.calls[2].path, "/Bare/Touch");
  EXPECT_EQ(channel.calls[3].path, "/Bare/assert");
}

// ---- a generated client calling a generated service, in memory ----

// Runs the registered method once the client half-closes; no real wire.
class LoopbackChannel final : public Channel {
 public:
  explicit LoopbackChannel(trident::rpc::Service& service) : methods_(service.methods()) {}

  std::unique_ptr<ClientCall> start(std::string_view path, const CallOptions&) override {
    return std::make_unique<Call>(*this, std::string(path));
  }

 private:
  class Call final : public ClientCall {
   public:
    Call(LoopbackChannel& channel, std::string path) : channel_(channel), path_(std::move(path)) {}
    Task<void> write(std::string message) override {
      requests_.push_back(std::move(message));
      co_return;
    }
    Task<void> writes_done() override {
      const Method* method = nullptr;
      for (const Method& m : channel_.methods_) {
        if (m.path == path_) method = &m;
      }
      if (method == nullptr) {
        status_ = Status{StatusCode::unimplemented, "unknown method", {}};
        co_return;
      }
      Context ctx;
      ctx.set_method(path_);
      FakeReader in(std::move(requests_));
      try {
        co_await method->invoke(ctx, in, out_);
      } catch (const Error& e) {
        status_ = e.status();
      }
    }
    Task<std::optional<std::string>> read() override {
      if (next_ == out_.messages.size()) co_return std::nullopt;
      co_return out_.messages[next_++];
    }
    Task<Status> finish() override { co_return status_; }
    void cancel() override {}
    const Metadata& initial_metadata() const override { return none_; }
    const Metadata& trailing_metadata() const override { return none_; }

   private:
    LoopbackChannel& channel_;
    std::string path_;
    std::vector<std::string> requests_;
    FakeWriter out_;
    std::size_t next_ = 0;
    Status status_;
    Metadata none_;
  };

  std::vector<Method> methods_;
};

TEST(CodegenLoopback, ClientToService) {
  CalcImpl calc;
  LoopbackChannel channel(calc);
  t::Calc::Client client(channel);

  EXPECT_EQ(Sync(client.Inc(NumOf(9))).value(), 10);
  EXPECT_EQ(calc.method_seen, "/trident.codegen.test.Calc/Inc");
  EXPECT_EQ(RunError(client.Inc(NumOf(-1))).code, StatusCode::invalid_argument);

  ClientStream<t::Num, t::Num> down = Sync(client.CountDown(NumOf(2)));
  EXPECT_EQ(Sync(down.read())->value(), 2);
  EXPECT_EQ(Sync(down.read())->value(), 1);
  EXPECT_FALSE(Sync(down.read()).has_value());
  EXPECT_TRUE(Sync(down.finish()).ok());

  ClientStream<t::Num, t::Num> sum = client.Sum();
  for (int i = 1; i <= 10; ++i) Sync(sum.write(NumOf(i)));
  Sync(sum.writes_done());
  EXPECT_EQ(Sync(sum.read())->value(), 55);

  ClientStream<t::Num, t::Num> twice = client.Double();
  Sync(twice.write(NumOf(21)));
  Sync(twice.writes_done());
  EXPECT_EQ(Sync(twice.read())->value(), 42);
  EXPECT_TRUE(Sync(twice.finish()).ok());

  // A service that implements nothing: the stub sees UNIMPLEMENTED.
  struct Nothing final : t::Calc::Service {};
  Nothing nothing;
  LoopbackChannel empty(nothing);
  t::Calc::Client none(empty);
  Status s = RunError(none.Inc(NumOf(1)));
  EXPECT_EQ(s.code, StatusCode::unimplemented);
  EXPECT_EQ(s.message, "method trident.codegen.test.Calc/Inc is not implemented");
}

}  // namespace
