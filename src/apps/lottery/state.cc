#include "apps/lottery/state.h"

#include <algorithm>

#include "apps/lottery/bets.h"
#include "base/assert.h"
#include "base/crc32c.h"
#include "base/endian.h"

namespace minga::lottery {
namespace {

Applied refused(std::string reason) {
  Applied a;
  a.reason = std::move(reason);
  return a;
}

std::uint32_t extend(std::uint32_t crc, std::uint32_t v) {
  std::string le;
  put_u32(le, v);
  return crc32c(le, crc);
}

std::uint32_t extend(std::uint32_t crc, const std::string& field) {
  return crc32c(field, extend(crc, static_cast<std::uint32_t>(field.size())));
}

std::string agency_list(const std::vector<std::uint32_t>& ids) {
  std::string out;
  for (auto id : ids) out += (out.empty() ? "" : ", ") + std::to_string(id);
  return out;
}

}  // namespace

std::string new_round_advice(std::uint32_t round, bool drawn) {
  return "; this node already holds a lottery (round " + std::to_string(round) + ", " +
         (drawn ? "drawn" : "not drawn yet") + "): to run another, start a new round with 'minga lottery new-round'";
}

std::uint32_t bets_digest(const pb::LotteryCommand::StoreBets& store) {
  std::uint32_t crc = 0;
  for (const auto& bet : store.bets()) {
    crc = extend(crc, bet.first_name());
    crc = extend(crc, bet.last_name());
    crc = extend(crc, bet.document());
    crc = extend(crc, bet.birth_date());
    crc = extend(crc, bet.number());
  }
  return crc;
}

Applied LotteryState::check_store(const pb::LotteryCommand::StoreBets& s, std::uint32_t digest) const {
  if (s.agency() == 0) return refused("agency must be a positive number");
  if (s.sequence() == 0) return refused("batch sequence numbers start at 1");
  auto it = agencies_.find(s.agency());
  if (it != agencies_.end()) {
    auto seen = it->second.digests.find(s.sequence());
    if (seen != it->second.digests.end()) {
      // The same sequence with other bets: the agency was rerun with another
      // batch size or file. Answering "duplicate" would lose these bets.
      if (seen->second != digest) {
        return refused("sequence " + std::to_string(s.sequence()) + " of agency " + std::to_string(s.agency()) +
                       " was already stored with other bets" + new_round_advice(round_, draw_done_));
      }
      Applied a;
      a.kind = Applied::Kind::duplicate;
      return a;
    }
  }
  if (draw_done_) return refused("the draw is done; no more bets are taken" + new_round_advice(round_, true));
  if (it != agencies_.end() && it->second.finished) {
    return refused("agency " + std::to_string(s.agency()) + " already said it finished");
  }
  Applied a;
  a.kind = Applied::Kind::stored;
  a.stored = static_cast<std::uint32_t>(s.bets_size());
  return a;
}

Applied LotteryState::precheck(const pb::LotteryCommand& command) const {
  if (command.has_store()) return check_store(command.store(), bets_digest(command.store()));
  if (command.has_finish()) {
    if (command.finish().agency() == 0) return refused("agency must be a positive number");
    Applied a;
    a.kind = Applied::Kind::finished;
    return a;
  }
  if (command.has_setup()) {
    const auto& p = command.setup();
    if (p.expected_agencies() == 0 || p.winning_number() > kMaxNumber) {
      return refused("a lottery needs at least one agency and a winning number 0-9999");
    }
    Applied a;
    a.kind = Applied::Kind::configured;
    return a;
  }
  if (command.has_new_round()) return check_new_round(command.new_round());
  if (command.has_migrate()) {
    Applied a;
    a.kind = Applied::Kind::migrated;
    return a;
  }
  return refused("empty lottery command");
}

std::vector<std::uint32_t> LotteryState::agencies_sending() const {
  std::vector<std::uint32_t> ids;
  if (draw_done_) return ids;
  for (const auto& [id, ag] : agencies_) {
    if (!ag.finished && ag.bets > 0) ids.push_back(id);
  }
  return ids;
}

Applied LotteryState::check_new_round(const pb::LotteryCommand::NewRound& n) const {
  if (n.expected_agencies() == 0 || n.winning_number() > kMaxNumber) {
    return refused("a lottery needs at least one agency and a winning number 0-9999");
  }
  // Under way: something was sent and the draw has not happened. Setting it
  // aside would throw away bets that agencies count on.
  if (!n.force() && !draw_done_ && !agencies_.empty()) {
    const std::vector<std::uint32_t> sending = agencies_sending();
    const LotteryParams p = params_.value_or(LotteryParams{});
    std::string reason = "round " + std::to_string(round_) + " is under way: " + std::to_string(finished_agencies()) +
                         " of " + std::to_string(p.expected_agencies) + " agencies finished";
    if (!sending.empty()) {
      reason += sending.size() == 1 ? ", agency " + agency_list(sending) + " is still sending"
                                    : ", agencies " + agency_list(sending) + " are still sending";
    }
    return refused(reason + "; wait for the draw, or pass --force to set this round's " + std::to_string(total_bets_) +
                   " bets aside");
  }
  Applied a;
  a.kind = Applied::Kind::new_round;
  a.previous_bets = total_bets_;
  a.previous_drawn = draw_done_;
  return a;
}

Applied LotteryState::apply_new_round(const pb::LotteryCommand::NewRound& n) {
  Applied a = check_new_round(n);
  if (a.kind == Applied::Kind::refused) return a;
  agencies_.clear();
  total_bets_ = 0;
  draw_done_ = false;
  drawn_ = LotteryParams{};
  params_ = LotteryParams{n.expected_agencies(), n.winning_number()};
  ++round_;
  return a;
}

Applied LotteryState::apply(const pb::LotteryCommand& command) {
  if (command.has_migrate()) return apply_migrate(command.migrate());
  migration_closed_ = true;
  return apply_one(command);
}

Applied LotteryState::apply_migrate(const pb::LotteryCommand::Migrate& m) {
  if (m.part() != migrated_parts_ || m.part() >= m.parts()) {
    return refused("migration part " + std::to_string(m.part()) + " of " + std::to_string(m.parts()) +
                   " does not follow the " + std::to_string(migrated_parts_) + " part(s) migrated");
  }
  if (m.part() == 0 && migration_closed_) {
    return refused("the lottery already holds commands: an old command log can only be migrated into an empty one");
  }
  for (const auto& c : m.commands()) {
    if (!c.has_migrate()) apply_one(c);
  }
  ++migrated_parts_;
  Applied a;
  a.kind = Applied::Kind::migrated;
  return a;
}

Applied LotteryState::apply_one(const pb::LotteryCommand& command) {
  if (command.has_store()) {
    const auto& s = command.store();
    const std::uint32_t digest = bets_digest(s);
    Applied a = check_store(s, digest);
    if (a.kind != Applied::Kind::stored) return a;
    Agency& ag = agencies_[s.agency()];
    ag.digests.emplace(s.sequence(), digest);
    std::uint32_t position = 0;
    for (const auto& bet : s.bets()) {
      ag.stored.push_back({static_cast<std::uint16_t>(bet.number()), bet.document(), s.sequence(), position++});
    }
    ag.bets += static_cast<std::uint64_t>(s.bets_size());
    total_bets_ += static_cast<std::uint64_t>(s.bets_size());
    return a;
  }
  if (command.has_new_round()) return apply_new_round(command.new_round());
  Applied a = precheck(command);
  if (a.kind == Applied::Kind::refused) return a;
  if (command.has_finish()) return apply_finish(command.finish());
  if (!params_) params_ = LotteryParams{command.setup().expected_agencies(), command.setup().winning_number()};
  return a;
}

Applied LotteryState::apply_finish(const pb::LotteryCommand::Finish& f) {
  Applied a;
  a.kind = Applied::Kind::finished;
  agencies_[f.agency()].finished = true;
  const LotteryParams p = params_.value_or(LotteryParams{f.expected_agencies(), f.winning_number()});
  if (!draw_done_ && p.expected_agencies > 0 && finished_agencies() >= p.expected_agencies) {
    drawn_ = p;
    draw(p.winning_number);
    a.drew = true;
  }
  return a;
}

void LotteryState::draw(std::uint32_t winning_number) {
  MINGA_ASSERT(!draw_done_, "the draw happens once");
  draw_done_ = true;
  for (auto& [id, ag] : agencies_) {
    // Batches may be applied in any order (resent after a lost answer, or
    // through several nodes): the agency's own order is what counts.
    std::vector<const StoredBet*> won;
    for (const auto& bet : ag.stored) {
      if (bet.number == winning_number) won.push_back(&bet);
    }
    std::sort(won.begin(), won.end(), [](const StoredBet* a, const StoredBet* b) {
      return a->sequence != b->sequence ? a->sequence < b->sequence : a->position < b->position;
    });
    for (const StoredBet* bet : won) ag.winners.push_back(bet->document);
    ag.stored.clear();
    ag.stored.shrink_to_fit();
  }
}

Result<std::vector<std::string>> LotteryState::winners(std::uint32_t agency) const {
  if (!draw_done_) return Error{Errc::not_yet, "the draw has not happened yet"};
  auto it = agencies_.find(agency);
  if (it == agencies_.end()) {
    return Error{Errc::not_found, "agency " + std::to_string(agency) +
                                      " is not in this lottery: it sent no bets in round " + std::to_string(round_) +
                                      " (" + std::to_string(agencies_.size()) + " agencies took part)"};
  }
  return it->second.winners;
}

std::size_t LotteryState::finished_agencies() const {
  std::size_t n = 0;
  for (const auto& [id, ag] : agencies_) n += ag.finished ? 1 : 0;
  return n;
}

LotteryParams LotteryState::effective_params(const LotteryParams& configured) const {
  if (draw_done_) return drawn_;
  return params_.value_or(configured);
}

pb::LotteryStatusResponse LotteryState::status(const LotteryParams& configured) const {
  const LotteryParams p = effective_params(configured);
  pb::LotteryStatusResponse s;
  s.set_expected_agencies(p.expected_agencies);
  s.set_draw_done(draw_done_);
  s.set_winning_number(p.winning_number);
  s.set_total_bets(total_bets_);
  s.set_round(round_);
  for (const auto& [id, ag] : agencies_) {
    auto* a = s.add_agencies();
    a->set_agency(id);
    a->set_bets(ag.bets);
    a->set_batches(ag.digests.size());
    a->set_finished(ag.finished);
    a->set_winners(ag.winners.size());
  }
  return s;
}

pb::LotterySnapshot LotteryState::snapshot() const {
  pb::LotterySnapshot out;
  for (const auto& [id, ag] : agencies_) {
    auto* a = out.add_agencies();
    a->set_agency(id);
    a->set_bets(ag.bets);
    std::vector<std::pair<std::uint64_t, std::uint32_t>> digests(ag.digests.begin(), ag.digests.end());
    std::sort(digests.begin(), digests.end());
    for (const auto& [seq, crc] : digests) {
      auto* d = a->add_digests();
      d->set_sequence(seq);
      d->set_crc(crc);
    }
    a->set_finished(ag.finished);
    for (const auto& bet : ag.stored) {
      auto* b = a->add_stored();
      b->set_number(bet.number);
      b->set_document(bet.document);
      b->set_sequence(bet.sequence);
      b->set_position(bet.position);
    }
    for (const auto& w : ag.winners) a->add_winners(w);
  }
  out.set_has_params(params_.has_value());
  if (params_) {
    out.set_expected_agencies(params_->expected_agencies);
    out.set_winning_number(params_->winning_number);
  }
  out.set_total_bets(total_bets_);
  out.set_draw_done(draw_done_);
  out.set_drawn_expected_agencies(drawn_.expected_agencies);
  out.set_drawn_winning_number(drawn_.winning_number);
  out.set_round(round_);
  out.set_migrated_parts(migrated_parts_);
  out.set_migration_closed(migration_closed_);
  return out;
}

Status LotteryState::restore(const pb::LotterySnapshot& s) {
  auto bad = [](std::string what) { return Error{Errc::internal, "the lottery snapshot is damaged: " + what}; };
  std::map<std::uint32_t, Agency> agencies;
  std::uint64_t total = 0;
  for (const auto& a : s.agencies()) {
    if (a.agency() == 0 || !agencies.emplace(a.agency(), Agency{}).second) {
      return bad("agency " + std::to_string(a.agency()) + " is listed twice or is 0");
    }
    Agency& ag = agencies[a.agency()];
    ag.bets = a.bets();
    for (const auto& d : a.digests()) ag.digests.emplace(d.sequence(), d.crc());
    ag.finished = a.finished();
    ag.stored.reserve(static_cast<std::size_t>(a.stored_size()));
    for (const auto& b : a.stored()) {
      if (b.number() > kMaxNumber) return bad("a bet on " + std::to_string(b.number()));
      ag.stored.push_back({static_cast<std::uint16_t>(b.number()), b.document(), b.sequence(), b.position()});
    }
    ag.winners.assign(a.winners().begin(), a.winners().end());
    total += ag.bets;
  }
  if (total != s.total_bets()) return bad("the agencies' bets do not add up to the total");
  if (s.round() == 0) return bad("round 0");
  agencies_ = std::move(agencies);
  params_.reset();
  if (s.has_params()) params_ = LotteryParams{s.expected_agencies(), s.winning_number()};
  total_bets_ = s.total_bets();
  draw_done_ = s.draw_done();
  drawn_ = LotteryParams{s.drawn_expected_agencies(), s.drawn_winning_number()};
  round_ = s.round();
  migrated_parts_ = s.migrated_parts();
  migration_closed_ = s.migration_closed();
  return ok_status();
}

}  // namespace minga::lottery
