#include "apps/lottery/bets.h"

#include <charconv>

#include "apps/text/text_ops.h"

namespace minga::lottery {
namespace {

Error invalid(std::string message) { return Error{Errc::invalid_argument, std::move(message)}; }

bool all_digits(std::string_view s) {
  for (char c : s) {
    if (c < '0' || c > '9') return false;
  }
  return true;
}

Status validate_name(std::string_view what, const std::string& name) {
  if (name.empty()) return invalid(std::string(what) + " must not be empty");
  if (name.size() > kMaxNameBytes) {
    return invalid(std::string(what) + " is longer than " + std::to_string(kMaxNameBytes) + " bytes");
  }
  if (!text::valid_utf8(name)) return invalid(std::string(what) + " is not valid UTF-8");
  for (unsigned char c : name) {
    if (c < 0x20 || c == 0x7F) return invalid(std::string(what) + " contains a control character");
  }
  return ok_status();
}

// `s` as it may appear in a reason: a reason travels in a proto `string` and
// in log lines, so bytes that are not printable UTF-8 are shown as \xNN.
std::string printable(std::string_view s) {
  bool plain = text::valid_utf8(s);
  for (unsigned char c : s) plain = plain && c >= 0x20 && c != 0x7F;
  if (plain) return std::string(s);
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if (c >= 0x20 && c < 0x7F) {
      out += static_cast<char>(c);
    } else {
      out += "\\x";
      out += kHex[c >> 4];
      out += kHex[c & 0xF];
    }
  }
  return out;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

}  // namespace

bool valid_date(std::string_view t) {
  if (t.size() != 10 || t[4] != '-' || t[7] != '-') return false;
  if (!all_digits(t.substr(0, 4)) || !all_digits(t.substr(5, 2)) || !all_digits(t.substr(8, 2))) return false;
  int y = 0, m = 0, d = 0;
  std::from_chars(t.data(), t.data() + 4, y);
  std::from_chars(t.data() + 5, t.data() + 7, m);
  std::from_chars(t.data() + 8, t.data() + 10, d);
  if (y < 1000 || m < 1 || m > 12 || d < 1) return false;
  static constexpr int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  const bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
  const int days = (m == 2 && leap) ? 29 : kDays[m - 1];
  return d <= days;
}

Status validate_bet(const pb::Bet& bet) {
  if (auto st = validate_name("first name", bet.first_name()); !st.ok()) return st;
  if (auto st = validate_name("last name", bet.last_name()); !st.ok()) return st;
  const std::string& doc = bet.document();
  if (doc.empty() || doc.size() > kMaxDocumentDigits || !all_digits(doc)) {
    return invalid("document must be 1-10 digits, got '" + printable(doc) + "'");
  }
  if (!valid_date(bet.birth_date())) {
    return invalid("birth date must be a real date YYYY-MM-DD, got '" + printable(bet.birth_date()) + "'");
  }
  if (bet.number() > kMaxNumber) return invalid("number must be 0-9999, got " + std::to_string(bet.number()));
  return ok_status();
}

CsvBets parse_bets_csv(std::string_view text) {
  CsvBets out;
  std::size_t line_no = 0;
  while (!text.empty()) {
    ++line_no;
    const auto nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text.remove_prefix(nl == std::string_view::npos ? text.size() : nl + 1);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line_no == 1 && line.substr(0, 3) == "\xEF\xBB\xBF") line.remove_prefix(3);  // UTF-8 byte order mark
    if (trim(line).empty()) continue;

    std::string_view fields[5];
    std::size_t count = 0;
    std::string_view rest = line;
    while (true) {
      const auto comma = rest.find(',');
      if (count < 5) fields[count] = trim(rest.substr(0, comma));
      ++count;
      if (comma == std::string_view::npos) break;
      rest.remove_prefix(comma + 1);
    }
    if (count != 5) {
      out.errors.push_back(
          {line_no, "expected 5 fields (first,last,document,birthdate,number), got " + std::to_string(count)});
      continue;
    }
    pb::Bet bet;
    bet.set_first_name(std::string(fields[0]));
    bet.set_last_name(std::string(fields[1]));
    bet.set_document(std::string(fields[2]));
    bet.set_birth_date(std::string(fields[3]));
    const std::string_view num = fields[4];
    std::uint32_t number = 0;
    if (num.empty() || num.size() > 4 || !all_digits(num)) {
      out.errors.push_back({line_no, "number must be 0-9999, got '" + std::string(num) + "'"});
      continue;
    }
    std::from_chars(num.data(), num.data() + num.size(), number);
    bet.set_number(number);
    if (auto st = validate_bet(bet); !st.ok()) {
      out.errors.push_back({line_no, st.error().message});
      continue;
    }
    out.bets.push_back(std::move(bet));
    out.lines.push_back(line_no);
  }
  return out;
}

std::string to_csv_row(const pb::Bet& bet) {
  return bet.first_name() + "," + bet.last_name() + "," + bet.document() + "," + bet.birth_date() + "," +
         std::to_string(bet.number());
}

}  // namespace minga::lottery
