#include "base/json.h"

#include <cmath>

#include "base/number.h"

namespace minga::json {

void append_string(std::string& out, std::string_view text) {
  static constexpr char kHex[] = "0123456789abcdef";
  out.push_back('"');
  for (unsigned char c : text) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (c < 0x20) {
          out += "\\u00";
          out.push_back(kHex[c >> 4]);
          out.push_back(kHex[c & 0xF]);
        } else {
          out.push_back(static_cast<char>(c));
        }
    }
  }
  out.push_back('"');
}

std::string quote(std::string_view text) {
  std::string out;
  append_string(out, text);
  return out;
}

void Object::key(std::string_view k) {
  if (body_.size() > 1) body_.push_back(',');
  append_string(body_, k);
  body_.push_back(':');
}

Object& Object::add(std::string_view k, std::string_view value) {
  key(k);
  append_string(body_, value);
  return *this;
}
Object& Object::add(std::string_view k, bool value) {
  key(k);
  body_ += value ? "true" : "false";
  return *this;
}
Object& Object::add(std::string_view k, double value) {
  key(k);
  body_ += std::isfinite(value) ? format_double(value) : "null";
  return *this;
}
Object& Object::add(std::string_view k, std::int64_t value) {
  key(k);
  body_ += std::to_string(value);
  return *this;
}
Object& Object::add(std::string_view k, std::uint64_t value) {
  key(k);
  body_ += std::to_string(value);
  return *this;
}
Object& Object::add_raw(std::string_view k, std::string_view raw_json) {
  key(k);
  body_ += raw_json;
  return *this;
}

}  // namespace minga::json
