#include "sim/sim_fs.h"

#include <algorithm>
#include <vector>

namespace minga::sim {
namespace {

std::string parent(const std::string& path) {
  const auto slash = path.rfind('/');
  return slash == std::string::npos ? std::string{} : path.substr(0, slash);
}

Error missing(const std::string& path) { return Error{Errc::not_found, "no such file: " + path}; }

}  // namespace

void SimFs::Data::shrink_to(std::size_t size) {
  if (size < synced && !shrunk) {
    durable = bytes.substr(0, synced);
    shrunk = true;
  }
  bytes.resize(size);
}

class SimFs::SimFile final : public storage::File {
 public:
  SimFile(SimFs& fs, std::shared_ptr<Data> data, std::string path)
      : fs_(fs), data_(std::move(data)), path_(std::move(path)), end_(data_->bytes.size()) {}

  Status append(std::string_view d) override {
    if (auto st = fs_.fault(Fault::write, path_); !st) return st;
    auto& bytes = data_->bytes;
    end_ = std::min(end_, bytes.size());  // cut under this handle: go on at the new end
    if (end_ < bytes.size()) {
      // Over zeros written ahead: if they are durable, the durable content
      // is kept aside (as for a truncation), since this overwrite is not.
      if (end_ < data_->synced && !data_->shrunk) {
        data_->durable = bytes.substr(0, data_->synced);
        data_->shrunk = true;
      }
      const std::size_t over = std::min(d.size(), bytes.size() - end_);
      bytes.replace(end_, over, d.substr(0, over));
      bytes.append(d.substr(over));
    } else {
      bytes.append(d);
    }
    end_ += d.size();
    return ok_status();
  }

  Status zero_ahead(std::uint64_t size) override {
    if (auto st = fs_.fault(Fault::write, path_); !st) return st;
    if (size > data_->bytes.size()) data_->bytes.resize(size, '\0');
    return ok_status();
  }

  Status sync() override {
    if (auto st = fs_.fault(Fault::sync, path_); !st) return st;
    ++fs_.syncs_;
    data_->synced = data_->bytes.size();
    data_->shrunk = false;
    data_->durable.clear();
    return ok_status();
  }

 private:
  SimFs& fs_;
  std::shared_ptr<Data> data_;
  std::string path_;
  std::size_t end_;  // where the next append goes
};

Status SimFs::fault(Fault f, const std::string& what) {
  auto it = faults_.find(f);
  if (it == faults_.end() || it->second == 0) return ok_status();
  --it->second;
  static constexpr const char* kNames[] = {"read", "write", "fsync"};
  return Status::fail(Errc::internal, std::string("injected ") + kNames[static_cast<int>(f)] + " error on " + what);
}

Result<std::string> SimFs::read(const std::string& path, std::uint64_t max_bytes) {
  if (auto st = fault(Fault::read, path); !st) return st.error();
  auto it = names_.find(path);
  if (it == names_.end()) return missing(path);
  if (it->second->bytes.size() > max_bytes) return Error{Errc::internal, path + " is too large"};
  return it->second->bytes;
}

Result<std::unique_ptr<storage::File>> SimFs::open(const std::string& path, Open mode) {
  if (dirs_.count(parent(path)) == 0) return missing(parent(path));
  auto& slot = names_[path];
  if (!slot) slot = std::make_shared<Data>();
  if (mode == Open::truncate) slot->shrink_to(0);
  return std::unique_ptr<storage::File>(std::make_unique<SimFile>(*this, slot, path));
}

Status SimFs::truncate(const std::string& path, std::uint64_t size) {
  auto it = names_.find(path);
  if (it == names_.end()) return missing(path);
  if (size < it->second->bytes.size()) it->second->shrink_to(size);
  return ok_status();
}

Result<std::vector<std::string>> SimFs::list(const std::string& dir) {
  if (dirs_.count(dir) == 0) return missing(dir);
  std::vector<std::string> out;
  for (const auto& [path, data] : names_) {
    if (parent(path) == dir) out.push_back(path.substr(dir.size() + 1));
  }
  return out;  // map order: sorted
}

Status SimFs::create_dir(const std::string& dir) {
  dirs_.insert(dir);
  return ok_status();
}

Status SimFs::rename(const std::string& from, const std::string& to) {
  auto it = names_.find(from);
  if (it == names_.end()) return missing(from);
  names_[to] = it->second;
  names_.erase(from);
  return ok_status();
}

Status SimFs::remove(const std::string& path) {
  if (names_.erase(path) == 0) return missing(path);
  return ok_status();
}

Status SimFs::sync_dir(const std::string& dir) {
  if (auto st = fault(Fault::sync, dir); !st) return st;
  ++syncs_;
  std::erase_if(durable_names_, [&](const auto& p) { return parent(p.first) == dir; });
  for (const auto& [path, data] : names_) {
    if (parent(path) == dir) durable_names_[path] = data;
  }
  return ok_status();
}

void SimFs::crash(Random& rng, bool tear) {
  names_ = durable_names_;
  // Every file object once reachable: each loses its unsynced bytes.
  std::vector<std::shared_ptr<Data>> seen;
  for (const auto& [path, data] : names_) seen.push_back(data);
  for (const auto& d : seen) {
    if (d->shrunk) {
      // Unsynced truncations and overwrites are undone; with `tear`, an
      // overwrite may survive in part from where it first differs, its
      // last byte garbled.
      std::string now = std::move(d->bytes);
      d->bytes = d->durable;
      std::size_t from = 0;
      while (from < now.size() && from < d->bytes.size() && now[from] == d->bytes[from]) ++from;
      if (tear && from < now.size() && rng.chance(1, 3)) {
        const std::size_t keep = rng.uniform(1, now.size() - from);
        if (d->bytes.size() < from + keep) d->bytes.resize(from + keep, '\0');
        d->bytes.replace(from, keep, now, from, keep);
        if (rng.chance(1, 2)) d->bytes[from + keep - 1] = static_cast<char>(d->bytes[from + keep - 1] ^ 0x5a);
        ++torn_;
      }
    } else if (d->bytes.size() > d->synced) {
      std::size_t keep = 0;
      if (tear && rng.chance(1, 3)) {
        keep = rng.uniform(1, d->bytes.size() - d->synced);
        ++torn_;
      }
      d->bytes.resize(d->synced + keep);
      if (keep > 0 && rng.chance(1, 2)) d->bytes.back() = static_cast<char>(d->bytes.back() ^ 0x5a);
    }
    d->synced = d->bytes.size();
    d->shrunk = false;
    d->durable.clear();
  }
  faults_.clear();
}

std::string* SimFs::raw(const std::string& path) {
  auto it = names_.find(path);
  return it == names_.end() ? nullptr : &it->second->bytes;
}

}  // namespace minga::sim
