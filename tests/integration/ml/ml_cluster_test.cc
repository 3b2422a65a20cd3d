// The ml app as users see it: real nodes on 127.0.0.1 and the `minga ml`
// CLI, on a small generated data set (three Gaussian blobs in 8 dimensions).
#include <filesystem>
#include <fstream>
#include <random>
#include <regex>
#include <set>
#include <sstream>

#include <gtest/gtest.h>

#include "cluster/fault_proxy.h"
#include "cluster/raft_cluster.h"

namespace minga::testing {
namespace {

namespace fs = std::filesystem;

constexpr int kFeatures = 8;

// `rows` rows of 8 features and a label in {0, 1, 2}: blob k is centred at
// 2.5 on feature k (and 0 elsewhere), unit variance.
std::string blobs(int rows, unsigned seed, bool header) {
  std::mt19937 gen(seed);
  std::normal_distribution<double> noise(0.0, 1.0);
  std::ostringstream out;
  if (header) {
    for (int f = 0; f < kFeatures; ++f) out << "f" << f << ",";
    out << "label\n";
  }
  for (int r = 0; r < rows; ++r) {
    const int label = r % 3;
    for (int f = 0; f < kFeatures; ++f) out << (f == label ? 2.5 : 0.0) + noise(gen) << ",";
    out << label << "\n";
  }
  return out.str();
}

// The same rows without their labels (for predict --csv).
std::string features_only(const std::string& csv) {
  std::istringstream in(csv);
  std::ostringstream out;
  std::string line;
  while (std::getline(in, line)) out << line.substr(0, line.rfind(',')) << "\n";
  return out.str();
}

void write_file(const fs::path& p, const std::string& data) {
  std::ofstream out(p, std::ios::binary | std::ios::trunc);
  out << data;
}

std::string last_line(const std::string& out) {
  std::string s = out;
  while (!s.empty() && s.back() == '\n') s.pop_back();
  return s.substr(s.rfind('\n') == std::string::npos ? 0 : s.rfind('\n') + 1);
}

std::string json_field(const std::string& json, const std::string& key) {
  std::smatch m;
  if (!std::regex_search(json, m, std::regex("\"" + key + "\":(\"[^\"]*\"|[^,}\\]]*)"))) return "";
  std::string v = m[1];
  if (!v.empty() && v.front() == '"') v = v.substr(1, v.size() - 2);
  return v;
}

struct Fixture {
  std::unique_ptr<RaftCluster> c;
  TempDir tmp;
  fs::path train, test, test_features;
};

// `config`: a TOML file's text for every node (none if empty).
// `proxied`: a fault proxy in front of each node's advertised client port
// (the address the leader calls members on).
std::unique_ptr<Fixture> start(int train_rows, const std::string& config = "", bool proxied = false) {
  auto f = std::make_unique<Fixture>();
  std::vector<std::string> args;
  if (!config.empty()) {
    write_file(f->tmp.path() / "minga.toml", config);
    args = {"--config", (f->tmp.path() / "minga.toml").string()};
  }
  f->c = proxied ? RaftCluster::start_forward_proxied(3, args) : RaftCluster::start(3, args);
  f->train = f->tmp.path() / "train.csv";
  f->test = f->tmp.path() / "test.csv";
  f->test_features = f->tmp.path() / "test-features.csv";
  write_file(f->train, blobs(train_rows, 1, true));
  const std::string test = blobs(300, 2, true);
  write_file(f->test, test);
  write_file(f->test_features, features_only(test));
  return f;
}

// `minga -o json ml status ID` through the live nodes.
std::string status_json(const RaftCluster& c, const std::string& id) {
  return c.minga({"-o", "json", "ml", "status", id}).out;
}

bool wait_state(const RaftCluster& c, const std::string& id, const std::string& state, std::chrono::milliseconds t) {
  return eventually([&] { return json_field(status_json(c, id), "state") == state; }, t);
}

int epochs_done(const RaftCluster& c, const std::string& id) {
  const std::string v = json_field(status_json(c, id), "epochs_done");
  return v.empty() ? -1 : std::stoi(v);
}

std::vector<int> history_epochs(const std::string& json) {
  std::vector<int> out;
  const std::regex re("\\{\"epoch\":(\\d+)");
  for (auto it = std::sregex_iterator(json.begin(), json.end(), re); it != std::sregex_iterator(); ++it) {
    out.push_back(std::stoi((*it)[1]));
  }
  return out;
}

TEST(Ml, TrainsOnTheClusterAndEveryNodeGivesTheSamePredictions) {
  auto f = start(3000);
  auto& c = *f->c;
  auto train = c.minga({"ml", "train", "--data", f->train.string(), "--test", f->test.string(), "--layers", "16",
                        "--epochs", "4", "--lr", "0.01", "--name", "blobs", "--wait"},
                       120s);
  ASSERT_EQ(train.exit_code, 0) << train.err;
  EXPECT_EQ(last_line(train.out), "1");
  EXPECT_NE(train.err.find("epoch 4/4  loss "), std::string::npos) << train.err;
  EXPECT_NE(train.err.find("model 1 ready"), std::string::npos) << train.err;

  auto show = c.minga({"-o", "json", "ml", "show", "1"});
  ASSERT_EQ(show.exit_code, 0) << show.err;
  EXPECT_EQ(json_field(show.out, "state"), "ready");
  EXPECT_EQ(json_field(show.out, "name"), "blobs");
  EXPECT_NE(show.out.find("\"architecture\":[8,16,3]"), std::string::npos) << show.out;
  const double accuracy = std::stod(json_field(show.out, "test_accuracy"));
  EXPECT_GT(accuracy, 0.9) << show.out;  // the blobs are about 95 % separable
  EXPECT_LE(accuracy, 1.0);
  EXPECT_GT(std::stoull(json_field(show.out, "size")), 0u);
  auto text = c.minga({"ml", "show", "1"});
  EXPECT_NE(text.out.find("architecture: 8-16-3\n"), std::string::npos) << text.out;
  EXPECT_NE(text.out.find("epochs: 4/4\n"), std::string::npos) << text.out;

  // Every node answers from its own copy, with the same classes and scores.
  std::set<std::string> answers;
  for (std::size_t i = 0; i < 3; ++i) {
    auto p = run_minga({"--server", c.address(i), "ml", "predict", "--model", "1", "--csv", f->test_features.string()});
    ASSERT_EQ(p.exit_code, 0) << p.err;
    answers.insert(p.out);
    std::istringstream lines(p.out);
    std::string line;
    int n = 0;
    while (std::getline(lines, line)) ++n;
    EXPECT_EQ(n, 300);
  }
  EXPECT_EQ(answers.size(), 1u);
  // One row: a clear member of blob 2.
  auto one = c.minga({"ml", "predict", "--model", "1", "--input", "0,0,5,0,0,0,0,0"});
  ASSERT_EQ(one.exit_code, 0) << one.err;
  EXPECT_EQ(one.out.substr(0, 2), "2\t") << one.out;
  auto js = c.minga({"-o", "json", "ml", "predict", "--model", "1", "--input", "0,0,5,0,0,0,0,0"});
  EXPECT_EQ(js.out.rfind(R"({"ok":true,"predictions":[{"class":2,"scores":[)", 0), 0u) << js.out;

  auto models = c.minga({"ml", "models"});
  EXPECT_NE(models.out.find("blobs"), std::string::npos) << models.out;
  auto jobs = c.minga({"-o", "json", "ml", "jobs"});
  EXPECT_EQ(jobs.out.rfind(R"({"ok":true,"jobs":[{"id":1,"name":"blobs","state":"ready")", 0), 0u) << jobs.out;

  // The HTTP/JSON API and /status.
  auto [code, body] = http_get(c.member(1).monitor, "/api/v1/ml/models/1");
  EXPECT_EQ(code, 200) << body;
  EXPECT_NE(body.find("\"state\":\"ML_READY\""), std::string::npos) << body;
  auto [scode, sbody] = http_get(c.member(0).monitor, "/status");
  EXPECT_NE(sbody.find("\"ml\":{\"models\":1"), std::string::npos) << sbody;

  // `minga bench predict`: one connection, then 4, a fifth of a second each, through the three nodes.
  const std::string servers = c.address(0) + "," + c.address(1) + "," + c.address(2);
  auto bench =
      run_minga({"--server", servers, "bench", "predict", "--model", "1", "--connections", "4", "--duration", "0.2"});
  ASSERT_EQ(bench.exit_code, 0) << bench.out << bench.err;
  EXPECT_TRUE(std::regex_search(
      bench.out,
      std::regex("^predict: model 1 \\(8-16-3\\), 1 row\\(s\\) of random features per request, 3 server\\(s\\), 0.2 s "
                 "per phase\n1 connection: [1-9]\\d* requests, \\d+ requests/s, p50 \\d+ us, p99 \\d+ us, 0 errors\n"
                 "4 connections: [1-9]\\d* requests, \\d+ requests/s, p50 \\d+ us, p99 \\d+ us, 0 errors\n$")))
      << bench.out;
  auto bench_json = run_minga({"--server", servers, "-o", "json", "bench", "predict", "--model", "1", "--connections",
                               "2", "--duration", "0.1", "--rows", "3"});
  ASSERT_EQ(bench_json.exit_code, 0) << bench_json.out << bench_json.err;
  EXPECT_EQ(json_field(bench_json.out, "architecture"), "8-16-3") << bench_json.out;
  EXPECT_EQ(json_field(bench_json.out, "rows_per_request"), "3") << bench_json.out;
  EXPECT_EQ(json_field(bench_json.out, "errors"), "0") << bench_json.out;
  EXPECT_GT(std::stoull(json_field(bench_json.out, "requests")), 0u) << bench_json.out;
  EXPECT_GT(std::stod(json_field(bench_json.out, "single_p50_us")), 0.0) << bench_json.out;
  auto no_model = run_minga({"--server", servers, "bench", "predict", "--model", "9", "--duration", "0.1"});
  EXPECT_EQ(no_model.exit_code, 1);
  EXPECT_EQ(no_model.err, "error: no model 9\n");

  // rm: the model is gone, and so are its files.
  auto rm = c.minga({"ml", "rm", "1"});
  EXPECT_EQ(rm.exit_code, 0) << rm.err;
  auto gone = c.minga({"ml", "predict", "--model", "1", "--input", "0,0,5,0,0,0,0,0"});
  EXPECT_EQ(gone.exit_code, 1);
  EXPECT_EQ(gone.err, "error: no model 1\n");
  EXPECT_TRUE(eventually([&] { return c.minga({"ls", "ml/1/"}).out.empty(); }, 10s));
}

TEST(Ml, TheIdComesBackAtOnceAndCancelStopsTheJob) {
  auto f = start(20000);
  auto& c = *f->c;
  const auto t0 = std::chrono::steady_clock::now();
  auto train = c.minga({"ml", "train", "--data", f->train.string(), "--layers", "64,64", "--epochs", "200"});
  ASSERT_EQ(train.exit_code, 0) << train.err;
  const std::string id = last_line(train.out);
  EXPECT_EQ(id, "1");
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 30s);
  const std::string st = json_field(status_json(c, id), "state");
  EXPECT_TRUE(st == "queued" || st == "running") << st;
  ASSERT_TRUE(wait_state(c, id, "running", 30s));
  auto cancel = c.minga({"ml", "cancel", id});
  EXPECT_EQ(cancel.exit_code, 0) << cancel.err;
  EXPECT_EQ(cancel.out, "cancelled 1\n");
  EXPECT_EQ(json_field(status_json(c, id), "state"), "cancelled");
  auto again = c.minga({"ml", "cancel", id});
  EXPECT_EQ(again.exit_code, 1);
  EXPECT_EQ(again.err, "error: cannot cancel: model 1 is cancelled\n");
  auto p = c.minga({"ml", "predict", "--model", id, "--input", "0,0,0,0,0,0,0,0"});
  EXPECT_EQ(p.exit_code, 1);
  EXPECT_EQ(p.err, "error: model 1 is cancelled\n");
  // The leader stops training it: no epoch lands after the cancel.
  const int done = epochs_done(c, id);
  std::this_thread::sleep_for(2s);
  EXPECT_EQ(epochs_done(c, id), done);
}

TEST(Ml, AFollowerKilledMidTrainingDoesNotStopTheJobAndTheModelSurvivesIt) {
  auto f = start(20000);
  auto& c = *f->c;
  const auto leader = c.wait_leader();
  ASSERT_TRUE(leader);
  auto train = c.minga({"ml", "train", "--data", f->train.string(), "--test", f->test.string(), "--layers", "128,128",
                        "--epochs", "8", "--sync-every", "1"});
  ASSERT_EQ(train.exit_code, 0) << train.err;
  const std::string id = last_line(train.out);
  ASSERT_TRUE(eventually([&] { return epochs_done(c, id) >= 1; }, 60s));
  // Every member trained a shard of the first epoch.
  EXPECT_NE(status_json(c, id).find(R"("workers":["n1","n2","n3"])"), std::string::npos) << status_json(c, id);
  const std::size_t follower = (*leader + 1) % 3;
  c.kill(follower);
  ASSERT_TRUE(wait_state(c, id, "ready", 120s)) << status_json(c, id);
  const std::string s = status_json(c, id);
  EXPECT_EQ(history_epochs(s), (std::vector<int>{1, 2, 3, 4, 5, 6, 7, 8})) << s;
  // The last epoch was the two others' alone; the leader logged the lost round.
  std::vector<std::string> live;
  for (std::size_t i = 0; i < 3; ++i) {
    if (i != follower) live.push_back("\"" + c.member(i).id + "\"");
  }
  EXPECT_NE(s.find("\"workers\":[" + live[0] + "," + live[1] + "]"), std::string::npos) << s;
  EXPECT_GE(count_log_lines(c.member(*leader).proc.err(), "warning",
                            "action: ml_worker | result: fail | id: " + id + " | worker: " + c.member(follower).id),
            1u)
      << c.member(*leader).proc.err().substr(0, 4000);
  // With one node down, the two others load the model from the files and answer alike.
  std::set<std::string> answers;
  for (std::size_t i = 0; i < 3; ++i) {
    if (i == follower) continue;
    auto p = run_minga({"--server", c.address(i), "ml", "predict", "--model", id, "--csv", f->test_features.string()});
    ASSERT_EQ(p.exit_code, 0) << p.err;
    answers.insert(p.out);
  }
  EXPECT_EQ(answers.size(), 1u);
}

TEST(Ml, TheLeaderKilledMidTrainingTheJobResumesFromItsCheckpoint) {
  auto f = start(20000);
  auto& c = *f->c;
  const auto leader = c.wait_leader();
  ASSERT_TRUE(leader);
  auto train = c.minga({"ml", "train", "--data", f->train.string(), "--test", f->test.string(), "--layers", "128,128",
                        "--epochs", "12", "--sync-every", "1"});
  ASSERT_EQ(train.exit_code, 0) << train.err;
  const std::string id = last_line(train.out);
  ASSERT_TRUE(eventually([&] { return epochs_done(c, id) >= 3; }, 90s)) << status_json(c, id);
  c.kill(*leader);
  const auto next = c.wait_leader(20s, *leader);
  ASSERT_TRUE(next);
  ASSERT_TRUE(wait_state(c, id, "ready", 150s)) << status_json(c, id);
  const std::string s = status_json(c, id);
  // Each epoch once, in order: nothing was trained again from epoch 0.
  EXPECT_EQ(history_epochs(s), (std::vector<int>{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12})) << s;
  EXPECT_EQ(json_field(s, "resumes"), "1") << s;
  EXPECT_GT(std::stod(json_field(s, "test_accuracy")), 0.9) << s;
  // The new leader's log says where it took the job up.
  const std::string log = c.member(*next).proc.err();
  std::smatch m;
  ASSERT_TRUE(std::regex_search(
      log, m, std::regex("action: ml_resume \\| result: success \\| id: " + id + " \\| from_epoch: (\\d+)")))
      << log;
  EXPECT_GE(std::stoi(m[1]), 3);
}

// With a checkpoint after every round, a leader killed in the middle of an
// epoch: the new leader takes the job up at the row of the last checkpoint,
// with the optimizer state it held, and each epoch is recorded once.
TEST(Ml, TheLeaderKilledMidEpochTheJobResumesFromTheRoundItCheckpointed) {
  auto f = start(20000, "[ml]\ncheckpoint_seconds = 0\n");
  auto& c = *f->c;
  const auto leader = c.wait_leader();
  ASSERT_TRUE(leader);
  auto train = c.minga({"ml", "train", "--data", f->train.string(), "--test", f->test.string(), "--layers", "128,128",
                        "--epochs", "3", "--sync-every", "4"});
  ASSERT_EQ(train.exit_code, 0) << train.err;
  const std::string id = last_line(train.out);
  std::uint64_t seen = 0;
  ASSERT_TRUE(eventually(
      [&] {
        const std::string s = status_json(c, id);
        if (json_field(s, "epochs_done") != "1") return false;
        const std::string p = json_field(s, "checkpoint_position");
        seen = p.empty() ? 0 : std::stoull(p);
        return seen > 0;
      },
      90s))
      << status_json(c, id);
  c.kill(*leader);
  const auto next = c.wait_leader(20s, *leader);
  ASSERT_TRUE(next);
  ASSERT_TRUE(wait_state(c, id, "ready", 120s)) << status_json(c, id);
  const std::string s = status_json(c, id);
  EXPECT_EQ(history_epochs(s), (std::vector<int>{1, 2, 3})) << s;
  EXPECT_EQ(json_field(s, "resumes"), "1") << s;
  EXPECT_EQ(json_field(s, "checkpoint_position"), "0") << s;
  const std::string log = c.member(*next).proc.err();
  std::smatch m;
  ASSERT_TRUE(std::regex_search(log, m,
                                std::regex("action: ml_resume \\| result: success \\| id: " + id +
                                           " \\| from_epoch: (\\d+) \\| from_row: (\\d+) \\| optimizer_state: (\\w+)")))
      << log;
  // Rounds of 4 batches of 64 rows: checkpoints fall on multiples of 256.
  const int from_epoch = std::stoi(m[1]);
  const std::uint64_t from_row = std::stoull(m[2]);
  EXPECT_EQ(m[3], "restored");
  EXPECT_EQ(from_row % 256, 0u) << from_row;
  if (from_epoch == 1) {
    // The usual case: the kill came before epoch 2's last round.
    EXPECT_GE(from_row, seen);
    EXPECT_LT(from_row, 20000u);
  } else {
    // Epoch 2 ended between the look and the kill.
    EXPECT_EQ(from_epoch, 2) << log;
  }
}

// Every member unreachable on the address the leader calls (Raft still
// works): each round fails, and once no member is left in the epoch the job
// fails with an error that names every member.
TEST(Ml, WithNoWorkerLeftTheJobFailsWithAClearError) {
  auto f = start(20000, "", true);
  auto& c = *f->c;
  ASSERT_TRUE(c.wait_leader());
  auto train = c.minga(
      {"ml", "train", "--data", f->train.string(), "--layers", "128,128", "--epochs", "50", "--sync-every", "1"});
  ASSERT_EQ(train.exit_code, 0) << train.err;
  const std::string id = last_line(train.out);
  ASSERT_TRUE(eventually([&] { return epochs_done(c, id) >= 1; }, 60s)) << status_json(c, id);
  for (std::size_t i = 0; i < 3; ++i) c.forward_proxy(i)->cut();
  ASSERT_TRUE(wait_state(c, id, "failed", 30s)) << status_json(c, id);
  for (std::size_t i = 0; i < 3; ++i) c.forward_proxy(i)->pass();
  const std::string s = status_json(c, id);
  const std::string error = json_field(s, "error");
  EXPECT_TRUE(
      std::regex_match(error, std::regex("no worker left in epoch (\\d+) \\(n\\d: [^;]+; n\\d: [^;]+; n\\d: [^;]+\\)")))
      << error;
  for (const auto& m : {"n1: ", "n2: ", "n3: "}) EXPECT_NE(error.find(m), std::string::npos) << error;
  const int failed_in = std::stoi(error.substr(std::string("no worker left in epoch ").size()));
  EXPECT_EQ(failed_in, epochs_done(c, id) + 1) << s;
  auto p = c.minga({"ml", "predict", "--model", id, "--input", "0,0,0,0,0,0,0,0"});
  EXPECT_EQ(p.exit_code, 1);
  EXPECT_EQ(p.err, "error: model " + id + " failed: " + error + "\n");
}

// A follower stopped with SIGSTOP past the round's deadline: its rows go to
// the two others, the job completes, and the member trains again once it is
// continued (from the next epoch).
TEST(Ml, ALateWorkerHasItsRowsReassignedAndTheJobCompletes) {
  auto f = start(20000);
  auto& c = *f->c;
  const auto leader = c.wait_leader();
  ASSERT_TRUE(leader);
  auto train = c.minga({"ml", "train", "--data", f->train.string(), "--test", f->test.string(), "--layers", "128,128",
                        "--epochs", "6", "--sync-every", "1"});
  ASSERT_EQ(train.exit_code, 0) << train.err;
  const std::string id = last_line(train.out);
  ASSERT_TRUE(eventually([&] { return epochs_done(c, id) >= 1; }, 60s)) << status_json(c, id);
  const std::size_t late = (*leader + 1) % 3;
  const std::string late_id = c.member(late).id;
  const std::string lost = "action: ml_worker | result: fail | id: " + id + " | worker: " + late_id;
  c.pause(late);
  // The deadline is at least 5 s; the leader gives up on the member and goes on.
  const bool gave_up =
      eventually([&] { return count_log_lines(c.member(*leader).proc.err(), "warning", lost) >= 1; }, 30s);
  c.resume(late);
  ASSERT_TRUE(gave_up) << c.member(*leader).proc.err().substr(0, 4000);
  const std::string log = c.member(*leader).proc.err();
  std::smatch m;
  ASSERT_TRUE(
      std::regex_search(log, m,
                        std::regex("action: ml_worker \\| result: fail \\| id: " + id + " \\| worker: " + late_id +
                                   " \\| epoch: (\\d+) \\| reason: ([^|]*) \\| rows_reassigned: (\\d+)")))
      << log.substr(0, 4000);
  EXPECT_EQ(m[2], "timed out waiting for the server");  // the round's deadline, not a refused connection
  EXPECT_EQ(m[3], "64");                                // one round's piece: H = 1 batch of 64 rows
  ASSERT_TRUE(wait_state(c, id, "ready", 120s)) << status_json(c, id);
  const std::string s = status_json(c, id);
  EXPECT_EQ(history_epochs(s), (std::vector<int>{1, 2, 3, 4, 5, 6})) << s;
  EXPECT_GT(std::stod(json_field(s, "test_accuracy")), 0.9) << s;
  // Continued, the member is asked again at the next epoch and trains: the last epoch had all three.
  if (std::stoi(m[1]) < 6) {
    EXPECT_NE(s.find(R"("workers":["n1","n2","n3"])"), std::string::npos) << s;
  }
}

TEST(Ml, BadInputsGiveTheDocumentedErrors) {
  auto f = start(600);
  auto& c = *f->c;
  auto expect = [&](std::vector<std::string> args, int code, const std::string& err) {
    auto r = c.minga(args);
    EXPECT_EQ(r.exit_code, code) << args.back() << "\n" << r.out << r.err;
    EXPECT_EQ(r.err, err) << args.back();
  };
  expect({"ml", "predict", "--model", "99", "--input", "1,2"}, 1, "error: no model 99\n");
  expect({"ml", "status", "7"}, 1, "error: no model 7\n");
  expect({"ml", "show", "x"}, 2, "error: a model id is a positive number, not 'x'\n");
  expect({"ml", "train", "--data", "nosuch.csv"}, 1, "error: no file nosuch.csv in the cluster\n");
  expect({"ml", "train"}, 2, "error: give --data CSV, or --images IDX --labels IDX\n");
  expect({"ml", "train", "--data", f->train.string(), "--layers", "16,x"}, 2,
         "error: --layers takes widths 1 to 4096, comma-separated: '16,x'\n");
  expect({"ml", "train", "--data", f->train.string(), "--optimizer", "rmsprop"}, 2,
         "error: optimizer must be adam or sgd\n");
  expect({"ml", "predict", "--model", "1", "--input", "1,abc"}, 2, "error: --input column 2: not a number: 'abc'\n");
  expect({"ml", "predict", "--model", "1"}, 2,
         "error: give one of --input \"v1,v2,...\", --csv FILE or --images IDX --index K\n");

  // A CSV that does not parse: the job fails and says where.
  const fs::path bad = f->tmp.path() / "bad.csv";
  write_file(bad, "a,b,label\n1,2,0\n3,x4,1\n");
  auto train = c.minga({"ml", "train", "--data", bad.string(), "--layers", "4", "--epochs", "1", "--wait"}, 60s);
  EXPECT_EQ(train.exit_code, 1) << train.out << train.err;
  EXPECT_EQ(last_line(train.out), "1");
  EXPECT_NE(train.err.find("error: model 1 failed: ml/data/"), std::string::npos) << train.err;
  EXPECT_NE(train.err.find("bad.csv line 3 column 2: not a number: 'x4'"), std::string::npos) << train.err;

  // A good model, then the wrong number of features.
  auto good = c.minga({"ml", "train", "--data", f->train.string(), "--layers", "4", "--epochs", "1", "--wait"}, 60s);
  ASSERT_EQ(good.exit_code, 0) << good.err;
  EXPECT_EQ(last_line(good.out), "2");
  expect({"ml", "predict", "--model", "2", "--input", "1,2,3"}, 1, "error: model 2 takes 8 features; row 1 has 3\n");
  expect({"ml", "predict", "--model", "1", "--input", "1,2,3"}, 1,
         "error: model 1 failed: ml/data/" +
             json_field(c.minga({"-o", "json", "ml", "status", "1"}).out, "dataset").substr(8) +
             " line 3 column 2: not a number: 'x4'\n");
  expect({"ml", "rm", "5"}, 1, "error: no model 5\n");
}

}  // namespace
}  // namespace minga::testing
