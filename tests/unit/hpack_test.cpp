// HPACK (RFC 7541): integers, Huffman, the dynamic table, decoding with the
// RFC's Appendix C examples, every decoding error, the list limit (HPACK
// bomb), and encoder round trips.
#include <gtest/gtest.h>

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "http/h2/hpack.hpp"
#include "http/h2/hpack_huffman.hpp"

using namespace trident::http::h2::hpack;

namespace {

std::string unhex(std::string_view hex) {
  std::string out;
  for (std::size_t i = 0; i + 1 < hex.size(); i += 2) {
    out.push_back(static_cast<char>(std::stoi(std::string(hex.substr(i, 2)), nullptr, 16)));
  }
  return out;
}

std::string hex(std::string_view bytes) {
  static const char* digits = "0123456789abcdef";
  std::string out;
  for (unsigned char c : bytes) {
    out.push_back(digits[c >> 4]);
    out.push_back(digits[c & 15]);
  }
  return out;
}

using Fields = std::vector<std::pair<std::string, std::string>>;

DecodeResult decode(Decoder& d, std::string_view block, Fields& out,
                    std::size_t max_list = 1 << 20) {
  out.clear();
  return d.decode(block, max_list, [&](std::string_view n, std::string_view v) {
    out.emplace_back(std::string(n), std::string(v));
  });
}

std::string huff(std::string_view s) {
  std::string out;
  huffman_encode(s, out);
  return out;
}

std::optional<std::string> unhuff(std::string_view s) {
  std::string out(huffman_max_decoded(s.size()), '\0');
  char* end = huffman_decode(s, out.data());
  if (!end) return std::nullopt;
  out.resize(static_cast<std::size_t>(end - out.data()));
  return out;
}

}  // namespace

// ---------------------------------------------------------------- integers

TEST(HpackInteger, RfcExamples) {
  std::string out;
  encode_integer(out, 0, 5, 10);  // C.1.1
  EXPECT_EQ(hex(out), "0a");
  out.clear();
  encode_integer(out, 0, 5, 1337);  // C.1.2
  EXPECT_EQ(hex(out), "1f9a0a");
  out.clear();
  encode_integer(out, 0, 8, 42);  // C.1.3
  EXPECT_EQ(hex(out), "2a");
}

TEST(HpackInteger, RoundTripAtEveryPrefix) {
  for (int prefix = 1; prefix <= 8; ++prefix) {
    for (std::uint64_t v : {0ull, 1ull, 30ull, 31ull, 126ull, 127ull, 128ull, 255ull, 256ull,
                            16383ull, 16384ull, 1ull << 21, 0xFFFFFFFFull}) {
      std::string out;
      encode_integer(out, 0, prefix, v);
      std::size_t pos = 0;
      std::uint64_t got = 0;
      ASSERT_TRUE(decode_integer(out, pos, prefix, got)) << prefix << " " << v;
      EXPECT_EQ(got, v);
      EXPECT_EQ(pos, out.size());
    }
  }
}

TEST(HpackInteger, TruncatedAndOversizedAreRejected) {
  std::size_t pos = 0;
  std::uint64_t v = 0;
  EXPECT_FALSE(decode_integer(unhex("1f"), pos, 5, v));  // continuation missing
  pos = 0;
  EXPECT_FALSE(decode_integer(unhex("1f9a"), pos, 5, v));  // last octet has the flag
  pos = 0;
  EXPECT_FALSE(decode_integer(unhex("1fffffffff0f"), pos, 5, v));  // > 2^32 - 1
  pos = 0;
  EXPECT_FALSE(decode_integer(unhex("1fffffffffffffffffffff01"), pos, 5, v));  // endless
  pos = 0;
  EXPECT_FALSE(decode_integer("", pos, 5, v));
}

// ----------------------------------------------------------------- Huffman

TEST(HpackHuffman, RfcStrings) {
  EXPECT_EQ(hex(huff("www.example.com")), "f1e3c2e5f23a6ba0ab90f4ff");
  EXPECT_EQ(hex(huff("no-cache")), "a8eb10649cbf");
  EXPECT_EQ(hex(huff("custom-key")), "25a849e95ba97d7f");
  EXPECT_EQ(hex(huff("custom-value")), "25a849e95bb8e8b4bf");
  EXPECT_EQ(huffman_length("www.example.com"), 12u);
  EXPECT_EQ(unhuff(unhex("f1e3c2e5f23a6ba0ab90f4ff")), "www.example.com");
  EXPECT_EQ(unhuff(unhex("a8eb10649cbf")), "no-cache");
  EXPECT_EQ(unhuff(""), "");
}

TEST(HpackHuffman, EveryOctetRoundTrips) {
  std::string all;
  for (int c = 0; c < 256; ++c) all.push_back(static_cast<char>(c));
  for (std::size_t start = 0; start < all.size(); start += 7) {
    const std::string s = all.substr(start) + all.substr(0, start);
    const std::string coded = huff(s);
    EXPECT_EQ(coded.size(), huffman_length(s));
    EXPECT_EQ(unhuff(coded), s);
  }
}

TEST(HpackHuffman, InvalidCodingsAreRejected) {
  // EOS (30 one bits) inside the string.
  EXPECT_FALSE(unhuff(unhex("ffffffff")));
  // Padding of eight or more bits: a whole extra octet of ones.
  EXPECT_FALSE(unhuff(unhex("f1e3c2e5f23a6ba0ab90f4ffff")));
  // Padding that is not all ones: "www.example.com" ends in 7 padding bits;
  // clearing them makes them zeros, which decode as (part of) another code.
  EXPECT_FALSE(unhuff(unhex("f1e3c2e5f23a6ba0ab90f480")));
  // "0" is 00000 (5 bits): padding with zeros instead of ones.
  EXPECT_FALSE(unhuff(unhex("00")));
  EXPECT_EQ(unhuff(unhex("07")), "0");  // the same code, padded with ones
}

// ----------------------------------------------------------- dynamic table

TEST(HpackTable, EvictsOldestAndCountsSize) {
  DynamicTable t(100);
  EXPECT_TRUE(t.insert("a", "1"));  // 34
  EXPECT_TRUE(t.insert("b", "2"));  // 68
  EXPECT_EQ(t.size(), 68u);
  EXPECT_TRUE(t.insert("c", "3"));  // 102 > 100: "a" goes
  EXPECT_EQ(t.count(), 2u);
  EXPECT_EQ(t.get(0).name, "c");
  EXPECT_EQ(t.get(1).name, "b");
  EXPECT_FALSE(t.insert(std::string(80, 'x'), ""));  // larger than the table: empties it
  EXPECT_EQ(t.count(), 0u);
  EXPECT_EQ(t.size(), 0u);
  t.set_max_size(4096);
  for (int i = 0; i < 1000; ++i) {  // many insertions: compaction and ring growth
    ASSERT_TRUE(
        t.insert("name" + std::to_string(i), std::string(static_cast<std::size_t>(i % 50), 'v')));
    ASSERT_LE(t.size(), 4096u);
    ASSERT_EQ(t.get(0).name, "name" + std::to_string(i));
  }
  t.set_max_size(0);
  EXPECT_EQ(t.count(), 0u);
}

TEST(HpackTable, NameOfAnEntryBeingEvicted) {
  // RFC 7541 §4.4: the new entry names the entry its insertion evicts.
  DynamicTable t(70);
  ASSERT_TRUE(t.insert("a-long-header-name", "v1"));  // 52
  const StaticEntry old = t.get(0);
  ASSERT_TRUE(t.insert(old.name, "value-two"));  // 59: evicts the first
  EXPECT_EQ(t.count(), 1u);
  EXPECT_EQ(t.get(0).name, "a-long-header-name");
  EXPECT_EQ(t.get(0).value, "value-two");
}

// ------------------------------------------------------------------ decoder

TEST(HpackDecoder, RfcRequestsWithoutHuffman) {
  Decoder d;
  Fields f;
  ASSERT_EQ(decode(d, unhex("828684410f7777772e6578616d706c652e636f6d"), f), DecodeResult::ok);
  EXPECT_EQ(f, (Fields{{":method", "GET"},
                       {":scheme", "http"},
                       {":path", "/"},
                       {":authority", "www.example.com"}}));
  EXPECT_EQ(d.table().size(), 57u);
  ASSERT_EQ(decode(d, unhex("828684be58086e6f2d6361636865"), f), DecodeResult::ok);
  EXPECT_EQ(f.back(), (std::pair<std::string, std::string>{"cache-control", "no-cache"}));
  EXPECT_EQ(f[3].second, "www.example.com");
  EXPECT_EQ(d.table().size(), 110u);
  ASSERT_EQ(decode(d, unhex("828785bf400a637573746f6d2d6b65790c637573746f6d2d76616c7565"), f),
            DecodeResult::ok);
  EXPECT_EQ(f, (Fields{{":method", "GET"},
                       {":scheme", "https"},
                       {":path", "/index.html"},
                       {":authority", "www.example.com"},
                       {"custom-key", "custom-value"}}));
  EXPECT_EQ(d.table().size(), 164u);
  EXPECT_EQ(d.table().get(0).name, "custom-key");
  EXPECT_EQ(d.table().get(1).name, "cache-control");
  EXPECT_EQ(d.table().get(2).name, ":authority");
}

TEST(HpackDecoder, RfcRequestsWithHuffman) {
  Decoder d;
  Fields f;
  ASSERT_EQ(decode(d, unhex("828684418cf1e3c2e5f23a6ba0ab90f4ff"), f), DecodeResult::ok);
  EXPECT_EQ(f[3].second, "www.example.com");
  ASSERT_EQ(decode(d, unhex("828684be5886a8eb10649cbf"), f), DecodeResult::ok);
  EXPECT_EQ(f.back().second, "no-cache");
  ASSERT_EQ(decode(d, unhex("828785bf408825a849e95ba97d7f8925a849e95bb8e8b4bf"), f),
            DecodeResult::ok);
  EXPECT_EQ(f.back(), (std::pair<std::string, std::string>{"custom-key", "custom-value"}));
  EXPECT_EQ(d.table().size(), 164u);
}

TEST(HpackDecoder, RfcResponseWithEviction) {
  // C.6.1 with a 256-octet table.
  Decoder d(256);
  Fields f;
  ASSERT_EQ(decode(d,
                   unhex("488264025885aec3771a4b6196d07abe941054d444a8200595040b8166e082a62d1b"
                         "ff6e919d29ad171863c78f0b97c8e9ae82ae43d3"),
                   f),
            DecodeResult::ok);
  EXPECT_EQ(f, (Fields{{":status", "302"},
                       {"cache-control", "private"},
                       {"date", "Mon, 21 Oct 2013 20:13:21 GMT"},
                       {"location", "https://www.example.com"}}));
  EXPECT_EQ(d.table().size(), 222u);
  // One more entry of 42 octets: ":status: 302" (the oldest) is evicted.
  ASSERT_EQ(decode(d, unhex("4803333037"), f), DecodeResult::ok);  // :status 307, literal
  EXPECT_EQ(f[0].second, "307");
  EXPECT_EQ(d.table().count(), 4u);
  EXPECT_EQ(d.table().get(3).name, "cache-control");
  EXPECT_LE(d.table().size(), 256u);
}

TEST(HpackDecoder, MalformedBlocksAreCompressionErrors) {
  struct Case {
    const char* what;
    const char* block;
  };
  const Case cases[] = {
      {"index 0", "80"},
      {"index past the tables", "be"},
      {"name index past the tables", "7e0161"},
      {"string longer than the block", "400561"},
      {"value missing", "400161"},
      {"truncated integer", "ff"},
      {"size update above the limit", "3fe21f"},      // 4097 > 4096
      {"size update after a field", "823f00"},        // not at the start
      {"invalid Huffman (EOS)", "4084ffffffff0161"},  // name coded with EOS
      {"padding over seven bits", "00821fff0161"},
  };
  for (const Case& c : cases) {
    Decoder d;
    Fields f;
    EXPECT_EQ(decode(d, unhex(c.block), f), DecodeResult::compression_error) << c.what;
  }
}

TEST(HpackDecoder, SizeUpdatesAtTheStartAreApplied) {
  Decoder d;
  Fields f;
  ASSERT_EQ(decode(d, unhex("40016101624001630164"), f), DecodeResult::ok);  // two entries
  EXPECT_EQ(d.table().count(), 2u);
  // Two updates (0 then 4096) before the first field: the table is emptied.
  ASSERT_EQ(decode(d, unhex("203fe11f82"), f), DecodeResult::ok);
  EXPECT_EQ(d.table().count(), 0u);
  EXPECT_EQ(d.table().max_size(), 4096u);
  EXPECT_EQ(f.size(), 1u);
}

TEST(HpackDecoder, BombStopsReportingButKeepsTheTableInStep) {
  // One 4,000-octet entry, then 2,000 one-octet references to it: 8 MB of
  // decoded headers from a 4 kB block. Fields stop at the limit; the block
  // is still consumed and the next block decodes normally.
  Decoder d;
  std::string block = unhex("40");  // literal, incremental, new name
  block += unhex("0178");           // name "x"
  std::string big_len;
  encode_integer(big_len, 0, 7, 4000);
  block += big_len + std::string(4000, 'v');
  block += std::string(2000, static_cast<char>(0xbe));  // index 62
  Fields f;
  EXPECT_EQ(decode(d, block, f, 16 * 1024), DecodeResult::too_large);
  EXPECT_EQ(f.size(), 4u);  // (4001 + 32) * 4 <= 16384 < 5 * 4033
  EXPECT_EQ(d.table().count(), 1u);
  ASSERT_EQ(decode(d, unhex("82be"), f, 16 * 1024), DecodeResult::ok);
  EXPECT_EQ(f[1].first, "x");
  EXPECT_EQ(f[1].second.size(), 4000u);
}

TEST(HpackDecoder, NeverIndexedAndWithoutIndexingLeaveTheTableAlone) {
  Decoder d;
  Fields f;
  ASSERT_EQ(decode(d, unhex("100870617373776f7264067365637265740001610162"), f), DecodeResult::ok);
  EXPECT_EQ(f, (Fields{{"password", "secret"}, {"a", "b"}}));
  EXPECT_EQ(d.table().count(), 0u);
}

// ------------------------------------------------------------------ encoder

TEST(HpackEncoder, RoundTripsAndIndexesRepeats) {
  Encoder e;
  Decoder d;
  const Fields response = {{":status", "200"},
                           {"content-type", "text/plain"},
                           {"content-length", "13"},
                           {"server", "trident"},
                           {"date", "Sun, 22 Nov 2026 05:00:00 GMT"},
                           {"x-custom", std::string(300, 'z')}};
  std::size_t first_size = 0;
  for (int round = 0; round < 3; ++round) {
    std::string block;
    e.begin_block(block);
    for (const auto& [n, v] : response) e.add(block, n, v);
    if (round == 0) first_size = block.size();
    if (round > 0) {
      EXPECT_LT(block.size(), 12u) << "repeats are table references";
    }
    Fields f;
    ASSERT_EQ(decode(d, block, f), DecodeResult::ok);
    EXPECT_EQ(f, response);
  }
  EXPECT_GT(first_size, 300u);
  EXPECT_EQ(e.table().size(), d.table().size());
}

TEST(HpackEncoder, SensitiveFieldsAreNeverIndexed) {
  Encoder e;
  std::string block;
  e.begin_block(block);
  e.add(block, "authorization", "Bearer abc", Indexing::never);
  EXPECT_EQ(static_cast<unsigned char>(block[0]) & 0xF0, 0x10);
  EXPECT_EQ(e.table().count(), 0u);
  Decoder d;
  Fields f;
  ASSERT_EQ(decode(d, block, f), DecodeResult::ok);
  EXPECT_EQ(f, (Fields{{"authorization", "Bearer abc"}}));
}

TEST(HpackEncoder, PeerTableSizeChangesAreAnnounced) {
  Encoder e;
  Decoder d;
  Fields f;
  std::string block;
  e.begin_block(block);
  e.add(block, "x-a", "1");
  ASSERT_EQ(decode(d, block, f), DecodeResult::ok);
  EXPECT_EQ(d.table().count(), 1u);
  // The peer shrinks to 0 and grows to 100 before our next block: both the
  // minimum and the final size are announced (RFC 7541 §4.2).
  e.set_peer_table_size(0);
  e.set_peer_table_size(100);
  block.clear();
  e.begin_block(block);
  e.add(block, "x-b", "2");
  EXPECT_EQ(hex(block.substr(0, 3)), "203f45");
  ASSERT_EQ(decode(d, block, f), DecodeResult::ok);
  EXPECT_EQ(d.table().count(), 1u);  // x-a was evicted by the 0
  EXPECT_EQ(d.table().get(0).name, "x-b");
  EXPECT_EQ(d.table().max_size(), 100u);
}
