#include "wire/text_line.h"

#include <gtest/gtest.h>

#include "wire/json_command.h"

namespace minga::wire {
namespace {

TEST(TextLine, PingInAnyCaseAndWithCarriageReturn) {
  for (const char* line : {"PING", "ping", "Ping\r"}) {
    auto r = parse_text_line(line);
    ASSERT_TRUE(r.ok()) << line;
    EXPECT_TRUE(std::holds_alternative<PingCommand>(r.value()));
  }
}

TEST(TextLine, EchoKeepsTheRestOfTheLineExactly) {
  auto r = parse_text_line("ECHO  hola  ñandú ");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(std::get<EchoCommand>(r.value()).text, " hola  ñandú ");
  auto empty = parse_text_line("ECHO");
  ASSERT_TRUE(empty.ok());
  EXPECT_EQ(std::get<EchoCommand>(empty.value()).text, "");
}

TEST(TextLine, JsonCalcCommand) {
  auto r = parse_text_line(R"({"op":"add","a":10,"b":5})");
  ASSERT_TRUE(r.ok());
  const auto& cmd = std::get<pb::JsonCommand>(r.value());
  EXPECT_EQ(cmd.op(), "add");
  EXPECT_EQ(cmd.a(), 10);
  EXPECT_EQ(cmd.b(), 5);
}

TEST(TextLine, JsonTaskCommand) {
  auto r = parse_text_line(R"({"task":"uppercase","text":"hola"})");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(std::get<pb::JsonCommand>(r.value()).task(), "uppercase");
  EXPECT_EQ(std::get<pb::JsonCommand>(r.value()).text(), "hola");
}

TEST(TextLine, BadJsonIsATypedError) {
  for (const char* line : {"{", R"({"op":"add","a":"ten"})", R"({"nope":1})", R"({"op":1)"}) {
    auto r = parse_text_line(line);
    ASSERT_FALSE(r.ok()) << line;
    EXPECT_EQ(r.error().code, Errc::invalid_argument);
    EXPECT_NE(r.error().message.find("invalid JSON command"), std::string::npos);
  }
}

std::string json_error_of(const std::string& line) {
  auto r = parse_text_line(line);
  EXPECT_FALSE(r.ok()) << line;
  return r.ok() ? "" : r.error().message;
}

TEST(TextLine, NumbersMustBeJsonNumbers) {
  EXPECT_EQ(json_error_of(R"({"op":"add","a":"0x10","b":1})"), R"(invalid JSON command: field "a" must be a number)");
  EXPECT_EQ(json_error_of(R"({"op":"add","a":1,"b":"2"})"), R"(invalid JSON command: field "b" must be a number)");
  EXPECT_EQ(json_error_of(R"({"task":"sleep","seconds":true})"),
            R"(invalid JSON command: field "seconds" must be a number)");
  EXPECT_EQ(json_error_of(R"({"task":"uppercase","text":5})"),
            R"(invalid JSON command: field "text" must be a string)");
  for (const char* loose : {"0x10", ".5", "+1", "1.", "01", "NaN", "-", "1e", "null", "[1]"}) {
    const std::string line = std::string(R"({"op":"add","a":)") + loose + R"(,"b":1})";
    EXPECT_EQ(json_error_of(line).rfind("invalid JSON command: ", 0), 0u) << line;
  }
  EXPECT_EQ(json_error_of(R"({"op":"add","a":1e400,"b":1})"), "invalid JSON command: number out of range: '1e400'");
}

TEST(TextLine, StrictNumbersParseExactly) {
  auto r = parse_text_line(R"({ "op" : "sub" , "a" : -2.5 , "b" : 1E3 } )");
  ASSERT_TRUE(r.ok()) << r.error().message;
  const auto& cmd = std::get<pb::JsonCommand>(r.value());
  EXPECT_EQ(cmd.a(), -2.5);
  EXPECT_EQ(cmd.b(), 1000);
  auto zero = parse_text_line(R"({"op":"add","a":0,"b":-0.0})");
  ASSERT_TRUE(zero.ok());
  EXPECT_TRUE(std::get<pb::JsonCommand>(zero.value()).has_a());  // a zero is given, not missing
}

TEST(TextLine, MissingOperandsAreNamed) {
  auto r = parse_text_line(R"({"op":"add","a":1})");
  ASSERT_TRUE(r.ok());
  const auto& cmd = std::get<pb::JsonCommand>(r.value());
  auto st = require_fields(cmd, {"a", "b"});
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error().message, R"(missing field "b")");
  EXPECT_EQ(require_fields(cmd, {"seconds"}).error().message, R"(missing field "seconds")");
  EXPECT_TRUE(require_fields(cmd, {"a"}).ok());
  EXPECT_TRUE(require_fields(cmd, {}).ok());
}

TEST(TextLine, StringsDecodeEscapesToUtf8) {
  auto r = parse_text_line(R"({"task":"uppercase","text":"\u00f1and\u00fa \ud83d\ude00 \"q\"\\\/\t"})");
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(std::get<pb::JsonCommand>(r.value()).text(), "ñandú 😀 \"q\"\\/\t");
  EXPECT_EQ(json_error_of(R"({"text":"\ud83d"})"), R"(invalid JSON command: unpaired surrogate in \u escape)");
  EXPECT_EQ(json_error_of("{\"text\":\"a\tb\"}"), "invalid JSON command: control character in a string at byte 10");
  EXPECT_EQ(json_error_of(R"({"text":"abc)"), "invalid JSON command: unterminated string");
}

TEST(TextLine, RepeatedUnknownAndTrailingAreErrors) {
  EXPECT_EQ(json_error_of(R"({"op":"add","op":"sub"})"), R"(invalid JSON command: repeated field "op")");
  EXPECT_EQ(json_error_of(R"({"op":"add","c":1})"), R"(invalid JSON command: unknown field "c")");
  EXPECT_EQ(json_error_of(R"({"op":"add"} x)"), "invalid JSON command: expected the end of the line at byte 13");
  EXPECT_EQ(json_error_of(R"({'op':"add"})"), R"(invalid JSON command: expected '"' at byte 1)");
}

TEST(TextLine, UnknownCommandsExplainWhatIsAccepted) {
  auto r = parse_text_line("HELLO");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().message, "unknown command; try PING, ECHO <text> or a JSON command");
  EXPECT_FALSE(parse_text_line("PINGX").ok());
  EXPECT_FALSE(parse_text_line("ECHOX").ok());
  EXPECT_FALSE(parse_text_line("").ok());
}

}  // namespace
}  // namespace minga::wire
