// permessage-deflate (RFC 7692): negotiation and per-message compression.
//
// trident always answers with server_no_context_takeover and
// client_no_context_takeover, so each message is a self-contained raw
// deflate stream. The zlib state therefore needs no per-connection home: one
// compressor per window size and one decompressor live per worker thread and
// are reset after each message. An idle connection holds no zlib memory.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace trident::ws {

// The accepted parameters of a permessage-deflate offer.
struct DeflateParams {
  int server_max_window_bits = 15;  // the server's compressor window (9..15)
  int client_max_window_bits = 15;  // the client's compressor window (9..15)
};

// Picks the first acceptable permessage-deflate offer from the
// Sec-WebSocket-Extensions header values (comma-separated, possibly several
// headers joined with ", "). Offers with unknown or repeated parameters,
// invalid values, or server_max_window_bits=8 (raw deflate with an 8-bit
// window is not something zlib can produce) are skipped.
std::optional<DeflateParams> negotiate_deflate(std::string_view extensions_header);

// The Sec-WebSocket-Extensions response value for accepted parameters.
std::string deflate_response(const DeflateParams& p);

// Compresses one message with the calling thread's compressor; the result
// omits the final 00 00 FF FF as RFC 7692 §7.2.1 requires.
void deflate_message(std::string_view message, int window_bits, std::string& out);

enum class InflateResult { ok, too_big, corrupt };

// Inflates one message (appending 00 00 FF FF) with the calling thread's
// decompressor; stops with too_big as soon as the output would pass `limit`.
InflateResult inflate_message(std::string_view compressed, std::size_t limit, std::string& out);

}  // namespace trident::ws
