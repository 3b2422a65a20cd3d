#include "base/number.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdint>

namespace minga {

Result<double> parse_double(std::string_view text) {
  std::string_view body = text;
  if (!body.empty() && body.front() == '+') body.remove_prefix(1);
  if (body.empty()) return Error{Errc::invalid_argument, "invalid number: empty"};
  const char c = body.front();
  if (!((c >= '0' && c <= '9') || c == '-' || c == '.')) {
    return Error{Errc::invalid_argument, "invalid number: '" + std::string(text) + "'"};
  }
  double value = 0;
  auto [end, ec] = std::from_chars(body.data(), body.data() + body.size(), value, std::chars_format::general);
  if (ec == std::errc::result_out_of_range) {
    return Error{Errc::invalid_argument, "number out of range: '" + std::string(text) + "'"};
  }
  if (ec != std::errc() || end != body.data() + body.size() || !std::isfinite(value)) {
    return Error{Errc::invalid_argument, "invalid number: '" + std::string(text) + "'"};
  }
  return value;
}

Result<std::uint64_t> parse_u64(std::string_view text) {
  std::string_view body = text;
  if (!body.empty() && body.front() == '+') body.remove_prefix(1);
  if (body.empty() || body.front() < '0' || body.front() > '9') {
    return Error{Errc::invalid_argument, "invalid integer: '" + std::string(text) + "'"};
  }
  std::uint64_t value = 0;
  auto [end, ec] = std::from_chars(body.data(), body.data() + body.size(), value, 10);
  if (ec == std::errc::result_out_of_range) {
    return Error{Errc::invalid_argument, "integer out of range: '" + std::string(text) + "'"};
  }
  if (ec != std::errc() || end != body.data() + body.size()) {
    return Error{Errc::invalid_argument, "invalid integer: '" + std::string(text) + "'"};
  }
  return value;
}

std::string format_double(double value) {
  if (value == 0) value = 0;  // print -0 as 0
  char buf[64];
  // Whole numbers below 2^53 print in full ("100000", not "1e+05"); every
  // other value in the shortest form that reads back to the same double.
  if (std::abs(value) < 9007199254740992.0 && value == std::trunc(value)) {
    auto [end, ec] = std::to_chars(buf, buf + sizeof buf, static_cast<std::int64_t>(value));
    (void)ec;
    return std::string(buf, end);
  }
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, value);
  (void)ec;  // 64 bytes always fit the shortest form of a double
  return std::string(buf, end);
}

std::string format_u128(u128 value) {
  if (value == 0) return "0";
  char buf[48];
  char* p = buf + sizeof buf;
  while (value > 0) {
    *--p = static_cast<char>('0' + static_cast<int>(value % 10));
    value /= 10;
  }
  return std::string(p, buf + sizeof buf);
}

double percentile(const std::vector<double>& sorted, double p) {
  if (sorted.empty()) return 0;
  const auto idx = static_cast<std::size_t>(p / 100.0 * static_cast<double>(sorted.size() - 1) + 0.5);
  return sorted[std::min(idx, sorted.size() - 1)];
}

}  // namespace minga
