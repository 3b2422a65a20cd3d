// The contract between the core and its driver (raft/ready.h): what must be
// durable before which message leaves, what is applied when, restarts from
// the durable state, and refusal of malformed input. Also checks that each
// test-only bug switch changes exactly the behaviour it names.
#include <gtest/gtest.h>

#include "harness.h"

namespace minga::raft::test {
namespace {

TEST(DriverContract, VoteGrantLeavesOnlyAfterTheVoteIsDurable) {
  Core v(config(1), state({1, 2, 3}, 1));
  Message req = make(MessageType::vote_request, 2, 1, 2);
  ASSERT_TRUE(v.step(req));
  Ready rd = v.ready();
  ASSERT_TRUE(rd.hard_state);
  EXPECT_EQ(rd.hard_state->term, T(2));
  EXPECT_EQ(rd.hard_state->vote, N(2));
  EXPECT_TRUE(rd.early_messages.empty());
  ASSERT_EQ(of_type(rd.messages, MessageType::vote_response).size(), 1u);
  v.advance();
}

// While a batch is being persisted, a proposal's appends can leave at once;
// votes and acknowledgments never come out that way.
TEST(DriverContract, EarlyMessagesCanBeTakenWhileABatchIsPersisted) {
  Cluster cl(3);
  cl.elect(1);
  Core& l = cl.at(1);
  ASSERT_TRUE(l.propose("first"));
  Ready rd = l.ready();  // being persisted
  ASSERT_TRUE(l.propose("second"));
  auto early = l.take_early_messages();
  const auto appends = of_type(early, MessageType::append_request);
  ASSERT_EQ(appends.size(), 2u);
  for (const auto& m : appends) {
    ASSERT_FALSE(m.entries.empty());
    EXPECT_EQ(m.entries.back().data, "second");
  }
  EXPECT_TRUE(l.take_early_messages().empty());  // taken once
  l.advance();
  // The next batch persists "second" but does not send its appends again.
  Ready next = l.ready();
  ASSERT_EQ(next.entries.size(), 1u);
  EXPECT_EQ(next.entries[0].data, "second");
  EXPECT_TRUE(of_type(next.early_messages, MessageType::append_request).empty());
  l.advance();

  // A follower's vote grant is never early.
  Core v(config(1), state({1, 2, 3}, 1));
  ASSERT_TRUE(v.step(make(MessageType::vote_request, 2, 1, 2)));
  EXPECT_TRUE(v.take_early_messages().empty());
  Ready vr = v.ready();
  EXPECT_EQ(of_type(vr.messages, MessageType::vote_response).size(), 1u);
  v.advance();
}

TEST(DriverContract, VoteBeforePersistBugSendsTheGrantEarly) {
  Config cfg = config(1);
  cfg.bugs.vote_before_persist = true;
  Core v(cfg, state({1, 2, 3}, 1));
  ASSERT_TRUE(v.step(make(MessageType::vote_request, 2, 1, 2)));
  Ready rd = v.ready();
  EXPECT_EQ(of_type(rd.early_messages, MessageType::vote_response).size(), 1u);
  v.advance();
}

TEST(DriverContract, CandidateRequestsVotesOnlyAfterItsTermAndSelfVoteAreDurable) {
  Config cfg = config(1);
  cfg.pre_vote = false;
  Core c(cfg, state({1, 2, 3}, 1));
  tick_until_campaign(c);
  Ready rd = c.ready();
  ASSERT_TRUE(rd.hard_state);
  EXPECT_EQ(rd.hard_state->vote, N(1));
  EXPECT_TRUE(rd.early_messages.empty());
  EXPECT_EQ(of_type(rd.messages, MessageType::vote_request).size(), 2u);
  c.advance();
}

TEST(DriverContract, LeaderSendsAppendsEarlyButCountsItselfOnlyOnceItsEntriesAreDurable) {
  Cluster cl(3);
  cl.elect(1);
  Core& l = cl.at(1);
  ASSERT_TRUE(l.propose("x"));
  Ready rd = l.ready();
  ASSERT_EQ(rd.entries.size(), 1u);
  EXPECT_EQ(of_type(rd.early_messages, MessageType::append_request).size(), 2u);
  // One follower acknowledges before the leader's own write is durable:
  // one copy of three is no quorum.
  Message ack = make(MessageType::append_response, 2, 1, l.term().value);
  ack.index = I(2);
  ASSERT_TRUE(l.step(ack));
  EXPECT_EQ(l.log().committed(), I(1));
  l.advance();  // now the leader's copy is durable
  EXPECT_EQ(l.log().committed(), I(2));
}

TEST(DriverContract, SingleVoterCommitsOnlyAfterAdvance) {
  Cluster cl(1);
  cl.elect(1);
  Core& c = cl.at(1);
  ASSERT_TRUE(c.propose("x"));
  Ready rd = c.ready();
  EXPECT_TRUE(rd.committed_entries.empty());
  c.advance();
  Ready next = c.ready();
  ASSERT_EQ(next.committed_entries.size(), 1u);
  EXPECT_EQ(next.committed_entries[0].data, "x");
  EXPECT_EQ(next.hard_state->commit, I(2));
  c.advance();
}

TEST(DriverContract, ReadyIsNotIssuedAgainBeforeAdvance) {
  Cluster cl(1);
  cl.elect(1);
  Core& c = cl.at(1);
  ASSERT_TRUE(c.propose("x"));
  (void)c.ready();
  ASSERT_TRUE(c.propose("y"));
  EXPECT_FALSE(c.has_ready());
  c.advance();
  EXPECT_TRUE(c.has_ready());
  Ready rd = c.ready();
  ASSERT_EQ(rd.entries.size(), 1u);
  EXPECT_EQ(rd.entries[0].data, "y");
  c.advance();
}

TEST(DriverContract, CommittedEntriesAreHandedOutOnceInOrderAndNeverBeyondTheCommitIndex) {
  Cluster cl(3);
  cl.elect(1);
  cl.isolate(3);
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(cl.at(1).propose("c" + std::to_string(i)));
  cl.stabilize();
  EXPECT_EQ(cl.applied_commands(2), (std::vector<std::string>{"c0", "c1", "c2"}));
  EXPECT_TRUE(cl.applied_commands(3).empty());
}

TEST(DriverContract, ApplyBeforeCommitBugHandsOutUncommittedEntries) {
  Cluster cl(3, [](Config& c) { c.bugs.apply_before_commit = true; });
  cl.elect(1);
  cl.isolate(2);
  cl.isolate(3);
  ASSERT_TRUE(cl.at(1).propose("x"));
  cl.stabilize();
  EXPECT_EQ(cl.at(1).log().committed(), I(1));
  EXPECT_EQ(cl.applied_commands(1), std::vector<std::string>{"x"});
}

TEST(DriverContract, RestartedNodeKeepsItsTermVoteAndLog) {
  Cluster cl(3);
  cl.elect(1);
  ASSERT_TRUE(cl.at(1).propose("x"));
  cl.stabilize();
  const HardState before = cl.at(2).hard_state();
  const Index last = cl.at(2).log().last_index();
  cl.restart(2);
  EXPECT_EQ(cl.at(2).term(), before.term);
  EXPECT_EQ(cl.at(2).vote(), before.vote);
  EXPECT_EQ(cl.at(2).log().last_index(), last);
  EXPECT_EQ(cl.at(2).role(), RoleKind::follower);
  cl.stabilize();
  EXPECT_EQ(cl.applied_commands(2), std::vector<std::string>{"x"}) << "committed entries are applied again";
}

TEST(DriverContract, LogNewerThanTheDurableTermAfterATornWriteRaisesTheTermWithoutAVote) {
  // The entries of term 4 reached the disk, the hard state of their batch
  // (term 4) did not.
  Core c(config(1), state({1, 2, 3}, 2, log_with_terms({1, 4}), 3));
  EXPECT_EQ(c.term(), T(4));
  EXPECT_EQ(c.vote(), kNoNode);
  ASSERT_TRUE(c.has_ready());
  Ready rd = c.ready();
  ASSERT_TRUE(rd.hard_state);
  EXPECT_EQ(rd.hard_state->term, T(4)) << "the raised term is persisted";
  c.advance();
}

TEST(DriverContract, MalformedMessagesAreRefusedAndChangeNothing) {
  Core f(config(2), state({1, 2, 3}, 1));
  Message wrong_to = make(MessageType::heartbeat, 1, 3, 1);
  EXPECT_EQ(f.step(wrong_to).error().code, Errc::invalid_argument);
  Message gap = make(MessageType::append_request, 1, 2, 1);
  gap.entries = {Entry{T(1), I(2), EntryType::command, "x"}};  // should start at 1
  EXPECT_FALSE(f.step(gap));
  Message future = make(MessageType::append_request, 1, 2, 1);
  future.entries = {Entry{T(5), I(1), EntryType::command, "x"}};  // newer than the message
  EXPECT_FALSE(f.step(future));
  Message bad_config = make(MessageType::append_request, 1, 2, 1);
  bad_config.entries = {Entry{T(1), I(1), EntryType::config, "junk"}};
  EXPECT_FALSE(f.step(bad_config));
  Message no_snapshot = make(MessageType::snapshot, 1, 2, 1);
  EXPECT_FALSE(f.step(no_snapshot));
  Message no_term = make(MessageType::heartbeat, 1, 2, 0);
  EXPECT_FALSE(f.step(no_term));
  // Found by fuzz_peer_messages: a snapshot at index 2^64 - 1 made the next
  // index wrap to 0 and the core read past its log.
  Message huge_snapshot = make(MessageType::snapshot, 1, 2, 3);
  huge_snapshot.snapshot = std::make_shared<Snapshot>(
      Snapshot{SnapshotMeta{I(~std::uint64_t{0}), T(2), Membership{{N(1), N(2), N(3)}, {}}}, "state"});
  EXPECT_EQ(f.step(huge_snapshot).error().message, "index or term out of range");
  Message huge_term = make(MessageType::heartbeat, 1, 2, ~std::uint64_t{0});
  EXPECT_EQ(f.step(huge_term).error().message, "index or term out of range");
  Message huge_commit = make(MessageType::append_request, 1, 2, 1);
  huge_commit.commit = I(std::uint64_t{1} << 62);
  EXPECT_FALSE(f.step(huge_commit));
  EXPECT_EQ(f.log().last_index(), I(0));
  EXPECT_EQ(f.term(), T(1));
  EXPECT_FALSE(f.has_ready());
}

}  // namespace
}  // namespace minga::raft::test
