// trident: the command-line entry point. `trident serve` runs the server
// with the demo routes; HTTPS by default with a generated development CA.
#include <CLI/CLI.hpp>

#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <string>
#include <thread>

#include "core/log.hpp"
#include "demo_routes.hpp"
#include "grpc_demo.hpp"
#include "http/router.hpp"
#include "http/service.hpp"
#include "http/session_factory.hpp"
#include "net/server.hpp"
#include "net/tls.hpp"
#include "rpc/grpc/server.hpp"
#include "ws_demo.hpp"

namespace {

std::string default_state_dir() {
  if (const char* d = std::getenv("TRIDENT_STATE_DIR")) return d;
  if (const char* d = std::getenv("XDG_STATE_HOME")) return std::string(d) + "/trident";
  if (const char* h = std::getenv("HOME")) return std::string(h) + "/.local/state/trident";
  return "./.trident";
}

struct ServeFlags {
  std::vector<std::string> listen{"127.0.0.1:8443"};
  std::vector<std::string> plaintext;
  std::vector<std::string> h2c;
  std::vector<std::string> certs, keys;
  std::string client_ca;
  bool require_client_cert = false;
  std::string state_dir = default_state_dir();
  unsigned workers = 0;
  std::size_t max_connections = 10000;
  long idle_timeout = 60, header_timeout = 10, body_timeout = 30, drain_timeout = 10;
  std::size_t max_request_line = 8 * 1024, max_header_bytes = 64 * 1024, max_headers = 100;
  std::uint64_t max_body = 64ull << 20;
  std::uint32_t h2_max_streams = 128, h2_window = 1u << 20, h2_max_header_list = 64 * 1024;
  std::uint32_t h2_max_resets = 200;
  trident::http::H2Options h2_defaults;
  std::string h2_engine = "native";
  std::string log_level = "info";
  trident::ws::Settings ws;
  long ws_ping_interval = 30, ws_idle_timeout = 0;
  bool no_ws_deflate = false;
  std::vector<std::string> respond;  // direct responses, "METHOD PATH STATUS[ BODY]"
};

int serve(const ServeFlags& f) {
  trident::log::Level level;
  if (!trident::log::parse_level(f.log_level, level)) {
    std::cerr << "trident: unknown log level '" << f.log_level << "'\n";
    return 2;
  }
  trident::log::set_level(level);

  trident::net::ServerOptions options;
  for (const auto& a : f.listen) options.listeners.push_back({a, true});
  for (const auto& a : f.plaintext) options.listeners.push_back({a, false});
  for (const auto& a : f.h2c) options.listeners.push_back({a, false, true});
  if (f.certs.size() != f.keys.size()) {
    std::cerr << "trident: every --cert needs a matching --key (got " << f.certs.size()
              << " certs, " << f.keys.size() << " keys)\n";
    return 2;
  }
  if (f.require_client_cert && f.client_ca.empty()) {
    std::cerr << "trident: --require-client-cert needs --client-ca\n";
    return 2;
  }
  std::string dev_ca;
  bool any_tls = !f.listen.empty();
  if (any_tls) {
    if (f.certs.empty()) {
      auto dev = trident::net::ensure_dev_certificates(f.state_dir);
      options.tls.certificates.push_back({dev.cert_chain_pem, dev.private_key_pem});
      dev_ca = dev.ca_cert_pem;
    }
    for (std::size_t i = 0; i < f.certs.size(); ++i) {
      options.tls.certificates.push_back({f.certs[i], f.keys[i]});
    }
    options.tls.client_ca_pem = f.client_ca;
    options.tls.require_client_cert = f.require_client_cert;
  }
  options.workers = f.workers;
  options.max_connections = f.max_connections;
  options.idle_timeout = std::chrono::seconds(f.idle_timeout);
  options.header_timeout = std::chrono::seconds(f.header_timeout);
  options.body_timeout = std::chrono::seconds(f.body_timeout);
  options.drain_timeout = std::chrono::seconds(f.drain_timeout);

  trident::http::ServiceContext service;
  service.h1.max_request_line = f.max_request_line;
  service.h1.max_head_bytes = f.max_header_bytes;
  service.h1.max_headers = f.max_headers;
  service.h1.max_body = f.max_body;
  service.h2.max_concurrent_streams = f.h2_max_streams;
  service.h2.initial_window_size = f.h2_window;
  service.h2.max_header_list_size = f.h2_max_header_list;
  service.h2.max_resets_per_second = f.h2_max_resets;
  service.h2.engine = f.h2_engine == "native" ? trident::http::H2Options::Engine::native
                                              : trident::http::H2Options::Engine::nghttp2;
  service.h2.keepalive_interval = f.h2_defaults.keepalive_interval;
  service.h2.keepalive_timeout = f.h2_defaults.keepalive_timeout;
  service.h2.min_ping_interval = f.h2_defaults.min_ping_interval;
  service.h2.max_connection_age = f.h2_defaults.max_connection_age;
  service.h2.max_connection_age_grace = f.h2_defaults.max_connection_age_grace;

  trident::ws::Settings ws_settings = f.ws;
  ws_settings.ping_interval = std::chrono::seconds(f.ws_ping_interval);
  ws_settings.idle_timeout = std::chrono::seconds(f.ws_idle_timeout);
  ws_settings.deflate = !f.no_ws_deflate;
  ws_settings.draining = &service.draining;
  trident::ws::Service ws_service(ws_settings);

  for (const auto& spec : f.respond) {
    try {
      service.direct.add_spec(spec);
    } catch (const std::invalid_argument& e) {
      std::cerr << "trident: --respond " << e.what() << "\n";
      return 2;
    }
  }
  trident::http::Router router;
  trident::demo::add_demo_routes(router, service);
  trident::demo::add_ws_demo_routes(router, ws_service);
  // gRPC (content-type application/grpc) and plain HTTP share the port;
  // direct responses come before both.
  trident::demo::GrpcDemo grpc_demo;
  trident::rpc::grpc::Server grpc_server(grpc_demo.registry());
  service.handler = service.direct.wrap(grpc_server.dispatch(router.as_handler()));

  trident::net::Server server(options, trident::http::make_session_factory(service));
  server.on_drain = [&service, &grpc_demo] {
    service.draining.store(true);
    grpc_demo.shutdown();
  };
  server.on_ready = [&] {
    unsigned workers = options.workers ? options.workers : std::thread::hardware_concurrency();
    for (const auto& l : options.listeners) {
      std::printf("trident: listening on %s://%s (%s)\n", l.tls ? "https" : "http",
                  l.address.c_str(),
                  l.tls ? "h2, http/1.1" : (l.h2_only ? "h2c prior knowledge" : "http/1.1, h2c"));
    }
    std::printf("trident: %u workers\n", workers);
    if (!dev_ca.empty()) {
      std::printf("trident: development CA: %s\n", dev_ca.c_str());
      std::printf("trident: try: curl --cacert %s https://localhost:%s/\n", dev_ca.c_str(),
                  f.listen.front().substr(f.listen.front().rfind(':') + 1).c_str());
    }
    std::fflush(stdout);
  };
  server.run();
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"trident: HTTP/1.1, HTTP/2 and HTTPS server"};
  app.require_subcommand(1);
  ServeFlags f;
  auto* serve_cmd = app.add_subcommand("serve", "Serve the demo routes (HTTPS by default)");
  serve_cmd->add_option("--listen", f.listen, "TLS listen address (repeatable)")
      ->capture_default_str();
  serve_cmd->add_option("--plaintext", f.plaintext,
                        "Plaintext listen address for HTTP/1.1 and h2c (repeatable)");
  serve_cmd->add_option(
      "--h2c", f.h2c, "Plaintext listen address for HTTP/2 with prior knowledge only (repeatable)");
  serve_cmd->add_flag_function(
      "--no-tls", [&](std::int64_t) { f.listen.clear(); }, "Serve no TLS listener");
  serve_cmd->add_option("--cert", f.certs, "Certificate chain PEM (repeatable; SNI picks)");
  serve_cmd->add_option("--key", f.keys, "Private key PEM for the --cert at the same position");
  serve_cmd->add_option("--client-ca", f.client_ca, "Verify client certificates against this CA");
  serve_cmd->add_flag("--require-client-cert", f.require_client_cert,
                      "With --client-ca: reject clients without a certificate (mTLS)");
  serve_cmd->add_option("--state-dir", f.state_dir, "Where the development CA is kept")
      ->capture_default_str();
  serve_cmd->add_option("--workers", f.workers, "Worker threads (0 = one per core)")
      ->capture_default_str();
  serve_cmd->add_option("--max-connections", f.max_connections)->capture_default_str();
  serve_cmd->add_option("--idle-timeout", f.idle_timeout, "Seconds")->capture_default_str();
  serve_cmd->add_option("--header-timeout", f.header_timeout, "Seconds to receive a request head")
      ->capture_default_str();
  serve_cmd->add_option("--body-timeout", f.body_timeout, "Seconds without request body bytes")
      ->capture_default_str();
  serve_cmd->add_option("--drain-timeout", f.drain_timeout, "Graceful shutdown deadline, seconds")
      ->capture_default_str();
  serve_cmd->add_option("--max-request-line", f.max_request_line)->capture_default_str();
  serve_cmd->add_option("--max-header-bytes", f.max_header_bytes)->capture_default_str();
  serve_cmd->add_option("--max-headers", f.max_headers)->capture_default_str();
  serve_cmd->add_option("--max-body", f.max_body)->capture_default_str();
  serve_cmd
      ->add_option("--h2-engine", f.h2_engine,
                   "HTTP/2 implementation: nghttp2, or native (trident's own framing and HPACK; "
                   "experimental)")
      ->check(CLI::IsMember({"nghttp2", "native"}))
      ->capture_default_str();
  serve_cmd->add_option("--h2-max-concurrent-streams", f.h2_max_streams)->capture_default_str();
  serve_cmd->add_option("--h2-initial-window", f.h2_window)->capture_default_str();
  serve_cmd->add_option("--h2-max-header-list", f.h2_max_header_list)->capture_default_str();
  serve_cmd->add_option("--h2-max-resets-per-second", f.h2_max_resets)->capture_default_str();
  serve_cmd
      ->add_option("--h2-keepalive-interval", f.h2_defaults.keepalive_interval,
                   "Seconds without client traffic before a server PING (0 = off)")
      ->capture_default_str();
  serve_cmd
      ->add_option("--h2-keepalive-timeout", f.h2_defaults.keepalive_timeout,
                   "Seconds to wait for the PING ACK before closing")
      ->capture_default_str();
  serve_cmd
      ->add_option("--h2-min-ping-interval", f.h2_defaults.min_ping_interval,
                   "Client PINGs closer than this, with no request between, are strikes; "
                   "the third gets GOAWAY too_many_pings (0 = off)")
      ->capture_default_str();
  serve_cmd
      ->add_option("--h2-max-connection-age", f.h2_defaults.max_connection_age,
                   "Seconds before a connection gets a graceful GOAWAY (0 = never)")
      ->capture_default_str();
  serve_cmd
      ->add_option("--h2-max-connection-age-grace", f.h2_defaults.max_connection_age_grace,
                   "Seconds after that GOAWAY before the connection is closed")
      ->capture_default_str();
  serve_cmd
      ->add_option("--ws-max-message", f.ws.max_message,
                   "Largest WebSocket message in bytes (1009 above; at most 4 GiB - 1)")
      ->check(CLI::Range(std::size_t{1}, std::size_t{0xFFFFFFFF}))
      ->capture_default_str();
  serve_cmd
      ->add_option("--ws-max-backlog", f.ws.max_backlog,
                   "Unsent bytes per WebSocket before closing it as a slow consumer (1008)")
      ->capture_default_str();
  serve_cmd
      ->add_option("--ws-ping-interval", f.ws_ping_interval,
                   "Seconds between server pings; a missing pong closes (0 = off)")
      ->capture_default_str();
  serve_cmd
      ->add_option("--ws-idle-timeout", f.ws_idle_timeout,
                   "Close a WebSocket after this many seconds without a message (0 = off)")
      ->capture_default_str();
  serve_cmd->add_option("--ws-allowed-origin", f.ws.allowed_origins,
                        "Origin allowed besides same-origin (repeatable; * = any)");
  serve_cmd->add_option(
      "--ws-token", f.ws.token,
      "Require this bearer token (Authorization or a bearer.<token> subprotocol)");
  serve_cmd->add_option("--ws-max-per-ip", f.ws.max_per_ip, "Open WebSockets per client address")
      ->capture_default_str();
  serve_cmd
      ->add_option("--ws-compress-min", f.ws.compress_min,
                   "Smallest WebSocket message sent compressed, in bytes")
      ->capture_default_str();
  serve_cmd->add_flag("--no-ws-deflate", f.no_ws_deflate, "Never negotiate permessage-deflate");
  serve_cmd->add_option(
      "--respond", f.respond,
      "Fixed answer, before any route: 'METHOD PATH STATUS[ BODY]' (repeatable; the body is "
      "text/plain, \\n for a newline; GET also answers HEAD; other methods on PATH get 405)");
  serve_cmd->add_option("--log-level", f.log_level, "debug, info, warn, error, off")
      ->capture_default_str();
  app.add_subcommand("version", "Print the version")->callback([] {
    std::printf("trident 0.1.0\n");
  });

  CLI11_PARSE(app, argc, argv);
  if (serve_cmd->parsed()) {
    try {
      return serve(f);
    } catch (const std::exception& e) {
      std::cerr << "trident: " << e.what() << "\n";
      return 1;
    }
  }
  return 0;
}
