#include "base/thread_pool.h"

#include "base/assert.h"
#include "base/thread_name.h"

namespace minga {

ThreadPool::ThreadPool(unsigned threads, std::size_t queue_capacity, std::string name)
    : capacity_(queue_capacity), thread_count_(threads) {
  MINGA_ASSERT(threads > 0, "thread pool needs at least one thread");
  MINGA_ASSERT(queue_capacity > 0, "thread pool needs a queue");
  threads_.reserve(threads);
  for (unsigned i = 0; i < threads; ++i)
    threads_.emplace_back([this, name] {
      if (!name.empty()) name_this_thread(name);
      run();
    });
}

ThreadPool::~ThreadPool() { shutdown(); }

bool ThreadPool::try_submit(Job job) {
  bool wake = false;
  {
    std::lock_guard lock(mu_);
    if (stopping_ || queue_.size() >= capacity_) {
      ++rejected_;
      return false;
    }
    queue_.push_back(std::move(job));
    // Busy workers look at the queue before they wait again; only a waiting
    // one needs waking.
    wake = idle_ > 0;
  }
  if (wake) cv_.notify_one();
  return true;
}

void ThreadPool::shutdown() {
  {
    std::lock_guard lock(mu_);
    if (stopping_ && threads_.empty()) return;
    stopping_ = true;
  }
  cv_.notify_all();
  for (auto& t : threads_) {
    if (t.joinable()) t.join();
  }
  threads_.clear();
}

ThreadPool::Counters ThreadPool::counters() const {
  std::lock_guard lock(mu_);
  return Counters{queue_.size(), running_, done_, rejected_};
}

void ThreadPool::run() {
  for (;;) {
    Job job;
    {
      std::unique_lock lock(mu_);
      while (!stopping_ && queue_.empty()) {
        ++idle_;
        cv_.wait(lock);
        --idle_;
      }
      if (queue_.empty()) return;  // stopping and drained
      job = std::move(queue_.front());
      queue_.pop_front();
      ++running_;
    }
    job();
    std::lock_guard lock(mu_);
    --running_;
    ++done_;
  }
}

}  // namespace minga
