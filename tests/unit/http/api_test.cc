// The HTTP API layer (http/api.h) with a fake router: how routes match, how
// path, query and body fill the request, how answers and errors come back,
// and who may write.
#include "http/api.h"

#include <gtest/gtest.h>

#include <optional>

#include "proto/lottery.pb.h"
#include "proto/minga.pb.h"
#include "proto/raft.pb.h"

namespace minga::http {
namespace {

struct Sent {
  std::uint32_t type = 0;
  std::string body;
  wire::ResponderPtr responder;
};

class ApiLayerTest : public ::testing::Test {
 protected:
  void SetUp() override { make({}); }
  void make(ApiOptions options) {
    api_ =
        std::make_unique<Api>(std::move(options), [this](std::uint32_t type, std::string body, wire::ResponderPtr r) {
          sent_ = Sent{type, std::move(body), std::move(r)};
        });
    ASSERT_TRUE(api_->add(wire::ApiRoute{"GET", "/lottery/agencies/{agency}/winners", pb::WINNERS_REQUEST,
                                         &pb::WinnersRequest::default_instance(), pb::LOTTERY_RESPONSE,
                                         &pb::LotteryResponse::default_instance(), ""})
                    .ok());
    ASSERT_TRUE(api_->add(wire::ApiRoute{"DELETE", "/cluster/members/{id}", pb::CLUSTER_CHANGE_REQUEST,
                                         &pb::ClusterChangeRequest::default_instance(), pb::CLUSTER_CHANGE_RESPONSE,
                                         &pb::ClusterChangeResponse::default_instance(), R"({"op":"REMOVE"})"})
                    .ok());
    ASSERT_TRUE(api_->add(wire::ApiRoute{"POST", "/ping", pb::PING_REQUEST, &pb::PingRequest::default_instance(),
                                         pb::PING_RESPONSE, &pb::PingResponse::default_instance(), ""})
                    .ok());
  }
  Response call(const std::string& method, const std::string& target, const std::string& body = "",
                const std::string& authorization = "") {
    Request r;
    r.method = method;
    r.target = target;
    const auto q = target.find('?');
    r.path = target.substr(0, q);
    if (q != std::string::npos) r.query = target.substr(q + 1);
    r.body = body;
    r.authorization = authorization;
    answer_.reset();
    api_->handle(r, [this](Response a) { answer_ = std::move(a); });
    return answer_.value_or(Response{0, "", "(no answer yet)", {}});
  }
  static std::string header(const Response& r, const std::string& name) {
    for (const auto& [n, v] : r.headers) {
      if (n == name) return v;
    }
    return "(none)";
  }
  std::unique_ptr<Api> api_;
  std::optional<Sent> sent_;
  std::optional<Response> answer_;
};

TEST_F(ApiLayerTest, PathParameterFillsTheRequestField) {
  call("GET", "/api/v1/lottery/agencies/7/winners");
  ASSERT_TRUE(sent_.has_value());
  EXPECT_EQ(sent_->type, static_cast<std::uint32_t>(pb::WINNERS_REQUEST));
  pb::WinnersRequest w;
  ASSERT_TRUE(w.ParseFromString(sent_->body));
  EXPECT_EQ(w.agency(), 7u);
  EXPECT_FALSE(answer_.has_value());  // waits for the router's answer

  pb::LotteryResponse resp;
  resp.set_outcome(pb::LotteryResponse::OK);
  resp.add_documents("30904465");
  sent_->responder->reply(pb::LOTTERY_RESPONSE, resp);
  ASSERT_TRUE(answer_.has_value());
  EXPECT_EQ(answer_->status, 200);
  EXPECT_EQ(answer_->body,
            "{\"outcome\":\"OK\",\"reason\":\"\",\"bad_index\":0,\"stored\":0,\"duplicate\":false,\"documents\":["
            "\"30904465\"],\"agencies_finished\":0,\"expected_agencies\":0,\"round\":0}\n");
  // A second answer is dropped.
  sent_->responder->fail(Errc::internal, "late");
  EXPECT_EQ(answer_->status, 200);
}

TEST_F(ApiLayerTest, BodyFieldsFixedFieldsAndPathTogether) {
  ASSERT_TRUE(api_->add(wire::ApiRoute{"POST", "/cluster/members", pb::CLUSTER_CHANGE_REQUEST,
                                       &pb::ClusterChangeRequest::default_instance(), pb::CLUSTER_CHANGE_RESPONSE,
                                       &pb::ClusterChangeResponse::default_instance(), R"({"op":"ADD"})"})
                  .ok());
  // The route's op wins over the body's and the query's; a query parameter
  // may use the JSON name.
  call("POST", "/api/v1/cluster/members?raftAddress=127.0.0.1:9&op=TRANSFER", R"({"id":"n4","op":"REMOVE"})");
  ASSERT_TRUE(sent_.has_value());
  pb::ClusterChangeRequest c;
  ASSERT_TRUE(c.ParseFromString(sent_->body));
  EXPECT_EQ(c.op(), pb::ClusterChangeRequest::ADD);
  EXPECT_EQ(c.id(), "n4");
  EXPECT_EQ(c.raft_address(), "127.0.0.1:9");
}

TEST_F(ApiLayerTest, FixedFieldsAndPathTogether) {
  call("DELETE", "/api/v1/cluster/members/n3");
  ASSERT_TRUE(sent_.has_value());
  pb::ClusterChangeRequest c;
  ASSERT_TRUE(c.ParseFromString(sent_->body));
  EXPECT_EQ(c.op(), pb::ClusterChangeRequest::REMOVE);
  EXPECT_EQ(c.id(), "n3");
}

TEST_F(ApiLayerTest, NotLeaderDuringAnElectionIs503WithRetryAfter) {
  call("POST", "/api/v1/ping", R"({"payload":"x"})");
  ASSERT_TRUE(sent_.has_value());
  sent_->responder->fail(Errc::not_leader, "no leader now (an election is under way); retry");
  ASSERT_TRUE(answer_.has_value());
  EXPECT_EQ(answer_->status, 503);
  EXPECT_EQ(header(*answer_, "Retry-After"), "1");
  EXPECT_EQ(answer_->body,
            "{\"error\":{\"code\":\"NOT_LEADER\",\"message\":\"no leader now (an election is under way); "
            "retry\"}}\n");
}

TEST_F(ApiLayerTest, NotLeaderNamingTheLeaderIs409) {
  call("POST", "/api/v1/ping", "{}");
  sent_->responder->fail(Errc::not_leader, "not the leader; the leader is n2 at 127.0.0.1:7401");
  EXPECT_EQ(answer_->status, 409);
  EXPECT_EQ(header(*answer_, "Retry-After"), "(none)");
  EXPECT_EQ(answer_->body,
            "{\"error\":{\"code\":\"NOT_LEADER\",\"message\":\"not the leader; the leader is n2 at "
            "127.0.0.1:7401\"}}\n");
}

TEST_F(ApiLayerTest, BusyIs429AndNotFound404) {
  call("POST", "/api/v1/ping", "{}");
  sent_->responder->fail(Errc::busy, "queue full");
  EXPECT_EQ(answer_->status, 429);
  EXPECT_EQ(header(*answer_, "Retry-After"), "1");
  call("POST", "/api/v1/ping", "{}");
  sent_->responder->fail(Errc::not_found, "no such thing");
  EXPECT_EQ(answer_->status, 404);
  EXPECT_EQ(answer_->body, "{\"error\":{\"code\":\"NOT_FOUND\",\"message\":\"no such thing\"}}\n");
}

TEST_F(ApiLayerTest, ADroppedResponderAnswers500) {
  call("POST", "/api/v1/ping", "{}");
  sent_.reset();
  ASSERT_TRUE(answer_.has_value());
  EXPECT_EQ(answer_->status, 500);
  EXPECT_EQ(answer_->body,
            "{\"error\":{\"code\":\"INTERNAL\",\"message\":\"the request was dropped without an answer\"}}\n");
}

TEST_F(ApiLayerTest, StatusMapping) {
  EXPECT_EQ(http_status(Errc::invalid_argument), 400);
  EXPECT_EQ(http_status(Errc::bad_frame), 400);
  EXPECT_EQ(http_status(Errc::not_found), 404);
  EXPECT_EQ(http_status(Errc::not_yet), 409);
  EXPECT_EQ(http_status(Errc::frame_too_large), 413);
  EXPECT_EQ(http_status(Errc::busy), 429);
  EXPECT_EQ(http_status(Errc::not_leader), 503);
  EXPECT_EQ(http_status(Errc::unavailable), 503);
  EXPECT_EQ(http_status(Errc::timeout), 504);
}

TEST_F(ApiLayerTest, DuplicateAndBadRoutesAreRefused) {
  auto st = api_->add(wire::ApiRoute{"POST", "/ping", pb::PING_REQUEST, &pb::PingRequest::default_instance(),
                                     pb::PING_RESPONSE, &pb::PingResponse::default_instance(), ""});
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error().message, "API route POST /ping is already taken");
  st = api_->add(wire::ApiRoute{"GET", "/x", pb::PING_REQUEST, &pb::PingRequest::default_instance(), pb::PING_RESPONSE,
                                &pb::PingResponse::default_instance(), R"({"nope":1})"});
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error().message.rfind("API route GET /x: bad fixed fields: ", 0), 0u) << st.error().message;
}

// An Exchange that records the whole answer it is given.
class RecordingExchange final : public Exchange {
 public:
  std::optional<std::uint64_t> body_size() const override { return std::nullopt; }
  void read(std::size_t, std::function<void(Result<std::string>)> got) override { got(std::string()); }
  void answer(Response r) override { answered = std::move(r); }
  void begin(Response, std::uint64_t, std::function<void(Status)> sent) override { sent(ok_status()); }
  void write(std::string, std::function<void(Status)> sent) override { sent(ok_status()); }
  void end() override {}
  std::optional<Response> answered;
};

TEST(ApiStreamRoutes, TheRouteWithFewerParametersWinsAndStreamsAreChosenByTheirHead) {
  std::vector<std::string> served;
  Api api(ApiOptions{false, ""}, [](std::uint32_t, std::string, wire::ResponderPtr) {});
  ASSERT_TRUE(api.add(wire::ApiRoute{"GET", "/files/stat", pb::PING_REQUEST, &pb::PingRequest::default_instance(),
                                     pb::PING_RESPONSE, &pb::PingResponse::default_instance(), ""})
                  .ok());
  for (const char* method : {"GET", "PUT"}) {
    ASSERT_TRUE(
        api.add_stream(StreamRoute{method, "/files/{name}",
                                   [&served, method](const Request&, Params params, ExchangePtr x, const Dispatch&) {
                                     std::string line = method;
                                     for (const auto& [k, v] : params) line += " " + k + "=" + v;
                                     served.push_back(line);
                                     x->answer(Response{200, "text/plain", "ok", {}});
                                   }})
            .ok());
  }
  auto head = [](std::string method, std::string target) {
    Request r;
    r.method = std::move(method);
    r.target = target;
    const auto q = target.find('?');
    r.path = target.substr(0, q);
    if (q != std::string::npos) r.query = target.substr(q + 1);
    return r;
  };
  // The literal route keeps /files/stat; an encoded segment reaches the stream.
  EXPECT_FALSE(api.stream(head("GET", "/api/v1/files/stat")));
  auto h = api.stream(head("GET", "/api/v1/files/%73tat?stale=true"));
  ASSERT_TRUE(h);
  auto x = std::make_shared<RecordingExchange>();
  h(x);
  ASSERT_EQ(served.size(), 1u);
  EXPECT_EQ(served[0], "GET name=stat stale=true");
  // HEAD is served by the GET stream; other methods are not streams.
  EXPECT_TRUE(api.stream(head("HEAD", "/api/v1/files/a%2Fb")));
  EXPECT_FALSE(api.stream(head("POST", "/api/v1/files/a")));
  // The write rule holds for streams: this monitor is not on loopback.
  h = api.stream(head("PUT", "/api/v1/files/a"));
  ASSERT_TRUE(h);
  x = std::make_shared<RecordingExchange>();
  h(x);
  ASSERT_TRUE(x->answered.has_value());
  EXPECT_EQ(x->answered->status, 403);
  EXPECT_EQ(served.size(), 1u);
  // A whole-body request on the path lists every method that serves it.
  std::optional<Response> a;
  api.handle(head("POST", "/api/v1/files/a"), [&](Response r) { a = std::move(r); });
  ASSERT_TRUE(a.has_value());
  EXPECT_EQ(a->status, 405);
  ASSERT_EQ(a->headers.size(), 1u);
  EXPECT_EQ(a->headers[0].second, "GET, HEAD, PUT");
  // A stream route is not taken twice.
  auto st =
      api.add_stream(StreamRoute{"PUT", "/files/{name}", [](const Request&, Params, ExchangePtr, const Dispatch&) {}});
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error().message, "API route PUT /files/{name} is already taken");
}

TEST(ApiWriteRule, LoopbackHosts) {
  EXPECT_TRUE(is_loopback_host("127.0.0.1"));
  EXPECT_TRUE(is_loopback_host("127.1.2.3"));
  EXPECT_TRUE(is_loopback_host("::1"));
  EXPECT_TRUE(is_loopback_host("localhost"));
  EXPECT_FALSE(is_loopback_host("0.0.0.0"));
  EXPECT_FALSE(is_loopback_host("::"));
  EXPECT_FALSE(is_loopback_host("10.0.0.7"));
  EXPECT_FALSE(is_loopback_host("127.0.0.1.example.com"));
}

TEST(ApiWriteRule, NonLoopbackWithoutTokenRefusesWritesOnly) {
  const ApiOptions open_bind{false, ""};
  EXPECT_FALSE(write_refusal(open_bind, "GET", "").has_value());
  EXPECT_FALSE(write_refusal(open_bind, "HEAD", "").has_value());
  for (const char* m : {"POST", "PUT", "DELETE"}) {
    const auto r = write_refusal(open_bind, m, "Bearer anything");
    ASSERT_TRUE(r.has_value()) << m;
    EXPECT_EQ(r->status, 403);
    EXPECT_EQ(r->body,
              "{\"error\":{\"code\":\"FORBIDDEN\",\"message\":\"writes over HTTP need an API token "
              "(--api-token-file) when the monitor is not bound to loopback\"}}\n");
  }
  EXPECT_FALSE(write_refusal(ApiOptions{true, ""}, "POST", "").has_value());
}

TEST(ApiWriteRule, ATokenIsNeededWhereverTheMonitorListens) {
  for (bool loopback : {true, false}) {
    const ApiOptions o{loopback, "0123456789abcdef"};
    EXPECT_FALSE(write_refusal(o, "POST", "Bearer 0123456789abcdef").has_value());
    EXPECT_FALSE(write_refusal(o, "GET", "").has_value());
    for (const char* auth : {"", "Bearer ", "Bearer 0123456789abcde", "Bearer 0123456789abcdefg",
                             "Basic 0123456789abcdef", "bearer 0123456789abcdef", "0123456789abcdef"}) {
      const auto r = write_refusal(o, "DELETE", auth);
      ASSERT_TRUE(r.has_value()) << auth;
      EXPECT_EQ(r->status, 401) << auth;
    }
  }
}

}  // namespace
}  // namespace minga::http
