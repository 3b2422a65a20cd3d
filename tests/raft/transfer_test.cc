// Leadership transfer (dissertation §3.10): the leader brings the target up
// to date, then tells it to campaign at once; the target's vote requests
// override leader stickiness.
#include <gtest/gtest.h>

#include "harness.h"

namespace minga::raft::test {
namespace {

TEST(Transfer, LeadershipMovesToAnUpToDateFollowerInTheNextTerm) {
  Cluster cl(3);
  cl.elect(1);
  const Term t = cl.at(1).term();
  ASSERT_TRUE(cl.at(1).transfer_leadership(N(2)));
  cl.stabilize();
  EXPECT_TRUE(cl.at(2).is_leader());
  EXPECT_EQ(cl.at(2).term(), t.next());
  EXPECT_EQ(cl.at(1).leader(), N(2));
  EXPECT_EQ(cl.at(3).leader(), N(2)) << "node 3 voted although it was hearing from node 1";
}

TEST(Transfer, LaggingTargetIsCaughtUpBeforeItCampaigns) {
  Cluster cl(3);
  cl.elect(1);
  cl.isolate(3);
  for (int i = 0; i < 4; ++i) ASSERT_TRUE(cl.at(1).propose("x"));
  cl.stabilize();
  cl.heal();
  ASSERT_TRUE(cl.at(1).transfer_leadership(N(3)));
  cl.stabilize();
  ASSERT_TRUE(cl.at(3).is_leader());
  EXPECT_EQ(cl.applied_commands(3).size(), 4u);
}

TEST(Transfer, ProposalsAreRefusedWhileATransferIsInProgress) {
  Cluster cl(3);
  cl.elect(1);
  cl.isolate(2);
  ASSERT_TRUE(cl.at(1).transfer_leadership(N(2)));
  auto r = cl.at(1).propose("x");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Errc::busy);
}

TEST(Transfer, TransferIsAbandonedAfterAnElectionTimeout) {
  Cluster cl(3);
  cl.elect(1);
  cl.isolate(2);
  ASSERT_TRUE(cl.at(1).transfer_leadership(N(2)));
  for (int i = 0; i < 10; ++i) {
    cl.tick(1);
    cl.stabilize();
  }
  EXPECT_TRUE(cl.at(1).is_leader());
  EXPECT_EQ(cl.at(1).transferee(), kNoNode);
  EXPECT_TRUE(cl.at(1).propose("x"));
}

TEST(Transfer, OnlyVotersCanBecomeLeader) {
  Cluster cl(3);
  cl.add_node(4);
  cl.elect(1);
  ASSERT_TRUE(cl.at(1).add_learner(N(4)));
  cl.stabilize();
  auto st = cl.at(1).transfer_leadership(N(4));
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().code, Errc::invalid_argument);
  // A learner told to campaign anyway stays a follower.
  ASSERT_TRUE(cl.at(4).step(make(MessageType::timeout_now, 1, 4, cl.at(1).term().value)));
  EXPECT_EQ(cl.at(4).role(), RoleKind::follower);
}

}  // namespace
}  // namespace minga::raft::test
