// The direct-response table: registration rules, matching, and the handler
// that gives the same answers on every protocol.
#include <gtest/gtest.h>

#include <stdexcept>
#include <string>

#include "http/direct_response.hpp"

namespace trident::http {
namespace {

DirectResponse hello() {
  return {200, "text/plain", "Hello", {}};
}

TEST(DirectResponses, FindsExactMethodAndPath) {
  DirectResponses t;
  t.add("GET", "/a", hello());
  t.add("POST", "/a", {201, "", "made", {}});
  ASSERT_NE(t.find("GET", "/a"), nullptr);
  EXPECT_EQ(t.find("GET", "/a")->response.body, "Hello");
  EXPECT_EQ(t.find("POST", "/a")->response.status, 201);
  EXPECT_EQ(t.find("GET", "/a/"), nullptr);
  EXPECT_EQ(t.find("GET", "/A"), nullptr);
  EXPECT_EQ(t.find("GET", "/ab"), nullptr);
  EXPECT_EQ(t.find("get", "/a"), nullptr);  // methods are case-sensitive
  EXPECT_EQ(t.find("PUT", "/a"), nullptr);
}

TEST(DirectResponses, GetAlsoAnswersHeadUnlessHeadIsListed) {
  DirectResponses t;
  t.add("GET", "/a", hello());
  EXPECT_EQ(t.find("HEAD", "/a"), t.find("GET", "/a"));
  t.add("HEAD", "/b", {204, "", "", {}});
  t.add("GET", "/b", hello());
  EXPECT_EQ(t.find("HEAD", "/b")->response.status, 204);
}

TEST(DirectResponses, AllowListsTheMethodsOfAPath) {
  DirectResponses t;
  t.add("GET", "/a", hello());
  t.add("DELETE", "/a", {204, "", "", {}});
  t.add("PUT", "/b", hello());
  EXPECT_EQ(t.allowed("/a"), "GET, DELETE, HEAD");
  EXPECT_EQ(t.allowed("/b"), "PUT");
  EXPECT_EQ(t.allowed("/c"), "");
}

TEST(DirectResponses, PreparesTheHttp1Fields) {
  DirectResponses t;
  DirectResponse r = hello();
  r.headers.add("Cache-Control", "max-age=60");
  r.headers.add("Server", "edge");
  t.add("GET", "/a", std::move(r));
  const auto* e = t.find("GET", "/a");
  EXPECT_EQ(e->h1_fields,
            "cache-control: max-age=60\r\nserver: edge\r\ncontent-type: text/plain\r\n"
            "content-length: 5\r\n");
  EXPECT_TRUE(e->has_server);
  EXPECT_FALSE(e->has_date);
}

TEST(DirectResponses, RejectsWhatCannotBeServed) {
  auto fails = [](std::string_view method, std::string_view path, DirectResponse r) {
    DirectResponses t;
    EXPECT_THROW(t.add(method, path, std::move(r)), std::invalid_argument) << method << path;
  };
  fails("", "/a", hello());
  fails("G T", "/a", hello());
  fails("GET", "a", hello());
  fails("GET", "", hello());
  fails("GET", "/a?x=1", hello());
  fails("GET", "/a#f", hello());
  fails("GET", "/a b", hello());
  fails("GET", "/a\r\n", hello());
  fails("GET", "/a", {101, "", "", {}});
  fails("GET", "/a", {600, "", "", {}});
  fails("GET", "/a", {204, "", "body", {}});
  fails("GET", "/a", {304, "", "body", {}});
  fails("GET", "/a", {200, "text/plain\r\nx: y", "", {}});
  for (std::string_view name : {"content-length", "Transfer-Encoding", "connection", "upgrade"}) {
    DirectResponse r = hello();
    r.headers.add(name, "1");
    fails("GET", "/a", std::move(r));
  }
  DirectResponse bad_value = hello();
  bad_value.headers.add("x-a", "1\nx-b: 2");
  fails("GET", "/a", std::move(bad_value));
  DirectResponse bad_name = hello();
  bad_name.headers.add("x a", "1");
  fails("GET", "/a", std::move(bad_name));

  DirectResponses t;
  t.add("GET", "/a", hello());
  EXPECT_THROW(t.add("GET", "/a", hello()), std::invalid_argument);
}

// Runs a handler to completion on a response whose sink records the head and body.
struct RecordingSink : ResponseSink {
  int status = 0;
  std::string content_type, allow, body;
  bool ended = false;
  void send_head(const Response& res, bool end_stream) override {
    status = res.status;
    content_type = res.headers.get("content-type");
    allow = res.headers.get("allow");
    ended = end_stream;
  }
  void send_data(std::string_view data, bool end_stream) override {
    body.append(data);
    ended = end_stream;
  }
  void send_trailers(const Headers&) override {}
  std::size_t buffered() const override { return 0; }
};

TEST(DirectResponses, SpecLinesFromTheCommandLine) {
  DirectResponses t;
  t.add_spec("GET /robots.txt 200 User-agent: *\\nDisallow: /\\\\x");
  t.add_spec("GET /gone 410");
  t.add_spec("DELETE /gone 204");
  t.add_spec("GET /empty 200 ");  // a space and nothing after it: an empty body
  const auto* robots = t.find("GET", "/robots.txt");
  ASSERT_NE(robots, nullptr);
  EXPECT_EQ(robots->response.status, 200);
  EXPECT_EQ(robots->response.body, "User-agent: *\nDisallow: /\\x");
  EXPECT_EQ(robots->response.content_type, "text/plain; charset=utf-8");
  const auto* gone = t.find("GET", "/gone");
  ASSERT_NE(gone, nullptr);
  EXPECT_EQ(gone->response.status, 410);
  EXPECT_EQ(gone->response.body, "");
  EXPECT_EQ(gone->response.content_type, "");
  EXPECT_EQ(t.find("DELETE", "/gone")->response.status, 204);
  EXPECT_EQ(t.find("GET", "/empty")->response.content_type, "");
  EXPECT_EQ(t.allowed("/gone"), "GET, DELETE, HEAD");
}

TEST(DirectResponses, MalformedSpecLinesSayWhatIsWrong) {
  auto message = [](std::string_view spec) -> std::string {
    DirectResponses t;
    try {
      t.add_spec(spec);
    } catch (const std::invalid_argument& e) {
      return e.what();
    }
    return "accepted";
  };
  EXPECT_NE(message("GET").find("no path"), std::string::npos);
  EXPECT_NE(message("GET /a").find("no status"), std::string::npos);
  EXPECT_NE(message("GET /a 20").find("three digits"), std::string::npos);
  EXPECT_NE(message("GET /a 2000").find("three digits"), std::string::npos);
  EXPECT_NE(message("GET /a +20").find("three digits"), std::string::npos);
  EXPECT_NE(message("GET /a ok body").find("three digits"), std::string::npos);
  EXPECT_NE(message("GET /a 200 trailing\\").find("backslash"), std::string::npos);
  EXPECT_NE(message("GET /a 200 \\t").find("backslash"), std::string::npos);
  // what add() refuses, with the spec named first
  EXPECT_NE(message(" GET /a 200").find("one space"), std::string::npos);
  EXPECT_NE(message("GET a 200").find("origin-form"), std::string::npos);
  EXPECT_NE(message("GET /a?q 200").find("without a query"), std::string::npos);
  EXPECT_NE(message("GET  /a 200").find("one space"), std::string::npos);
  EXPECT_NE(message("GET /a 099").find("200 to 599"), std::string::npos);
  EXPECT_NE(message("GET /a 204 x").find("no body"), std::string::npos);
  EXPECT_NE(message("GET /a 200 x").find("accepted"), std::string::npos);
}

TEST(DirectResponses, WrapAnswersFromTheTableAndPassesTheRestOn) {
  DirectResponses t;
  t.add("GET", "/a", hello());
  int passed = 0;
  Handler h = t.wrap([&passed](Request&, Response& res) -> Task<void> {
    ++passed;
    res.send("next");
    co_return;
  });
  auto run = [&](std::string method, std::string target) {
    Request req;
    req.method = std::move(method);
    req.target = std::move(target);
    RecordingSink sink;
    Response res;
    res.bind(&sink);
    bool done = false;
    Spawned run(h(req, res), [&done](std::exception_ptr e) { done = !e; });
    EXPECT_TRUE(done);  // a direct answer never suspends
    return sink;
  };
  RecordingSink got = run("GET", "/a?q=1");
  EXPECT_EQ(got.status, 200);
  EXPECT_EQ(got.content_type, "text/plain");
  EXPECT_EQ(got.body, "Hello");
  EXPECT_TRUE(got.ended);
  EXPECT_EQ(passed, 0);

  got = run("POST", "/a");
  EXPECT_EQ(got.status, 405);
  EXPECT_EQ(got.allow, "GET, HEAD");
  EXPECT_EQ(passed, 0);

  got = run("GET", "/b");
  EXPECT_EQ(got.body, "next");
  EXPECT_EQ(passed, 1);
}

}  // namespace
}  // namespace trident::http
