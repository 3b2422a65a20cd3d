// The files' replicated catalogue: name -> {sha256, size, created, log
// index, replicas}. Pure (no I/O, no clock: a put carries its creation time
// from the node that took it); applied on the node's apply thread, read from
// I/O threads under its own lock.
#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "apps/api/replicated.h"
#include "proto/files.pb.h"

namespace minga::files {

class Catalogue final : public apps::ReplicatedState {
 public:
  // The command is an encoded pb::FilesCommand; the result an encoded
  // pb::FilesApplied. A put replaces the entry of its name in one step; a
  // command with a bad name or hash is refused (`refused` says why) and
  // changes nothing: the log is data, checked again here. A set_replicas
  // changes the replica set of its name only while the name still holds
  // that blob (`found` says whether it did).
  std::string apply(std::uint64_t index, std::string_view command) override;
  std::string snapshot() override;
  Status restore(std::string_view data) override;

  std::optional<pb::FileEntry> find(std::string_view name) const;
  // Entries whose name starts with `prefix` and sorts after `after`, in
  // name order (bytewise), up to about max_bytes; `more` when some were left.
  pb::FilesListResponse list(std::string_view prefix, std::string_view after, std::size_t max_bytes = 1u << 20) const;
  // A copy of every entry, in name order (for the repair pass).
  std::vector<pb::FileEntry> all() const;
  std::uint64_t count() const;
  std::uint64_t total_bytes() const;

 private:
  mutable std::mutex mu_;
  std::map<std::string, pb::FileEntry, std::less<>> files_;
};

}  // namespace minga::files
