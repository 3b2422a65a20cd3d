// An exclusive lock on a node's data directory, so that two nodes never
// recover and write the same files side by side.
//
// The lock is an flock(2) on `<dir>/LOCK`, held for the life of the DirLock
// (the kernel releases it when the process ends, even by kill -9, so a crash
// never leaves a stale lock). The holder writes its pid into the file; a
// second node reads it to say who holds the directory. The file itself stays
// behind after the holder exits; only the flock counts.
#pragma once

#include <string>

#include "base/result.h"

namespace minga::storage {

class DirLock {
 public:
  // Takes the lock without waiting. Errc::busy when another process holds
  // it: "data dir D is in use by another minga node (pid P); stop it or give
  // this node another --data-dir". Errc::internal when the file cannot be
  // opened or locked for another reason.
  static Result<DirLock> acquire(const std::string& dir);

  DirLock() = default;
  DirLock(DirLock&& other) noexcept;
  DirLock& operator=(DirLock&& other) noexcept;
  DirLock(const DirLock&) = delete;
  DirLock& operator=(const DirLock&) = delete;
  ~DirLock();

  bool held() const { return fd_ >= 0; }

 private:
  explicit DirLock(int fd) : fd_(fd) {}
  int fd_ = -1;
};

}  // namespace minga::storage
