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

pb::LotteryCommand finish(std::uint32_t agency, std::uint32_t expected, std::uint32_t number = 7574) {
  pb::LotteryCommand c;
  c.mutable_finish()->set_agency(agency);
  c.mutable_finish()->set_expected_agencies(expected);
  c.mutable_finish()->set_winning_number(number);
  return c;
}

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
  EXPECT_TRUE(s.winners(9).value().empty());  // an agency that never bet
  EXPECT_EQ(s.total_bets(), 6u);
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
  EXPECT_EQ(a.reason, "the draw is done; no more bets are taken");
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
  EXPECT_EQ(a.status(5, 7574).SerializeAsString(), b.status(5, 7574).SerializeAsString());
  EXPECT_EQ(a.status(5, 7574).winning_number(), 42u);  // the draw's, not the configured one
}

}  // namespace
}  // namespace minga::lottery
