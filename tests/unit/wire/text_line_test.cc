#include "wire/text_line.h"

#include <gtest/gtest.h>

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
