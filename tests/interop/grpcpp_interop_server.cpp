// grpc.testing.TestService on libgrpc++ (sync API): the server side of the standard gRPC
// interop cases (grpc/doc/interop-test-descriptions.md), used as a peer for trident's
// gRPC client and to prove the interop clients. Our own implementation of the documented
// server features: EmptyCall, UnaryCall, StreamingOutputCall, StreamingInputCall,
// FullDuplexCall, HalfDuplexCall, CompressedRequest/CompressedResponse, Echo Status,
// Echo Metadata and ResponseParameters.interval_us. UnimplementedCall (and
// CacheableUnaryCall) are left to the generated base class: UNIMPLEMENTED.
//
//   grpcpp_interop_server --port=10000 [--host=127.0.0.1] [--use_tls --cert=F --key=F]
//
// --port=0 picks a free port. Prints "listening on HOST:PORT (plaintext|tls)" once ready.
// SIGINT / SIGTERM shut it down (in-flight calls get 2 s).
#include <algorithm>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <iostream>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <grpcpp/grpcpp.h>

#include "grpc/testing/test.grpc.pb.h"
#include "interop_common.hpp"

namespace {

using grpc::ServerContext;
using grpc::Status;
using grpc::StatusCode;
using grpc::testing::Empty;
using grpc::testing::SimpleRequest;
using grpc::testing::SimpleResponse;
using grpc::testing::StreamingInputCallRequest;
using grpc::testing::StreamingInputCallResponse;
using grpc::testing::StreamingOutputCallRequest;
using grpc::testing::StreamingOutputCallResponse;

constexpr const char* kEchoInitial = "x-grpc-test-echo-initial";
constexpr const char* kEchoTrailing = "x-grpc-test-echo-trailing-bin";
constexpr int kMaxIntervalUs = 10'000'000;  // one interval_us is capped at 10 s

// Echo Metadata: the initial key comes back in the response headers, the -bin key in
// the trailers (client_metadata() holds -bin values already base64-decoded).
void echo_metadata(ServerContext* ctx) {
  const auto& md = ctx->client_metadata();
  if (auto it = md.find(kEchoInitial); it != md.end())
    ctx->AddInitialMetadata(kEchoInitial, std::string(it->second.data(), it->second.size()));
  if (auto it = md.find(kEchoTrailing); it != md.end())
    ctx->AddTrailingMetadata(kEchoTrailing, std::string(it->second.data(), it->second.size()));
}

// CompressedRequest: when the client states expect_compressed, the message just read
// must (or must not) have arrived compressed. An absent field means "do not check".
template <typename Req>
bool compression_as_expected(ServerContext* ctx, const Req& req) {
  if (!req.has_expect_compressed()) return true;
  return interop::last_message_was_compressed(ctx->c_call()) == req.expect_compressed().value();
}

Status make_payload(int32_t size, grpc::testing::PayloadType type, grpc::testing::Payload* out) {
  if (type != grpc::testing::COMPRESSABLE)
    return Status(StatusCode::INVALID_ARGUMENT, "unsupported response_type");
  if (size < 0) return Status(StatusCode::INVALID_ARGUMENT, "negative response size");
  out->set_type(type);
  out->mutable_body()->assign(static_cast<size_t>(size), '\0');
  return Status::OK;
}

void sleep_interval(ServerContext* ctx, int32_t interval_us) {
  if (interval_us <= 0) return;
  auto until = std::chrono::steady_clock::now() +
               std::chrono::microseconds(std::min(interval_us, kMaxIntervalUs));
  while (std::chrono::steady_clock::now() < until && !ctx->IsCancelled())
    std::this_thread::sleep_for(std::min<std::chrono::steady_clock::duration>(
        until - std::chrono::steady_clock::now(), std::chrono::milliseconds(10)));
}

// Writes one StreamingOutputCallResponse per ResponseParameters; false if the peer left.
template <typename Stream>
Status stream_responses(ServerContext* ctx, Stream* stream, const StreamingOutputCallRequest& req,
                        bool call_compressed) {
  for (const auto& p : req.response_parameters()) {
    sleep_interval(ctx, p.interval_us());
    StreamingOutputCallResponse resp;
    if (Status s = make_payload(p.size(), req.response_type(), resp.mutable_payload()); !s.ok())
      return s;
    grpc::WriteOptions opts;
    // CompressedResponse, per message: the call is set to gzip when any message asks for
    // compression; the others are then sent with the compressed flag off.
    if (call_compressed && !p.compressed().value()) opts.set_no_compression();
    if (!stream->Write(resp, opts)) return Status(StatusCode::CANCELLED, "peer went away");
  }
  return Status::OK;
}

bool wants_compression(const StreamingOutputCallRequest& req) {
  for (const auto& p : req.response_parameters())
    if (p.compressed().value()) return true;
  return false;
}

Status echo_status(const grpc::testing::EchoStatus& st) {
  return Status(static_cast<StatusCode>(st.code()), st.message());
}

class TestServiceImpl final : public grpc::testing::TestService::Service {
 public:
  Status EmptyCall(ServerContext* ctx, const Empty*, Empty*) override {
    echo_metadata(ctx);
    return Status::OK;
  }

  Status UnaryCall(ServerContext* ctx, const SimpleRequest* req, SimpleResponse* resp) override {
    echo_metadata(ctx);
    if (!compression_as_expected(ctx, *req))
      return Status(StatusCode::INVALID_ARGUMENT,
                    "request compression differs from expect_compressed");
    if (req->response_compressed().value()) ctx->set_compression_algorithm(GRPC_COMPRESS_GZIP);
    if (req->has_response_status() && req->response_status().code() != 0)
      return echo_status(req->response_status());
    return make_payload(req->response_size(), req->response_type(), resp->mutable_payload());
  }

  Status StreamingOutputCall(ServerContext* ctx, const StreamingOutputCallRequest* req,
                             grpc::ServerWriter<StreamingOutputCallResponse>* writer) override {
    echo_metadata(ctx);
    bool compressed = wants_compression(*req);
    if (compressed) ctx->set_compression_algorithm(GRPC_COMPRESS_GZIP);
    if (Status s = stream_responses(ctx, writer, *req, compressed); !s.ok()) return s;
    if (req->has_response_status() && req->response_status().code() != 0)
      return echo_status(req->response_status());
    return Status::OK;
  }

  Status StreamingInputCall(ServerContext* ctx,
                            grpc::ServerReader<StreamingInputCallRequest>* reader,
                            StreamingInputCallResponse* resp) override {
    echo_metadata(ctx);
    StreamingInputCallRequest req;
    int64_t total = 0;
    while (reader->Read(&req)) {
      if (!compression_as_expected(ctx, req))
        return Status(StatusCode::INVALID_ARGUMENT,
                      "request compression differs from expect_compressed");
      total += static_cast<int64_t>(req.payload().body().size());
    }
    if (ctx->IsCancelled()) return Status(StatusCode::CANCELLED, "cancelled");
    resp->set_aggregated_payload_size(static_cast<int32_t>(total));
    return Status::OK;
  }

  Status FullDuplexCall(ServerContext* ctx,
                        grpc::ServerReaderWriter<StreamingOutputCallResponse,
                                                 StreamingOutputCallRequest>* stream) override {
    echo_metadata(ctx);
    StreamingOutputCallRequest req;
    bool first = true, compressed = false;
    while (stream->Read(&req)) {
      if (first) {
        compressed = wants_compression(req);
        if (compressed) ctx->set_compression_algorithm(GRPC_COMPRESS_GZIP);
        first = false;
      }
      if (req.has_response_status() && req.response_status().code() != 0)
        return echo_status(req.response_status());
      if (Status s = stream_responses(ctx, stream, req, compressed); !s.ok()) return s;
    }
    if (ctx->IsCancelled()) return Status(StatusCode::CANCELLED, "cancelled");
    return Status::OK;
  }

  Status HalfDuplexCall(ServerContext* ctx,
                        grpc::ServerReaderWriter<StreamingOutputCallResponse,
                                                 StreamingOutputCallRequest>* stream) override {
    echo_metadata(ctx);
    std::vector<StreamingOutputCallRequest> reqs;
    StreamingOutputCallRequest req;
    while (stream->Read(&req)) reqs.push_back(req);
    if (ctx->IsCancelled()) return Status(StatusCode::CANCELLED, "cancelled");
    bool compressed = false;
    for (const auto& r : reqs) compressed = compressed || wants_compression(r);
    if (compressed) ctx->set_compression_algorithm(GRPC_COMPRESS_GZIP);
    for (const auto& r : reqs) {
      if (r.has_response_status() && r.response_status().code() != 0)
        return echo_status(r.response_status());
      if (Status s = stream_responses(ctx, stream, r, compressed); !s.ok()) return s;
    }
    return Status::OK;
  }
};

void usage() {
  std::cerr << "usage: grpcpp_interop_server [--port=N] [--host=127.0.0.1] "
               "[--use_tls[=true|false] --cert=PEM --key=PEM]\n";
}

}  // namespace

int main(int argc, char** argv) {
  std::string host, cert, key;
  int port = 0;
  bool tls = false;
  try {
    interop::Flags flags(argc, argv, {"port", "host", "use_tls", "cert", "key"}, {"use_tls"});
    port = flags.integer("port", 10000);
    host = flags.str("host", "127.0.0.1");
    tls = flags.boolean("use_tls");
    cert = flags.str("cert");
    key = flags.str("key");
    if (tls && (cert.empty() || key.empty()))
      throw std::invalid_argument("--use_tls needs --cert and --key");
  } catch (const std::exception& e) {
    if (std::string(e.what()) != "help") std::cerr << "grpcpp_interop_server: " << e.what() << "\n";
    usage();
    return 2;
  }

  // Block the shutdown signals before gRPC starts its threads; one thread waits for them.
  sigset_t sigs;
  sigemptyset(&sigs);
  sigaddset(&sigs, SIGINT);
  sigaddset(&sigs, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &sigs, nullptr);

  std::shared_ptr<grpc::ServerCredentials> creds;
  if (tls) {
    grpc::SslServerCredentialsOptions opts;
    try {
      opts.pem_key_cert_pairs.push_back({interop::read_file(key), interop::read_file(cert)});
    } catch (const std::exception& e) {
      std::cerr << "grpcpp_interop_server: " << e.what() << "\n";
      return 2;
    }
    creds = grpc::SslServerCredentials(opts);
  } else {
    creds = grpc::InsecureServerCredentials();
  }

  TestServiceImpl service;
  grpc::ServerBuilder builder;
  int bound = 0;
  builder.AddListeningPort(host + ":" + std::to_string(port), creds, &bound);
  builder.RegisterService(&service);
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  if (!server || bound == 0) {
    std::cerr << "grpcpp_interop_server: cannot listen on " << host << ":" << port << "\n";
    return 1;
  }
  std::printf("grpcpp_interop_server: listening on %s:%d (%s)\n", host.c_str(), bound,
              tls ? "tls" : "plaintext");
  std::fflush(stdout);

  std::thread waiter([&] {
    int sig = 0;
    sigwait(&sigs, &sig);
    server->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(2));
  });
  server->Wait();
  waiter.join();
  return 0;
}
