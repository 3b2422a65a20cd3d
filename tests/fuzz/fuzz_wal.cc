// Writes a WAL with the real writer on the simulated disk, damages it as a
// power loss or a bad disk would, and replays it. The reader must never
// crash; after a clean stop it gives back every record, after a power loss
// every synced record and then a prefix of the rest; any damage it accepts,
// a second open sees exactly as the first left it (recovery is idempotent).
#include <fuzzer/FuzzedDataProvider.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "base/random.h"
#include "sim/sim_fs.h"
#include "storage/codec.h"
#include "storage/wal.h"

namespace {

using minga::storage::Wal;
using minga::storage::WalOptions;
using minga::storage::WalRecovery;

constexpr const char* kDir = "wal";

void check(bool cond) {
  if (!cond) std::abort();
}

struct Replay {
  minga::Result<std::unique_ptr<Wal>> wal;
  std::vector<std::string> payloads;
  WalRecovery report;
};

Replay replay(minga::sim::SimFs& fs, const WalOptions& options) {
  std::vector<std::string> seen;
  WalRecovery report;
  auto wal = Wal::open(
      fs, kDir, 1, options,
      [&seen](std::uint64_t, std::string_view payload) {
        seen.emplace_back(payload);
        // What RaftStorage does with a record: a type byte, then an entry.
        if (!payload.empty()) (void)minga::storage::decode_entry(payload.substr(1));
        return minga::ok_status();
      },
      report);
  return Replay{std::move(wal), std::move(seen), std::move(report)};
}

bool is_prefix(const std::vector<std::string>& a, const std::vector<std::string>& b) {
  return a.size() <= b.size() && std::equal(a.begin(), a.end(), b.begin());
}

// Overwrites, cuts or extends one segment file with the input's bytes.
void damage(minga::sim::SimFs& fs, FuzzedDataProvider& in) {
  auto names = fs.list(kDir);
  if (!names || names.value().empty()) return;
  const auto& name = names.value()[in.ConsumeIntegralInRange<std::size_t>(0, names.value().size() - 1)];
  std::string* bytes = fs.raw(std::string(kDir) + "/" + name);
  if (bytes == nullptr) return;
  switch (in.ConsumeIntegralInRange(0, 2)) {
    case 0: {
      if (bytes->empty()) return;
      const auto at = in.ConsumeIntegralInRange<std::size_t>(0, bytes->size() - 1);
      const std::string with = in.ConsumeRandomLengthString(16);
      bytes->replace(at, std::min(with.size(), bytes->size() - at), with.substr(0, bytes->size() - at));
      return;
    }
    case 1:
      bytes->resize(in.ConsumeIntegralInRange<std::size_t>(0, bytes->size()));
      return;
    default:
      *bytes += in.ConsumeRandomLengthString(256);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  FuzzedDataProvider in(data, size);
  minga::sim::SimFs fs;
  check(fs.create_dir(kDir).ok());
  WalOptions options;
  options.segment_bytes = in.ConsumeIntegralInRange<std::uint64_t>(16, 2048);
  std::vector<std::string> written;
  std::size_t synced = 0;  // written[0, synced) are durable
  {
    Replay fresh = replay(fs, options);
    check(fresh.wal.ok() && fresh.payloads.empty());
    Wal& wal = *fresh.wal.value();
    const int ops = in.ConsumeIntegralInRange(0, 48);
    for (int i = 0; i < ops && in.remaining_bytes() > 0; ++i) {
      const std::uint64_t segment = wal.active_segment();
      switch (in.ConsumeIntegralInRange(0, 3)) {
        case 2:
          check(wal.sync().ok());
          synced = written.size();
          break;
        case 3:
          check(wal.rotate().ok());
          synced = written.size();
          break;
        default: {
          std::vector<std::string> batch{in.ConsumeRandomLengthString(300)};
          if (in.ConsumeBool()) batch.push_back(in.ConsumeRandomLengthString(300));
          auto used = wal.append(batch);
          check(used.ok());
          if (used.value() != segment) synced = written.size();  // rotating made the old segment durable
          written.insert(written.end(), batch.begin(), batch.end());
        }
      }
    }
  }
  const int what = in.ConsumeIntegralInRange(0, 2);
  if (what == 1) {
    minga::Random rng(in.ConsumeIntegral<std::uint64_t>());
    fs.crash(rng, in.ConsumeBool());
  } else if (what == 2) {
    const int times = in.ConsumeIntegralInRange(1, 4);
    for (int i = 0; i < times; ++i) damage(fs, in);
  }
  Replay first = replay(fs, options);
  if (what == 0) check(first.wal.ok() && first.payloads == written && first.report.torn.empty());
  if (what == 1) check(first.wal.ok() && is_prefix(first.payloads, written) && first.payloads.size() >= synced);
  if (!first.wal.ok()) {
    check(!first.wal.error().message.empty());
    return 0;
  }
  check(first.report.records == first.payloads.size() && first.report.torn.size() <= 1);
  first.wal.value().reset();  // closed, as by a stop
  Replay second = replay(fs, options);
  check(second.wal.ok() && second.payloads == first.payloads && second.report.torn.empty());
  return 0;
}
