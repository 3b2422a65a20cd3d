// Raft paper §5.4 (safety): the election restriction and committing entries
// from previous terms, with the paper's Figure 8.
#include <gtest/gtest.h>

#include "harness.h"

namespace minga::raft::test {
namespace {

TEST(Safety, VoteIsGrantedOnlyToACandidateWhoseLogIsAtLeastAsUpToDate) {
  struct Case {
    std::vector<std::uint64_t> voter_log;
    std::uint64_t cand_last_term, cand_last_index;
    bool granted;
  };
  const Case cases[] = {
      {{1}, 1, 1, true},     {{1}, 1, 2, true},  {{1, 1}, 1, 1, false},  // same last term: longer wins
      {{1}, 2, 1, true},     {{1}, 2, 2, true},  {{1, 1}, 2, 1, true},   // higher last term wins
      {{2}, 1, 1, false},    {{2}, 1, 2, false}, {{1, 2}, 1, 1, false},  // lower last term loses
      {{1, 2}, 1, 5, false},                                             // ... however long
  };
  for (const auto& tc : cases) {
    Core v(config(1), state({1, 2, 3}, 2, log_with_terms(tc.voter_log)));
    Message req = make(MessageType::vote_request, 2, 1, 3);
    req.log_term = T(tc.cand_last_term);
    req.index = I(tc.cand_last_index);
    ASSERT_TRUE(v.step(req));
    auto resp = of_type(drain(v), MessageType::vote_response);
    ASSERT_EQ(resp.size(), 1u);
    EXPECT_EQ(!resp[0].reject, tc.granted) << "candidate " << tc.cand_last_index << "/" << tc.cand_last_term;
  }
}

TEST(Safety, PreVoteAlsoChecksThatTheCandidateLogIsUpToDate) {
  Core v(config(1), state({1, 2, 3}, 2, log_with_terms({1, 2})));
  Message req = make(MessageType::vote_request, 2, 1, 3);
  req.pre_vote = true;
  req.log_term = T(1);
  req.index = I(9);
  ASSERT_TRUE(v.step(req));
  auto resp = of_type(drain(v), MessageType::vote_response);
  ASSERT_EQ(resp.size(), 1u);
  EXPECT_TRUE(resp[0].reject);
  EXPECT_EQ(v.term(), T(2)) << "a pre-vote changes no term";
}

TEST(Safety, NodeMissingACommittedEntryCannotBecomeLeader) {
  // Without pre-vote and leases, only the log check stands in the way.
  Cluster cl(3, [](Config& c) {
    c.pre_vote = false;
    c.check_quorum = false;
  });
  cl.elect(1);
  cl.isolate(3);
  ASSERT_TRUE(cl.at(1).propose("committed"));
  cl.stabilize();
  ASSERT_EQ(cl.at(1).log().committed(), I(2));
  cl.heal();
  cl.isolate(1);
  // Node 3 campaigns repeatedly; node 2 holds the committed entry and refuses.
  for (int i = 0; i < 100; ++i) {
    cl.tick(3);
    cl.stabilize();
  }
  EXPECT_FALSE(cl.at(3).is_leader());
}

TEST(Safety, LeaderCommitsOnlyEntriesOfItsOwnTermByCounting) {
  Config cfg = config(1);
  cfg.pre_vote = false;
  Core c(cfg, state({1, 2, 3}, 2, log_with_terms({1, 2})));
  tick_until_campaign(c);
  ASSERT_TRUE(c.step(make(MessageType::vote_response, 2, 1, 3)));
  ASSERT_TRUE(c.is_leader());
  (void)drain(c);
  Message ack = make(MessageType::append_response, 2, 1, 3);
  ack.index = I(2);
  ASSERT_TRUE(c.step(ack));
  (void)drain(c);
  EXPECT_EQ(c.log().committed(), I(0)) << "entries of terms 1 and 2 are on a majority but must not commit";
  ack.index = I(3);  // the leader's own noop of term 3
  ASSERT_TRUE(c.step(ack));
  (void)drain(c);
  EXPECT_EQ(c.log().committed(), I(3)) << "the term-3 entry commits, and everything beneath it";
}

// Figure 8 with five servers. Returns the cluster after step (c): S1 leads
// a later term and its old entry (index 2) sits on a majority, while no
// entry of S1's current term has reached one.
struct Figure8 {
  explicit Figure8(bool commit_by_counting)
      : cl(5, [commit_by_counting](Config& c) {
          c.pre_vote = false;
          c.check_quorum = false;   // no leases: votes depend on terms and logs only
          c.max_message_bytes = 1;  // one entry per message, so entries can be withheld one by one
          c.bugs.commit_by_counting = commit_by_counting;
        }) {}

  void campaign_until_leader(std::uint64_t id) {
    for (int i = 0; i < 200 && !cl.at(id).is_leader(); ++i) {
      cl.tick(id);
      cl.stabilize();
    }
    ASSERT_TRUE(cl.at(id).is_leader());
  }

  void run_until_c() {
    cl.elect(1);
    ASSERT_TRUE(cl.at(1).is_leader());
    // (a) S1 replicates entry 2 to S2 only.
    cl.cut(1, 3);
    cl.cut(1, 4);
    cl.cut(1, 5);
    ASSERT_TRUE(cl.at(1).propose("a"));
    cl.stabilize();
    ASSERT_EQ(cl.at(2).log().last_index(), I(2));
    ASSERT_EQ(cl.at(1).log().committed(), I(1));
    // (b) S1 crashes; S5 is elected by S3, S4 and itself and writes its own
    // entry at index 2, which reaches nobody.
    cl.heal();
    cl.isolate(1);
    cl.cut(2, 5);
    cl.drop_if = [](Message& m) { return m.from == N(5) && m.type == MessageType::append_request; };
    campaign_until_leader(5);
    term_b = cl.at(5).term();
    ASSERT_EQ(cl.at(5).log().at(I(2)).term, term_b);
    // (c) S5 crashes; S1 restarts and wins a later term; entry 2 reaches a
    // majority, but S1's own entry (index 3) reaches nobody.
    cl.heal();
    cl.isolate(5);
    cl.restart(5);
    cl.restart(1);
    cl.drop_if = [](Message& m) {
      if (m.type == MessageType::append_request) {
        std::erase_if(m.entries, [](const Entry& e) { return e.index >= I(3); });
      }
      return false;
    };
    campaign_until_leader(1);
    cl.stabilize();
    ASSERT_GT(cl.at(1).term(), term_b);
    for (std::uint64_t id : {2, 3, 4}) {
      ASSERT_EQ(cl.at(id).log().last_index(), I(2)) << "S" << id;
      ASSERT_EQ(cl.at(id).log().at(I(2)).data, "a");
    }
  }

  Cluster cl;
  Term term_b;
};

TEST(Safety, Figure8EntryOfAnEarlierTermOnAMajorityIsNotCommittedByCounting) {
  Figure8 f(false);
  ASSERT_NO_FATAL_FAILURE(f.run_until_c());
  EXPECT_EQ(f.cl.at(1).log().committed(), I(1));
  // (d) S1 crashes again; S5 can win (its last term is higher) and it
  // overwrites entry 2 everywhere. That is safe only because entry 2 was
  // never committed, so nobody applied "a".
  f.cl.heal();
  f.cl.isolate(1);
  f.cl.restart(1);
  f.campaign_until_leader(5);
  f.cl.stabilize();
  for (std::uint64_t id : {2, 3, 4, 5}) {
    EXPECT_EQ(f.cl.at(id).log().at(I(2)).term, f.term_b) << "S" << id;
    EXPECT_TRUE(f.cl.applied_commands(id).empty()) << "S" << id;
  }
}

TEST(Safety, Figure8EntryOfAnEarlierTermCommitsBeneathAnEntryOfTheCurrentTerm) {
  Figure8 f(false);
  ASSERT_NO_FATAL_FAILURE(f.run_until_c());
  // (e) S1 replicates an entry of its own term to a majority: entry 2
  // commits beneath it, and S5 can no longer be elected.
  f.cl.drop_if = nullptr;
  for (int i = 0; i < 2; ++i) {
    f.cl.tick(1);
    f.cl.stabilize();
  }
  EXPECT_EQ(f.cl.at(1).log().committed(), I(3));
  f.cl.heal();
  f.cl.isolate(1);
  f.cl.restart(1);
  for (int i = 0; i < 100; ++i) {
    f.cl.tick(5);
    f.cl.stabilize();
  }
  EXPECT_FALSE(f.cl.at(5).is_leader());
  for (std::uint64_t id : {1, 2, 3, 4}) {
    EXPECT_EQ(f.cl.applied_commands(id), std::vector<std::string>{"a"}) << "S" << id;
  }
}

TEST(Safety, Figure8WithCommitByCountingBugTheEarlierEntryWouldCommit) {
  // Negative control: the same schedule with the bug switched on commits
  // entry 2 by counting, which step (d) would then overwrite.
  Figure8 f(true);
  ASSERT_NO_FATAL_FAILURE(f.run_until_c());
  EXPECT_EQ(f.cl.at(1).log().committed(), I(2));
}

}  // namespace
}  // namespace minga::raft::test
