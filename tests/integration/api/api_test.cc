// The HTTP/JSON API on one real node: every route answers with the protobuf
// message's standard JSON mapping, and every bad request gets its JSON error
// and HTTP status (docs/api.md).
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <regex>

#include "harness.h"
#include "http_client.h"

namespace minga::testing {
namespace {

using namespace std::chrono_literals;

class ApiTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    node_ = new NodeProcess(NodeProcess::start({"--id", "api1"}));
    ASSERT_TRUE(node_->wait_leading()) << "the single node did not become leader within 10 s";
  }
  static void TearDownTestSuite() {
    delete node_;
    node_ = nullptr;
  }
  static std::uint16_t port() { return node_->monitor_port(); }
  static NodeProcess* node_;
};
NodeProcess* ApiTest::node_ = nullptr;

TEST_F(ApiTest, PingEchoesThePayloadFromTheQuery) {
  auto a = http_call(port(), "GET", "/api/v1/ping?payload=hola%20mundo");
  EXPECT_EQ(a.status, 200);
  EXPECT_EQ(a.headers["content-type"], "application/json");
  EXPECT_EQ(a.body, "{\"payload\":\"hola mundo\"}\n");
}

TEST_F(ApiTest, HeadAnswersLikeGetWithoutABody) {
  auto a = http_call(port(), "HEAD", "/api/v1/ping?payload=x");
  EXPECT_EQ(a.status, 200);
  EXPECT_EQ(a.body, "");
}

TEST_F(ApiTest, StatusIsTheNodesStatusResponse) {
  auto a = http_call(port(), "GET", "/api/v1/status");
  EXPECT_EQ(a.status, 200);
  EXPECT_NE(a.body.find("\"id\":\"api1\""), std::string::npos) << a.body;
  EXPECT_NE(a.body.find("\"role\":\"both\""), std::string::npos) << a.body;
  EXPECT_NE(a.body.find("\"tasks\":{\"queued\":\"0\""), std::string::npos) << a.body;
}

TEST_F(ApiTest, TasksRunTextAndCalcKinds) {
  // bytes fields are base64 in the JSON mapping: "aG9sYQ==" is "hola".
  auto a = http_call(port(), "POST", "/api/v1/tasks", R"({"kind":"uppercase","text":"aG9sYQ=="})");
  EXPECT_EQ(a.status, 200);
  EXPECT_EQ(a.body, "{\"worker\":\"api1\",\"text\":\"HOLA\"}\n");
  a = http_call(port(), "POST", "/api/v1/tasks", R"({"kind":"add","a":10,"b":5})");
  EXPECT_EQ(a.status, 200);
  EXPECT_EQ(a.body, "{\"worker\":\"api1\",\"number\":15}\n");
  a = http_call(port(), "POST", "/api/v1/tasks", R"({"kind":"div","a":1,"b":0})");
  EXPECT_EQ(a.status, 400);
  EXPECT_EQ(a.body.rfind("{\"error\":{\"code\":\"DIVISION_BY_ZERO\",\"message\":", 0), 0u) << a.body;
  a = http_call(port(), "POST", "/api/v1/tasks", R"({"kind":"nosuch"})");
  EXPECT_EQ(a.status, 400);
  EXPECT_EQ(a.body.rfind("{\"error\":{\"code\":\"INVALID_ARGUMENT\",\"message\":", 0), 0u) << a.body;
}

TEST_F(ApiTest, SumOfSquaresIsExact) {
  auto a = http_call(port(), "POST", "/api/v1/sumsq", R"({"n":"10"})");
  EXPECT_EQ(a.status, 200);
  EXPECT_EQ(a.body,
            "{\"result\":\"385\",\"parts\":[{\"a\":\"1\",\"b\":\"10\",\"result\":\"385\",\"worker\":\"api1\","
            "\"reassigned_from\":[]}]}\n");
  a = http_call(port(), "POST", "/api/v1/sumsq", R"({"n":"1000000"})");
  EXPECT_EQ(a.status, 200);
  EXPECT_EQ(a.body.rfind("{\"result\":\"333333833333500000\",\"parts\":[", 0), 0u) << a.body;
}

TEST_F(ApiTest, WorkersListsTheNodeItself) {
  auto a = http_call(port(), "GET", "/api/v1/workers");
  EXPECT_EQ(a.status, 200);
  EXPECT_NE(a.body.find("\"workers\":["), std::string::npos) << a.body;
  EXPECT_NE(a.body.find("\"id\":\"api1\""), std::string::npos) << a.body;
}

TEST_F(ApiTest, RecordsAddThenList) {
  auto a = http_call(port(), "POST", "/api/v1/records", R"({"text":"b25l"})");  // "one"
  ASSERT_EQ(a.status, 200) << a.body;
  EXPECT_EQ(a.body, "{\"index\":\"1\"}\n");
  a = http_call(port(), "POST", "/api/v1/records", R"({"text":"dHdv"})");  // "two"
  EXPECT_EQ(a.body, "{\"index\":\"2\"}\n");
  a = http_call(port(), "GET", "/api/v1/records");
  EXPECT_EQ(a.status, 200);
  EXPECT_EQ(a.body,
            "{\"records\":[{\"index\":\"1\",\"text\":\"one\"},{\"index\":\"2\",\"text\":\"two\"}],\"more\":false}\n");
  a = http_call(port(), "GET", "/api/v1/records?after=1&stale=true");
  EXPECT_EQ(a.body, "{\"records\":[{\"index\":\"2\",\"text\":\"two\"}],\"more\":false}\n");
  a = http_call(port(), "GET", "/api/v1/records?stale=maybe");
  EXPECT_EQ(a.status, 400);
  EXPECT_EQ(a.body,
            "{\"error\":{\"code\":\"INVALID_ARGUMENT\",\"message\":\"parameter 'stale': expected true or false, got "
            "'maybe'\"}}\n");
  a = http_call(port(), "GET", "/api/v1/records?colour=red");
  EXPECT_EQ(a.status, 400);
  EXPECT_EQ(a.body, "{\"error\":{\"code\":\"INVALID_ARGUMENT\",\"message\":\"unknown parameter 'colour'\"}}\n");
}

TEST_F(ApiTest, DeleteRemovesAFileByItsPercentEncodedName) {
  auto put = run_minga({"--server", node_->address(), "put", "-", "--name", "web/del me.txt"}, {}, "bye");
  ASSERT_EQ(put.exit_code, 0) << put.err;
  auto a = http_call(port(), "GET", "/api/v1/files/stat?name=web%2Fdel%20me.txt");
  ASSERT_EQ(a.status, 200) << a.body;
  // The name's '/' travels as %2F, its space as %20.
  a = http_call(port(), "DELETE", "/api/v1/files/web%2Fdel%20me.txt");
  EXPECT_EQ(a.status, 200) << a.body;
  EXPECT_EQ(a.body.rfind("{\"index\":\"", 0), 0u) << a.body;
  a = http_call(port(), "GET", "/api/v1/files/stat?name=web%2Fdel%20me.txt");
  EXPECT_EQ(a.status, 404) << a.body;
  EXPECT_EQ(a.body, "{\"error\":{\"code\":\"NOT_FOUND\",\"message\":\"no file web/del me.txt\"}}\n");
  auto get = run_minga({"--server", node_->address(), "get", "web/del me.txt"});
  EXPECT_NE(get.exit_code, 0) << get.out;
  EXPECT_NE(get.err.find("no file web/del me.txt"), std::string::npos) << get.err;
  // Gone already.
  a = http_call(port(), "DELETE", "/api/v1/files/web%2Fdel%20me.txt");
  EXPECT_EQ(a.status, 404);
  EXPECT_EQ(a.body, "{\"error\":{\"code\":\"NOT_FOUND\",\"message\":\"no file web/del me.txt\"}}\n");
}

TEST_F(ApiTest, DeleteRefusesBadNamesAsTheCliDoes) {
  struct Case {
    std::string path, message;
  };
  const std::vector<Case> cases = {
      {"%2E%2E", "bad file name: '..' segment"},
      {"a%2F%2Fb", "bad file name: empty segment (\\\"//\\\" or a trailing '/')"},
      {"%2Fabs", "bad file name: it starts with '/'"},
      {"a%00b", "bad file name: NUL at byte 1"},
      {"a%FFb", "bad file name: invalid UTF-8 at byte 1"},
  };
  for (const auto& c : cases) {
    auto a = http_call(port(), "DELETE", "/api/v1/files/" + c.path);
    EXPECT_EQ(a.status, 400) << c.path << ": " << a.body;
    EXPECT_EQ(a.body, "{\"error\":{\"code\":\"INVALID_ARGUMENT\",\"message\":\"" + c.message + "\"}}\n") << c.path;
  }
  // The CLI says the same of the same name.
  auto rm = run_minga({"--server", node_->address(), "rm", ".."});
  EXPECT_NE(rm.exit_code, 0);
  EXPECT_NE(rm.err.find("bad file name: '..' segment"), std::string::npos) << rm.err;
}

TEST_F(ApiTest, LotteryStatusAndWinnersBeforeTheDraw) {
  auto a = http_call(port(), "GET", "/api/v1/lottery");
  EXPECT_EQ(a.status, 200);
  EXPECT_NE(a.body.find("\"draw_done\":false"), std::string::npos) << a.body;
  EXPECT_NE(a.body.find("\"round\":1"), std::string::npos) << a.body;
  a = http_call(port(), "GET", "/api/v1/lottery/agencies/1/winners");
  EXPECT_EQ(a.status, 200);
  EXPECT_NE(a.body.find("\"outcome\":\"NOT_YET\""), std::string::npos) << a.body;
  // One bet for agency 2 (bytes fields in base64: "Ana", "Paz", "30904465", "1999-03-17").
  a = http_call(port(), "POST", "/api/v1/lottery/agencies/2/bets",
                R"({"sequence":"1","bets":[{"first_name":"QW5h","last_name":"UGF6","document":"MzA5MDQ0NjU=",)"
                R"("birth_date":"MTk5OS0wMy0xNw==","number":7574}]})");
  EXPECT_EQ(a.status, 200);
  EXPECT_EQ(a.body.rfind("{\"outcome\":\"OK\",\"reason\":\"\",\"bad_index\":-1,\"stored\":1,", 0), 0u) << a.body;
  a = http_call(port(), "GET", "/api/v1/lottery");
  EXPECT_NE(a.body.find("\"agencies\":[{\"agency\":2,\"bets\":\"1\",\"batches\":\"1\",\"finished\":false"),
            std::string::npos)
      << a.body;
  // Agency 2 says it sent everything.
  a = http_call(port(), "POST", "/api/v1/lottery/agencies/2/finished");
  EXPECT_EQ(a.status, 200);
  EXPECT_EQ(a.body.rfind("{\"outcome\":\"OK\",", 0), 0u) << a.body;
  a = http_call(port(), "GET", "/api/v1/lottery");
  EXPECT_NE(a.body.find("\"agencies\":[{\"agency\":2,\"bets\":\"1\",\"batches\":\"1\",\"finished\":true"),
            std::string::npos)
      << a.body;
  a = http_call(port(), "GET", "/api/v1/lottery/agencies/one/winners");
  EXPECT_EQ(a.status, 400);
  EXPECT_EQ(a.body,
            "{\"error\":{\"code\":\"INVALID_ARGUMENT\",\"message\":\"parameter 'agency': expected an unsigned 32-bit "
            "integer, got 'one'\"}}\n");
}

TEST_F(ApiTest, ClusterStatusNamesThisNodeLeader) {
  auto a = http_call(port(), "GET", "/api/v1/cluster");
  EXPECT_EQ(a.status, 200);
  EXPECT_EQ(a.body.rfind("{\"id\":\"api1\",\"role\":\"leader\",", 0), 0u) << a.body;
  EXPECT_NE(a.body.find("\"leader\":\"api1\""), std::string::npos) << a.body;
}

TEST_F(ApiTest, AMemberIsAddedAsALearnerAndRemoved) {
  // Nothing listens on port 1: the member stays a learner that never catches
  // up, so the single voter keeps committing.
  auto a = http_call(port(), "POST", "/api/v1/cluster/members", R"({"id":"n9","raft_address":"127.0.0.1:1"})");
  ASSERT_EQ(a.status, 200) << a.body;
  EXPECT_TRUE(std::regex_match(a.body, std::regex("\\{\"index\":\"\\d+\"\\}\n"))) << a.body;
  EXPECT_TRUE(eventually(
      [&] {
        return http_call(port(), "GET", "/api/v1/cluster")
                   .body.find(
                       "{\"id\":\"n9\",\"raft_address\":\"127.0.0.1:1\",\"client_address\":\"\","
                       "\"monitor_address\":\"\",\"role\":\"learner\",\"voter\":false,") != std::string::npos;
      },
      5s))
      << http_call(port(), "GET", "/api/v1/cluster").body;
  struct Case {
    std::string body, answer;
  };
  const std::vector<Case> bad = {
      {R"({"id":"n9","raft_address":"127.0.0.1:2"})", "'n9' is already a member"},
      {R"({"id":"n8","raft_address":"nohost"})", "the Raft address of 'n8': address must be HOST:PORT, got 'nohost'"},
      {R"({})", "a member id is 1 to 64 letters, digits, '-', '_' or '.', got ''"},
      {R"({"id":"n8","address":"127.0.0.1:2"})",
       "the body is not a JSON ClusterChangeRequest: address: Cannot find field."},
  };
  for (const auto& c : bad) {
    a = http_call(port(), "POST", "/api/v1/cluster/members", c.body);
    EXPECT_EQ(a.status, 400) << c.body;
    EXPECT_EQ(a.body, "{\"error\":{\"code\":\"INVALID_ARGUMENT\",\"message\":\"" + c.answer + "\"}}\n") << c.body;
  }
  a = http_call(port(), "DELETE", "/api/v1/cluster/members/n9");
  ASSERT_EQ(a.status, 200) << a.body;
  EXPECT_TRUE(eventually(
      [&] {
        return http_call(port(), "GET", "/api/v1/cluster").body.find("\"role\":\"learner\"") == std::string::npos;
      },
      5s));
  // Still the only voter, still committing.
  a = http_call(port(), "POST", "/api/v1/records", R"({"text":"c3RpbGw="})");  // "still"
  EXPECT_EQ(a.status, 200) << a.body;
}

TEST_F(ApiTest, RemovingAnUnknownMemberIsAnError) {
  auto a = http_call(port(), "DELETE", "/api/v1/cluster/members/nosuch");
  EXPECT_EQ(a.status, 404);
  EXPECT_EQ(a.body, "{\"error\":{\"code\":\"NOT_FOUND\",\"message\":\"'nosuch' is not a member\"}}\n");
}

TEST_F(ApiTest, ASlowAnswerHoldsNoOtherRequest) {
  RawConnection slow(port());
  const std::string body = R"({"kind":"sleep","seconds":3})";
  ASSERT_TRUE(slow.send("POST /api/v1/tasks HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: " +
                        std::to_string(body.size()) + "\r\n\r\n" + body));
  // While the sleep task waits, other requests are answered.
  auto a = http_call(port(), "GET", "/api/v1/ping?payload=meanwhile");
  EXPECT_EQ(a.body, "{\"payload\":\"meanwhile\"}\n");
  EXPECT_EQ(slow.read(1, 0ms), "");
  const std::string answer = slow.read(1 << 16, 20s);
  EXPECT_EQ(answer.rfind("HTTP/1.1 200 OK\r\n", 0), 0u) << answer;
  EXPECT_NE(answer.find("\r\n\r\n{\"worker\":\"api1\",\"text\":\"slept 3 s\"}\n"), std::string::npos) << answer;
}

// A full queue is BUSY on the binary protocol and 429 with Retry-After here.
TEST(ApiBusy, AFullQueueIs429WithRetryAfter) {
  auto node = NodeProcess::start({"--id", "busy1", "--max-waiting-tasks", "1"});
  RawConnection slow(node.monitor_port());
  const std::string body = R"({"kind":"sleep","seconds":2})";
  ASSERT_TRUE(slow.send("POST /api/v1/tasks HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: " +
                        std::to_string(body.size()) + "\r\n\r\n" + body));
  // Once the first sleep waits, the next one finds no room.
  HttpAnswer a;
  ASSERT_TRUE(eventually(
      [&] {
        a = http_call(node.monitor_port(), "POST", "/api/v1/tasks", R"({"kind":"sleep","seconds":0.1})");
        return a.status != 200;
      },
      5s));
  EXPECT_EQ(a.status, 429);
  EXPECT_EQ(a.headers["retry-after"], "1");
  EXPECT_EQ(a.body.rfind("{\"error\":{\"code\":\"BUSY\",\"message\":", 0), 0u) << a.body;
  // The first one is answered in full.
  const std::string answer = slow.read(1 << 16, 20s);
  EXPECT_NE(answer.find("\r\n\r\n{\"worker\":\"busy1\",\"text\":\"slept 2 s\"}\n"), std::string::npos) << answer;
}

TEST_F(ApiTest, AClientThatLeavesBeforeTheAnswerHarmsNothing) {
  {
    RawConnection gone(port());
    const std::string body = R"({"kind":"sleep","seconds":0.3})";
    ASSERT_TRUE(gone.send("POST /api/v1/tasks HTTP/1.1\r\nHost: x\r\nContent-Length: " + std::to_string(body.size()) +
                          "\r\n\r\n" + body));
  }  // closed at once
  // The task finishes; the node keeps serving.
  EXPECT_TRUE(eventually(
      [&] {
        auto s = http_call(port(), "GET", "/api/v1/status");
        return s.status == 200 && s.body.find("\"running\":\"0\"") != std::string::npos &&
               s.body.find("\"waiting\":\"0\"") != std::string::npos;
      },
      10s));
  EXPECT_EQ(http_call(port(), "GET", "/api/v1/ping?payload=still").body, "{\"payload\":\"still\"}\n");
}

TEST_F(ApiTest, BadJsonIs400) {
  auto a = http_call(port(), "POST", "/api/v1/tasks", R"({"kind":)");
  EXPECT_EQ(a.status, 400);
  EXPECT_EQ(a.body.rfind("{\"error\":{\"code\":\"INVALID_ARGUMENT\",\"message\":\"the body is not a JSON "
                         "TaskRequest: ",
                         0),
            0u)
      << a.body;
  a = http_call(port(), "POST", "/api/v1/tasks", R"({"kind":"add","colour":1})");
  EXPECT_EQ(a.status, 400);
  EXPECT_NE(a.body.find("colour"), std::string::npos) << a.body;
}

TEST_F(ApiTest, OversizedBodyIs413) {
  const std::string big(1024 * 1024 + 1, ' ');
  auto a = http_call(port(), "POST", "/api/v1/tasks", big);
  EXPECT_EQ(a.status, 413);
  EXPECT_EQ(a.body,
            "{\"error\":{\"code\":\"PAYLOAD_TOO_LARGE\",\"message\":\"the request body is larger than 1048576 "
            "bytes\"}}\n");
  // The node still serves.
  EXPECT_EQ(http_call(port(), "GET", "/api/v1/ping?payload=x").status, 200);
}

TEST_F(ApiTest, UnknownRouteIs404) {
  auto a = http_call(port(), "GET", "/api/v1/nope");
  EXPECT_EQ(a.status, 404);
  EXPECT_EQ(a.body, "{\"error\":{\"code\":\"NOT_FOUND\",\"message\":\"no API route /api/v1/nope\"}}\n");
}

TEST_F(ApiTest, WrongMethodIs405WithAllow) {
  auto a = http_call(port(), "DELETE", "/api/v1/records");
  EXPECT_EQ(a.status, 405);
  EXPECT_EQ(a.headers["allow"], "POST, GET, HEAD");
  EXPECT_EQ(a.body,
            "{\"error\":{\"code\":\"METHOD_NOT_ALLOWED\",\"message\":\"DELETE is not allowed on "
            "/api/v1/records\"}}\n");
  // The monitor's own pages stay read-only.
  a = http_call(port(), "POST", "/status", "{}");
  EXPECT_EQ(a.status, 405);
  EXPECT_EQ(a.headers["allow"], "GET, HEAD");
}

TEST_F(ApiTest, NoCorsHeadersByDefault) {
  auto a = http_call(port(), "GET", "/api/v1/ping", "", {"Origin: http://example.com"});
  EXPECT_EQ(a.status, 200);
  EXPECT_EQ(a.headers.count("access-control-allow-origin"), 0u);
}

class ApiTokenTest : public ::testing::Test {
 protected:
  void SetUp() override {
    token_file_ = dir_.path() / "token";
    std::ofstream(token_file_) << "s3cret-token-0123456789\n";
  }
  TempDir dir_;
  std::filesystem::path token_file_;
};

TEST_F(ApiTokenTest, WritesNeedTheBearerTokenReadsDoNot) {
  auto node = NodeProcess::start({"--id", "tok1", "--api-token-file", token_file_.string()});
  const auto port = node.monitor_port();
  const std::string body = R"({"kind":"add","a":1,"b":2})";

  auto a = http_call(port, "POST", "/api/v1/tasks", body);
  EXPECT_EQ(a.status, 401);
  EXPECT_EQ(a.headers["www-authenticate"], "Bearer");
  EXPECT_EQ(a.body,
            "{\"error\":{\"code\":\"UNAUTHENTICATED\",\"message\":\"this write needs the header "
            "Authorization: Bearer <token>\"}}\n");

  a = http_call(port, "POST", "/api/v1/tasks", body, {"Authorization: Bearer s3cret-token-012345678"});
  EXPECT_EQ(a.status, 401);
  EXPECT_EQ(a.body, "{\"error\":{\"code\":\"UNAUTHENTICATED\",\"message\":\"the API token does not match\"}}\n");

  a = http_call(port, "POST", "/api/v1/tasks", body, {"Authorization: Bearer s3cret-token-0123456789"});
  EXPECT_EQ(a.status, 200);
  EXPECT_EQ(a.body, "{\"worker\":\"tok1\",\"number\":3}\n");

  a = http_call(port, "GET", "/api/v1/ping?payload=open");
  EXPECT_EQ(a.status, 200);
  EXPECT_EQ(a.body, "{\"payload\":\"open\"}\n");
}

TEST_F(ApiTokenTest, TheTokenFileMayComeFromTheEnvironment) {
  auto node = NodeProcess::start({"--id", "tok2"}, {{"MINGA_API_TOKEN_FILE", token_file_.string()}});
  EXPECT_EQ(http_call(node.monitor_port(), "POST", "/api/v1/records", R"({"text":"eA=="})").status, 401);
}

TEST_F(ApiTokenTest, TheTokenFileMayComeFromTheConfigurationFile) {
  const auto toml = dir_.path() / "minga.toml";
  std::ofstream(toml) << "[node]\napi_token_file = \"" << token_file_.string() << "\"\n";
  auto node = NodeProcess::start({"--id", "tok3", "--config", toml.string()});
  EXPECT_EQ(http_call(node.monitor_port(), "POST", "/api/v1/records", R"({"text":"eA=="})").status, 401);
  const auto a = http_call(node.monitor_port(), "POST", "/api/v1/records", R"({"text":"eA=="})",
                           {"Authorization: Bearer s3cret-token-0123456789"});
  EXPECT_EQ(a.status, 200);
  EXPECT_EQ(a.body, "{\"index\":\"1\"}\n");
}

TEST_F(ApiTokenTest, AShortTokenStopsTheNode) {
  std::ofstream(token_file_, std::ios::trunc) << "short\n";
  const auto r = run_minga({"node", "--host", "127.0.0.1", "--port", "0", "--monitor-port", "0", "--data-dir",
                            (dir_.path() / "data").string(), "--api-token-file", token_file_.string()},
                           {}, "", 20s);
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("the API token in " + token_file_.string() + " is shorter than 16 bytes"), std::string::npos)
      << r.err;
}

TEST_F(ApiTokenTest, AMissingTokenFileStopsTheNode) {
  const auto missing = (dir_.path() / "nosuch").string();
  const auto r = run_minga({"node", "--host", "127.0.0.1", "--port", "0", "--monitor-port", "0", "--data-dir",
                            (dir_.path() / "data").string(), "--api-token-file", missing},
                           {}, "", 20s);
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("cannot read the API token file " + missing), std::string::npos) << r.err;
}

}  // namespace
}  // namespace minga::testing
