#include "http/h2/hpack.hpp"

#include <algorithm>
#include <array>
#include <cstring>

#include "http/h2/hpack_huffman.hpp"

namespace trident::http::h2::hpack {

// ------------------------------------------------------------ primitives

void encode_integer(std::string& out, std::uint8_t first, int prefix_bits, std::uint64_t value) {
  const std::uint64_t max_prefix = (1u << prefix_bits) - 1;
  if (value < max_prefix) {
    out.push_back(static_cast<char>(first | value));
    return;
  }
  out.push_back(static_cast<char>(first | max_prefix));
  value -= max_prefix;
  while (value >= 128) {
    out.push_back(static_cast<char>((value & 0x7F) | 0x80));
    value >>= 7;
  }
  out.push_back(static_cast<char>(value));
}

bool decode_integer(std::string_view in, std::size_t& pos, int prefix_bits, std::uint64_t& value) {
  if (pos >= in.size()) return false;
  const std::uint64_t max_prefix = (1u << prefix_bits) - 1;
  value = static_cast<unsigned char>(in[pos++]) & max_prefix;
  if (value < max_prefix) return true;
  // Four continuation octets carry 28 bits: beyond 2^32 nothing is valid.
  for (int shift = 0; shift <= 28; shift += 7) {
    if (pos >= in.size()) return false;
    const auto b = static_cast<unsigned char>(in[pos++]);
    value += static_cast<std::uint64_t>(b & 0x7F) << shift;
    if ((b & 0x80) == 0) return value <= 0xFFFFFFFFu;
  }
  return false;
}

// ---------------------------------------------------------- dynamic table

namespace {
// Equality of two equally long byte strings; header names and short values
// (most of them) are compared with two overlapping word loads, no call.
inline bool same_bytes(const char* a, const char* b, std::size_t n) {
  if (n >= 8 && n <= 16) {
    std::uint64_t a0, a1, b0, b1;
    std::memcpy(&a0, a, 8);
    std::memcpy(&b0, b, 8);
    std::memcpy(&a1, a + n - 8, 8);
    std::memcpy(&b1, b + n - 8, 8);
    return ((a0 ^ b0) | (a1 ^ b1)) == 0;
  }
  if (n < 8) {
    for (std::size_t i = 0; i < n; ++i) {
      if (a[i] != b[i]) return false;
    }
    return true;
  }
  return std::memcmp(a, b, n) == 0;
}
inline bool same(std::string_view a, std::string_view b) {
  return a.size() == b.size() && same_bytes(a.data(), b.data(), a.size());
}
}  // namespace

void DynamicTable::evict_oldest() {
  const Entry& e = ring_[head_];
  size_ -= entry_size(e.name_len, e.value_len);
  head_ = (head_ + 1) & (ring_.size() - 1);
  --count_;
  if (count_ == 0) {
    begin_ = tail_ = 0;
  } else {
    begin_ = ring_[head_].off;
  }
}

void DynamicTable::set_max_size(std::size_t max) {
  max_size_ = max;
  while (size_ > max_size_) evict_oldest();
}

void DynamicTable::make_room(std::size_t bytes) {
  if (bytes_.size() - tail_ >= bytes) return;
  // Move the live bytes to the front; grow only if that is not enough.
  const std::size_t live = tail_ - begin_;
  if (live > 0 && begin_ > 0) std::memmove(bytes_.data(), bytes_.data() + begin_, live);
  for (std::size_t i = 0; i < count_; ++i) {
    ring_[(head_ + i) & (ring_.size() - 1)].off -= static_cast<std::uint32_t>(begin_);
  }
  begin_ = 0;
  tail_ = live;
  if (bytes_.size() - tail_ < bytes) bytes_.resize(std::max(bytes_.size() * 2, tail_ + bytes));
}

bool DynamicTable::insert(std::string_view name, std::string_view value) {
  const std::size_t need = entry_size(name.size(), value.size());
  if (need > max_size_) {
    while (count_ > 0) evict_oldest();  // moves no bytes: views stay valid
    return false;
  }
  // The name may be an entry about to be evicted (RFC 7541 §4.4), and either
  // view may point into bytes_, which eviction and compaction move: copy first.
  std::string copy;
  const char* base = bytes_.data();
  auto inside = [&](std::string_view s) {
    return !s.empty() && s.data() >= base && s.data() < base + bytes_.size();
  };
  if (inside(name) || inside(value)) {
    copy.reserve(name.size() + value.size());
    copy.append(name).append(value);
    name = std::string_view(copy).substr(0, name.size());
    value = std::string_view(copy).substr(name.size());
  }
  while (size_ + need > max_size_) evict_oldest();
  if (count_ == ring_.size()) {
    // Grow the ring, oldest first again.
    std::vector<Entry> bigger(std::max<std::size_t>(16, ring_.size() * 2));
    for (std::size_t i = 0; i < count_; ++i) bigger[i] = ring_[(head_ + i) & (ring_.size() - 1)];
    ring_ = std::move(bigger);
    head_ = 0;
  }
  const std::size_t bytes = name.size() + value.size();
  make_room(bytes);
  if (!name.empty()) std::memcpy(bytes_.data() + tail_, name.data(), name.size());
  if (!value.empty()) std::memcpy(bytes_.data() + tail_ + name.size(), value.data(), value.size());
  if (count_ == 0) begin_ = tail_;
  ring_[(head_ + count_) & (ring_.size() - 1)] =
      Entry{static_cast<std::uint32_t>(tail_), static_cast<std::uint32_t>(name.size()),
            static_cast<std::uint32_t>(value.size())};
  ++count_;
  tail_ += bytes;
  size_ += need;
  return true;
}

StaticEntry DynamicTable::get(std::size_t i) const {
  const Entry& e = at(i);
  std::string_view b = bytes_;
  return {b.substr(e.off, e.name_len), b.substr(e.off + e.name_len, e.value_len)};
}

DynamicTable::Match DynamicTable::find(std::string_view name, std::string_view value) const {
  Match m;
  const char* b = bytes_.data();
  for (std::size_t i = 0; i < count_; ++i) {
    const Entry& e = at(i);
    // Lengths first: most entries differ there and cost no memcmp.
    if (e.name_len != name.size() || !same_bytes(b + e.off, name.data(), name.size())) continue;
    if (m.name == npos) m.name = i;
    if (e.value_len == value.size() &&
        same_bytes(b + e.off + e.name_len, value.data(), value.size())) {
      m.exact = i;
      return m;
    }
  }
  return m;
}

// ---------------------------------------------------------------- decoder

void Decoder::set_table_limit(std::size_t limit) {
  limit_ = limit;
  if (table_.max_size() > limit) table_.set_max_size(limit);
}

bool Decoder::lookup(std::uint64_t index, Field& f) const {
  if (index == 0) return false;
  if (index <= kStaticTable.size()) {
    const StaticEntry& e = kStaticTable[index - 1];
    f.name = e.name;
    f.value = e.value;
    return true;
  }
  const std::uint64_t d = index - kStaticTable.size() - 1;
  if (d >= table_.count()) return false;
  const StaticEntry e = table_.get(static_cast<std::size_t>(d));
  f.name = e.name;
  f.value = e.value;
  return true;
}

bool Decoder::read_string(std::string_view block, std::size_t& pos, std::string_view& out,
                          char*& scratch) {
  if (pos >= block.size()) return false;
  const bool huffman = (static_cast<unsigned char>(block[pos]) & 0x80) != 0;
  std::uint64_t len = 0;
  if (!decode_integer(block, pos, 7, len)) return false;
  if (len > block.size() - pos) return false;
  const std::string_view raw = block.substr(pos, static_cast<std::size_t>(len));
  pos += static_cast<std::size_t>(len);
  if (!huffman) {
    out = raw;
    return true;
  }
  char* end = huffman_decode(raw, scratch);
  if (!end) return false;
  out = std::string_view(scratch, static_cast<std::size_t>(end - scratch));
  scratch = end;
  return true;
}

bool Decoder::next(std::string_view block, std::size_t& pos, bool& is_field, Field& f,
                   bool at_start) {
  const auto b = static_cast<unsigned char>(block[pos]);
  std::uint64_t index = 0;
  if (b & 0x80) {  // indexed field (§6.1)
    if (!decode_integer(block, pos, 7, index) || !lookup(index, f)) return false;
    is_field = true;
    return true;
  }
  if ((b & 0xE0) == 0x20) {  // dynamic table size update (§6.3)
    if (!at_start) return false;
    if (!decode_integer(block, pos, 5, index) || index > limit_) return false;
    table_.set_max_size(static_cast<std::size_t>(index));
    is_field = false;
    return true;
  }
  // Literal: with incremental indexing (01), without (0000) or never (0001).
  const bool incremental = (b & 0xC0) == 0x40;
  if (!decode_integer(block, pos, incremental ? 6 : 4, index)) return false;
  // Room for both strings decoded, whatever they turn out to be: the
  // remaining block bounds them.
  const std::size_t room = 2 * huffman_max_decoded(block.size() - pos);
  if (scratch_.size() < room) scratch_.resize(room);
  char* scratch = scratch_.data();
  if (index == 0) {
    if (!read_string(block, pos, f.name, scratch)) return false;
  } else {
    Field named;
    if (!lookup(index, named)) return false;
    f.name = named.name;
  }
  if (!read_string(block, pos, f.value, scratch)) return false;
  // Inserting may move the table's bytes (a name may come from there): the
  // field is then reported from its new entry.
  if (incremental && table_.insert(f.name, f.value)) {
    const StaticEntry e = table_.get(0);
    f.name = e.name;
    f.value = e.value;
  }
  is_field = true;
  return true;
}

// ---------------------------------------------------------------- encoder

namespace {

// Static table entries by name length, for a lookup that compares only
// names of the right size.
struct StaticIndex {
  std::array<std::vector<std::uint8_t>, 32> by_length;  // 1-based indices
};
const StaticIndex& static_index() {
  static const StaticIndex index = [] {
    StaticIndex x;
    for (std::size_t i = 0; i < kStaticTable.size(); ++i) {
      x.by_length[kStaticTable[i].name.size()].push_back(static_cast<std::uint8_t>(i + 1));
    }
    return x;
  }();
  return index;
}

// Fields not worth a table entry: they change from one message to the next.
bool volatile_field(std::string_view name) {
  switch (name.size()) {
    case 4:
      return name == "etag";
    case 5:
      return name == ":path";
    case 8:
      return name == "location";
    case 14:
      return name == "content-length";
    case 13:
      return name == "last-modified";
    default:
      return false;
  }
}

}  // namespace

void Encoder::set_peer_table_size(std::size_t size) {
  const std::size_t s = std::min(size, limit_);
  pending_min_ = std::min(pending_min_, s);
  update_pending_ = true;
  table_.set_max_size(s);
}

void Encoder::begin_block(std::string& out) {
  if (!update_pending_) return;
  // RFC 7541 §4.2: the smallest size since the last block first, then the
  // final one, so the decoder evicts exactly as we did.
  if (pending_min_ < table_.max_size()) encode_integer(out, 0x20, 5, pending_min_);
  encode_integer(out, 0x20, 5, table_.max_size());
  update_pending_ = false;
  pending_min_ = SIZE_MAX;
}

void Encoder::string_literal(std::string& out, std::string_view s) {
  const std::size_t h = huffman_length(s);
  if (h < s.size()) {
    encode_integer(out, 0x80, 7, h);
    huffman_encode(s, out);
  } else {
    encode_integer(out, 0x00, 7, s.size());
    out.append(s);
  }
}

void Encoder::add(std::string& out, std::string_view name, std::string_view value,
                  Indexing indexing) {
  std::uint64_t name_index = 0;
  if (name.size() < 32) {
    for (std::uint8_t i : static_index().by_length[name.size()]) {
      const StaticEntry& e = kStaticTable[i - 1];
      if (!same(e.name, name)) continue;
      if (name_index == 0) name_index = i;
      if (indexing != Indexing::never && same(e.value, value)) {
        encode_integer(out, 0x80, 7, i);
        return;
      }
    }
  }
  if (indexing != Indexing::never) {
    const DynamicTable::Match m = table_.find(name, value);
    if (m.exact != DynamicTable::npos) {
      encode_integer(out, 0x80, 7, kStaticTable.size() + 1 + m.exact);
      return;
    }
    if (name_index == 0 && m.name != DynamicTable::npos) {
      name_index = kStaticTable.size() + 1 + m.name;
    }
  }
  if (indexing == Indexing::never) {
    encode_integer(out, 0x10, 4, name_index);
  } else if (volatile_field(name)) {
    encode_integer(out, 0x00, 4, name_index);
  } else {
    encode_integer(out, 0x40, 6, name_index);
    table_.insert(name, value);
  }
  if (name_index == 0) string_literal(out, name);
  string_literal(out, value);
}

}  // namespace trident::http::h2::hpack
