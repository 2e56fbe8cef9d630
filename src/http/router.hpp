// Method + path routing. Patterns are literal segments, `{name}` (one
// segment) and a final `{name...}` (the rest of the path):
//   router.add("GET", "/users/{id}", h);  router.add("GET", "/files/{path...}", h);
// A path that matches with another method gets 405 with an Allow header;
// HEAD falls back to GET (the protocol layer drops the body).
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "http/handler.hpp"

namespace trident::http {

class Router {
 public:
  void add(std::string_view method, std::string_view pattern, Handler handler);
  // Sets `not_found` for requests no route matches (default: a plain 404).
  void set_fallback(Handler handler) { fallback_ = std::move(handler); }

  // Finds the handler for `req` and stores path parameters in req.params.
  // Returns nullptr when no route exists; then `allow` lists the methods
  // that do match the path ("" → 404, otherwise → 405).
  const Handler* match(Request& req, std::string& allow) const;

  // The handler to install on a server: routing, 404, 405.
  Handler as_handler() const;

 private:
  struct Segment {
    std::string text;  // literal text, or the parameter name
    enum class Kind { literal, param, rest } kind;
  };
  struct Route {
    std::string method;
    std::vector<Segment> segments;
    Handler handler;
  };
  static bool match_route(const Route& route, std::string_view path, Request* req);

  std::vector<Route> routes_;
  Handler fallback_;
};

}  // namespace trident::http
