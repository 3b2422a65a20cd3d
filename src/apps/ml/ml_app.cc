#include "apps/ml/ml_app.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstring>
#include <deque>
#include <filesystem>
#include <fstream>
#include <future>
#include <set>
#include <thread>

#include "apps/files/file_client.h"
#include "apps/ml/dataset.h"
#include "apps/ml/trainer.h"
#include "base/json.h"
#include "base/log.h"
#include "base/random.h"
#include "net/client.h"
#include "wire/frame.h"

namespace minga::ml {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

template <class Message>
bool decode(std::string_view body, Message& m, const apps::ResponderPtr& r, const char* what) {
  if (m.ParseFromArray(body.data(), static_cast<int>(body.size()))) return true;
  r->fail(Errc::bad_frame, std::string("cannot decode ") + what);
  return false;
}

std::int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string id_text(std::uint64_t id) { return std::to_string(id); }

// Softmax probabilities of one row of logits.
std::vector<float> softmax(const std::vector<float>& logits) {
  std::vector<float> out(logits.size());
  const float top = *std::max_element(logits.begin(), logits.end());
  double sum = 0;
  for (std::size_t i = 0; i < logits.size(); ++i) {
    out[i] = std::exp(logits[i] - top);
    sum += out[i];
  }
  for (auto& v : out) v = static_cast<float>(v / sum);
  return out;
}

// The first `n` rows of `d`.
Dataset head(const Dataset& d, std::size_t n) {
  if (n >= d.rows) return d;
  Dataset out;
  out.rows = n;
  out.features = d.features;
  out.classes = d.classes;
  out.x.assign(d.x.begin(), d.x.begin() + static_cast<std::ptrdiff_t>(n * d.features));
  out.y.assign(d.y.begin(), d.y.begin() + static_cast<std::ptrdiff_t>(n));
  return out;
}

Result<std::string> read_whole(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Error{Errc::internal, "cannot read " + path};
  return std::string(std::istreambuf_iterator<char>(in), {});
}

// A failure of the job itself (its data or its model), as opposed to the
// cluster being unreachable for now.
bool permanent(const Error& e) {
  return e.code == Errc::invalid_argument || e.code == Errc::not_found || e.code == Errc::unsupported_version ||
         e.code == Errc::no_worker;
}

TrainConfig config_of(const pb::MlHyper& h, unsigned threads) {
  TrainConfig config;
  config.optimizer = h.optimizer() == "sgd" ? Optimizer::sgd : Optimizer::adam;
  config.learning_rate = h.learning_rate();
  config.batch_size = h.batch();
  config.threads = threads;
  return config;
}

// Epoch `epoch`'s order of the rows: shuffled with the job's seed and the
// epoch number, so that every member (and every leader) computes the same.
std::vector<std::uint32_t> epoch_order(std::size_t rows, std::uint64_t seed, std::uint32_t epoch) {
  std::vector<std::uint32_t> order(rows);
  for (std::size_t i = 0; i < order.size(); ++i) order[i] = static_cast<std::uint32_t>(i);
  Random rng(seed * 1000003ull + epoch);
  for (std::size_t i = order.size(); i > 1; --i) std::swap(order[i - 1], order[rng.uniform(0, i - 1)]);
  return order;
}

// The largest model a round's frame carries (the client port takes 4 MiB frames).
constexpr std::size_t kMaxRoundModelBytes = 3u << 20;

std::string checkpoint_name(std::uint64_t id, std::uint32_t epoch) {
  return "ml/" + id_text(id) + "/checkpoint-" + std::to_string(epoch);
}

std::string floats_bytes(std::span<const float> v) {
  std::string out(v.size() * sizeof(float), '\0');
  if (!v.empty()) std::memcpy(out.data(), v.data(), out.size());
  return out;
}

std::vector<float> bytes_floats(const std::string& b) {
  std::vector<float> out(b.size() / sizeof(float));
  if (!out.empty()) std::memcpy(out.data(), b.data(), out.size() * sizeof(float));
  return out;
}

pb::MlOptimizerState state_proto(const OptimizerState& s) {
  pb::MlOptimizerState out;
  out.set_steps(s.steps);
  out.set_m1(floats_bytes(s.m1));
  out.set_m2(floats_bytes(s.m2));
  return out;
}

OptimizerState state_of(const pb::MlOptimizerState& p) {
  OptimizerState s;
  s.steps = p.steps();
  s.m1 = bytes_floats(p.m1());
  s.m2 = bytes_floats(p.m2());
  return s;
}

}  // namespace

Status MlApp::start(apps::NodeServices& node) {
  node_ = &node;
  log_ = &node.replication();
  auto threads = node.settings().get_int("ml.threads", "MINGA_ML_THREADS", node.pool().threads());
  if (!threads.ok()) return threads.error();
  if (threads.value() < 1 || threads.value() > 256) return Error{Errc::invalid_argument, "ml.threads must be 1 to 256"};
  threads_ = static_cast<unsigned>(threads.value());
  auto every = node.settings().get_int("ml.checkpoint_seconds", "MINGA_ML_CHECKPOINT_SECONDS", 10);
  if (!every.ok()) return every.error();
  if (every.value() < 0 || every.value() > 86400) {
    return Error{Errc::invalid_argument, "ml.checkpoint_seconds must be 0 to 86400"};
  }
  checkpoint_seconds_ = every.value();
  cache_dir_ = (node.data_dir() / "ml-cache").string();
  pool_ = std::make_unique<ThreadPool>(4, 256);
  work_pool_ = std::make_unique<ThreadPool>(1, 4);
  log_->register_state("ml", state_);

  auto route = [this, &node](std::uint32_t type, auto handler) { node.router().add(type, this, handler); };
  route(pb::ML_TRAIN_REQUEST, &MlApp::on_train);
  route(pb::ML_JOBS_REQUEST, &MlApp::on_jobs);
  route(pb::ML_JOB_REQUEST, &MlApp::on_job);
  route(pb::ML_CANCEL_REQUEST, &MlApp::on_cancel);
  route(pb::ML_REMOVE_REQUEST, &MlApp::on_remove);
  route(pb::ML_PREDICT_REQUEST, &MlApp::on_predict);
  route(pb::ML_ROUND_REQUEST, &MlApp::on_round);
  route(pb::ML_SAMPLE_REQUEST, &MlApp::on_sample);

  node.add_status_section("ml", [this] {
    std::size_t cached = 0;
    {
      std::lock_guard lock(models_mu_);
      cached = models_.size();
    }
    std::uint64_t active = state_.active().size();
    return json::Object()
        .add("models", state_.count())
        .add("active", active)
        .add("training", driving_.load())
        .add("threads", threads_)
        .add("cached_models", static_cast<std::uint64_t>(cached))
        .add("predictions", predictions_.load())
        .str();
  });
  node.add_api_route(apps::api_route<pb::MlTrainRequest, pb::MlJobResponse>("POST", "/ml/models", pb::ML_TRAIN_REQUEST,
                                                                            pb::ML_TRAIN_RESPONSE));
  node.add_api_route(apps::api_route<pb::MlJobsRequest, pb::MlJobsResponse>("GET", "/ml/jobs", pb::ML_JOBS_REQUEST,
                                                                            pb::ML_JOBS_RESPONSE));
  node.add_api_route(apps::api_route<pb::MlJobRequest, pb::MlJobResponse>("GET", "/ml/jobs/{id}", pb::ML_JOB_REQUEST,
                                                                          pb::ML_JOB_RESPONSE));
  node.add_api_route(apps::api_route<pb::MlJobRequest, pb::MlJobResponse>(
      "POST", "/ml/jobs/{id}/cancel", pb::ML_CANCEL_REQUEST, pb::ML_CANCEL_RESPONSE));
  node.add_api_route(apps::api_route<pb::MlJobsRequest, pb::MlJobsResponse>("GET", "/ml/models", pb::ML_JOBS_REQUEST,
                                                                            pb::ML_JOBS_RESPONSE));
  node.add_api_route(apps::api_route<pb::MlJobRequest, pb::MlJobResponse>("GET", "/ml/models/{id}", pb::ML_JOB_REQUEST,
                                                                          pb::ML_JOB_RESPONSE));
  node.add_api_route(apps::api_route<pb::MlPredictRequest, pb::MlPredictResponse>(
      "POST", "/ml/models/{id}/predict", pb::ML_PREDICT_REQUEST, pb::ML_PREDICT_RESPONSE));
  node.add_api_route(apps::api_route<pb::MlJobRequest, pb::MlRemoveResponse>(
      "DELETE", "/ml/models/{id}", pb::ML_REMOVE_REQUEST, pb::ML_REMOVE_RESPONSE));
  node.add_api_route(apps::api_route<pb::MlSampleRequest, pb::MlSampleResponse>(
      "GET", "/ml/samples", pb::ML_SAMPLE_REQUEST, pb::ML_SAMPLE_RESPONSE));
  driver_ = std::thread([this] { drive_loop(); });
  return ok_status();
}

MlApp::~MlApp() { halt(); }

void MlApp::halt() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (driver_.joinable()) driver_.join();
  if (pool_) pool_->shutdown();
  if (work_pool_) work_pool_->shutdown();
}

void MlApp::stop() {
  halt();
  log::info("ml_stop", "success", {{"models", std::to_string(state_.count())}});
}

client::ClientOptions MlApp::cluster_options() const {
  client::ClientOptions o;
  std::string self, others;
  for (const auto& m : log_->members()) {
    if (m.client_address.empty()) continue;
    if (m.id == node_->node_id()) {
      self = m.client_address;
    } else {
      others += (others.empty() ? "" : ",") + m.client_address;
    }
  }
  o.server = self.empty() ? others : (others.empty() ? self : self + "," + others);
  o.timeout_seconds = 20;
  return o;
}

Result<pb::MlApplied> MlApp::propose_wait(const pb::MlCommand& command) {
  auto done = std::make_shared<std::promise<Result<std::string>>>();
  auto future = done->get_future();
  log_->propose("ml", command.SerializeAsString(),
                [done](Result<std::string> res) { done->set_value(std::move(res)); });
  if (future.wait_for(std::chrono::seconds(30)) != std::future_status::ready) {
    return Error{Errc::timeout, "the log did not answer within 30 s"};
  }
  auto res = future.get();
  if (!res.ok()) return res.error();
  pb::MlApplied applied;
  if (!applied.ParseFromString(res.value())) return Error{Errc::internal, "the applied ML command has no result"};
  return applied;
}

// ---- requests

void MlApp::on_train(std::string_view body, const apps::ResponderPtr& r) {
  pb::MlTrainRequest req;
  if (!decode(body, req, r, "MlTrainRequest")) return;
  apply_defaults(req);
  if (auto st = validate(req); !st.ok()) {
    r->fail(st.error());
    return;
  }
  if (!pool_->try_submit([this, r, req] {
        // Every named file must exist now: a clear error at once rather than a failed job later.
        const auto options = cluster_options();
        const auto& d = req.data();
        for (const auto* name : {&d.train(), &d.train_labels(), &d.test(), &d.test_labels()}) {
          if (name->empty()) continue;
          auto e = files::stat(options, *name);
          if (!e.ok()) {
            r->fail(e.error().code,
                    e.error().code == Errc::not_found ? "no file " + *name + " in the cluster" : e.error().message);
            return;
          }
        }
        pb::MlCommand cmd;
        cmd.set_now_ms(now_ms());
        *cmd.mutable_create() = req;
        auto applied = propose_wait(cmd);
        if (!applied.ok()) {
          r->fail(applied.error());
          return;
        }
        log::info("ml_job", "in_progress",
                  {{"id", id_text(applied->job().id())}, {"name", req.name()}, {"state", "queued"}});
        wake_.notify_all();
        pb::MlJobResponse resp;
        *resp.mutable_job() = applied->job();
        r->reply(pb::ML_TRAIN_RESPONSE, resp);
      })) {
    r->fail(Errc::busy, "too many ML requests in progress");
  }
}

void MlApp::on_jobs(std::string_view body, const apps::ResponderPtr& r) {
  pb::MlJobsRequest req;
  if (!decode(body, req, r, "MlJobsRequest")) return;
  log_->read_barrier([this, r](Status st) {
    if (!st.ok()) {
      r->fail(st.error());
      return;
    }
    pb::MlJobsResponse resp;
    for (auto& job : state_.jobs()) *resp.add_jobs() = std::move(job);
    r->reply(pb::ML_JOBS_RESPONSE, resp);
  });
}

void MlApp::on_job(std::string_view body, const apps::ResponderPtr& r) {
  pb::MlJobRequest req;
  if (!decode(body, req, r, "MlJobRequest")) return;
  log_->read_barrier([this, r, id = req.id()](Status st) {
    if (!st.ok()) {
      r->fail(st.error());
      return;
    }
    auto job = state_.find(id);
    if (!job) {
      r->fail(Errc::not_found, "no model " + id_text(id));
      return;
    }
    pb::MlJobResponse resp;
    *resp.mutable_job() = std::move(*job);
    r->reply(pb::ML_JOB_RESPONSE, resp);
  });
}

void MlApp::propose_job_command(pb::MlCommand cmd, std::uint64_t id, std::string_view what,
                                std::string_view refusal_prefix, const apps::ResponderPtr& r,
                                std::function<void(const pb::MlApplied&)> done) {
  cmd.set_now_ms(now_ms());
  log_->propose("ml", cmd.SerializeAsString(),
                [r, id, what = std::string(what), prefix = std::string(refusal_prefix),
                 done = std::move(done)](Result<std::string> res) {
                  if (!res.ok()) {
                    r->fail(res.error());
                    return;
                  }
                  pb::MlApplied applied;
                  if (!applied.ParseFromString(res.value())) {
                    r->fail(Errc::internal, "the applied " + what + " has no result");
                    return;
                  }
                  if (applied.not_found()) {
                    r->fail(Errc::not_found, "no model " + id_text(id));
                    return;
                  }
                  if (!applied.refused().empty()) {
                    r->fail(Errc::invalid_argument, prefix + applied.refused());
                    return;
                  }
                  done(applied);
                });
}

void MlApp::on_cancel(std::string_view body, const apps::ResponderPtr& r) {
  pb::MlJobRequest req;
  if (!decode(body, req, r, "MlJobRequest")) return;
  pb::MlCommand cmd;
  cmd.set_cancel(req.id());
  propose_job_command(std::move(cmd), req.id(), "cancel", "cannot cancel: ", r,
                      [this, r, id = req.id()](const pb::MlApplied& applied) {
                        log::info("ml_job", "success", {{"id", id_text(id)}, {"state", "cancelled"}});
                        wake_.notify_all();
                        pb::MlJobResponse resp;
                        *resp.mutable_job() = applied.job();
                        r->reply(pb::ML_CANCEL_RESPONSE, resp);
                      });
}

void MlApp::on_remove(std::string_view body, const apps::ResponderPtr& r) {
  pb::MlJobRequest req;
  if (!decode(body, req, r, "MlJobRequest")) return;
  pb::MlCommand cmd;
  cmd.set_remove(req.id());
  propose_job_command(
      std::move(cmd), req.id(), "remove", "", r, [this, r, id = req.id()](const pb::MlApplied& applied) {
        {
          std::lock_guard lock(models_mu_);
          models_.erase(id);
        }
        // The model's files go too (best effort: a name left behind is only space).
        const pb::MlJob job = applied.job();
        (void)pool_->try_submit([this, job] {
          const auto options = cluster_options();
          for (const auto* name : {&job.model_file(), &job.checkpoint()}) {
            if (name->empty()) continue;
            pb::FilesRemoveRequest rm;
            rm.set_name(*name);
            (void)client::call_cluster(options, pb::FILES_REMOVE_REQUEST, rm, pb::FILES_REMOVE_RESPONSE);
          }
        });
        log::info("ml_remove", "success", {{"id", id_text(id)}});
        pb::MlRemoveResponse resp;
        resp.set_index(applied.index());
        r->reply(pb::ML_REMOVE_RESPONSE, resp);
      });
}

Result<std::shared_ptr<const Model>> MlApp::model_of(const pb::MlJob& job) {
  {
    std::lock_guard lock(models_mu_);
    auto it = models_.find(job.id());
    if (it != models_.end()) return it->second;
  }
  auto bytes = files::get_bytes(cluster_options(), job.model_file());
  if (!bytes.ok()) return bytes.error();
  auto model = Model::deserialize(bytes.value());
  if (!model.ok()) return Error{model.error().code, job.model_file() + ": " + model.error().message};
  auto shared = std::make_shared<const Model>(std::move(model.value()));
  std::lock_guard lock(models_mu_);
  models_[job.id()] = shared;
  log::info("ml_load", "success", {{"id", id_text(job.id())}, {"file", job.model_file()}});
  return shared;
}

void MlApp::on_predict(std::string_view body, const apps::ResponderPtr& r) {
  pb::MlPredictRequest req;
  if (!decode(body, req, r, "MlPredictRequest")) return;
  if (req.rows_size() == 0) {
    r->fail(Errc::invalid_argument, "no input rows");
    return;
  }
  log_->read_barrier([this, r, req = std::move(req)](Status st) {
    if (!st.ok()) {
      r->fail(st.error());
      return;
    }
    auto job = state_.find(req.id());
    if (!job) {
      r->fail(Errc::not_found, "no model " + id_text(req.id()));
      return;
    }
    if (job->state() != pb::ML_READY) {
      const std::string what = "model " + id_text(req.id());
      switch (job->state()) {
        case pb::ML_FAILED:
          r->fail(Errc::not_found, what + " failed: " + job->error());
          break;
        case pb::ML_CANCELLED:
          r->fail(Errc::not_found, what + " is cancelled");
          break;
        default:
          r->fail(Errc::not_yet, what + " is still training (" + std::string(state_name(job->state())) + ", epoch " +
                                     std::to_string(job->epochs_size()) + " of " +
                                     std::to_string(job->hyper().epochs()) + ")");
      }
      return;
    }
    if (!pool_->try_submit([this, r, req, job = std::move(*job)] {
          auto model = model_of(job);
          if (!model.ok()) {
            r->fail(model.error());
            return;
          }
          const Model& m = *model.value();
          pb::MlPredictResponse resp;
          for (int i = 0; i < req.rows_size(); ++i) {
            const auto& values = req.rows(i).values();
            if (static_cast<std::size_t>(values.size()) != m.arch.inputs()) {
              r->fail(Errc::invalid_argument, "model " + id_text(job.id()) + " takes " +
                                                  std::to_string(m.arch.inputs()) + " features; row " +
                                                  std::to_string(i + 1) + " has " + std::to_string(values.size()));
              return;
            }
            const auto scores = softmax(m.predict(std::span<const float>(values.data(), values.size())));
            auto* p = resp.add_predictions();
            p->set_class_(static_cast<std::uint32_t>(std::max_element(scores.begin(), scores.end()) - scores.begin()));
            for (float s : scores) p->add_scores(s);
          }
          resp.set_node(node_->node_id());
          predictions_ += static_cast<std::uint64_t>(req.rows_size());
          r->reply(pb::ML_PREDICT_RESPONSE, resp);
        })) {
      r->fail(Errc::busy, "too many ML requests in progress");
    }
  });
}

// ---- training (the leader)

bool MlApp::should_stop(std::uint64_t id) const {
  {
    std::lock_guard lock(mu_);
    if (stopping_) return true;
  }
  if (!log_->leading()) return true;
  auto job = state_.find(id);
  return !job || finished(job->state());
}

void MlApp::drive_loop() {
  std::map<std::uint64_t, int> failures;  // consecutive retryable failures per job
  for (;;) {
    {
      std::unique_lock lock(mu_);
      wake_.wait_for(lock, std::chrono::milliseconds(200), [this] { return stopping_; });
      if (stopping_) return;
    }
    if (!log_->leading()) continue;
    const auto active = state_.active();
    if (active.empty()) continue;
    const pb::MlJob& job = active.front();
    driving_ = job.id();
    auto st = drive(job);
    driving_ = 0;
    if (st.ok()) {
      failures.erase(job.id());
      continue;
    }
    const int n = ++failures[job.id()];
    log::warn("ml_job", "fail",
              {{"id", id_text(job.id())}, {"reason", st.error().message}, {"attempt", std::to_string(n)}});
    if (n >= 5 && log_->leading()) {
      pb::MlCommand cmd;
      cmd.set_now_ms(now_ms());
      cmd.mutable_fail()->set_id(job.id());
      cmd.mutable_fail()->set_error(st.error().message);
      (void)propose_wait(cmd);
      failures.erase(job.id());
    } else {
      std::unique_lock lock(mu_);
      wake_.wait_for(lock, std::chrono::milliseconds(500 * n), [this] { return stopping_; });
    }
  }
}

namespace {

// A local copy of file `name` (cached by content under `dir`); its path.
Result<std::string> cached(const client::ClientOptions& options, const std::string& dir, const std::string& name) {
  auto entry = files::stat(options, name);
  if (!entry.ok()) {
    if (entry.error().code == Errc::not_found) return Error{Errc::not_found, "no file " + name + " in the cluster"};
    return entry.error();
  }
  const std::string path = dir + "/" + entry->sha256();
  std::error_code ec;
  if (fs::exists(path, ec)) return path;
  fs::create_directories(dir, ec);
  const std::string tmp = path + ".part";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    if (!out) return Error{Errc::internal, "cannot write " + tmp};
    pb::FileEntry got;
    auto st = files::get(
        options, name,
        [&](std::string_view d) {
          out.write(d.data(), static_cast<std::streamsize>(d.size()));
          return out ? ok_status() : Status(Error{Errc::internal, "cannot write " + tmp});
        },
        got);
    if (!st.ok()) return st.error();
  }
  fs::rename(tmp, path, ec);
  if (ec) return Error{Errc::internal, "cannot rename " + tmp + ": " + ec.message()};
  return path;
}

Result<Dataset> load(const client::ClientOptions& options, const std::string& dir, const pb::MlDataSpec& d, bool test) {
  const std::string& first = test ? d.test() : d.train();
  auto path = cached(options, dir, first);
  if (!path.ok()) return path.error();
  if (d.format() == "idx") {
    auto labels = cached(options, dir, test ? d.test_labels() : d.train_labels());
    if (!labels.ok()) return labels.error();
    auto data = load_idx(path.value(), labels.value(), 256);
    if (!data.ok()) return Error{data.error().code, first + ": " + data.error().message};
    return data;
  }
  auto text = read_whole(path.value());
  if (!text.ok()) return text.error();
  CsvOptions csv;
  csv.label_column = d.label_column();
  return parse_csv(text.value(), csv, first);
}

}  // namespace

// ---- one sample of a stored data set

void MlApp::on_sample(std::string_view body, const apps::ResponderPtr& r) {
  pb::MlSampleRequest req;
  if (!decode(body, req, r, "MlSampleRequest")) return;
  if (req.images().empty() == req.csv().empty()) {
    r->fail(Errc::invalid_argument, "name the data set: images (idx3-ubyte) or csv, one of them");
    return;
  }
  if (!req.csv().empty() && !req.labels().empty()) {
    r->fail(Errc::invalid_argument, "labels go with images; a csv file has its label column");
    return;
  }
  if (!pool_->try_submit([this, r, req] {
        auto s = sample(req);
        if (!s.ok()) {
          r->fail(s.error());
          return;
        }
        r->reply(pb::ML_SAMPLE_RESPONSE, s.value());
      })) {
    r->fail(Errc::busy, "too many ML requests in progress");
  }
}

Result<pb::MlSampleResponse> MlApp::sample(const pb::MlSampleRequest& req) {
  pb::MlSampleResponse out;
  if (!req.images().empty()) {
    auto images = file_bytes(req.images());
    if (!images.ok()) return images.error();
    std::shared_ptr<const std::string> labels;
    if (!req.labels().empty()) {
      auto l = file_bytes(req.labels());
      if (!l.ok()) return l.error();
      labels = l.value();
    }
    auto s = idx_sample(*images.value(), labels ? *labels : std::string(), req.index(), req.images(), req.labels());
    if (!s.ok()) return s.error();
    for (float v : s->values) out.add_values(v);
    out.set_label(s->label);
    out.set_rows(s->rows);
    out.set_cols(s->cols);
    out.set_count(s->count);
    return out;
  }
  auto text = file_bytes(req.csv());
  if (!text.ok()) return text.error();
  CsvOptions csv;
  csv.label_column = req.label_column();
  auto data = parse_csv(*text.value(), csv, req.csv());
  if (!data.ok()) return data.error();
  if (req.index() >= data->rows) {
    return Error{Errc::invalid_argument, "index " + std::to_string(req.index()) + " is out of range: " + req.csv() +
                                             " has " + std::to_string(data->rows) + " rows"};
  }
  const float* row = data->row(req.index());
  for (std::size_t i = 0; i < data->features; ++i) out.add_values(row[i]);
  out.set_label(static_cast<std::int32_t>(data->y[req.index()]));
  out.set_count(data->rows);
  return out;
}

Result<std::shared_ptr<const std::string>> MlApp::file_bytes(const std::string& name) {
  auto path = cached(cluster_options(), cache_dir_, name);
  if (!path.ok()) return path.error();
  {
    std::lock_guard lock(bytes_mu_);
    for (const auto& [p, bytes] : bytes_) {
      if (p == path.value()) return bytes;
    }
  }
  auto bytes = read_maybe_gzipped(path.value());
  if (!bytes.ok()) {
    std::string message = bytes.error().message;
    if (message.rfind(path.value(), 0) == 0) message = name + message.substr(path->size());
    return Error{bytes.error().code == Errc::not_found ? Errc::internal : bytes.error().code, message};
  }
  auto shared = std::make_shared<const std::string>(std::move(bytes.value()));
  std::lock_guard lock(bytes_mu_);
  bytes_.emplace_back(path.value(), shared);
  // An images file and its labels: what a page stepping through samples
  // asks for. Decoded IDX training images are 47 MB each, so no more.
  constexpr std::size_t kKeptFiles = 2;
  while (bytes_.size() > kKeptFiles) bytes_.pop_front();
  return shared;
}

Status MlApp::drive(const pb::MlJob& job) {
  const std::uint64_t id = job.id();
  const auto options = cluster_options();
  const bool resume = job.state() == pb::ML_RUNNING;
  auto fail = [&](const Error& e) -> Status {
    if (!permanent(e)) return e;
    pb::MlCommand cmd;
    cmd.set_now_ms(now_ms());
    cmd.mutable_fail()->set_id(id);
    cmd.mutable_fail()->set_error(e.message);
    auto applied = propose_wait(cmd);
    if (!applied.ok()) return applied.error();
    log::error("ml_job", "fail", {{"id", id_text(id)}, {"reason", e.message}});
    return ok_status();
  };

  auto train = load(options, cache_dir_, job.data(), false);
  if (!train.ok()) return fail(train.error());
  std::optional<Dataset> test;
  if (!job.data().test().empty()) {
    auto t = load(options, cache_dir_, job.data(), true);
    if (!t.ok()) return fail(t.error());
    if (t->features != train->features) {
      return fail(Error{Errc::invalid_argument, "the test data has " + std::to_string(t->features) +
                                                    " features, the training data " + std::to_string(train->features)});
    }
    test = std::move(t.value());
  }
  // The classes: the largest label of either set, plus one (IDX labels were read against 256).
  std::uint32_t classes = 0;
  for (auto y : train->y) classes = std::max(classes, y + 1);
  if (test) {
    for (auto y : test->y) classes = std::max(classes, y + 1);
  }
  classes = std::max<std::uint32_t>(classes, 2);
  train->classes = classes;
  if (test) test->classes = classes;

  Architecture arch;
  arch.layer_sizes.push_back(static_cast<std::uint32_t>(train->features));
  for (auto w : job.hyper().hidden()) arch.layer_sizes.push_back(w);
  arch.layer_sizes.push_back(classes);
  if (auto st = validate(arch); !st.ok()) return fail(st.error());
  if (job.architecture_size() > 0 && !std::equal(job.architecture().begin(), job.architecture().end(),
                                                 arch.layer_sizes.begin(), arch.layer_sizes.end())) {
    return fail(Error{Errc::invalid_argument, "the data no longer fit the job's architecture"});
  }

  // The weights: the last checkpoint's, or fresh ones from the job's seed.
  std::uint32_t done = 0;
  std::optional<Model> model;
  pb::MlCheckpoint resumed;  // where in epoch done + 1 the checkpoint is, its figures and optimizer state
  if (!job.checkpoint().empty()) {
    auto bytes = files::get_bytes(options, job.checkpoint());
    if (!bytes.ok()) return bytes.error();  // retried: the checkpoint is there, its replicas may be coming back
    // Version 1 was the bare model bytes (magic MGML); version 2 an MlCheckpoint.
    if (bytes->rfind("MGML", 0) == 0) {
      resumed.set_model(bytes.value());
      resumed.set_epochs_done(job.checkpoint_epoch());
    } else if (!resumed.ParseFromString(bytes.value()) || resumed.version() != 2) {
      return fail(Error{Errc::invalid_argument, job.checkpoint() + ": not a checkpoint of version 1 or 2"});
    }
    auto m = Model::deserialize(resumed.model());
    if (!m.ok()) return fail(Error{m.error().code, job.checkpoint() + ": " + m.error().message});
    if (!(m->arch == arch)) return fail(Error{Errc::invalid_argument, job.checkpoint() + ": another architecture"});
    model = std::move(m.value());
    done = resumed.epochs_done();
  } else {
    Random rng(job.hyper().seed());
    model = Model::he_init(arch, rng);
  }

  pb::MlCommand start;
  start.set_now_ms(now_ms());
  start.mutable_start()->set_id(id);
  for (const auto& m : log_->members()) {
    if (!m.client_address.empty()) start.mutable_start()->add_workers(m.id);
  }
  for (auto v : arch.layer_sizes) start.mutable_start()->add_architecture(v);
  start.mutable_start()->set_resume(resume);
  auto started = propose_wait(start);
  if (!started.ok()) return started.error();
  if (!started->refused().empty()) return ok_status();  // cancelled meanwhile
  if (resume) {
    log::info("ml_resume", "success",
              {{"id", id_text(id)},
               {"from_epoch", std::to_string(done)},
               {"from_row", std::to_string(resumed.position())},
               {"optimizer_state", resumed.has_optimizer() ? "restored" : "none"},
               {"checkpoint", job.checkpoint()}});
  } else {
    log::info("ml_job", "in_progress",
              {{"id", id_text(id)},
               {"state", "running"},
               {"rows", std::to_string(train->rows)},
               {"threads", std::to_string(threads_)}});
  }

  const TrainConfig config = config_of(job.hyper(), threads_);
  Model current = std::move(*model);
  if (current.serialize().size() > kMaxRoundModelBytes) {
    return fail(Error{Errc::invalid_argument, "a model of " + std::to_string(arch.parameter_count()) +
                                                  " parameters is above what a round carries (" +
                                                  std::to_string(kMaxRoundModelBytes / 4) + " floats)"});
  }
  Trainer evaluator(current, config);  // evaluates the averaged weights
  std::string previous = job.checkpoint();
  const Dataset train_eval = head(train.value(), 10000);
  const std::uint64_t rows_per_round = static_cast<std::uint64_t>(config.batch_size) * job.hyper().sync_every();
  std::vector<double> round_seconds;  // the recent rounds' durations
  bool first_round = true;
  // The optimizer state goes with a checkpoint when the members' states fit a round's answer.
  const std::size_t state_floats = arch.parameter_count() * (config.optimizer == Optimizer::adam ? 3 : 2);
  const bool state_fits = state_floats * sizeof(float) + (64u << 10) <= wire::kDefaultMaxBodyBytes;
  std::optional<pb::MlOptimizerState> give_state;  // to the members in the first round after a resume
  if (resumed.has_optimizer()) give_state = resumed.optimizer();
  auto last_checkpoint = Clock::now();

  for (std::uint32_t epoch = done + 1; epoch <= job.hyper().epochs(); ++epoch) {
    const auto t0 = Clock::now();
    // A checkpoint inside this epoch: go on from its position with its figures.
    const bool inside = epoch == done + 1 && resumed.position() > 0;
    const std::uint64_t from = inside ? std::min<std::uint64_t>(resumed.position(), train->rows) : 0;
    const double seconds_before = inside ? resumed.seconds() : 0;
    // Every member with a client address works; one that fails or misses a
    // round's deadline is out for the rest of the epoch and its rows go back
    // to the queue. The next epoch asks every member again.
    std::vector<apps::Member> workers;
    for (const auto& m : log_->members()) {
      if (!m.client_address.empty()) workers.push_back(m);
    }
    std::vector<bool> out(workers.size(), false);
    std::set<std::string> used;
    std::string failures;
    std::deque<std::pair<std::uint64_t, std::uint64_t>> todo;
    for (std::uint64_t b = from; b < train->rows; b += rows_per_round) {
      todo.emplace_back(b, std::min<std::uint64_t>(train->rows, b + rows_per_round));
    }
    double loss_sum = inside ? resumed.loss_sum() : 0;
    std::uint64_t steps = inside ? resumed.steps() : 0;
    std::uint32_t rounds = inside ? resumed.rounds() : 0;
    double in_rounds = inside ? resumed.round_seconds() : 0, in_training = inside ? resumed.train_seconds() : 0;
    if (inside) used.insert(resumed.workers().begin(), resumed.workers().end());
    std::optional<pb::MlOptimizerState> round_state;  // the averaged state after the last round, if asked for
    while (!todo.empty()) {
      if (should_stop(id)) return ok_status();
      std::vector<std::size_t> live;
      for (std::size_t i = 0; i < workers.size(); ++i) {
        if (!out[i]) live.push_back(i);
      }
      if (live.empty()) {
        return fail(Error{Errc::no_worker, "no worker left in epoch " + std::to_string(epoch) + " (" +
                                               (failures.empty() ? "no member has a client address" : failures) + ")"});
      }
      // The deadline: generous for a job's first round (the members read
      // the data set), then ten times the recent median round.
      double deadline_s = 60;
      if (!first_round && !round_seconds.empty()) {
        std::vector<double> sorted = round_seconds;
        std::sort(sorted.begin(), sorted.end());
        deadline_s = std::clamp(10 * sorted[sorted.size() / 2], 5.0, 120.0);
      }
      const auto deadline = std::chrono::milliseconds(static_cast<std::int64_t>(deadline_s * 1000));
      // A checkpoint after this round: the epoch's last round (if no member
      // fails), or ml.checkpoint_seconds since the last one.
      const bool last_round = todo.size() <= live.size();
      const bool mid_due = !last_round && Clock::now() - last_checkpoint >= std::chrono::seconds(checkpoint_seconds_);
      const bool want_state = state_fits && (last_round || mid_due);
      round_state.reset();
      pb::MlRoundRequest base;
      base.set_id(id);
      *base.mutable_data() = job.data();
      *base.mutable_hyper() = job.hyper();
      base.set_model(current.serialize());
      base.set_epoch(epoch);
      base.set_want_optimizer(want_state);
      if (give_state) *base.mutable_optimizer() = *give_state;
      give_state.reset();
      struct Part {
        std::size_t worker;
        std::pair<std::uint64_t, std::uint64_t> rows;
        Result<pb::MlRoundResponse> answer = Error{Errc::internal, "not run"};
      };
      std::vector<Part> parts;
      for (std::size_t k = 0; k < live.size() && !todo.empty(); ++k) {
        parts.push_back(Part{live[k], todo.front()});
        todo.pop_front();
      }
      const auto r0 = Clock::now();
      std::vector<std::thread> calls;
      for (auto& part : parts) {
        calls.emplace_back([&, &part = part] {
          pb::MlRoundRequest req = base;
          req.set_begin(part.rows.first);
          req.set_end(part.rows.second);
          auto ep = net::parse_endpoint(workers[part.worker].client_address);
          if (!ep.ok()) {
            part.answer = ep.error();
            return;
          }
          auto c = net::Client::connect(ep.value(), std::min(deadline, net::Client::Millis(2000)));
          if (!c.ok()) {
            part.answer = c.error();
            return;
          }
          part.answer = c->call<pb::MlRoundResponse>(pb::ML_ROUND_REQUEST, req, pb::ML_ROUND_RESPONSE, deadline);
        });
      }
      for (auto& t : calls) t.join();
      first_round = false;
      ++rounds;
      round_seconds.push_back(std::chrono::duration<double>(Clock::now() - r0).count());
      in_rounds += round_seconds.back();
      double slowest = 0;
      for (const auto& part : parts) {
        if (part.answer.ok()) slowest = std::max(slowest, part.answer->train_seconds());
      }
      in_training += slowest;
      if (round_seconds.size() > 20) round_seconds.erase(round_seconds.begin());
      // The rows-weighted mean of the weights (and optimizer states) that came back.
      std::vector<double> sum(current.parameters.size(), 0.0);
      std::vector<double> sum_m1, sum_m2;
      double sum_steps = 0;
      bool states = want_state;
      std::uint64_t rows_done = 0;
      for (auto& part : parts) {
        const std::string& who = workers[part.worker].id;
        Result<Model> got =
            part.answer.ok() ? Model::deserialize(part.answer->model()) : Result<Model>(part.answer.error());
        if (got.ok() && !(got->arch == current.arch)) got = Error{Errc::internal, "another architecture"};
        if (!got.ok()) {
          // A member that cannot read the data fails the job; one that is down or late is out.
          if (!part.answer.ok() && part.answer.error().code == Errc::invalid_argument) {
            return fail(Error{Errc::invalid_argument, who + ": " + got.error().message});
          }
          out[part.worker] = true;
          todo.push_front(part.rows);
          failures += (failures.empty() ? "" : "; ") + who + ": " + got.error().message;
          log::warn("ml_worker", "fail",
                    {{"id", id_text(id)},
                     {"worker", who},
                     {"epoch", std::to_string(epoch)},
                     {"reason", got.error().message},
                     {"rows_reassigned", std::to_string(part.rows.second - part.rows.first)}});
          continue;
        }
        const double w = static_cast<double>(part.answer->rows());
        for (std::size_t i = 0; i < sum.size(); ++i) sum[i] += w * got->parameters[i];
        if (states) {
          const auto& st = part.answer->optimizer();
          const std::size_t n = current.parameters.size();
          const std::size_t n2 = config.optimizer == Optimizer::adam ? n : 0;
          if (st.m1().size() != n * sizeof(float) || st.m2().size() != n2 * sizeof(float)) {
            states = false;
          } else {
            const auto m1 = bytes_floats(st.m1()), m2 = bytes_floats(st.m2());
            sum_m1.resize(n, 0.0);
            sum_m2.resize(n2, 0.0);
            for (std::size_t i = 0; i < n; ++i) sum_m1[i] += w * m1[i];
            for (std::size_t i = 0; i < n2; ++i) sum_m2[i] += w * m2[i];
            sum_steps += w * static_cast<double>(st.steps());
          }
        }
        rows_done += part.answer->rows();
        loss_sum += part.answer->loss_sum();
        steps += part.answer->steps();
        used.insert(who);
      }
      if (rows_done > 0) {
        const double total = static_cast<double>(rows_done);
        for (std::size_t i = 0; i < sum.size(); ++i) current.parameters[i] = static_cast<float>(sum[i] / total);
        if (states) {
          OptimizerState avg;
          avg.m1.resize(sum_m1.size());
          avg.m2.resize(sum_m2.size());
          for (std::size_t i = 0; i < sum_m1.size(); ++i) avg.m1[i] = static_cast<float>(sum_m1[i] / total);
          for (std::size_t i = 0; i < sum_m2.size(); ++i) avg.m2[i] = static_cast<float>(sum_m2[i] / total);
          avg.steps = static_cast<std::uint64_t>(std::llround(sum_steps / total));
          round_state = state_proto(avg);
        }
      }
      // The mid-epoch checkpoint, when the rows done are a prefix of the
      // epoch's order (no reassigned piece waits): the rest are whole pieces.
      const std::uint64_t position = todo.empty() ? train->rows : todo.front().first;
      const bool prefix =
          !todo.empty() && todo.size() == (train->rows - position + rows_per_round - 1) / rows_per_round;
      if (mid_due && prefix && rows_done > 0) {
        if (should_stop(id)) return ok_status();
        pb::MlCheckpoint ck;
        ck.set_version(2);
        ck.set_model(current.serialize());
        ck.set_epochs_done(epoch - 1);
        ck.set_position(position);
        ck.set_loss_sum(loss_sum);
        ck.set_steps(steps);
        ck.set_rounds(rounds);
        ck.set_round_seconds(in_rounds);
        ck.set_train_seconds(in_training);
        ck.set_seconds(seconds_before + std::chrono::duration<double>(Clock::now() - t0).count());
        for (const auto& w : used) ck.add_workers(w);
        if (round_state) *ck.mutable_optimizer() = *round_state;
        const std::string name = checkpoint_name(id, epoch) + "-" + std::to_string(position);
        auto put = files::put_bytes(options, ck.SerializeAsString(), name);
        if (!put.ok()) return put.error();
        pb::MlCommand progress;
        progress.set_now_ms(now_ms());
        progress.mutable_progress()->set_id(id);
        progress.mutable_progress()->set_checkpoint(name);
        progress.mutable_progress()->set_at_epoch(epoch);
        progress.mutable_progress()->set_position(position);
        auto applied = propose_wait(progress);
        if (!applied.ok()) return applied.error();
        if (!applied->refused().empty()) {
          log::warn("ml_checkpoint", "fail", {{"id", id_text(id)}, {"reason", applied->refused()}});
          return ok_status();
        }
        log::info("ml_checkpoint", "success",
                  {{"id", id_text(id)},
                   {"epoch", std::to_string(epoch - 1)},
                   {"position", std::to_string(position)},
                   {"optimizer_state", round_state ? "yes" : "no"},
                   {"file", name}});
        if (!previous.empty()) {
          pb::FilesRemoveRequest rm;
          rm.set_name(previous);
          (void)client::call_cluster(options, pb::FILES_REMOVE_REQUEST, rm, pb::FILES_REMOVE_RESPONSE);
        }
        previous = name;
        last_checkpoint = Clock::now();
      }
    }
    if (auto st = evaluator.set_parameters(current.parameters); !st.ok()) return st.error();
    pb::MlEpoch e;
    e.set_epoch(epoch);
    e.set_loss(steps == 0 ? 0 : loss_sum / static_cast<double>(steps));
    e.set_train_accuracy(evaluator.evaluate(train_eval).accuracy);
    e.set_test_accuracy(test ? evaluator.evaluate(*test).accuracy : -1);
    e.set_seconds(seconds_before + std::chrono::duration<double>(Clock::now() - t0).count());
    e.set_rounds(rounds);
    e.set_round_seconds(in_rounds);
    e.set_train_seconds(in_training);
    if (should_stop(id)) return ok_status();
    const std::string name = checkpoint_name(id, epoch);
    pb::MlCheckpoint ck;
    ck.set_version(2);
    ck.set_model(current.serialize());
    ck.set_epochs_done(epoch);
    for (const auto& w : used) ck.add_workers(w);
    if (round_state) *ck.mutable_optimizer() = *round_state;
    auto put = files::put_bytes(options, ck.SerializeAsString(), name);
    if (!put.ok()) return put.error();
    pb::MlCommand progress;
    progress.set_now_ms(now_ms());
    progress.mutable_progress()->set_id(id);
    *progress.mutable_progress()->mutable_epoch() = e;
    progress.mutable_progress()->set_checkpoint(name);
    for (const auto& w : used) progress.mutable_progress()->add_workers(w);
    auto applied = propose_wait(progress);
    if (!applied.ok()) return applied.error();
    if (!applied->refused().empty()) {
      log::warn("ml_checkpoint", "fail", {{"id", id_text(id)}, {"reason", applied->refused()}});
      return ok_status();  // another leader, or a cancel, has the job now
    }
    std::string used_text;
    for (const auto& w : used) used_text += (used_text.empty() ? "" : ",") + w;
    log::info("ml_checkpoint", "success",
              {{"id", id_text(id)},
               {"epoch", std::to_string(epoch)},
               {"loss", std::to_string(e.loss())},
               {"test_accuracy", std::to_string(e.test_accuracy())},
               {"workers", used_text},
               {"rounds", std::to_string(rounds)},
               {"optimizer_state", round_state ? "yes" : "no"},
               {"file", name}});
    if (!previous.empty()) {
      pb::FilesRemoveRequest rm;
      rm.set_name(previous);
      (void)client::call_cluster(options, pb::FILES_REMOVE_REQUEST, rm, pb::FILES_REMOVE_RESPONSE);
    }
    previous = name;
    last_checkpoint = Clock::now();
  }

  if (should_stop(id)) return ok_status();
  const std::string model_name = "ml/" + id_text(id) + "/model";
  const std::string bytes = current.serialize();
  auto put = files::put_bytes(options, bytes, model_name);
  if (!put.ok()) return put.error();
  pb::MlCommand finish;
  finish.set_now_ms(now_ms());
  finish.mutable_finish()->set_id(id);
  finish.mutable_finish()->set_model_file(model_name);
  finish.mutable_finish()->set_model_size(bytes.size());
  auto applied = propose_wait(finish);
  if (!applied.ok()) return applied.error();
  if (applied->refused().empty()) {
    const auto& j = applied->job();
    log::info("ml_job", "success",
              {{"id", id_text(id)},
               {"state", "ready"},
               {"epochs", std::to_string(j.epochs_size())},
               {"resumes", std::to_string(j.resumes())},
               {"model", model_name}});
  }
  return ok_status();
}

// ---- a member's part of a round

void MlApp::on_round(std::string_view body, const apps::ResponderPtr& r) {
  pb::MlRoundRequest req;
  if (!decode(body, req, r, "MlRoundRequest")) return;
  if (!work_pool_->try_submit([this, r, req = std::move(req)] {
        auto resp = run_round(req);
        if (!resp.ok()) {
          r->fail(resp.error());
          return;
        }
        r->reply(pb::ML_ROUND_RESPONSE, resp.value());
      })) {
    r->fail(Errc::busy, "this member is training other rounds");
  }
}

Result<pb::MlRoundResponse> MlApp::run_round(const pb::MlRoundRequest& req) {
  auto model = Model::deserialize(req.model());
  if (!model.ok()) return model.error();
  std::lock_guard lock(work_mu_);
  if (work_job_ != req.id() || !work_data_) {
    work_trainer_.reset();
    work_data_.reset();
    auto data = load(cluster_options(), cache_dir_, req.data(), false);
    if (!data.ok()) return data.error();
    work_data_ = std::make_unique<Dataset>(std::move(data.value()));
    work_job_ = req.id();
    log::info(
        "ml_worker", "in_progress",
        {{"id", id_text(req.id())}, {"rows", std::to_string(work_data_->rows)}, {"threads", std::to_string(threads_)}});
  }
  if (work_data_->features != model->arch.inputs()) {
    return Error{Errc::invalid_argument, "the data have " + std::to_string(work_data_->features) +
                                             " features, the model takes " + std::to_string(model->arch.inputs())};
  }
  work_data_->classes = static_cast<std::uint32_t>(model->arch.classes());
  if (!work_trainer_ || !(work_trainer_->model().arch == model->arch)) {
    work_trainer_ = std::make_unique<Trainer>(std::move(model.value()), config_of(req.hyper(), threads_));
  } else if (auto st = work_trainer_->set_parameters(model->parameters); !st.ok()) {
    return st.error();
  }
  if (req.has_optimizer()) {
    if (auto st = work_trainer_->set_optimizer_state(state_of(req.optimizer())); !st.ok()) {
      return Error{Errc::internal, "the round's optimizer state: " + st.error().message};
    }
  }
  const auto order = epoch_order(work_data_->rows, req.hyper().seed(), req.epoch());
  if (req.begin() >= req.end() || req.end() > order.size()) {
    return Error{Errc::invalid_argument, "rows [" + std::to_string(req.begin()) + ", " + std::to_string(req.end()) +
                                             ") are not in the data's " + std::to_string(order.size())};
  }
  const auto t0 = Clock::now();
  const auto stats = work_trainer_->train_rows(
      *work_data_, std::span<const std::uint32_t>(order.data() + req.begin(), req.end() - req.begin()));
  pb::MlRoundResponse resp;
  resp.set_model(work_trainer_->model().serialize());
  resp.set_loss_sum(stats.mean_loss * static_cast<double>(stats.steps));
  resp.set_steps(stats.steps);
  resp.set_rows(req.end() - req.begin());
  resp.set_node(node_->node_id());
  resp.set_train_seconds(std::chrono::duration<double>(Clock::now() - t0).count());
  if (req.want_optimizer()) *resp.mutable_optimizer() = state_proto(work_trainer_->optimizer_state());
  return resp;
}

}  // namespace minga::ml
