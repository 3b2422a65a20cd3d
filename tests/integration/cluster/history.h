// A client history of the records app, as real processes produced it, and
// its check against the append-list model. Pure: no sockets, no clock.
//
// The simulator's checker (tests/sim/model.h) relies on an append returning
// the whole list before it; records answers an append with its index only.
// So the reference order here is the final list, read once the cluster is
// healed and every node holds the same list, and each completed operation
// still reveals its place in it: an acknowledged append its index, a read
// the length of the prefix it saw. The check is exact, with no search:
//
//   acked_at_index  each acknowledged append's value is at its index in the
//                   final list
//   read_prefix     every completed read is a prefix of the final list
//   real_time       if X completed before Y was invoked, Y sees at least
//                   what X made visible: visible(X) <= before(Y), where a
//                   read of length L has visible = before = L and an append
//                   at position p (1-based) has visible = p, before = p - 1;
//                   an append of unknown outcome found in the final list
//                   takes its place there too
//   duplicate       no value appears twice in the final list
//   never_sent      every value in the final list was sent and not refused
//                   (acknowledged, or of unknown outcome)
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace minga::testing {

struct HistoryOp {
  enum class Kind : std::uint8_t { append, read };
  // ok: answered; unknown: timeout or lost connection after the request
  // left (it may or may not have taken effect); refused: an answer that
  // says it did not (not the leader, no leader, bad request).
  enum class Outcome : std::uint8_t { ok, unknown, refused };
  Kind kind = Kind::append;
  int client = 0;
  std::size_t node = 0;
  std::uint64_t value = 0;     // append: the value sent (unique in a history)
  std::int64_t invoked = 0;    // steady clock (any one unit; the chaos test uses ns since its start)
  std::int64_t completed = 0;  // meaningful for ok and refused
  Outcome outcome = Outcome::ok;
  std::uint64_t index = 0;  // append, ok: the 1-based index it got
  // read, ok: how many records it returned and the digest of them all
  // (list_digest): a long run keeps two numbers per read, not the list.
  std::uint64_t length = 0;
  std::uint64_t digest = 0;
};

// The digest of a list, one value at a time: extend(extend(kEmpty, a), b) is
// the digest of [a, b]. Order matters; 64 bits, so a read that is not a
// prefix of the final list yet has a prefix's digest is out of reach.
inline constexpr std::uint64_t kEmptyDigest = 0x6a09e667f3bcc908ULL;
std::uint64_t extend_digest(std::uint64_t digest, std::uint64_t value);
std::uint64_t list_digest(const std::vector<std::uint64_t>& list);

struct Violation {
  enum class Rule : std::uint8_t { acked_at_index, read_prefix, real_time, duplicate, never_sent };
  Rule rule = Rule::acked_at_index;
  std::string detail;
};

const char* rule_name(Violation::Rule rule);

// nullopt when the history is linearizable against `final_list`.
std::optional<Violation> check_history(const std::vector<HistoryOp>& history,
                                       const std::vector<std::uint64_t>& final_list);

// A text form of the history and the final list, one line per operation,
// for the file a failed run leaves behind (reads as length and digest, with
// whether they are a prefix of the final list).
std::string format_history(const std::vector<HistoryOp>& history, const std::vector<std::uint64_t>& final_list);

}  // namespace minga::testing
