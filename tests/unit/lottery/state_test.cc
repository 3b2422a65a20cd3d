#include "apps/lottery/state.h"

#include <gtest/gtest.h>

namespace minga::lottery {
namespace {

pb::LotteryCommand store(std::uint32_t agency, std::uint64_t seq,
                         std::vector<std::pair<std::string, std::uint32_t>> bets) {
  pb::LotteryCommand c;
  auto* s = c.mutable_store();
  s->set_agency(agency);
  s->set_sequence(seq);
  for (auto& [doc, number] : bets) {
    auto* b = s->add_bets();
    b->set_first_name("A");
    b->set_last_name("B");
    b->set_document(doc);
    b->set_birth_date("1990-01-01");
    b->set_number(number);
  }
  return c;
}

pb::LotteryCommand setup(std::uint32_t expected, std::uint32_t number) {
  pb::LotteryCommand c;
  c.mutable_setup()->set_expected_agencies(expected);
  c.mutable_setup()->set_winning_number(number);
  return c;
}

pb::LotteryCommand finish(std::uint32_t agency, std::uint32_t expected, std::uint32_t number = 7574) {
  pb::LotteryCommand c;
  c.mutable_finish()->set_agency(agency);
  c.mutable_finish()->set_expected_agencies(expected);
  c.mutable_finish()->set_winning_number(number);
  return c;
}

const std::string kNotDrawnAdvice =
    "; this node already holds a lottery (round 1, not drawn yet): to run another, start a new round with 'minga "
    "lottery new-round'";

TEST(LotteryState, WinnersArePerAgencyEvenForARepeatedDocument) {
  LotteryState s;
  EXPECT_EQ(s.apply(store(1, 1, {{"111", 7574}, {"222", 1}, {"333", 7574}})).kind, Applied::Kind::stored);
  EXPECT_EQ(s.apply(store(2, 1, {{"111", 7574}, {"444", 7573}})).kind, Applied::Kind::stored);
  EXPECT_EQ(s.apply(store(3, 1, {{"555", 0}})).kind, Applied::Kind::stored);
  EXPECT_EQ(s.winners(1).error().code, Errc::not_yet);
  EXPECT_FALSE(s.apply(finish(1, 3)).drew);
  EXPECT_FALSE(s.apply(finish(2, 3)).drew);
  EXPECT_EQ(s.winners(2).error().code, Errc::not_yet);
  EXPECT_TRUE(s.apply(finish(3, 3)).drew);
  EXPECT_EQ(s.winners(1).value(), (std::vector<std::string>{"111", "333"}));
  EXPECT_EQ(s.winners(2).value(), (std::vector<std::string>{"111"}));
  EXPECT_TRUE(s.winners(3).value().empty());
  // An agency that never bet is not in this lottery.
  EXPECT_EQ(s.winners(9).error().code, Errc::not_found);
  EXPECT_EQ(s.winners(9).error().message,
            "agency 9 is not in this lottery: it sent no bets in round 1 (3 agencies took part)");
  EXPECT_EQ(s.total_bets(), 6u);
}

// Batches reach the log in any order (resent after a lost answer, through
// several nodes): the winners come in the agency's order all the same.
TEST(LotteryState, WinnersFollowTheBatchOrderNotTheOrderBatchesArrived) {
  LotteryState s;
  EXPECT_EQ(s.apply(store(1, 3, {{"5", 7574}, {"6", 7574}})).kind, Applied::Kind::stored);
  EXPECT_EQ(s.apply(store(1, 1, {{"1", 7574}, {"2", 1}, {"3", 7574}})).kind, Applied::Kind::stored);
  EXPECT_EQ(s.apply(store(1, 2, {{"4", 7574}})).kind, Applied::Kind::stored);
  EXPECT_TRUE(s.apply(finish(1, 1)).drew);
  EXPECT_EQ(s.winners(1).value(), (std::vector<std::string>{"1", "3", "4", "5", "6"}));
}

// A snapshot taken mid-round and restored elsewhere draws the same.
TEST(LotteryState, ASnapshotRestoredElsewhereDrawsTheSame) {
  LotteryState a;
  a.apply(setup(2, 7574));
  a.apply(store(1, 2, {{"3", 7574}}));
  a.apply(store(1, 1, {{"1", 7574}, {"2", 9}}));
  a.apply(store(2, 1, {{"4", 7574}}));
  a.apply(finish(1, 2));
  LotteryState b;
  ASSERT_TRUE(b.restore(a.snapshot()).ok());
  EXPECT_EQ(b.snapshot().SerializeAsString(), a.snapshot().SerializeAsString());
  EXPECT_TRUE(b.apply(finish(2, 2)).drew);
  EXPECT_EQ(b.winners(1).value(), (std::vector<std::string>{"1", "3"}));
  EXPECT_EQ(b.winners(2).value(), (std::vector<std::string>{"4"}));
  EXPECT_EQ(b.total_bets(), 4u);
  // A batch sent again after the restore is still a duplicate.
  EXPECT_EQ(b.precheck(store(1, 1, {{"1", 7574}, {"2", 9}})).kind, Applied::Kind::duplicate);
  pb::LotterySnapshot bad = a.snapshot();
  bad.set_total_bets(99);
  EXPECT_EQ(LotteryState().restore(bad).error().message,
            "the lottery snapshot is damaged: the agencies' bets do not add up to the total");
}

TEST(LotteryState, RepeatedBatchIsStoredOnce) {
  LotteryState s;
  EXPECT_EQ(s.apply(store(1, 1, {{"1", 7574}})).kind, Applied::Kind::stored);
  EXPECT_EQ(s.precheck(store(1, 1, {{"1", 7574}})).kind, Applied::Kind::duplicate);
  EXPECT_EQ(s.apply(store(1, 1, {{"1", 7574}})).kind, Applied::Kind::duplicate);
  EXPECT_EQ(s.apply(store(2, 1, {{"1", 7574}})).kind, Applied::Kind::stored);  // same sequence, other agency
  EXPECT_EQ(s.total_bets(), 2u);
  s.apply(finish(1, 2));
  s.apply(finish(2, 2));
  EXPECT_EQ(s.winners(1).value().size(), 1u);
}

TEST(LotteryState, RepeatedNotificationsAreHarmlessAndTheDrawHappensOnce) {
  LotteryState s;
  s.apply(store(1, 1, {{"1", 7574}}));
  EXPECT_FALSE(s.apply(finish(1, 2)).drew);
  EXPECT_FALSE(s.apply(finish(1, 2)).drew);  // the same agency twice does not count twice
  EXPECT_FALSE(s.draw_done());
  EXPECT_TRUE(s.apply(finish(2, 2)).drew);
  EXPECT_FALSE(s.apply(finish(2, 2)).drew);
  EXPECT_FALSE(s.apply(finish(3, 2, 1)).drew);  // a later notification cannot redraw
  EXPECT_EQ(s.winning_number(), 7574u);
}

TEST(LotteryState, NoBetsAfterFinishingOrAfterTheDraw) {
  LotteryState s;
  s.apply(finish(1, 2));
  Applied a = s.apply(store(1, 1, {{"1", 1}}));
  EXPECT_EQ(a.kind, Applied::Kind::refused);
  EXPECT_EQ(a.reason, "agency 1 already said it finished");
  s.apply(finish(2, 2));
  a = s.apply(store(3, 1, {{"1", 1}}));
  EXPECT_EQ(a.kind, Applied::Kind::refused);
  EXPECT_EQ(a.reason,
            "the draw is done; no more bets are taken; this node already holds a lottery (round 1, drawn): to run "
            "another, start a new round with 'minga lottery new-round'");
  EXPECT_EQ(s.apply(store(0, 1, {{"1", 1}})).reason, "agency must be a positive number");
  EXPECT_EQ(s.apply(store(4, 0, {{"1", 1}})).reason, "batch sequence numbers start at 1");
}

TEST(LotteryState, ReplayingTheSameCommandsGivesTheSameDraw) {
  std::vector<pb::LotteryCommand> log = {store(1, 1, {{"9", 42}}), store(2, 1, {{"8", 42}, {"7", 1}}), finish(1, 2, 42),
                                         finish(2, 2, 42)};
  LotteryState a, b;
  for (const auto& c : log) a.apply(c);
  for (const auto& c : log) b.apply(c);
  EXPECT_EQ(a.winners(2).value(), b.winners(2).value());
  EXPECT_EQ(a.winners(2).value(), (std::vector<std::string>{"8"}));
  EXPECT_EQ(a.status({5, 7574}).SerializeAsString(), b.status({5, 7574}).SerializeAsString());
  EXPECT_EQ(a.status({5, 7574}).winning_number(), 42u);  // the draw's, not the configured one
}

// A rerun agency with another batch size or an edited file reuses sequence
// numbers for other bets; answering "duplicate" would lose them.
TEST(LotteryState, SameSequenceWithOtherBetsIsRefusedNotTakenForADuplicate) {
  LotteryState s;
  ASSERT_EQ(s.apply(store(3, 12, {{"1", 5}, {"2", 6}})).kind, Applied::Kind::stored);
  for (const auto& other : {store(3, 12, {{"1", 5}}),                         // fewer bets
                            store(3, 12, {{"1", 5}, {"2", 7}}),               // another number
                            store(3, 12, {{"2", 6}, {"1", 5}}),               // another order
                            store(3, 12, {{"1", 5}, {"2", 6}, {"3", 1}})}) {  // more bets
    for (const Applied& a : {s.precheck(other), s.apply(other)}) {
      EXPECT_EQ(a.kind, Applied::Kind::refused);
      EXPECT_EQ(a.reason, "sequence 12 of agency 3 was already stored with other bets" + kNotDrawnAdvice);
    }
  }
  EXPECT_EQ(s.apply(store(3, 12, {{"1", 5}, {"2", 6}})).kind, Applied::Kind::duplicate);
  EXPECT_EQ(s.total_bets(), 2u);
  // After finishing, a true duplicate is still recognised, a changed one refused.
  s.apply(finish(3, 9));
  EXPECT_EQ(s.precheck(store(3, 12, {{"1", 5}, {"2", 6}})).kind, Applied::Kind::duplicate);
  EXPECT_EQ(s.precheck(store(3, 12, {{"1", 5}})).reason,
            "sequence 12 of agency 3 was already stored with other bets" + kNotDrawnAdvice);
}

TEST(LotteryState, EveryFieldOfABetCountsInTheDigest) {
  pb::LotteryCommand base = store(1, 1, {{"123", 5}});
  const std::uint32_t d = bets_digest(base.store());
  for (int field = 0; field < 5; ++field) {
    pb::LotteryCommand c = base;
    auto* b = c.mutable_store()->mutable_bets(0);
    if (field == 0) b->set_first_name("Ab");
    if (field == 1) b->set_last_name("b");
    if (field == 2) b->set_document("124");
    if (field == 3) b->set_birth_date("1990-01-02");
    if (field == 4) b->set_number(6);
    EXPECT_NE(bets_digest(c.store()), d) << field;
  }
  pb::LotteryCommand moved = base;  // "A"+"B" vs "AB"+"": field boundaries count
  moved.mutable_store()->mutable_bets(0)->set_first_name("AB");
  moved.mutable_store()->mutable_bets(0)->set_last_name("");
  EXPECT_NE(bets_digest(moved.store()), d);
  EXPECT_EQ(bets_digest(store(2, 7, {{"123", 5}}).store()), d);  // agency and sequence are not part of it
}

// The first Setup fixes the count and the number; Finish commands written
// under another configuration, and later Setups, change nothing.
TEST(LotteryState, TheFirstSetupFixesTheDrawWhateverLaterCommandsSay) {
  LotteryState s;
  EXPECT_EQ(s.apply(setup(3, 42)).kind, Applied::Kind::configured);
  EXPECT_EQ(s.apply(setup(1, 7574)).kind, Applied::Kind::configured);  // ignored
  s.apply(store(1, 1, {{"9", 42}, {"8", 7574}}));
  EXPECT_FALSE(s.apply(finish(1, 1, 7574)).drew);
  EXPECT_FALSE(s.apply(finish(2, 1, 7574)).drew);
  EXPECT_EQ(s.status({1, 7574}).expected_agencies(), 3u);
  EXPECT_EQ(s.status({1, 7574}).winning_number(), 42u);
  EXPECT_TRUE(s.apply(finish(3, 1, 7574)).drew);
  EXPECT_EQ(s.winning_number(), 42u);
  EXPECT_EQ(s.winners(1).value(), (std::vector<std::string>{"9"}));
  EXPECT_EQ(s.effective_params({5, 1}).expected_agencies, 3u);
  EXPECT_EQ(s.apply(setup(0, 1)).reason, "a lottery needs at least one agency and a winning number 0-9999");
}

// Logs written before Setup existed draw with what the Finish records carry.
TEST(LotteryState, WithoutSetupTheFinishRecordsDecide) {
  LotteryState s;
  EXPECT_FALSE(s.params().has_value());
  s.apply(store(1, 1, {{"9", 42}}));
  EXPECT_EQ(s.status({5, 7574}).expected_agencies(), 5u);  // nothing recorded: the configured values
  EXPECT_TRUE(s.apply(finish(1, 1, 42)).drew);
  EXPECT_EQ(s.status({5, 7574}).expected_agencies(), 1u);
  EXPECT_EQ(s.status({5, 7574}).winning_number(), 42u);
}

pb::LotteryCommand new_round(bool force, std::uint32_t expected = 2, std::uint32_t number = 42) {
  pb::LotteryCommand c;
  c.mutable_new_round()->set_force(force);
  c.mutable_new_round()->set_expected_agencies(expected);
  c.mutable_new_round()->set_winning_number(number);
  return c;
}

TEST(LotteryState, ANewRoundAfterTheDrawStartsAfreshWithItsOwnParameters) {
  LotteryState s;
  s.apply(setup(1, 7574));
  s.apply(store(1, 1, {{"1", 7574}}));
  ASSERT_TRUE(s.apply(finish(1, 1)).drew);
  EXPECT_EQ(s.round(), 1u);
  const Applied a = s.apply(new_round(false));
  EXPECT_EQ(a.kind, Applied::Kind::new_round);
  EXPECT_EQ(a.previous_bets, 1u);
  EXPECT_TRUE(a.previous_drawn);
  EXPECT_EQ(s.round(), 2u);
  EXPECT_FALSE(s.draw_done());
  EXPECT_EQ(s.total_bets(), 0u);
  EXPECT_EQ(s.params()->expected_agencies, 2u);
  EXPECT_EQ(s.winners(1).error().code, Errc::not_yet);
  // The same sequence is new in the new round.
  EXPECT_EQ(s.apply(store(1, 1, {{"5", 42}})).kind, Applied::Kind::stored);
  EXPECT_FALSE(s.apply(finish(1, 9)).drew);  // the round's own count (2), not the Finish's
  EXPECT_TRUE(s.apply(finish(2, 9)).drew);
  EXPECT_EQ(s.winners(1).value(), (std::vector<std::string>{"5"}));
  EXPECT_EQ(s.status({5, 7574}).round(), 2u);
}

TEST(LotteryState, ANewRoundIsRefusedWhileTheRoundIsUnderWayUnlessForced) {
  LotteryState s;
  s.apply(setup(3, 7574));
  EXPECT_EQ(s.precheck(new_round(false)).kind, Applied::Kind::new_round);  // nothing sent yet
  s.apply(store(1, 1, {{"1", 1}}));
  s.apply(store(2, 1, {{"2", 2}}));
  s.apply(store(4, 1, {{"4", 4}}));
  s.apply(finish(2, 3));
  const Applied refused = s.apply(new_round(false));
  EXPECT_EQ(refused.kind, Applied::Kind::refused);
  EXPECT_EQ(refused.reason,
            "round 1 is under way: 1 of 3 agencies finished, agencies 1, 4 are still sending; wait for the draw, or "
            "pass --force to set this round's 3 bets aside");
  EXPECT_EQ(s.round(), 1u);
  EXPECT_EQ(s.total_bets(), 3u);
  EXPECT_EQ(s.agencies_sending(), (std::vector<std::uint32_t>{1, 4}));
  const Applied forced = s.apply(new_round(true));
  EXPECT_EQ(forced.kind, Applied::Kind::new_round);
  EXPECT_EQ(forced.previous_bets, 3u);
  EXPECT_FALSE(forced.previous_drawn);
  EXPECT_EQ(s.round(), 2u);
}

TEST(LotteryState, ReplayingRoundsGivesTheSameState) {
  const std::vector<pb::LotteryCommand> log = {setup(1, 7574),         store(1, 1, {{"1", 7574}}), finish(1, 1),
                                               new_round(false, 1, 3), store(1, 1, {{"2", 3}}),    finish(1, 1)};
  LotteryState a, b;
  for (const auto& c : log) a.apply(c);
  for (const auto& c : log) b.apply(c);
  EXPECT_EQ(a.status({5, 7574}).SerializeAsString(), b.status({5, 7574}).SerializeAsString());
  EXPECT_EQ(a.round(), 2u);
  EXPECT_EQ(a.winners(1).value(), (std::vector<std::string>{"2"}));
  EXPECT_EQ(a.winning_number(), 3u);
}

}  // namespace
}  // namespace minga::lottery
