// The records' replicated state: an append-only list of lines of text.
// Pure (no I/O); applied on the node's apply thread, read from I/O threads.
#pragma once

#include <cstdint>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "apps/api/replicated.h"
#include "base/result.h"
#include "proto/records.pb.h"

namespace minga::records {

// Why `text` cannot be a record, or ok. A record is one line of UTF-8 text
// of 1 to max_bytes bytes: no newline, carriage return or NUL.
Status validate(std::string_view text, std::size_t max_bytes);

class RecordsState final : public apps::ReplicatedState {
 public:
  // The command is the record's text (validated before it was proposed);
  // the result is an encoded RecordsAddResponse.
  std::string apply(std::uint64_t index, std::string_view command) override;
  std::string snapshot() override;
  Status restore(std::string_view data) override;

  // Records with index > after, in commit order, up to about max_bytes of
  // text (at least one record); `more` tells whether some were left out.
  pb::RecordsListResponse list(std::uint64_t after, std::size_t max_bytes = 1u << 20) const;
  std::uint64_t count() const;

 private:
  mutable std::mutex mu_;
  std::vector<std::string> records_;  // records_[i] has index i + 1
};

}  // namespace minga::records
