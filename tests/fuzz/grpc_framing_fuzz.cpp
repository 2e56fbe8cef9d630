// libFuzzer target for the gRPC Length-Prefixed-Message decoder.
//
// Input layout: bytes 0 and 1 pick two split points, byte 2 picks the maximum
// message size, the rest is the stream. The stream is decoded whole, in three
// pieces, and byte by byte when short; every run must deliver the same
// messages and end in the same state. When the stream decodes cleanly,
// re-encoding the messages must give back exactly the stream.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <utility>

#include "rpc/grpc/framing.hpp"

namespace {

using trident::rpc::grpc::encode_message;
using trident::rpc::grpc::MessageDecoder;
using trident::rpc::grpc::MessageListener;

void check(bool ok) {
  if (!ok) std::abort();
}

class Log : public MessageListener {
 public:
  explicit Log(std::size_t max) : max_(max) {}
  void on_message(std::string_view payload, bool compressed) override {
    check(payload.size() <= max_);
    check(encode_message(reencoded, payload, compressed));
    log += compressed ? 'C' : 'P';
    log += std::to_string(payload.size());
    log += ':';
    log += payload;
  }
  std::string log;
  std::string reencoded;

 private:
  std::size_t max_;
};

struct Result {
  std::string log;
  std::string reencoded;
  bool finished_ok;
  bool failed;
  int code;
  std::string message;
  bool operator==(const Result&) const = default;
};

template <typename FeedAll>
Result run(std::size_t max, FeedAll feed_all) {
  Log log(max);
  MessageDecoder decoder(log, max);
  const bool fed_ok = feed_all(decoder);
  const bool was_failed = decoder.failed();
  check(fed_ok == !was_failed);
  const bool finished_ok = decoder.finish();
  check(finished_ok == !decoder.failed());
  return {log.log,
          std::move(log.reencoded),
          finished_ok,
          decoder.failed(),
          static_cast<int>(decoder.error().code),
          decoder.error().message};
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 3) return 0;
  static constexpr std::size_t kMaxSizes[] = {0, 1, 5, 16, 255, 1024, 65536, 4u << 20};
  const std::size_t max = kMaxSizes[data[2] % std::size(kMaxSizes)];
  const std::string stream(reinterpret_cast<const char*>(data) + 3, size - 3);
  const std::string_view sv(stream);
  std::size_t a = sv.empty() ? 0 : data[0] % (sv.size() + 1);
  std::size_t b = sv.empty() ? 0 : data[1] % (sv.size() + 1);
  if (a > b) std::swap(a, b);

  const Result whole = run(max, [&](MessageDecoder& d) { return d.feed(sv); });

  const Result pieces = run(max, [&](MessageDecoder& d) {
    bool ok = d.feed(sv.substr(0, a));
    ok = d.feed(sv.substr(a, b - a)) && ok;
    ok = d.feed(sv.substr(b)) && ok;
    return ok && !d.failed();
  });
  check(pieces == whole);

  const Result two = run(max, [&](MessageDecoder& d) {
    const bool first = d.feed(sv.substr(0, b));
    const bool second = d.feed(sv.substr(b));
    check(first || !second);  // once failed, stays failed
    return second;
  });
  check(two == whole);

  if (sv.size() <= 512) {
    const Result bytes = run(max, [&](MessageDecoder& d) {
      bool ok = true;
      for (std::size_t i = 0; i < sv.size(); ++i) ok = d.feed(sv.substr(i, 1));
      return ok;
    });
    check(bytes == whole);
  }

  if (whole.finished_ok) check(whole.reencoded == stream);
  if (whole.failed) {
    check(whole.code == 8 || whole.code == 13);  // RESOURCE_EXHAUSTED or INTERNAL
    check(!whole.message.empty());
  }
  return 0;
}
