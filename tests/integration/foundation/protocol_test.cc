// The client port under bad input, pipelining and text mode.
#include <gtest/gtest.h>

#include <regex>
#include <set>
#include <thread>

#include "harness.h"
#include "proto/minga.pb.h"
#include "wire/frame.h"

namespace minga::testing {
namespace {

std::string frame(std::uint32_t type, std::uint64_t id, const google::protobuf::MessageLite& m) {
  std::string out;
  wire::encode(out, type, id, m.SerializeAsString());
  return out;
}

pb::TaskRequest upper(const std::string& text) {
  pb::TaskRequest r;
  r.set_kind("uppercase");
  r.set_text(text);
  return r;
}

// Reads one whole frame from the connection.
std::optional<std::pair<wire::FrameHeader, std::string>> read_frame(RawConnection& c) {
  std::string header = c.read(wire::kHeaderBytes, 5s);
  if (header.size() != wire::kHeaderBytes) return std::nullopt;
  auto d = wire::decode(header, 1 << 24);
  if (d.status == wire::Decoded::Status::error) return std::nullopt;
  std::string body = c.read(d.wanted == 0 ? 0 : d.wanted - wire::kHeaderBytes, 5s);
  return std::make_pair(d.header, body);
}

pb::ErrorResponse as_error(const std::pair<wire::FrameHeader, std::string>& f) {
  EXPECT_EQ(f.first.type, static_cast<std::uint32_t>(pb::ERROR));
  pb::ErrorResponse e;
  e.ParseFromString(f.second);
  return e;
}

class Protocol : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    node_ = new NodeProcess(NodeProcess::start({"--read-timeout", "1"}));
    ASSERT_TRUE(node_->wait_leading()) << "the single node did not become leader within 10 s";
  }
  static void TearDownTestSuite() {
    delete node_;
    node_ = nullptr;
  }
  // A well-behaved client keeps being served while others misbehave.
  static void expect_healthy() {
    auto r = run_minga({"--server", node_->address(), "text", "uppercase", "ok"});
    EXPECT_EQ(r.out, "OK\n") << r.err;
  }
  static NodeProcess* node_;
};
NodeProcess* Protocol::node_ = nullptr;

TEST_F(Protocol, PipelinedRequestsAllAnsweredWithTheirIds) {
  RawConnection c(node_->port());
  std::string batch;
  for (std::uint64_t id = 1; id <= 200; ++id) batch += frame(pb::TASK_REQUEST, id, upper("n" + std::to_string(id)));
  ASSERT_TRUE(c.send(batch));
  std::set<std::uint64_t> seen;
  for (int i = 0; i < 200; ++i) {
    auto f = read_frame(c);
    ASSERT_TRUE(f);
    ASSERT_EQ(f->first.type, static_cast<std::uint32_t>(pb::TASK_RESPONSE));
    pb::TaskResponse r;
    ASSERT_TRUE(r.ParseFromString(f->second));
    EXPECT_EQ(r.text(), "N" + std::to_string(f->first.request_id));
    seen.insert(f->first.request_id);
  }
  EXPECT_EQ(seen.size(), 200u);
}

TEST_F(Protocol, GarbageBytesGetAnErrorAndAClose) {
  RawConnection c(node_->port());
  ASSERT_TRUE(
      c.send(std::string("\xF9"
                         "Xgarbage garbage garbage",
                         25)));
  auto f = read_frame(c);
  ASSERT_TRUE(f);
  EXPECT_EQ(as_error(*f).code(), pb::BAD_FRAME);
  EXPECT_EQ(as_error(*f).message(), "bad magic");
  EXPECT_TRUE(c.closed_by_peer(2s));
  expect_healthy();
}

TEST_F(Protocol, OversizedLengthIsRefusedBeforeReadingTheBody) {
  RawConnection c(node_->port());
  char header[wire::kHeaderBytes];
  wire::encode_header(header, pb::TASK_REQUEST, 77, 0xFFFFFFF0u);
  ASSERT_TRUE(c.send(std::string(header, sizeof header)));
  auto f = read_frame(c);
  ASSERT_TRUE(f);
  EXPECT_EQ(f->first.request_id, 77u);
  const auto e = as_error(*f);
  EXPECT_EQ(e.code(), pb::FRAME_TOO_LARGE);
  EXPECT_EQ(e.message(), "frame too large: limit is 4194304 bytes");
  EXPECT_TRUE(c.closed_by_peer(2s));
  expect_healthy();
}

TEST_F(Protocol, TruncatedFrameThenSilenceIsDropped) {
  RawConnection c(node_->port());
  const std::string full = frame(pb::TASK_REQUEST, 5, upper("truncated"));
  ASSERT_TRUE(c.send(full.substr(0, full.size() - 3)));
  expect_healthy();
  EXPECT_TRUE(c.closed_by_peer(4s));  // read deadline is 1 s
}

TEST_F(Protocol, UnknownMessageTypeIsAnsweredAndTheConnectionLives) {
  RawConnection c(node_->port());
  std::string bytes;
  wire::encode(bytes, 9999, 3, "whatever");
  bytes += frame(pb::TASK_REQUEST, 4, upper("still here"));
  ASSERT_TRUE(c.send(bytes));
  auto f = read_frame(c);
  ASSERT_TRUE(f);
  EXPECT_EQ(f->first.request_id, 3u);
  const auto e = as_error(*f);
  EXPECT_EQ(e.code(), pb::UNKNOWN_TYPE);
  EXPECT_EQ(e.message(), "unknown message type 9999");
  auto g = read_frame(c);
  ASSERT_TRUE(g);
  EXPECT_EQ(g->first.request_id, 4u);
  EXPECT_EQ(g->first.type, static_cast<std::uint32_t>(pb::TASK_RESPONSE));
}

TEST_F(Protocol, UndecodableBodyIsABadFrameError) {
  RawConnection c(node_->port());
  std::string bytes;
  wire::encode(bytes, pb::TASK_REQUEST, 8, "\xff\xff\xff");
  ASSERT_TRUE(c.send(bytes));
  auto f = read_frame(c);
  ASSERT_TRUE(f);
  EXPECT_EQ(as_error(*f).code(), pb::BAD_FRAME);
  EXPECT_EQ(as_error(*f).message(), "cannot decode TaskRequest");
}

TEST_F(Protocol, SilentClientIsDroppedAfterTheReadDeadline) {
  RawConnection c(node_->port());
  const auto t0 = std::chrono::steady_clock::now();
  EXPECT_TRUE(c.closed_by_peer(5s));
  const auto waited = std::chrono::steady_clock::now() - t0;
  EXPECT_GE(waited, 900ms);
  EXPECT_TRUE(node_->process().wait_for_output("action: drop_client | result: success", 2s));
}

TEST_F(Protocol, TextModeForNetcat) {
  RawConnection c(node_->port());
  ASSERT_TRUE(
      c.send("PING\nECHO hola mundo\n{\"op\":\"add\",\"a\":10,\"b\":5}\n"
             "{\"task\":\"uppercase\",\"text\":\"hola\"}\n{\"op\":\"div\",\"a\":1,\"b\":0}\nNOPE\n"
             "{\"task\":\"sleep\",\"seconds\":0.2}\n{\"op\":\"mul\",\"a\":2,\"b\":3}\n"));
  EXPECT_EQ(c.read_line(3s), "PONG");
  EXPECT_EQ(c.read_line(3s), "hola mundo");
  EXPECT_EQ(c.read_line(3s), "{\"ok\":true,\"result\":15}");
  EXPECT_EQ(c.read_line(3s), "{\"ok\":true,\"result\":\"HOLA\"}");
  EXPECT_EQ(c.read_line(3s), "{\"ok\":false,\"error\":\"division by zero\"}");
  EXPECT_EQ(c.read_line(3s), "{\"ok\":false,\"error\":\"unknown command; try PING, ECHO <text> or a JSON command\"}");
  EXPECT_EQ(c.read_line(3s), "{\"ok\":true,\"result\":\"slept 0.2 s\"}");
  EXPECT_EQ(c.read_line(3s), "{\"ok\":true,\"result\":6}");  // in line order, after the sleep
}

// The node's count of open client connections, from /status.
int open_connections(const NodeProcess& node) {
  static const std::regex re(R"("open_connections":(\d+))");
  auto [code, body] = http_get(node.monitor_port(), "/status");
  std::smatch m;
  if (code != 200 || !std::regex_search(body, m, re)) return -1;
  return std::stoi(m[1]);
}

// Waits until the node counts `n` open connections; false after `timeout`.
bool open_connections_reach(const NodeProcess& node, int n, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (open_connections(node) == n) return true;
    std::this_thread::sleep_for(20ms);
  }
  return false;
}

TEST_F(Protocol, LineOverTheLimitIsAnsweredAfterEarlierLinesThenClosed) {
  const int baseline = open_connections(*node_);
  ASSERT_GE(baseline, 0);
  RawConnection c(node_->port());
  ASSERT_TRUE(c.send("{\"task\":\"sleep\",\"seconds\":0.3}\n" + std::string(70 * 1024, 'x')));
  EXPECT_EQ(c.read_line(3s), "{\"ok\":true,\"result\":\"slept 0.3 s\"}");  // not overtaken
  EXPECT_EQ(c.read_line(3s), "{\"ok\":false,\"error\":\"line too long\"}");
  EXPECT_TRUE(c.closed_by_peer(2s));
  EXPECT_TRUE(open_connections_reach(*node_, baseline, 3s)) << "open: " << open_connections(*node_);
}

// Cases with an upper bound on a wait: run alone (tests/CMakeLists.txt).
class ProtocolTiming : public Protocol {};

TEST_F(ProtocolTiming, SlowDripIsDroppedAtTheReadDeadlineOfItsFirstByte) {
  RawConnection c(node_->port());
  const std::string full = frame(pb::TASK_REQUEST, 6, upper("drip"));
  const auto t0 = std::chrono::steady_clock::now();
  bool closed = false;
  // One byte every 200 ms: never idle, but the frame never completes in time.
  for (std::size_t i = 0; i < full.size() - 1 && !closed; ++i) {
    if (!c.send(full.substr(i, 1))) break;
    closed = c.closed_by_peer(200ms);
  }
  const auto waited = std::chrono::steady_clock::now() - t0;
  EXPECT_TRUE(closed || c.closed_by_peer(1s));
  EXPECT_GE(waited, 900ms);  // read deadline is 1 s
  EXPECT_LT(waited, 3s);
  EXPECT_TRUE(node_->process().wait_for_output("reason: request not complete within the read deadline", 2s));
}

TEST_F(Protocol, TextModeJsonIsStrict) {
  RawConnection c(node_->port());
  ASSERT_TRUE(
      c.send("{\"op\":\"add\",\"a\":\"0x10\",\"b\":1}\n{\"op\":\"add\"}\n{\"op\":\"add\",\"a\":0}\n"
             "{\"task\":\"sleep\"}\n{\"task\":\"uppercase\"}\n{\"op\":\"add\",\"a\":0,\"b\":-2.5e1}\n"));
  EXPECT_EQ(c.read_line(3s), R"({"ok":false,"error":"invalid JSON command: field \"a\" must be a number"})");
  EXPECT_EQ(c.read_line(3s), R"({"ok":false,"error":"missing field \"a\""})");
  EXPECT_EQ(c.read_line(3s), R"({"ok":false,"error":"missing field \"b\""})");
  EXPECT_EQ(c.read_line(3s), R"({"ok":false,"error":"missing field \"seconds\""})");
  EXPECT_EQ(c.read_line(3s), R"({"ok":false,"error":"missing field \"text\""})");
  EXPECT_EQ(c.read_line(3s), R"({"ok":true,"result":-25})");
}

TEST_F(Protocol, ClientWithRequestsInFlightIsServedWhileOthersSendGarbage) {
  RawConnection busy(node_->port());
  pb::TaskRequest nap;
  nap.set_kind("sleep");
  nap.set_seconds(0.5);
  std::string batch = frame(pb::TASK_REQUEST, 1, nap);
  for (std::uint64_t id = 2; id <= 50; ++id) batch += frame(pb::TASK_REQUEST, id, upper("b" + std::to_string(id)));
  ASSERT_TRUE(busy.send(batch));
  // While the sleep is in flight: garbage, an oversized length, a truncated frame.
  RawConnection garbage(node_->port());
  ASSERT_TRUE(
      garbage.send(std::string("\xF9"
                               "Xnot a frame at all",
                               20)));
  RawConnection huge(node_->port());
  char header[wire::kHeaderBytes];
  wire::encode_header(header, pb::TASK_REQUEST, 9, 0xFFFFFFF0u);
  ASSERT_TRUE(huge.send(std::string(header, sizeof header)));
  RawConnection cut(node_->port());
  ASSERT_TRUE(cut.send(frame(pb::TASK_REQUEST, 3, upper("cut")).substr(0, 25)));
  EXPECT_TRUE(garbage.closed_by_peer(2s));
  EXPECT_TRUE(huge.closed_by_peer(2s));
  std::set<std::uint64_t> seen;
  for (int i = 0; i < 50; ++i) {
    auto f = read_frame(busy);
    ASSERT_TRUE(f) << "answer " << i;
    ASSERT_EQ(f->first.type, static_cast<std::uint32_t>(pb::TASK_RESPONSE));
    pb::TaskResponse r;
    ASSERT_TRUE(r.ParseFromString(f->second));
    const std::uint64_t id = f->first.request_id;
    EXPECT_EQ(r.text(), id == 1 ? "slept 0.5 s" : "B" + std::to_string(id));
    seen.insert(id);
  }
  EXPECT_EQ(seen.size(), 50u);
  EXPECT_TRUE(cut.closed_by_peer(3s));
}

// External checkers compare the script's last line as a whole: nothing may
// follow the result on that line, and nothing may come after it.
TEST_F(Protocol, ValidateEchoScriptsLastLineIsExactlyTheResult) {
  const std::string script = std::string(MINGA_SOURCE_DIR) + "/scripts/validate-echo.sh";
  Process p = Process::spawn({"/bin/bash", script, "127.0.0.1", std::to_string(node_->port())});
  ASSERT_EQ(p.wait(10s), 0) << p.out() << p.err();
  EXPECT_EQ(p.out(), "action: test_echo_server | result: success\n");
  Process bad = Process::spawn({"/bin/bash", script, "127.0.0.1", "1"});
  EXPECT_EQ(bad.wait(10s), 1);
  EXPECT_EQ(bad.out(), "action: test_echo_server | result: fail\n");
  EXPECT_NE(bad.err().find("no echo from 127.0.0.1:1"), std::string::npos) << bad.err();
}

}  // namespace
}  // namespace minga::testing
