#include "demo_routes.hpp"

#include <algorithm>
#include <chrono>
#include <string>

#include "core/loop.hpp"
#include "http/cache.hpp"

namespace trident::demo {
namespace {

constexpr std::string_view kIndexHtml = R"(<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>trident</title></head>
<body>
<h1>trident</h1>
<p>HTTP/1.1, HTTP/2 and HTTPS from one server. Routes served here:</p>
<ul>
<li><code>GET /plaintext</code>: <q>Hello, World!</q> (the benchmark route, a direct response)</li>
<li><code>GET /hello</code>: the same from a handler</li>
<li><code>POST /echo</code>: echoes the request body, streamed</li>
<li><code>GET /stream?n=N&amp;interval_ms=M&amp;trailers=1</code>: N chunks, produced one by one (optionally ending with a trailer)</li>
<li><code>GET /healthz</code>: 200 while serving, 503 while draining</li>
</ul>
</body></html>
)";

long clamp_param(const http::Request& req, std::string_view name, long def, long lo, long hi) {
  std::string v = req.query_param(name);
  if (v.empty()) return def;
  try {
    return std::clamp(std::stol(v), lo, hi);
  } catch (...) {
    return def;
  }
}

Task<void> echo(http::Request& req, http::Response& res) {
  std::string_view type = req.headers.get("content-type");
  res.headers.set("content-type", type.empty() ? "application/octet-stream" : type);
  // A declared length is passed through, so HTTP/1.1 needs no chunking.
  if (auto len = req.headers.find("content-length")) {
    res.headers.set("content-length", *len);
  }
  bool any = false;
  while (auto chunk = co_await req.body().read()) {
    any = true;
    co_await res.write(*chunk);
  }
  if (!any) res.headers.set("content-length", "0");
  res.finish();
}

Task<void> stream(http::Request& req, http::Response& res) {
  long n = clamp_param(req, "n", 10, 0, 1'000'000);
  long interval_ms = clamp_param(req, "interval_ms", 0, 0, 60'000);
  long size = clamp_param(req, "size", 0, 0, 1 << 20);
  res.headers.set("content-type", "text/plain; charset=utf-8");
  res.headers.set("cache-control", "no-store");
  std::string chunk;
  for (long i = 0; i < n; ++i) {
    if (interval_ms > 0 && i > 0) co_await sleep_for(std::chrono::milliseconds(interval_ms));
    chunk = "chunk " + std::to_string(i) + "\n";
    if (size > static_cast<long>(chunk.size())) chunk.resize(static_cast<std::size_t>(size), '.');
    co_await res.write(chunk);
  }
  if (req.query_param("trailers") == "1") {
    // Trailers: HTTP/2 trailing HEADERS, HTTP/1.1 chunked trailer section.
    http::Headers trailers;
    trailers.add("x-stream-chunks", std::to_string(n));
    res.finish(trailers);
  } else {
    res.finish();
  }
}

}  // namespace

void add_demo_routes(http::Router& router, http::ServiceContext& service) {
  // Always the same bytes: answered from the direct table, before any handler
  // (unless `--respond` already claimed the path: the operator's answer wins).
  if (service.direct.allowed("/plaintext").empty()) {
    service.direct.add("GET", "/plaintext", {200, "text/plain", "Hello, World!", {}});
  }
  // The same answer from a handler: what the general path (request, response,
  // coroutine, router) costs next to the direct one (bench/http_bench.py).
  router.add("GET", "/hello", [](http::Request&, http::Response& res) -> Task<void> {
    res.send("Hello, World!", "text/plain");
    co_return;
  });
  router.add("POST", "/echo", echo);
  router.add("GET", "/stream", stream);
  router.add("GET", "/", [](http::Request& req, http::Response& res) -> Task<void> {
    static const std::string etag = http::make_etag(kIndexHtml);
    http::CacheControl cc;
    cc.max_age = 60;
    cc.is_public = true;
    if (http::respond_not_modified_if_fresh(req, res, etag, &cc)) co_return;
    res.send(kIndexHtml, "text/html; charset=utf-8");
  });
  router.add("GET", "/healthz", [&service](http::Request&, http::Response& res) -> Task<void> {
    res.headers.set("cache-control", "no-store");
    if (service.draining.load(std::memory_order_relaxed)) {
      res.status = 503;
      res.send("draining\n", "text/plain");
    } else {
      res.send("ok\n", "text/plain");
    }
    co_return;
  });
}

}  // namespace trident::demo
