#include "base/log.h"

#include <chrono>

#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/base_sink.h>
#include <spdlog/sinks/stdout_sinks.h>

#include "base/json.h"

namespace minga::log {

void Ring::push(std::string line) {
  std::lock_guard lock(mu_);
  lines_.push_back(std::move(line));
  ++next_seq_;
  if (lines_.size() > capacity_) lines_.pop_front();
}

std::vector<std::string> Ring::tail(std::size_t n) const {
  std::lock_guard lock(mu_);
  const std::size_t k = std::min(n, lines_.size());
  return {lines_.end() - static_cast<std::ptrdiff_t>(k), lines_.end()};
}

std::vector<std::string> Ring::since(std::uint64_t& after) const {
  std::lock_guard lock(mu_);
  const std::uint64_t last = next_seq_ - 1;
  const std::uint64_t first = next_seq_ - lines_.size();  // seq of lines_.front()
  std::vector<std::string> out;
  for (std::uint64_t s = std::max(after + 1, first); s <= last; ++s) out.push_back(lines_[s - first]);
  after = last;
  return out;
}

std::uint64_t Ring::last_seq() const {
  std::lock_guard lock(mu_);
  return next_seq_ - 1;
}

namespace {

// Renders a record as one JSON object. Event lines become fields
// {"action":..,"result":..,key:value}; other messages go under "msg".
class JsonFormatter final : public spdlog::formatter {
 public:
  void format(const spdlog::details::log_msg& msg, spdlog::memory_buf_t& dest) override {
    const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(msg.time.time_since_epoch()).count();
    json::Object o;
    o.add("ts_ms", static_cast<std::int64_t>(ms));
    o.add("level", std::string_view(spdlog::level::to_string_view(msg.level).data(),
                                    spdlog::level::to_string_view(msg.level).size()));
    o.add("logger", std::string_view(msg.logger_name.data(), msg.logger_name.size()));
    std::string_view text(msg.payload.data(), msg.payload.size());
    if (text.starts_with("action: ")) {
      std::size_t pos = 0;
      while (pos <= text.size()) {
        std::size_t end = text.find(" | ", pos);
        if (end == std::string_view::npos) end = text.size();
        std::string_view part = text.substr(pos, end - pos);
        const std::size_t colon = part.find(": ");
        if (colon != std::string_view::npos) o.add(part.substr(0, colon), part.substr(colon + 2));
        pos = end + 3;
      }
    } else {
      o.add("msg", text);
    }
    const std::string s = o.str();
    dest.append(s.data(), s.data() + s.size());
    dest.push_back('\n');
  }
  std::unique_ptr<spdlog::formatter> clone() const override { return std::make_unique<JsonFormatter>(); }
};

class RingSink final : public spdlog::sinks::base_sink<std::mutex> {
 protected:
  void sink_it_(const spdlog::details::log_msg& msg) override {
    spdlog::memory_buf_t buf;
    formatter_->format(msg, buf);
    std::string line(buf.data(), buf.size());
    while (!line.empty() && (line.back() == '\n' || line.back() == '\r')) line.pop_back();
    ring().push(std::move(line));
  }
  void flush_() override {}
};

constexpr const char* kTextPattern = "%Y-%m-%d %H:%M:%S.%e %^%-5l%$ [%n] %v";

}  // namespace

Ring& ring() {
  static Ring r(4096);
  return r;
}

bool parse_level(std::string_view text, spdlog::level::level_enum& out) {
  static constexpr std::pair<std::string_view, spdlog::level::level_enum> kLevels[] = {
      {"trace", spdlog::level::trace}, {"debug", spdlog::level::debug},      {"info", spdlog::level::info},
      {"warn", spdlog::level::warn},   {"warning", spdlog::level::warn},     {"error", spdlog::level::err},
      {"off", spdlog::level::off},     {"critical", spdlog::level::critical}};
  std::string lower(text);
  for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  for (auto& [name, lvl] : kLevels) {
    if (lower == name) {
      out = lvl;
      return true;
    }
  }
  return false;
}

bool init(std::string_view level, Format format, std::string_view name) {
  auto console = std::make_shared<spdlog::sinks::stderr_sink_mt>();
  auto ring_sink = std::make_shared<RingSink>();
  auto logger = std::make_shared<spdlog::logger>(std::string(name), spdlog::sinks_init_list{console, ring_sink});
  if (format == Format::json) {
    logger->set_formatter(std::make_unique<JsonFormatter>());
  } else {
    console->set_pattern(kTextPattern);
    ring_sink->set_pattern("%Y-%m-%d %H:%M:%S.%e %-5l [%n] %v");
  }
  spdlog::level::level_enum lvl = spdlog::level::info;
  const bool ok = parse_level(level, lvl);
  logger->set_level(lvl);
  logger->flush_on(spdlog::level::trace);
  spdlog::set_default_logger(logger);
  return ok;
}

void rename(std::string_view name) { spdlog::set_default_logger(spdlog::default_logger()->clone(std::string(name))); }

std::string event(std::string_view action, std::string_view result, std::initializer_list<Field> fields) {
  std::string line;
  line.reserve(64);
  line += "action: ";
  line += action;
  line += " | result: ";
  line += result;
  for (const auto& [k, v] : fields) {
    line += " | ";
    line += k;
    line += ": ";
    line += v;
  }
  return line;
}

void emit(spdlog::level::level_enum level, std::string_view action, std::string_view result,
          std::initializer_list<Field> fields) {
  auto* logger = spdlog::default_logger_raw();
  if (!logger->should_log(level)) return;
  logger->log(level, "{}", event(action, result, fields));
}

}  // namespace minga::log
