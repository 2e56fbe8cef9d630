// The grpc++ benchmark anchor: bench.Bench (../shared/bench/bench.proto) on libgrpc++'s
// CALLBACK API, the API Google recommends for new C++ servers.
//
//   grpcpp_bench_server --port=50051 [--threads=1] [--host=127.0.0.1]
//                       [--use_tls --cert=PEM --key=PEM]
//
// --threads=N: libgrpc++ 1.51 has no knob for the callback API's threads (its poller
// and executor threads are sized from the core count), so N is enforced as CPU
// affinity: the process is pinned to the first N CPUs it may run on (combine with
// `taskset` to choose which). --threads=0 leaves the affinity alone.
// Prints "listening on HOST:PORT (...)" once ready; SIGINT / SIGTERM stop it.
#include <sched.h>

#include <algorithm>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <iostream>
#include <memory>
#include <string>
#include <thread>

#include <grpcpp/grpcpp.h>

#include "bench.grpc.pb.h"
#include "interop_common.hpp"

namespace {

using grpc::CallbackServerContext;
using grpc::Status;
using grpc::StatusCode;

constexpr int kMaxStreamMessageBytes = 4 << 20;

// Sends `count` copies of one `size`-byte message; the last one carries the trailers.
class StreamWriter final : public grpc::ServerWriteReactor<bench::Payload> {
 public:
  StreamWriter(int count, int size, bool start = true) : left_(count) {
    msg_.mutable_data()->assign(static_cast<size_t>(size), 'x');
    if (start) Next();
  }
  void OnWriteDone(bool ok) override {
    if (!ok) {
      Finish(Status(StatusCode::CANCELLED, "write failed"));
      return;
    }
    Next();
  }
  void OnDone() override { delete this; }

 private:
  void Next() {
    if (left_ == 0) {
      Finish(Status::OK);
    } else if (--left_ == 0) {
      StartWriteAndFinish(&msg_, grpc::WriteOptions(), Status::OK);
    } else {
      StartWrite(&msg_);
    }
  }
  bench::Payload msg_;
  int left_;
};

// Echoes each message in order; OK after the client half-closes.
class BidiEcho final : public grpc::ServerBidiReactor<bench::Payload, bench::Payload> {
 public:
  BidiEcho() { StartRead(&msg_); }
  void OnReadDone(bool ok) override {
    if (!ok) {
      Finish(Status::OK);
      return;
    }
    StartWrite(&msg_);
  }
  void OnWriteDone(bool ok) override {
    if (!ok) {
      Finish(Status(StatusCode::CANCELLED, "write failed"));
      return;
    }
    StartRead(&msg_);
  }
  void OnDone() override { delete this; }

 private:
  bench::Payload msg_;
};

class BenchService final : public bench::Bench::CallbackService {
  grpc::ServerUnaryReactor* Unary(CallbackServerContext* ctx, const bench::Payload* req,
                                  bench::Payload* resp) override {
    resp->set_data(req->data());
    auto* reactor = ctx->DefaultReactor();
    reactor->Finish(Status::OK);
    return reactor;
  }

  grpc::ServerWriteReactor<bench::Payload>* ServerStream(CallbackServerContext*,
                                                         const bench::Request* req) override {
    if (req->count() < 0 || req->size() < 0 || req->size() > kMaxStreamMessageBytes) {
      auto* reactor = new StreamWriter(0, 0, false);
      reactor->Finish(Status(StatusCode::INVALID_ARGUMENT, "count and size must be in range"));
      return reactor;
    }
    return new StreamWriter(req->count(), req->size());
  }

  grpc::ServerBidiReactor<bench::Payload, bench::Payload>* Bidi(CallbackServerContext*) override {
    return new BidiEcho();
  }
};

// Pins the process to the first `n` CPUs of its current affinity mask; returns how many
// CPUs it may use afterwards.
int pin_to_cpus(int n) {
  cpu_set_t cur;
  CPU_ZERO(&cur);
  if (sched_getaffinity(0, sizeof cur, &cur) != 0) return -1;
  if (n <= 0) return CPU_COUNT(&cur);
  cpu_set_t want;
  CPU_ZERO(&want);
  int taken = 0;
  for (int cpu = 0; cpu < CPU_SETSIZE && taken < n; ++cpu) {
    if (CPU_ISSET(cpu, &cur)) {
      CPU_SET(cpu, &want);
      ++taken;
    }
  }
  if (sched_setaffinity(0, sizeof want, &want) != 0) return -1;
  return taken;
}

void usage() {
  std::cerr << "usage: grpcpp_bench_server [--port=N] [--threads=1] [--host=127.0.0.1] "
               "[--use_tls --cert=PEM --key=PEM]\n";
}

}  // namespace

int main(int argc, char** argv) {
  std::string host, cert, key;
  int port = 0, threads = 1;
  bool tls = false;
  try {
    interop::Flags flags(argc, argv, {"port", "host", "threads", "use_tls", "cert", "key"},
                         {"use_tls"});
    port = flags.integer("port", 50051);
    host = flags.str("host", "127.0.0.1");
    threads = flags.integer("threads", 1);
    tls = flags.boolean("use_tls");
    cert = flags.str("cert");
    key = flags.str("key");
    if (tls && (cert.empty() || key.empty()))
      throw std::invalid_argument("--use_tls needs --cert and --key");
  } catch (const std::exception& e) {
    if (std::string(e.what()) != "help") std::cerr << "grpcpp_bench_server: " << e.what() << "\n";
    usage();
    return 2;
  }

  // Before gRPC creates any thread, so every thread inherits the mask.
  int cpus = pin_to_cpus(threads);
  if (cpus < 0) {
    std::perror("grpcpp_bench_server: sched_setaffinity");
    return 1;
  }
  sigset_t sigs;
  sigemptyset(&sigs);
  sigaddset(&sigs, SIGINT);
  sigaddset(&sigs, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &sigs, nullptr);

  std::shared_ptr<grpc::ServerCredentials> creds = grpc::InsecureServerCredentials();
  if (tls) {
    grpc::SslServerCredentialsOptions opts;
    try {
      opts.pem_key_cert_pairs.push_back({interop::read_file(key), interop::read_file(cert)});
    } catch (const std::exception& e) {
      std::cerr << "grpcpp_bench_server: " << e.what() << "\n";
      return 2;
    }
    creds = grpc::SslServerCredentials(opts);
  }

  BenchService service;
  grpc::ServerBuilder builder;
  int bound = 0;
  builder.AddListeningPort(host + ":" + std::to_string(port), creds, &bound);
  builder.RegisterService(&service);
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  if (!server || bound == 0) {
    std::cerr << "grpcpp_bench_server: cannot listen on " << host << ":" << port << "\n";
    return 1;
  }
  std::printf("grpcpp_bench_server: listening on %s:%d (%s, callback API, %d cpu%s)\n",
              host.c_str(), bound, tls ? "tls" : "plaintext", cpus, cpus == 1 ? "" : "s");
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
