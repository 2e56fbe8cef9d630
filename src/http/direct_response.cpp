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

[[noreturn]] void bad_spec(std::string_view spec, std::string_view why) {
  throw std::invalid_argument("'" + std::string(spec) + "': " + std::string(why) +
                              " (expected \"METHOD PATH STATUS[ BODY]\")");
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

void DirectResponses::add_spec(std::string_view spec) {
  const std::size_t sp1 = spec.find(' ');
  if (sp1 == std::string_view::npos) bad_spec(spec, "no path");
  const std::size_t sp2 = spec.find(' ', sp1 + 1);
  if (sp2 == std::string_view::npos) bad_spec(spec, "no status");
  const std::string_view method = spec.substr(0, sp1);
  const std::string_view path = spec.substr(sp1 + 1, sp2 - sp1 - 1);
  if (method.empty() || path.empty()) bad_spec(spec, "one space between the parts");
  const std::size_t sp3 = spec.find(' ', sp2 + 1);
  const std::string_view status =
      spec.substr(sp2 + 1, sp3 == std::string_view::npos ? std::string_view::npos : sp3 - sp2 - 1);
  if (status.size() != 3 || status.find_first_not_of("0123456789") != std::string_view::npos) {
    bad_spec(spec, "the status must be three digits");
  }
  DirectResponse r;
  r.status = (status[0] - '0') * 100 + (status[1] - '0') * 10 + (status[2] - '0');
  if (sp3 != std::string_view::npos) {
    const std::string_view text = spec.substr(sp3 + 1);
    for (std::size_t i = 0; i < text.size(); ++i) {
      if (text[i] != '\\') {
        r.body.push_back(text[i]);
      } else if (i + 1 < text.size() && text[i + 1] == 'n') {
        r.body.push_back('\n');
        ++i;
      } else if (i + 1 < text.size() && text[i + 1] == '\\') {
        r.body.push_back('\\');
        ++i;
      } else {
        bad_spec(spec, "a backslash in the body must start \\n or \\\\");
      }
    }
    if (!r.body.empty()) r.content_type = "text/plain; charset=utf-8";
  }
  try {
    add(method, path, std::move(r));
  } catch (const std::invalid_argument& e) {
    throw std::invalid_argument("'" + std::string(spec) + "': " + e.what());
  }
}

}  // namespace trident::http
