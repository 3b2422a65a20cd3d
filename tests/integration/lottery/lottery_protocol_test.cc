// The lottery's messages sent by hand (the project's client library, no
// agency): what a node answers and logs for batches an agency would never send.
#include <gtest/gtest.h>

#include "lottery_helpers.h"
#include "net/client.h"
#include "proto/lottery.pb.h"

namespace minga::testing {
namespace {

pb::Bet bet(const std::string& first, const std::string& document, std::uint32_t number) {
  pb::Bet b;
  b.set_first_name(first);
  b.set_last_name("Sosa");
  b.set_document(document);
  b.set_birth_date("1990-01-01");
  b.set_number(number);
  return b;
}

class LotteryProtocol : public ::testing::Test {
 protected:
  void SetUp() override {
    auto c = net::Client::connect(net::Endpoint{"127.0.0.1", node_.port()}, 5s);
    ASSERT_TRUE(c.ok()) << c.error().message;
    client_ = std::move(c.value());
  }

  pb::LotteryResponse send(std::uint32_t agency, std::uint64_t sequence, const std::vector<pb::Bet>& bets) {
    pb::BetBatchRequest req;
    req.set_agency(agency);
    req.set_sequence(sequence);
    for (const auto& b : bets) *req.add_bets() = b;
    auto r = client_.call<pb::LotteryResponse>(pb::BET_BATCH_REQUEST, req, pb::LOTTERY_RESPONSE, 10s);
    EXPECT_TRUE(r.ok()) << r.error().message;
    return r.ok() ? r.value() : pb::LotteryResponse{};
  }

  NodeProcess node_ = NodeProcess::start();
  net::Client client_;
};

// Names travel as bytes: a name that is not UTF-8 reaches validation, which
// refuses the batch with the bad bet's index, instead of the frame failing
// to decode as a whole.
TEST_F(LotteryProtocol, InvalidUtf8NameRefusesTheBatchWithTheBadIndex) {
  const pb::LotteryResponse first = send(1, 1, {bet("Ana", "1", 5), bet("Eva", "2", 6)});
  ASSERT_EQ(first.outcome(), pb::LotteryResponse::OK) << first.reason();
  ASSERT_TRUE(node_.process().wait_for_output("action: apuesta_recibida | result: success | cantidad: 2\n", 5s));

  for (const int k : {0, 3}) {
    std::vector<pb::Bet> bets = {bet("Luis", "3", 1), bet("Juan", "4", 2), bet("Rosa", "5", 3), bet("Inés", "6", 4)};
    bets[static_cast<std::size_t>(k)].set_first_name("Jos\xE9");  // Latin-1, not UTF-8
    const pb::LotteryResponse r = send(1, 2, bets);
    EXPECT_EQ(r.outcome(), pb::LotteryResponse::FAIL);
    EXPECT_EQ(r.bad_index(), k);
    EXPECT_EQ(r.reason(),
              "bet " + std::to_string(k) + ": first name is not valid UTF-8; nothing of the batch was stored");
    EXPECT_EQ(r.stored(), 0u);
  }
  ASSERT_TRUE(node_.process().wait_for_output("action: apuesta_recibida | result: fail | cantidad: 4\n", 5s));
  EXPECT_EQ(count(node_.process().err(), "action: apuesta_recibida | result: fail | cantidad: 4\n"), 2u);
  EXPECT_NE(status_json(node_.address()).find("\"total_bets\":2,"), std::string::npos);
  // Nothing of it was stored, the sequence included: the corrected batch is new.
  const pb::LotteryResponse fixed = send(1, 2, {bet("José", "3", 1)});
  EXPECT_EQ(fixed.outcome(), pb::LotteryResponse::OK);
  EXPECT_FALSE(fixed.duplicate());
  EXPECT_EQ(fixed.stored(), 1u);
  EXPECT_EQ(node_.process().err().find("libprotobuf"), std::string::npos) << node_.process().err();
}

// A bad document is echoed in the reason escaped, so the answer (a proto
// `string`) still decodes.
TEST_F(LotteryProtocol, BadBytesInADocumentComeBackEscaped) {
  const pb::LotteryResponse r = send(2, 1, {bet("Ana", "1", 5), bet("Eva", "12\xFF", 6)});
  EXPECT_EQ(r.outcome(), pb::LotteryResponse::FAIL);
  EXPECT_EQ(r.bad_index(), 1);
  EXPECT_EQ(r.reason(), "bet 1: document must be 1-10 digits, got '12\\xFF'; nothing of the batch was stored");
}

TEST_F(LotteryProtocol, SameSequenceWithOtherBetsIsRefusedNotAnsweredAsADuplicate) {
  ASSERT_EQ(send(3, 12, {bet("Ana", "1", 5), bet("Eva", "2", 6)}).outcome(), pb::LotteryResponse::OK);
  const pb::LotteryResponse again = send(3, 12, {bet("Ana", "1", 5), bet("Eva", "2", 6)});
  EXPECT_EQ(again.outcome(), pb::LotteryResponse::OK);
  EXPECT_TRUE(again.duplicate());
  const pb::LotteryResponse other = send(3, 12, {bet("Ana", "1", 5)});
  EXPECT_EQ(other.outcome(), pb::LotteryResponse::FAIL);
  EXPECT_EQ(other.reason(),
            "sequence 12 of agency 3 was already stored with other bets; this node already holds a lottery (round 1, "
            "not drawn yet): to run another, start a new round with 'minga lottery new-round'");
  EXPECT_TRUE(node_.process().wait_for_output("action: apuesta_recibida | result: fail | cantidad: 1\n", 5s));
  EXPECT_NE(status_json(node_.address()).find("\"total_bets\":2,"), std::string::npos);
}

}  // namespace
}  // namespace minga::testing
