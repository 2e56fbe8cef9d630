// trident_interop_client: the standard gRPC interop client cases
// (grpc/doc/interop-test-descriptions.md) on trident's own gRPC client
// (rpc::grpc::Channel over trident's HTTP/2 client), through the stubs that
// protoc-gen-trident generates for grpc.testing.TestService. The same cases,
// checks, flags and output as tests/interop/grpcpp_interop_client.cpp, so the
// two can be compared line by line against any server.
//
//   trident_interop_client --server_host=127.0.0.1 --server_port=10000 --test_case=all
//                          [--use_tls --ca_file=PEM] [--server_host_override=NAME]
//                          [--client_cert=PEM --client_key=PEM] [--rpc_timeout_s=20]
//
// One line per case, "PASS <case>" or "FAIL <case>: <reason>"; with
// --test_case=all a last line "N/16 passed". Exit status 0 only if every case
// run passed. Each case runs on its own channel (its own connection).
#include <asio/post.hpp>

#include <chrono>
#include <cstdio>
#include <exception>
#include <iostream>
#include <map>
#include <set>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "core/loop.hpp"
#include "core/task.hpp"
#include "grpc/testing/test.trident.h"
#include "interop_flags.hpp"
#include "rpc/channel.hpp"
#include "rpc/grpc/channel.hpp"

namespace {

using ::grpc::testing::Empty;
using ::grpc::testing::SimpleRequest;
using ::grpc::testing::SimpleResponse;
using ::grpc::testing::StreamingInputCallRequest;
using ::grpc::testing::StreamingInputCallResponse;
using ::grpc::testing::StreamingOutputCallRequest;
using ::grpc::testing::StreamingOutputCallResponse;
using ::grpc::testing::TestService;
using ::grpc::testing::UnimplementedService;
using trident::Task;
using trident::rpc::CallOptions;
using trident::rpc::Metadata;
using trident::rpc::Status;
using trident::rpc::StatusCode;
using trident::rpc::grpc::Channel;
using trident::rpc::grpc::ChannelOptions;

constexpr int kLargeRequest = 271828;
constexpr int kLargeResponse = 314159;
const std::vector<int> kRequestSizes = {27182, 8, 1828, 45904};
const std::vector<int> kResponseSizes = {31415, 9, 2653, 58979};
constexpr const char* kEchoInitial = "x-grpc-test-echo-initial";
constexpr const char* kEchoInitialValue = "test_initial_metadata_value";
constexpr const char* kEchoTrailing = "x-grpc-test-echo-trailing-bin";
const std::string kEchoTrailingValue("\xab\xab\xab", 3);
constexpr const char* kSpecialMessage =
    "\t\ntest with whitespace\r\nand Unicode BMP \u263a and non-BMP \U0001f608\t\n";
constexpr std::string_view kUnaryPath = "/grpc.testing.TestService/UnaryCall";

struct Failure {
  std::string reason;
};

void expect(bool cond, const std::string& reason) {
  if (!cond) throw Failure{reason};
}

std::string describe(const Status& s) {
  std::string out(trident::rpc::code_name(s.code));
  if (!s.message.empty()) out += " \"" + s.message + "\"";
  return out;
}

void expect_ok(const Status& s, const std::string& what) {
  expect(s.ok(), what + " failed: " + describe(s));
}

void expect_code(const Status& s, StatusCode want, const std::string& what) {
  expect(s.code == want,
         what + ": want " + std::string(trident::rpc::code_name(want)) + ", got " + describe(s));
}

std::string zeros(int n) {
  return std::string(static_cast<std::size_t>(n), '\0');
}

void expect_body(const ::grpc::testing::Payload& p, int size, const std::string& what) {
  expect(p.body().size() == static_cast<std::size_t>(size),
         what + ": payload " + std::to_string(p.body().size()) + " bytes, want " +
             std::to_string(size));
  expect(p.body().find_first_not_of('\0') == std::string::npos,
         what + ": payload is not all zeros");
}

const std::string* find_metadata(const Metadata& md, const std::string& key) {
  for (const auto& [k, v] : md) {
    if (k == key) return &v;
  }
  return nullptr;
}

// The status a unary task ends with (rpc::Error carries a non-OK one).
template <typename T>
Task<Status> status_of(Task<T> task) {
  Status status;
  try {
    co_await std::move(task);
  } catch (const trident::rpc::Error& e) {
    status = e.status();
  }
  co_return status;
}

class Cases {
 public:
  Cases(Channel& channel, int rpc_timeout_s)
      : channel_(channel), stub_(channel), timeout_(std::chrono::seconds(rpc_timeout_s)) {}

  Task<void> empty_unary() {
    Empty resp = co_await stub_.EmptyCall(Empty(), opts());
    expect(resp.ByteSizeLong() == 0, "EmptyCall: response is not empty");
  }

  Task<void> large_unary() {
    SimpleResponse resp = co_await stub_.UnaryCall(large_request(), opts());
    expect_body(resp.payload(), kLargeResponse, "UnaryCall");
  }

  Task<void> client_compressed_unary() {
    {  // Feature probe: uncompressed but claiming compression, must be rejected.
      SimpleRequest req = large_request();
      req.mutable_expect_compressed()->set_value(true);
      Status s = co_await status_of(stub_.UnaryCall(req, opts()));
      expect_code(s, StatusCode::invalid_argument, "probe (uncompressed, expect_compressed=true)");
    }
    for (bool compressed : {true, false}) {
      CallOptions o = opts();
      o.compress = compressed;
      SimpleRequest req = large_request();
      req.mutable_expect_compressed()->set_value(compressed);
      std::string what = compressed ? "compressed UnaryCall" : "uncompressed UnaryCall";
      SimpleResponse resp;
      try {
        resp = co_await stub_.UnaryCall(req, o);
      } catch (const trident::rpc::Error& e) {
        throw Failure{what + " failed: " + describe(e.status())};
      }
      expect_body(resp.payload(), kLargeResponse, what);
    }
  }

  Task<void> server_compressed_unary() {
    for (bool compressed : {true, false}) {
      SimpleRequest req = large_request();
      req.mutable_response_compressed()->set_value(compressed);
      std::string what = compressed ? "UnaryCall (response_compressed=true)"
                                    : "UnaryCall (response_compressed=false)";
      // By hand rather than through the stub: the compressed flag is on the call.
      trident::rpc::ClientStream<SimpleRequest, SimpleResponse> call(
          channel_.start(kUnaryPath, opts()));
      co_await call.write(req);
      co_await call.writes_done();
      std::optional<SimpleResponse> resp = co_await call.read();
      auto& grpc_call = dynamic_cast<trident::rpc::grpc::ClientCall&>(call.call());
      bool was_compressed = grpc_call.last_message_compressed();
      Status s = co_await call.finish();
      expect_ok(s, what);
      expect(resp.has_value(), what + ": no response message");
      expect(was_compressed == compressed,
             what + ": response compressed flag is " + (compressed ? "not set" : "set"));
      expect_body(resp->payload(), kLargeResponse, what);
    }
  }

  Task<void> client_streaming() {
    auto stream = stub_.StreamingInputCall(opts());
    for (int size : kRequestSizes) {
      StreamingInputCallRequest req;
      req.mutable_payload()->set_body(zeros(size));
      co_await stream.write(req);
    }
    co_await stream.writes_done();
    std::optional<StreamingInputCallResponse> resp = co_await stream.read();
    expect_ok(co_await stream.finish(), "StreamingInputCall");
    expect(resp.has_value(), "StreamingInputCall: no response");
    expect(resp->aggregated_payload_size() == 74922,
           "aggregated_payload_size " + std::to_string(resp->aggregated_payload_size()) +
               ", want 74922");
  }

  Task<void> server_streaming() {
    StreamingOutputCallRequest req;
    for (int size : kResponseSizes) req.add_response_parameters()->set_size(size);
    auto stream = co_await stub_.StreamingOutputCall(req, opts());
    std::size_t n = 0;
    while (auto resp = co_await stream.read()) {
      expect(n < kResponseSizes.size(), "StreamingOutputCall: more than 4 responses");
      expect_body(resp->payload(), kResponseSizes[n], "response " + std::to_string(n));
      ++n;
    }
    expect_ok(co_await stream.finish(), "StreamingOutputCall");
    expect(n == kResponseSizes.size(), std::to_string(n) + " responses, want 4");
  }

  Task<void> ping_pong() {
    auto stream = stub_.FullDuplexCall(opts());
    for (std::size_t i = 0; i < kRequestSizes.size(); ++i) {
      StreamingOutputCallRequest req;
      req.add_response_parameters()->set_size(kResponseSizes[i]);
      req.mutable_payload()->set_body(zeros(kRequestSizes[i]));
      co_await stream.write(req);
      auto resp = co_await stream.read();
      if (!resp) {
        Status s = co_await stream.finish();
        throw Failure{"FullDuplexCall: no response " + std::to_string(i) + " (" + describe(s) +
                      ")"};
      }
      expect_body(resp->payload(), kResponseSizes[i], "response " + std::to_string(i));
    }
    co_await stream.writes_done();
    auto extra = co_await stream.read();
    expect(!extra, "FullDuplexCall: a fifth response");
    expect_ok(co_await stream.finish(), "FullDuplexCall");
  }

  Task<void> empty_stream() {
    auto stream = stub_.FullDuplexCall(opts());
    co_await stream.writes_done();
    auto resp = co_await stream.read();
    expect(!resp, "FullDuplexCall: got a response to no request");
    expect_ok(co_await stream.finish(), "FullDuplexCall");
  }

  Task<void> cancel_after_begin() {
    auto stream = stub_.StreamingInputCall(opts());
    stream.cancel();
    expect_code(co_await stream.finish(), StatusCode::cancelled, "StreamingInputCall");
  }

  Task<void> cancel_after_first_response() {
    auto stream = stub_.FullDuplexCall(opts());
    StreamingOutputCallRequest req;
    req.add_response_parameters()->set_size(31415);
    req.mutable_payload()->set_body(zeros(27182));
    co_await stream.write(req);
    auto resp = co_await stream.read();
    expect(resp.has_value(), "FullDuplexCall: no first response");
    expect_body(resp->payload(), 31415, "first response");
    stream.cancel();
    expect_code(co_await stream.finish(), StatusCode::cancelled, "FullDuplexCall");
  }

  Task<void> timeout_on_sleeping_server() {
    CallOptions o;
    o.timeout = std::chrono::milliseconds(1);
    auto stream = stub_.FullDuplexCall(o);
    StreamingOutputCallRequest req;
    req.mutable_payload()->set_body(zeros(27182));
    try {
      co_await stream.write(req);  // may already fail: the deadline is 1 ms
    } catch (const trident::rpc::Error&) {
    }
    auto resp = co_await stream.read();
    expect(!resp, "FullDuplexCall: got a response");
    expect_code(co_await stream.finish(), StatusCode::deadline_exceeded, "FullDuplexCall");
  }

  Task<void> custom_metadata() {
    {
      CallOptions o = opts();
      add_echo_metadata(o);
      trident::rpc::ClientStream<SimpleRequest, SimpleResponse> call(channel_.start(kUnaryPath, o));
      co_await call.write(large_request());
      co_await call.writes_done();
      auto resp = co_await call.read();
      expect_ok(co_await call.finish(), "UnaryCall");
      expect(resp.has_value(), "UnaryCall: no response");
      expect_body(resp->payload(), kLargeResponse, "UnaryCall");
      check_echo_metadata(call.call(), "UnaryCall");
    }
    {
      CallOptions o = opts();
      add_echo_metadata(o);
      auto stream = stub_.FullDuplexCall(o);
      StreamingOutputCallRequest req;
      req.add_response_parameters()->set_size(kLargeResponse);
      req.mutable_payload()->set_body(zeros(kLargeRequest));
      co_await stream.write(req);
      co_await stream.writes_done();
      auto resp = co_await stream.read();
      if (!resp) {
        Status s = co_await stream.finish();
        throw Failure{"FullDuplexCall: no response (" + describe(s) + ")"};
      }
      expect_body(resp->payload(), kLargeResponse, "FullDuplexCall");
      auto extra = co_await stream.read();
      expect(!extra, "FullDuplexCall: a second response");
      expect_ok(co_await stream.finish(), "FullDuplexCall");
      check_echo_metadata(stream.call(), "FullDuplexCall");
    }
  }

  Task<void> status_code_and_message() { co_await echo_status("test status message"); }

  Task<void> special_status_message() {
    SimpleRequest req;
    req.mutable_response_status()->set_code(2);
    req.mutable_response_status()->set_message(kSpecialMessage);
    Status s = co_await status_of(stub_.UnaryCall(req, opts()));
    expect_code(s, StatusCode::unknown, "UnaryCall");
    expect(s.message == kSpecialMessage,
           "UnaryCall: status message differs: got \"" + s.message + "\"");
  }

  Task<void> unimplemented_method() {
    Status s = co_await status_of(stub_.UnimplementedCall(Empty(), opts()));
    expect_code(s, StatusCode::unimplemented, "TestService/UnimplementedCall");
  }

  Task<void> unimplemented_service() {
    UnimplementedService::Client stub(channel_);
    Status s = co_await status_of(stub.UnimplementedCall(Empty(), opts()));
    expect_code(s, StatusCode::unimplemented, "UnimplementedService/UnimplementedCall");
  }

 private:
  CallOptions opts() const {
    CallOptions o;
    o.timeout = timeout_;
    return o;
  }

  static SimpleRequest large_request() {
    SimpleRequest req;
    req.set_response_size(kLargeResponse);
    req.mutable_payload()->set_body(zeros(kLargeRequest));
    return req;
  }

  static void add_echo_metadata(CallOptions& o) {
    o.metadata.emplace_back(kEchoInitial, kEchoInitialValue);
    o.metadata.emplace_back(kEchoTrailing, kEchoTrailingValue);
  }

  static void check_echo_metadata(trident::rpc::ClientCall& call, const std::string& what) {
    const std::string* v = find_metadata(call.initial_metadata(), kEchoInitial);
    expect(v != nullptr, what + ": no " + kEchoInitial + " in the initial metadata");
    expect(*v == kEchoInitialValue, what + ": " + kEchoInitial + " is \"" + *v + "\"");
    v = find_metadata(call.trailing_metadata(), kEchoTrailing);
    expect(v != nullptr, what + ": no " + kEchoTrailing + " in the trailing metadata");
    expect(*v == kEchoTrailingValue, what + ": " + kEchoTrailing + " has the wrong value");
  }

  Task<void> echo_status(std::string message) {
    {
      SimpleRequest req;
      req.mutable_response_status()->set_code(2);
      req.mutable_response_status()->set_message(message);
      Status s = co_await status_of(stub_.UnaryCall(req, opts()));
      expect_code(s, StatusCode::unknown, "UnaryCall");
      expect(s.message == message, "UnaryCall: message \"" + s.message + "\"");
    }
    {
      auto stream = stub_.FullDuplexCall(opts());
      StreamingOutputCallRequest req;
      req.mutable_response_status()->set_code(2);
      req.mutable_response_status()->set_message(message);
      try {
        co_await stream.write(req);
        co_await stream.writes_done();
      } catch (const trident::rpc::Error&) {
        // The server may have answered already; the status below says what happened.
      }
      auto resp = co_await stream.read();
      expect(!resp, "FullDuplexCall: got a response");
      Status s = co_await stream.finish();
      expect_code(s, StatusCode::unknown, "FullDuplexCall");
      expect(s.message == message, "FullDuplexCall: message \"" + s.message + "\"");
    }
  }

  Channel& channel_;
  TestService::Client stub_;
  std::chrono::seconds timeout_;
};

using CaseFn = Task<void> (Cases::*)();
const std::vector<std::pair<std::string, CaseFn>> kCases = {
    {"empty_unary", &Cases::empty_unary},
    {"large_unary", &Cases::large_unary},
    {"client_streaming", &Cases::client_streaming},
    {"server_streaming", &Cases::server_streaming},
    {"ping_pong", &Cases::ping_pong},
    {"empty_stream", &Cases::empty_stream},
    {"client_compressed_unary", &Cases::client_compressed_unary},
    {"server_compressed_unary", &Cases::server_compressed_unary},
    {"cancel_after_begin", &Cases::cancel_after_begin},
    {"cancel_after_first_response", &Cases::cancel_after_first_response},
    {"timeout_on_sleeping_server", &Cases::timeout_on_sleeping_server},
    {"custom_metadata", &Cases::custom_metadata},
    {"status_code_and_message", &Cases::status_code_and_message},
    {"special_status_message", &Cases::special_status_message},
    {"unimplemented_method", &Cases::unimplemented_method},
    {"unimplemented_service", &Cases::unimplemented_service},
};

struct Options {
  std::string host = "127.0.0.1";
  std::string host_override;
  int port = 10000;
  bool tls = false;
  std::string ca_file;
  std::string client_cert;
  std::string client_key;
  std::string test_case = "large_unary";
  int rpc_timeout_s = 20;
};

using interop::Flags;

std::string target_of(const Options& o) {
  bool v6 = o.host.find(':') != std::string::npos && o.host.front() != '[';
  return (v6 ? "[" + o.host + "]" : o.host) + ":" + std::to_string(o.port);
}

ChannelOptions channel_options(const Options& o) {
  ChannelOptions c;
  c.tls = o.tls;
  c.ca_file = o.ca_file;
  c.server_name = o.host_override;
  c.client_cert_file = o.client_cert;
  c.client_key_file = o.client_key;
  return c;
}

// Runs one case on its own channel; "" on success, else the reason.
Task<std::string> run_case(const Options& o, CaseFn fn) {
  std::string why;
  try {
    Channel channel(target_of(o), channel_options(o));
    Cases cases(channel, o.rpc_timeout_s);
    co_await (cases.*fn)();
  } catch (const Failure& f) {
    why = f.reason.empty() ? "failed" : f.reason;
  } catch (const trident::rpc::Error& e) {
    why = "RPC failed: " + describe(e.status());
  } catch (const std::exception& e) {
    why = std::string("exception: ") + e.what();
  }
  co_return why;
}

std::string one_line(std::string s) {
  for (char& c : s) {
    if (c == '\n' || c == '\r') c = ' ';
  }
  return s;
}

Task<void> run(const Options& o, int& exit_code) {
  bool all = o.test_case == "all";
  int failed = 0, ran = 0;
  for (const auto& [name, fn] : kCases) {
    if (!all && name != o.test_case) continue;
    ++ran;
    std::string why = co_await run_case(o, fn);
    if (why.empty()) {
      std::cout << "PASS " << name << std::endl;
    } else {
      ++failed;
      std::cout << "FAIL " << name << ": " << one_line(why) << std::endl;
    }
  }
  if (all) std::cout << (ran - failed) << "/" << ran << " passed" << std::endl;
  exit_code = failed == 0 ? 0 : 1;
}

void usage() {
  std::cerr << "usage: trident_interop_client --server_host=H --server_port=P --test_case=NAME\n"
               "         [--use_tls[=true|false]] [--ca_file=PEM] [--server_host_override=NAME]\n"
               "         [--client_cert=PEM --client_key=PEM] [--rpc_timeout_s=20]\n"
               "cases: all";
  for (const auto& c : kCases) std::cerr << " " << c.first;
  std::cerr << "\n";
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  try {
    Flags flags(argc, argv,
                {"server_host", "server_port", "server_host_override", "test_case", "use_tls",
                 "use_test_ca", "ca_file", "client_cert", "client_key", "rpc_timeout_s"},
                {"use_tls", "use_test_ca"});
    o.host = flags.str("server_host", o.host);
    o.port = flags.integer("server_port", o.port);
    o.host_override = flags.str("server_host_override");
    o.test_case = flags.str("test_case", o.test_case);
    o.tls = flags.boolean("use_tls");
    o.ca_file = flags.str("ca_file");
    o.client_cert = flags.str("client_cert");
    o.client_key = flags.str("client_key");
    o.rpc_timeout_s = flags.integer("rpc_timeout_s", o.rpc_timeout_s);
  } catch (const std::exception& e) {
    if (std::string(e.what()) != "help")
      std::cerr << "trident_interop_client: " << e.what() << "\n";
    usage();
    return 2;
  }
  bool known = o.test_case == "all";
  for (const auto& c : kCases) known |= c.first == o.test_case;
  if (!known) {
    std::cerr << "trident_interop_client: unknown test case " << o.test_case << "\n";
    usage();
    return 2;
  }

  int exit_code = 1;
  trident::Loop loop;
  trident::Spawned task;
  // Started from inside the loop, so that Loop::current() is set for the channels.
  asio::post(loop.io(), [&] {
    task = trident::Spawned(run(o, exit_code), [&](std::exception_ptr e) {
      if (!e) return;
      try {
        std::rethrow_exception(e);
      } catch (const std::exception& ex) {
        std::cerr << "trident_interop_client: " << ex.what() << "\n";
      }
      exit_code = 1;
    });
  });
  loop.run();
  return exit_code;
}
