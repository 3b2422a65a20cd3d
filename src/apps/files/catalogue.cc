#include "apps/files/catalogue.h"

#include "apps/files/blob_store.h"
#include "apps/files/names.h"

namespace minga::files {

std::string Catalogue::apply(std::uint64_t index, std::string_view command) {
  pb::FilesCommand cmd;
  pb::FilesApplied out;
  out.set_index(index);
  if (!cmd.ParseFromArray(command.data(), static_cast<int>(command.size()))) {
    out.set_refused("the command does not decode");
    return out.SerializeAsString();
  }
  if (cmd.has_put()) {
    pb::FileEntry e = cmd.put();
    if (auto st = validate_name(e.name()); !st.ok()) {
      out.set_refused(st.error().message);
    } else if (!valid_hash(e.sha256())) {
      out.set_refused("bad sha256");
    } else {
      e.set_index(index);
      std::lock_guard lock(mu_);
      files_[e.name()] = std::move(e);
    }
  } else if (cmd.has_set_replicas()) {
    const auto& set = cmd.set_replicas();
    std::lock_guard lock(mu_);
    auto it = files_.find(set.name());
    if (it != files_.end() && it->second.sha256() == set.sha256()) {
      it->second.mutable_replicas()->Assign(set.replicas().begin(), set.replicas().end());
      out.set_found(true);
    }
  } else if (cmd.op_case() == pb::FilesCommand::kRemove) {
    std::lock_guard lock(mu_);
    out.set_found(files_.erase(cmd.remove()) > 0);
  } else {
    out.set_refused("an empty command");
  }
  return out.SerializeAsString();
}

std::string Catalogue::snapshot() {
  pb::FilesCatalogue all;
  std::lock_guard lock(mu_);
  for (const auto& [name, e] : files_) *all.add_files() = e;
  return all.SerializeAsString();
}

Status Catalogue::restore(std::string_view data) {
  pb::FilesCatalogue all;
  if (!all.ParseFromArray(data.data(), static_cast<int>(data.size()))) {
    return Error{Errc::internal, "the files catalogue in the snapshot does not decode"};
  }
  std::map<std::string, pb::FileEntry, std::less<>> next;
  for (const auto& e : all.files()) next[e.name()] = e;
  std::lock_guard lock(mu_);
  files_ = std::move(next);
  return ok_status();
}

std::optional<pb::FileEntry> Catalogue::find(std::string_view name) const {
  std::lock_guard lock(mu_);
  auto it = files_.find(name);
  if (it == files_.end()) return std::nullopt;
  return it->second;
}

pb::FilesListResponse Catalogue::list(std::string_view prefix, std::string_view after, std::size_t max_bytes) const {
  pb::FilesListResponse out;
  std::lock_guard lock(mu_);
  auto it = after.empty() || after < prefix ? files_.lower_bound(prefix) : files_.upper_bound(after);
  std::size_t bytes = 0;
  for (; it != files_.end() && it->first.starts_with(prefix); ++it) {
    const std::size_t cost = it->first.size() + 128;
    if (bytes > 0 && bytes + cost > max_bytes) {
      out.set_more(true);
      break;
    }
    bytes += cost;
    *out.add_files() = it->second;
  }
  return out;
}

std::vector<pb::FileEntry> Catalogue::all() const {
  std::lock_guard lock(mu_);
  std::vector<pb::FileEntry> out;
  out.reserve(files_.size());
  for (const auto& [name, e] : files_) out.push_back(e);
  return out;
}

std::uint64_t Catalogue::count() const {
  std::lock_guard lock(mu_);
  return files_.size();
}

std::uint64_t Catalogue::total_bytes() const {
  std::lock_guard lock(mu_);
  std::uint64_t n = 0;
  for (const auto& [name, e] : files_) n += e.size();
  return n;
}

}  // namespace minga::files
