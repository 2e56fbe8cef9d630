#include "rpc/grpc/server.hpp"

#include <charconv>
#include <chrono>
#include <utility>
#include <vector>

#include "core/loop.hpp"
#include "http/headers.hpp"
#include "rpc/grpc/compression.hpp"
#include "rpc/grpc/framing.hpp"
#include "rpc/grpc/metadata.hpp"
#include "rpc/grpc/timeout.hpp"

namespace trident::rpc::grpc {
namespace {

constexpr Encoding kResponsePreference[] = {Encoding::gzip, Encoding::deflate};

// Headers that carry the protocol itself, never application metadata.
bool is_protocol_header(std::string_view name) {
  return name.starts_with(':') || name.starts_with("grpc-") || name == "content-type" ||
         name == "te" || name == "content-length" || name == "host" || name == "connection" ||
         name == "accept-encoding" || name == "transfer-encoding";
}

// State of one call, shared by the handler's streams and the deadline timer.
struct Call {
  http::Request& req;
  http::Response& res;
  const ServerOptions& options;
  Context ctx;
  Encoding request_encoding = Encoding::identity;
  EncodingSet accepted;  // what the client accepts for responses
  bool finished = false;

  Call(http::Request& q, http::Response& r, const ServerOptions& o) : req(q), res(r), options(o) {}

  // The response headers name the codec the client accepts (if any); each
  // message is then compressed or not as the handler asks at that moment.
  Encoding response_codec() const { return choose_encoding(accepted, kResponsePreference); }

  void add_metadata(http::Headers& to, const Metadata& md) {
    for (const auto& [k, v] : md) {
      if (!is_valid_key(k) || is_reserved_key(k)) continue;
      if (is_binary_key(k)) {
        to.add(k, base64_encode(v, false));
      } else if (is_valid_ascii_value(v)) {
        to.add(k, v);
      }
    }
  }

  void send_headers() {
    if (res.started()) return;
    res.status = 200;
    res.headers.set("content-type", "application/grpc");
    Encoding e = response_codec();
    if (e != Encoding::identity) res.headers.set("grpc-encoding", encoding_name(e));
    res.headers.set("grpc-accept-encoding", format_accept_encoding(EncodingSet::all()));
    add_metadata(res.headers, ctx.initial_metadata());
  }

  // The final status: trailers, or a trailers-only response when nothing
  // was sent yet.
  void finish(const Status& s) {
    if (finished) return;
    finished = true;
    if (res.aborted()) return;  // the stream is gone (client reset)
    http::Headers trailers;
    char code[4];
    auto [end, ec] = std::to_chars(code, code + sizeof code, static_cast<int>(s.code));
    (void)ec;
    trailers.add("grpc-status", std::string_view(code, end - code));
    if (!s.message.empty()) trailers.add("grpc-message", percent_encode(s.message));
    if (!s.details.empty()) {
      trailers.add("grpc-status-details-bin", base64_encode(s.details, false));
    }
    add_metadata(trailers, ctx.trailing_metadata());
    if (!res.started()) {
      res.status = 200;
      res.headers.set("content-type", "application/grpc");
      res.headers.set("grpc-accept-encoding", format_accept_encoding(EncodingSet::all()));
      add_metadata(res.headers, ctx.initial_metadata());
      for (const auto& [k, v] : trailers) res.headers.add(k, v);
      res.finish();
      return;
    }
    res.finish(trailers);
  }
};

class BodyReader final : public MessageReader, private MessageListener {
 public:
  explicit BodyReader(Call& call)
      : call_(call), decoder_(*this, call.options.max_receive_message_size) {}

  Task<std::optional<std::string>> read() override {
    for (;;) {
      if (next_ < ready_.size()) {
        auto [bytes, compressed] = std::move(ready_[next_++]);
        if (next_ == ready_.size()) {
          ready_.clear();
          next_ = 0;
        }
        call_.ctx.set_request_compressed(compressed);
        if (!compressed) co_return std::move(bytes);
        std::string plain;
        Status s = decompress(call_.request_encoding, bytes, plain,
                              call_.options.max_receive_message_size);
        if (!s.ok()) throw Error(std::move(s));
        co_return std::move(plain);
      }
      if (decoder_.failed()) throw Error(decoder_.error());
      if (ended_) {
        if (!decoder_.finish()) throw Error(decoder_.error());
        co_return std::nullopt;
      }
      std::optional<std::string> chunk;
      try {
        chunk = co_await call_.req.body().read();
      } catch (const http::StreamAborted&) {
        call_.ctx.cancel();
        throw Error(StatusCode::cancelled, "call cancelled");
      }
      if (!chunk) {
        ended_ = true;
        continue;
      }
      decoder_.feed(*chunk);
    }
  }

 private:
  void on_message(std::string_view payload, bool compressed) override {
    if (compressed && call_.request_encoding == Encoding::identity) {
      decoder_.fail({StatusCode::internal, "compressed message without grpc-encoding", {}});
      return;
    }
    ready_.emplace_back(std::string(payload), compressed);
  }

  Call& call_;
  MessageDecoder decoder_;
  std::vector<std::pair<std::string, bool>> ready_;
  std::size_t next_ = 0;
  bool ended_ = false;
};

class ResponseWriter final : public MessageWriter {
 public:
  explicit ResponseWriter(Call& call) : call_(call) {}

  Task<void> write(std::string message) override {
    if (call_.finished || call_.ctx.cancelled()) {
      throw Error(StatusCode::cancelled, "call cancelled");
    }
    if (message.size() > call_.options.max_send_message_size) {
      throw Error(StatusCode::resource_exhausted,
                  "response message larger than the server's limit of " +
                      std::to_string(call_.options.max_send_message_size) + " bytes");
    }
    call_.send_headers();
    Encoding e = call_.response_codec();
    std::string framed;
    if (e != Encoding::identity && call_.ctx.compress_responses()) {
      std::string packed;
      Status s = compress(e, message, packed);
      if (!s.ok()) throw Error(std::move(s));
      encode_message(framed, packed, true);
    } else {
      encode_message(framed, message, false);
    }
    try {
      co_await call_.res.write(framed);
    } catch (const http::StreamAborted&) {
      call_.ctx.cancel();
      throw Error(StatusCode::cancelled, "call cancelled");
    }
  }

 private:
  Call& call_;
};

Task<void> enforce_deadline(Call& call, std::chrono::steady_clock::duration left) {
  co_await sleep_for(left);
  if (call.finished) co_return;
  call.ctx.cancel();
  call.finish({StatusCode::deadline_exceeded, "deadline exceeded", {}});
  // Wake a handler waiting for the next request message; its writes now fail.
  call.req.body().abort();
}

}  // namespace

bool Server::is_grpc(const http::Request& req) {
  std::string_view ct = req.headers.get("content-type");
  return ct.starts_with("application/grpc") && !ct.starts_with("application/grpc-web");
}

http::Handler Server::dispatch(http::Handler other) const {
  return [this, other = std::move(other)](http::Request& req, http::Response& res) {
    return is_grpc(req) ? serve(req, res) : other(req, res);
  };
}

Task<void> Server::serve(http::Request& req, http::Response& res) const {
  if (req.version != http::Version::http2) {
    res.send_status(505, "gRPC needs HTTP/2");
    co_return;
  }
  if (req.method != "POST") {
    res.headers.set("allow", "POST");
    res.send_status(405, "gRPC calls are POST requests");
    co_return;
  }
  std::string_view subtype = req.headers.get("content-type").substr(16);
  if (!(subtype.empty() || subtype == "+proto" || subtype.starts_with(';'))) {
    res.send_status(415, "unsupported gRPC content-type (application/grpc or +proto)");
    co_return;
  }

  Call call(req, res, options_);
  Context& ctx = call.ctx;
  ctx.set_method(req.path());
  ctx.set_peer(&req.peer());
  ctx.set_cancel_probe([&res] { return res.aborted(); });

  std::optional<std::chrono::steady_clock::duration> timeout;
  if (auto t = req.headers.find("grpc-timeout")) {
    auto parsed = parse_timeout(*t);
    if (!parsed) {
      call.finish({StatusCode::internal, "malformed grpc-timeout", {}});
      co_return;
    }
    // Beyond a year a deadline means nothing here, and now() + it could overflow.
    if (*parsed < std::chrono::hours(24 * 366)) {
      timeout = std::chrono::duration_cast<std::chrono::steady_clock::duration>(*parsed);
      ctx.set_deadline(std::chrono::steady_clock::now() + *timeout);
    }
  }
  if (auto e = req.headers.find("grpc-encoding")) {
    auto enc = parse_encoding(*e);
    if (!enc) {
      call.finish(
          {StatusCode::unimplemented, "unsupported grpc-encoding \"" + std::string(*e) + "\"", {}});
      co_return;
    }
    call.request_encoding = *enc;
  }
  call.accepted = parse_accept_encoding(req.headers.get("grpc-accept-encoding"));
  for (const auto& [name, value] : req.headers) {
    if (is_protocol_header(name)) continue;
    if (is_binary_key(name)) {
      auto values = decode_binary_values(value);
      if (!values) {
        call.finish({StatusCode::internal, "invalid base64 in " + std::string(name), {}});
        co_return;
      }
      for (auto& v : *values) ctx.mutable_client_metadata().emplace_back(name, std::move(v));
    } else {
      ctx.mutable_client_metadata().emplace_back(name, value);
    }
  }

  const Method* method = registry_.find(req.path());
  if (!method) {
    std::string_view path = req.path();
    std::string_view service = path.substr(1, path.rfind('/') == 0 ? 0 : path.rfind('/') - 1);
    call.finish({StatusCode::unimplemented,
                 registry_.has_service(service)
                     ? "unknown method " + std::string(path)
                     : "unknown service " + std::string(service.empty() ? path : service),
                 {}});
    co_return;
  }

  Spawned deadline;
  if (timeout) {
    if (*timeout <= std::chrono::steady_clock::duration::zero()) {
      call.finish({StatusCode::deadline_exceeded, "deadline exceeded", {}});
      co_return;
    }
    deadline = Spawned(enforce_deadline(call, *timeout), [](std::exception_ptr) {});
  }

  BodyReader reader(call);
  ResponseWriter writer(call);
  try {
    co_await registry_.call(*method, ctx, reader, writer);
    call.finish({});
  } catch (const Error& e) {
    call.finish(e.status());
  } catch (const http::StreamAborted&) {
    ctx.cancel();
    call.finish({StatusCode::cancelled, "call cancelled", {}});
  } catch (const std::exception& e) {
    call.finish({StatusCode::unknown, std::string("handler failed: ") + e.what(), {}});
  }
}

}  // namespace trident::rpc::grpc
