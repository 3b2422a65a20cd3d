// The ml routes of the HTTP/JSON API (docs/api.md) on one real node: train
// on a file stored through the API, follow the job, list and show the
// model, predict, cancel, remove, one sample of a stored data set, and the
// errors of each route.
#include <gtest/gtest.h>

#include <random>
#include <regex>
#include <sstream>

#include "harness.h"
#include "http_client.h"

namespace minga::testing {
namespace {

using namespace std::chrono_literals;

// `rows` rows of 8 features and a label in {0, 1, 2}: blob k is centred at
// 2.5 on feature k, unit variance. Easy to learn in a few epochs.
std::string blobs(int rows) {
  std::mt19937 gen(7);
  std::normal_distribution<double> noise(0.0, 1.0);
  std::ostringstream out;
  for (int r = 0; r < rows; ++r) {
    const int label = r % 3;
    for (int f = 0; f < 8; ++f) out << (f == label ? 2.5 : 0.0) + noise(gen) << ",";
    out << label << "\n";
  }
  return out.str();
}

std::string state_of(const std::string& json) {
  std::smatch m;
  return std::regex_search(json, m, std::regex("\"state\":\"([A-Z_]+)\"")) ? m[1].str() : "";
}

class ApiMlTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    node_ = new NodeProcess(NodeProcess::start({"--id", "apiml"}));
    ASSERT_TRUE(node_->wait_leading()) << "the single node did not become leader within 10 s";
    const auto put = http_call(port(), "PUT", "/api/v1/files/ml%2Fapi%2Fblobs.csv", blobs(600));
    ASSERT_EQ(put.status, 200) << put.body;
  }
  static void TearDownTestSuite() {
    delete node_;
    node_ = nullptr;
  }
  static std::uint16_t port() { return node_->monitor_port(); }

  // POST /api/v1/ml/models on the stored blobs; the new job's id.
  static std::string train(const std::string& name, int epochs) {
    const auto a =
        http_call(port(), "POST", "/api/v1/ml/models",
                  R"({"name":")" + name + R"(","data":{"train":"ml/api/blobs.csv"},)" +
                      R"("hyper":{"hidden":[8],"epochs":)" + std::to_string(epochs) + R"(,"learning_rate":0.02}})");
    EXPECT_EQ(a.status, 200) << a.body;
    std::smatch m;
    EXPECT_TRUE(std::regex_search(a.body, m, std::regex("^\\{\"job\":\\{\"id\":\"(\\d+)\",\"name\":\"" + name + "\"")))
        << a.body;
    return m.size() > 1 ? m[1].str() : "";
  }
  static bool wait_state(const std::string& id, const std::string& state) {
    return eventually([&] { return state_of(http_call(port(), "GET", "/api/v1/ml/jobs/" + id).body) == state; }, 60s);
  }
  static NodeProcess* node_;
};
NodeProcess* ApiMlTest::node_ = nullptr;

TEST_F(ApiMlTest, TrainShowListPredictAndRemoveAModel) {
  const std::string id = train("api-blobs", 3);
  ASSERT_FALSE(id.empty());
  ASSERT_TRUE(wait_state(id, "ML_READY")) << http_call(port(), "GET", "/api/v1/ml/jobs/" + id).body;

  auto a = http_call(port(), "GET", "/api/v1/ml/models/" + id);
  ASSERT_EQ(a.status, 200) << a.body;
  EXPECT_NE(a.body.find("\"architecture\":[8,8,3]"), std::string::npos) << a.body;
  EXPECT_NE(a.body.find("\"workers\":[\"apiml\"]"), std::string::npos) << a.body;
  EXPECT_NE(a.body.find("\"model_file\":\"ml/" + id + "/model\""), std::string::npos) << a.body;
  EXPECT_NE(a.body.find("\"data\":{\"format\":\"csv\",\"train\":\"ml/api/blobs.csv\","), std::string::npos) << a.body;
  EXPECT_NE(a.body.find("{\"epoch\":3,\"loss\":"), std::string::npos) << a.body;

  for (const char* path : {"/api/v1/ml/models", "/api/v1/ml/jobs"}) {
    a = http_call(port(), "GET", path);
    ASSERT_EQ(a.status, 200) << path;
    EXPECT_EQ(a.body.rfind("{\"jobs\":[", 0), 0u) << a.body;
    EXPECT_NE(a.body.find("{\"id\":\"" + id + "\",\"name\":\"api-blobs\""), std::string::npos) << a.body;
  }

  // Each row is classified by the node's copy of the model; the blob a row
  // sits in is its class.
  a = http_call(port(), "POST", "/api/v1/ml/models/" + id + "/predict",
                R"({"rows":[{"values":[3,0,0,0,0,0,0,0]},{"values":[0,3,0,0,0,0,0,0]},{"values":[0,0,3,0,0,0,0,0]}]})");
  ASSERT_EQ(a.status, 200) << a.body;
  EXPECT_TRUE(std::regex_match(a.body, std::regex("\\{\"predictions\":\\[\\{\"class\":0,\"scores\":\\[[^\\]]+\\]\\},"
                                                  "\\{\"class\":1,\"scores\":\\[[^\\]]+\\]\\},"
                                                  "\\{\"class\":2,\"scores\":\\[[^\\]]+\\]\\}\\],"
                                                  "\"node\":\"apiml\"\\}\n")))
      << a.body;

  a = http_call(port(), "DELETE", "/api/v1/ml/models/" + id);
  EXPECT_EQ(a.status, 200) << a.body;
  EXPECT_TRUE(std::regex_match(a.body, std::regex("\\{\"index\":\"\\d+\"\\}\n"))) << a.body;
  a = http_call(port(), "GET", "/api/v1/ml/models/" + id);
  EXPECT_EQ(a.status, 404);
  EXPECT_EQ(a.body, "{\"error\":{\"code\":\"NOT_FOUND\",\"message\":\"no model " + id + "\"}}\n");
  // Its files go with it, just after the answer (the node removes them on
  // its pool once the removal is committed).
  EXPECT_TRUE(eventually(
      [&] {
        a = http_call(port(), "GET", "/api/v1/files?prefix=ml%2F" + id + "%2F");
        return a.body == "{\"files\":[],\"more\":false}\n";
      },
      5s))
      << a.body;
}

TEST_F(ApiMlTest, ARunningJobIsCancelled) {
  const std::string id = train("api-long", 1000);
  ASSERT_FALSE(id.empty());
  // Running: its first epoch is in the table.
  ASSERT_TRUE(eventually(
      [&] { return http_call(port(), "GET", "/api/v1/ml/jobs/" + id).body.find("{\"epoch\":1,") != std::string::npos; },
      60s));
  auto a = http_call(port(), "POST", "/api/v1/ml/jobs/" + id + "/cancel");
  ASSERT_EQ(a.status, 200) << a.body;
  ASSERT_TRUE(wait_state(id, "ML_CANCELLED")) << http_call(port(), "GET", "/api/v1/ml/jobs/" + id).body;
  a = http_call(port(), "GET", "/api/v1/ml/jobs/" + id);
  EXPECT_EQ(a.body.find("{\"epoch\":1000,"), std::string::npos) << "all 1000 epochs ran";
  // A job that ended cannot be cancelled again.
  a = http_call(port(), "POST", "/api/v1/ml/jobs/" + id + "/cancel");
  EXPECT_EQ(a.status, 400);
  EXPECT_EQ(a.body, "{\"error\":{\"code\":\"INVALID_ARGUMENT\",\"message\":\"cannot cancel: model " + id +
                        " is cancelled\"}}\n");
}

TEST_F(ApiMlTest, EachRouteAnswersItsErrors) {
  struct Case {
    const char* method;
    std::string path, body;
    int status;
    std::string answer;
  };
  const std::vector<Case> cases = {
      {"GET", "/api/v1/ml/jobs/999", "", 404, R"({"error":{"code":"NOT_FOUND","message":"no model 999"}})"},
      {"GET", "/api/v1/ml/models/999", "", 404, R"({"error":{"code":"NOT_FOUND","message":"no model 999"}})"},
      {"POST", "/api/v1/ml/jobs/999/cancel", "", 404, R"({"error":{"code":"NOT_FOUND","message":"no model 999"}})"},
      {"DELETE", "/api/v1/ml/models/999", "", 404, R"({"error":{"code":"NOT_FOUND","message":"no model 999"}})"},
      {"POST", "/api/v1/ml/models/999/predict", R"({"rows":[{"values":[1]}]})", 404,
       R"({"error":{"code":"NOT_FOUND","message":"no model 999"}})"},
      {"GET", "/api/v1/ml/models/abc", "", 400,
       R"({"error":{"code":"INVALID_ARGUMENT","message":"parameter 'id': expected an unsigned 64-bit integer, got 'abc'"}})"},
      {"POST", "/api/v1/ml/models", R"({"name":"x","data":{"train":"nosuch"}})", 404,
       R"({"error":{"code":"NOT_FOUND","message":"no file nosuch in the cluster"}})"},
      {"POST", "/api/v1/ml/models", R"({"name":"x","data":{"format":"tiff","train":"nosuch"}})", 400,
       R"({"error":{"code":"INVALID_ARGUMENT","message":"the data format must be csv or idx"}})"},
      {"POST", "/api/v1/ml/models", R"({"name":"x","data":{"train":"ml/api/blobs.csv"},"hyper":{"epochs":1001}})", 400,
       R"({"error":{"code":"INVALID_ARGUMENT","message":"epochs must be 1 to 1000"}})"},
      {"PUT", "/api/v1/ml/models", "", 405,
       R"({"error":{"code":"METHOD_NOT_ALLOWED","message":"PUT is not allowed on /api/v1/ml/models"}})"},
  };
  for (const auto& c : cases) {
    const auto a = http_call(port(), c.method, c.path, c.body);
    EXPECT_EQ(a.status, c.status) << c.method << " " << c.path << ": " << a.body;
    EXPECT_EQ(a.body, c.answer + "\n") << c.method << " " << c.path;
  }
  // A known model refuses rows of the wrong width, and no rows at all.
  const std::string id = train("api-errors", 1);
  ASSERT_TRUE(wait_state(id, "ML_READY"));
  auto a = http_call(port(), "POST", "/api/v1/ml/models/" + id + "/predict", R"({"rows":[{"values":[1,2]}]})");
  EXPECT_EQ(a.status, 400);
  EXPECT_EQ(a.body, "{\"error\":{\"code\":\"INVALID_ARGUMENT\",\"message\":\"model " + id +
                        " takes 8 features; row 1 has 2\"}}\n");
  a = http_call(port(), "POST", "/api/v1/ml/models/" + id + "/predict", R"({"rows":[]})");
  EXPECT_EQ(a.status, 400);
  EXPECT_EQ(a.body, "{\"error\":{\"code\":\"INVALID_ARGUMENT\",\"message\":\"no input rows\"}}\n");
  a = http_call(port(), "POST", "/api/v1/ml/models/" + id + "/predict", R"({"rows":[{"values":["x"]}]})");
  EXPECT_EQ(a.status, 400);
  EXPECT_EQ(a.body.rfind("{\"error\":{\"code\":\"INVALID_ARGUMENT\",\"message\":", 0), 0u) << a.body;
}

// GET /api/v1/ml/samples: one sample of a data set stored in the files,
// scaled as training scales it, and its errors.
std::string be32(std::uint32_t v) {
  return {static_cast<char>(v >> 24), static_cast<char>(v >> 16), static_cast<char>(v >> 8), static_cast<char>(v)};
}

class ApiMlSamplesTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    node_ = new NodeProcess(NodeProcess::start({"--id", "apimls"}));
    ASSERT_TRUE(node_->wait_leading());
    // Three 2x2 images and their labels (idx3-ubyte, idx1-ubyte), and a CSV.
    const std::string pixels = {
        0, 51, 102, static_cast<char>(255), 10, 20, 30, 40, static_cast<char>(153), static_cast<char>(204), 0, 51};
    const std::string images = be32(0x803) + be32(3) + be32(2) + be32(2) + pixels;
    const std::string labels = be32(0x801) + be32(3) + std::string{7, 0, 4};
    for (const auto& [path, body] : {std::pair<std::string, std::string>{"s%2Fimg", images},
                                     {"s%2Flbl", labels},
                                     {"s%2Ft.csv", "a,b,label\n1,2,0\n3,-4.5,1\n"}}) {
      ASSERT_EQ(http_call(port(), "PUT", "/api/v1/files/" + path, body).status, 200) << path;
    }
  }
  static void TearDownTestSuite() {
    delete node_;
    node_ = nullptr;
  }
  static std::uint16_t port() { return node_->monitor_port(); }
  static NodeProcess* node_;
};
NodeProcess* ApiMlSamplesTest::node_ = nullptr;

TEST_F(ApiMlSamplesTest, AnImageSampleIsItsPixelsOver255WithItsLabel) {
  auto a = http_call(port(), "GET", "/api/v1/ml/samples?images=s%2Fimg&labels=s/lbl&index=2");
  EXPECT_EQ(a.status, 200) << a.body;
  EXPECT_EQ(a.body, "{\"values\":[0.6,0.8,0,0.2],\"label\":4,\"rows\":2,\"cols\":2,\"count\":\"3\"}\n");
  a = http_call(port(), "GET", "/api/v1/ml/samples?images=s%2Fimg&index=0");
  EXPECT_EQ(a.body, "{\"values\":[0,0.2,0.4,1],\"label\":-1,\"rows\":2,\"cols\":2,\"count\":\"3\"}\n");
}

TEST_F(ApiMlSamplesTest, ACsvSampleIsItsFeaturesAndLabel) {
  auto a = http_call(port(), "GET", "/api/v1/ml/samples?csv=s%2Ft.csv&index=1");
  EXPECT_EQ(a.status, 200) << a.body;
  EXPECT_EQ(a.body, "{\"values\":[3,-4.5],\"label\":1,\"rows\":0,\"cols\":0,\"count\":\"2\"}\n");
  a = http_call(port(), "GET", "/api/v1/ml/samples?csv=s%2Ft.csv&label_column=a&index=0");
  EXPECT_EQ(a.body, "{\"values\":[2,0],\"label\":1,\"rows\":0,\"cols\":0,\"count\":\"2\"}\n");
}

TEST_F(ApiMlSamplesTest, ErrorsNameTheFileAndTheIndex) {
  struct Case {
    std::string query;
    int status;
    std::string body;
  };
  const Case cases[] = {
      {"images=s%2Fnosuch&index=0", 404,
       R"j({"error":{"code":"NOT_FOUND","message":"no file s/nosuch in the cluster"}})j"},
      {"images=s%2Fimg&labels=s%2Fnone&index=0", 404,
       R"j({"error":{"code":"NOT_FOUND","message":"no file s/none in the cluster"}})j"},
      {"images=s%2Fimg&index=3", 400,
       R"j({"error":{"code":"INVALID_ARGUMENT","message":"index 3 is out of range: s/img has 3 images"}})j"},
      {"csv=s%2Ft.csv&index=2", 400,
       R"j({"error":{"code":"INVALID_ARGUMENT","message":"index 2 is out of range: s/t.csv has 2 rows"}})j"},
      {"images=s%2Flbl&index=0", 400,
       R"j({"error":{"code":"INVALID_ARGUMENT","message":"s/lbl: truncated header (11 bytes)"}})j"},
      {"images=s%2Ft.csv&index=0", 400,
       R"j({"error":{"code":"INVALID_ARGUMENT","message":"s/t.csv: bad magic 0x612c622c, expected 0x00000803 (idx3-ubyte)"}})j"},
      {"images=s%2Fimg&labels=s%2Fimg&index=0", 400,
       R"j({"error":{"code":"INVALID_ARGUMENT","message":"s/img: bad magic 0x00000803, expected 0x00000801 (idx1-ubyte)"}})j"},
      {"index=0", 400,
       R"j({"error":{"code":"INVALID_ARGUMENT","message":"name the data set: images (idx3-ubyte) or csv, one of them"}})j"},
      {"images=s%2Fimg&csv=s%2Ft.csv", 400,
       R"j({"error":{"code":"INVALID_ARGUMENT","message":"name the data set: images (idx3-ubyte) or csv, one of them"}})j"},
      {"csv=s%2Ft.csv&labels=s%2Flbl", 400,
       R"j({"error":{"code":"INVALID_ARGUMENT","message":"labels go with images; a csv file has its label column"}})j"},
  };
  for (const auto& c : cases) {
    auto a = http_call(port(), "GET", "/api/v1/ml/samples?" + c.query);
    EXPECT_EQ(a.status, c.status) << c.query << ": " << a.body;
    EXPECT_EQ(a.body, c.body + "\n") << c.query;
  }
  auto a = http_call(port(), "GET", "/api/v1/ml/samples?images=s%2Fimg&index=x");
  EXPECT_EQ(a.status, 400) << a.body;
}

}  // namespace
}  // namespace minga::testing
