// The client port under bad input, pipelining and text mode.
#include <gtest/gtest.h>

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
  static void SetUpTestSuite() { node_ = new NodeProcess(NodeProcess::start({"--read-timeout", "1"})); }
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
  ASSERT_TRUE(c.send(std::string("\xF9" "Xgarbage garbage garbage", 25)));
  auto f = read_frame(c);
  ASSERT_TRUE(f);
  EXPECT_EQ(as_error(*f).code(), pb::BAD_FRAME);
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
  ASSERT_TRUE(c.send("PING\nECHO hola mundo\n{\"op\":\"add\",\"a\":10,\"b\":5}\n"
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

TEST_F(Protocol, ValidateEchoScriptSucceeds) {
  Process p = Process::spawn({"/bin/bash", std::string(MINGA_SOURCE_DIR) + "/scripts/validate-echo.sh", "127.0.0.1",
                              std::to_string(node_->port())});
  ASSERT_EQ(p.wait(10s), 0) << p.out() << p.err();
  EXPECT_EQ(p.out().rfind("action: test_echo_server | result: success", 0), 0u) << p.out();
  Process bad = Process::spawn({"/bin/bash", std::string(MINGA_SOURCE_DIR) + "/scripts/validate-echo.sh", "127.0.0.1", "1"});
  EXPECT_EQ(bad.wait(10s), 1);
  EXPECT_EQ(bad.out().rfind("action: test_echo_server | result: fail", 0), 0u) << bad.out();
}

}  // namespace
}  // namespace minga::testing
