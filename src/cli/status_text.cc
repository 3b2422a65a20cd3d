#include "cli/status_text.h"

#include <cmath>
#include <map>
#include <memory>
#include <optional>
#include <utility>
#include <vector>

namespace minga::cli {

namespace {

// Just enough JSON to show a status section: what the node writes
// (objects, arrays, strings, numbers, booleans, null). Numbers keep their text.
struct Value {
  enum class Kind { scalar, object, array } kind = Kind::scalar;
  std::string text;                                    // scalar: as shown
  std::vector<std::pair<std::string, Value>> members;  // object, in order
  std::vector<Value> items;                            // array
};

class Reader {
 public:
  explicit Reader(std::string_view s) : s_(s) {}

  std::optional<Value> document() {
    auto v = value();
    skip();
    if (!v || i_ != s_.size()) return std::nullopt;
    return v;
  }

 private:
  void skip() {
    while (i_ < s_.size() && (s_[i_] == ' ' || s_[i_] == '\n' || s_[i_] == '\t' || s_[i_] == '\r')) ++i_;
  }
  bool eat(char c) {
    skip();
    if (i_ < s_.size() && s_[i_] == c) {
      ++i_;
      return true;
    }
    return false;
  }
  std::optional<std::string> string() {
    if (!eat('"')) return std::nullopt;
    std::string out;
    while (i_ < s_.size() && s_[i_] != '"') {
      if (s_[i_] == '\\' && i_ + 1 < s_.size()) {
        const char e = s_[++i_];
        if (e == 'u') {
          out += "\\u";  // kept as written
        } else {
          out.push_back(e == 'n' ? '\n' : e == 't' ? '\t' : e);
        }
      } else {
        out.push_back(s_[i_]);
      }
      ++i_;
    }
    if (i_ >= s_.size()) return std::nullopt;
    ++i_;
    return out;
  }
  std::optional<Value> value() {
    skip();
    if (i_ >= s_.size()) return std::nullopt;
    Value v;
    if (s_[i_] == '{') {
      ++i_;
      v.kind = Value::Kind::object;
      if (eat('}')) return v;
      do {
        auto key = string();
        if (!key || !eat(':')) return std::nullopt;
        auto member = value();
        if (!member) return std::nullopt;
        v.members.emplace_back(std::move(*key), std::move(*member));
      } while (eat(','));
      if (!eat('}')) return std::nullopt;
      return v;
    }
    if (s_[i_] == '[') {
      ++i_;
      v.kind = Value::Kind::array;
      if (eat(']')) return v;
      do {
        auto item = value();
        if (!item) return std::nullopt;
        v.items.push_back(std::move(*item));
      } while (eat(','));
      if (!eat(']')) return std::nullopt;
      return v;
    }
    if (s_[i_] == '"') {
      auto text = string();
      if (!text) return std::nullopt;
      v.text = text->empty() ? "-" : std::move(*text);
      return v;
    }
    // A number, true, false or null: shown as written.
    const std::size_t start = i_;
    while (i_ < s_.size() && s_[i_] != ',' && s_[i_] != '}' && s_[i_] != ']' && s_[i_] != ' ') ++i_;
    v.text = std::string(s_.substr(start, i_ - start));
    const char first = v.text.empty() ? '\0' : v.text[0];
    const bool number = first == '-' || (first >= '0' && first <= '9');
    if (!number && v.text != "true" && v.text != "false" && v.text != "null") return std::nullopt;
    return v;
  }

  std::string_view s_;
  std::size_t i_ = 0;
};

std::string pad(int n) { return std::string(static_cast<std::size_t>(n), ' '); }

// An element of a list on one line: "agency: 1, bets: 200, finished: yes".
std::string inline_text(const Value& v) {
  if (v.kind == Value::Kind::scalar) return v.text;
  std::string out;
  if (v.kind == Value::Kind::object) {
    for (const auto& [k, m] : v.members) out += (out.empty() ? "" : ", ") + k + ": " + inline_text(m);
    return out;
  }
  for (const auto& item : v.items) out += (out.empty() ? "" : ", ") + inline_text(item);
  return "[" + out + "]";
}

void render(const Value& v, int indent, std::string& out) {
  if (v.kind == Value::Kind::array) {
    if (v.items.empty()) out += pad(indent) + "(none)\n";
    for (const auto& item : v.items) out += pad(indent) + "- " + inline_text(item) + "\n";
    return;
  }
  if (v.kind == Value::Kind::scalar) {
    out += pad(indent) + v.text + "\n";
    return;
  }
  std::size_t width = 0;
  for (const auto& [k, m] : v.members) {
    if (m.kind == Value::Kind::scalar) width = std::max(width, k.size());
  }
  for (const auto& [k, m] : v.members) {
    if (m.kind == Value::Kind::scalar) {
      out += pad(indent) + k + ":" + std::string(width - k.size() + 1, ' ') + m.text + "\n";
    } else {
      out += pad(indent) + k + ":\n";
      render(m, indent + 2, out);
    }
  }
}

std::string two_digits(long long v) { return (v < 10 ? "0" : "") + std::to_string(v); }

}  // namespace

std::string duration_text(double seconds) {
  const long long s = seconds > 0 ? static_cast<long long>(std::floor(seconds)) : 0;
  if (s < 60) return std::to_string(s) + " s";
  if (s < 3600) return std::to_string(s / 60) + " min " + two_digits(s % 60) + " s";
  if (s < 86400) return std::to_string(s / 3600) + " h " + two_digits(s % 3600 / 60) + " min";
  return std::to_string(s / 86400) + " d " + std::to_string(s % 86400 / 3600) + " h";
}

std::string json_as_text(std::string_view json, int indent) {
  auto v = Reader(json).document();
  if (!v) return "";
  std::string out;
  render(*v, indent, out);
  return out;
}

std::string status_text(const pb::StatusResponse& v) {
  const auto& t = v.tasks();
  std::string out = "node\n";
  out += "  id:               " + v.id() + "\n";
  out += "  version:          " + v.version() + "\n";
  out += "  role:             " + v.role() + "\n";
  out += "  uptime:           " + duration_text(v.uptime_seconds()) + "\n";
  out += "  open connections: " + std::to_string(v.open_connections()) + "\n";
  out += "  threads:          " + std::to_string(v.threads()) + "\n";
  out += "tasks\n";
  out += "  queued " + std::to_string(t.queued()) + ", waiting " + std::to_string(t.waiting()) + ", running " +
         std::to_string(t.running()) + ", done " + std::to_string(t.done()) + ", failed " + std::to_string(t.failed()) +
         ", rejected " + std::to_string(t.rejected()) + "\n";
  const std::map<std::string, std::string> sections(v.sections().begin(), v.sections().end());
  for (const auto& [name, json] : sections) {
    out += name + "\n";
    const std::string text = json_as_text(json, 2);
    out += text.empty() ? "  " + json + "\n" : text;
  }
  return out;
}

}  // namespace minga::cli
