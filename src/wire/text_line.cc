#include "wire/text_line.h"

#include <cctype>

#include "wire/json_command.h"

namespace minga::wire {
namespace {

bool iequals_prefix(std::string_view line, std::string_view word) {
  if (line.size() < word.size()) return false;
  for (std::size_t i = 0; i < word.size(); ++i) {
    if (std::toupper(static_cast<unsigned char>(line[i])) != word[i]) return false;
  }
  return true;
}

}  // namespace

Result<TextCommand> parse_text_line(std::string_view line) {
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  if (line.size() > kMaxTextLineBytes) return Error{Errc::invalid_argument, "line too long"};
  if (!line.empty() && line.front() == '{') {
    auto cmd = parse_json_command(line);
    if (!cmd.ok()) return cmd.error();
    return TextCommand{std::move(cmd).value()};
  }
  if (line.size() == 4 && iequals_prefix(line, "PING")) return TextCommand{PingCommand{}};
  if (iequals_prefix(line, "ECHO") && (line.size() == 4 || line[4] == ' ')) {
    return TextCommand{EchoCommand{std::string(line.size() > 5 ? line.substr(5) : std::string_view{})}};
  }
  if (line.empty()) return Error{Errc::invalid_argument, "empty line; try PING, ECHO <text> or a JSON command"};
  return Error{Errc::invalid_argument, "unknown command; try PING, ECHO <text> or a JSON command"};
}

}  // namespace minga::wire
