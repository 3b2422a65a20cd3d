// The bytes of the lottery's command log, without the file: an 8-byte magic,
// then records `[u32 length][u32 crc32c(payload)][protobuf LotteryCommand]`.
// FileCommandLog reads and writes with these; tests/fuzz attacks the reader
// with what a crash or a bad disk may leave.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "base/result.h"
#include "proto/lottery.pb.h"

namespace minga::lottery {

inline constexpr std::string_view kLogMagic = "MLOTLOG1";
inline constexpr std::uint32_t kMaxLogRecordBytes = 64 * 1024 * 1024;

// One record holding `payload` (a serialized command).
std::string frame_log_record(std::string_view payload);

struct LogScan {
  std::size_t good = 0;  // bytes of magic and whole records: the file is cut here when longer
  std::uint64_t records = 0;
};

// Replays, in order, every whole record of the file's bytes `data` and
// says where the valid part ends. A torn tail (a bad record with no valid
// record after it) is left out of `good`; a bad record with a valid one
// after it is damage to acknowledged data, and so is a bad magic: both are
// errors (`name` names the file in their messages), after which `replay`
// may have seen a prefix. Empty bytes, or bytes torn inside the magic, give
// good == 0: the log starts over.
Result<LogScan> scan_log(std::string_view data, const std::string& name,
                         const std::function<void(const pb::LotteryCommand&)>& replay);

}  // namespace minga::lottery
