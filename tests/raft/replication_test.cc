// Raft paper §5.3 (log replication), including Figure 7, fast backtracking,
// pipelining and flow control.
#include <gtest/gtest.h>

#include "harness.h"

namespace minga::raft::test {
namespace {

// A leader of `term` (3 voters) built by hand, with its first Ready drained.
Core make_leader(std::vector<Entry> log, std::uint64_t term, Config cfg = config(1)) {
  cfg.pre_vote = false;
  Core c(cfg, state({1, 2, 3}, term - 1, std::move(log)));
  tick_until_campaign(c);
  Message grant = make(MessageType::vote_response, 2, 1, term);
  EXPECT_TRUE(c.step(grant));
  EXPECT_TRUE(c.is_leader());
  EXPECT_EQ(c.term(), T(term));
  (void)drain(c);
  return c;
}

Message ack(std::uint64_t from, std::uint64_t term, std::uint64_t index) {
  Message m = make(MessageType::append_response, from, 1, term);
  m.index = I(index);
  return m;
}

std::vector<std::uint64_t> terms_of(const RaftLog& log) {
  std::vector<std::uint64_t> out;
  for (Index i = log.first_index(); i <= log.last_index(); i = i.next()) out.push_back(log.at(i).term.value);
  return out;
}

TEST(Replication, NewLeaderAppendsAnEmptyEntryOfItsTermAtOnce) {
  Core c = make_leader(log_with_terms({1, 1}), 3);
  EXPECT_EQ(c.log().last_index(), I(3));
  EXPECT_EQ(c.log().at(I(3)).term, T(3));
  EXPECT_EQ(c.log().at(I(3)).type, EntryType::noop);
}

TEST(Replication, LeaderReplicatesAProposalAndEveryNodeAppliesIt) {
  Cluster cl(3);
  cl.elect(1);
  ASSERT_TRUE(cl.at(1).propose("x"));
  cl.stabilize();
  for (auto id : cl.ids()) {
    EXPECT_EQ(cl.applied_commands(id), std::vector<std::string>{"x"}) << "node " << id;
    EXPECT_EQ(cl.at(id).log().committed(), I(2));
  }
}

TEST(Replication, ProposalToAFollowerIsRefusedWithNotLeader) {
  Cluster cl(3);
  cl.elect(1);
  auto r = cl.at(2).propose("x");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Errc::not_leader);
}

TEST(Replication, LeaderCommitsAnEntryOnceAMajorityHoldsIt) {
  struct Case {
    std::vector<std::uint64_t> ackers;
    bool committed;
  };
  const Case cases[] = {{{}, false}, {{2}, true}, {{2, 3}, true}, {{3}, true}};
  for (const auto& tc : cases) {
    Core c = make_leader({}, 1);
    ASSERT_TRUE(c.propose("x"));
    (void)drain(c);  // the leader persists its own entries
    for (auto id : tc.ackers) ASSERT_TRUE(c.step(ack(id, 1, 2)));
    (void)drain(c);
    EXPECT_EQ(c.log().committed() == I(2), tc.committed) << tc.ackers.size() << " acks";
  }
}

TEST(Replication, FiveNodeLeaderNeedsThreeCopies) {
  Config cfg = config(1);
  cfg.pre_vote = false;
  Core c(cfg, state({1, 2, 3, 4, 5}, 0));
  tick_until_campaign(c);
  ASSERT_TRUE(c.step(make(MessageType::vote_response, 2, 1, 1)));
  ASSERT_TRUE(c.step(make(MessageType::vote_response, 3, 1, 1)));
  ASSERT_TRUE(c.is_leader());
  (void)drain(c);
  ASSERT_TRUE(c.step(ack(2, 1, 1)));
  (void)drain(c);
  EXPECT_EQ(c.log().committed(), I(0));
  ASSERT_TRUE(c.step(ack(5, 1, 1)));
  (void)drain(c);
  EXPECT_EQ(c.log().committed(), I(1));
}

TEST(Replication, FollowerAppendsEntriesAndLearnsTheCommitIndexFromTheLeader) {
  Core f(config(2), state({1, 2, 3}, 1));
  Message app = make(MessageType::append_request, 1, 2, 1);
  app.entries = {Entry{T(1), I(1), EntryType::command, "a"}, Entry{T(1), I(2), EntryType::command, "b"}};
  app.commit = I(1);
  ASSERT_TRUE(f.step(app));
  EXPECT_EQ(f.log().last_index(), I(2));
  EXPECT_EQ(f.log().committed(), I(1));
  Ready rd = f.ready();
  ASSERT_EQ(rd.entries.size(), 2u);
  ASSERT_EQ(rd.committed_entries.size(), 1u);
  EXPECT_EQ(rd.committed_entries[0].data, "a");
  ASSERT_EQ(rd.messages.size(), 1u);
  EXPECT_EQ(rd.messages[0].index, I(2));
  EXPECT_FALSE(rd.messages[0].reject);
  f.advance();
}

TEST(Replication, FollowerCommitIndexNeverExceedsWhatTheMessageVouchedFor) {
  Core f(config(2), state({1, 2, 3}, 2, log_with_terms({1, 1, 1})));
  Message app = make(MessageType::append_request, 1, 2, 2);
  app.index = I(1);
  app.log_term = T(1);
  app.commit = I(3);  // the leader's commit is 3 but only entry 1 is vouched for
  ASSERT_TRUE(f.step(app));
  EXPECT_EQ(f.log().committed(), I(1));
}

TEST(Replication, FollowerRejectsAnAppendWhosePreviousEntryItDoesNotHold) {
  struct Case {
    std::uint64_t prev_term, prev_index;
    bool reject;
  };
  // The follower holds (1,1), (2,2).
  const Case cases[] = {{0, 0, false}, {1, 1, false}, {2, 2, false}, {1, 2, true}, {3, 3, true}};
  for (const auto& tc : cases) {
    Core f(config(2), state({1, 2, 3}, 2, log_with_terms({1, 2})));
    Message app = make(MessageType::append_request, 1, 2, 3);
    app.index = I(tc.prev_index);
    app.log_term = T(tc.prev_term);
    ASSERT_TRUE(f.step(app));
    auto resp = of_type(drain(f), MessageType::append_response);
    ASSERT_EQ(resp.size(), 1u);
    EXPECT_EQ(resp[0].reject, tc.reject) << "prev " << tc.prev_index << "/" << tc.prev_term;
  }
}

TEST(Replication, FollowerReplacesAConflictingSuffixAndKeepsMatchingEntries) {
  struct Case {
    std::uint64_t prev_index, prev_term;
    std::vector<Entry> entries;
    std::vector<std::uint64_t> want_terms;
  };
  auto e = [](std::uint64_t term, std::uint64_t index) { return Entry{T(term), I(index), EntryType::noop, {}}; };
  const Case cases[] = {
      {2, 2, {e(3, 3)}, {1, 2, 3}},
      {1, 1, {e(3, 2), e(4, 3)}, {1, 3, 4}},
      {0, 0, {e(1, 1)}, {1, 2}},  // already held: nothing truncated
      {0, 0, {e(3, 1)}, {3}},     // conflict at the very first entry
  };
  for (const auto& tc : cases) {
    Core f(config(2), state({1, 2, 3}, 2, log_with_terms({1, 2})));
    Message app = make(MessageType::append_request, 1, 2, 4);
    app.index = I(tc.prev_index);
    app.log_term = T(tc.prev_term);
    app.entries = tc.entries;
    ASSERT_TRUE(f.step(app));
    EXPECT_EQ(terms_of(f.log()), tc.want_terms);
  }
}

TEST(Replication, DelayedShorterAppendDoesNotTruncateNewerEntries) {
  Core f(config(2), state({1, 2, 3}, 1));
  Message longer = make(MessageType::append_request, 1, 2, 1);
  longer.entries = log_with_terms({1, 1, 1});
  Message shorter = longer;
  shorter.entries.resize(1);
  ASSERT_TRUE(f.step(longer));
  ASSERT_TRUE(f.step(shorter));  // reordered by the network
  EXPECT_EQ(f.log().last_index(), I(3));
  auto resp = of_type(drain(f), MessageType::append_response);
  ASSERT_EQ(resp.size(), 2u);
  EXPECT_EQ(resp[1].index, I(1));
}

// Figure 7: a leader of term 8 meets followers with missing entries (a, b),
// extra uncommitted entries (c, d) and both (e, f). Each ends with exactly
// the leader's log.
class Figure7 : public ::testing::TestWithParam<std::vector<std::uint64_t>> {};

TEST_P(Figure7, LeaderBringsFollowerWithMissingOrExtraEntriesIntoAgreement) {
  const std::vector<std::uint64_t> leader_terms = {1, 1, 1, 4, 4, 5, 5, 6, 6, 6};
  Cluster cl({state({1, 2, 3}, 7, log_with_terms(leader_terms)), state({1, 2, 3}, 7, log_with_terms(GetParam())),
              state({1, 2, 3}, 7)},
             [](Config& c) { c.pre_vote = false; });
  cl.elect(1);
  ASSERT_TRUE(cl.at(1).is_leader());
  EXPECT_EQ(cl.at(1).term(), T(8));
  ASSERT_TRUE(cl.at(1).propose("after"));
  cl.stabilize();
  std::vector<std::uint64_t> want = leader_terms;
  want.push_back(8);
  want.push_back(8);
  EXPECT_EQ(terms_of(cl.at(2).log()), want);
  EXPECT_EQ(cl.at(2).log().committed(), I(12));
}

INSTANTIATE_TEST_SUITE_P(Followers, Figure7,
                         ::testing::Values(std::vector<std::uint64_t>{1, 1, 1, 4, 4, 5, 5, 6, 6},           // a
                                           std::vector<std::uint64_t>{1, 1, 1, 4},                          // b
                                           std::vector<std::uint64_t>{1, 1, 1, 4, 4, 5, 5, 6, 6, 6, 6},     // c
                                           std::vector<std::uint64_t>{1, 1, 1, 4, 4, 5, 5, 6, 6, 6, 7, 7},  // d
                                           std::vector<std::uint64_t>{1, 1, 1, 4, 4, 4, 4},                 // e
                                           std::vector<std::uint64_t>{1, 1, 1, 2, 2, 2, 3, 3, 3, 3, 3}));   // f

TEST(Replication, FastBacktrackingSkipsAWholeTermPerRoundTrip) {
  // Follower f of Figure 7 but much longer: 40 entries of terms 2 and 3 that
  // the leader does not have. Entry-by-entry backtracking would need ~40
  // rejections; by term it needs a handful.
  std::vector<std::uint64_t> follower = {1, 1, 1};
  for (int i = 0; i < 20; ++i) follower.push_back(2);
  for (int i = 0; i < 20; ++i) follower.push_back(3);
  Cluster cl({state({1, 2, 3}, 4, log_with_terms({1, 1, 1, 4, 4})), state({1, 2, 3}, 4, log_with_terms(follower)),
              state({1, 2, 3}, 4)},
             [](Config& c) { c.pre_vote = false; });
  std::size_t rejections = 0;
  cl.drop_if = [&](Message& m) {
    if (m.type == MessageType::append_response && m.reject) ++rejections;
    return false;
  };
  cl.elect(1);
  ASSERT_TRUE(cl.at(1).is_leader());
  EXPECT_EQ(terms_of(cl.at(2).log()), (std::vector<std::uint64_t>{1, 1, 1, 4, 4, 5}));
  EXPECT_LE(rejections, 3u);
}

TEST(Replication, ABatchOfProposalsLeavesAsOneAppendPerFollower) {
  Core c = make_leader({}, 1);
  ASSERT_TRUE(c.step(ack(2, 1, 1)));  // both followers hold the noop: replicate
  ASSERT_TRUE(c.step(ack(3, 1, 1)));
  (void)drain(c);
  ASSERT_EQ(c.progress(N(2))->state, Progress::State::replicate);
  std::vector<std::string> batch = {"a", "b", "c"};
  const auto results = c.propose(std::span<std::string>(batch));
  ASSERT_EQ(results.size(), 3u);
  for (std::size_t i = 0; i < results.size(); ++i) {
    ASSERT_TRUE(results[i]);
    EXPECT_EQ(results[i].value(), I(2 + i));
  }
  const auto appends = of_type(drain(c), MessageType::append_request);
  ASSERT_EQ(appends.size(), 2u);  // one per follower, not one per command
  for (const Message& m : appends) {
    EXPECT_EQ(m.index, I(1));
    ASSERT_EQ(m.entries.size(), 3u);
    EXPECT_EQ(m.entries[0].data, "a");
    EXPECT_EQ(m.entries[2].data, "c");
  }
}

TEST(Replication, ABatchOfProposalsToAFollowerIsRefusedCommandByCommand) {
  Cluster cl(3);
  cl.elect(1);
  std::vector<std::string> batch = {"a", "b"};
  const auto results = cl.at(2).propose(std::span<std::string>(batch));
  ASSERT_EQ(results.size(), 2u);
  for (const auto& r : results) {
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, Errc::not_leader);
  }
  EXPECT_EQ(cl.at(2).log().last_index(), I(1));
}

TEST(Replication, PipelineStopsAtTheInflightMessageLimit) {
  Cluster cl(2, [](Config& c) { c.max_inflight_messages = 2; });
  cl.elect(1);
  ASSERT_EQ(cl.at(1).progress(N(2))->state, Progress::State::replicate);
  cl.cut_one_way(2, 1);  // acknowledgments are lost
  const auto before = cl.delivered(MessageType::append_request);
  for (int i = 0; i < 10; ++i) {
    ASSERT_TRUE(cl.at(1).propose("x"));
    cl.stabilize();
  }
  EXPECT_EQ(cl.delivered(MessageType::append_request) - before, 2u);
  EXPECT_TRUE(cl.at(1).progress(N(2))->paused());
  // Heartbeat answers reopen the window after the loss; the follower then
  // receives everything.
  cl.heal();
  for (int i = 0; i < 5; ++i) {
    cl.tick(1);
    cl.stabilize();
  }
  EXPECT_EQ(cl.at(2).log().last_index(), cl.at(1).log().last_index());
  EXPECT_EQ(cl.at(1).log().committed(), cl.at(1).log().last_index());
}

TEST(Replication, PipelineStopsAtTheInflightByteLimit) {
  Cluster cl(2, [](Config& c) {
    c.max_inflight_bytes = 300;
    c.max_message_bytes = 1;  // one entry per message
  });
  cl.elect(1);
  cl.cut_one_way(2, 1);
  const auto before = cl.delivered(MessageType::append_request);
  for (int i = 0; i < 10; ++i) {
    ASSERT_TRUE(cl.at(1).propose(std::string(100, 'x')));  // 124 bytes each
    cl.stabilize();
  }
  EXPECT_EQ(cl.delivered(MessageType::append_request) - before, 3u);
}

TEST(Replication, AppendMessagesBatchEntriesUpToTheMessageSize) {
  Cluster cl(2, [](Config& c) { c.max_message_bytes = 250; });
  cl.elect(1);
  cl.isolate(2);
  for (int i = 0; i < 6; ++i) ASSERT_TRUE(cl.at(1).propose(std::string(100, 'x')));
  cl.stabilize();
  cl.heal();
  std::vector<std::size_t> sizes;
  cl.drop_if = [&](Message& m) {
    if (m.type == MessageType::append_request && !m.entries.empty()) sizes.push_back(m.entries.size());
    return false;
  };
  cl.tick(1);
  cl.stabilize();
  ASSERT_FALSE(sizes.empty());
  for (auto s : sizes) EXPECT_LE(s, 2u);
  EXPECT_EQ(cl.at(2).log().last_index(), I(7));
}

TEST(Replication, LostAppendsAreResentAfterTheNextHeartbeat) {
  Cluster cl(3);
  cl.elect(1);
  cl.drop_if = [](Message& m) { return m.type == MessageType::append_request && m.to == N(3); };
  ASSERT_TRUE(cl.at(1).propose("x"));
  cl.stabilize();
  EXPECT_TRUE(cl.applied_commands(3).empty());
  cl.heal();
  for (int i = 0; i < 3; ++i) {
    cl.tick(1);
    cl.stabilize();
  }
  EXPECT_EQ(cl.applied_commands(3), std::vector<std::string>{"x"});
}

TEST(Replication, TooManyUncommittedBytesMakeProposalsBusy) {
  Cluster cl(3, [](Config& c) { c.max_uncommitted_bytes = 200; });
  cl.elect(1);
  cl.isolate(1);
  ASSERT_TRUE(cl.at(1).propose(std::string(100, 'x')));
  auto r = cl.at(1).propose(std::string(100, 'x'));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Errc::busy);
}

}  // namespace
}  // namespace minga::raft::test
