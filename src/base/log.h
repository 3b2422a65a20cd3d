// Logging: spdlog to stderr plus an in-memory ring of recent lines that the
// monitor serves at /logs.
//
// Event lines follow one shape that external checkers grep for:
//   action: <verb> | result: <success|in_progress|fail> | key: value | ...
// Every event line has at least one key after the result.
#pragma once

#include <cstdint>
#include <deque>
#include <initializer_list>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <spdlog/spdlog.h>

namespace minga::log {

enum class Format { text, json };

// Keeps the last `capacity_lines` formatted lines. Thread-safe.
class Ring {
 public:
  explicit Ring(std::size_t capacity_lines) : capacity_(capacity_lines) {}
  void push(std::string line);
  // The last `n` lines (all if fewer).
  std::vector<std::string> tail(std::size_t n) const;
  // Lines with sequence number > `after`; updates `after` to the newest seen.
  std::vector<std::string> since(std::uint64_t& after) const;
  std::uint64_t last_seq() const;

 private:
  mutable std::mutex mu_;
  std::size_t capacity_;
  std::deque<std::string> lines_;
  std::uint64_t next_seq_ = 1;  // sequence number of the next pushed line
};

// Installs the default logger. `level` is trace|debug|info|warn|error|off;
// returns false (and keeps info) for an unknown level.
bool init(std::string_view level, Format format, std::string_view name = "minga");
bool parse_level(std::string_view text, spdlog::level::level_enum& out);
// Gives the default logger another name (a node learns its id from its data
// dir after logging has started). Same sinks, level and format.
void rename(std::string_view name);
Ring& ring();

using Field = std::pair<std::string_view, std::string>;

// "action: A | result: R | k1: v1 | k2: v2"
std::string event(std::string_view action, std::string_view result, std::initializer_list<Field> fields);

// Logs an event line at `level`.
void emit(spdlog::level::level_enum level, std::string_view action, std::string_view result,
          std::initializer_list<Field> fields);

inline void debug(std::string_view action, std::string_view result, std::initializer_list<Field> fields) {
  emit(spdlog::level::debug, action, result, fields);
}

inline void error(std::string_view action, std::string_view result, std::initializer_list<Field> fields) {
  emit(spdlog::level::err, action, result, fields);
}

inline void info(std::string_view action, std::string_view result, std::initializer_list<Field> fields) {
  emit(spdlog::level::info, action, result, fields);
}
inline void warn(std::string_view action, std::string_view result, std::initializer_list<Field> fields) {
  emit(spdlog::level::warn, action, result, fields);
}

}  // namespace minga::log
