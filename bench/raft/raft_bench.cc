// Figures for the consensus layer, printed, not asserted:
//   minga-bench-raft core [--seconds S] [--batch N] [--bytes B]
//     three cores in one thread, messages delivered in memory, persistence
//     free, the log compacted every 8192 applied entries: committed entries
//     per second of B-byte commands;
//   minga-bench-raft wal DIR [--seconds S] [--batch N] [--bytes B]
//     RaftStorage in DIR: N entries of B bytes appended, then one fsync, as
//     the driver does per Ready batch: appends/s, MB/s and fsyncs/s.
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "raft/core.h"
#include "storage/file_system.h"
#include "storage/raft_storage.h"

namespace {

using namespace minga;
using Clock = std::chrono::steady_clock;

struct Flags {
  std::string mode;
  std::string dir;
  double seconds = 3;
  std::size_t batch = 64;
  std::size_t bytes = 64;
};

int usage() {
  std::fprintf(stderr,
               "usage: minga-bench-raft core [--seconds S] [--batch N] [--bytes B]\n"
               "       minga-bench-raft wal DIR [--seconds S] [--batch N] [--bytes B]\n");
  return 2;
}

bool parse(int argc, char** argv, Flags& f) {
  if (argc < 2) return false;
  f.mode = argv[1];
  int i = 2;
  if (f.mode == "wal") {
    if (argc < 3) return false;
    f.dir = argv[2];
    i = 3;
  } else if (f.mode != "core") {
    return false;
  }
  for (; i + 1 < argc; i += 2) {
    const std::string_view k = argv[i];
    char* end = nullptr;
    const double v = std::strtod(argv[i + 1], &end);
    if (end == argv[i + 1] || *end != '\0' || v <= 0) return false;
    if (k == "--seconds") {
      f.seconds = v;
    } else if (k == "--batch") {
      f.batch = static_cast<std::size_t>(v);
    } else if (k == "--bytes") {
      f.bytes = static_cast<std::size_t>(v);
    } else {
      return false;
    }
  }
  return i == argc;
}

int bench_core(const Flags& f) {
  raft::Membership members;
  for (std::uint64_t id = 1; id <= 3; ++id) members.voters.insert(raft::NodeId(id));
  std::map<raft::NodeId, std::unique_ptr<raft::Core>> nodes;
  for (std::uint64_t id = 1; id <= 3; ++id) {
    raft::Config c;
    c.id = raft::NodeId(id);
    c.seed = id;
    raft::InitialState init;
    init.snapshot.membership = members;
    nodes[c.id] = std::make_unique<raft::Core>(c, init);
  }
  std::deque<raft::Message> wire;
  std::map<raft::NodeId, std::uint64_t> last_compact;
  std::uint64_t applied_commands = 0;
  auto pump = [&] {
    bool progress = true;
    while (progress) {
      progress = false;
      for (auto& [id, core] : nodes) {
        if (!core->has_ready()) continue;
        raft::Ready rd = core->ready();
        for (auto& m : rd.early_messages) wire.push_back(std::move(m));
        for (auto& m : rd.messages) wire.push_back(std::move(m));
        if (id == raft::NodeId(1)) {
          for (const auto& e : rd.committed_entries) applied_commands += e.type == raft::EntryType::command ? 1 : 0;
        }
        core->advance();
        // Like a driver that snapshots its state machine now and then, so
        // the in-memory log stays short.
        const raft::Index applied = core->log().applied();
        if (applied.value >= last_compact[id] + 8192) {
          if (core->compact(applied, std::string()).ok()) last_compact[id] = applied.value;
        }
        progress = true;
      }
      while (!wire.empty()) {
        raft::Message m = std::move(wire.front());
        wire.pop_front();
        (void)nodes.at(m.to)->step(m);
        progress = true;
      }
    }
  };
  // Elect node 1.
  for (int t = 0; t < 1000 && !nodes.at(raft::NodeId(1))->is_leader(); ++t) {
    nodes.at(raft::NodeId(1))->tick();
    pump();
  }
  raft::Core& leader = *nodes.at(raft::NodeId(1));
  if (!leader.is_leader()) {
    std::fprintf(stderr, "no leader elected\n");
    return 1;
  }
  const std::string command(f.bytes, 'x');
  const auto start = Clock::now();
  const auto stop = start + std::chrono::duration<double>(f.seconds);
  std::uint64_t proposed = 0, rounds = 0;
  while (Clock::now() < stop) {
    for (std::size_t i = 0; i < f.batch; ++i) {
      if (leader.propose(command).ok()) ++proposed;
    }
    pump();
    ++rounds;
  }
  const double secs = std::chrono::duration<double>(Clock::now() - start).count();
  std::printf("core: 3 nodes in memory, %zu-byte commands, %zu per round\n", f.bytes, f.batch);
  std::printf("proposed %llu, committed and applied %llu in %.2f s (%llu rounds)\n",
              static_cast<unsigned long long>(proposed), static_cast<unsigned long long>(applied_commands), secs,
              static_cast<unsigned long long>(rounds));
  std::printf("committed entries/s: %.0f\n", static_cast<double>(applied_commands) / secs);
  return applied_commands == proposed ? 0 : 1;
}

int bench_wal(const Flags& f) {
  std::error_code ec;
  std::filesystem::remove_all(f.dir, ec);
  std::filesystem::create_directories(f.dir, ec);
  if (ec) {
    std::fprintf(stderr, "cannot create %s: %s\n", f.dir.c_str(), ec.message().c_str());
    return 1;
  }
  storage::PosixFileSystem fs;
  raft::Membership members;
  members.voters.insert(raft::NodeId(1));
  auto st = storage::RaftStorage::open(fs, f.dir, members);
  if (!st.ok()) {
    std::fprintf(stderr, "open: %s\n", st.error().message.c_str());
    return 1;
  }
  auto& store = *st.value();
  std::vector<raft::Entry> batch(f.batch);
  std::uint64_t next = 1, syncs = 0;
  const auto start = Clock::now();
  const auto stop = start + std::chrono::duration<double>(f.seconds);
  while (Clock::now() < stop) {
    for (auto& e : batch) {
      e.term = raft::Term(1);
      e.index = raft::Index(next++);
      e.data.assign(f.bytes, 'x');
    }
    if (auto s = store.append(batch); !s.ok()) {
      std::fprintf(stderr, "append: %s\n", s.error().message.c_str());
      return 1;
    }
    if (auto s = store.sync(); !s.ok()) {
      std::fprintf(stderr, "sync: %s\n", s.error().message.c_str());
      return 1;
    }
    // As a follower's driver does per batch: the hard state with the new
    // commit (written only when the term or vote changes).
    if (auto s = store.save_hard_state(raft::HardState{raft::Term(1), raft::NodeId(1), raft::Index(next - 1)});
        !s.ok()) {
      std::fprintf(stderr, "hard state: %s\n", s.error().message.c_str());
      return 1;
    }
    ++syncs;
  }
  const double secs = std::chrono::duration<double>(Clock::now() - start).count();
  const double entries = static_cast<double>(next - 1);
  std::printf("wal: %s, %zu entries of %zu bytes per fsync\n", f.dir.c_str(), f.batch, f.bytes);
  std::printf("appends/s: %.0f   MB/s: %.2f   fsyncs/s: %.0f   segments: %zu\n", entries / secs,
              entries * static_cast<double>(f.bytes) / secs / 1e6, static_cast<double>(syncs) / secs,
              store.segment_count());
  std::filesystem::remove_all(f.dir, ec);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  Flags f;
  if (!parse(argc, argv, f)) return usage();
  return f.mode == "core" ? bench_core(f) : bench_wal(f);
}
