#include "apps/api/app.h"
#include "base/number.h"

namespace minga::apps {

Result<std::int64_t> Settings::get_int(std::string_view file_key, std::string_view env_key,
                                       std::int64_t fallback) const {
  auto text = get(file_key, env_key);
  if (!text) return fallback;
  std::string_view body = *text;
  const bool negative = !body.empty() && body.front() == '-';
  if (negative) body.remove_prefix(1);
  auto v = parse_u64(body);
  if (!v.ok() || v.value() > static_cast<std::uint64_t>(INT64_MAX)) {
    return Error{Errc::invalid_argument, "setting " + std::string(file_key) + ": invalid integer '" + *text + "'"};
  }
  return negative ? -static_cast<std::int64_t>(v.value()) : static_cast<std::int64_t>(v.value());
}

Result<double> Settings::get_double(std::string_view file_key, std::string_view env_key, double fallback) const {
  auto text = get(file_key, env_key);
  if (!text) return fallback;
  auto v = parse_double(*text);
  if (!v.ok())
    return Error{Errc::invalid_argument, "setting " + std::string(file_key) + ": invalid number '" + *text + "'"};
  return v.value();
}

std::string Settings::get_string(std::string_view file_key, std::string_view env_key, std::string fallback) const {
  auto text = get(file_key, env_key);
  return text ? *text : std::move(fallback);
}

}  // namespace minga::apps
