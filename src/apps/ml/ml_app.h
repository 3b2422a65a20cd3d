// ML: neural networks trained and served on the cluster (docs/ml.md,
// docs/adr/009-ml-on-the-cluster.md). The job table and model registry are
// replicated state (MlState); the data sets, checkpoints and models are
// files of the files app, read and written over the client protocol.
//
// Threads: frame handlers run on I/O threads and only decode, check and
// propose; whatever waits on files (a train request's file checks, a
// prediction's model load, a removal's file clean-up) runs on the app's
// small pool. One driver thread drives training on the leader only, one
// job at a time, in averaging rounds over every member (each member trains
// its round on work_pool_), checkpointing each epoch; a new leader resumes
// a running job from its last checkpoint.
#pragma once

#include <atomic>
#include <condition_variable>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <thread>

#include "apps/api/app.h"
#include "apps/ml/ml_state.h"
#include "apps/ml/model.h"
#include "apps/ml/trainer.h"
#include "base/thread_pool.h"
#include "client/options.h"

namespace minga::ml {

class MlApp final : public apps::App {
 public:
  ~MlApp() override;
  std::string_view name() const override { return "ml"; }
  Status start(apps::NodeServices& node) override;
  void stop() override;

 private:
  void on_train(std::string_view body, const apps::ResponderPtr& r);
  void on_jobs(std::string_view body, const apps::ResponderPtr& r);
  void on_job(std::string_view body, const apps::ResponderPtr& r);
  void on_cancel(std::string_view body, const apps::ResponderPtr& r);
  void on_remove(std::string_view body, const apps::ResponderPtr& r);
  // Proposes a command about job `id` (cancel, remove) and answers what they
  // share: a failed proposal, `no model ID`, a refusal (after
  // `refusal_prefix`); `done` gets the applied result.
  void propose_job_command(pb::MlCommand cmd, std::uint64_t id, std::string_view what, std::string_view refusal_prefix,
                           const apps::ResponderPtr& r, std::function<void(const pb::MlApplied&)> done);
  void on_predict(std::string_view body, const apps::ResponderPtr& r);
  // One sample of a stored data set (on pool_).
  void on_sample(std::string_view body, const apps::ResponderPtr& r);
  Result<pb::MlSampleResponse> sample(const pb::MlSampleRequest& req);
  // A stored file's bytes, gunzipped, from the cache directory; the last few
  // are kept in memory (a page steps through the images of one file).
  Result<std::shared_ptr<const std::string>> file_bytes(const std::string& name);
  // A member's part of an averaging round (on work_pool_).
  void on_round(std::string_view body, const apps::ResponderPtr& r);
  Result<pb::MlRoundResponse> run_round(const pb::MlRoundRequest& request);

  // Client options that reach the cluster from here: this node first, then
  // the other members.
  client::ClientOptions cluster_options() const;
  // Proposes and waits (driver thread); the applied MlApplied.
  Result<pb::MlApplied> propose_wait(const pb::MlCommand& command);
  // The model `id` from this node's memory, loaded from its file on first use.
  Result<std::shared_ptr<const Model>> model_of(const pb::MlJob& job);

  // Stops the driver thread and the pools; idempotent (a node whose start
  // fails after this app started destroys it without stop()).
  void halt();
  void drive_loop();
  // Trains `job` until it ends or this node stops leading. Returns an error
  // only for a failure worth retrying (files or log unreachable for now).
  Status drive(const pb::MlJob& job);
  bool should_stop(std::uint64_t id) const;

  apps::NodeServices* node_ = nullptr;
  apps::Replication* log_ = nullptr;
  MlState state_;
  std::unique_ptr<ThreadPool> pool_;
  unsigned threads_ = 1;
  std::int64_t checkpoint_seconds_ = 10;  // ml.checkpoint_seconds: the most time between two checkpoints
  std::string cache_dir_;

  // This member's worker side: the data set and trainer of the job it
  // last trained a round of (the trainer keeps its optimizer state from
  // round to round).
  std::unique_ptr<ThreadPool> work_pool_;
  std::mutex work_mu_;
  std::uint64_t work_job_ = 0;
  std::unique_ptr<Dataset> work_data_;
  std::unique_ptr<Trainer> work_trainer_;

  std::mutex bytes_mu_;
  std::deque<std::pair<std::string, std::shared_ptr<const std::string>>> bytes_;  // by cache path, newest last

  std::mutex models_mu_;
  std::map<std::uint64_t, std::shared_ptr<const Model>> models_;

  mutable std::mutex mu_;
  std::condition_variable wake_;
  bool stopping_ = false;
  std::atomic<std::uint64_t> driving_{0};  // the job this node trains now (0: none)
  std::atomic<std::uint64_t> predictions_{0};
  std::thread driver_;
};

}  // namespace minga::ml
