#include "apps/ml/ml_state.h"

#include "apps/files/names.h"

namespace minga::ml {

void apply_defaults(pb::MlTrainRequest& r) {
  auto* d = r.mutable_data();
  if (d->format().empty()) d->set_format(d->train_labels().empty() ? "csv" : "idx");
  auto* h = r.mutable_hyper();
  if (h->hidden_size() == 0) {
    h->add_hidden(256);
    h->add_hidden(128);
  }
  if (h->epochs() == 0) h->set_epochs(5);
  if (h->batch() == 0) h->set_batch(64);
  if (h->learning_rate() == 0.0f) h->set_learning_rate(0.001f);
  if (h->optimizer().empty()) h->set_optimizer("adam");
  if (h->sync_every() == 0) h->set_sync_every(16);
  if (h->seed() == 0) h->set_seed(1);
}

Status validate(const pb::MlTrainRequest& r) {
  auto bad = [](std::string m) { return Error{Errc::invalid_argument, std::move(m)}; };
  if (r.name().size() > 200) return bad("a model name is at most 200 bytes");
  for (char c : r.name()) {
    if (c == '\n' || c == '\r' || c == '\0') return bad("a model name is one line of text");
  }
  const auto& d = r.data();
  if (d.format() != "csv" && d.format() != "idx") return bad("the data format must be csv or idx");
  if (d.train().empty()) return bad("no training data");
  auto check = [&](const std::string& name) -> Status {
    if (name.empty()) return ok_status();
    return files::validate_name(name);
  };
  for (const auto* n : {&d.train(), &d.train_labels(), &d.test(), &d.test_labels()}) {
    if (auto st = check(*n); !st.ok()) return st;
  }
  if (d.format() == "idx") {
    if (d.train_labels().empty()) return bad("idx data needs a labels file");
    if (d.test().empty() != d.test_labels().empty()) return bad("idx test data needs both images and labels");
  }
  const auto& h = r.hyper();
  if (h.hidden_size() > 16) return bad("at most 16 hidden layers");
  for (auto w : h.hidden()) {
    if (w < 1 || w > 4096) return bad("a hidden layer has 1 to 4096 units, not " + std::to_string(w));
  }
  if (h.epochs() < 1 || h.epochs() > 1000) return bad("epochs must be 1 to 1000");
  if (h.batch() < 1 || h.batch() > 65536) return bad("batch must be 1 to 65536");
  if (!(h.learning_rate() > 0.0f) || !(h.learning_rate() <= 10.0f)) return bad("lr must be above 0 and at most 10");
  if (h.optimizer() != "adam" && h.optimizer() != "sgd") return bad("optimizer must be adam or sgd");
  if (h.sync_every() < 1 || h.sync_every() > 1000000) return bad("sync-every must be 1 to 1000000");
  return ok_status();
}

std::string_view state_name(pb::MlJobState state) {
  switch (state) {
    case pb::ML_QUEUED:
      return "queued";
    case pb::ML_RUNNING:
      return "running";
    case pb::ML_READY:
      return "ready";
    case pb::ML_FAILED:
      return "failed";
    case pb::ML_CANCELLED:
      return "cancelled";
    default:
      return "unknown";
  }
}

bool finished(pb::MlJobState s) { return s == pb::ML_READY || s == pb::ML_FAILED || s == pb::ML_CANCELLED; }

std::string MlState::apply(std::uint64_t index, std::string_view command) {
  pb::MlCommand cmd;
  pb::MlApplied out;
  if (!cmd.ParseFromArray(command.data(), static_cast<int>(command.size()))) {
    out.set_refused("the ML command does not decode");
  } else {
    std::lock_guard lock(mu_);
    out = apply_locked(index, cmd);
  }
  out.set_index(index);
  return out.SerializeAsString();
}

pb::MlApplied MlState::apply_locked(std::uint64_t index, const pb::MlCommand& cmd) {
  pb::MlApplied out;
  if (cmd.has_create()) {
    pb::MlJob job;
    job.set_id(next_id_++);
    job.set_name(cmd.create().name());
    *job.mutable_data() = cmd.create().data();
    *job.mutable_hyper() = cmd.create().hyper();
    job.set_state(pb::ML_QUEUED);
    job.set_created_ms(cmd.now_ms());
    job.set_updated_ms(cmd.now_ms());
    job.set_index(index);
    *out.mutable_job() = job;
    jobs_[job.id()] = std::move(job);
    return out;
  }
  std::uint64_t id = 0;
  switch (cmd.op_case()) {
    case pb::MlCommand::kStart:
      id = cmd.start().id();
      break;
    case pb::MlCommand::kProgress:
      id = cmd.progress().id();
      break;
    case pb::MlCommand::kFinish:
      id = cmd.finish().id();
      break;
    case pb::MlCommand::kFail:
      id = cmd.fail().id();
      break;
    case pb::MlCommand::kCancel:
      id = cmd.cancel();
      break;
    case pb::MlCommand::kRemove:
      id = cmd.remove();
      break;
    default:
      out.set_refused("an ML command without an operation");
      return out;
  }
  auto it = jobs_.find(id);
  if (it == jobs_.end()) {
    out.set_not_found(true);
    out.set_refused("no model " + std::to_string(id));
    return out;
  }
  pb::MlJob& job = it->second;
  if (cmd.op_case() == pb::MlCommand::kRemove) {
    if (!finished(job.state())) {
      out.set_refused("model " + std::to_string(id) + " is still training (" + std::string(state_name(job.state())) +
                      "); cancel it first");
      *out.mutable_job() = job;
      return out;
    }
    *out.mutable_job() = job;
    jobs_.erase(it);
    return out;
  }
  // Every other command changes a job that has not ended; a late report
  // from a leader that lost its job to a cancel is refused.
  if (finished(job.state())) {
    out.set_refused("model " + std::to_string(id) + " is " + std::string(state_name(job.state())));
    *out.mutable_job() = job;
    return out;
  }
  job.set_updated_ms(cmd.now_ms());
  switch (cmd.op_case()) {
    case pb::MlCommand::kStart: {
      const auto& s = cmd.start();
      job.set_state(pb::ML_RUNNING);
      job.clear_workers();
      for (const auto& w : s.workers()) job.add_workers(w);
      if (job.architecture_size() == 0) {
        for (auto v : s.architecture()) job.add_architecture(v);
      }
      if (s.resume()) job.set_resumes(job.resumes() + 1);
      break;
    }
    case pb::MlCommand::kProgress: {
      const auto& p = cmd.progress();
      if (!p.has_epoch()) {
        // A checkpoint inside the epoch in progress, further on than the last one.
        const auto next = static_cast<std::uint32_t>(job.epochs_size()) + 1;
        const bool same = job.checkpoint_epoch() + 1 == next;
        if (p.at_epoch() != next || p.checkpoint().empty() || p.position() == 0 ||
            (same && p.position() <= job.checkpoint_position())) {
          out.set_refused("a checkpoint of epoch " + std::to_string(p.at_epoch()) + " at row " +
                          std::to_string(p.position()) + " is not the next of model " + std::to_string(id));
          break;
        }
        job.set_checkpoint(p.checkpoint());
        job.set_checkpoint_epoch(next - 1);
        job.set_checkpoint_position(p.position());
        break;
      }
      // Epochs arrive in order; one that is not the next is a stale report.
      if (p.epoch().epoch() != static_cast<std::uint32_t>(job.epochs_size()) + 1) {
        out.set_refused("epoch " + std::to_string(p.epoch().epoch()) + " is not the next of model " +
                        std::to_string(id));
        break;
      }
      *job.add_epochs() = p.epoch();
      if (p.workers_size() > 0) {
        job.clear_workers();
        for (const auto& w : p.workers()) job.add_workers(w);
      }
      if (!p.checkpoint().empty()) {
        job.set_checkpoint(p.checkpoint());
        job.set_checkpoint_epoch(p.epoch().epoch());
        job.set_checkpoint_position(0);
      }
      break;
    }
    case pb::MlCommand::kFinish:
      job.set_state(pb::ML_READY);
      job.set_model_file(cmd.finish().model_file());
      job.set_model_size(cmd.finish().model_size());
      break;
    case pb::MlCommand::kFail:
      job.set_state(pb::ML_FAILED);
      job.set_error(cmd.fail().error());
      break;
    case pb::MlCommand::kCancel:
      job.set_state(pb::ML_CANCELLED);
      break;
    default:
      break;
  }
  *out.mutable_job() = job;
  return out;
}

std::string MlState::snapshot() {
  std::lock_guard lock(mu_);
  pb::MlSnapshot s;
  s.set_next_id(next_id_);
  for (const auto& [id, job] : jobs_) *s.add_jobs() = job;
  return s.SerializeAsString();
}

Status MlState::restore(std::string_view data) {
  pb::MlSnapshot s;
  if (!s.ParseFromArray(data.data(), static_cast<int>(data.size()))) {
    return Error{Errc::internal, "the ML snapshot does not decode"};
  }
  std::map<std::uint64_t, pb::MlJob> next;
  for (const auto& job : s.jobs()) {
    if (job.id() == 0 || job.id() >= std::max<std::uint64_t>(s.next_id(), 1)) {
      return Error{Errc::internal, "the ML snapshot has a job id at or above its next id"};
    }
    next[job.id()] = job;
  }
  std::lock_guard lock(mu_);
  next_id_ = std::max<std::uint64_t>(s.next_id(), 1);
  jobs_ = std::move(next);
  return ok_status();
}

std::optional<pb::MlJob> MlState::find(std::uint64_t id) const {
  std::lock_guard lock(mu_);
  auto it = jobs_.find(id);
  if (it == jobs_.end()) return std::nullopt;
  return it->second;
}

std::vector<pb::MlJob> MlState::jobs() const {
  std::lock_guard lock(mu_);
  std::vector<pb::MlJob> out;
  for (const auto& [id, job] : jobs_) out.push_back(job);
  return out;
}

std::vector<pb::MlJob> MlState::active() const {
  std::lock_guard lock(mu_);
  std::vector<pb::MlJob> out;
  for (const auto& [id, job] : jobs_) {
    if (!finished(job.state())) out.push_back(job);
  }
  return out;
}

std::uint64_t MlState::count() const {
  std::lock_guard lock(mu_);
  return jobs_.size();
}

}  // namespace minga::ml
