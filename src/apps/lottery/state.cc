#include "apps/lottery/state.h"

#include "base/assert.h"

namespace minga::lottery {

Applied LotteryState::precheck(const pb::LotteryCommand& command) const {
  Applied a;
  if (command.has_store()) {
    const auto& s = command.store();
    if (s.agency() == 0) {
      a.reason = "agency must be a positive number";
      return a;
    }
    if (s.sequence() == 0) {
      a.reason = "batch sequence numbers start at 1";
      return a;
    }
    auto it = agencies_.find(s.agency());
    if (it != agencies_.end() && it->second.sequences.count(s.sequence()) > 0) {
      a.kind = Applied::Kind::duplicate;
      return a;
    }
    if (draw_done_) {
      a.reason = "the draw is done; no more bets are taken";
      return a;
    }
    if (it != agencies_.end() && it->second.finished) {
      a.reason = "agency " + std::to_string(s.agency()) + " already said it finished";
      return a;
    }
    a.kind = Applied::Kind::stored;
    a.stored = static_cast<std::uint32_t>(s.bets_size());
    return a;
  }
  if (command.has_finish()) {
    if (command.finish().agency() == 0) {
      a.reason = "agency must be a positive number";
      return a;
    }
    a.kind = Applied::Kind::finished;
    return a;
  }
  a.reason = "empty lottery command";
  return a;
}

Applied LotteryState::apply(const pb::LotteryCommand& command) {
  Applied a = precheck(command);
  if (a.kind == Applied::Kind::refused || a.kind == Applied::Kind::duplicate) return a;
  if (command.has_store()) {
    const auto& s = command.store();
    Agency& ag = agencies_[s.agency()];
    ag.sequences.insert(s.sequence());
    for (const auto& bet : s.bets()) ag.stored.push_back({static_cast<std::uint16_t>(bet.number()), bet.document()});
    ag.bets += static_cast<std::uint64_t>(s.bets_size());
    total_bets_ += static_cast<std::uint64_t>(s.bets_size());
    return a;
  }
  const auto& f = command.finish();
  agencies_[f.agency()].finished = true;
  if (!draw_done_ && f.expected_agencies() > 0 && finished_agencies() >= f.expected_agencies()) {
    draw_expected_ = f.expected_agencies();
    draw(f.winning_number());
    a.drew = true;
  }
  return a;
}

void LotteryState::draw(std::uint32_t winning_number) {
  MINGA_ASSERT(!draw_done_, "the draw happens once");
  draw_done_ = true;
  winning_number_ = winning_number;
  for (auto& [id, ag] : agencies_) {
    for (const auto& bet : ag.stored) {
      if (bet.number == winning_number) ag.winners.push_back(bet.document);
    }
    ag.stored.clear();
    ag.stored.shrink_to_fit();
  }
}

Result<std::vector<std::string>> LotteryState::winners(std::uint32_t agency) const {
  if (!draw_done_) return Error{Errc::not_yet, "the draw has not happened yet"};
  auto it = agencies_.find(agency);
  if (it == agencies_.end()) return std::vector<std::string>{};
  return it->second.winners;
}

std::size_t LotteryState::finished_agencies() const {
  std::size_t n = 0;
  for (const auto& [id, ag] : agencies_) n += ag.finished ? 1 : 0;
  return n;
}

pb::LotteryStatusResponse LotteryState::status(std::uint32_t expected_agencies, std::uint32_t configured_number) const {
  pb::LotteryStatusResponse s;
  s.set_expected_agencies(draw_done_ ? draw_expected_ : expected_agencies);
  s.set_draw_done(draw_done_);
  s.set_winning_number(draw_done_ ? winning_number_ : configured_number);
  s.set_total_bets(total_bets_);
  for (const auto& [id, ag] : agencies_) {
    auto* a = s.add_agencies();
    a->set_agency(id);
    a->set_bets(ag.bets);
    a->set_batches(ag.sequences.size());
    a->set_finished(ag.finished);
    a->set_winners(ag.winners.size());
  }
  return s;
}

}  // namespace minga::lottery
