// Builds a lottery log from the input -- the magic, then records framed as
// the writer frames them, interleaved with raw bytes, cut anywhere -- and
// scans it as FileCommandLog::open() does. The reader must never crash;
// it replays exactly the records it counts; what it keeps (the bytes up to
// `good`) scans again to the same records with nothing cut; every error
// explains itself.
#include <fuzzer/FuzzedDataProvider.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <vector>

#include "apps/lottery/log_format.h"

namespace {

using minga::lottery::LogScan;
using minga::pb::LotteryCommand;

void check(bool cond) {
  if (!cond) std::abort();
}

struct Scanned {
  minga::Result<LogScan> scan;
  std::vector<std::string> commands;  // serialized, as replayed
};

Scanned scan(const std::string& bytes) {
  std::vector<std::string> commands;
  auto r = minga::lottery::scan_log(
      bytes, "fuzz.log", [&commands](const LotteryCommand& c) { commands.push_back(c.SerializeAsString()); });
  return Scanned{std::move(r), std::move(commands)};
}

std::string build(FuzzedDataProvider& in) {
  std::string log;
  if (in.ConsumeIntegralInRange(0, 7) != 0) log += minga::lottery::kLogMagic;
  while (in.remaining_bytes() > 0) {
    switch (in.ConsumeIntegralInRange(0, 3)) {
      case 0:
        log += in.ConsumeRandomLengthString(64);  // raw bytes: garbage, or a record crafted by hand
        break;
      case 1: {
        // A real command, as the writer serializes it.
        LotteryCommand c;
        auto* bets = c.mutable_store();
        bets->set_agency(in.ConsumeIntegral<std::uint32_t>());
        bets->set_sequence(in.ConsumeIntegral<std::uint64_t>());
        log += minga::lottery::frame_log_record(c.SerializeAsString());
        break;
      }
      default:
        log += minga::lottery::frame_log_record(in.ConsumeRandomLengthString(128));
    }
  }
  return log;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  FuzzedDataProvider in(data, size);
  const std::size_t cut = in.ConsumeIntegral<std::uint16_t>();
  std::string log = build(in);
  if (cut % 2 == 1 && !log.empty()) log.resize(cut % log.size());  // a crash in the middle of a write

  Scanned first = scan(log);
  if (!first.scan) {
    check(!first.scan.error().message.empty());
    return 0;
  }
  const LogScan& s = first.scan.value();
  check(s.good <= log.size() && s.records == first.commands.size());
  check(s.good == 0 ? s.records == 0 : s.good >= minga::lottery::kLogMagic.size());
  if (s.good == 0) return 0;
  Scanned kept = scan(log.substr(0, s.good));
  check(kept.scan.ok() && kept.scan->good == s.good && kept.commands == first.commands);
  return 0;
}
