// The ML app's replicated state: the job table, which is also the model
// registry (a job's model has the job's id). Pure (no I/O, no clock): the
// times come in the commands. Applied on the node's apply thread, read from
// I/O threads and the app's own threads under its lock.
#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "apps/api/replicated.h"
#include "base/result.h"
#include "proto/ml.pb.h"

namespace minga::ml {

// Fills what a train request leaves out: format (idx when there is a
// labels file), hidden layers 256,128, 5 epochs, batch 64, lr 0.001, adam,
// sync-every 16 (docs/ml.md, the H table), seed 1.
void apply_defaults(pb::MlTrainRequest& request);

// Checks a train request before it is proposed: names, format, hyper-parameters.
Status validate(const pb::MlTrainRequest& request);

std::string_view state_name(pb::MlJobState state);
bool finished(pb::MlJobState state);  // ready, failed or cancelled

class MlState final : public apps::ReplicatedState {
 public:
  // The command is an encoded MlCommand; the result an encoded MlApplied.
  std::string apply(std::uint64_t index, std::string_view command) override;
  std::string snapshot() override;
  Status restore(std::string_view data) override;

  std::optional<pb::MlJob> find(std::uint64_t id) const;
  std::vector<pb::MlJob> jobs() const;  // in id order
  // Jobs that a leader should drive: queued or running, in id order.
  std::vector<pb::MlJob> active() const;
  std::uint64_t count() const;

 private:
  pb::MlApplied apply_locked(std::uint64_t index, const pb::MlCommand& cmd);

  mutable std::mutex mu_;
  std::uint64_t next_id_ = 1;
  std::map<std::uint64_t, pb::MlJob> jobs_;
};

}  // namespace minga::ml
