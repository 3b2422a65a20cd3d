#include "apps/lottery/agency.h"

#include <algorithm>
#include <map>
#include <optional>
#include <thread>

#include "base/assert.h"
#include "base/log.h"
#include "proto/minga.pb.h"

namespace minga::lottery {
namespace {

using Clock = std::chrono::steady_clock;
using Millis = std::chrono::milliseconds;

constexpr Millis kPoll{100};  // how often a blocked agency looks at its stop flag
constexpr Millis kConnectTimeout{1000};
constexpr Millis kFirstBackoff{50};
constexpr Millis kMaxBackoff{1000};

// "60 s", or "300 ms" when not a whole number of seconds.
std::string duration_text(Millis d) {
  return d.count() % 1000 == 0 ? std::to_string(d.count() / 1000) + " s" : std::to_string(d.count()) + " ms";
}

// "57 s" from one second up, else "600 ms" (to 100 ms): a log field, not a deadline.
std::string rounded_text(Millis d) {
  if (d < Millis(0)) d = Millis(0);
  return d >= Millis(1000) ? std::to_string(d.count() / 1000) + " s" : std::to_string(d.count() / 100 * 100) + " ms";
}

Error stopped() { return Error{Errc::shutting_down, "stopped by a signal"}; }

// An answer that is not a LotteryResponse: the server speaks another
// protocol version or is not a minga node; asking again would not help.
Error unreadable_answer(std::uint32_t type) {
  return Error{Errc::bad_frame, "the server answered a frame of type " + std::to_string(type) +
                                    " that is not a readable LotteryResponse"};
}

// Errors worth sending the same request again for: the node is restarting,
// overloaded or slow, or its cluster is electing a leader (a batch whose
// outcome is unknown is stored once: its copy is a duplicate). A bad_frame is not among them: the node could not read
// what we sent, and sending the same bytes again gets the same answer.
bool transient(Errc code) {
  return code == Errc::unavailable || code == Errc::timeout || code == Errc::busy || code == Errc::shutting_down ||
         code == Errc::not_leader;
}

}  // namespace

Agency::Agency(AgencyOptions options, const std::atomic<bool>& stop) : options_(std::move(options)), stop_(stop) {
  MINGA_ASSERT(!options_.servers.empty(), "an agency needs a server");
}

void Agency::close() { client_.close(); }

void Agency::lose_connection(Error why) {
  client_.close();
  log::info("retry", "in_progress",
            {{"server", server().str()}, {"reason", why.message}, {"code", errc_name(why.code)}});
  last_failure_ = std::move(why);
  ++server_index_;  // the next node, if there are several
}

Status Agency::ensure_connected(Clock::time_point last_progress) {
  Millis backoff = kFirstBackoff;
  while (!client_.connected()) {
    if (stopping()) return stopped();
    // Checked before every attempt, not only after failed connects: a node
    // that accepts and then answers busy, or drops the connection, over and
    // over is given up on too.
    if (Clock::now() - last_progress > options_.retry_for) {
      return Error{Errc::unavailable,
                   last_failure_.message + " (gave up after " + duration_text(options_.retry_for) + ")"};
    }
    auto c = net::Client::connect(server(), kConnectTimeout);
    if (c.ok()) {
      client_ = std::move(c.value());
      return ok_status();
    }
    last_failure_ = c.error();
    const auto left = options_.retry_for - std::chrono::duration_cast<Millis>(Clock::now() - last_progress);
    log::info("reconnect", "in_progress",
              {{"server", server().str()},
               {"reason", c.error().message},
               {"retry_in", duration_text(backoff)},
               {"gives_up_in", rounded_text(left)}});
    ++server_index_;
    // A full turn over the servers before backing off: one of them is up.
    if (server_index_ % options_.servers.size() == 0) {
      const auto until = Clock::now() + backoff;
      while (Clock::now() < until && !stopping()) std::this_thread::sleep_for(std::min<Millis>(kPoll, backoff));
      backoff = std::min(backoff * 2, kMaxBackoff);
    }
    ++result_.reconnects;
  }
  return ok_status();
}

Status Agency::send_bets(const std::vector<pb::Bet>& bets) {
  const BatchPlan plan = plan_batches(bets, options_.agency, options_.max_amount);
  if (plan.cut_by_size) {
    log::info("batch_size", "success",
              {{"max_amount", std::to_string(options_.max_amount)},
               {"cut_to", std::to_string(plan.smallest_cut)},
               {"reason", "batches are cut so no frame exceeds " + std::to_string(kMaxBatchFrameBytes) + " bytes"}});
  }
  const std::size_t n = plan.batches.size();
  std::vector<bool> acked(n, false);
  std::size_t acked_count = 0;
  std::size_t cursor = 0;                          // next batch to send
  std::map<std::uint64_t, std::size_t> in_flight;  // request id -> batch index
  auto last_progress = Clock::now();
  auto last_answer = Clock::now();
  Clock::time_point last_sent{};
  std::string body;

  auto drop_connection = [&](Error why) {
    lose_connection(std::move(why));
    in_flight.clear();
    cursor = static_cast<std::size_t>(std::find(acked.begin(), acked.end(), false) - acked.begin());
  };

  while (acked_count < n) {
    if (stopping()) return stopped();
    if (!client_.connected()) {
      if (auto st = ensure_connected(last_progress); !st.ok()) return st;
      last_answer = Clock::now();
    }
    std::optional<Error> send_failed;
    while (in_flight.size() < options_.window && cursor < n) {
      if (acked[cursor]) {
        ++cursor;
        continue;
      }
      if (options_.batch_interval.count() > 0) {
        const auto due = last_sent + options_.batch_interval;
        if (Clock::now() < due) break;  // receive below waits at most kPoll
      }
      const BatchRange r = plan.batches[cursor];
      pb::BetBatchRequest req;
      req.set_agency(options_.agency);
      req.set_sequence(cursor + 1);
      req.mutable_bets()->Reserve(static_cast<int>(r.size()));
      for (std::size_t i = r.begin; i < r.end; ++i) *req.add_bets() = bets[i];
      body.clear();
      req.SerializeToString(&body);
      const std::uint64_t id = next_request_id_++;
      if (auto st = client_.send(pb::BET_BATCH_REQUEST, id, body, options_.answer_timeout); !st.ok()) {
        send_failed = st.error();
        break;
      }
      last_sent = Clock::now();
      if (result_.first_sent == Clock::time_point{}) result_.first_sent = last_sent;
      in_flight[id] = cursor++;
    }
    if (send_failed) {
      drop_connection(*send_failed);
      continue;
    }
    if (in_flight.empty()) {  // throttled: wait for the next batch's turn
      std::this_thread::sleep_for(std::min<Millis>(kPoll, options_.batch_interval));
      continue;
    }
    auto f =
        client_.receive(options_.batch_interval.count() > 0 ? std::min<Millis>(kPoll, options_.batch_interval) : kPoll);
    if (!f.ok()) {
      if (f.error().code == Errc::timeout && Clock::now() - last_answer < options_.answer_timeout) continue;
      drop_connection(f.error());
      continue;
    }
    last_answer = Clock::now();
    auto it = in_flight.find(f->header.request_id);
    if (it == in_flight.end()) continue;  // an answer from before a reconnect
    const std::size_t index = it->second;
    in_flight.erase(it);
    if (f->header.type == pb::ERROR) {
      const Error e = net::decode_error(f->body);
      if (!transient(e.code)) return e;
      drop_connection(e);  // busy or restarting: back off, then send again
      std::this_thread::sleep_for(kFirstBackoff);
      continue;
    }
    pb::LotteryResponse resp;
    if (f->header.type != pb::LOTTERY_RESPONSE || !resp.ParseFromString(f->body)) {
      return unreadable_answer(f->header.type);
    }
    if (resp.outcome() != pb::LotteryResponse::OK) {
      const BatchRange r = plan.batches[index];
      return Error{Errc::invalid_argument, "batch " + std::to_string(index + 1) + " (bets " +
                                               std::to_string(r.begin + 1) + "-" + std::to_string(r.end) +
                                               ") refused: " + resp.reason()};
    }
    if (!acked[index]) {
      acked[index] = true;
      ++acked_count;
      result_.bets += plan.batches[index].size();
      ++result_.batches;
      if (resp.duplicate()) ++result_.duplicates;
      last_progress = Clock::now();
      log::emit(spdlog::level::debug, "lote_enviado", "success",
                {{"lote", std::to_string(index + 1)}, {"cantidad", std::to_string(plan.batches[index].size())}});
    }
  }
  return ok_status();
}

Result<pb::LotteryResponse> Agency::call(std::uint32_t type, const google::protobuf::MessageLite& request) {
  auto last_progress = Clock::now();
  const std::string body = request.SerializeAsString();
  while (true) {
    if (auto st = ensure_connected(last_progress); !st.ok()) return st.error();
    const std::uint64_t id = next_request_id_++;
    if (auto st = client_.send(type, id, body, options_.answer_timeout); !st.ok()) {
      lose_connection(st.error());
      continue;
    }
    const auto sent_at = Clock::now();
    while (client_.connected()) {
      if (stopping()) return stopped();
      auto f = client_.receive(kPoll);
      if (!f.ok()) {
        if (f.error().code == Errc::timeout && Clock::now() - sent_at < options_.answer_timeout) continue;
        lose_connection(f.error());
        break;
      }
      if (f->header.request_id != id) continue;
      if (f->header.type == pb::ERROR) {
        const Error e = net::decode_error(f->body);
        if (!transient(e.code)) return e;
        lose_connection(e);
        std::this_thread::sleep_for(kFirstBackoff);
        break;
      }
      pb::LotteryResponse resp;
      if (f->header.type != pb::LOTTERY_RESPONSE || !resp.ParseFromString(f->body)) {
        return unreadable_answer(f->header.type);
      }
      return resp;
    }
  }
}

Status Agency::send_single(const pb::Bet& bet) {
  pb::BetRequest req;
  req.set_agency(options_.agency);
  req.set_sequence(1);
  *req.mutable_bet() = bet;
  result_.first_sent = Clock::now();
  auto r = call(pb::BET_REQUEST, req);
  if (!r.ok()) return r.error();
  if (r->outcome() != pb::LotteryResponse::OK) return Error{Errc::invalid_argument, "bet refused: " + r->reason()};
  result_.bets = 1;
  result_.batches = 1;
  log::info("apuesta_enviada", "success", {{"dni", bet.document()}, {"numero", std::to_string(bet.number())}});
  return ok_status();
}

Status Agency::notify_finished() {
  pb::AgencyFinishedRequest req;
  req.set_agency(options_.agency);
  auto r = call(pb::AGENCY_FINISHED_REQUEST, req);
  if (!r.ok()) return r.error();
  if (r->outcome() != pb::LotteryResponse::OK)
    return Error{Errc::invalid_argument, "notification refused: " + r->reason()};
  return ok_status();
}

Result<std::vector<std::string>> Agency::wait_winners() {
  pb::WinnersRequest req;
  req.set_agency(options_.agency);
  const auto started = Clock::now();
  const auto deadline = started + options_.wait_winners_for;
  auto next_report = started + options_.progress_every;
  std::string progress = "no answer yet";
  Millis backoff{10};
  while (true) {
    auto r = call(pb::WINNERS_REQUEST, req);
    if (!r.ok()) return r.error();
    if (r->outcome() == pb::LotteryResponse::OK) {
      result_.winners.assign(r->documents().begin(), r->documents().end());
      result_.winners_at = Clock::now();
      return result_.winners;
    }
    if (r->outcome() != pb::LotteryResponse::NOT_YET) {
      return Error{Errc::invalid_argument, "winners refused: " + r->reason()};
    }
    progress =
        std::to_string(r->agencies_finished()) + " of " + std::to_string(r->expected_agencies()) + " agencies finished";
    if (Clock::now() + backoff > deadline) {
      return Error{Errc::timeout,
                   "the draw did not happen within " + duration_text(options_.wait_winners_for) + ": " + progress};
    }
    if (Clock::now() >= next_report) {
      const auto waited = std::chrono::duration_cast<std::chrono::seconds>(Clock::now() - started);
      log::info("wait_draw", "in_progress",
                {{"agency", std::to_string(options_.agency)},
                 {"progress", progress},
                 {"waited", std::to_string(waited.count()) + " s"}});
      next_report = Clock::now() + options_.progress_every;
    }
    const auto until = Clock::now() + backoff;
    while (Clock::now() < until) {
      if (stopping()) return stopped();
      std::this_thread::sleep_for(std::min<Millis>(kPoll, backoff));
    }
    backoff = std::min<Millis>(backoff * 3 / 2 + Millis(1), Millis(500));
  }
}

}  // namespace minga::lottery
