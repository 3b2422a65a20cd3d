// The agency side of the lottery: sends its bets in batches, says it
// finished, and waits for its winners. Blocking; used by `minga lottery
// agency` and `minga bench lottery`.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "apps/lottery/batching.h"
#include "base/result.h"
#include "net/client.h"
#include "proto/lottery.pb.h"

namespace minga::lottery {

struct AgencyOptions {
  std::uint32_t agency = 0;
  // The nodes to talk to: the first at first, the next one after each lost
  // connection (any node of a cluster takes bets; followers forward them).
  std::vector<net::Endpoint> servers;
  std::size_t max_amount = kDefaultBatchMaxAmount;
  std::size_t window = 16;                             // batches in flight at once
  std::chrono::milliseconds batch_interval{0};         // at least this long between two batches
  std::chrono::milliseconds answer_timeout{30000};     // silence before reconnecting
  std::chrono::milliseconds retry_for{60000};          // keep reconnecting this long without progress
  std::chrono::milliseconds wait_winners_for{600000};  // wait this long for the draw
  std::chrono::milliseconds progress_every{5000};      // while waiting, report how many agencies finished
};

struct AgencyResult {
  std::uint64_t bets = 0;
  std::uint64_t batches = 0;
  std::uint64_t duplicates = 0;  // batches the server had stored before (retries)
  std::uint64_t reconnects = 0;
  std::vector<std::string> winners;
  std::chrono::steady_clock::time_point first_sent{};
  std::chrono::steady_clock::time_point winners_at{};
};

// Errc::shutting_down when `stop` became true; Errc::unavailable when the
// servers stayed unreachable, or kept answering busy/restarting/not leader, for
// `retry_for` without progress; Errc::invalid_argument when the server
// refused a batch (with its reason); the server's own error for any other
// error answer (bad_frame, ...), at once.
class Agency {
 public:
  Agency(AgencyOptions options, const std::atomic<bool>& stop);

  // Sends every bet (batches numbered from 1, in order), then notifies.
  Status send_bets(const std::vector<pb::Bet>& bets);
  // Sends one bet as batch 1, then notifies; logs `apuesta_enviada`.
  Status send_single(const pb::Bet& bet);
  Status notify_finished();
  // Asks for the winners until the draw has happened (backing off), logging
  // `action: wait_draw | result: in_progress | progress: 3 of 5 agencies
  // finished | waited: 10 s` every progress_every. Errc::timeout after
  // wait_winners_for, with the same progress in the message.
  Result<std::vector<std::string>> wait_winners();

  const AgencyResult& result() const { return result_; }
  bool connected() const { return client_.connected(); }
  void close();

 private:
  // Reconnects with backoff; Errc::unavailable, with the last failure, once
  // nothing progressed since `last_progress` for retry_for. That bounds
  // reconnects and transient error answers (busy, restarting) alike.
  Status ensure_connected(std::chrono::steady_clock::time_point last_progress);
  // Closes the connection after a transient failure, remembered for the
  // error ensure_connected() gives up with, and logs that it will retry.
  void lose_connection(Error why);
  // One request/answer with reconnects on transient failures.
  Result<pb::LotteryResponse> call(std::uint32_t type, const google::protobuf::MessageLite& request);
  bool stopping() const { return stop_.load(std::memory_order_relaxed); }

  AgencyOptions options_;
  const std::atomic<bool>& stop_;
  net::Client client_;
  std::uint64_t next_request_id_ = 1;
  AgencyResult result_;
  Error last_failure_{Errc::unavailable, "not connected yet"};
  std::size_t server_index_ = 0;  // into options_.servers
  const net::Endpoint& server() const { return options_.servers[server_index_ % options_.servers.size()]; }
};

}  // namespace minga::lottery
