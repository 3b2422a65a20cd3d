#include "apps/lottery/lottery_app.h"

#include <filesystem>
#include <future>
#include <string>

#include "apps/lottery/bets.h"
#include "base/json.h"
#include "base/log.h"
#include "base/metrics.h"

namespace minga::lottery {
namespace {

using Outcome = pb::LotteryResponse::Outcome;

pb::LotteryResponse fail(std::string reason, int bad_index = -1) {
  pb::LotteryResponse r;
  r.set_outcome(pb::LotteryResponse::FAIL);
  r.set_reason(std::move(reason));
  r.set_bad_index(bad_index);
  return r;
}

template <class T>
bool parse(std::string_view body, T& out) {
  return out.ParseFromArray(body.data(), static_cast<int>(body.size()));
}

}  // namespace

Result<LotteryConfig> load_config(const apps::Settings& settings) {
  LotteryConfig c;
  auto agencies = settings.get_int("lottery.agencies", "MINGA_LOTTERY_AGENCIES", kDefaultAgencies);
  if (!agencies.ok()) return agencies.error();
  if (agencies.value() < 1 || agencies.value() > 100000) {
    return Error{Errc::invalid_argument, "lottery.agencies (MINGA_LOTTERY_AGENCIES): expected 1-100000, got " +
                                             std::to_string(agencies.value())};
  }
  auto number = settings.get_int("lottery.winning_number", "MINGA_LOTTERY_WINNING_NUMBER", kDefaultWinningNumber);
  if (!number.ok()) return number.error();
  if (number.value() < 0 || number.value() > kMaxNumber) {
    return Error{Errc::invalid_argument,
                 "lottery.winning_number (MINGA_LOTTERY_WINNING_NUMBER): expected 0-9999, got " +
                     std::to_string(number.value())};
  }
  c.expected_agencies = static_cast<std::uint32_t>(agencies.value());
  c.winning_number = static_cast<std::uint32_t>(number.value());
  return c;
}

struct LotteryApp::Impl {
  LotteryConfig config;
  std::unique_ptr<CommandLog> log;  // set once in start(), closed (never reset) in stop()
  bool stopped = false;
  std::mutex mu;  // guards state; apply() runs on the log's thread
  LotteryState state;
  metrics::Counter* bets_stored = nullptr;
  metrics::Counter* batches_stored = nullptr;
  metrics::Counter* batches_refused = nullptr;

  void on_bets(const pb::LotteryCommand& command, std::size_t count, apps::ResponderPtr responder);
  void on_batch(std::string_view body, apps::ResponderPtr responder);
  void on_single(std::string_view body, apps::ResponderPtr responder);
  void on_finished(std::string_view body, apps::ResponderPtr responder);
  void on_winners(std::string_view body, apps::ResponderPtr responder);
  void on_new_round(std::string_view body, apps::ResponderPtr responder);
  std::string status_json();
  LotteryParams configured() const { return {config.expected_agencies, config.winning_number}; }
  Status open_log(const std::filesystem::path& path);
  Status fix_params();
};

namespace {

void log_received(std::string_view result, std::size_t count) {
  log::info("apuesta_recibida", result, {{"cantidad", std::to_string(count)}});
}

}  // namespace

void LotteryApp::Impl::on_bets(const pb::LotteryCommand& command, std::size_t count, apps::ResponderPtr responder) {
  const auto& store = command.store();
  Applied pre;
  {
    std::lock_guard lock(mu);
    pre = state.precheck(command);
  }
  if (pre.kind == Applied::Kind::refused) {
    log_received("fail", count);
    batches_refused->inc();
    responder->reply(pb::LOTTERY_RESPONSE, fail(pre.reason));
    return;
  }
  if (pre.kind == Applied::Kind::duplicate) {
    log::info("apuesta_duplicada", "success",
              {{"agencia", std::to_string(store.agency())},
               {"lote", std::to_string(store.sequence())},
               {"cantidad", std::to_string(count)}});
    pb::LotteryResponse r;
    r.set_outcome(pb::LotteryResponse::OK);
    r.set_duplicate(true);
    r.set_bad_index(-1);
    responder->reply(pb::LOTTERY_RESPONSE, r);
    return;
  }
  // Shares the command with the callback instead of copying the bets twice.
  auto shared = std::make_shared<pb::LotteryCommand>(command);
  log->append(*shared, [this, shared, count, responder = std::move(responder)](Status durable) {
    const auto& s = shared->store();
    if (!durable.ok()) {
      log_received("fail", count);
      batches_refused->inc();
      if (durable.error().code == Errc::busy || durable.error().code == Errc::shutting_down) {
        responder->fail(durable.error());
      } else {
        responder->reply(pb::LOTTERY_RESPONSE, fail("not stored: " + durable.error().message));
      }
      return;
    }
    Applied a;
    {
      std::lock_guard lock(mu);
      a = state.apply(*shared);
    }
    pb::LotteryResponse r;
    r.set_bad_index(-1);
    switch (a.kind) {
      case Applied::Kind::stored: {
        const bool single = s.single();
        const auto level = single ? spdlog::level::info : spdlog::level::debug;
        if (spdlog::default_logger_raw()->should_log(level)) {
          for (const auto& bet : s.bets()) {
            log::emit(level, "apuesta_almacenada", "success",
                      {{"dni", bet.document()}, {"numero", std::to_string(bet.number())}});
          }
        }
        log_received("success", count);
        bets_stored->inc(count);
        batches_stored->inc();
        r.set_outcome(pb::LotteryResponse::OK);
        r.set_stored(a.stored);
        break;
      }
      case Applied::Kind::duplicate:  // a copy sent again before the first was durable
        log::info("apuesta_duplicada", "success",
                  {{"agencia", std::to_string(s.agency())},
                   {"lote", std::to_string(s.sequence())},
                   {"cantidad", std::to_string(count)}});
        r.set_outcome(pb::LotteryResponse::OK);
        r.set_duplicate(true);
        break;
      default:
        log_received("fail", count);
        batches_refused->inc();
        r = fail(a.reason);
        break;
    }
    responder->reply(pb::LOTTERY_RESPONSE, r);
  });
}

void LotteryApp::Impl::on_batch(std::string_view body, apps::ResponderPtr responder) {
  pb::BetBatchRequest req;
  if (!parse(body, req)) {
    responder->fail(Errc::bad_frame, "cannot decode BetBatchRequest");
    return;
  }
  const auto count = static_cast<std::size_t>(req.bets_size());
  if (count == 0) {
    log_received("fail", 0);
    responder->reply(pb::LOTTERY_RESPONSE, fail("a batch needs at least one bet"));
    return;
  }
  for (int i = 0; i < req.bets_size(); ++i) {
    if (auto st = validate_bet(req.bets(i)); !st.ok()) {
      log_received("fail", count);
      batches_refused->inc();
      responder->reply(
          pb::LOTTERY_RESPONSE,
          fail("bet " + std::to_string(i) + ": " + st.error().message + "; nothing of the batch was stored", i));
      return;
    }
  }
  pb::LotteryCommand command;
  auto* store = command.mutable_store();
  store->set_agency(req.agency());
  store->set_sequence(req.sequence());
  store->mutable_bets()->Swap(req.mutable_bets());
  on_bets(command, count, std::move(responder));
}

void LotteryApp::Impl::on_single(std::string_view body, apps::ResponderPtr responder) {
  pb::BetRequest req;
  if (!parse(body, req)) {
    responder->fail(Errc::bad_frame, "cannot decode BetRequest");
    return;
  }
  if (auto st = validate_bet(req.bet()); !st.ok()) {
    log_received("fail", 1);
    batches_refused->inc();
    responder->reply(pb::LOTTERY_RESPONSE, fail(st.error().message, 0));
    return;
  }
  pb::LotteryCommand command;
  auto* store = command.mutable_store();
  store->set_agency(req.agency());
  store->set_sequence(req.sequence());
  store->set_single(true);
  *store->add_bets() = req.bet();
  on_bets(command, 1, std::move(responder));
}

void LotteryApp::Impl::on_finished(std::string_view body, apps::ResponderPtr responder) {
  pb::AgencyFinishedRequest req;
  if (!parse(body, req)) {
    responder->fail(Errc::bad_frame, "cannot decode AgencyFinishedRequest");
    return;
  }
  pb::LotteryCommand command;
  auto* f = command.mutable_finish();
  f->set_agency(req.agency());
  {
    std::lock_guard lock(mu);
    const LotteryParams p = state.effective_params(configured());
    f->set_expected_agencies(p.expected_agencies);
    f->set_winning_number(p.winning_number);
    const Applied pre = state.precheck(command);
    if (pre.kind == Applied::Kind::refused) {
      responder->reply(pb::LOTTERY_RESPONSE, fail(pre.reason));
      return;
    }
    if (state.draw_done()) {  // a repeated notification after the draw changes nothing
      pb::LotteryResponse r;
      r.set_outcome(pb::LotteryResponse::OK);
      r.set_bad_index(-1);
      responder->reply(pb::LOTTERY_RESPONSE, r);
      return;
    }
  }
  auto shared = std::make_shared<pb::LotteryCommand>(std::move(command));
  log->append(*shared, [this, shared, responder = std::move(responder)](Status durable) {
    if (!durable.ok()) {
      responder->fail(durable.error());
      return;
    }
    {
      // Logged under the lock: a winners query sees the draw only after
      // the sorteo line is out, so that line always comes first.
      std::lock_guard lock(mu);
      const Applied a = state.apply(*shared);
      const std::size_t finished = state.finished_agencies();
      log::info("agencia_finalizada", "success",
                {{"agencia", std::to_string(shared->finish().agency())},
                 {"finalizadas", std::to_string(finished)},
                 {"esperadas", std::to_string(shared->finish().expected_agencies())}});
      if (a.drew) {
        log::info("sorteo", "success",
                  {{"numero_ganador", std::to_string(shared->finish().winning_number())},
                   {"agencias", std::to_string(finished)}});
      }
    }
    pb::LotteryResponse r;
    r.set_outcome(pb::LotteryResponse::OK);
    r.set_bad_index(-1);
    responder->reply(pb::LOTTERY_RESPONSE, r);
  });
}

void LotteryApp::Impl::on_winners(std::string_view body, apps::ResponderPtr responder) {
  pb::WinnersRequest req;
  if (!parse(body, req)) {
    responder->fail(Errc::bad_frame, "cannot decode WinnersRequest");
    return;
  }
  pb::LotteryResponse r;
  r.set_bad_index(-1);
  {
    std::lock_guard lock(mu);
    auto winners = state.winners(req.agency());
    if (!winners.ok() && winners.error().code == Errc::not_yet) {
      r.set_outcome(pb::LotteryResponse::NOT_YET);
      r.set_reason(winners.error().message);
      r.set_agencies_finished(static_cast<std::uint32_t>(state.finished_agencies()));
      r.set_expected_agencies(state.effective_params(configured()).expected_agencies);
    } else if (!winners.ok()) {
      r.set_outcome(pb::LotteryResponse::FAIL);
      r.set_reason(winners.error().message);
    } else {
      r.set_outcome(pb::LotteryResponse::OK);
      for (auto& d : winners.value()) r.add_documents(std::move(d));
    }
  }
  if (r.outcome() == pb::LotteryResponse::OK) {
    log::info("ganadores", "success",
              {{"agencia", std::to_string(req.agency())}, {"cant_ganadores", std::to_string(r.documents_size())}});
  }
  responder->reply(pb::LOTTERY_RESPONSE, r);
}

// A new round goes through the log like any other command, so a restart
// (or, in a cluster, every node) sets the same round aside.
void LotteryApp::Impl::on_new_round(std::string_view body, apps::ResponderPtr responder) {
  pb::NewRoundRequest req;
  if (!parse(body, req)) {
    responder->fail(Errc::bad_frame, "cannot decode NewRoundRequest");
    return;
  }
  pb::LotteryCommand command;
  auto* n = command.mutable_new_round();
  n->set_force(req.force());
  n->set_expected_agencies(config.expected_agencies);
  n->set_winning_number(config.winning_number);
  {
    std::lock_guard lock(mu);
    const Applied pre = state.precheck(command);
    if (pre.kind == Applied::Kind::refused) {
      log::info("lottery_new_round", "fail", {{"round", std::to_string(state.round())}, {"reason", pre.reason}});
      responder->reply(pb::LOTTERY_RESPONSE, fail(pre.reason));
      return;
    }
  }
  auto shared = std::make_shared<pb::LotteryCommand>(std::move(command));
  log->append(*shared, [this, shared, responder = std::move(responder)](Status durable) {
    if (!durable.ok()) {
      responder->fail(durable.error());
      return;
    }
    pb::LotteryResponse r;
    r.set_bad_index(-1);
    {
      std::lock_guard lock(mu);
      const Applied a = state.apply(*shared);
      if (a.kind == Applied::Kind::refused) {  // the round changed while the command was being written
        log::info("lottery_new_round", "fail", {{"round", std::to_string(state.round())}, {"reason", a.reason}});
        responder->reply(pb::LOTTERY_RESPONSE, fail(a.reason));
        return;
      }
      log::info("lottery_new_round", "success",
                {{"round", std::to_string(state.round())},
                 {"previous_bets", std::to_string(a.previous_bets)},
                 {"previous_drawn", a.previous_drawn ? "true" : "false"},
                 {"forced", shared->new_round().force() ? "true" : "false"},
                 {"expected_agencies", std::to_string(shared->new_round().expected_agencies())},
                 {"winning_number", std::to_string(shared->new_round().winning_number())}});
      r.set_outcome(pb::LotteryResponse::OK);
      r.set_round(state.round());
      r.set_expected_agencies(shared->new_round().expected_agencies());
      r.set_stored(static_cast<std::uint32_t>(std::min<std::uint64_t>(a.previous_bets, UINT32_MAX)));
    }
    responder->reply(pb::LOTTERY_RESPONSE, r);
  });
}

std::string status_json(const pb::LotteryStatusResponse& s) {
  std::string agencies = "[";
  std::uint64_t finished = 0;
  for (int i = 0; i < s.agencies_size(); ++i) {
    const auto& a = s.agencies(i);
    finished += a.finished() ? 1 : 0;
    if (i > 0) agencies += ',';
    json::Object o;
    o.add("agency", a.agency());
    o.add("bets", static_cast<std::uint64_t>(a.bets()));
    o.add("batches", static_cast<std::uint64_t>(a.batches()));
    o.add("finished", a.finished());
    o.add("winners", static_cast<std::uint64_t>(a.winners()));
    agencies += o.str();
  }
  agencies += ']';
  json::Object o;
  o.add("round", s.round());
  o.add("draw_done", s.draw_done());
  o.add("expected_agencies", s.expected_agencies());
  o.add("agencies_finished", finished);
  o.add("winning_number", s.winning_number());
  o.add("total_bets", static_cast<std::uint64_t>(s.total_bets()));
  o.add_raw("agencies", agencies);
  return o.str();
}

std::string LotteryApp::Impl::status_json() {
  pb::LotteryStatusResponse s;
  {
    std::lock_guard lock(mu);
    s = state.status(configured());
  }
  return lottery::status_json(s);
}

Status LotteryApp::Impl::open_log(const std::filesystem::path& path) {
  auto file_log = std::make_unique<FileCommandLog>(path);
  if (auto st = file_log->open([this](const pb::LotteryCommand& c) { state.apply(c); }); !st.ok()) {
    log::warn("lottery_recover", "fail", {{"file", path.string()}, {"reason", st.error().message}});
    return st;
  }
  const RecoveryReport recovered = file_log->recovery();
  log = std::move(file_log);
  const LotteryParams p = state.effective_params(configured());
  log::info("lottery_recover", "success",
            {{"records", std::to_string(recovered.records)},
             {"bets", std::to_string(state.total_bets())},
             {"agencies_finished", std::to_string(state.finished_agencies())},
             {"draw_done", state.draw_done() ? "true" : "false"},
             {"torn_tail_bytes", std::to_string(recovered.torn_bytes)},
             {"expected_agencies", std::to_string(p.expected_agencies)},
             {"winning_number", std::to_string(p.winning_number)}});
  return ok_status();
}

// The expected agency count and the winning number are fixed by the log's
// first Setup, written here on the first start: a restart with another
// configuration cannot change the draw, nor leave it waiting for a count that
// no longer applies (docs/lottery.md, "Durability and recovery").
Status LotteryApp::Impl::fix_params() {
  const LotteryParams want = configured();
  if (state.params()) {
    const LotteryParams have = state.effective_params(want);
    if (have.expected_agencies != want.expected_agencies || have.winning_number != want.winning_number) {
      log::warn("lottery_config", "success",
                {{"expected_agencies", std::to_string(have.expected_agencies)},
                 {"winning_number", std::to_string(have.winning_number)},
                 {"configured_agencies", std::to_string(want.expected_agencies)},
                 {"configured_winning_number", std::to_string(want.winning_number)},
                 {"reason", "kept the values recorded when this lottery started; the configuration is ignored"}});
    }
    return ok_status();
  }
  pb::LotteryCommand command;
  command.mutable_setup()->set_expected_agencies(want.expected_agencies);
  command.mutable_setup()->set_winning_number(want.winning_number);
  std::promise<Status> durable;
  log->append(command, [&durable](Status st) { durable.set_value(std::move(st)); });
  if (Status st = durable.get_future().get(); !st.ok()) return st;
  std::lock_guard lock(mu);
  state.apply(command);
  return ok_status();
}

LotteryApp::LotteryApp() : impl_(std::make_unique<Impl>()) {}
LotteryApp::~LotteryApp() { stop(); }

Status LotteryApp::start(apps::NodeServices& node) {
  auto config = load_config(node.settings());
  if (!config.ok()) return config.error();
  Impl& m = *impl_;
  m.config = config.value();

  const auto dir = node.data_dir() / "lottery";
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return Error{Errc::internal, "cannot create " + dir.string() + ": " + ec.message()};
  if (auto st = m.open_log(dir / "commands.log"); !st.ok()) return st;
  if (auto st = m.fix_params(); !st.ok()) return st;

  auto& reg = metrics::Registry::global();
  m.bets_stored = &reg.counter("minga_lottery_bets_stored_total", "Bets stored durably");
  m.batches_stored = &reg.counter("minga_lottery_batches_total", "Bet batches answered, by result", {{"result", "ok"}});
  m.batches_refused =
      &reg.counter("minga_lottery_batches_total", "Bet batches answered, by result", {{"result", "refused"}});

  auto& router = node.router();
  router.add(pb::BET_BATCH_REQUEST, [&m](std::string_view b, apps::ResponderPtr r) { m.on_batch(b, std::move(r)); });
  router.add(pb::BET_REQUEST, [&m](std::string_view b, apps::ResponderPtr r) { m.on_single(b, std::move(r)); });
  router.add(pb::AGENCY_FINISHED_REQUEST,
             [&m](std::string_view b, apps::ResponderPtr r) { m.on_finished(b, std::move(r)); });
  router.add(pb::WINNERS_REQUEST, [&m](std::string_view b, apps::ResponderPtr r) { m.on_winners(b, std::move(r)); });
  router.add(pb::NEW_ROUND_REQUEST,
             [&m](std::string_view b, apps::ResponderPtr r) { m.on_new_round(b, std::move(r)); });
  router.add(pb::LOTTERY_STATUS_REQUEST, [&m](std::string_view, apps::ResponderPtr r) {
    pb::LotteryStatusResponse s;
    {
      std::lock_guard lock(m.mu);
      s = m.state.status(m.configured());
    }
    r->reply(pb::LOTTERY_STATUS_RESPONSE, s);
  });
  node.add_api_route(apps::api_route<pb::LotteryStatusRequest, pb::LotteryStatusResponse>(
      "GET", "/lottery", pb::LOTTERY_STATUS_REQUEST, pb::LOTTERY_STATUS_RESPONSE));
  node.add_api_route(apps::api_route<pb::WinnersRequest, pb::LotteryResponse>(
      "GET", "/lottery/agencies/{agency}/winners", pb::WINNERS_REQUEST, pb::LOTTERY_RESPONSE));
  node.add_api_route(apps::api_route<pb::BetBatchRequest, pb::LotteryResponse>(
      "POST", "/lottery/agencies/{agency}/bets", pb::BET_BATCH_REQUEST, pb::LOTTERY_RESPONSE));
  node.add_api_route(apps::api_route<pb::AgencyFinishedRequest, pb::LotteryResponse>(
      "POST", "/lottery/agencies/{agency}/finished", pb::AGENCY_FINISHED_REQUEST, pb::LOTTERY_RESPONSE));
  node.add_status_section("lottery", [&m] { return m.status_json(); });
  return ok_status();
}

// Closes the log but keeps it: handlers still running on other I/O threads
// may append, and a closed log answers them shutting_down.
void LotteryApp::stop() {
  if (impl_ && impl_->log && !impl_->stopped) {
    impl_->stopped = true;
    impl_->log->close();
    log::info("shutdown", "success", {{"resource", "lottery_log"}});
  }
}

}  // namespace minga::lottery
