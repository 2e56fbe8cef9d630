// The standard gRPC interop client cases (grpc/doc/interop-test-descriptions.md) on
// libgrpc++: our own implementation, used to test gRPC servers (trident's, and
// grpcpp_interop_server to prove the client itself).
//
//   grpcpp_interop_client --server_host=127.0.0.1 --server_port=10000 --test_case=large_unary
//                         [--use_tls --ca_file=PEM] [--server_host_override=NAME]
//                         [--rpc_timeout_s=20]
//
// Exit status 0 only when the case passed; on failure one line "FAIL <case>: <reason>".
// --test_case=all runs every case on a fresh channel each, one PASS/FAIL line per case.
#include <chrono>
#include <functional>
#include <iostream>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <grpcpp/grpcpp.h>

#include "grpc/testing/test.grpc.pb.h"
#include "interop_common.hpp"

namespace {

using grpc::ClientContext;
using grpc::Status;
using grpc::StatusCode;
using grpc::testing::Empty;
using grpc::testing::SimpleRequest;
using grpc::testing::SimpleResponse;
using grpc::testing::StreamingInputCallRequest;
using grpc::testing::StreamingInputCallResponse;
using grpc::testing::StreamingOutputCallRequest;
using grpc::testing::StreamingOutputCallResponse;
using grpc::testing::TestService;
using grpc::testing::UnimplementedService;

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

struct Failure {
  std::string reason;
};

void expect(bool cond, const std::string& reason) {
  if (!cond) throw Failure{reason};
}

const char* code_name(StatusCode c) {
  static const char* names[] = {"OK",
                                "CANCELLED",
                                "UNKNOWN",
                                "INVALID_ARGUMENT",
                                "DEADLINE_EXCEEDED",
                                "NOT_FOUND",
                                "ALREADY_EXISTS",
                                "PERMISSION_DENIED",
                                "RESOURCE_EXHAUSTED",
                                "FAILED_PRECONDITION",
                                "ABORTED",
                                "OUT_OF_RANGE",
                                "UNIMPLEMENTED",
                                "INTERNAL",
                                "UNAVAILABLE",
                                "DATA_LOSS",
                                "UNAUTHENTICATED"};
  int i = static_cast<int>(c);
  return i >= 0 && i < 17 ? names[i] : "?";
}

std::string describe(const Status& s) {
  std::string out = code_name(s.error_code());
  if (!s.error_message().empty()) out += " \"" + s.error_message() + "\"";
  return out;
}

void expect_ok(const Status& s, const std::string& what) {
  expect(s.ok(), what + " failed: " + describe(s));
}

void expect_code(const Status& s, StatusCode want, const std::string& what) {
  expect(s.error_code() == want, what + ": want " + code_name(want) + ", got " + describe(s));
}

std::string zeros(int n) {
  return std::string(static_cast<size_t>(n), '\0');
}

bool all_zero(const std::string& s) {
  return s.find_first_not_of('\0') == std::string::npos;
}

void expect_body(const grpc::testing::Payload& p, int size, const std::string& what) {
  expect(p.body().size() == static_cast<size_t>(size), what + ": payload " +
                                                           std::to_string(p.body().size()) +
                                                           " bytes, want " + std::to_string(size));
  expect(all_zero(p.body()), what + ": payload is not all zeros");
}

std::string metadata_value(const std::multimap<grpc::string_ref, grpc::string_ref>& md,
                           const std::string& key, bool* found) {
  auto it = md.find(key);
  *found = it != md.end();
  return *found ? std::string(it->second.data(), it->second.size()) : std::string();
}

class Cases {
 public:
  Cases(std::shared_ptr<grpc::Channel> channel, int rpc_timeout_s)
      : channel_(std::move(channel)),
        stub_(TestService::NewStub(channel_)),
        timeout_(std::chrono::seconds(rpc_timeout_s)) {}

  void empty_unary() {
    ClientContext ctx;
    arm(ctx);
    Empty req, resp;
    expect_ok(stub_->EmptyCall(&ctx, req, &resp), "EmptyCall");
    expect(resp.ByteSizeLong() == 0, "EmptyCall: response is not empty");
  }

  void large_unary() {
    ClientContext ctx;
    arm(ctx);
    SimpleRequest req = large_request();
    SimpleResponse resp;
    expect_ok(stub_->UnaryCall(&ctx, req, &resp), "UnaryCall");
    expect_body(resp.payload(), kLargeResponse, "UnaryCall");
  }

  void client_compressed_unary() {
    {  // Feature probe: uncompressed but claiming compression, must be rejected.
      ClientContext ctx;
      arm(ctx);
      SimpleRequest req = large_request();
      req.mutable_expect_compressed()->set_value(true);
      SimpleResponse resp;
      expect_code(stub_->UnaryCall(&ctx, req, &resp), StatusCode::INVALID_ARGUMENT,
                  "probe (uncompressed, expect_compressed=true)");
    }
    for (bool compressed : {true, false}) {
      ClientContext ctx;
      arm(ctx);
      ctx.set_compression_algorithm(compressed ? GRPC_COMPRESS_GZIP : GRPC_COMPRESS_NONE);
      SimpleRequest req = large_request();
      req.mutable_expect_compressed()->set_value(compressed);
      SimpleResponse resp;
      std::string what = compressed ? "compressed UnaryCall" : "uncompressed UnaryCall";
      expect_ok(stub_->UnaryCall(&ctx, req, &resp), what);
      expect_body(resp.payload(), kLargeResponse, what);
    }
  }

  void server_compressed_unary() {
    for (bool compressed : {true, false}) {
      ClientContext ctx;
      arm(ctx);
      SimpleRequest req = large_request();
      req.mutable_response_compressed()->set_value(compressed);
      SimpleResponse resp;
      std::string what = compressed ? "UnaryCall (response_compressed=true)"
                                    : "UnaryCall (response_compressed=false)";
      expect_ok(stub_->UnaryCall(&ctx, req, &resp), what);
      expect(interop::last_message_was_compressed(ctx.c_call()) == compressed,
             what + ": response compressed flag is " + (compressed ? "not set" : "set"));
      expect_body(resp.payload(), kLargeResponse, what);
    }
  }

  void client_streaming() {
    ClientContext ctx;
    arm(ctx);
    StreamingInputCallResponse resp;
    auto stream = stub_->StreamingInputCall(&ctx, &resp);
    for (int size : kRequestSizes) {
      StreamingInputCallRequest req;
      req.mutable_payload()->set_body(zeros(size));
      expect(stream->Write(req), "StreamingInputCall: write failed");
    }
    stream->WritesDone();
    expect_ok(stream->Finish(), "StreamingInputCall");
    expect(resp.aggregated_payload_size() == 74922,
           "aggregated_payload_size " + std::to_string(resp.aggregated_payload_size()) +
               ", want 74922");
  }

  void server_streaming() {
    ClientContext ctx;
    arm(ctx);
    StreamingOutputCallRequest req;
    for (int size : kResponseSizes) req.add_response_parameters()->set_size(size);
    auto stream = stub_->StreamingOutputCall(&ctx, req);
    StreamingOutputCallResponse resp;
    size_t n = 0;
    while (stream->Read(&resp)) {
      expect(n < kResponseSizes.size(), "StreamingOutputCall: more than 4 responses");
      expect_body(resp.payload(), kResponseSizes[n], "response " + std::to_string(n));
      ++n;
    }
    expect_ok(stream->Finish(), "StreamingOutputCall");
    expect(n == kResponseSizes.size(), std::to_string(n) + " responses, want 4");
  }

  void ping_pong() {
    ClientContext ctx;
    arm(ctx);
    auto stream = stub_->FullDuplexCall(&ctx);
    for (size_t i = 0; i < kRequestSizes.size(); ++i) {
      StreamingOutputCallRequest req;
      req.add_response_parameters()->set_size(kResponseSizes[i]);
      req.mutable_payload()->set_body(zeros(kRequestSizes[i]));
      expect(stream->Write(req), "FullDuplexCall: write " + std::to_string(i) + " failed");
      StreamingOutputCallResponse resp;
      if (!stream->Read(&resp))
        throw Failure{"FullDuplexCall: no response " + std::to_string(i) + " (" +
                      describe(stream->Finish()) + ")"};
      expect_body(resp.payload(), kResponseSizes[i], "response " + std::to_string(i));
    }
    stream->WritesDone();
    StreamingOutputCallResponse extra;
    expect(!stream->Read(&extra), "FullDuplexCall: a fifth response");
    expect_ok(stream->Finish(), "FullDuplexCall");
  }

  void empty_stream() {
    ClientContext ctx;
    arm(ctx);
    auto stream = stub_->FullDuplexCall(&ctx);
    stream->WritesDone();
    StreamingOutputCallResponse resp;
    expect(!stream->Read(&resp), "FullDuplexCall: got a response to no request");
    expect_ok(stream->Finish(), "FullDuplexCall");
  }

  void cancel_after_begin() {
    ClientContext ctx;
    arm(ctx);
    StreamingInputCallResponse resp;
    auto stream = stub_->StreamingInputCall(&ctx, &resp);
    ctx.TryCancel();
    expect_code(stream->Finish(), StatusCode::CANCELLED, "StreamingInputCall");
  }

  void cancel_after_first_response() {
    ClientContext ctx;
    arm(ctx);
    auto stream = stub_->FullDuplexCall(&ctx);
    StreamingOutputCallRequest req;
    req.add_response_parameters()->set_size(31415);
    req.mutable_payload()->set_body(zeros(27182));
    expect(stream->Write(req), "FullDuplexCall: write failed");
    StreamingOutputCallResponse resp;
    expect(stream->Read(&resp), "FullDuplexCall: no first response");
    expect_body(resp.payload(), 31415, "first response");
    ctx.TryCancel();
    expect_code(stream->Finish(), StatusCode::CANCELLED, "FullDuplexCall");
  }

  void timeout_on_sleeping_server() {
    ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::milliseconds(1));
    auto stream = stub_->FullDuplexCall(&ctx);
    StreamingOutputCallRequest req;
    req.mutable_payload()->set_body(zeros(27182));
    stream->Write(req);  // may already fail: the deadline is 1 ms
    StreamingOutputCallResponse resp;
    expect(!stream->Read(&resp), "FullDuplexCall: got a response");
    expect_code(stream->Finish(), StatusCode::DEADLINE_EXCEEDED, "FullDuplexCall");
  }

  void custom_metadata() {
    {
      ClientContext ctx;
      arm(ctx);
      add_echo_metadata(ctx);
      SimpleRequest req = large_request();
      SimpleResponse resp;
      expect_ok(stub_->UnaryCall(&ctx, req, &resp), "UnaryCall");
      expect_body(resp.payload(), kLargeResponse, "UnaryCall");
      check_echo_metadata(ctx, "UnaryCall");
    }
    {
      ClientContext ctx;
      arm(ctx);
      add_echo_metadata(ctx);
      auto stream = stub_->FullDuplexCall(&ctx);
      StreamingOutputCallRequest req;
      req.add_response_parameters()->set_size(kLargeResponse);
      req.mutable_payload()->set_body(zeros(kLargeRequest));
      expect(stream->Write(req), "FullDuplexCall: write failed");
      stream->WritesDone();
      StreamingOutputCallResponse resp;
      if (!stream->Read(&resp))
        throw Failure{"FullDuplexCall: no response (" + describe(stream->Finish()) + ")"};
      expect_body(resp.payload(), kLargeResponse, "FullDuplexCall");
      expect(!stream->Read(&resp), "FullDuplexCall: a second response");
      expect_ok(stream->Finish(), "FullDuplexCall");
      check_echo_metadata(ctx, "FullDuplexCall");
    }
  }

  void status_code_and_message() { echo_status("test status message"); }

  void special_status_message() {
    ClientContext ctx;
    arm(ctx);
    SimpleRequest req;
    req.mutable_response_status()->set_code(2);
    req.mutable_response_status()->set_message(kSpecialMessage);
    SimpleResponse resp;
    Status s = stub_->UnaryCall(&ctx, req, &resp);
    expect_code(s, StatusCode::UNKNOWN, "UnaryCall");
    expect(s.error_message() == kSpecialMessage,
           "UnaryCall: status message differs: got \"" + s.error_message() + "\"");
  }

  void unimplemented_method() {
    ClientContext ctx;
    arm(ctx);
    Empty req, resp;
    expect_code(stub_->UnimplementedCall(&ctx, req, &resp), StatusCode::UNIMPLEMENTED,
                "TestService/UnimplementedCall");
  }

  void unimplemented_service() {
    auto stub = UnimplementedService::NewStub(channel_);
    ClientContext ctx;
    arm(ctx);
    Empty req, resp;
    expect_code(stub->UnimplementedCall(&ctx, req, &resp), StatusCode::UNIMPLEMENTED,
                "UnimplementedService/UnimplementedCall");
  }

 private:
  void arm(ClientContext& ctx) { ctx.set_deadline(std::chrono::system_clock::now() + timeout_); }

  static SimpleRequest large_request() {
    SimpleRequest req;
    req.set_response_size(kLargeResponse);
    req.mutable_payload()->set_body(zeros(kLargeRequest));
    return req;
  }

  static void add_echo_metadata(ClientContext& ctx) {
    ctx.AddMetadata(kEchoInitial, kEchoInitialValue);
    ctx.AddMetadata(kEchoTrailing, kEchoTrailingValue);
  }

  static void check_echo_metadata(ClientContext& ctx, const std::string& what) {
    bool found = false;
    std::string v = metadata_value(ctx.GetServerInitialMetadata(), kEchoInitial, &found);
    expect(found, what + ": no " + kEchoInitial + " in the initial metadata");
    expect(v == kEchoInitialValue, what + ": " + kEchoInitial + " is \"" + v + "\"");
    v = metadata_value(ctx.GetServerTrailingMetadata(), kEchoTrailing, &found);
    expect(found, what + ": no " + kEchoTrailing + " in the trailing metadata");
    expect(v == kEchoTrailingValue, what + ": " + kEchoTrailing + " has the wrong value");
  }

  void echo_status(const std::string& message) {
    {
      ClientContext ctx;
      arm(ctx);
      SimpleRequest req;
      req.mutable_response_status()->set_code(2);
      req.mutable_response_status()->set_message(message);
      SimpleResponse resp;
      Status s = stub_->UnaryCall(&ctx, req, &resp);
      expect_code(s, StatusCode::UNKNOWN, "UnaryCall");
      expect(s.error_message() == message, "UnaryCall: message \"" + s.error_message() + "\"");
    }
    {
      ClientContext ctx;
      arm(ctx);
      auto stream = stub_->FullDuplexCall(&ctx);
      StreamingOutputCallRequest req;
      req.mutable_response_status()->set_code(2);
      req.mutable_response_status()->set_message(message);
      stream->Write(req);
      stream->WritesDone();
      StreamingOutputCallResponse resp;
      expect(!stream->Read(&resp), "FullDuplexCall: got a response");
      Status s = stream->Finish();
      expect_code(s, StatusCode::UNKNOWN, "FullDuplexCall");
      expect(s.error_message() == message, "FullDuplexCall: message \"" + s.error_message() + "\"");
    }
  }

  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<TestService::Stub> stub_;
  std::chrono::seconds timeout_;
};

using CaseFn = void (Cases::*)();
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
  std::string test_case = "large_unary";
  int rpc_timeout_s = 20;
};

std::shared_ptr<grpc::Channel> make_channel(const Options& o) {
  grpc::ChannelArguments args;
  std::shared_ptr<grpc::ChannelCredentials> creds;
  if (o.tls) {
    grpc::SslCredentialsOptions ssl;
    if (!o.ca_file.empty()) ssl.pem_root_certs = interop::read_file(o.ca_file);
    creds = grpc::SslCredentials(ssl);
    if (!o.host_override.empty()) args.SetSslTargetNameOverride(o.host_override);
  } else {
    creds = grpc::InsecureChannelCredentials();
    if (!o.host_override.empty()) args.SetString(GRPC_ARG_DEFAULT_AUTHORITY, o.host_override);
  }
  // A fresh connection per channel, so one case cannot disturb the next.
  args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
  std::string target =
      o.host.find(':') != std::string::npos && o.host.front() != '[' ? "[" + o.host + "]" : o.host;
  return grpc::CreateCustomChannel(target + ":" + std::to_string(o.port), creds, args);
}

// Runs one case on its own channel; empty string on success, else the reason.
std::string run_case(const Options& o, CaseFn fn) {
  try {
    Cases cases(make_channel(o), o.rpc_timeout_s);
    (cases.*fn)();
    return "";
  } catch (const Failure& f) {
    return f.reason.empty() ? "failed" : f.reason;
  } catch (const std::exception& e) {
    return std::string("exception: ") + e.what();
  }
}

std::string one_line(std::string s) {
  for (char& c : s)
    if (c == '\n' || c == '\r') c = ' ';
  return s;
}

void usage() {
  std::cerr << "usage: grpcpp_interop_client --server_host=H --server_port=P --test_case=NAME\n"
               "         [--use_tls[=true|false]] [--ca_file=PEM] [--server_host_override=NAME]\n"
               "         [--rpc_timeout_s=20]\ncases: all";
  for (const auto& c : kCases) std::cerr << " " << c.first;
  std::cerr << "\n";
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  try {
    interop::Flags flags(argc, argv,
                         {"server_host", "server_port", "server_host_override", "test_case",
                          "use_tls", "use_test_ca", "ca_file", "rpc_timeout_s"},
                         {"use_tls", "use_test_ca"});
    o.host = flags.str("server_host", o.host);
    o.port = flags.integer("server_port", o.port);
    o.host_override = flags.str("server_host_override");
    o.test_case = flags.str("test_case", o.test_case);
    o.tls = flags.boolean("use_tls");
    o.ca_file = flags.str("ca_file");
    o.rpc_timeout_s = flags.integer("rpc_timeout_s", o.rpc_timeout_s);
  } catch (const std::exception& e) {
    if (std::string(e.what()) != "help") std::cerr << "grpcpp_interop_client: " << e.what() << "\n";
    usage();
    return 2;
  }

  if (o.test_case == "all") {
    int failed = 0;
    for (const auto& [name, fn] : kCases) {
      std::string why = run_case(o, fn);
      if (why.empty()) {
        std::cout << "PASS " << name << "\n";
      } else {
        ++failed;
        std::cout << "FAIL " << name << ": " << one_line(why) << "\n";
      }
    }
    std::cout << (kCases.size() - failed) << "/" << kCases.size() << " passed\n";
    return failed == 0 ? 0 : 1;
  }
  for (const auto& [name, fn] : kCases) {
    if (name != o.test_case) continue;
    std::string why = run_case(o, fn);
    if (!why.empty()) {
      std::cout << "FAIL " << name << ": " << one_line(why) << std::endl;
      return 1;
    }
    std::cout << "PASS " << name << std::endl;
    return 0;
  }
  std::cerr << "grpcpp_interop_client: unknown test case " << o.test_case << "\n";
  usage();
  return 2;
}
