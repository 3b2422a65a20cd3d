#include "apps/lottery/log_format.h"

#include "base/crc32c.h"
#include "base/endian.h"

namespace minga::lottery {
namespace {

// The size of the whole, valid record at `data[at]` (parsed into `out`), or 0
// when the bytes there are not one: short, zero or oversized length, bad CRC
// or an unparsable payload. The writer never writes an empty command, so a
// zero length (a hole the file system left after a crash) is invalid too.
std::size_t record_at(std::string_view data, std::size_t at, pb::LotteryCommand& out) {
  if (at > data.size() || data.size() - at < 8) return 0;
  const std::uint32_t len = load_u32(data.data() + at);
  const std::uint32_t crc = load_u32(data.data() + at + 4);
  if (len == 0 || len > kMaxLogRecordBytes || len > data.size() - at - 8) return 0;
  const std::string_view payload = data.substr(at + 8, len);
  if (crc32c(payload) != crc) return 0;
  if (!out.ParseFromArray(payload.data(), static_cast<int>(payload.size()))) return 0;
  return 8 + static_cast<std::size_t>(len);
}

// The offset of the first valid record after the bad one at `bad`, or npos.
// Tried first where the bad record says the next one starts (a flipped
// payload bit leaves the length intact), then at every byte.
std::size_t next_valid_record(std::string_view data, std::size_t bad) {
  pb::LotteryCommand scratch;
  if (bad + 8 <= data.size()) {
    const std::size_t claimed = bad + 8 + std::size_t{load_u32(data.data() + bad)};
    if (record_at(data, claimed, scratch) > 0) return claimed;
  }
  for (std::size_t at = bad + 1; at + 8 <= data.size(); ++at) {
    if (record_at(data, at, scratch) > 0) return at;
  }
  return std::string_view::npos;
}

}  // namespace

std::string frame_log_record(std::string_view payload) {
  std::string record;
  record.reserve(8 + payload.size());
  put_u32(record, static_cast<std::uint32_t>(payload.size()));
  put_u32(record, crc32c(payload));
  record += payload;
  return record;
}

Result<LogScan> scan_log(std::string_view data, const std::string& name,
                         const std::function<void(const pb::LotteryCommand&)>& replay) {
  LogScan scan;
  if (data.size() < kLogMagic.size() && kLogMagic.substr(0, data.size()) == data) return scan;
  if (data.compare(0, kLogMagic.size(), kLogMagic) != 0) {
    return Error{Errc::internal, name + " is not a lottery log (bad magic); refusing to touch it"};
  }
  scan.good = kLogMagic.size();
  pb::LotteryCommand command;
  while (const std::size_t n = record_at(data, scan.good, command)) {
    replay(command);
    ++scan.records;
    scan.good += n;
  }
  if (scan.good == data.size()) return scan;
  // A bad record with nothing valid after it is a write cut short by a
  // crash: never acknowledged, safe to cut off. A bad record followed by a
  // valid one is damage to acknowledged data; cutting there would silently
  // drop every later batch, so the log is left as it is and the node does
  // not start.
  const std::size_t next = next_valid_record(data, scan.good);
  if (next == std::string_view::npos) return scan;
  const std::string at = std::to_string(scan.good);
  return Error{Errc::internal, name + " is damaged: the record at byte " + at +
                                   " is corrupt but a valid record follows at byte " + std::to_string(next) +
                                   "; nothing was changed. Keep a copy, then restore the file, or cut it with "
                                   "`truncate -s " +
                                   at + "` to keep only the " + std::to_string(scan.records) +
                                   " records before the damage"};
}

}  // namespace minga::lottery
