#include "apps/calc/sum_squares.h"

#include <algorithm>

#include "apps/calc/calc_ops.h"
#include "base/assert.h"
#include "base/json.h"

namespace minga::calc {

std::vector<Range> split_range(std::uint64_t n, std::size_t parts) {
  std::vector<Range> out;
  if (n == 0 || parts == 0) return out;
  const std::uint64_t k = std::min<std::uint64_t>(parts, n);
  const std::uint64_t base = n / k, larger = n % k;
  std::uint64_t lo = 1;
  for (std::uint64_t i = 0; i < k; ++i) {
    const std::uint64_t size = base + (i < larger ? 1 : 0);
    out.push_back(Range{lo, lo + (size - 1)});
    lo += size;  // wraps to 0 only after the last range when n is UINT64_MAX
  }
  return out;
}
namespace {

const std::string kMaxText = std::to_string(kMaxSumSquaresN);

Result<u128> parse_u128(std::string_view text) {
  if (text.empty() || text.size() > 39)
    return Error{Errc::bad_frame, "invalid part result '" + std::string(text) + "'"};
  u128 v = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return Error{Errc::bad_frame, "invalid part result '" + std::string(text) + "'"};
    const u128 next = v * 10 + static_cast<unsigned>(c - '0');
    if (next / 10 != v) return Error{Errc::bad_frame, "part result out of range '" + std::string(text) + "'"};
    v = next;
  }
  return v;
}

}  // namespace

Result<std::uint64_t> parse_sum_squares_n(std::string_view text) {
  const bool digits_only =
      !text.empty() && text.find_first_not_of("0123456789") == std::string_view::npos && text.size() <= 20;
  auto n = digits_only ? parse_u64(text) : Result<std::uint64_t>(Error{Errc::invalid_argument, ""});
  if (!n.ok()) {
    return Error{Errc::invalid_argument,
                 "n must be a whole number from 0 to " + kMaxText + ", got '" + std::string(text) + "'"};
  }
  if (auto st = check_sum_squares_n(n.value()); !st.ok()) return st.error();
  return n;
}

Status check_sum_squares_n(std::uint64_t n) {
  if (n > kMaxSumSquaresN) {
    return Error{Errc::invalid_argument,
                 "n = " + std::to_string(n) + " is too large: sumsq is exact for n up to " + kMaxText};
  }
  return ok_status();
}

SumSquaresGather::SumSquaresGather(std::vector<Range> ranges)
    : ranges_(std::move(ranges)), parts_(ranges_.size()), have_(ranges_.size()), missing_(ranges_.size()) {}

Status SumSquaresGather::set(std::size_t i, std::string_view decimal, std::string worker,
                             std::vector<std::string> reassigned_from) {
  MINGA_ASSERT(i < ranges_.size(), "part index out of range");
  if (have_[i]) return ok_status();
  auto v = parse_u128(decimal);
  if (!v.ok()) return v.error();
  if (total_ + v.value() < total_) return Error{Errc::bad_frame, "the parts' results overflow 128 bits"};
  total_ += v.value();
  pb::SumSquaresPart& p = parts_[i];
  p.set_a(ranges_[i].lo);
  p.set_b(ranges_[i].hi);
  p.set_result(std::string(decimal));
  p.set_worker(std::move(worker));
  for (auto& w : reassigned_from) p.add_reassigned_from(std::move(w));
  have_[i] = true;
  --missing_;
  return ok_status();
}

pb::SumSquaresResponse SumSquaresGather::response() const {
  MINGA_ASSERT(complete(), "response() before every part arrived");
  pb::SumSquaresResponse r;
  for (const auto& p : parts_) *r.add_parts() = p;
  r.set_result(format_u128(total_));
  return r;
}

SumSquaresJob::SumSquaresJob(std::vector<Range> ranges, Done done)
    : ranges_(ranges), gather_(std::move(ranges)), done_(std::move(done)) {}

bool SumSquaresJob::finish_part(std::size_t i, Result<Part> part) {
  Result<pb::SumSquaresResponse> answer = Error{Errc::internal, "unset"};
  Done done;
  {
    std::lock_guard lock(mu_);
    if (finished_) return false;
    Status st = part.ok() ? gather_.set(i, part->decimal, std::move(part->worker), std::move(part->reassigned_from))
                          : Status(part.error());
    if (st.ok() && !gather_.complete()) return false;
    finished_ = true;
    answer = st.ok() ? Result<pb::SumSquaresResponse>(gather_.response()) : Result<pb::SumSquaresResponse>(st.error());
    done = std::move(done_);
  }
  const bool failed = !answer.ok();
  done(std::move(answer));  // outside the lock: it may start new work
  return failed;
}

std::string sum_squares_json(const pb::SumSquaresResponse& response) {
  std::string parts = "[";
  for (const auto& p : response.parts()) {
    if (parts.size() > 1) parts += ',';
    json::Object o;
    o.add("a", static_cast<std::uint64_t>(p.a()))
        .add("b", static_cast<std::uint64_t>(p.b()))
        .add_raw("result", p.result())
        .add("worker", p.worker());
    if (p.reassigned_from_size() > 0) {
      std::string from = "[";
      for (const auto& w : p.reassigned_from()) {
        if (from.size() > 1) from += ',';
        from += json::quote(w);
      }
      o.add_raw("reassigned_from", from + "]");
    }
    parts += o.str();
  }
  return json::Object().add("ok", true).add_raw("result", response.result()).add_raw("parts", parts + "]").str();
}

}  // namespace minga::calc
