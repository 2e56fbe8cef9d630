// HPACK (RFC 7541): header block decoding and encoding with a dynamic table.
//
// Byte-in/event-out like the other codecs: Decoder::decode takes one complete
// header block (HEADERS plus CONTINUATIONs, joined) and calls back once per
// field with views that are valid during the call only; nothing is allocated
// per field. Encoder appends a block for a list of fields to a string.
//
// An HPACK bomb (a small table entry referenced thousands of times) is bounded
// by the decoded list limit: past it the block is still decoded, so the
// table stays in step with the peer's encoder, but no more fields are
// reported and the result says `too_large` (the stream gets 431 or a reset;
// the connection survives).
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "http/h2/hpack_tables.hpp"

namespace trident::http::h2::hpack {

// A field's size for table accounting and list limits (RFC 7541 §4.1).
constexpr std::size_t entry_size(std::size_t name_len, std::size_t value_len) {
  return name_len + value_len + 32;
}

// The dynamic table: newest entry first (index 0 here is HPACK index 62).
// Name and value bytes sit back to back in one buffer that is compacted
// rather than reallocated; entries are offsets into it.
class DynamicTable {
 public:
  explicit DynamicTable(std::size_t max_size = 4096) : max_size_(max_size) {}

  std::size_t size() const { return size_; }  // HPACK size: sum of entry_size
  std::size_t max_size() const { return max_size_; }
  std::size_t count() const { return count_; }
  void set_max_size(std::size_t max);  // evicts as needed
  // Adds a field, evicting the oldest first; a field larger than the whole
  // table empties it and is not added (RFC 7541 §4.4); false then. `name`
  // and `value` may point into this table.
  bool insert(std::string_view name, std::string_view value);
  StaticEntry get(std::size_t i) const;  // 0 = newest; i < count()
  // The newest entry equal to (name, value), and the newest with that name,
  // as positions (0 = newest), or npos.
  struct Match {
    std::size_t exact = npos;
    std::size_t name = npos;
  };
  static constexpr std::size_t npos = static_cast<std::size_t>(-1);
  Match find(std::string_view name, std::string_view value) const;

 private:
  struct Entry {
    std::uint32_t off;  // in bytes_
    std::uint32_t name_len;
    std::uint32_t value_len;
  };
  const Entry& at(std::size_t i) const {  // 0 = newest
    return ring_[(head_ + count_ - 1 - i) & (ring_.size() - 1)];
  }
  void evict_oldest();
  void make_room(std::size_t bytes);  // at least `bytes` free after tail_

  std::vector<Entry> ring_;  // power-of-two size; oldest at head_
  std::size_t head_ = 0;
  std::size_t count_ = 0;
  std::string bytes_;
  std::size_t begin_ = 0;  // bytes of the oldest entry start here
  std::size_t tail_ = 0;   // the next entry's bytes go here
  std::size_t size_ = 0;
  std::size_t max_size_;
};

enum class DecodeResult {
  ok,
  compression_error,  // malformed block: the connection fails (COMPRESSION_ERROR)
  too_large,          // decoded list over the limit: the stream is refused, not the connection
};

class Decoder {
 public:
  // `table_limit`: the SETTINGS_HEADER_TABLE_SIZE we announce; the peer may
  // shrink the table below it with size updates, never grow it past it.
  explicit Decoder(std::size_t table_limit = 4096) : limit_(table_limit), table_(table_limit) {}

  // Decodes one complete block. `on_field(name, value)` runs per field while
  // the decoded list (entry_size per field) stays within `max_list_size`.
  template <typename OnField>
  DecodeResult decode(std::string_view block, std::size_t max_list_size, OnField&& on_field);

  const DynamicTable& table() const { return table_; }
  // Lowers or raises the limit we announce (takes effect as the peer
  // acknowledges; a table above a lowered limit is shrunk now).
  void set_table_limit(std::size_t limit);

 private:
  struct Field {
    std::string_view name, value;
  };
  // Decodes the next representation at `pos`; `field_out` set when it is a
  // field (not a size update). False on a malformed representation.
  bool next(std::string_view block, std::size_t& pos, bool& is_field, Field& field_out,
            bool at_start);
  bool read_string(std::string_view block, std::size_t& pos, std::string_view& out, char*& scratch);
  bool lookup(std::uint64_t index, Field& f) const;

  std::size_t limit_;
  DynamicTable table_;
  std::string scratch_;  // Huffman-decoded name and value of the current field
};

// How a field may be entered in the peer's dynamic table.
enum class Indexing {
  automatic,  // indexed unless it looks volatile (see Encoder)
  never,      // sensitive (credentials): never indexed, here or by intermediaries
};

class Encoder {
 public:
  // `table_limit`: our own cap on the table we keep for the peer's decoder.
  explicit Encoder(std::size_t table_limit = 4096)
      : limit_(table_limit), table_(std::min<std::size_t>(table_limit, 4096)) {}

  // The peer's SETTINGS_HEADER_TABLE_SIZE. The change is announced at the
  // start of the next block.
  void set_peer_table_size(std::size_t size);

  // Starts a block: appends any pending table size update.
  void begin_block(std::string& out);
  // Appends one field; `name` must be lower-case.
  void add(std::string& out, std::string_view name, std::string_view value,
           Indexing indexing = Indexing::automatic);

  const DynamicTable& table() const { return table_; }

 private:
  void string_literal(std::string& out, std::string_view s);

  std::size_t limit_;
  DynamicTable table_;
  std::size_t pending_min_ = SIZE_MAX;  // smallest size since the last block, if changed
  bool update_pending_ = false;
};

// ---- primitives (RFC 7541 §5.1), exposed for tests ----

// Appends `value` with an N-bit prefix; `first` holds the bits above the prefix.
void encode_integer(std::string& out, std::uint8_t first, int prefix_bits, std::uint64_t value);
// Decodes an integer with an N-bit prefix at `pos`; false if truncated or
// larger than 2^32 - 1 (nothing legitimate needs more).
bool decode_integer(std::string_view in, std::size_t& pos, int prefix_bits, std::uint64_t& value);

// ---- template implementation ----

template <typename OnField>
DecodeResult Decoder::decode(std::string_view block, std::size_t max_list_size,
                             OnField&& on_field) {
  std::size_t pos = 0;
  std::size_t list_size = 0;
  bool over = false;
  bool at_start = true;
  while (pos < block.size()) {
    bool is_field = false;
    Field f;
    if (!next(block, pos, is_field, f, at_start)) return DecodeResult::compression_error;
    if (!is_field) continue;
    at_start = false;
    if (over) continue;
    list_size += entry_size(f.name.size(), f.value.size());
    if (list_size > max_list_size) {
      over = true;
      continue;
    }
    on_field(f.name, f.value);
  }
  return over ? DecodeResult::too_large : DecodeResult::ok;
}

}  // namespace trident::http::h2::hpack
