#include "apps/ml/cli.h"

#include <chrono>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <thread>

#include <CLI/CLI.hpp>

#include "apps/files/blob_store.h"
#include "apps/files/file_client.h"
#include "apps/ml/dataset.h"
#include "apps/ml/ml_state.h"
#include "base/json.h"
#include "base/number.h"
#include "client/options.h"
#include "proto/ml.pb.h"

namespace minga::ml {
namespace {

namespace fs = std::filesystem;
using client::ClientOptions;

Error usage(std::string m) { return Error{Errc::invalid_argument, std::move(m)}; }

std::string created_text(std::int64_t ms) {
  const std::time_t secs = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  ::gmtime_r(&secs, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

std::string fixed(double v, int digits) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", digits, v);
  return buf;
}

std::string percent(double fraction) { return fraction < 0 ? "-" : fixed(fraction * 100, 2) + "%"; }

std::string arch_text(const pb::MlJob& j) {
  std::string out;
  for (auto v : j.architecture()) out += (out.empty() ? "" : "-") + std::to_string(v);
  if (!out.empty()) return out;
  out = "?";
  for (auto v : j.hyper().hidden()) out += "-" + std::to_string(v);
  return out + "-?";
}

std::string dataset_text(const pb::MlJob& j) {
  const auto& d = j.data();
  std::string out = d.train();
  if (!d.train_labels().empty()) out += "+" + d.train_labels();
  if (!d.test().empty()) out += " (test " + d.test() + (d.test_labels().empty() ? "" : "+" + d.test_labels()) + ")";
  return out;
}

const pb::MlEpoch* last_epoch(const pb::MlJob& j) { return j.epochs_size() ? &j.epochs(j.epochs_size() - 1) : nullptr; }

// A JSON number as json::Object writes it.
std::string json_number(double v) {
  const std::string s = json::Object().add("v", v).str();
  return s.substr(5, s.size() - 6);
}

std::string number_or_null(double v, bool present) { return present ? json_number(v) : "null"; }

std::string strings_json(const google::protobuf::RepeatedPtrField<std::string>& list) {
  std::string out = "[";
  for (const auto& s : list) out += (out.size() > 1 ? "," : "") + json::quote(s);
  return out + "]";
}

json::Object job_object(const pb::MlJob& j) {
  const auto* e = last_epoch(j);
  std::string arch = "[";
  for (auto v : j.architecture()) arch += (arch.size() > 1 ? "," : "") + std::to_string(v);
  std::string history = "[";
  for (const auto& h : j.epochs()) {
    history += (history.size() > 1 ? "," : "") +
               json::Object()
                   .add("epoch", static_cast<std::uint64_t>(h.epoch()))
                   .add("loss", h.loss())
                   .add("train_accuracy", h.train_accuracy())
                   .add_raw("test_accuracy", number_or_null(h.test_accuracy(), h.test_accuracy() >= 0))
                   .add("seconds", h.seconds())
                   .add("rounds", static_cast<std::uint64_t>(h.rounds()))
                   .add("round_seconds", h.round_seconds())
                   .add("train_seconds", h.train_seconds())
                   .str();
  }
  json::Object o;
  o.add("id", static_cast<std::uint64_t>(j.id()))
      .add("name", j.name())
      .add("state", std::string(state_name(j.state())))
      .add_raw("architecture", arch + "]")
      .add("dataset", j.data().train())
      .add("test_dataset", j.data().test())
      .add("epochs", static_cast<std::uint64_t>(j.hyper().epochs()))
      .add("epochs_done", static_cast<std::uint64_t>(j.epochs_size()))
      .add_raw("loss", number_or_null(e ? e->loss() : 0, e != nullptr))
      .add_raw("train_accuracy", number_or_null(e ? e->train_accuracy() : 0, e != nullptr))
      .add_raw("test_accuracy", number_or_null(e ? e->test_accuracy() : 0, e && e->test_accuracy() >= 0))
      .add_raw("workers", strings_json(j.workers()))
      .add("checkpoint", j.checkpoint())
      .add("checkpoint_epoch", static_cast<std::uint64_t>(j.checkpoint_epoch()))
      .add("checkpoint_position", j.checkpoint_position())
      .add("resumes", static_cast<std::uint64_t>(j.resumes()))
      .add("created", created_text(j.created_ms()))
      .add("size", static_cast<std::uint64_t>(j.model_size()))
      .add("error", j.error())
      .add_raw("history", history + "]");
  return o;
}

Result<pb::MlJob> fetch(const ClientOptions& options, std::uint64_t id) {
  pb::MlJobRequest req;
  req.set_id(id);
  auto r = client::call_cluster<pb::MlJobResponse>(options, pb::ML_JOB_REQUEST, req, pb::ML_JOB_RESPONSE, true);
  if (!r.ok()) return r.error();
  return r->job();
}

// A local file is uploaded (under a name made of its hash and base name, so
// the same bytes are stored once); anything else names a stored file.
Result<std::string> stored_name(const ClientOptions& options, const std::string& given) {
  std::error_code ec;
  if (!fs::is_regular_file(given, ec)) return given;
  std::ifstream in(given, std::ios::binary);
  if (!in) return usage("cannot read " + given);
  const std::string bytes((std::istreambuf_iterator<char>(in)), {});
  const std::string name =
      "ml/data/" + files::sha256_hex(bytes).substr(0, 16) + "-" + fs::path(given).filename().string();
  auto e = files::stat(options, name);
  if (e.ok() && e->size() == bytes.size()) return name;
  auto put = files::put_bytes(options, bytes, name);
  if (!put.ok()) return put.error();
  if (!options.json()) std::cerr << "uploaded " << given << " as " << name << std::endl;
  return name;
}

struct TrainArgs {
  std::string data, test, label_column, images, labels, test_images, test_labels, layers = "256,128",
                                                                                  optimizer = "adam", name;
  std::uint32_t epochs = 5, batch = 64, sync_every = 16;
  std::uint64_t seed = 1;
  double lr = 0.001;
  bool wait = false;
};

int follow(const ClientOptions& options, std::uint64_t id) {
  std::size_t shown = 0;
  for (;;) {
    auto job = fetch(options, id);
    if (!job.ok()) return client::report(options, job.error());
    for (; shown < static_cast<std::size_t>(job->epochs_size()); ++shown) {
      const auto& e = job->epochs(static_cast<int>(shown));
      double mean = 0;
      for (const auto& h : job->epochs()) mean += h.seconds();
      mean /= job->epochs_size();
      const double left = mean * (job->hyper().epochs() - job->epochs_size());
      std::cerr << "epoch " << e.epoch() << "/" << job->hyper().epochs() << "  loss " << fixed(e.loss(), 4)
                << "  train " << percent(e.train_accuracy()) << "  test " << percent(e.test_accuracy()) << "  "
                << fixed(e.seconds(), 1) << " s  time left ~" << fixed(left, 0) << " s" << std::endl;
    }
    if (finished(job->state())) {
      if (options.json())
        std::cout << job_object(job.value()).add("ok", job->state() == pb::ML_READY).str() << std::endl;
      if (job->state() == pb::ML_READY) {
        if (!options.json()) std::cerr << "model " << id << " ready" << std::endl;
        return client::kExitOk;
      }
      if (!options.json()) {
        std::cerr << "error: model " << id << " " << state_name(job->state())
                  << (job->error().empty() ? "" : ": " + job->error()) << std::endl;
      }
      return client::kExitServerError;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
  }
}

int run_train(const ClientOptions& options, const TrainArgs& a) {
  pb::MlTrainRequest req;
  req.set_name(a.name);
  auto* d = req.mutable_data();
  const bool csv = !a.data.empty();
  const bool idx = !a.images.empty() || !a.labels.empty();
  if (csv == idx) return client::report_usage(options, usage("give --data CSV, or --images IDX --labels IDX"));
  if (idx && (a.images.empty() || a.labels.empty())) {
    return client::report_usage(options, usage("--images and --labels go together"));
  }
  if (csv && (!a.test_images.empty() || !a.test_labels.empty())) {
    return client::report_usage(options, usage("CSV data take --test, not --test-images/--test-labels"));
  }
  if (idx && (!a.test.empty() || !a.label_column.empty())) {
    return client::report_usage(options,
                                usage("IDX data take --test-images/--test-labels, not --test or --label-column"));
  }
  d->set_format(csv ? "csv" : "idx");
  d->set_label_column(a.label_column);
  auto* h = req.mutable_hyper();
  std::string_view rest = a.layers;
  while (!rest.empty()) {
    const auto comma = rest.find(',');
    auto n = parse_u64(rest.substr(0, comma));
    if (!n.ok() || n.value() == 0 || n.value() > 4096) {
      return client::report_usage(options,
                                  usage("--layers takes widths 1 to 4096, comma-separated: '" + a.layers + "'"));
    }
    h->add_hidden(static_cast<std::uint32_t>(n.value()));
    rest = comma == std::string_view::npos ? std::string_view() : rest.substr(comma + 1);
  }
  if (h->hidden_size() == 0) return client::report_usage(options, usage("--layers needs at least one width"));
  h->set_epochs(a.epochs);
  h->set_batch(a.batch);
  h->set_learning_rate(static_cast<float>(a.lr));
  h->set_optimizer(a.optimizer);
  h->set_sync_every(a.sync_every);
  h->set_seed(a.seed);
  {
    // The hyper-parameters are checked before anything is uploaded (the names are placeholders).
    pb::MlTrainRequest check = req;
    check.mutable_data()->set_train("x");
    if (idx) check.mutable_data()->set_train_labels("x");
    if (!(csv ? a.test : a.test_images).empty()) check.mutable_data()->set_test("x");
    if (!a.test_labels.empty()) check.mutable_data()->set_test_labels("x");
    if (auto st = validate(check); !st.ok()) return client::report_usage(options, st.error());
  }
  struct Field {
    const std::string& given;
    std::string* out;
  };
  for (Field f :
       {Field{csv ? a.data : a.images, d->mutable_train()}, Field{a.labels, d->mutable_train_labels()},
        Field{csv ? a.test : a.test_images, d->mutable_test()}, Field{a.test_labels, d->mutable_test_labels()}}) {
    if (f.given.empty()) continue;
    auto name = stored_name(options, f.given);
    if (!name.ok()) return client::report(options, name.error());
    *f.out = name.value();
  }
  if (auto st = validate(req); !st.ok()) return client::report_usage(options, st.error());
  auto r = client::call_cluster<pb::MlJobResponse>(options, pb::ML_TRAIN_REQUEST, req, pb::ML_TRAIN_RESPONSE);
  if (!r.ok()) return client::report(options, r.error());
  const std::uint64_t id = r->job().id();
  if (options.json()) {
    std::cout << json::Object().add("ok", true).add("id", id).str() << std::endl;
  } else {
    std::cout << id << std::endl;
  }
  return a.wait ? follow(options, id) : client::kExitOk;
}

Result<std::uint64_t> parse_id(const std::string& text) {
  auto n = parse_u64(text);
  if (!n.ok() || n.value() == 0) return usage("a model id is a positive number, not '" + text + "'");
  return n.value();
}

int run_jobs(const ClientOptions& options, bool models_only) {
  auto r = client::call_cluster<pb::MlJobsResponse>(options, pb::ML_JOBS_REQUEST, pb::MlJobsRequest(),
                                                    pb::ML_JOBS_RESPONSE, true);
  if (!r.ok()) return client::report(options, r.error());
  std::string items = "[";
  std::vector<std::vector<std::string>> rows;
  if (models_only) {
    rows.push_back({"ID", "NAME", "ARCHITECTURE", "TEST_ACC", "SIZE", "CREATED"});
  } else {
    rows.push_back({"ID", "NAME", "STATE", "EPOCH", "LOSS", "TEST_ACC", "WORKERS", "CREATED"});
  }
  for (const auto& j : r->jobs()) {
    if (models_only && j.state() != pb::ML_READY) continue;
    items += (items.size() > 1 ? "," : "") + job_object(j).str();
    const auto* e = last_epoch(j);
    std::string workers;
    for (const auto& w : j.workers()) workers += (workers.empty() ? "" : ",") + w;
    if (models_only) {
      rows.push_back({std::to_string(j.id()), j.name(), arch_text(j), e ? percent(e->test_accuracy()) : "-",
                      std::to_string(j.model_size()), created_text(j.created_ms())});
    } else {
      rows.push_back({std::to_string(j.id()), j.name(), std::string(state_name(j.state())),
                      std::to_string(j.epochs_size()) + "/" + std::to_string(j.hyper().epochs()),
                      e ? fixed(e->loss(), 4) : "-", e ? percent(e->test_accuracy()) : "-",
                      workers.empty() ? "-" : workers, created_text(j.created_ms())});
    }
  }
  if (options.json()) {
    std::cout << json::Object().add("ok", true).add_raw(models_only ? "models" : "jobs", items + "]").str()
              << std::endl;
  } else {
    client::print_table(rows);
    std::cout << std::flush;
  }
  return client::kExitOk;
}

int run_status(const ClientOptions& options, const std::string& id_text, bool show) {
  auto id = parse_id(id_text);
  if (!id.ok()) return client::report_usage(options, id.error());
  auto j = fetch(options, id.value());
  if (!j.ok()) return client::report(options, j.error());
  if (options.json()) {
    std::cout << job_object(j.value()).add("ok", true).str() << std::endl;
    return client::kExitOk;
  }
  const auto* e = last_epoch(j.value());
  std::cout << "id: " << j->id() << "\nname: " << j->name() << "\n";
  if (!show) std::cout << "state: " << state_name(j->state()) << "\n";
  std::cout << "architecture: " << arch_text(j.value()) << "\ndataset: " << dataset_text(j.value())
            << "\nepochs: " << j->epochs_size() << "/" << j->hyper().epochs()
            << "\ntest accuracy: " << (e ? percent(e->test_accuracy()) : "-")
            << "\nloss: " << (e ? fixed(e->loss(), 4) : "-") << "\ncreated: " << created_text(j->created_ms()) << "\n";
  if (show) {
    std::cout << "size: " << j->model_size() << "\n";
  } else {
    std::string workers;
    for (const auto& w : j->workers()) workers += (workers.empty() ? "" : ",") + w;
    std::cout << "train accuracy: " << (e ? percent(e->train_accuracy()) : "-")
              << "\nworkers: " << (workers.empty() ? "-" : workers) << "\ncheckpoint: "
              << (j->checkpoint().empty()
                      ? "-"
                      : j->checkpoint() + " (epoch " + std::to_string(j->checkpoint_epoch()) +
                            (j->checkpoint_position() == 0
                                 ? ""
                                 : ", " + std::to_string(j->checkpoint_position()) + " rows into epoch " +
                                       std::to_string(j->checkpoint_epoch() + 1)) +
                            ")")
              << "\nresumes: " << j->resumes() << "\n";
    if (!j->error().empty()) std::cout << "error: " << j->error() << "\n";
    for (const auto& h : j->epochs()) {
      std::cout << "epoch " << h.epoch() << ": loss " << fixed(h.loss(), 4) << ", train " << percent(h.train_accuracy())
                << ", test " << percent(h.test_accuracy()) << ", " << fixed(h.seconds(), 2) << " s\n";
    }
  }
  std::cout << std::flush;
  return client::kExitOk;
}

int run_cancel_or_rm(const ClientOptions& options, const std::string& id_text, bool rm) {
  auto id = parse_id(id_text);
  if (!id.ok()) return client::report_usage(options, id.error());
  pb::MlJobRequest req;
  req.set_id(id.value());
  if (rm) {
    auto r = client::call_cluster<pb::MlRemoveResponse>(options, pb::ML_REMOVE_REQUEST, req, pb::ML_REMOVE_RESPONSE);
    if (!r.ok()) return client::report(options, r.error());
    if (options.json()) std::cout << json::Object().add("ok", true).add("id", id.value()).str() << std::endl;
    return client::kExitOk;
  }
  auto r = client::call_cluster<pb::MlJobResponse>(options, pb::ML_CANCEL_REQUEST, req, pb::ML_CANCEL_RESPONSE);
  if (!r.ok()) return client::report(options, r.error());
  if (options.json()) {
    std::cout << job_object(r->job()).add("ok", true).str() << std::endl;
  } else {
    std::cout << "cancelled " << id.value() << std::endl;
  }
  return client::kExitOk;
}

// One row of numbers, comma-separated; `where` names it in errors.
Result<pb::MlRow> parse_row(std::string_view line, const std::string& where) {
  pb::MlRow row;
  std::size_t column = 1;
  for (;;) {
    const auto comma = line.find(',');
    std::string field(line.substr(0, comma));
    while (!field.empty() && (field.back() == ' ' || field.back() == '\r' || field.back() == '\t')) field.pop_back();
    while (!field.empty() && (field.front() == ' ' || field.front() == '\t')) field.erase(0, 1);
    char* end = nullptr;
    errno = 0;
    const float v = field.empty() ? 0.0f : std::strtof(field.c_str(), &end);
    if (field.empty() || end != field.c_str() + field.size() || errno == ERANGE || !std::isfinite(v)) {
      return usage(where + " column " + std::to_string(column) + ": not a number: '" + field + "'");
    }
    row.add_values(v);
    if (comma == std::string_view::npos) break;
    line.remove_prefix(comma + 1);
    ++column;
  }
  return row;
}

struct PredictArgs {
  std::string model, input, csv, images;
  std::int64_t index = -1;
};

Result<std::vector<pb::MlRow>> predict_rows(const PredictArgs& a) {
  const int given = !a.input.empty() + !a.csv.empty() + !a.images.empty();
  if (given != 1) return usage("give one of --input \"v1,v2,...\", --csv FILE or --images IDX --index K");
  std::vector<pb::MlRow> rows;
  if (!a.input.empty()) {
    auto row = parse_row(a.input, "--input");
    if (!row.ok()) return row.error();
    rows.push_back(std::move(row.value()));
    return rows;
  }
  if (!a.csv.empty()) {
    std::ifstream in(a.csv, std::ios::binary);
    if (!in) return usage("cannot read " + a.csv);
    std::string line;
    std::size_t n = 0;
    while (std::getline(in, line)) {
      ++n;
      if (line.empty() || line == "\r") continue;
      auto row = parse_row(line, a.csv + " line " + std::to_string(n));
      if (!row.ok()) {
        if (rows.empty() && n == 1) continue;  // a header
        return row.error();
      }
      rows.push_back(std::move(row.value()));
    }
    if (rows.empty()) return usage(a.csv + ": no rows");
    return rows;
  }
  if (a.index < 0) return usage("--images needs --index K");
  auto bytes = read_maybe_gzipped(a.images);
  if (!bytes.ok()) return bytes.error();
  const std::string& b = bytes.value();
  auto be32 = [&](std::size_t at) {
    return (static_cast<std::uint32_t>(static_cast<unsigned char>(b[at])) << 24) |
           (static_cast<std::uint32_t>(static_cast<unsigned char>(b[at + 1])) << 16) |
           (static_cast<std::uint32_t>(static_cast<unsigned char>(b[at + 2])) << 8) |
           static_cast<std::uint32_t>(static_cast<unsigned char>(b[at + 3]));
  };
  if (b.size() < 16 || be32(0) != 0x00000803) return usage(a.images + ": not an idx3-ubyte image file");
  const std::uint64_t count = be32(4), size = static_cast<std::uint64_t>(be32(8)) * be32(12);
  if (static_cast<std::uint64_t>(a.index) >= count) {
    return usage(a.images + " has " + std::to_string(count) + " images; --index " + std::to_string(a.index) +
                 " is out of range");
  }
  const std::uint64_t at = 16 + static_cast<std::uint64_t>(a.index) * size;
  if (at + size > b.size()) return usage(a.images + ": truncated in record " + std::to_string(a.index));
  pb::MlRow row;
  for (std::uint64_t i = 0; i < size; ++i) row.add_values(static_cast<unsigned char>(b[at + i]) / 255.0f);
  rows.push_back(std::move(row));
  return rows;
}

int run_predict(const ClientOptions& options, const PredictArgs& a) {
  auto id = parse_id(a.model);
  if (!id.ok()) return client::report_usage(options, id.error());
  auto rows = predict_rows(a);
  if (!rows.ok()) return client::report_usage(options, rows.error());
  std::string items = "[";
  constexpr std::size_t kRowsPerRequest = 1000;
  for (std::size_t at = 0; at < rows->size(); at += kRowsPerRequest) {
    pb::MlPredictRequest req;
    req.set_id(id.value());
    for (std::size_t i = at; i < std::min(rows->size(), at + kRowsPerRequest); ++i) *req.add_rows() = rows.value()[i];
    auto r = client::call_cluster<pb::MlPredictResponse>(options, pb::ML_PREDICT_REQUEST, req, pb::ML_PREDICT_RESPONSE,
                                                         true);
    if (!r.ok()) {
      // The node names rows from 1 within one request; say which rows of the input they were.
      Error e = r.error();
      if (at > 0) e.message += " (of the request starting at input row " + std::to_string(at + 1) + ")";
      return client::report(options, e);
    }
    for (const auto& p : r->predictions()) {
      std::string scores, json_scores = "[";
      for (float s : p.scores()) {
        scores += (scores.empty() ? "" : " ") + fixed(s, 4);
        json_scores += (json_scores.size() > 1 ? "," : "") + json_number(static_cast<double>(s));
      }
      if (options.json()) {
        items += (items.size() > 1 ? "," : "") + json::Object()
                                                     .add("class", static_cast<std::uint64_t>(p.class_()))
                                                     .add_raw("scores", json_scores + "]")
                                                     .str();
      } else {
        std::cout << p.class_() << '\t' << scores << '\n';
      }
    }
  }
  if (options.json()) std::cout << json::Object().add("ok", true).add_raw("predictions", items + "]").str() << '\n';
  std::cout << std::flush;
  return client::kExitOk;
}

}  // namespace

void add_cli(CLI::App& root, ClientOptions& options, std::function<int()>& action) {
  auto* ml = root.add_subcommand("ml", "neural networks trained and served on the cluster (docs/ml.md)");
  ml->require_subcommand(1);

  auto t = std::make_shared<TrainArgs>();
  auto* train = ml->add_subcommand("train", "start training a model; prints its id at once (last line)");
  train->add_option("--data", t->data, "training CSV: a local file (uploaded) or a file name in the cluster");
  train->add_option("--test", t->test, "test CSV (local or stored)");
  train->add_option("--label-column", t->label_column, "the CSV label column's header name (default: the last column)");
  train->add_option("--images", t->images, "training images, idx3-ubyte (gzipped or not)");
  train->add_option("--labels", t->labels, "training labels, idx1-ubyte");
  train->add_option("--test-images", t->test_images, "test images, idx3-ubyte");
  train->add_option("--test-labels", t->test_labels, "test labels, idx1-ubyte");
  train->add_option("--layers", t->layers, "hidden layer widths, comma-separated")->capture_default_str();
  train->add_option("--epochs", t->epochs, "passes over the training data")->capture_default_str();
  train->add_option("--batch", t->batch, "mini-batch size")->capture_default_str();
  train->add_option("--lr", t->lr, "learning rate")->capture_default_str();
  train->add_option("--optimizer", t->optimizer, "adam or sgd (momentum 0.9)")->capture_default_str();
  train->add_option("--sync-every", t->sync_every, "local steps between averaging rounds (H)")->capture_default_str();
  train->add_option("--seed", t->seed, "seed of the initial weights and the shuffles")->capture_default_str();
  train->add_option("--name", t->name, "a name to show with the model");
  train->add_flag("--wait", t->wait, "follow the job (a progress line per epoch on stderr) until it ends");
  train->callback([&options, &action, t] { action = [&options, t] { return run_train(options, *t); }; });

  auto* jobs = ml->add_subcommand("jobs", "the training jobs, every state");
  jobs->callback([&options, &action] { action = [&options] { return run_jobs(options, false); }; });
  auto* models = ml->add_subcommand("models", "the trained models (jobs that are ready)");
  models->callback([&options, &action] { action = [&options] { return run_jobs(options, true); }; });

  auto id = std::make_shared<std::string>();
  auto* status = ml->add_subcommand("status", "a job's state, epochs, workers and checkpoint");
  status->add_option("id", *id, "the model id")->required();
  status->callback([&options, &action, id] { action = [&options, id] { return run_status(options, *id, false); }; });
  auto* show = ml->add_subcommand("show", "a model: architecture, dataset, epochs, test accuracy, loss, size");
  show->add_option("id", *id, "the model id")->required();
  show->callback([&options, &action, id] { action = [&options, id] { return run_status(options, *id, true); }; });
  auto* cancel = ml->add_subcommand("cancel", "stop a queued or running job");
  cancel->add_option("id", *id, "the model id")->required();
  cancel->callback(
      [&options, &action, id] { action = [&options, id] { return run_cancel_or_rm(options, *id, false); }; });
  auto* rm = ml->add_subcommand("rm", "remove a finished model and its files");
  rm->add_option("id", *id, "the model id")->required();
  rm->callback([&options, &action, id] { action = [&options, id] { return run_cancel_or_rm(options, *id, true); }; });

  auto p = std::make_shared<PredictArgs>();
  auto* predict = ml->add_subcommand("predict", "classify inputs with a model: CLASS<TAB>SCORES per row");
  predict->add_option("--model", p->model, "the model id")->required();
  predict->add_option("--input", p->input, "one row of features: \"v1,v2,...\"");
  predict->add_option("--csv", p->csv, "a file of rows of features (a header line is skipped)");
  predict->add_option("--images", p->images, "an idx3-ubyte image file (gzipped or not)");
  predict->add_option("--index", p->index, "the image's 0-based index in --images");
  predict->callback([&options, &action, p] { action = [&options, p] { return run_predict(options, *p); }; });
}

}  // namespace minga::ml
