// trident_interop_server: grpc.testing.TestService on trident, for the
// standard gRPC interop clients (libgrpc++, python3-grpcio, @grpc/grpc-js).
//   trident_interop_server --port 50051 [--use_tls --cert server.pem --key server.key]
#include <CLI/CLI.hpp>

#include <cstdio>
#include <iostream>

#include "core/log.hpp"
#include "http/session_factory.hpp"
#include "net/server.hpp"
#include "rpc/grpc/server.hpp"
#include "test_service.hpp"

int main(int argc, char** argv) {
  CLI::App app{"grpc.testing.TestService on trident"};
  int port = 0;
  bool use_tls = false;
  std::string cert, key, host = "127.0.0.1";
  unsigned workers = 1;
  app.add_option("--port", port, "Port to listen on")->required();
  app.add_option("--host", host, "Address to listen on")->capture_default_str();
  app.add_flag("--use_tls", use_tls, "Serve TLS (h2 via ALPN)");
  app.add_option("--cert", cert, "Certificate chain PEM (with --use_tls)");
  app.add_option("--key", key, "Private key PEM (with --use_tls)");
  app.add_option("--workers", workers)->capture_default_str();
  CLI11_PARSE(app, argc, argv);
  if (use_tls && (cert.empty() || key.empty())) {
    std::cerr << "trident_interop_server: --use_tls needs --cert and --key\n";
    return 2;
  }
  trident::log::set_level(trident::log::Level::warn);

  trident::interop::TestService test_service;
  trident::rpc::ServiceRegistry registry;
  registry.add(test_service);
  trident::rpc::grpc::Server grpc(registry);

  trident::http::ServiceContext service;
  service.handler = grpc.dispatch(
      [](trident::http::Request&, trident::http::Response& res) -> trident::Task<void> {
        res.send_status(404, "not a gRPC request");
        co_return;
      });

  trident::net::ServerOptions options;
  options.workers = workers;
  std::string address = host + ":" + std::to_string(port);
  options.listeners.push_back({address, use_tls, !use_tls});
  if (use_tls) options.tls.certificates.push_back({cert, key});
  trident::net::Server server(options, trident::http::make_session_factory(service));
  server.on_drain = [&service] { service.draining.store(true); };
  server.on_ready = [&] {
    std::printf("trident_interop_server: listening on %s%s\n", address.c_str(),
                use_tls ? " (TLS)" : " (h2c)");
    std::fflush(stdout);
  };
  try {
    server.run();
  } catch (const std::exception& e) {
    std::cerr << "trident_interop_server: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
