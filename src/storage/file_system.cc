#include "storage/file_system.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace minga::storage {
namespace {

Error io_error(const char* what, const std::string& path) {
  return Error{Errc::internal, std::string(what) + " " + path + ": " + std::strerror(errno)};
}

class PosixFile final : public File {
 public:
  PosixFile(int fd, std::string path, std::uint64_t end) : fd_(fd), path_(std::move(path)), end_(end), size_(end) {}
  ~PosixFile() override { ::close(fd_); }
  PosixFile(const PosixFile&) = delete;
  PosixFile& operator=(const PosixFile&) = delete;

  Status append(std::string_view data) override {
    if (auto st = write_at(end_, data.data(), data.size()); !st) return st;
    end_ += data.size();
    size_ = std::max(size_, end_);
    return ok_status();
  }

  Status zero_ahead(std::uint64_t size) override {
    static const std::string kZeros(64 << 10, '\0');
    while (size_ < size) {
      const std::size_t n = static_cast<std::size_t>(std::min<std::uint64_t>(kZeros.size(), size - size_));
      if (auto st = write_at(size_, kZeros.data(), n); !st) return st;
      size_ += n;
    }
    return ok_status();
  }

  Status sync() override {
    if (::fdatasync(fd_) != 0) return io_error("fdatasync", path_);
    return ok_status();
  }

 private:
  Status write_at(std::uint64_t at, const char* p, std::size_t n) {
    while (n > 0) {
      const ssize_t w = ::pwrite(fd_, p, n, static_cast<off_t>(at));
      if (w < 0) {
        if (errno == EINTR) continue;
        return io_error("write", path_);
      }
      p += w;
      n -= static_cast<std::size_t>(w);
      at += static_cast<std::uint64_t>(w);
    }
    return ok_status();
  }

  int fd_;
  std::string path_;
  std::uint64_t end_;   // where the next append goes
  std::uint64_t size_;  // the file's size (end_ plus zeros written ahead)
};

}  // namespace

Result<std::string> PosixFileSystem::read(const std::string& path, std::uint64_t max_bytes) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return io_error("open", path);
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    Error e = io_error("stat", path);
    ::close(fd);
    return e;
  }
  if (static_cast<std::uint64_t>(st.st_size) > max_bytes) {
    ::close(fd);
    return Error{Errc::internal, path + " is larger than " + std::to_string(max_bytes) + " bytes"};
  }
  std::string out(static_cast<std::size_t>(st.st_size), '\0');
  std::size_t got = 0;
  while (got < out.size()) {
    const ssize_t n = ::read(fd, out.data() + got, out.size() - got);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      Error e = n < 0 ? io_error("read", path) : Error{Errc::internal, path + " shrank while being read"};
      ::close(fd);
      return e;
    }
    got += static_cast<std::size_t>(n);
  }
  ::close(fd);
  return out;
}

Result<std::unique_ptr<File>> PosixFileSystem::open(const std::string& path, Open mode) {
  const int flags = O_WRONLY | O_CREAT | O_CLOEXEC | (mode == Open::append ? 0 : O_TRUNC);
  const int fd = ::open(path.c_str(), flags, 0644);
  if (fd < 0) return io_error("open", path);
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    Error e = io_error("stat", path);
    ::close(fd);
    return e;
  }
  return std::unique_ptr<File>(std::make_unique<PosixFile>(fd, path, static_cast<std::uint64_t>(st.st_size)));
}

Status PosixFileSystem::truncate(const std::string& path, std::uint64_t size) {
  if (::truncate(path.c_str(), static_cast<off_t>(size)) != 0) return io_error("truncate", path);
  return ok_status();
}

Result<std::vector<std::string>> PosixFileSystem::list(const std::string& dir) {
  DIR* d = ::opendir(dir.c_str());
  if (d == nullptr) return io_error("opendir", dir);
  std::vector<std::string> names;
  errno = 0;
  while (const dirent* e = ::readdir(d)) {
    const std::string name = e->d_name;
    if (name != "." && name != "..") names.push_back(name);
  }
  const int err = errno;
  ::closedir(d);
  if (err != 0) {
    errno = err;
    return io_error("readdir", dir);
  }
  std::sort(names.begin(), names.end());
  return names;
}

Status PosixFileSystem::create_dir(const std::string& dir) {
  if (::mkdir(dir.c_str(), 0755) != 0 && errno != EEXIST) return io_error("mkdir", dir);
  return ok_status();
}

Status PosixFileSystem::rename(const std::string& from, const std::string& to) {
  if (::rename(from.c_str(), to.c_str()) != 0) return io_error("rename", from);
  return ok_status();
}

Status PosixFileSystem::remove(const std::string& path) {
  if (::unlink(path.c_str()) != 0) return io_error("unlink", path);
  return ok_status();
}

Status PosixFileSystem::sync_dir(const std::string& dir) {
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return io_error("open", dir);
  const int rc = ::fsync(fd);
  Error e = rc != 0 ? io_error("fsync", dir) : Error{};
  ::close(fd);
  if (rc != 0) return e;
  return ok_status();
}

Status write_atomically(FileSystem& fs, const std::string& dir, const std::string& name, std::string_view bytes) {
  const std::string tmp = dir + "/" + name + ".tmp";
  auto f = fs.open(tmp, FileSystem::Open::truncate);
  if (!f) return f.error();
  if (auto st = f.value()->append(bytes); !st) return st;
  if (auto st = f.value()->sync(); !st) return st;
  f.value().reset();
  if (auto st = fs.rename(tmp, dir + "/" + name); !st) return st;
  return fs.sync_dir(dir);
}

}  // namespace minga::storage
