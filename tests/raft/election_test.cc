// Raft paper §5.2 (leader election), plus pre-vote, check-quorum and leader
// stickiness from the dissertation §9.6.
#include <gtest/gtest.h>

#include <set>

#include "harness.h"

namespace minga::raft::test {
namespace {

Config no_prevote(std::uint64_t id) {
  Config c = config(id);
  c.pre_vote = false;
  return c;
}

TEST(Election, FollowerBecomesCandidateAfterElectionTimeoutAndRequestsVotesFromAll) {
  Core c(no_prevote(1), state({1, 2, 3}, 1));
  tick_until_campaign(c);
  EXPECT_EQ(c.role(), RoleKind::candidate);
  EXPECT_EQ(c.term(), T(2));
  EXPECT_EQ(c.vote(), N(1));
  auto reqs = of_type(drain(c), MessageType::vote_request);
  ASSERT_EQ(reqs.size(), 2u);
  std::set<NodeId> to;
  for (const auto& m : reqs) {
    to.insert(m.to);
    EXPECT_EQ(m.term, T(2));
    EXPECT_FALSE(m.pre_vote);
  }
  EXPECT_EQ(to, (std::set<NodeId>{N(2), N(3)}));
}

TEST(Election, ElectionTimeoutIsRandomizedBetweenOneAndTwoTimeouts) {
  std::set<int> seen;
  for (std::uint64_t seed = 1; seed <= 200; ++seed) {
    Config cfg = no_prevote(1);
    cfg.seed = seed;
    Core c(cfg, state({1, 2, 3}, 1));
    int ticks = 0;
    while (c.role() == RoleKind::follower) {
      c.tick();
      ++ticks;
      ASSERT_LT(ticks, 100);
    }
    EXPECT_GE(ticks, 10);
    EXPECT_LT(ticks, 20);
    seen.insert(ticks);
  }
  EXPECT_GT(seen.size(), 5u) << "timeouts must vary so that split votes resolve";
}

TEST(Election, CandidateWinsWithVotesFromAMajority) {
  struct Case {
    std::size_t size;
    std::set<std::uint64_t> granting;  // besides the candidate itself
    RoleKind want;
  };
  const Case cases[] = {
      {1, {}, RoleKind::leader},           {3, {2, 3}, RoleKind::leader}, {3, {2}, RoleKind::leader},
      {5, {2, 3, 4, 5}, RoleKind::leader}, {5, {2, 3}, RoleKind::leader}, {5, {2}, RoleKind::candidate},
      {3, {}, RoleKind::candidate},
  };
  for (const auto& tc : cases) {
    std::vector<std::uint64_t> ids;
    for (std::uint64_t id = 1; id <= tc.size; ++id) ids.push_back(id);
    Core c(no_prevote(1), state(ids, 1));
    tick_until_campaign(c);
    (void)drain(c);
    for (auto id : tc.granting) {
      Message m = make(MessageType::vote_response, id, 1, 2);
      ASSERT_TRUE(c.step(m));
    }
    EXPECT_EQ(c.role(), tc.want) << "size " << tc.size << " grants " << tc.granting.size();
  }
}

TEST(Election, CandidateBecomesFollowerWhenAMajorityRejects) {
  Core c(no_prevote(1), state({1, 2, 3}, 1));
  tick_until_campaign(c);
  Message r = make(MessageType::vote_response, 2, 1, 2);
  r.reject = true;
  ASSERT_TRUE(c.step(r));
  EXPECT_EQ(c.role(), RoleKind::candidate);
  r.from = N(3);
  ASSERT_TRUE(c.step(r));
  EXPECT_EQ(c.role(), RoleKind::follower);
  EXPECT_EQ(c.term(), T(2));
}

TEST(Election, EachServerVotesForAtMostOneCandidatePerTerm) {
  struct Case {
    std::uint64_t vote;
    std::uint64_t candidate;
    bool reject;
  };
  const Case cases[] = {{0, 2, false}, {0, 3, false}, {2, 2, false}, {3, 3, false}, {2, 3, true}, {3, 2, true}};
  for (const auto& tc : cases) {
    Core c(no_prevote(1), state({1, 2, 3}, 1, {}, tc.vote));
    Message req = make(MessageType::vote_request, tc.candidate, 1, 1);
    ASSERT_TRUE(c.step(req));
    auto resp = of_type(drain(c), MessageType::vote_response);
    ASSERT_EQ(resp.size(), 1u);
    EXPECT_EQ(resp[0].reject, tc.reject) << "vote " << tc.vote << " candidate " << tc.candidate;
    if (!tc.reject) {
      EXPECT_EQ(c.vote(), N(tc.candidate));
    }
  }
}

TEST(Election, CandidateStepsDownOnAppendFromLeaderOfSameTerm) {
  Core c(no_prevote(1), state({1, 2, 3}, 1));
  tick_until_campaign(c);
  ASSERT_EQ(c.role(), RoleKind::candidate);
  Message app = make(MessageType::append_request, 2, 1, 2);
  ASSERT_TRUE(c.step(app));
  EXPECT_EQ(c.role(), RoleKind::follower);
  EXPECT_EQ(c.leader(), N(2));
  EXPECT_EQ(c.term(), T(2));
}

TEST(Election, AnyRoleAdoptsAHigherTermAndBecomesFollower) {
  Cluster cl(3);
  cl.elect(1);
  ASSERT_TRUE(cl.at(1).is_leader());
  const Term t = cl.at(1).term();
  Message hb = make(MessageType::heartbeat, 2, 1, t.value + 5);
  ASSERT_TRUE(cl.at(1).step(hb));
  EXPECT_EQ(cl.at(1).role(), RoleKind::follower);
  EXPECT_EQ(cl.at(1).term(), T(t.value + 5));
  EXPECT_EQ(cl.at(1).leader(), N(2));
  EXPECT_EQ(cl.at(1).vote(), kNoNode);
}

TEST(Election, MessagesOfAStaleTermAreIgnored) {
  Core c(no_prevote(1), state({1, 2, 3}, 5, log_with_terms({1, 2}), 0, 0));
  Message app = make(MessageType::append_request, 2, 1, 3);
  app.index = I(2);
  app.log_term = T(2);
  app.entries = {Entry{T(3), I(3), EntryType::command, "x"}};
  ASSERT_TRUE(c.step(app));
  EXPECT_EQ(c.log().last_index(), I(2));
  EXPECT_EQ(c.term(), T(5));
  // The stale leader is told our term so it steps down.
  auto out = drain(c);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].type, MessageType::append_response);
  EXPECT_EQ(out[0].term, T(5));
}

TEST(Election, SplitVoteIsFollowedByANewElectionInAHigherTerm) {
  Core c(no_prevote(1), state({1, 2, 3, 4}, 1));
  tick_until_campaign(c);
  ASSERT_EQ(c.term(), T(2));
  Message r = make(MessageType::vote_response, 2, 1, 2);
  ASSERT_TRUE(c.step(r));  // 2 of 4: no majority
  EXPECT_EQ(c.role(), RoleKind::candidate);
  for (int i = 0; i < 20 && c.term() == T(2); ++i) c.tick();
  EXPECT_EQ(c.role(), RoleKind::candidate);
  EXPECT_EQ(c.term(), T(3));
}

TEST(Election, ElectedLeaderSendsHeartbeatsEveryInterval) {
  Cluster cl(3);
  cl.elect(1);
  ASSERT_TRUE(cl.at(1).is_leader());
  const auto before = cl.delivered(MessageType::heartbeat);
  cl.tick(1, 3);
  cl.stabilize();
  EXPECT_EQ(cl.delivered(MessageType::heartbeat) - before, 6u);
  EXPECT_EQ(cl.at(2).leader(), N(1));
}

TEST(Election, ThreeNodeClusterElectsExactlyOneLeaderAndAllAgree) {
  Cluster cl(3);
  cl.elect(2);
  EXPECT_EQ(cl.leader(), 2u);
  for (auto id : cl.ids()) {
    EXPECT_EQ(cl.at(id).leader(), N(2));
    EXPECT_EQ(cl.at(id).term(), cl.at(2).term());
  }
}

TEST(PreVote, PreCandidateKeepsItsTermUntilAQuorumWouldVote) {
  Core c(config(1), state({1, 2, 3}, 4));
  tick_until_campaign(c);
  EXPECT_EQ(c.role(), RoleKind::pre_candidate);
  EXPECT_EQ(c.term(), T(4));
  EXPECT_EQ(c.vote(), kNoNode);
  auto reqs = of_type(drain(c), MessageType::vote_request);
  ASSERT_EQ(reqs.size(), 2u);
  EXPECT_TRUE(reqs[0].pre_vote);
  EXPECT_EQ(reqs[0].term, T(5));
  Message grant = make(MessageType::vote_response, 2, 1, 5);
  grant.pre_vote = true;
  ASSERT_TRUE(c.step(grant));
  EXPECT_EQ(c.role(), RoleKind::candidate);
  EXPECT_EQ(c.term(), T(5));
  EXPECT_EQ(c.vote(), N(1));
}

TEST(PreVote, PartitionedNodeDoesNotInflateTermsNorDisruptTheLeaderOnReturn) {
  Cluster cl(3);
  cl.elect(1);
  const Term t = cl.at(1).term();
  cl.isolate(3);
  for (int i = 0; i < 100; ++i) {
    cl.tick_all();
    cl.stabilize();
  }
  EXPECT_EQ(cl.at(3).term(), t) << "pre-vote never reaches a quorum, so the term stays";
  cl.heal();
  cl.tick_all();
  cl.stabilize();
  EXPECT_TRUE(cl.at(1).is_leader());
  EXPECT_EQ(cl.at(1).term(), t);
  EXPECT_EQ(cl.at(3).leader(), N(1));
}

TEST(CheckQuorum, LeaderStepsDownWhenItHasNotHeardFromAQuorumForAnElectionTimeout) {
  Cluster cl(3);
  cl.elect(1);
  cl.isolate(1);
  for (int i = 0; i < 25 && cl.at(1).is_leader(); ++i) {
    cl.tick(1);
    cl.stabilize();
  }
  EXPECT_EQ(cl.at(1).role(), RoleKind::follower);
}

TEST(CheckQuorum, FollowerHearingFromALeaderIgnoresVoteRequestsOfHigherTerms) {
  Cluster cl(3);
  cl.elect(1);
  const Term t = cl.at(1).term();
  Message req = make(MessageType::vote_request, 3, 2, t.value + 1);
  req.index = cl.at(3).log().last_index();
  req.log_term = cl.at(3).log().last_term();
  ASSERT_TRUE(cl.at(2).step(req));
  EXPECT_EQ(cl.at(2).term(), t);
  EXPECT_TRUE(of_type(drain(cl.at(2)), MessageType::vote_response).empty());
  // After an election timeout of silence, the same request is granted.
  cl.isolate(2);
  cl.tick(2, 10);
  ASSERT_TRUE(cl.at(2).step(req));
  EXPECT_EQ(cl.at(2).term(), T(t.value + 1));
  EXPECT_EQ(cl.at(2).vote(), N(3));
}

TEST(CheckQuorum, LeaderWithQuorumStaysLeaderAcrossManyTimeouts) {
  Cluster cl(5);
  cl.elect(1);
  cl.isolate(4);
  cl.isolate(5);
  for (int i = 0; i < 60; ++i) {
    cl.tick(1);
    cl.stabilize();
  }
  EXPECT_TRUE(cl.at(1).is_leader());
}

}  // namespace
}  // namespace minga::raft::test
