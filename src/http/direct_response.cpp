#include "http/direct_response.hpp"

#include <stdexcept>
#include <utility>

namespace trident::http {
namespace {

bool is_tchar(char c) {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return true;
  return std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

bool is_token(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s) {
    if (!is_tchar(c)) return false;
  }
  return true;
}

// Visible ASCII, obs-text, space and tab: what a field value may hold.
bool is_field_value(std::string_view s) {
  for (char ch : s) {
    auto c = static_cast<unsigned char>(ch);
    if ((c < 0x20 && c != '\t') || c == 0x7f) return false;
  }
  return true;
}

// An origin-form path: no query, fragment, whitespace or control bytes.
bool is_path(std::string_view s) {
  if (!s.starts_with('/')) return false;
  for (char ch : s) {
    auto c = static_cast<unsigned char>(ch);
    if (c <= 0x20 || c >= 0x7f || c == '?' || c == '#') return false;
  }
  return true;
}

bool is_reserved(std::string_view lower_name) {
  static constexpr std::string_view kReserved[] = {
      "content-length",    "content-type", "connection", "keep-alive", "proxy-connection",
      "transfer-encoding", "upgrade",      "te",         "trailer"};
  for (std::string_view r : kReserved) {
    if (lower_name == r) return true;
  }
  return false;
}

void reject(std::string_view method, std::string_view path, std::string_view why) {
  throw std::invalid_argument("direct response " + std::string(method) + " " + std::string(path) +
                              ": " + std::string(why));
}

Task<void> answer(const DirectResponse& r, Response& res) {
  res.status = r.status;
  for (const auto& [name, value] : r.headers) res.headers.add(name, value);
  res.send(r.body, r.content_type);
  co_return;
}

Task<void> method_not_allowed(std::string allow, Response& res) {
  res.headers.set("allow", allow);
  res.send_status(405);
  co_return;
}

}  // namespace

void DirectResponses::add(std::string_view method, std::string_view path, DirectResponse response) {
  if (!is_token(method)) reject(method, path, "the method is not a token");
  if (!is_path(path)) reject(method, path, "the path must be an origin-form path without a query");
  if (response.status < 200 || response.status > 599) {
    reject(method, path, "the status must be 200 to 599");
  }
  if ((response.status == 204 || response.status == 304) && !response.body.empty()) {
    reject(method, path, "a 204 or 304 response has no body");
  }
  if (!is_field_value(response.content_type)) reject(method, path, "invalid content-type value");
  for (const auto& [name, value] : response.headers) {
    if (!is_token(name)) reject(method, path, "invalid header name");
    if (!is_field_value(value))
      reject(method, path, "invalid value for header " + std::string(name));
    if (is_reserved(name)) {
      reject(method, path, "header " + std::string(name) + " is set by the server");
    }
  }
  for (const Entry& e : entries_) {
    if (e.method == method && e.path == path) reject(method, path, "registered twice");
  }

  Entry e{std::string(method), std::string(path), std::move(response), {}, false, false};
  for (const auto& [name, value] : e.response.headers) {
    e.has_server = e.has_server || name == "server";
    e.has_date = e.has_date || name == "date";
    e.h1_fields.append(name).append(": ").append(value).append("\r\n");
  }
  if (!e.response.content_type.empty()) {
    e.h1_fields.append("content-type: ").append(e.response.content_type).append("\r\n");
  }
  e.h1_fields.append("content-length: ")
      .append(std::to_string(e.response.body.size()))
      .append("\r\n");
  entries_.push_back(std::move(e));
}

const DirectResponses::Entry* DirectResponses::find(std::string_view method,
                                                    std::string_view path) const {
  const Entry* get = nullptr;
  for (const Entry& e : entries_) {
    if (e.path.size() != path.size() || e.path != path) continue;
    if (e.method == method) return &e;
    if (e.method == "GET") get = &e;
  }
  return method == "HEAD" ? get : nullptr;
}

std::string DirectResponses::allowed(std::string_view path) const {
  std::string allow;
  bool head = false, get = false;
  for (const Entry& e : entries_) {
    if (e.path != path) continue;
    if (!allow.empty()) allow.append(", ");
    allow.append(e.method);
    head = head || e.method == "HEAD";
    get = get || e.method == "GET";
  }
  if (get && !head) allow.append(", HEAD");
  return allow;
}

Handler DirectResponses::wrap(Handler next) const {
  return [this, next = std::move(next)](Request& req, Response& res) -> Task<void> {
    const std::string_view path = req.path();
    if (const Entry* e = find(req.method, path)) return answer(e->response, res);
    std::string allow = allowed(path);
    if (!allow.empty()) return method_not_allowed(std::move(allow), res);
    return next(req, res);
  };
}

}  // namespace trident::http
