#include "apps/lottery/lottery_app.h"

#include <atomic>
#include <condition_variable>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

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

// What a LotteryCommand's apply() did, as the proposer gets it back.
pb::LotteryApplied encode(const Applied& a, const LotteryState& state) {
  pb::LotteryApplied out;
  switch (a.kind) {
    case Applied::Kind::refused:
      out.set_kind(pb::LotteryApplied::REFUSED);
      break;
    case Applied::Kind::stored:
      out.set_kind(pb::LotteryApplied::STORED);
      break;
    case Applied::Kind::duplicate:
      out.set_kind(pb::LotteryApplied::DUPLICATE);
      break;
    case Applied::Kind::finished:
      out.set_kind(pb::LotteryApplied::FINISHED);
      break;
    case Applied::Kind::configured:
      out.set_kind(pb::LotteryApplied::CONFIGURED);
      break;
    case Applied::Kind::new_round:
      out.set_kind(pb::LotteryApplied::NEW_ROUND);
      break;
    case Applied::Kind::migrated:
      out.set_kind(pb::LotteryApplied::MIGRATED);
      break;
  }
  out.set_reason(a.reason);
  out.set_stored(a.stored);
  out.set_drew(a.drew);
  out.set_previous_bets(a.previous_bets);
  out.set_previous_drawn(a.previous_drawn);
  out.set_round(state.round());
  out.set_agencies_finished(static_cast<std::uint32_t>(state.finished_agencies()));
  return out;
}

// The commands of the old single-node command log, cut into Migrate parts
// of about this many bytes each (the replicated log takes commands up to
// 1 MiB). The cut depends only on the file, so the same file always gives
// the same parts.
constexpr std::size_t kMigratePartBytes = 512u << 10;

std::vector<pb::LotteryCommand> migrate_parts(const std::vector<pb::LotteryCommand>& commands) {
  std::vector<pb::LotteryCommand> parts;
  std::size_t bytes = 0;
  for (const auto& c : commands) {
    const std::size_t size = c.ByteSizeLong();
    if (parts.empty() || (bytes > 0 && bytes + size > kMigratePartBytes)) {
      parts.emplace_back();
      bytes = 0;
    }
    *parts.back().mutable_migrate()->add_commands() = c;
    bytes += size + 8;
  }
  for (std::size_t i = 0; i < parts.size(); ++i) {
    parts[i].mutable_migrate()->set_part(static_cast<std::uint32_t>(i));
    parts[i].mutable_migrate()->set_parts(static_cast<std::uint32_t>(parts.size()));
  }
  return parts;
}

void log_duplicate(const pb::LotteryCommand::StoreBets& s) {
  log::info("apuesta_duplicada", "success",
            {{"agencia", std::to_string(s.agency())},
             {"lote", std::to_string(s.sequence())},
             {"cantidad", std::to_string(s.bets_size())}});
}

void log_received(std::string_view result, std::size_t count) {
  log::info("apuesta_recibida", result, {{"cantidad", std::to_string(count)}});
}

using AppliedCallback = std::function<void(Result<pb::LotteryApplied>)>;

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

// The lottery's state lives in the replicated log: handlers propose
// commands, and apply() (on the node's apply thread, on every node alike)
// changes the state. Until `ready` the node answers busy: it is catching up
// with the log, migrating an old command log, or fixing the parameters.
struct LotteryApp::Impl final : apps::ReplicatedState {
  LotteryConfig config;
  apps::Replication* log = nullptr;
  std::mutex mu;  // guards state; apply() runs on the apply thread, readers on I/O threads
  LotteryState state;
  std::uint64_t applied_since_start = 0;  // under mu
  metrics::Counter* bets_stored = nullptr;
  metrics::Counter* batches_stored = nullptr;
  metrics::Counter* batches_refused = nullptr;

  // Recovery, migration and the Setup run on their own thread once the
  // replicated log is up; handlers answer busy until it is done.
  std::atomic<bool> ready{false};
  std::string not_ready_reason = "the lottery is catching up with the replicated log";
  std::filesystem::path old_log;  // the single-node command log, if one is there
  std::vector<pb::LotteryCommand> old_commands;
  std::thread settler;
  std::mutex stop_mu;
  std::condition_variable stop_cv;
  bool stopping = false;  // under stop_mu
  struct Deferred {
    std::function<void()> run;
    apps::ResponderPtr responder;
  };
  static constexpr std::size_t kMaxDeferred = 4096;
  std::vector<Deferred> deferred;  // under stop_mu

  // apps::ReplicatedState
  std::string apply(std::uint64_t index, std::string_view command) override;
  std::string snapshot() override;
  Status restore(std::string_view data) override;

  void propose(const pb::LotteryCommand& command, AppliedCallback done);
  void on_bets(pb::LotteryCommand command, std::size_t count, apps::ResponderPtr responder);
  void on_batch(std::string_view body, apps::ResponderPtr responder);
  void on_single(std::string_view body, apps::ResponderPtr responder);
  void on_finished(std::string_view body, apps::ResponderPtr responder);
  void on_winners(std::string_view body, apps::ResponderPtr responder);
  void on_new_round(std::string_view body, apps::ResponderPtr responder);
  // Before `ready`, keeps a request (up to kMaxDeferred, then answers
  // busy) to be handled once the lottery is ready; false when ready.
  using Handler = void (Impl::*)(std::string_view, apps::ResponderPtr);
  bool defer_until_ready(std::string_view body, const apps::ResponderPtr& responder, Handler handler);
  void open();
  void report_recovery();
  std::string status_json();
  LotteryParams configured() const { return {config.expected_agencies, config.winning_number}; }
  Status read_old_log(const std::filesystem::path& path);
  void settle();
  // Waits `d` unless stopping; false once stopping.
  bool pause(std::chrono::milliseconds d);
  // Proposes and waits for the result, giving up when stopping.
  template <class T, class Start>
  Result<T> wait_for(Start start);
  Result<pb::LotteryApplied> propose_and_wait(const pb::LotteryCommand& command);
  Status barrier_and_wait();
};

std::string LotteryApp::Impl::apply(std::uint64_t, std::string_view bytes) {
  pb::LotteryCommand command;
  std::lock_guard lock(mu);
  ++applied_since_start;
  if (!command.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) {
    Applied bad;
    bad.reason = "the replicated lottery command does not decode";
    return encode(bad, state).SerializeAsString();
  }
  const Applied a = state.apply(command);
  // Logged here, on every node and under the lock: a winners query sees the
  // draw only after the sorteo line is out, so that line always comes first.
  // What a node replays while it catches up (after a restart) is history:
  // lottery_recover sums it up instead.
  if (!ready.load(std::memory_order_acquire)) return encode(a, state).SerializeAsString();
  if (command.has_finish() && a.kind == Applied::Kind::finished) {
    const LotteryParams p = state.effective_params(configured());
    log::info("agencia_finalizada", "success",
              {{"agencia", std::to_string(command.finish().agency())},
               {"finalizadas", std::to_string(state.finished_agencies())},
               {"esperadas", std::to_string(p.expected_agencies)}});
    if (a.drew) {
      log::info("sorteo", "success",
                {{"numero_ganador", std::to_string(state.winning_number())},
                 {"agencias", std::to_string(state.finished_agencies())}});
    }
  }
  if (command.has_new_round()) {
    if (a.kind == Applied::Kind::refused) {
      log::info("lottery_new_round", "fail", {{"round", std::to_string(state.round())}, {"reason", a.reason}});
    } else {
      log::info("lottery_new_round", "success",
                {{"round", std::to_string(state.round())},
                 {"previous_bets", std::to_string(a.previous_bets)},
                 {"previous_drawn", a.previous_drawn ? "true" : "false"},
                 {"forced", command.new_round().force() ? "true" : "false"},
                 {"expected_agencies", std::to_string(command.new_round().expected_agencies())},
                 {"winning_number", std::to_string(command.new_round().winning_number())}});
    }
  }
  return encode(a, state).SerializeAsString();
}

std::string LotteryApp::Impl::snapshot() {
  std::lock_guard lock(mu);
  return state.snapshot().SerializeAsString();
}

Status LotteryApp::Impl::restore(std::string_view data) {
  pb::LotterySnapshot snap;
  if (!snap.ParseFromArray(data.data(), static_cast<int>(data.size()))) {
    return Error{Errc::internal, "the lottery snapshot does not decode"};
  }
  LotteryState next;  // empty data: the initial state
  if (!data.empty()) {
    if (auto st = next.restore(snap); !st.ok()) return st;
  }
  std::lock_guard lock(mu);
  state = std::move(next);
  return ok_status();
}

void LotteryApp::Impl::propose(const pb::LotteryCommand& command, AppliedCallback done) {
  log->propose("lottery", command.SerializeAsString(), [done = std::move(done)](Result<std::string> res) {
    if (!res.ok()) {
      done(res.error());
      return;
    }
    pb::LotteryApplied applied;
    if (!applied.ParseFromString(res.value())) {
      done(Error{Errc::internal, "the lottery's apply result does not decode"});
      return;
    }
    done(std::move(applied));
  });
}

bool LotteryApp::Impl::defer_until_ready(std::string_view body, const apps::ResponderPtr& responder, Handler handler) {
  if (ready.load(std::memory_order_acquire)) return false;
  std::lock_guard lock(stop_mu);
  if (ready.load(std::memory_order_acquire)) return false;
  if (stopping) {
    responder->fail(Errc::shutting_down, "the node is stopping");
  } else if (deferred.size() >= kMaxDeferred) {
    responder->fail(Errc::busy, not_ready_reason + "; retry shortly");
  } else {
    deferred.push_back(
        {[this, handler, b = std::string(body), responder] { (this->*handler)(b, responder); }, responder});
  }
  return true;
}

void LotteryApp::Impl::on_bets(pb::LotteryCommand command, std::size_t count, apps::ResponderPtr responder) {
  Applied pre;
  {
    std::lock_guard lock(mu);
    pre = state.precheck(command);
  }
  // A refusal or a duplicate seen here is final: the state only moves on
  // within a round. Everything else is decided by apply(), in log order.
  if (pre.kind == Applied::Kind::refused) {
    log_received("fail", count);
    batches_refused->inc();
    responder->reply(pb::LOTTERY_RESPONSE, fail(pre.reason));
    return;
  }
  if (pre.kind == Applied::Kind::duplicate) {
    log_duplicate(command.store());
    pb::LotteryResponse r;
    r.set_outcome(pb::LotteryResponse::OK);
    r.set_duplicate(true);
    r.set_bad_index(-1);
    responder->reply(pb::LOTTERY_RESPONSE, r);
    return;
  }
  auto shared = std::make_shared<pb::LotteryCommand>(std::move(command));
  propose(*shared, [this, shared, count, responder = std::move(responder)](Result<pb::LotteryApplied> res) {
    const auto& s = shared->store();
    if (!res.ok()) {
      // Not stored, or not known to be: the agency sends the batch again,
      // and a copy that did get in is recognised as a duplicate.
      log_received("fail", count);
      batches_refused->inc();
      responder->fail(res.error());
      return;
    }
    const pb::LotteryApplied& a = res.value();
    pb::LotteryResponse r;
    r.set_bad_index(-1);
    switch (a.kind()) {
      case pb::LotteryApplied::STORED: {
        const auto level = s.single() ? spdlog::level::info : spdlog::level::debug;
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
        r.set_stored(a.stored());
        break;
      }
      case pb::LotteryApplied::DUPLICATE:  // a copy sent again before the first was applied
        log_duplicate(s);
        r.set_outcome(pb::LotteryResponse::OK);
        r.set_duplicate(true);
        break;
      default:
        log_received("fail", count);
        batches_refused->inc();
        r = fail(a.reason());
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
  if (defer_until_ready(body, responder, &Impl::on_batch)) return;
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
  on_bets(std::move(command), count, std::move(responder));
}

void LotteryApp::Impl::on_single(std::string_view body, apps::ResponderPtr responder) {
  pb::BetRequest req;
  if (!parse(body, req)) {
    responder->fail(Errc::bad_frame, "cannot decode BetRequest");
    return;
  }
  if (defer_until_ready(body, responder, &Impl::on_single)) return;
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
  on_bets(std::move(command), 1, std::move(responder));
}

void LotteryApp::Impl::on_finished(std::string_view body, apps::ResponderPtr responder) {
  pb::AgencyFinishedRequest req;
  if (!parse(body, req)) {
    responder->fail(Errc::bad_frame, "cannot decode AgencyFinishedRequest");
    return;
  }
  if (defer_until_ready(body, responder, &Impl::on_finished)) return;
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
  propose(command, [responder = std::move(responder)](Result<pb::LotteryApplied> res) {
    if (!res.ok()) {
      responder->fail(res.error());
      return;
    }
    if (res->kind() == pb::LotteryApplied::REFUSED) {
      responder->reply(pb::LOTTERY_RESPONSE, fail(res->reason()));
      return;
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
  if (defer_until_ready(body, responder, &Impl::on_winners)) return;
  // A local read: the draw is final once applied, so a node that has not
  // applied it yet answers NOT_YET and the agency asks again.
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
// (and every node) sets the same round aside.
void LotteryApp::Impl::on_new_round(std::string_view body, apps::ResponderPtr responder) {
  pb::NewRoundRequest req;
  if (!parse(body, req)) {
    responder->fail(Errc::bad_frame, "cannot decode NewRoundRequest");
    return;
  }
  if (defer_until_ready(body, responder, &Impl::on_new_round)) return;
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
  propose(command, [command, responder = std::move(responder)](Result<pb::LotteryApplied> res) {
    if (!res.ok()) {
      responder->fail(res.error());
      return;
    }
    if (res->kind() == pb::LotteryApplied::REFUSED) {  // the round changed while the command was in the log
      responder->reply(pb::LOTTERY_RESPONSE, fail(res->reason()));
      return;
    }
    pb::LotteryResponse r;
    r.set_bad_index(-1);
    r.set_outcome(pb::LotteryResponse::OK);
    r.set_round(res->round());
    r.set_expected_agencies(command.new_round().expected_agencies());
    r.set_stored(static_cast<std::uint32_t>(std::min<std::uint64_t>(res->previous_bets(), UINT32_MAX)));
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

// Reads the command log a single node kept before the lottery moved onto
// the replicated log (docs/lottery.md, "Upgrading"): its commands are
// migrated into the replicated log once it is up, then the file is renamed.
// A damaged log stops the node, as it did before.
Status LotteryApp::Impl::read_old_log(const std::filesystem::path& path) {
  FileCommandLog file(path);
  std::vector<pb::LotteryCommand> commands;
  if (auto st = file.open([&commands](const pb::LotteryCommand& c) { commands.push_back(c); }); !st.ok()) {
    log::warn("lottery_migrate", "fail", {{"file", path.string()}, {"reason", st.error().message}});
    return st;
  }
  file.close();
  old_log = path;
  old_commands = std::move(commands);
  not_ready_reason = "the lottery is migrating its command log " + path.string();
  return ok_status();
}

bool LotteryApp::Impl::pause(std::chrono::milliseconds d) {
  std::unique_lock lock(stop_mu);
  return !stop_cv.wait_for(lock, d, [this] { return stopping; });
}

// Starts an asynchronous call with a callback that receives a T, and waits
// for it; shutting_down once the node is stopping (the callback may still
// run later: it only fills the shared slot).
template <class T, class Start>
Result<T> LotteryApp::Impl::wait_for(Start start) {
  struct Slot {
    std::mutex mu;
    std::condition_variable cv;
    std::optional<T> result;
  };
  auto slot = std::make_shared<Slot>();
  start([slot](T r) {
    std::lock_guard lock(slot->mu);
    slot->result = std::move(r);
    slot->cv.notify_all();
  });
  std::unique_lock lock(slot->mu);
  while (!slot->result) {
    slot->cv.wait_for(lock, std::chrono::milliseconds(100));
    std::lock_guard s(stop_mu);
    if (stopping) return Error{Errc::shutting_down, "the node is stopping"};
  }
  return std::move(*slot->result);
}

Result<pb::LotteryApplied> LotteryApp::Impl::propose_and_wait(const pb::LotteryCommand& command) {
  auto r = wait_for<Result<pb::LotteryApplied>>([&](auto done) { propose(command, std::move(done)); });
  if (!r.ok()) return r.error();
  return std::move(r).value();
}

Status LotteryApp::Impl::barrier_and_wait() {
  auto r = wait_for<Status>([&](auto done) { log->read_barrier(std::move(done)); });
  if (!r.ok()) return r.error();
  return r.value();
}

// Once this node has applied everything committed: migrates an old command
// log, fixes the parameters with the first Setup, reports what it recovered,
// and opens the lottery. Retries (a cluster may have no leader yet) until it
// is done or the node stops.
void LotteryApp::Impl::settle() {
  const std::vector<pb::LotteryCommand> parts = migrate_parts(old_commands);
  bool migrating = !old_log.empty();
  std::chrono::milliseconds backoff{5};
  auto retry = [this, &backoff](const Error& e, std::string_view step) {
    log::debug("lottery_settle", "in_progress", {{"step", std::string(step)}, {"reason", e.message}});
    const auto wait = backoff;
    backoff = std::min(backoff * 2, std::chrono::milliseconds(200));
    return pause(wait);
  };
  while (true) {
    if (auto b = barrier_and_wait(); !b.ok()) {
      if (b.error().code == Errc::shutting_down || !retry(b.error(), "read_barrier")) return;
      continue;
    }
    std::uint32_t migrated = 0;
    bool closed = false;
    std::optional<LotteryParams> params;
    {
      std::lock_guard lock(mu);
      migrated = state.migrated_parts();
      closed = state.migration_closed();
      params = state.params();
    }
    if (migrating && migrated < parts.size()) {
      if (migrated == 0 && closed) {
        log::warn("lottery_migrate", "fail",
                  {{"file", old_log.string()},
                   {"reason",
                    "the replicated lottery already holds commands; the file is kept as it is and not "
                    "applied: move it away, or start this node on a data dir of its own"}});
        migrating = false;
        continue;
      }
      auto r = propose_and_wait(parts[migrated]);
      if (!r.ok()) {
        if (r.error().code == Errc::shutting_down || !retry(r.error(), "migrate")) return;
      } else if (r->kind() == pb::LotteryApplied::REFUSED) {
        log::warn("lottery_migrate", "fail", {{"file", old_log.string()}, {"reason", r->reason()}});
        migrating = false;
      }
      continue;
    }
    if (migrating) {
      auto renamed = old_log;
      renamed += ".migrated";
      std::error_code ec;
      std::filesystem::rename(old_log, renamed, ec);
      std::uint64_t bets = 0;
      {
        std::lock_guard lock(mu);
        bets = state.total_bets();
      }
      log::info("lottery_migrate", ec ? "fail" : "success",
                {{"file", old_log.string()},
                 {"commands", std::to_string(old_commands.size())},
                 {"parts", std::to_string(parts.size())},
                 {"bets", std::to_string(bets)},
                 {"renamed_to", ec ? "(not renamed: " + ec.message() + ")" : renamed.string()}});
      migrating = false;
      continue;
    }
    if (!params) {
      pb::LotteryCommand setup;
      setup.mutable_setup()->set_expected_agencies(config.expected_agencies);
      setup.mutable_setup()->set_winning_number(config.winning_number);
      if (auto r = propose_and_wait(setup); !r.ok()) {
        if (r.error().code == Errc::shutting_down || !retry(r.error(), "setup")) return;
      }
      continue;
    }
    break;
  }
  // The expected agency count and the winning number are those of the first
  // Setup: a restart with another configuration cannot change the draw, nor
  // leave it waiting for a count that no longer applies (docs/lottery.md).
  report_recovery();
  open();
}

void LotteryApp::Impl::report_recovery() {
  std::lock_guard lock(mu);
  const LotteryParams want = configured();
  const LotteryParams have = state.effective_params(want);
  log::info("lottery_recover", "success",
            {{"commands", std::to_string(applied_since_start)},
             {"bets", std::to_string(state.total_bets())},
             {"agencies_finished", std::to_string(state.finished_agencies())},
             {"draw_done", state.draw_done() ? "true" : "false"},
             {"round", std::to_string(state.round())},
             {"expected_agencies", std::to_string(have.expected_agencies)},
             {"winning_number", std::to_string(have.winning_number)}});
  if (have.expected_agencies != want.expected_agencies || have.winning_number != want.winning_number) {
    log::warn("lottery_config", "success",
              {{"expected_agencies", std::to_string(have.expected_agencies)},
               {"winning_number", std::to_string(have.winning_number)},
               {"configured_agencies", std::to_string(want.expected_agencies)},
               {"configured_winning_number", std::to_string(want.winning_number)},
               {"reason", "kept the values recorded when this lottery started; the configuration is ignored"}});
  }
}

void LotteryApp::Impl::open() {
  std::vector<Deferred> waiting;
  {
    std::lock_guard lock(stop_mu);
    ready.store(true, std::memory_order_release);
    waiting.swap(deferred);
  }
  for (auto& d : waiting) d.run();
}

LotteryApp::LotteryApp() : impl_(std::make_unique<Impl>()) {}
LotteryApp::~LotteryApp() { stop(); }

Status LotteryApp::start(apps::NodeServices& node) {
  auto config = load_config(node.settings());
  if (!config.ok()) return config.error();
  Impl& m = *impl_;
  m.config = config.value();
  m.log = &node.replication();

  const auto old_log = node.data_dir() / "lottery" / "commands.log";
  std::error_code ec;
  if (std::filesystem::exists(old_log, ec)) {
    if (auto st = m.read_old_log(old_log); !st.ok()) return st;
  }
  m.log->register_state("lottery", m);

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
  // The replicated log starts after the apps: the settler waits for it.
  m.settler = std::thread([&m] { m.settle(); });
  return ok_status();
}

void LotteryApp::stop() {
  if (!impl_ || !impl_->settler.joinable()) return;
  {
    std::lock_guard lock(impl_->stop_mu);
    impl_->stopping = true;
  }
  impl_->stop_cv.notify_all();
  impl_->settler.join();
  std::vector<Impl::Deferred> waiting;
  {
    std::lock_guard lock(impl_->stop_mu);
    waiting.swap(impl_->deferred);
  }
  for (auto& d : waiting) d.responder->fail(Errc::shutting_down, "the node is stopping");
  log::info("shutdown", "success", {{"resource", "lottery"}});
}

}  // namespace minga::lottery
