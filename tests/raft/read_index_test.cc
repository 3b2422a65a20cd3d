// Linearizable reads with ReadIndex (dissertation §6.4): the leader records
// its commit index, confirms with a heartbeat round that a quorum still
// follows it, then the read may be served once that index is applied.
#include <gtest/gtest.h>

#include "harness.h"

namespace minga::raft::test {
namespace {

TEST(ReadIndex, ReadIsReleasedOnlyAfterAQuorumAnswersAHeartbeatRound) {
  Cluster cl(3);
  cl.elect(1);
  ASSERT_TRUE(cl.at(1).propose("x"));
  cl.stabilize();
  cl.isolate(2);
  cl.isolate(3);
  ASSERT_TRUE(cl.at(1).read_index(42));
  cl.stabilize();
  EXPECT_TRUE(cl.take_reads(1).empty()) << "no quorum has confirmed the leadership";
  cl.heal();
  cl.tick(1);  // the next heartbeat carries the same round
  cl.stabilize();
  auto reads = cl.take_reads(1);
  ASSERT_EQ(reads.size(), 1u);
  EXPECT_EQ(reads[0].context, 42u);
  EXPECT_EQ(reads[0].index, I(2));
}

TEST(ReadIndex, ReadWaitsUntilTheNewLeaderCommittedAnEntryOfItsTerm) {
  Config cfg = config(1);
  cfg.pre_vote = false;
  Core c(cfg, state({1, 2, 3}, 1, log_with_terms({1, 1}), 0, 1));
  tick_until_campaign(c);
  ASSERT_TRUE(c.step(make(MessageType::vote_response, 2, 1, 2)));
  ASSERT_TRUE(c.is_leader());
  (void)drain(c);
  ASSERT_TRUE(c.read_index(7));
  auto out = drain(c);
  EXPECT_TRUE(of_type(out, MessageType::heartbeat).empty()) << "its commit index (1) may be stale";
  Message ack = make(MessageType::append_response, 2, 1, 2);
  ack.index = I(3);
  ASSERT_TRUE(c.step(ack));
  out = drain(c);
  auto hbs = of_type(out, MessageType::heartbeat);
  ASSERT_EQ(hbs.size(), 2u);
  Message hb_ack = make(MessageType::heartbeat_response, 2, 1, 2);
  hb_ack.read_seq = hbs[0].read_seq;
  ASSERT_TRUE(c.step(hb_ack));
  ASSERT_TRUE(c.has_ready());
  Ready rd = c.ready();
  ASSERT_EQ(rd.read_states.size(), 1u);
  EXPECT_EQ(rd.read_states[0].index, I(3));
  c.advance();
}

TEST(ReadIndex, AnswerToAnOlderHeartbeatRoundDoesNotConfirmANewerRead) {
  Cluster cl(3);
  cl.elect(1);
  // Heartbeat answers are delayed: hold them back, then deliver stale ones.
  std::vector<Message> held;
  cl.drop_if = [&](Message& m) {
    if (m.type != MessageType::heartbeat_response) return false;
    held.push_back(m);
    return true;
  };
  cl.tick(1);
  cl.stabilize();
  ASSERT_EQ(held.size(), 2u);
  ASSERT_TRUE(cl.at(1).read_index(9));
  cl.stabilize();
  for (const auto& m : std::vector<Message>(held.begin(), held.begin() + 2)) ASSERT_TRUE(cl.at(1).step(m));
  cl.drop_if = nullptr;
  cl.stabilize();
  EXPECT_TRUE(cl.take_reads(1).empty()) << "answers to the round before the read prove nothing about it";
  for (std::size_t k = 2; k < held.size(); ++k) ASSERT_TRUE(cl.at(1).step(held[k]));
  cl.stabilize();
  EXPECT_EQ(cl.take_reads(1).size(), 1u);
}

TEST(ReadIndex, FollowerReadIsForwardedToTheLeader) {
  Cluster cl(3);
  cl.elect(1);
  ASSERT_TRUE(cl.at(1).propose("x"));
  cl.stabilize();
  ASSERT_TRUE(cl.at(2).read_index(5));
  cl.stabilize();
  auto reads = cl.take_reads(2);
  ASSERT_EQ(reads.size(), 1u);
  EXPECT_EQ(reads[0].context, 5u);
  EXPECT_EQ(reads[0].index, cl.at(1).log().committed());
}

TEST(ReadIndex, NodeWithoutAKnownLeaderRefusesReads) {
  Core c(config(1), state({1, 2, 3}, 1));
  auto st = c.read_index(1);
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().code, Errc::not_leader);
}

TEST(ReadIndex, DeposedLeaderCannotConfirmAReadAndNeverServesAStaleOne) {
  Cluster cl(3);
  cl.elect(1);
  cl.isolate(1);
  std::uint64_t lead = 0;
  for (int i = 0; i < 60 && lead == 0; ++i) {
    cl.tick(2);
    cl.tick(3);
    cl.stabilize();
    lead = cl.at(2).is_leader() ? 2 : cl.at(3).is_leader() ? 3 : 0;
  }
  ASSERT_NE(lead, 0u);
  ASSERT_TRUE(cl.at(lead).propose("new"));
  cl.stabilize();
  ASSERT_TRUE(cl.at(1).is_leader()) << "the old leader does not know yet";
  ASSERT_TRUE(cl.at(1).read_index(3));
  for (int i = 0; i < 5; ++i) {
    cl.tick(1);
    cl.stabilize();
  }
  EXPECT_TRUE(cl.take_reads(1).empty());
  cl.heal();
  cl.tick(1);
  cl.stabilize();
  EXPECT_FALSE(cl.at(1).is_leader());
  EXPECT_TRUE(cl.take_reads(1).empty());
}

TEST(ReadIndex, SingleVoterServesReadsAtOnce) {
  Cluster cl(1);
  cl.elect(1);
  ASSERT_TRUE(cl.at(1).read_index(1));
  cl.stabilize();
  EXPECT_EQ(cl.take_reads(1).size(), 1u);
}

}  // namespace
}  // namespace minga::raft::test
