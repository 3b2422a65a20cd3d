// The ML app's replicated state: commands applied in log order give the job
// table and model registry; a snapshot restores it exactly.
#include "apps/ml/ml_state.h"

#include <gtest/gtest.h>

namespace minga::ml {
namespace {

pb::MlTrainRequest request(const std::string& name) {
  pb::MlTrainRequest r;
  r.set_name(name);
  r.mutable_data()->set_train("ml/data/train.csv");
  apply_defaults(r);
  return r;
}

pb::MlApplied run(MlState& s, std::uint64_t index, const pb::MlCommand& cmd) {
  pb::MlApplied out;
  EXPECT_TRUE(out.ParseFromString(s.apply(index, cmd.SerializeAsString())));
  EXPECT_EQ(out.index(), index);
  return out;
}

pb::MlCommand create(const std::string& name, std::int64_t now) {
  pb::MlCommand c;
  c.set_now_ms(now);
  *c.mutable_create() = request(name);
  return c;
}

pb::MlCommand start(std::uint64_t id, bool resume) {
  pb::MlCommand c;
  c.set_now_ms(2000);
  c.mutable_start()->set_id(id);
  c.mutable_start()->add_workers("n1");
  for (std::uint32_t v : {4u, 256u, 128u, 3u}) c.mutable_start()->add_architecture(v);
  c.mutable_start()->set_resume(resume);
  return c;
}

pb::MlCommand progress(std::uint64_t id, std::uint32_t epoch) {
  pb::MlCommand c;
  c.set_now_ms(3000 + epoch);
  auto* p = c.mutable_progress();
  p->set_id(id);
  p->mutable_epoch()->set_epoch(epoch);
  p->mutable_epoch()->set_loss(1.0 / epoch);
  p->mutable_epoch()->set_test_accuracy(0.5 + 0.1 * epoch);
  p->set_checkpoint("ml/" + std::to_string(id) + "/checkpoint-" + std::to_string(epoch));
  return c;
}

TEST(MlState, CreateGivesIncreasingIdsAndTheCommandsTime) {
  MlState s;
  auto a = run(s, 5, create("first", 1000));
  auto b = run(s, 6, create("second", 1001));
  EXPECT_EQ(a.job().id(), 1u);
  EXPECT_EQ(b.job().id(), 2u);
  EXPECT_EQ(a.job().state(), pb::ML_QUEUED);
  EXPECT_EQ(a.job().created_ms(), 1000);
  EXPECT_EQ(a.job().index(), 5u);
  EXPECT_EQ(s.count(), 2u);
  EXPECT_EQ(s.active().size(), 2u);
  EXPECT_EQ(s.find(2)->name(), "second");
}

TEST(MlState, ProgressTakesOnlyTheNextEpochAndKeepsTheCheckpoint) {
  MlState s;
  run(s, 1, create("m", 1000));
  auto st = run(s, 2, start(1, false));
  EXPECT_EQ(st.job().state(), pb::ML_RUNNING);
  EXPECT_EQ(st.job().architecture_size(), 4);
  EXPECT_TRUE(run(s, 3, progress(1, 1)).refused().empty());
  auto stale = run(s, 4, progress(1, 1));  // a second report of epoch 1 (an old leader)
  EXPECT_EQ(stale.refused(), "epoch 1 is not the next of model 1");
  EXPECT_EQ(run(s, 5, progress(1, 3)).refused(), "epoch 3 is not the next of model 1");
  auto two = run(s, 6, progress(1, 2));
  EXPECT_TRUE(two.refused().empty());
  EXPECT_EQ(two.job().epochs_size(), 2);
  EXPECT_EQ(two.job().checkpoint(), "ml/1/checkpoint-2");
  EXPECT_EQ(two.job().checkpoint_epoch(), 2u);
  // A new leader resumes: counted, the epochs kept.
  auto resumed = run(s, 7, start(1, true));
  EXPECT_EQ(resumed.job().resumes(), 1u);
  EXPECT_EQ(resumed.job().epochs_size(), 2);
}

pb::MlCommand mid(std::uint64_t id, std::uint32_t at_epoch, std::uint64_t position) {
  pb::MlCommand c;
  c.set_now_ms(4000);
  auto* p = c.mutable_progress();
  p->set_id(id);
  p->set_at_epoch(at_epoch);
  p->set_position(position);
  p->set_checkpoint("ml/1/checkpoint-" + std::to_string(at_epoch) + "-" + std::to_string(position));
  return c;
}

TEST(MlState, AMidEpochCheckpointMustBeInTheEpochInProgressAndFurtherOn) {
  MlState s;
  run(s, 1, create("m", 1000));
  run(s, 2, start(1, false));
  auto a = run(s, 3, mid(1, 1, 640));
  EXPECT_TRUE(a.refused().empty()) << a.refused();
  EXPECT_EQ(a.job().checkpoint(), "ml/1/checkpoint-1-640");
  EXPECT_EQ(a.job().checkpoint_epoch(), 0u);
  EXPECT_EQ(a.job().checkpoint_position(), 640u);
  EXPECT_EQ(a.job().epochs_size(), 0);
  // An older one (a deposed leader's) and one of another epoch are refused.
  EXPECT_EQ(run(s, 4, mid(1, 1, 640)).refused(), "a checkpoint of epoch 1 at row 640 is not the next of model 1");
  EXPECT_EQ(run(s, 5, mid(1, 1, 320)).refused(), "a checkpoint of epoch 1 at row 320 is not the next of model 1");
  EXPECT_EQ(run(s, 6, mid(1, 2, 64)).refused(), "a checkpoint of epoch 2 at row 64 is not the next of model 1");
  EXPECT_EQ(run(s, 7, mid(1, 1, 0)).refused(), "a checkpoint of epoch 1 at row 0 is not the next of model 1");
  EXPECT_EQ(s.find(1)->checkpoint_position(), 640u);
  // The epoch's record takes the checkpoint back to an epoch's end; the next epoch starts afresh.
  auto one = run(s, 8, progress(1, 1));
  EXPECT_TRUE(one.refused().empty());
  EXPECT_EQ(one.job().checkpoint(), "ml/1/checkpoint-1");
  EXPECT_EQ(one.job().checkpoint_epoch(), 1u);
  EXPECT_EQ(one.job().checkpoint_position(), 0u);
  auto b = run(s, 9, mid(1, 2, 64));
  EXPECT_TRUE(b.refused().empty()) << b.refused();
  EXPECT_EQ(b.job().checkpoint_epoch(), 1u);
  EXPECT_EQ(b.job().checkpoint_position(), 64u);
}

TEST(MlState, FinishFailCancelEndAJobAndLateReportsAreRefused) {
  MlState s;
  run(s, 1, create("a", 1));
  run(s, 2, create("b", 2));
  run(s, 3, create("c", 3));
  pb::MlCommand finish;
  finish.mutable_finish()->set_id(1);
  finish.mutable_finish()->set_model_file("ml/1/model");
  finish.mutable_finish()->set_model_size(1234);
  auto ready = run(s, 4, finish);
  EXPECT_EQ(ready.job().state(), pb::ML_READY);
  EXPECT_EQ(ready.job().model_size(), 1234u);
  pb::MlCommand fail;
  fail.mutable_fail()->set_id(2);
  fail.mutable_fail()->set_error("no worker left");
  EXPECT_EQ(run(s, 5, fail).job().error(), "no worker left");
  pb::MlCommand cancel;
  cancel.set_cancel(3);
  EXPECT_EQ(run(s, 6, cancel).job().state(), pb::ML_CANCELLED);
  EXPECT_EQ(run(s, 7, progress(3, 1)).refused(), "model 3 is cancelled");
  EXPECT_EQ(run(s, 8, cancel).refused(), "model 3 is cancelled");
  EXPECT_TRUE(s.active().empty());
  pb::MlCommand unknown;
  unknown.set_cancel(9);
  auto nf = run(s, 9, unknown);
  EXPECT_TRUE(nf.not_found());
  EXPECT_EQ(nf.refused(), "no model 9");
}

TEST(MlState, RemoveTakesOnlyFinishedJobs) {
  MlState s;
  run(s, 1, create("a", 1));
  pb::MlCommand rm;
  rm.set_remove(1);
  EXPECT_EQ(run(s, 2, rm).refused(), "model 1 is still training (queued); cancel it first");
  pb::MlCommand cancel;
  cancel.set_cancel(1);
  run(s, 3, cancel);
  EXPECT_TRUE(run(s, 4, rm).refused().empty());
  EXPECT_FALSE(s.find(1).has_value());
  EXPECT_TRUE(run(s, 5, rm).not_found());
  // Ids are not reused after a removal.
  EXPECT_EQ(run(s, 6, create("b", 2)).job().id(), 2u);
}

TEST(MlState, SnapshotRestoresTheSameTableAndNextId) {
  MlState s;
  run(s, 1, create("a", 1));
  run(s, 2, start(1, false));
  run(s, 3, progress(1, 1));
  run(s, 4, create("b", 2));
  const std::string snap = s.snapshot();
  MlState t;
  ASSERT_TRUE(t.restore(snap).ok());
  EXPECT_EQ(t.snapshot(), snap);
  EXPECT_EQ(t.find(1)->epochs_size(), 1);
  EXPECT_EQ(t.find(1)->checkpoint(), "ml/1/checkpoint-1");
  // Both go on with the same commands to the same state.
  EXPECT_EQ(s.apply(5, create("c", 3).SerializeAsString()), t.apply(5, create("c", 3).SerializeAsString()));
  EXPECT_EQ(s.snapshot(), t.snapshot());
  ASSERT_TRUE(t.restore("").ok());
  EXPECT_EQ(t.count(), 0u);
  EXPECT_FALSE(t.restore("\xff\xff garbage").ok());
}

TEST(MlState, BadCommandsAreRefusedNotApplied) {
  MlState s;
  pb::MlApplied out;
  ASSERT_TRUE(out.ParseFromString(s.apply(1, "\xff\xff")));
  EXPECT_EQ(out.refused(), "the ML command does not decode");
  ASSERT_TRUE(out.ParseFromString(s.apply(2, pb::MlCommand().SerializeAsString())));
  EXPECT_EQ(out.refused(), "an ML command without an operation");
  EXPECT_EQ(s.count(), 0u);
}

TEST(MlState, TrainRequestChecks) {
  auto r = request("m");
  EXPECT_TRUE(validate(r).ok());
  EXPECT_EQ(r.hyper().hidden_size(), 2);
  EXPECT_EQ(r.hyper().epochs(), 5u);
  EXPECT_EQ(r.hyper().sync_every(), 16u);
  EXPECT_EQ(r.data().format(), "csv");
  auto bad = [](pb::MlTrainRequest q) { return validate(q).error().message; };
  auto q = r;
  q.mutable_hyper()->set_optimizer("rmsprop");
  EXPECT_EQ(bad(q), "optimizer must be adam or sgd");
  q = r;
  q.mutable_hyper()->set_epochs(1001);
  EXPECT_EQ(bad(q), "epochs must be 1 to 1000");
  q = r;
  q.mutable_hyper()->set_learning_rate(-1);
  EXPECT_EQ(bad(q), "lr must be above 0 and at most 10");
  q = r;
  q.mutable_hyper()->set_hidden(0, 0);
  EXPECT_EQ(bad(q), "a hidden layer has 1 to 4096 units, not 0");
  q = r;
  q.mutable_data()->set_format("idx");
  EXPECT_EQ(bad(q), "idx data needs a labels file");
  q = r;
  q.mutable_data()->set_train("../x");
  EXPECT_FALSE(validate(q).ok());
}

}  // namespace
}  // namespace minga::ml
