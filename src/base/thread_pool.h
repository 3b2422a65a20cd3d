// A fixed set of threads draining one bounded queue of CPU jobs.
//
// try_submit never blocks and never grows memory past `queue_capacity`: a full
// queue is reported to the caller, which answers the client `busy`.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace minga {

class ThreadPool {
 public:
  using Job = std::function<void()>;

  struct Counters {
    std::uint64_t queued = 0;
    std::uint64_t running = 0;
    std::uint64_t done = 0;
    std::uint64_t rejected = 0;
  };

  // `name` names its threads (name_this_thread), empty for unnamed.
  ThreadPool(unsigned threads, std::size_t queue_capacity, std::string name = {});
  ~ThreadPool();  // joins: runs every job already accepted
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  // False when the queue is full or the pool is stopping.
  bool try_submit(Job job);

  // Stops accepting, lets the queued and running jobs finish, joins.
  void shutdown();

  unsigned threads() const { return thread_count_; }
  std::size_t capacity() const { return capacity_; }
  Counters counters() const;

 private:
  void run();

  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Job> queue_;
  std::size_t capacity_;
  bool stopping_ = false;
  // Workers blocked in cv_.wait: a submit wakes one only when some wait, so a
  // burst of jobs costs one wake-up, not one per job.
  unsigned idle_ = 0;
  std::uint64_t running_ = 0;
  std::uint64_t done_ = 0;
  std::uint64_t rejected_ = 0;
  std::vector<std::thread> threads_;
  unsigned thread_count_;
};

}  // namespace minga
