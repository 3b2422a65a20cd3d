// A file's bytes over the HTTP API on one real node (docs/api.md):
// PUT /api/v1/files/{name} with the raw body, GET and HEAD of the same path,
// checked against the bytes, the SHA-256 and the command line.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "apps/files/blob_store.h"
#include "harness.h"
#include "http_client.h"

namespace minga::testing {
namespace {

using namespace std::chrono_literals;
using files::sha256_hex;

constexpr std::size_t kMaxSize = 3u << 20;  // files.max_size of the node below

// Every byte value, many times, in an order that is not a plain cycle.
std::string every_byte(std::size_t n) {
  std::string s(n, '\0');
  std::uint32_t x = 12345;
  for (std::size_t i = 0; i < n; ++i) {
    x = x * 1103515245u + 12345u;
    s[i] = static_cast<char>(i < 256 ? i : (x >> 16) & 0xff);
  }
  return s;
}

std::string put_answer(const std::string& name, const std::string& content) {
  // The put's answer, FilesPutResponse in the JSON mapping, starts so.
  return "{\"file\":{\"name\":\"" + name + "\",\"size\":\"" + std::to_string(content.size()) + "\",\"sha256\":\"" +
         sha256_hex(content) + "\",\"created_ms\":\"";
}

class ApiFilesTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    node_ =
        new NodeProcess(NodeProcess::start({"--id", "apif1"}, {{"MINGA_FILES_MAX_SIZE", std::to_string(kMaxSize)}}));
  }
  static void TearDownTestSuite() {
    delete node_;
    node_ = nullptr;
  }
  static std::uint16_t port() { return node_->monitor_port(); }
  static NodeProcess* node_;
};
NodeProcess* ApiFilesTest::node_ = nullptr;

TEST_F(ApiFilesTest, PutThenGetRoundTripsEveryByteValueInSeveralPieces) {
  const std::string content = every_byte((5u << 20) / 2 + 7);  // three pieces of 1 MiB at most
  auto a = http_call(port(), "PUT", "/api/v1/files/bin%2Fevery-byte.bin", content);
  ASSERT_EQ(a.status, 200) << a.body;
  EXPECT_EQ(a.headers["content-type"], "application/json");
  EXPECT_EQ(a.body.rfind(put_answer("bin/every-byte.bin", content), 0), 0u) << a.body;
  EXPECT_NE(a.body.find("\"replicas\":[\"apif1\"]"), std::string::npos) << a.body;

  auto g = http_call(port(), "GET", "/api/v1/files/bin%2Fevery-byte.bin");
  ASSERT_EQ(g.status, 200);
  EXPECT_EQ(g.headers["content-type"], "application/octet-stream");
  EXPECT_EQ(g.headers["content-length"], std::to_string(content.size()));
  EXPECT_EQ(g.headers["etag"], "\"" + sha256_hex(content) + "\"");
  EXPECT_EQ(g.headers["x-checksum-sha256"], sha256_hex(content));
  EXPECT_EQ(g.headers["content-disposition"], "attachment; filename*=UTF-8''every-byte.bin");
  EXPECT_TRUE(g.body == content) << "got " << g.body.size() << " bytes, sha256 " << sha256_hex(g.body);
  // The ETag again: not modified, no bytes; another one: the bytes.
  auto same = http_call(port(), "GET", "/api/v1/files/bin%2Fevery-byte.bin", "",
                        {"If-None-Match: \"" + sha256_hex(content) + "\""});
  EXPECT_EQ(same.status, 304);
  EXPECT_EQ(same.headers["etag"], "\"" + sha256_hex(content) + "\"");
  EXPECT_EQ(same.body, "");
  auto other = http_call(port(), "GET", "/api/v1/files/bin%2Fevery-byte.bin", "", {"If-None-Match: \"abc\""});
  EXPECT_EQ(other.status, 200);
  EXPECT_TRUE(other.body == content);

  // The command line reads what HTTP wrote, and HTTP what the command line wrote.
  auto get = run_minga({"--server", node_->address(), "get", "bin/every-byte.bin"});
  ASSERT_EQ(get.exit_code, 0) << get.err;
  EXPECT_TRUE(get.out == content);
  const std::string cli_content = every_byte(70000);
  auto put = run_minga({"--server", node_->address(), "put", "-", "--name", "bin/from-cli"}, {}, cli_content);
  ASSERT_EQ(put.exit_code, 0) << put.err;
  g = http_call(port(), "GET", "/api/v1/files/bin%2Ffrom-cli");
  ASSERT_EQ(g.status, 200) << g.body;
  EXPECT_TRUE(g.body == cli_content);
}

TEST_F(ApiFilesTest, HeadGivesTheHeadersWithoutTheBytes) {
  const std::string content = "just the headers\n";
  ASSERT_EQ(http_call(port(), "PUT", "/api/v1/files/head.txt", content).status, 200);
  RawConnection c(port());
  ASSERT_TRUE(c.send("HEAD /api/v1/files/head.txt HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"));
  const std::string raw = c.read(1 << 16, 5s);
  EXPECT_EQ(raw.rfind("HTTP/1.1 200 OK\r\n", 0), 0u) << raw;
  EXPECT_NE(raw.find("Content-Length: " + std::to_string(content.size()) + "\r\n"), std::string::npos) << raw;
  EXPECT_NE(raw.find("X-Checksum-Sha256: " + sha256_hex(content) + "\r\n"), std::string::npos) << raw;
  EXPECT_EQ(raw.substr(raw.find("\r\n\r\n") + 4), "");
}

TEST_F(ApiFilesTest, AnEmptyFile) {
  auto a = http_call(port(), "PUT", "/api/v1/files/empty", "");
  ASSERT_EQ(a.status, 200) << a.body;
  EXPECT_EQ(a.body.rfind(put_answer("empty", ""), 0), 0u) << a.body;
  auto g = http_call(port(), "GET", "/api/v1/files/empty");
  EXPECT_EQ(g.status, 200);
  EXPECT_EQ(g.headers["content-length"], "0");
  EXPECT_EQ(g.headers["x-checksum-sha256"], sha256_hex(""));
  EXPECT_EQ(g.body, "");
}

TEST_F(ApiFilesTest, ANonAsciiNameIsPercentEncodedInThePath) {
  const std::string name = "señal/日本語 ü.txt";
  const std::string path = "/api/v1/files/se%C3%B1al%2F%E6%97%A5%E6%9C%AC%E8%AA%9E%20%C3%BC.txt";
  const std::string content = "ñandú\n";
  auto a = http_call(port(), "PUT", path, content);
  ASSERT_EQ(a.status, 200) << a.body;
  EXPECT_EQ(a.body.rfind(put_answer(name, content), 0), 0u) << a.body;
  auto g = http_call(port(), "GET", path);
  EXPECT_EQ(g.status, 200);
  EXPECT_EQ(g.body, content);
  EXPECT_EQ(g.headers["content-disposition"], "attachment; filename*=UTF-8''%E6%97%A5%E6%9C%AC%E8%AA%9E%20%C3%BC.txt");
  auto ls = run_minga({"--server", node_->address(), "ls", "señal/"});
  EXPECT_EQ(ls.out, name + "\n");
  auto get = run_minga({"--server", node_->address(), "get", name});
  EXPECT_EQ(get.out, content);
}

TEST_F(ApiFilesTest, BadNamesAre400BeforeTheBodyIsRead) {
  struct Case {
    std::string path, message;
  };
  const std::vector<Case> cases = {
      {"..%2Fx", "bad file name: '..' segment"},
      {"%2E%2E%2Fx", "bad file name: '..' segment"},
      {"a%00b", "bad file name: NUL at byte 1"},
      {"%2Fx", "bad file name: it starts with '/'"},
      {"x%2F", "bad file name: empty segment (\\\"//\\\" or a trailing '/')"},
      {"a%FFb", "bad file name: invalid UTF-8 at byte 1"},
  };
  for (const auto& c : cases) {
    const std::string error = "{\"error\":{\"code\":\"INVALID_ARGUMENT\",\"message\":\"" + c.message + "\"}}\n";
    auto a = http_call(port(), "PUT", "/api/v1/files/" + c.path, "content");
    EXPECT_EQ(a.status, 400) << c.path << ": " << a.body;
    EXPECT_EQ(a.body, error) << c.path;
    a = http_call(port(), "GET", "/api/v1/files/" + c.path);
    EXPECT_EQ(a.status, 400) << c.path << ": " << a.body;
    EXPECT_EQ(a.body, error) << c.path;
  }
  // Unencoded, `..` is a path segment of its own: no such route.
  auto a = http_call(port(), "PUT", "/api/v1/files/../x", "content");
  EXPECT_EQ(a.status, 404) << a.body;
  // Nothing was stored under any of them.
  auto ls = run_minga({"--server", node_->address(), "ls"});
  EXPECT_EQ(ls.out.find("x\n"), std::string::npos) << ls.out;

  // The answer comes before the body: a client that waits for
  // `100 Continue` gets the 400 instead and never sends its 2 GB.
  RawConnection c(port());
  ASSERT_TRUE(c.send(
      "PUT /api/v1/files/%2E%2E HTTP/1.1\r\nHost: x\r\nContent-Length: 2000000000\r\nExpect: 100-continue\r\n\r\n"));
  const std::string raw = c.read(1 << 16, 5s);
  EXPECT_EQ(raw.rfind("HTTP/1.1 400 Bad Request\r\n", 0), 0u) << raw;
  EXPECT_NE(raw.find("bad file name: '..' segment"), std::string::npos) << raw;
}

TEST_F(ApiFilesTest, UnknownFileIs404) {
  auto a = http_call(port(), "GET", "/api/v1/files/no-such-file");
  EXPECT_EQ(a.status, 404);
  EXPECT_EQ(a.body, "{\"error\":{\"code\":\"NOT_FOUND\",\"message\":\"no file no-such-file\"}}\n");
}

TEST_F(ApiFilesTest, ABodyAboveTheMaxSizeIs413AndStoresNothing) {
  // Exactly the largest size is a file.
  const std::string largest = every_byte(kMaxSize);
  auto a = http_call(port(), "PUT", "/api/v1/files/largest", largest);
  ASSERT_EQ(a.status, 200) << a.body;
  auto g = http_call(port(), "GET", "/api/v1/files/largest");
  EXPECT_TRUE(g.body == largest);

  // One byte more, declared by Content-Length: refused before it is read.
  a = http_call(port(), "PUT", "/api/v1/files/too-big", largest + "x");
  EXPECT_EQ(a.status, 413) << a.body;
  EXPECT_EQ(a.body, "{\"error\":{\"code\":\"PAYLOAD_TOO_LARGE\",\"message\":\"a file of " +
                        std::to_string(kMaxSize + 1) + " bytes is above files.max_size (" + std::to_string(kMaxSize) +
                        ")\"}}\n");

  // Chunked, with no length: refused once the bytes pass the limit.
  RawConnection c(port());
  ASSERT_TRUE(c.send(
      "PUT /api/v1/files/too-big HTTP/1.1\r\nHost: x\r\nConnection: close\r\nTransfer-Encoding: chunked\r\n\r\n"));
  const std::string piece(256 * 1024, 'z');
  char size_line[32];
  std::snprintf(size_line, sizeof size_line, "%zx\r\n", piece.size());
  for (std::size_t sent = 0; sent <= kMaxSize; sent += piece.size()) {
    if (!c.send(size_line + piece + "\r\n")) break;  // the node may close once it has answered
  }
  c.send("0\r\n\r\n");
  const std::string raw = c.read(1 << 16, 10s);
  EXPECT_EQ(raw.rfind("HTTP/1.1 413 Payload Too Large\r\n", 0), 0u) << raw;
  EXPECT_NE(raw.find("\"message\":\"the file is above files.max_size (" + std::to_string(kMaxSize) + " bytes)\""),
            std::string::npos)
      << raw;

  a = http_call(port(), "GET", "/api/v1/files/too-big");
  EXPECT_EQ(a.status, 404) << a.body;
  EXPECT_EQ(http_call(port(), "GET", "/api/v1/ping?payload=still").status, 200);
}

TEST_F(ApiFilesTest, OtherMethodsAre405WithAllow) {
  for (const std::string method : {"POST", "PATCH"}) {
    auto a = http_call(port(), method, "/api/v1/files/x", "{}");
    EXPECT_EQ(a.status, 405) << method << ": " << a.body;
    EXPECT_EQ(a.headers["allow"], "DELETE, PUT, GET, HEAD") << method;
    EXPECT_EQ(a.body, "{\"error\":{\"code\":\"METHOD_NOT_ALLOWED\",\"message\":\"" + method +
                          " is not allowed on /api/v1/files/x\"}}\n");
  }
}

TEST_F(ApiFilesTest, TheStatRouteKeepsItsPathAFileNamedStatIsEncoded) {
  ASSERT_EQ(http_call(port(), "PUT", "/api/v1/files/%73tat", "named stat").status, 200);
  auto a = http_call(port(), "GET", "/api/v1/files/stat?name=stat");
  EXPECT_EQ(a.status, 200);
  EXPECT_EQ(a.body.rfind("{\"file\":{\"name\":\"stat\",\"size\":\"10\"", 0), 0u) << a.body;
  a = http_call(port(), "GET", "/api/v1/files/%73tat");
  EXPECT_EQ(a.body, "named stat");
}

class ApiFilesTokenTest : public ::testing::Test {
 protected:
  TempDir dir_;
};

TEST_F(ApiFilesTokenTest, APutNeedsTheBearerTokenAGetDoesNot) {
  const auto token_file = dir_.path() / "token";
  std::ofstream(token_file) << "files-token-0123456789\n";
  auto node = NodeProcess::start({"--id", "apif2", "--api-token-file", token_file.string()});
  const auto port = node.monitor_port();

  auto a = http_call(port, "PUT", "/api/v1/files/guarded", "secret bytes");
  EXPECT_EQ(a.status, 401);
  EXPECT_EQ(a.headers["www-authenticate"], "Bearer");
  EXPECT_EQ(a.body,
            "{\"error\":{\"code\":\"UNAUTHENTICATED\",\"message\":\"this write needs the header "
            "Authorization: Bearer <token>\"}}\n");
  a = http_call(port, "PUT", "/api/v1/files/guarded", "secret bytes", {"Authorization: Bearer files-token-012345678"});
  EXPECT_EQ(a.status, 401);
  EXPECT_EQ(a.body, "{\"error\":{\"code\":\"UNAUTHENTICATED\",\"message\":\"the API token does not match\"}}\n");
  EXPECT_EQ(http_call(port, "GET", "/api/v1/files/guarded").status, 404);

  a = http_call(port, "PUT", "/api/v1/files/guarded", "secret bytes", {"Authorization: Bearer files-token-0123456789"});
  ASSERT_EQ(a.status, 200) << a.body;
  EXPECT_EQ(a.body.rfind(put_answer("guarded", "secret bytes"), 0), 0u) << a.body;
  a = http_call(port, "GET", "/api/v1/files/guarded");
  EXPECT_EQ(a.status, 200);
  EXPECT_EQ(a.body, "secret bytes");
}

}  // namespace
}  // namespace minga::testing
