// The text mode of the client port, for people with netcat: one command per
// line, one answer line per command. Pure parser.
//
//   PING                         -> PONG
//   ECHO <text>                  -> <text>
//   {"op":"add","a":10,"b":5}    -> {"ok":true,"result":15}
//   {"task":"uppercase","text":"hola"} -> {"ok":true,"result":"HOLA"}
#pragma once

#include <string>
#include <string_view>
#include <variant>

#include "base/result.h"
#include "proto/minga.pb.h"

namespace minga::wire {

inline constexpr std::size_t kMaxTextLineBytes = 64 * 1024;

struct PingCommand {};
struct EchoCommand {
  std::string text;
};
using TextCommand = std::variant<PingCommand, EchoCommand, pb::JsonCommand>;

// `line` excludes the line terminator ("\n" or "\r\n"). Commands are
// case-insensitive (PING, ping); JSON must be one object on one line.
Result<TextCommand> parse_text_line(std::string_view line);

}  // namespace minga::wire
