// RaftStorage on the simulated disk: what survives a crash, torn and corrupt
// tails, segment rotation and deletion, atomic state files, group commit,
// and that every disk error reaches the caller.
#include <gtest/gtest.h>

#include "sim/sim_fs.h"
#include "storage/raft_storage.h"

namespace minga::storage {
namespace {

using sim::SimFs;

raft::Membership three() {
  raft::Membership m;
  m.voters = {raft::NodeId{1}, raft::NodeId{2}, raft::NodeId{3}};
  return m;
}

std::vector<raft::Entry> entries(std::uint64_t from, std::uint64_t to, std::uint64_t term) {
  std::vector<raft::Entry> out;
  for (std::uint64_t i = from; i <= to; ++i) {
    out.push_back(raft::Entry{raft::Term{term}, raft::Index{i}, raft::EntryType::command, "v" + std::to_string(i)});
  }
  return out;
}

std::vector<std::uint64_t> terms(const raft::InitialState& st) {
  std::vector<std::uint64_t> out;
  for (const auto& e : st.entries) out.push_back(e.term.value);
  return out;
}

raft::Snapshot snapshot(std::uint64_t index, std::uint64_t term) {
  return raft::Snapshot{raft::SnapshotMeta{raft::Index{index}, raft::Term{term}, three()},
                        "state@" + std::to_string(index)};
}

class StorageTest : public ::testing::Test {
 protected:
  // The segment's bytes without the zeros written ahead of its records, so
  // that a test can damage the end of its last record.
  std::string* records_of(std::uint64_t seq) {
    std::string* seg = fs.raw("d/" + wal_segment_name(seq));
    if (seg != nullptr) seg->erase(seg->find_last_not_of('\0') + 1);
    return seg;
  }

  std::unique_ptr<RaftStorage> open(StorageOptions o = {}) {
    auto s = RaftStorage::open(fs, "d", three(), o);
    EXPECT_TRUE(s) << (s ? "" : s.error().message);
    return s ? std::move(s.value()) : nullptr;
  }
  // Power loss without torn writes (deterministic).
  void crash() { fs.crash(rng, false); }

  SimFs fs;
  Random rng{1};
};

TEST_F(StorageTest, EmptyDirectoryIsInitializedWithTheBootstrapMembership) {
  auto s = open();
  EXPECT_TRUE(s->report().fresh);
  EXPECT_EQ(s->initial_state().snapshot.membership, three());
  EXPECT_TRUE(s->initial_state().entries.empty());
  s.reset();
  crash();
  auto again = open();
  EXPECT_FALSE(again->report().fresh);
  EXPECT_EQ(again->initial_state().snapshot.membership, three());
}

TEST_F(StorageTest, SyncedEntriesSurviveACrashAndUnsyncedOnesDoNot) {
  auto s = open();
  ASSERT_TRUE(s->append(entries(1, 3, 1)));
  ASSERT_TRUE(s->sync());
  ASSERT_TRUE(s->append(entries(4, 5, 1)));  // never synced
  s.reset();
  crash();
  auto again = open();
  EXPECT_EQ(again->initial_state().entries.size(), 3u);
  EXPECT_EQ(again->initial_state().entries.back().data, "v3");
}

TEST_F(StorageTest, GroupCommitMakesAWholeBatchDurableWithOneFsync) {
  auto s = open();
  const auto before = fs.syncs();
  ASSERT_TRUE(s->append(entries(1, 100, 1)));
  ASSERT_TRUE(s->sync());
  EXPECT_EQ(fs.syncs() - before, 1u);
}

TEST_F(StorageTest, TornLastRecordIsDetectedReportedAndTruncated) {
  auto s = open();
  ASSERT_TRUE(s->append(entries(1, 5, 1)));
  ASSERT_TRUE(s->sync());
  s.reset();
  std::string* seg = records_of(1);
  ASSERT_NE(seg, nullptr);
  const std::size_t full = seg->size();
  seg->resize(full - 3);  // the last record lost its tail
  auto again = open();
  ASSERT_EQ(again->report().wal.torn.size(), 1u);
  const TornTail& t = again->report().wal.torn[0];
  EXPECT_EQ(t.segment, wal_segment_name(1));
  EXPECT_EQ(t.reason, "record longer than the file");
  EXPECT_EQ(again->initial_state().entries.size(), 4u) << "never applied: the torn record is dropped";
  const std::string* cut = fs.raw("d/" + wal_segment_name(1));
  EXPECT_GT(cut->size(), t.offset) << "zeros written ahead again";
  EXPECT_EQ(cut->find_first_not_of('\0', t.offset), std::string::npos) << "and cut from the file";
  // Appends continue cleanly after the cut.
  ASSERT_TRUE(again->append(entries(5, 6, 1)));
  ASSERT_TRUE(again->sync());
  again.reset();
  crash();
  auto third = open();
  EXPECT_TRUE(third->report().wal.torn.empty());
  EXPECT_EQ(third->initial_state().entries.size(), 6u);
}

TEST_F(StorageTest, RecordWithABadChecksumAtTheEndIsCutThere) {
  auto s = open();
  ASSERT_TRUE(s->append(entries(1, 5, 1)));
  ASSERT_TRUE(s->sync());
  s.reset();
  std::string* seg = records_of(1);
  seg->back() = static_cast<char>(seg->back() ^ 0x40);  // garble the last record's payload
  auto again = open();
  ASSERT_EQ(again->report().wal.torn.size(), 1u);
  EXPECT_EQ(again->report().wal.torn[0].reason, "checksum mismatch");
  EXPECT_EQ(again->initial_state().entries.size(), 4u);
}

TEST_F(StorageTest, DamageBeforeTheLastRecordOfTheLastSegmentFailsTheOpenInsteadOfCuttingSyncedData) {
  auto s = open();
  ASSERT_TRUE(s->append(entries(1, 5, 1)));
  ASSERT_TRUE(s->sync());
  s.reset();
  std::string* seg = fs.raw("d/" + wal_segment_name(1));
  const std::string before = *seg;
  (*seg)[30] = static_cast<char>((*seg)[30] ^ 0x01);  // inside the first record; four whole ones follow
  const std::string damaged = *seg;
  auto again = RaftStorage::open(fs, "d", three());
  ASSERT_FALSE(again);
  EXPECT_NE(again.error().message.find("a whole record follows"), std::string::npos) << again.error().message;
  EXPECT_EQ(*fs.raw("d/" + wal_segment_name(1)), damaged) << "nothing is cut";
  *seg = before;
  EXPECT_EQ(open()->initial_state().entries.size(), 5u);
}

TEST_F(StorageTest, CorruptionInAnOlderSegmentFailsTheOpenInsteadOfLosingData) {
  StorageOptions o;
  o.wal.segment_bytes = 200;
  auto s = open(o);
  for (std::uint64_t i = 1; i <= 30; i += 3) {
    ASSERT_TRUE(s->append(entries(i, i + 2, 1)));
    ASSERT_TRUE(s->sync());
  }
  ASSERT_GT(s->segment_count(), 2u);
  s.reset();
  std::string* first = fs.raw("d/" + wal_segment_name(1));
  (*first)[30] = static_cast<char>((*first)[30] ^ 0x01);
  auto again = RaftStorage::open(fs, "d", three(), o);
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().code, Errc::internal);
  EXPECT_NE(again.error().message.find("corrupt"), std::string::npos) << again.error().message;
}

TEST_F(StorageTest, SegmentsRotateAndASnapshotDeletesTheSegmentsItCovers) {
  StorageOptions o;
  o.wal.segment_bytes = 200;
  auto s = open(o);
  for (std::uint64_t i = 1; i <= 60; i += 3) {
    ASSERT_TRUE(s->append(entries(i, i + 2, 1)));
    ASSERT_TRUE(s->sync());
  }
  const std::size_t before = s->segment_count();
  ASSERT_GT(before, 5u);
  ASSERT_TRUE(s->save_snapshot(snapshot(50, 1)));
  EXPECT_LT(s->segment_count(), before);
  EXPECT_FALSE(fs.raw("d/" + wal_segment_name(1))) << "the oldest segment is gone";
  s.reset();
  crash();
  auto again = open(o);
  const auto& st = again->initial_state();
  EXPECT_EQ(st.snapshot.index, raft::Index{50});
  ASSERT_TRUE(st.snapshot_data);
  EXPECT_EQ(st.snapshot_data->data, "state@50");
  ASSERT_EQ(st.entries.size(), 10u);
  EXPECT_EQ(st.entries.front().index, raft::Index{51});
}

TEST_F(StorageTest, AnEntryWrittenAtIndexIReplacesEverythingFromI) {
  auto s = open();
  ASSERT_TRUE(s->append(entries(1, 5, 1)));
  ASSERT_TRUE(s->append(entries(3, 4, 2)));
  ASSERT_TRUE(s->sync());
  s.reset();
  crash();
  EXPECT_EQ(terms(open()->initial_state()), (std::vector<std::uint64_t>{1, 1, 2, 2}));
}

TEST_F(StorageTest, OverwriteCoveredByASnapshotStillDropsTheStaleSuffix) {
  // Regression found by the simulator: entries 10..14 overwrote 10..15, a
  // snapshot then covered 14; entry 15 (stale) must not come back.
  auto s = open();
  ASSERT_TRUE(s->append(entries(1, 15, 1)));
  ASSERT_TRUE(s->append(entries(10, 14, 2)));
  ASSERT_TRUE(s->sync());
  ASSERT_TRUE(s->save_snapshot(snapshot(14, 2)));
  s.reset();
  crash();
  auto again = open();
  EXPECT_EQ(again->initial_state().snapshot.index, raft::Index{14});
  EXPECT_TRUE(again->initial_state().entries.empty());
}

TEST_F(StorageTest, InstalledSnapshotReplacesTheWholeLog) {
  auto s = open();
  ASSERT_TRUE(s->append(entries(1, 30, 1)));  // 21..30 conflict with the leader's history
  ASSERT_TRUE(s->sync());
  ASSERT_TRUE(s->install_snapshot(snapshot(20, 3)));
  ASSERT_TRUE(s->append(entries(21, 22, 3)));
  ASSERT_TRUE(s->sync());
  s.reset();
  crash();
  auto again = open();
  const auto& st = again->initial_state();
  EXPECT_EQ(st.snapshot.index, raft::Index{20});
  EXPECT_EQ(terms(st), (std::vector<std::uint64_t>{3, 3}));
  EXPECT_FALSE(fs.raw("d/" + wal_segment_name(1))) << "the replaced log's segment is deleted";
}

TEST_F(StorageTest, HardStateIsReplacedAtomically) {
  auto s = open();
  const raft::HardState one{raft::Term{1}, raft::NodeId{2}, raft::Index{0}};
  ASSERT_TRUE(s->save_hard_state(one));
  fs.inject(SimFs::Fault::sync);  // the next save dies half-way
  auto st = s->save_hard_state(raft::HardState{raft::Term{2}, raft::NodeId{3}, raft::Index{0}});
  ASSERT_FALSE(st);
  EXPECT_NE(st.error().message.find("injected"), std::string::npos);
  s.reset();
  crash();
  auto again = open();
  EXPECT_EQ(again->initial_state().hard_state, one);
  EXPECT_FALSE(fs.raw("d/hardstate.tmp")) << "the interrupted temporary file is cleaned up";
  const raft::HardState two{raft::Term{2}, raft::NodeId{3}, raft::Index{0}};
  ASSERT_TRUE(again->save_hard_state(two));
  again.reset();
  crash();
  EXPECT_EQ(open()->initial_state().hard_state, two);
}

TEST_F(StorageTest, HardStateIsRewrittenOnlyWhenTheTermOrVoteChanges) {
  auto s = open();
  const raft::HardState voted{raft::Term{3}, raft::NodeId{2}, raft::Index{0}};
  ASSERT_TRUE(s->save_hard_state(voted));
  const auto before = fs.syncs();
  ASSERT_TRUE(s->save_hard_state(raft::HardState{raft::Term{3}, raft::NodeId{2}, raft::Index{7}}));
  EXPECT_EQ(fs.syncs(), before) << "a commit-only change costs no fsync";
  s.reset();
  crash();
  auto again = open();
  EXPECT_EQ(again->initial_state().hard_state, voted) << "commit is relearned from the leader after a restart";
  const raft::HardState next{raft::Term{4}, raft::NodeId{1}, raft::Index{9}};
  ASSERT_TRUE(again->save_hard_state(next));
  EXPECT_GT(fs.syncs(), before);
  again.reset();
  crash();
  EXPECT_EQ(open()->initial_state().hard_state, next);
}

TEST_F(StorageTest, SegmentsKeepTheirSizeLimitAfterATornTailIsCut) {
  StorageOptions o;
  o.wal.segment_bytes = 300;
  auto s = open(o);
  for (std::uint64_t i = 1; i <= 6; i += 3) {
    ASSERT_TRUE(s->append(entries(i, i + 2, 1)));
    ASSERT_TRUE(s->sync());
  }
  ASSERT_EQ(s->segment_count(), 1u);
  s.reset();
  std::string* seg = records_of(1);
  seg->resize(seg->size() - 3);
  auto again = open(o);
  ASSERT_EQ(again->report().wal.torn.size(), 1u);
  for (std::uint64_t i = 6; i <= 30; i += 3) {
    ASSERT_TRUE(again->append(entries(i, i + 2, 1)));
    ASSERT_TRUE(again->sync());
  }
  // A segment rotates once it reaches the limit, so none holds more than the
  // limit plus one batch (three entries of about 35 bytes).
  for (std::uint64_t seq = 1; fs.raw("d/" + wal_segment_name(seq)) != nullptr; ++seq) {
    EXPECT_LE(fs.raw("d/" + wal_segment_name(seq))->size(), 300u + 120u) << wal_segment_name(seq);
  }
  EXPECT_GT(again->segment_count(), 2u);
}

TEST_F(StorageTest, WriteAndSyncErrorsAreReturnedAndStopFurtherWrites) {
  auto s = open();
  fs.inject(SimFs::Fault::write);
  EXPECT_FALSE(s->append(entries(1, 1, 1)));
  auto later = s->append(entries(1, 1, 1));
  ASSERT_FALSE(later) << "after a failed write the state on disk is unknown";
  EXPECT_NE(later.error().message.find("restart"), std::string::npos);
  EXPECT_FALSE(s->sync());

  SimFs other;
  auto t = RaftStorage::open(other, "d", three());
  ASSERT_TRUE(t);
  ASSERT_TRUE(t.value()->append(entries(1, 1, 1)));
  other.inject(SimFs::Fault::sync);
  EXPECT_FALSE(t.value()->sync());
  EXPECT_FALSE(t.value()->save_hard_state(raft::HardState{}));
}

TEST_F(StorageTest, ReadErrorsFailTheOpen) {
  open().reset();
  fs.inject(SimFs::Fault::read);
  auto s = RaftStorage::open(fs, "d", three());
  ASSERT_FALSE(s);
  EXPECT_NE(s.error().message.find("injected read"), std::string::npos);
}

TEST_F(StorageTest, MissingSnapshotFileBesideALogIsCorruption) {
  auto s = open();
  ASSERT_TRUE(s->append(entries(1, 2, 1)));
  ASSERT_TRUE(s->sync());
  s.reset();
  ASSERT_TRUE(fs.remove("d/snapshot"));
  auto again = RaftStorage::open(fs, "d", three());
  ASSERT_FALSE(again);
  EXPECT_NE(again.error().message.find("snapshot file is missing"), std::string::npos);
}

TEST_F(StorageTest, TornTailsFromRandomCrashesAlwaysRecoverToASyncedPrefix) {
  // Many crashes with torn writes: recovery must always succeed and keep
  // every synced entry.
  StorageOptions o;
  o.wal.segment_bytes = 300;
  for (std::uint64_t seed = 1; seed <= 200; ++seed) {
    SimFs disk;
    Random r(seed);
    std::uint64_t synced = 0, written = 0;
    for (int round = 0; round < 5; ++round) {
      auto s = RaftStorage::open(disk, "d", three(), o);
      ASSERT_TRUE(s) << "seed " << seed << ": " << s.error().message;
      const auto& st = s.value()->initial_state();
      ASSERT_GE(st.entries.size(), synced) << "seed " << seed;
      ASSERT_LE(st.entries.size(), written) << "seed " << seed;
      // Every entry ever written at index i is entries(i, i, 1): the
      // recovered log must be exactly that prefix, indexes and data.
      ASSERT_EQ(st.entries, entries(1, st.entries.size(), 1)) << "seed " << seed;
      written = st.entries.size();
      synced = written;
      for (int b = 0; b < 4; ++b) {
        const std::uint64_t n = r.uniform(1, 5);
        ASSERT_TRUE(s.value()->append(entries(written + 1, written + n, 1)));
        written += n;
        if (r.chance(1, 2)) {
          ASSERT_TRUE(s.value()->sync());
          synced = written;
        }
      }
      s.value().reset();
      disk.crash(r, true);
    }
  }
}

}  // namespace
}  // namespace minga::storage
