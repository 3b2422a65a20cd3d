// sumsq (1^2 + ... + n^2) as a scatter/gather job: the argument's rules,
// the gathering of the parts into one exact answer, and its JSON form.
// Pure: no I/O. Exact with unsigned 128-bit integers for n <= 10^12.
#pragma once

#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "base/number.h"
#include "base/result.h"
#include "proto/cluster.pb.h"

namespace minga::calc {

// An inclusive range lo..hi.
struct Range {
  std::uint64_t lo = 0;
  std::uint64_t hi = 0;
  bool operator==(const Range&) const = default;
};

// Splits 1..n into min(parts, n) contiguous ranges in order, whose sizes
// differ by at most one (the larger ones first). Empty when n or parts is 0.
std::vector<Range> split_range(std::uint64_t n, std::size_t parts);

// "9" -> 9. A whole number from 0 to 10^12; anything else (negative,
// fraction, exponent, text, too large) is invalid_argument.
Result<std::uint64_t> parse_sum_squares_n(std::string_view text);
// n <= 10^12, else invalid_argument naming the limit.
Status check_sum_squares_n(std::uint64_t n);

// The parts of one job as they arrive, in any order.
class SumSquaresGather {
 public:
  explicit SumSquaresGather(std::vector<Range> ranges);
  std::size_t size() const { return parts_.size(); }
  const Range& range(std::size_t i) const { return ranges_[i]; }
  // Records part `i` (once). `decimal` is the worker's exact answer; an
  // answer that is not a decimal, or that takes the sum past 2^128, is a
  // bad_frame error (a worker's answer never crashes the coordinator).
  Status set(std::size_t i, std::string_view decimal, std::string worker, std::vector<std::string> reassigned_from);
  bool complete() const { return missing_ == 0; }
  // The sum and every part, in range order. Requires complete().
  pb::SumSquaresResponse response() const;

 private:
  std::vector<Range> ranges_;
  std::vector<pb::SumSquaresPart> parts_;
  std::vector<bool> have_;
  std::size_t missing_;
  u128 total_ = 0;
};

// One sumsq job in flight. Parts finish in any order, on any thread; the
// requester is answered exactly once: by the last part, or by the first
// failure. Thread-safe.
class SumSquaresJob {
 public:
  struct Part {
    std::string decimal;  // the worker's exact answer
    std::string worker;
    std::vector<std::string> reassigned_from;
  };
  using Done = std::function<void(Result<pb::SumSquaresResponse>)>;

  SumSquaresJob(std::vector<Range> ranges, Done done);
  std::size_t size() const { return ranges_.size(); }
  const Range& range(std::size_t i) const { return ranges_[i]; }
  // Records part `i`, or fails the job with the part's error. Returns true
  // when this call failed the job, so the caller can abandon the other
  // parts. Calls after the job ended are ignored.
  bool finish_part(std::size_t i, Result<Part> part);

 private:
  const std::vector<Range> ranges_;
  std::mutex mu_;
  SumSquaresGather gather_;
  Done done_;
  bool finished_ = false;
};

// {"ok":true,"result":285,"parts":[{"a":1,"b":3,"result":14,"worker":"w1"},...]};
// a part that moved adds "reassigned_from":["w2"]. Numbers stay exact.
std::string sum_squares_json(const pb::SumSquaresResponse& response);

}  // namespace minga::calc
