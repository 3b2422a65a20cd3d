#include "apps/lottery/bets.h"

#include <gtest/gtest.h>

namespace minga::lottery {
namespace {

pb::Bet good_bet() {
  pb::Bet b;
  b.set_first_name("Ana");
  b.set_last_name("Núñez");
  b.set_document("30904465");
  b.set_birth_date("1999-03-17");
  b.set_number(7574);
  return b;
}

TEST(LotteryCsv, ParsesLfCrlfAccentsAndSkipsBlankLines) {
  const std::string text =
      "Santiago Lionel,Lorca,30904465,1999-03-17,7574\r\n"
      "\r\n"
      "María José,Ibáñez Peña,1,2000-02-29,0\n"
      "Zoë,Ñandú,9999999999,1950-12-31,9999";  // no final newline
  const CsvBets csv = parse_bets_csv(text);
  ASSERT_TRUE(csv.errors.empty()) << csv.errors.front().reason;
  ASSERT_EQ(csv.bets.size(), 3u);
  EXPECT_EQ(csv.bets[0].first_name(), "Santiago Lionel");
  EXPECT_EQ(csv.bets[0].number(), 7574u);
  EXPECT_EQ(csv.bets[1].last_name(), "Ibáñez Peña");
  EXPECT_EQ(csv.bets[1].birth_date(), "2000-02-29");
  EXPECT_EQ(csv.bets[2].document(), "9999999999");
  EXPECT_EQ(csv.lines, (std::vector<std::size_t>{1, 3, 4}));
}

TEST(LotteryCsv, ByteOrderMarkIsNotPartOfTheFirstName) {
  const CsvBets csv = parse_bets_csv("\xEF\xBB\xBFÁngel,Núñez,123,1990-01-01,5\n");
  ASSERT_TRUE(csv.errors.empty());
  ASSERT_EQ(csv.bets.size(), 1u);
  EXPECT_EQ(csv.bets[0].first_name(), "Ángel");
}

TEST(LotteryCsv, BadRowsAreReportedWithTheirLineNumbers) {
  const std::string text =
      "Ana,Pérez,123,1990-01-01,5\n"
      "Ana,Pérez,12a,1990-01-01,5\n"           // 2: document
      "Ana,Pérez,123,1990-02-30,5\n"           // 3: date
      "Ana,Pérez,123,1990-01-01,10000\n"       // 4: number
      "Ana,Pérez,123,1990-01-01\n"             // 5: fields
      ",Pérez,123,1990-01-01,5\n"              // 6: empty name
      "Ana,P\xC3,123,1990-01-01,5\n"           // 7: bad UTF-8
      "Ana,Pérez,12345678901,1990-01-01,5\n";  // 8: 11 digits
  const CsvBets csv = parse_bets_csv(text);
  ASSERT_EQ(csv.bets.size(), 1u);
  ASSERT_EQ(csv.errors.size(), 7u);
  const std::size_t lines[] = {2, 3, 4, 5, 6, 7, 8};
  for (std::size_t i = 0; i < 7; ++i) EXPECT_EQ(csv.errors[i].line, lines[i]) << csv.errors[i].reason;
  EXPECT_EQ(csv.errors[0].reason, "document must be 1-10 digits, got '12a'");
  EXPECT_EQ(csv.errors[1].reason, "birth date must be a real date YYYY-MM-DD, got '1990-02-30'");
  EXPECT_EQ(csv.errors[2].reason, "number must be 0-9999, got '10000'");
  EXPECT_EQ(csv.errors[3].reason, "expected 5 fields (first,last,document,birthdate,number), got 4");
  EXPECT_EQ(csv.errors[4].reason, "first name must not be empty");
  EXPECT_EQ(csv.errors[5].reason, "last name is not valid UTF-8");
}

TEST(LotteryValidation, CalendarDates) {
  EXPECT_TRUE(valid_date("2000-02-29"));   // divisible by 400
  EXPECT_FALSE(valid_date("1900-02-29"));  // divisible by 100
  EXPECT_TRUE(valid_date("2024-02-29"));
  EXPECT_FALSE(valid_date("2023-02-29"));
  EXPECT_TRUE(valid_date("1999-12-31"));
  EXPECT_FALSE(valid_date("1999-13-01"));
  EXPECT_FALSE(valid_date("1999-04-31"));
  EXPECT_FALSE(valid_date("1999-4-3"));
  EXPECT_FALSE(valid_date("1999/04/03"));
  EXPECT_FALSE(valid_date("99-04-03xx"));
}

TEST(LotteryValidation, EveryFieldIsChecked) {
  EXPECT_TRUE(validate_bet(good_bet()).ok());
  auto b = good_bet();
  b.set_number(10000);
  EXPECT_EQ(validate_bet(b).error().message, "number must be 0-9999, got 10000");
  b = good_bet();
  b.set_document("");
  EXPECT_FALSE(validate_bet(b).ok());
  b = good_bet();
  b.set_last_name("");
  EXPECT_EQ(validate_bet(b).error().message, "last name must not be empty");
  b = good_bet();
  b.set_first_name("A\nB");
  EXPECT_EQ(validate_bet(b).error().message, "first name contains a control character");
}

// A reason travels in a proto `string` and in log lines: bytes that are not
// printable UTF-8 are shown escaped, never copied raw.
TEST(LotteryValidation, ReasonsShowBadBytesEscaped) {
  auto b = good_bet();
  b.set_document("12\xFF\n");
  EXPECT_EQ(validate_bet(b).error().message, "document must be 1-10 digits, got '12\\xFF\\x0A'");
  b = good_bet();
  b.set_birth_date("1999-03-1\xC3");
  EXPECT_EQ(validate_bet(b).error().message, "birth date must be a real date YYYY-MM-DD, got '1999-03-1\\xC3'");
  b = good_bet();
  b.set_document("12é");  // valid UTF-8 stays readable
  EXPECT_EQ(validate_bet(b).error().message, "document must be 1-10 digits, got '12é'");
}

}  // namespace
}  // namespace minga::lottery
