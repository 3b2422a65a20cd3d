// A minimal JSON writer for answers and monitor pages. Text-mode commands are
// read by wire/json_command.h.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace minga::json {

// Appends `text` as a JSON string literal (with quotes) to `out`.
void append_string(std::string& out, std::string_view text);
std::string quote(std::string_view text);

// Builds one JSON object: Object().add("ok", true).add("result", "x").str()
class Object {
 public:
  Object& add(std::string_view key, std::string_view value);
  Object& add(std::string_view key, const char* value) { return add(key, std::string_view(value)); }
  Object& add(std::string_view key, const std::string& value) { return add(key, std::string_view(value)); }
  Object& add(std::string_view key, bool value);
  Object& add(std::string_view key, double value);
  Object& add(std::string_view key, std::int64_t value);
  Object& add(std::string_view key, std::uint64_t value);
  Object& add(std::string_view key, int value) { return add(key, static_cast<std::int64_t>(value)); }
  Object& add(std::string_view key, unsigned value) { return add(key, static_cast<std::uint64_t>(value)); }
  // `raw_json` must already be valid JSON (an object, array or literal).
  Object& add_raw(std::string_view key, std::string_view raw_json);
  std::string str() const { return body_ + "}"; }

 private:
  void key(std::string_view k);
  std::string body_ = "{";
};

}  // namespace minga::json
