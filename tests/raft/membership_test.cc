// Raft paper §6 as refined in the dissertation §4: membership changes one
// server at a time, new servers catching up as learners, removal of any
// server including the leader.
#include <gtest/gtest.h>

#include "harness.h"

namespace minga::raft::test {
namespace {

Cluster three_plus_spare() {
  Cluster cl(3);
  cl.add_node(4);
  cl.elect(1);
  return cl;
}

TEST(Membership, LearnerReceivesTheLogButNeitherCountsInQuorumsNorCampaigns) {
  Cluster cl = three_plus_spare();
  ASSERT_TRUE(cl.at(1).add_learner(N(4)));
  ASSERT_TRUE(cl.at(1).propose("x"));
  cl.stabilize();
  EXPECT_EQ(cl.applied_commands(4), std::vector<std::string>{"x"});
  EXPECT_TRUE(cl.at(4).membership().is_learner(N(4)));
  cl.isolate(2);
  cl.isolate(3);
  const Index before = cl.at(1).log().committed();
  ASSERT_TRUE(cl.at(1).propose("y"));
  cl.stabilize();
  EXPECT_EQ(cl.at(4).log().last_index(), cl.at(1).log().last_index()) << "the learner has it";
  EXPECT_EQ(cl.at(1).log().committed(), before) << "but a learner's copy does not count";
  cl.isolate(1);
  cl.tick(4, 100);
  EXPECT_EQ(cl.at(4).role(), RoleKind::follower);
}

TEST(Membership, PromotionIsRefusedUntilTheLearnerHasCaughtUp) {
  Cluster cl = three_plus_spare();
  cl.isolate(4);
  ASSERT_TRUE(cl.at(1).add_learner(N(4)));
  cl.stabilize();
  auto early = cl.at(1).promote(N(4));
  ASSERT_FALSE(early);
  EXPECT_EQ(early.error().code, Errc::not_yet);
  cl.heal();
  cl.tick(1);
  cl.stabilize();
  ASSERT_TRUE(cl.at(1).promote(N(4)));
  cl.stabilize();
  for (auto id : cl.ids()) EXPECT_TRUE(cl.at(id).membership().is_voter(N(4))) << "node " << id;
  // Four voters: two of them are no longer a quorum.
  cl.isolate(3);
  cl.isolate(4);
  const Index before = cl.at(1).log().committed();
  ASSERT_TRUE(cl.at(1).propose("z"));
  cl.stabilize();
  EXPECT_EQ(cl.at(1).log().committed(), before);
}

TEST(Membership, ALeaderPromotesALearnerOnItsOwnOnceItHasCaughtUp) {
  Cluster cl(3, [](Config& c) { c.auto_promote_learners = true; });
  cl.add_node(4);
  cl.elect(1);
  cl.isolate(4);
  ASSERT_TRUE(cl.at(1).add_learner(N(4)));
  ASSERT_TRUE(cl.at(1).propose("x"));
  cl.stabilize();
  cl.tick(1);
  cl.stabilize();
  EXPECT_TRUE(cl.at(1).membership().is_learner(N(4))) << "not promoted while it lags";
  cl.heal();
  cl.tick(1);
  cl.stabilize();
  cl.tick(1);
  cl.stabilize();
  for (auto id : cl.ids()) EXPECT_TRUE(cl.at(id).membership().is_voter(N(4))) << "node " << id;
  EXPECT_EQ(cl.applied_commands(4), std::vector<std::string>{"x"});
}

TEST(Membership, OnlyOneChangeMayBeInProgressAtATime) {
  Cluster cl = three_plus_spare();
  cl.isolate(2);
  cl.isolate(3);
  ASSERT_TRUE(cl.at(1).add_learner(N(4)));
  auto second = cl.at(1).remove(N(2));
  ASSERT_FALSE(second);
  EXPECT_EQ(second.error().code, Errc::busy);
  cl.heal();
  cl.tick(1);
  cl.stabilize();
  EXPECT_TRUE(cl.at(1).remove(N(2)));
}

TEST(Membership, ChangeWaitsUntilTheNewLeaderCommittedAnEntryOfItsTerm) {
  Config cfg = config(1);
  cfg.pre_vote = false;
  Core c(cfg, state({1, 2, 3}, 1, log_with_terms({1})));
  tick_until_campaign(c);
  ASSERT_TRUE(c.step(make(MessageType::vote_response, 2, 1, 2)));
  ASSERT_TRUE(c.is_leader());
  (void)drain(c);
  auto r = c.add_learner(N(4));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Errc::not_yet);
  Message ack = make(MessageType::append_response, 2, 1, 2);
  ack.index = I(2);
  ASSERT_TRUE(c.step(ack));
  (void)drain(c);
  EXPECT_TRUE(c.add_learner(N(4)));
}

TEST(Membership, RemovingAFollowerShrinksTheQuorumAndTheRemovedNodeStaysQuiet) {
  Cluster cl(3);
  cl.elect(1);
  const Term t = cl.at(1).term();
  ASSERT_TRUE(cl.at(1).remove(N(3)));
  cl.stabilize();
  EXPECT_FALSE(cl.at(3).membership().contains(N(3)));
  cl.isolate(3);
  ASSERT_TRUE(cl.at(1).propose("x"));
  cl.stabilize();
  EXPECT_EQ(cl.applied_commands(2), std::vector<std::string>{"x"}) << "two voters of two commit";
  cl.heal();
  for (int i = 0; i < 50; ++i) {
    cl.tick(3);
    cl.stabilize();
  }
  EXPECT_EQ(cl.at(3).role(), RoleKind::follower) << "a removed server never campaigns";
  EXPECT_EQ(cl.at(1).term(), t);
  EXPECT_TRUE(cl.at(1).is_leader());
}

TEST(Membership, RemovedLeaderStepsDownOnceTheRemovalCommitsAndTheOthersCarryOn) {
  Cluster cl(3);
  cl.elect(1);
  ASSERT_TRUE(cl.at(1).remove(N(1)));
  cl.stabilize();
  EXPECT_FALSE(cl.at(1).is_leader());
  EXPECT_EQ(cl.at(2).membership(), voters({2, 3}));
  EXPECT_EQ(cl.at(2).log().committed(), cl.at(1).log().committed()) << "followers learned the commit";
  // Everyone ticks (the followers' leases run out); node 1 is no member and
  // never campaigns.
  for (int i = 0; i < 60 && cl.leader() == 0; ++i) {
    cl.tick_all();
    cl.stabilize();
  }
  const std::uint64_t lead = cl.leader();
  ASSERT_TRUE(lead == 2 || lead == 3);
  ASSERT_TRUE(cl.at(lead).propose("after"));
  cl.stabilize();
  EXPECT_EQ(cl.applied_commands(2), std::vector<std::string>{"after"});
  EXPECT_EQ(cl.applied_commands(3), std::vector<std::string>{"after"});
  EXPECT_TRUE(cl.applied_commands(1).empty());
}

TEST(Membership, RemovingLeaderKeepsLeadingUntilTheRemovalCommits) {
  Cluster cl(3);
  cl.elect(1);
  cl.isolate(2);
  cl.isolate(3);
  ASSERT_TRUE(cl.at(1).remove(N(1)));
  cl.stabilize();
  EXPECT_TRUE(cl.at(1).is_leader()) << "the removal is not committed yet";
  cl.heal();
  cl.tick(1);
  cl.stabilize();
  EXPECT_FALSE(cl.at(1).is_leader());
}

TEST(Membership, TheLastVoterCannotBeRemoved) {
  Cluster cl(1);
  cl.elect(1);
  auto r = cl.at(1).remove(N(1));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Errc::invalid_argument);
}

TEST(Membership, AddingAnExistingMemberIsRefused) {
  Cluster cl(3);
  cl.elect(1);
  auto r = cl.at(1).add_learner(N(2));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Errc::invalid_argument);
}

}  // namespace
}  // namespace minga::raft::test
