// The dashboard's files and event stream on one real node
// (docs/dashboard.md): what a browser needs to load the page offline and
// safely, and the first events of /api/v1/events.
#include <gtest/gtest.h>

#include <algorithm>
#include <regex>

#include "harness.h"
#include "http_client.h"

namespace minga::testing {
namespace {

constexpr const char* kPolicy =
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
    "font-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

class DashboardTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    node_ = new NodeProcess(NodeProcess::start({"--id", "dash1"}));
    ASSERT_TRUE(node_->wait_leading()) << "the single node did not become leader within 10 s";
  }
  static void TearDownTestSuite() {
    delete node_;
    node_ = nullptr;
  }
  static std::uint16_t port() { return node_->monitor_port(); }
  static NodeProcess* node_;
};
NodeProcess* DashboardTest::node_ = nullptr;

TEST_F(DashboardTest, TheRootIsThePageWithItsScriptAndStyleFromThisOrigin) {
  auto a = http_call(port(), "GET", "/");
  ASSERT_EQ(a.status, 200);
  EXPECT_EQ(a.headers["content-type"], "text/html; charset=utf-8");
  EXPECT_NE(a.body.find("<script src=\"/app.js\" defer></script>"), std::string::npos) << a.body;
  EXPECT_NE(a.body.find("<link rel=\"stylesheet\" href=\"/app.css\">"), std::string::npos) << a.body;
  // No inline script and nothing from another origin.
  EXPECT_EQ(std::regex_search(a.body, std::regex("<script(?![^>]*\\bsrc=)")), false) << a.body;
  EXPECT_EQ(a.body.find("http://"), std::string::npos) << a.body;
  EXPECT_EQ(a.body.find("https://"), std::string::npos) << a.body;
  EXPECT_EQ(http_call(port(), "GET", "/index.html").body, a.body);
}

TEST_F(DashboardTest, EveryFileHasItsMimeTypeAndTheSecurityHeaders) {
  const std::vector<std::pair<std::string, std::string>> files = {
      {"/", "text/html; charset=utf-8"},
      {"/index.html", "text/html; charset=utf-8"},
      {"/app.js", "text/javascript; charset=utf-8"},
      {"/app.css", "text/css; charset=utf-8"},
  };
  for (const auto& [path, type] : files) {
    auto a = http_call(port(), "GET", path);
    ASSERT_EQ(a.status, 200) << path;
    EXPECT_EQ(a.headers["content-type"], type) << path;
    EXPECT_EQ(a.headers["content-security-policy"], kPolicy) << path;
    EXPECT_EQ(a.headers["x-content-type-options"], "nosniff") << path;
    EXPECT_EQ(a.headers["cache-control"], "no-cache") << path;
    EXPECT_TRUE(std::regex_match(a.headers["etag"], std::regex("\"[0-9a-f]{20}\"")))
        << path << ": " << a.headers["etag"];
    EXPECT_GT(a.body.size(), 100u) << path;
  }
  EXPECT_NE(http_call(port(), "GET", "/app.js").body.find("EventSource"), std::string::npos);
  EXPECT_NE(http_call(port(), "GET", "/app.css").body.find(".uplot"), std::string::npos);
  EXPECT_EQ(http_call(port(), "GET", "/no-such-file.js").status, 404);
}

TEST_F(DashboardTest, AnIfNoneMatchWithTheETagIsA304WithoutBody) {
  auto first = http_call(port(), "GET", "/app.js");
  ASSERT_EQ(first.status, 200);
  const std::string etag = first.headers["etag"];
  ASSERT_FALSE(etag.empty());
  EXPECT_EQ(http_call(port(), "GET", "/app.js").headers["etag"], etag);   // stable
  EXPECT_NE(http_call(port(), "GET", "/app.css").headers["etag"], etag);  // per file

  auto again = http_call(port(), "GET", "/app.js", "", {"If-None-Match: " + etag});
  EXPECT_EQ(again.status, 304);
  EXPECT_EQ(again.body, "");
  EXPECT_EQ(again.headers["etag"], etag);
  EXPECT_EQ(again.headers["content-security-policy"], kPolicy);
  // A weak validator and a list match too; another tag does not.
  EXPECT_EQ(http_call(port(), "GET", "/app.js", "", {"If-None-Match: W/" + etag}).status, 304);
  EXPECT_EQ(http_call(port(), "GET", "/app.js", "", {"If-None-Match: \"x\", " + etag}).status, 304);
  auto other = http_call(port(), "GET", "/app.js", "", {"If-None-Match: \"0000\""});
  EXPECT_EQ(other.status, 200);
  EXPECT_EQ(other.body, first.body);
  // The page's ETag is not the script's: a new build is fetched again.
  EXPECT_EQ(http_call(port(), "GET", "/", "", {"If-None-Match: " + etag}).status, 200);
}

TEST_F(DashboardTest, HeadAnswersTheHeadersWithoutTheBody) {
  auto a = http_call(port(), "HEAD", "/app.css");
  EXPECT_EQ(a.status, 200);
  EXPECT_EQ(a.headers["content-type"], "text/css; charset=utf-8");
  EXPECT_EQ(a.body, "");
}

TEST_F(DashboardTest, TheEventStreamStartsWithHelloThenTheClusterFromThisNode) {
  RawConnection sse(port());
  ASSERT_TRUE(sse.ok());
  ASSERT_TRUE(sse.send("GET /api/v1/events HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\n\r\n"));
  std::string got;
  // The head, then the first event at once.
  ASSERT_TRUE(eventually(
      [&] {
        got += sse.read(1, 50ms);
        return got.find("\n\n", got.find("\r\n\r\n") + 4) != std::string::npos &&
               got.find("\r\n\r\n") != std::string::npos;
      },
      5s))
      << got;
  const auto head_end = got.find("\r\n\r\n");
  const std::string head = got.substr(0, head_end);
  EXPECT_NE(head.find("HTTP/1.1 200 OK"), std::string::npos) << head;
  EXPECT_NE(head.find("Content-Type: text/event-stream"), std::string::npos) << head;
  const std::string first = got.substr(head_end + 4, got.find("\n\n", head_end + 4) - head_end - 4);
  EXPECT_EQ(first.rfind("data: {\"type\":\"hello\",\"node\":\"dash1\",", 0), 0u) << first;
  EXPECT_NE(first.find("\"interval_ms\":500"), std::string::npos) << first;

  // Within a few rounds: the cluster as this node gathered it, a one-node
  // cluster that it leads. The last cluster event counts: the first ones may
  // come before the node has elected itself.
  const std::regex event("data: (\\{\"type\":\"cluster\"[^\\n]*)\\n");
  std::string cluster;
  ASSERT_TRUE(eventually(
      [&] {
        got += sse.read(4096, 50ms);
        for (auto it = std::sregex_iterator(got.begin(), got.end(), event); it != std::sregex_iterator(); ++it) {
          cluster = (*it)[1];
        }
        return cluster.find("\"leader\":\"dash1\"") != std::string::npos;
      },
      10s))
      << got;
  EXPECT_NE(cluster.find("\"serving\":\"dash1\""), std::string::npos) << cluster;
  EXPECT_NE(cluster.find("\"id\":\"dash1\""), std::string::npos) << cluster;
  EXPECT_NE(cluster.find("\"role\":\"leader\""), std::string::npos) << cluster;
  EXPECT_NE(cluster.find("\"health\":\"ok\""), std::string::npos) << cluster;
  // The ML job table from this node's own API: empty on a new node.
  ASSERT_TRUE(eventually(
      [&] {
        got += sse.read(4096, 50ms);
        return got.find("data: {\"type\":\"ml\",\"ml\":{\"jobs\":[]}}\n") != std::string::npos;
      },
      5s))
      << got;
}

TEST_F(DashboardTest, TheEventPathWithoutTheStreamHeaderIsNotAnApiRoute) {
  auto a = http_call(port(), "GET", "/api/v1/events");
  EXPECT_EQ(a.status, 404);
  EXPECT_EQ(a.body.rfind("{\"error\":{\"code\":\"NOT_FOUND\"", 0), 0u) << a.body;
}

TEST_F(DashboardTest, LogsAfterASequenceNumberGiveTheNewLinesAndTheLastNumber) {
  auto all = http_call(port(), "GET", "/logs?after=0");
  ASSERT_EQ(all.status, 200);
  const std::string last = all.headers["x-minga-log-last"];
  ASSERT_FALSE(last.empty());
  EXPECT_GT(std::stoull(last), 0u);
  EXPECT_NE(all.body.find("action: node_start | result: success"), std::string::npos) << all.body;
  // After `last`: only the lines logged since (none, or a few while the node
  // still logs its apps' recovery), as many as the numbers moved.
  auto after = http_call(port(), "GET", "/logs?after=" + last);
  EXPECT_EQ(after.status, 200);
  const std::uint64_t now = std::stoull(after.headers["x-minga-log-last"]);
  ASSERT_GE(now, std::stoull(last));
  EXPECT_EQ(static_cast<std::uint64_t>(std::count(after.body.begin(), after.body.end(), '\n')), now - std::stoull(last))
      << after.body;
  EXPECT_EQ(http_call(port(), "GET", "/logs?after=x").status, 400);
}

}  // namespace
}  // namespace minga::testing
