#include "ws_demo.hpp"

#include <algorithm>
#include <atomic>
#include <map>
#include <mutex>
#include <set>

#include "flat_json.hpp"
#include "http/cache.hpp"
#include "ws/hub.hpp"

namespace trident::demo {
namespace {

constexpr std::size_t kMaxRoom = 64;
constexpr std::size_t kMaxName = 32;

// ---------------------------------------------------------------- chat

struct ChatUser {
  std::string name;
  std::vector<std::string> rooms;
};

// Who is in which room, across all workers. Presence messages are published
// under the lock, so every worker receives them in the order they were made.
class Presence {
 public:
  void join(const std::string& room, const std::string& name) {
    std::lock_guard lock(mutex_);
    rooms_[room].insert(name);
    publish_locked(room);
  }
  void leave(const std::string& room, const std::string& name) {
    std::lock_guard lock(mutex_);
    auto it = rooms_.find(room);
    if (it == rooms_.end()) return;
    if (auto n = it->second.find(name); n != it->second.end()) it->second.erase(n);
    publish_locked(room);
    if (it->second.empty()) rooms_.erase(it);
  }

 private:
  void publish_locked(const std::string& room) {
    std::set<std::string> names;
    if (auto it = rooms_.find(room); it != rooms_.end()) {
      names.insert(it->second.begin(), it->second.end());
    }
    std::string msg = "{\"type\":\"presence\",\"room\":" + json_string(room) + ",\"users\":[";
    bool first = true;
    for (const auto& n : names) {
      if (!first) msg += ',';
      first = false;
      msg += json_string(n);
    }
    msg += "]}";
    ws::Hub::instance().publish("chat:" + room, msg, ws::Opcode::text);
  }

  std::mutex mutex_;
  std::map<std::string, std::multiset<std::string>> rooms_;
};

Presence& presence() {
  static Presence p;
  return p;
}

void chat_error(ws::Socket& s, std::string_view why) {
  s.send("{\"type\":\"error\",\"error\":" + json_string(why) + "}");
}

void chat_message(ws::Socket& s, std::string_view text) {
  auto* user = std::any_cast<ChatUser>(&s.user);
  auto msg = parse_flat_object(text);
  if (!msg) return chat_error(s, "messages are JSON objects with string fields");
  auto field = [&](std::string_view k) -> std::string {
    auto it = msg->find(k);
    return it == msg->end() ? std::string() : it->second;
  };
  std::string type = field("type");
  std::string room = field("room");
  if (type != "join" && type != "leave" && type != "message") {
    return chat_error(s, "unknown type: use join, leave or message");
  }
  if (room.empty() || room.size() > kMaxRoom) return chat_error(s, "room: 1 to 64 bytes");
  bool member = std::find(user->rooms.begin(), user->rooms.end(), room) != user->rooms.end();
  if (type == "join") {
    std::string name = field("name");
    if (name.size() > kMaxName) return chat_error(s, "name: at most 32 bytes");
    if (!name.empty() && name != user->name) {
      // A new name: the rooms already joined show it too.
      for (const auto& r : user->rooms) presence().leave(r, user->name);
      std::swap(user->name, name);
      for (const auto& r : user->rooms) presence().join(r, user->name);
    }
    if (member) return;
    user->rooms.push_back(room);
    s.subscribe("chat:" + room);
    presence().join(room, user->name);
  } else if (type == "leave") {
    if (!member) return chat_error(s, "not in room " + room);
    s.unsubscribe("chat:" + room);
    std::erase(user->rooms, room);
    presence().leave(room, user->name);
  } else {
    if (!member) return chat_error(s, "join room " + room + " first");
    ws::Hub::instance().publish("chat:" + room,
                                "{\"type\":\"message\",\"room\":" + json_string(room) +
                                    ",\"from\":" + json_string(user->name) +
                                    ",\"body\":" + json_string(field("body")) + "}",
                                ws::Opcode::text);
  }
}

ws::Endpoint chat_endpoint() {
  ws::Endpoint ep;
  ep.subprotocols = {"chat"};
  ep.init = [](std::string_view) -> std::any {
    static std::atomic<unsigned> guests{0};
    return ChatUser{"guest-" + std::to_string(++guests), {}};
  };
  ep.on_message = [](ws::Socket& s, std::string_view text, ws::Opcode op) {
    if (op != ws::Opcode::text) return chat_error(s, "send text frames");
    chat_message(s, text);
  };
  ep.on_close = [](ws::Socket& s, std::uint16_t, std::string_view) {
    auto* user = std::any_cast<ChatUser>(&s.user);
    if (!user) return;
    for (const auto& r : user->rooms) presence().leave(r, user->name);
    user->rooms.clear();
  };
  return ep;
}

constexpr std::string_view kChatHtml = R"html(<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>trident chat</title>
<style>
body{font:15px system-ui,sans-serif;max-width:40rem;margin:2rem auto;padding:0 1rem}
#log{list-style:none;padding:0;border:1px solid #ccc;height:18rem;overflow-y:auto}
#log li{padding:.2rem .5rem}#log li.sys{color:#777}#users{color:#375}
input{padding:.3rem}
</style></head>
<body>
<h1>trident chat</h1>
<p><input id="name" placeholder="your name" value=""> in room
<input id="room" value="lobby"> <button id="join">Join</button></p>
<p>In the room: <span id="users">(nobody yet)</span></p>
<ul id="log"></ul>
<p><input id="message" placeholder="message" size="40"> <button id="send">Send</button></p>
<p id="status">connecting…</p>
<script>
"use strict";
const $ = (id) => document.getElementById(id);
const proto = location.protocol === "https:" ? "wss:" : "ws:";
const ws = new WebSocket(proto + "//" + location.host + "/ws/chat", ["chat"]);
let room = null;
function line(text, cls) {
  const li = document.createElement("li");
  li.className = cls;
  li.textContent = text;
  $("log").appendChild(li);
  li.scrollIntoView();
}
ws.onopen = () => { $("status").textContent = "connected"; };
ws.onclose = (e) => { $("status").textContent = "closed (" + e.code + ")"; };
ws.onmessage = (e) => {
  const m = JSON.parse(e.data);
  if (m.type === "message") line(m.from + ": " + m.body, "msg");
  else if (m.type === "presence" && m.room === room) $("users").textContent = m.users.join(", ");
  else if (m.type === "error") line("error: " + m.error, "sys");
};
$("join").onclick = () => {
  const next = $("room").value;
  if (room && room !== next) ws.send(JSON.stringify({type: "leave", room}));
  room = next;
  ws.send(JSON.stringify({type: "join", room, name: $("name").value}));
};
function send() {
  if (!room || !$("message").value) return;
  ws.send(JSON.stringify({type: "message", room, body: $("message").value}));
  $("message").value = "";
}
$("send").onclick = send;
$("message").onkeydown = (e) => { if (e.key === "Enter") send(); };
</script>
</body></html>
)html";

// ---------------------------------------------------------------- broadcast

std::string topic_of(std::string_view target) {
  http::Request req;
  req.target.assign(target);
  std::string t = req.query_param("topic");
  return t.empty() ? "all" : t;
}

}  // namespace

void add_ws_demo_routes(http::Router& router, ws::Service& service) {
  ws::Endpoint echo;
  echo.subprotocols = {"echo"};
  echo.on_message = [](ws::Socket& s, std::string_view message, ws::Opcode op) {
    s.send(message, op);
  };
  service.add_route(router, "/ws/echo", std::move(echo));

  ws::Endpoint broadcast;
  broadcast.init = [](std::string_view target) -> std::any { return topic_of(target); };
  broadcast.on_open = [](ws::Socket& s) { s.subscribe(std::any_cast<std::string&>(s.user)); };
  broadcast.on_message = [](ws::Socket& s, std::string_view message, ws::Opcode op) {
    ws::Hub::instance().publish(std::any_cast<std::string&>(s.user), message, op);
  };
  service.add_route(router, "/ws/broadcast", std::move(broadcast));

  service.add_route(router, "/ws/chat", chat_endpoint());

  router.add("GET", "/chat", [](http::Request& req, http::Response& res) -> Task<void> {
    static const std::string etag = http::make_etag(kChatHtml);
    http::CacheControl cc;
    cc.max_age = 60;
    if (http::respond_not_modified_if_fresh(req, res, etag, &cc)) co_return;
    res.send(kChatHtml, "text/html; charset=utf-8");
  });
  router.add("GET", "/ws/stats", [](http::Request&, http::Response& res) -> Task<void> {
    res.headers.set("cache-control", "no-store");
    res.send(ws::counters_json() + "\n", "application/json");
    co_return;
  });
}

}  // namespace trident::demo
