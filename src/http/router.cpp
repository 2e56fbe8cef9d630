#include "http/router.hpp"

#include <stdexcept>

namespace trident::http {
namespace {
// Splits "/a/b/c" into "a","b","c" lazily.
struct SegmentIterator {
  std::string_view rest;
  bool next(std::string_view& seg) {
    if (rest.empty()) return false;
    if (rest.front() == '/') rest.remove_prefix(1);
    auto slash = rest.find('/');
    seg = rest.substr(0, slash);
    rest = slash == std::string_view::npos ? std::string_view() : rest.substr(slash);
    return true;
  }
};
}  // namespace

void Router::add(std::string_view method, std::string_view pattern, Handler handler) {
  if (pattern.empty() || pattern.front() != '/') {
    throw std::invalid_argument("route pattern must start with '/': " + std::string(pattern));
  }
  Route route{std::string(method), {}, std::move(handler)};
  SegmentIterator it{pattern};
  std::string_view seg;
  while (it.next(seg)) {
    if (seg.size() >= 2 && seg.front() == '{' && seg.back() == '}') {
      std::string_view name = seg.substr(1, seg.size() - 2);
      if (name.ends_with("...")) {
        if (!it.rest.empty()) throw std::invalid_argument("{name...} must be the last segment");
        route.segments.push_back(
            {std::string(name.substr(0, name.size() - 3)), Segment::Kind::rest});
      } else {
        route.segments.push_back({std::string(name), Segment::Kind::param});
      }
    } else {
      route.segments.push_back({std::string(seg), Segment::Kind::literal});
    }
  }
  routes_.push_back(std::move(route));
}

bool Router::match_route(const Route& route, std::string_view path, Request* req) {
  SegmentIterator it{path};
  std::string_view seg;
  std::size_t captured = req ? req->params.size() : 0;
  for (const Segment& s : route.segments) {
    if (s.kind == Segment::Kind::rest) {
      std::string_view rest = it.rest;
      if (!rest.empty() && rest.front() == '/') rest.remove_prefix(1);
      if (req) req->params.emplace_back(s.text, percent_decode(rest, false));
      return true;
    }
    if (!it.next(seg)) {
      if (req) req->params.resize(captured);
      return false;
    }
    if (s.kind == Segment::Kind::literal) {
      if (seg != s.text) {
        if (req) req->params.resize(captured);
        return false;
      }
    } else {
      if (seg.empty()) {
        if (req) req->params.resize(captured);
        return false;
      }
      if (req) req->params.emplace_back(s.text, percent_decode(seg, false));
    }
  }
  if (it.next(seg) && !(seg.empty() && it.rest.empty())) {
    if (req) req->params.resize(captured);
    return false;
  }
  return true;
}

const Handler* Router::match(Request& req, std::string& allow) const {
  std::string_view path = req.path();
  std::string_view method = req.method;
  const Handler* head_fallback = nullptr;
  for (const Route& r : routes_) {
    if (r.method == method) {
      if (match_route(r, path, &req)) return &r.handler;
    } else if (method == "HEAD" && r.method == "GET" && !head_fallback) {
      if (match_route(r, path, nullptr)) head_fallback = &r.handler;
    }
  }
  if (head_fallback) {
    for (const Route& r : routes_) {
      if (r.method == "GET" && &r.handler == head_fallback) match_route(r, path, &req);
    }
    return head_fallback;
  }
  bool get = false, head = false;
  for (const Route& r : routes_) {
    if (match_route(r, path, nullptr) && allow.find(r.method) == std::string::npos) {
      if (!allow.empty()) allow.append(", ");
      allow.append(r.method);
      get = get || r.method == "GET";
      head = head || r.method == "HEAD";
    }
  }
  if (get && !head) allow.append(", HEAD");  // answered through the GET route
  return nullptr;
}

Handler Router::as_handler() const {
  return [this](Request& req, Response& res) -> Task<void> {
    std::string allow;
    if (const Handler* h = match(req, allow)) return (*h)(req, res);
    if (!allow.empty()) {
      return [](Response& r, std::string a) -> Task<void> {
        r.headers.set("allow", a);
        r.send_status(405);
        co_return;
      }(res, std::move(allow));
    }
    if (fallback_) return fallback_(req, res);
    return [](Response& r) -> Task<void> {
      r.send_status(404);
      co_return;
    }(res);
  };
}

}  // namespace trident::http
