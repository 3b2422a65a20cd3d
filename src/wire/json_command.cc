#include "wire/json_command.h"

#include "base/number.h"

namespace minga::wire {
namespace {

using google::protobuf::FieldDescriptor;

Error bad(const std::string& what) { return Error{Errc::invalid_argument, "invalid JSON command: " + what}; }

std::string quoted(std::string_view name) { return "\"" + std::string(name) + "\""; }

void append_utf8(std::string& out, std::uint32_t cp) {
  if (cp < 0x80) {
    out.push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out.push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out.push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

// A cursor over one line. Every read either advances past what it accepts
// or returns an error naming the byte offset.
class Reader {
 public:
  explicit Reader(std::string_view text) : s_(text) {}

  void skip_space() {
    while (i_ < s_.size() && (s_[i_] == ' ' || s_[i_] == '\t' || s_[i_] == '\r' || s_[i_] == '\n')) ++i_;
  }
  bool at_end() const { return i_ >= s_.size(); }
  char peek() const { return at_end() ? '\0' : s_[i_]; }
  bool eat(char c) {
    if (at_end() || s_[i_] != c) return false;
    ++i_;
    return true;
  }
  Error expected(std::string_view what) const {
    return bad("expected " + std::string(what) + " at byte " + std::to_string(i_));
  }

  Result<std::string> string() {
    if (!eat('"')) return expected("'\"'");
    std::string out;
    for (;;) {
      if (at_end()) return bad("unterminated string");
      const char c = s_[i_++];
      if (c == '"') return out;
      if (static_cast<unsigned char>(c) < 0x20)
        return bad("control character in a string at byte " + std::to_string(i_ - 1));
      if (c != '\\') {
        out.push_back(c);
        continue;
      }
      if (auto st = escape(out); !st.ok()) return st.error();
    }
  }

  // The RFC 8259 number grammar, then a strict conversion.
  Result<double> number() {
    auto text = number_text();
    if (!text.ok()) return text.error();
    auto v = parse_double(text.value());
    if (!v.ok()) return bad(v.error().message);
    return v.value();
  }

  // The text of one number in the RFC 8259 grammar, unconverted: a count
  // given as a JSON number keeps every digit, even beyond 2^53.
  Result<std::string_view> number_text() {
    const std::size_t start = i_;
    eat('-');
    if (eat('0')) {
      if (digit()) return bad("leading zero in a number at byte " + std::to_string(start));
    } else if (!digits()) {
      return expected("a number");
    }
    if (eat('.') && !digits()) return expected("a digit after '.'");
    if (eat('e') || eat('E')) {
      if (!eat('+')) eat('-');
      if (!digits()) return expected("a digit in the exponent");
    }
    return s_.substr(start, i_ - start);
  }

 private:
  bool digit() const { return peek() >= '0' && peek() <= '9'; }
  bool digits() {
    const std::size_t start = i_;
    while (digit()) ++i_;
    return i_ > start;
  }
  Result<std::uint32_t> hex4() {
    if (s_.size() - i_ < 4) return bad("short \\u escape");
    std::uint32_t v = 0;
    for (int k = 0; k < 4; ++k) {
      const char h = s_[i_++];
      v <<= 4;
      if (h >= '0' && h <= '9')
        v |= static_cast<std::uint32_t>(h - '0');
      else if (h >= 'a' && h <= 'f')
        v |= static_cast<std::uint32_t>(h - 'a' + 10);
      else if (h >= 'A' && h <= 'F')
        v |= static_cast<std::uint32_t>(h - 'A' + 10);
      else
        return bad("bad \\u escape");
    }
    return v;
  }
  Status escape(std::string& out) {
    if (at_end()) return bad("unterminated string");
    const char e = s_[i_++];
    switch (e) {
      case '"':
      case '\\':
      case '/':
        out.push_back(e);
        return ok_status();
      case 'b':
        out.push_back('\b');
        return ok_status();
      case 'f':
        out.push_back('\f');
        return ok_status();
      case 'n':
        out.push_back('\n');
        return ok_status();
      case 'r':
        out.push_back('\r');
        return ok_status();
      case 't':
        out.push_back('\t');
        return ok_status();
      case 'u':
        break;
      default:
        return bad("bad escape \\" + std::string(1, e));
    }
    auto hi = hex4();
    if (!hi.ok()) return hi.error();
    std::uint32_t cp = hi.value();
    if (cp >= 0xDC00 && cp <= 0xDFFF) return bad("unpaired surrogate in \\u escape");
    if (cp >= 0xD800 && cp <= 0xDBFF) {
      if (!eat('\\') || !eat('u')) return bad("unpaired surrogate in \\u escape");
      auto lo = hex4();
      if (!lo.ok()) return lo.error();
      if (lo.value() < 0xDC00 || lo.value() > 0xDFFF) return bad("unpaired surrogate in \\u escape");
      cp = 0x10000 + ((cp - 0xD800) << 10) + (lo.value() - 0xDC00);
    }
    append_utf8(out, cp);
    return ok_status();
  }

  std::string_view s_;
  std::size_t i_ = 0;
};

// Reads one member's value into the field of the same name.
Status read_member(Reader& in, const std::string& name, pb::JsonCommand& cmd) {
  const FieldDescriptor* field = pb::JsonCommand::descriptor()->FindFieldByName(name);
  if (field == nullptr) return bad("unknown field " + quoted(name));
  const auto* reflection = cmd.GetReflection();
  if (reflection->HasField(cmd, field)) return bad("repeated field " + quoted(name));
  const char first = in.peek();
  const bool number_start = first == '-' || (first >= '0' && first <= '9');
  if (name == "n" && number_start) {
    // A count: a JSON number or a string, kept as its text; the operation
    // checks that it is a whole number in range.
    auto v = in.number_text();
    if (!v.ok()) return v.error();
    reflection->SetString(&cmd, field, std::string(v.value()));
    return ok_status();
  }
  if (field->cpp_type() == FieldDescriptor::CPPTYPE_STRING) {
    if (first != '"')
      return bad("field " + quoted(name) + (name == "n" ? " must be a number or a string" : " must be a string"));
    auto v = in.string();
    if (!v.ok()) return v.error();
    reflection->SetString(&cmd, field, std::move(v).value());
    return ok_status();
  }
  if (!number_start) return bad("field " + quoted(name) + " must be a number");
  auto v = in.number();
  if (!v.ok()) return v.error();
  reflection->SetDouble(&cmd, field, v.value());
  return ok_status();
}

}  // namespace

Result<pb::JsonCommand> parse_json_command(std::string_view text) {
  Reader in(text);
  pb::JsonCommand cmd;
  in.skip_space();
  if (!in.eat('{')) return in.expected("'{'");
  in.skip_space();
  if (!in.eat('}')) {
    for (;;) {
      in.skip_space();
      auto name = in.string();
      if (!name.ok()) return name.error();
      in.skip_space();
      if (!in.eat(':')) return in.expected("':'");
      in.skip_space();
      if (auto st = read_member(in, name.value(), cmd); !st.ok()) return st.error();
      in.skip_space();
      if (in.eat('}')) break;
      if (!in.eat(',')) return in.expected("',' or '}'");
    }
  }
  in.skip_space();
  if (!in.at_end()) return in.expected("the end of the line");
  return cmd;
}

Status require_fields(const pb::JsonCommand& command, const std::vector<std::string>& fields) {
  const auto* reflection = command.GetReflection();
  for (const auto& name : fields) {
    const FieldDescriptor* field = pb::JsonCommand::descriptor()->FindFieldByName(name);
    if (field == nullptr || !reflection->HasField(command, field)) {
      return Error{Errc::invalid_argument, "missing field " + quoted(name)};
    }
  }
  return ok_status();
}

}  // namespace minga::wire
