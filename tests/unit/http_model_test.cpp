// Router, Headers, cache helpers and Request accessors: the protocol-neutral model.
#include <gtest/gtest.h>

#include <string>

#include "core/ascii.hpp"
#include "http/cache.hpp"
#include "http/headers.hpp"
#include "http/request.hpp"
#include "http/router.hpp"

namespace trident::http {
namespace {

Task<void> noop(Request&, Response&) {
  co_return;
}

TEST(Headers, NamesAreLowerCasedValuesKept) {
  Headers h;
  h.add("Content-Type", "Text/HTML");
  h.add("X-Two", "a");
  h.add("x-two", "b");
  EXPECT_EQ(h.get("content-type"), "Text/HTML");
  EXPECT_EQ(h.get("x-two"), "a");  // first value
  EXPECT_FALSE(h.find("missing").has_value());
  h.set("X-TWO", "c");  // replaces both
  EXPECT_EQ(h.size(), 2u);
  EXPECT_EQ(h.get("x-two"), "c");
  h.remove("content-type");
  EXPECT_FALSE(h.has("content-type"));
  std::string seen;
  for (const auto& [name, value] : h) seen += std::string(name) + "=" + std::string(value) + ";";
  EXPECT_EQ(seen, "x-two=c;");
  h.clear();
  EXPECT_TRUE(h.empty());
}

TEST(Router, MatchesLiteralsParamsAndRest) {
  Router r;
  r.add("GET", "/users/{id}", noop);
  r.add("GET", "/users/{id}/posts/{post}", noop);
  r.add("GET", "/files/{path...}", noop);
  r.add("POST", "/users", noop);

  Request req;
  std::string allow;
  req.method = "GET";
  req.target = "/users/42?x=1";
  ASSERT_NE(r.match(req, allow), nullptr);
  EXPECT_EQ(req.param("id"), "42");

  Request req2;
  req2.method = "GET";
  req2.target = "/users/a%20b/posts/7";
  ASSERT_NE(r.match(req2, allow), nullptr);
  EXPECT_EQ(req2.param("id"), "a b");
  EXPECT_EQ(req2.param("post"), "7");

  Request req3;
  req3.method = "GET";
  req3.target = "/files/a/b/c.txt";
  ASSERT_NE(r.match(req3, allow), nullptr);
  EXPECT_EQ(req3.param("path"), "a/b/c.txt");
}

TEST(Router, WrongMethodListsAllowAndUnknownPathIsEmpty) {
  Router r;
  r.add("GET", "/users/{id}", noop);
  r.add("DELETE", "/users/{id}", noop);
  Request req;
  req.method = "PUT";
  req.target = "/users/1";
  std::string allow;
  EXPECT_EQ(r.match(req, allow), nullptr);
  EXPECT_EQ(allow, "GET, DELETE, HEAD");

  Request missing;
  missing.method = "GET";
  missing.target = "/nope";
  std::string allow2;
  EXPECT_EQ(r.match(missing, allow2), nullptr);
  EXPECT_EQ(allow2, "");

  Request empty_param;
  empty_param.method = "GET";
  empty_param.target = "/users/";
  std::string allow3;
  EXPECT_EQ(r.match(empty_param, allow3), nullptr);
}

TEST(Router, HeadFallsBackToGet) {
  Router r;
  r.add("GET", "/x/{id}", noop);
  Request req;
  req.method = "HEAD";
  req.target = "/x/5";
  std::string allow;
  EXPECT_NE(r.match(req, allow), nullptr);
  EXPECT_EQ(req.param("id"), "5");
}

TEST(Router, RejectsBadPatterns) {
  Router r;
  EXPECT_THROW(r.add("GET", "no-slash", noop), std::invalid_argument);
  EXPECT_THROW(r.add("GET", "/a/{rest...}/b", noop), std::invalid_argument);
}

TEST(Request, QueryParamsArePercentDecoded) {
  Request req;
  req.target = "/s?n=5&name=a+b%21&flag&bad=%zz";
  EXPECT_EQ(req.path(), "/s");
  EXPECT_EQ(req.query_param("n"), "5");
  EXPECT_EQ(req.query_param("name"), "a b!");
  EXPECT_EQ(req.query_param("flag"), "");
  EXPECT_EQ(req.query_param("bad"), "%zz");  // invalid escapes kept as they are
  EXPECT_EQ(req.query_param("absent"), "");
}

TEST(Cache, EtagMatchingFollowsWeakComparison) {
  std::string etag = make_etag("hello");
  EXPECT_EQ(etag.size(), 18u);
  EXPECT_EQ(etag, make_etag("hello"));
  EXPECT_NE(etag, make_etag("hello!"));
  EXPECT_TRUE(etag_matches(etag, etag));
  EXPECT_TRUE(etag_matches("\"other\", W/" + etag, etag));
  EXPECT_TRUE(etag_matches("*", etag));
  EXPECT_FALSE(etag_matches("\"other\"", etag));
  EXPECT_FALSE(etag_matches("", etag));
}

TEST(Cache, CacheControlFormatting) {
  CacheControl cc;
  EXPECT_EQ(format_cache_control(cc), "");
  cc.is_public = true;
  cc.max_age = 60;
  cc.immutable = true;
  EXPECT_EQ(format_cache_control(cc), "public, max-age=60, immutable");
  CacheControl ns;
  ns.no_store = true;
  EXPECT_EQ(format_cache_control(ns), "no-store");
}

}  // namespace
}  // namespace trident::http

namespace trident::ascii {
namespace {

TEST(Ascii, CopyLowerMatchesScalarAtEveryLengthAndByte) {
  for (int b = 0; b < 256; ++b) {
    for (std::size_t len = 1; len <= 40; ++len) {
      for (std::size_t at = 0; at < len; ++at) {
        std::string src(len, 'Q');
        src[at] = static_cast<char>(b);
        std::string dst(len, '\0');
        copy_lower(dst.data(), src.data(), len);
        std::string in_place = src;
        copy_lower(in_place.data(), in_place.data(), len);
        for (std::size_t i = 0; i < len; ++i) {
          unsigned char c = static_cast<unsigned char>(src[i]);
          char want = (c >= 'A' && c <= 'Z') ? static_cast<char>(c + 32) : static_cast<char>(c);
          ASSERT_EQ(dst[i], want) << "byte " << b << " len " << len << " at " << i;
          ASSERT_EQ(in_place[i], want) << "in place: byte " << b << " len " << len << " at " << i;
        }
      }
    }
  }
}

TEST(Ascii, CopyLowerWorksInPlace) {
  std::string s = "Content-TYPE: X-Forwarded-For";
  copy_lower(s.data(), s.data(), s.size());
  EXPECT_EQ(s, "content-type: x-forwarded-for");
}

TEST(Ascii, FindsCrLfNulAnywhereAndNothingElse) {
  // Backgrounds next to the three bytes (0x01, 0x0b, 0x0e) and high bytes:
  // a word-at-a-time check must not borrow its way into a false positive.
  for (int fill : {int{'x'}, 0x01, 0x0b, 0x0e, 0x80, 0xff}) {
    for (int b = 0; b < 256; ++b) {
      for (std::size_t len = 1; len <= 40; ++len) {
        for (std::size_t at = 0; at < len; ++at) {
          std::string s(len, static_cast<char>(fill));
          s[at] = static_cast<char>(b);
          bool want = b == '\r' || b == '\n' || b == 0;
          ASSERT_EQ(has_cr_lf_nul(s.data(), s.size()), want)
              << "fill " << fill << " byte " << b << " len " << len << " at " << at;
        }
      }
    }
  }
}

}  // namespace
}  // namespace trident::ascii
