// The calculator seed's own client speaks JSON lines on the text port. Its
// documented requests, replayed over a plain socket to a coordinator with
// three workers, get the seed's answers; minga adds the worker of each part.
#include <gtest/gtest.h>

#include <regex>

#include "cluster.h"

namespace minga::testing {
namespace {

struct Exchange {
  std::string request;
  std::string answer;
};

// The answer without the "worker" of each part, which the seed did not send.
std::string without_workers(const std::string& answer) {
  static const std::regex worker(R"re(,"worker":"w\d")re");
  return std::regex_replace(answer, worker, "");
}

class SeedCalcClient : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { cluster_ = Cluster::start(3).release(); }
  static void TearDownTestSuite() {
    delete cluster_;
    cluster_ = nullptr;
  }
  static Cluster* cluster_;
};
Cluster* SeedCalcClient::cluster_ = nullptr;

TEST_F(SeedCalcClient, DocumentedRequestsGetTheDocumentedAnswers) {
  const std::vector<Exchange> seed = {
      {R"({"op":"add","a":10,"b":5})", R"({"ok":true,"result":15})"},
      {R"({"op":"sub","a":10,"b":5})", R"({"ok":true,"result":5})"},
      {R"({"op":"mul","a":10,"b":5})", R"({"ok":true,"result":50})"},
      {R"({"op":"div","a":10,"b":5})", R"({"ok":true,"result":2})"},
      {R"({"op":"div","a":1,"b":0})", R"({"ok":false,"error":"division by zero"})"},
      {R"({"op":"sum_squares","n":9})",
       R"({"ok":true,"result":285,"parts":[{"a":1,"b":3,"result":14},{"a":4,"b":6,"result":77},)"
       R"({"a":7,"b":9,"result":194}]})"},
  };
  RawConnection conn(cluster_->coordinator().port());
  ASSERT_TRUE(conn.ok());
  std::string lines;
  for (const auto& e : seed) lines += e.request + "\n";
  ASSERT_TRUE(conn.send(lines));
  for (const auto& e : seed) {
    const std::string got = conn.read_line(10s);
    EXPECT_EQ(without_workers(got), e.answer) << e.request << " answered " << got;
  }
}

TEST_F(SeedCalcClient, EveryPartNamesTheWorkerThatComputedIt) {
  RawConnection conn(cluster_->coordinator().port());
  ASSERT_TRUE(conn.send("{\"op\":\"sum_squares\",\"n\":9}\n"));
  const std::string got = conn.read_line(10s);
  static const std::regex shape(
      R"re(\{"ok":true,"result":285,"parts":\[\{"a":1,"b":3,"result":14,"worker":"w\d"\},)re"
      R"re(\{"a":4,"b":6,"result":77,"worker":"w\d"\},\{"a":7,"b":9,"result":194,"worker":"w\d"\}\]\})re");
  EXPECT_TRUE(std::regex_match(got, shape)) << got;
}

TEST_F(SeedCalcClient, CountsAsNumbersOrStringsStayExactAndBadOnesAreNamed) {
  RawConnection conn(cluster_->coordinator().port());
  ASSERT_TRUE(
      conn.send("{\"op\":\"sum_squares\",\"n\":\"9\"}\n"
                "{\"op\":\"sumsq\",\"n\":1000000000000}\n"
                "{\"op\":\"sum_squares\",\"n\":\"1000000000000\"}\n"
                "{\"op\":\"sum_squares\",\"n\":1000000000001}\n"
                "{\"op\":\"sum_squares\",\"n\":2.5}\n"
                "{\"op\":\"sum_squares\",\"n\":true}\n"
                "{\"op\":\"sum_squares\"}\n"));
  EXPECT_EQ(conn.read_line(10s).rfind(R"({"ok":true,"result":285,"parts":[{"a":1,"b":3,"result":14,)", 0), 0u);
  const std::string exact = R"({"ok":true,"result":333333333333833333333333500000000000,"parts":)";
  EXPECT_EQ(conn.read_line(10s).rfind(exact, 0), 0u);
  EXPECT_EQ(conn.read_line(10s).rfind(exact, 0), 0u);
  EXPECT_EQ(conn.read_line(10s),
            R"({"ok":false,"error":"n = 1000000000001 is too large: sumsq is exact for n up to 1000000000000"})");
  EXPECT_EQ(conn.read_line(10s),
            R"({"ok":false,"error":"n must be a whole number from 0 to 1000000000000, got '2.5'"})");
  EXPECT_EQ(conn.read_line(10s),
            R"({"ok":false,"error":"invalid JSON command: field \"n\" must be a number or a string"})");
  EXPECT_EQ(conn.read_line(10s), R"({"ok":false,"error":"missing field \"n\""})");
}

}  // namespace
}  // namespace minga::testing
