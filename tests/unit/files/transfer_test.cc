#include "apps/files/transfer.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "apps/files/blob_store.h"
#include "proto/files.pb.h"
#include "proto/minga.pb.h"
#include "wire/frame.h"

namespace minga::files {
namespace {

using namespace std::chrono_literals;

// A listening socket on 127.0.0.1 (connections wait in its backlog).
class Listener {
 public:
  Listener() {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = 0;
    EXPECT_EQ(::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
    EXPECT_EQ(::listen(fd_, 16), 0);
    socklen_t len = sizeof a;
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len);
    address_ = "127.0.0.1:" + std::to_string(ntohs(a.sin_port));
  }
  ~Listener() { ::close(fd_); }
  const std::string& address() const { return address_; }
  int fd() const { return fd_; }

 private:
  int fd_ = -1;
  std::string address_;
};

TEST(ConnectionPool, AGivenBackConnectionIsReusedAndForgetOrIdlenessClosesIt) {
  Listener server;
  ConnectionPool pool(2, 10s);
  bool reused = true;
  auto first = pool.take(server.address(), 1s, reused);
  ASSERT_TRUE(first.ok()) << first.error().message;
  EXPECT_FALSE(reused);
  pool.give(server.address(), std::move(first.value()));
  auto again = pool.take(server.address(), 1s, reused);
  ASSERT_TRUE(again.ok());
  EXPECT_TRUE(reused);
  pool.give(server.address(), std::move(again.value()));
  pool.forget(server.address());
  auto fresh = pool.take(server.address(), 1s, reused);
  ASSERT_TRUE(fresh.ok());
  EXPECT_FALSE(reused);

  ConnectionPool brief(2, 1ms);
  auto c = brief.take(server.address(), 1s, reused);
  ASSERT_TRUE(c.ok());
  brief.give(server.address(), std::move(c.value()));
  std::this_thread::sleep_for(20ms);
  auto stale = brief.take(server.address(), 1s, reused);
  ASSERT_TRUE(stale.ok());
  EXPECT_FALSE(reused);
}

TEST(ConnectionPool, AnUnreachableAddressIsUnavailable) {
  ConnectionPool pool;
  bool reused = true;
  auto c = pool.take("127.0.0.1:1", 500ms, reused);
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.error().code, Errc::unavailable);
  EXPECT_FALSE(reused);
}

// A replica that answers FilesBlobCommit frames as `policy` says, one
// connection at a time, on its own thread. The policy may block (the
// connection's later frames wait in the socket meanwhile).
class FakeReplica {
 public:
  enum class Reply { ok, refuse, drop };
  struct Request {
    int connection = 0;  // 1 for the first connection accepted
    std::uint64_t id = 0;
    std::string sha256;
    std::string data;
  };
  using Policy = std::function<Reply(const Request&)>;

  explicit FakeReplica(Policy policy) : policy_(std::move(policy)) {
    thread_ = std::thread([this] { serve(); });
  }
  ~FakeReplica() {
    stop_ = true;
    thread_.join();
  }
  const std::string& address() const { return listener_.address(); }
  std::vector<Request> requests() const {
    std::lock_guard lock(mu_);
    return requests_;
  }
  // Waits until `n` requests have come.
  bool wait_requests(std::size_t n) {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, 5s, [&] { return requests_.size() >= n; });
  }
  int connections() const { return connections_; }
  // Connections that the pusher closed (end of stream seen here).
  int closed_by_pusher() const { return closed_by_pusher_; }

 private:
  bool readable(int fd) {
    while (!stop_) {
      pollfd p{fd, POLLIN, 0};
      if (::poll(&p, 1, 20) > 0) return true;
    }
    return false;
  }
  void serve() {
    while (readable(listener_.fd())) {
      const int fd = ::accept(listener_.fd(), nullptr, nullptr);
      if (fd < 0) continue;
      int one = 1;  // answers leave at once, as a node's do
      ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
      const int connection = ++connections_;
      handle(fd, connection);
      ::close(fd);
    }
  }
  void handle(int fd, int connection) {
    std::string in;
    while (readable(fd)) {
      char buf[64 * 1024];
      const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
      if (n <= 0) {
        ++closed_by_pusher_;
        return;
      }
      in.append(buf, static_cast<std::size_t>(n));
      for (;;) {
        auto d = wire::decode(in, 8u << 20);
        if (d.status != wire::Decoded::Status::frame) break;
        pb::FilesBlobCommitRequest ask;
        EXPECT_EQ(d.header.type, pb::FILES_BLOB_COMMIT_REQUEST);
        EXPECT_TRUE(ask.ParseFromArray(d.body.data(), static_cast<int>(d.body.size())));
        EXPECT_EQ(ask.size(), ask.data().size());
        Request r{connection, d.header.request_id, ask.sha256(), ask.data()};
        in.erase(0, d.consumed);
        {
          std::lock_guard lock(mu_);
          requests_.push_back(r);
        }
        cv_.notify_all();
        const Reply reply = policy_(r);
        if (reply == Reply::drop) return;
        std::string out;
        if (reply == Reply::ok) {
          wire::encode(out, pb::FILES_BLOB_COMMIT_RESPONSE, r.id, pb::FilesBlobCommitResponse().SerializeAsString());
        } else {
          pb::ErrorResponse e;
          e.set_code(pb::ErrorCode(static_cast<int>(Errc::invalid_argument)));
          e.set_message("hash mismatch");
          wire::encode(out, pb::ERROR, r.id, e.SerializeAsString());
        }
        // (it may fail: the pusher may have closed the connection meanwhile)
        (void)::send(fd, out.data(), out.size(), MSG_NOSIGNAL);
      }
    }
  }

  Listener listener_;
  Policy policy_;
  std::atomic<bool> stop_{false};
  std::atomic<int> connections_{0};
  std::atomic<int> closed_by_pusher_{0};
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::vector<Request> requests_;
  std::thread thread_;
};

// A gate the fake replica's policy waits at until the test opens it.
class Gate {
 public:
  void open() {
    {
      std::lock_guard lock(mu_);
      open_ = true;
    }
    cv_.notify_all();
  }
  void wait() {
    std::unique_lock lock(mu_);
    cv_.wait(lock, [&] { return open_; });
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool open_ = false;
};

// Collects the answers of pushes, by index.
class Answers {
 public:
  explicit Answers(std::size_t n) : results_(n, Status(Error{Errc::internal, "no answer"})), answered_(n, 0) {}
  Pusher::Done done(std::size_t i) {
    return [this, i](Status st) {
      std::lock_guard lock(mu_);
      results_[i] = std::move(st);
      ++answered_[i];
      cv_.notify_all();
    };
  }
  // Waits until every push was answered; true if so within 5 s.
  bool wait_all() {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, 5s,
                        [&] { return std::all_of(answered_.begin(), answered_.end(), [](int a) { return a > 0; }); });
  }
  Status result(std::size_t i) {
    std::lock_guard lock(mu_);
    return results_[i];
  }
  int times_answered(std::size_t i) {
    std::lock_guard lock(mu_);
    return answered_[i];
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<Status> results_;
  std::vector<int> answered_;
};

std::string blob(std::size_t i) {
  return "blob " + std::to_string(i) + std::string(4096, static_cast<char>('a' + i % 26));
}

// Pushes blob 0 and waits until the replica has its request (one batch out),
// then queues blobs 1 to n-1 behind it; false if the request never came.
bool push_one_out_then_queue(Pusher& pusher, FakeReplica& replica, Answers& answers, std::size_t n) {
  pusher.push(sha256_hex(blob(0)), blob(0), answers.done(0));
  if (!replica.wait_requests(1)) return false;
  for (std::size_t i = 1; i < n; ++i) pusher.push(sha256_hex(blob(i)), blob(i), answers.done(i));
  return true;
}

TEST(Pusher, PushesQueuedWhileABatchIsOutLeaveInOneWriteAndAllComplete) {
  Gate gate;
  FakeReplica replica([&](const FakeReplica::Request& r) {
    if (r.id == 1) gate.wait();  // the first batch is out until the others are queued
    return FakeReplica::Reply::ok;
  });
  Pusher pusher(replica.address(), TransferOptions{});
  constexpr std::size_t n = 40;
  Answers answers(n);
  ASSERT_TRUE(push_one_out_then_queue(pusher, replica, answers, n));
  gate.open();
  ASSERT_TRUE(answers.wait_all());
  for (std::size_t i = 0; i < n; ++i) {
    EXPECT_TRUE(answers.result(i).ok()) << i << ": " << answers.result(i).error().message;
    EXPECT_EQ(answers.times_answered(i), 1);
  }
  const auto c = pusher.counters();
  EXPECT_EQ(c.pushes, n);
  EXPECT_EQ(c.batches, 2u);  // the first push alone, then the 39 queued behind it
  EXPECT_EQ(c.connects, 1u);
  EXPECT_EQ(c.retries, 0u);
  const auto got = replica.requests();
  ASSERT_EQ(got.size(), n);
  std::set<std::uint64_t> ids;
  for (const auto& r : got) {
    ids.insert(r.id);
    EXPECT_EQ(r.connection, 1);
    EXPECT_EQ(r.sha256, sha256_hex(r.data));
  }
  EXPECT_EQ(ids.size(), n);  // each its own request id
}

TEST(Pusher, ABatchStopsAtItsBoundOfPushes) {
  Gate gate;
  FakeReplica replica([&](const FakeReplica::Request& r) {
    if (r.id == 1) gate.wait();
    return FakeReplica::Reply::ok;
  });
  TransferOptions options;
  options.batch_pushes = 8;
  Pusher pusher(replica.address(), options);
  constexpr std::size_t n = 21;
  Answers answers(n);
  ASSERT_TRUE(push_one_out_then_queue(pusher, replica, answers, n));
  gate.open();
  ASSERT_TRUE(answers.wait_all());
  for (std::size_t i = 0; i < n; ++i) EXPECT_TRUE(answers.result(i).ok()) << i;
  EXPECT_EQ(pusher.counters().batches, 4u);  // 1, then 8 + 8 + 4
}

TEST(Pusher, AFailureAnswerCompletesOnlyItsPush) {
  const std::string bad = sha256_hex(blob(3));
  FakeReplica replica([&](const FakeReplica::Request& r) {
    return r.sha256 == bad ? FakeReplica::Reply::refuse : FakeReplica::Reply::ok;
  });
  Pusher pusher(replica.address(), TransferOptions{});
  constexpr std::size_t n = 6;
  Answers answers(n);
  for (std::size_t i = 0; i < n; ++i) pusher.push(sha256_hex(blob(i)), blob(i), answers.done(i));
  ASSERT_TRUE(answers.wait_all());
  for (std::size_t i = 0; i < n; ++i) {
    if (i == 3) {
      ASSERT_FALSE(answers.result(i).ok());
      EXPECT_EQ(answers.result(i).error().code, Errc::invalid_argument);
      EXPECT_EQ(answers.result(i).error().message, "hash mismatch");
    } else {
      EXPECT_TRUE(answers.result(i).ok()) << i << ": " << answers.result(i).error().message;
    }
  }
  EXPECT_EQ(pusher.counters().connects, 1u);  // the connection stays
  EXPECT_EQ(replica.connections(), 1);
}

TEST(Pusher, AKeptConnectionDroppedIsRetriedOnceOnANewOneThenFails) {
  // Connection 1 answers its first push and drops at the second; connection
  // 2 drops at once; connection 3 answers.
  FakeReplica replica([&](const FakeReplica::Request& r) {
    if (r.connection == 1 && r.id == 1) return FakeReplica::Reply::ok;
    if (r.connection <= 2) return FakeReplica::Reply::drop;
    return FakeReplica::Reply::ok;
  });
  Pusher pusher(replica.address(), TransferOptions{});
  Answers answers(3);
  pusher.push(sha256_hex(blob(0)), blob(0), answers.done(0));
  ASSERT_TRUE(replica.wait_requests(1));
  while (answers.times_answered(0) == 0) std::this_thread::sleep_for(1ms);
  EXPECT_TRUE(answers.result(0).ok());
  // Kept connection dropped: sent again on connection 2, dropped too.
  Answers second(1);
  pusher.push(sha256_hex(blob(1)), blob(1), second.done(0));
  ASSERT_TRUE(second.wait_all());
  ASSERT_FALSE(second.result(0).ok());
  EXPECT_EQ(second.result(0).error().code, Errc::unavailable);
  EXPECT_EQ(second.times_answered(0), 1);
  auto c = pusher.counters();
  EXPECT_EQ(c.retries, 1u);
  EXPECT_EQ(c.connects, 2u);
  // The failed connection is replaced for the next push.
  Answers third(1);
  pusher.push(sha256_hex(blob(2)), blob(2), third.done(0));
  ASSERT_TRUE(third.wait_all());
  EXPECT_TRUE(third.result(0).ok()) << third.result(0).error().message;
  c = pusher.counters();
  EXPECT_EQ(c.connects, 3u);
  EXPECT_EQ(c.retries, 1u);
  const auto got = replica.requests();
  ASSERT_EQ(got.size(), 4u);
  EXPECT_EQ(got[1].sha256, got[2].sha256);  // the same push on connections 1 and 2
  EXPECT_EQ(got[1].connection, 1);
  EXPECT_EQ(got[2].connection, 2);
  EXPECT_EQ(got[3].connection, 3);
}

TEST(Pusher, AKeptConnectionDroppedSucceedsOnTheRetry) {
  FakeReplica replica([&](const FakeReplica::Request& r) {
    return r.connection == 1 && r.id == 2 ? FakeReplica::Reply::drop : FakeReplica::Reply::ok;
  });
  Pusher pusher(replica.address(), TransferOptions{});
  Answers first(1);
  pusher.push(sha256_hex(blob(0)), blob(0), first.done(0));
  ASSERT_TRUE(first.wait_all());
  EXPECT_TRUE(first.result(0).ok());
  Answers second(1);
  pusher.push(sha256_hex(blob(1)), blob(1), second.done(0));
  ASSERT_TRUE(second.wait_all());
  EXPECT_TRUE(second.result(0).ok()) << second.result(0).error().message;
  EXPECT_EQ(pusher.counters().retries, 1u);
  EXPECT_EQ(replica.connections(), 2);
}

TEST(Pusher, ANewConnectionDroppedFailsItsPushWithoutARetry) {
  FakeReplica replica([](const FakeReplica::Request&) { return FakeReplica::Reply::drop; });
  Pusher pusher(replica.address(), TransferOptions{});
  Answers answers(1);
  pusher.push(sha256_hex(blob(0)), blob(0), answers.done(0));
  ASSERT_TRUE(answers.wait_all());
  ASSERT_FALSE(answers.result(0).ok());
  EXPECT_EQ(answers.result(0).error().code, Errc::unavailable);
  EXPECT_EQ(pusher.counters().retries, 0u);
  EXPECT_EQ(replica.requests().size(), 1u);
}

TEST(Pusher, AnUnreachableReplicaIsUnavailable) {
  Pusher pusher("127.0.0.1:1", TransferOptions{});
  Answers answers(2);
  pusher.push(sha256_hex(blob(0)), blob(0), answers.done(0));
  pusher.push(sha256_hex(blob(1)), blob(1), answers.done(1));
  ASSERT_TRUE(answers.wait_all());
  for (std::size_t i = 0; i < 2; ++i) {
    ASSERT_FALSE(answers.result(i).ok());
    EXPECT_EQ(answers.result(i).error().code, Errc::unavailable);
  }
}

TEST(Pusher, ABatchNotAnsweredInTimeFailsAndItsConnectionIsReplaced) {
  Gate gate;
  FakeReplica replica([&](const FakeReplica::Request& r) {
    if (r.connection == 1) gate.wait();  // never answers in time
    return FakeReplica::Reply::ok;
  });
  TransferOptions options;
  options.timeout = 200ms;
  Pusher pusher(replica.address(), options);
  Answers answers(1);
  const auto start = std::chrono::steady_clock::now();
  pusher.push(sha256_hex(blob(0)), blob(0), answers.done(0));
  ASSERT_TRUE(answers.wait_all());
  EXPECT_GE(std::chrono::steady_clock::now() - start, 200ms);
  ASSERT_FALSE(answers.result(0).ok());
  EXPECT_EQ(answers.result(0).error().code, Errc::timeout);
  EXPECT_EQ(answers.result(0).error().message, "timed out waiting for " + replica.address());
  gate.open();
  Answers next(1);
  pusher.push(sha256_hex(blob(1)), blob(1), next.done(0));
  ASSERT_TRUE(next.wait_all());
  EXPECT_TRUE(next.result(0).ok()) << next.result(0).error().message;
  EXPECT_EQ(pusher.counters().connects, 2u);
}

TEST(Pusher, StopAnswersThePushesOutAndQueuedWithShuttingDown) {
  Gate gate;
  FakeReplica replica([&](const FakeReplica::Request&) {
    gate.wait();
    return FakeReplica::Reply::ok;
  });
  Pusher pusher(replica.address(), TransferOptions{});
  constexpr std::size_t n = 5;
  Answers answers(n);
  ASSERT_TRUE(push_one_out_then_queue(pusher, replica, answers, n));
  const auto start = std::chrono::steady_clock::now();
  pusher.stop();
  EXPECT_LT(std::chrono::steady_clock::now() - start, 1s);
  ASSERT_TRUE(answers.wait_all());
  for (std::size_t i = 0; i < n; ++i) {
    ASSERT_FALSE(answers.result(i).ok());
    EXPECT_EQ(answers.result(i).error().code, Errc::shutting_down);
    EXPECT_EQ(answers.times_answered(i), 1);
  }
  Answers late(1);
  pusher.push(sha256_hex(blob(9)), blob(9), late.done(0));
  EXPECT_EQ(late.times_answered(0), 1);  // at once, on this thread
  EXPECT_EQ(late.result(0).error().code, Errc::shutting_down);
  gate.open();
}

TEST(Pusher, AnIdlePusherClosesItsConnection) {
  FakeReplica replica([](const FakeReplica::Request&) { return FakeReplica::Reply::ok; });
  TransferOptions options;
  options.pusher_idle = 50ms;
  Pusher pusher(replica.address(), options);
  Answers first(1);
  pusher.push(sha256_hex(blob(0)), blob(0), first.done(0));
  ASSERT_TRUE(first.wait_all());
  for (int i = 0; i < 100 && replica.closed_by_pusher() == 0; ++i) std::this_thread::sleep_for(10ms);
  EXPECT_EQ(replica.closed_by_pusher(), 1);
  Answers second(1);
  pusher.push(sha256_hex(blob(1)), blob(1), second.done(0));
  ASSERT_TRUE(second.wait_all());
  EXPECT_TRUE(second.result(0).ok());
  const auto c = pusher.counters();
  EXPECT_EQ(c.connects, 2u);
  EXPECT_EQ(c.retries, 0u);  // closed here, not found closed
}

TEST(Pushers, OnePusherPerAddressAndStopAnswersLatePushes) {
  FakeReplica a([](const FakeReplica::Request&) { return FakeReplica::Reply::ok; });
  FakeReplica b([](const FakeReplica::Request&) { return FakeReplica::Reply::ok; });
  Pushers pushers{TransferOptions{}};
  Answers answers(4);
  pushers.push(a.address(), sha256_hex(blob(0)), blob(0), answers.done(0));
  pushers.push(b.address(), sha256_hex(blob(1)), blob(1), answers.done(1));
  pushers.push(a.address(), sha256_hex(blob(2)), blob(2), answers.done(2));
  // Answered, not only received: a stop before the answers would (rightly)
  // answer them shutting_down.
  for (int i = 0; i < 5000 && !(answers.times_answered(0) && answers.times_answered(1) && answers.times_answered(2));
       ++i) {
    std::this_thread::sleep_for(1ms);
  }
  pushers.stop();
  pushers.push(a.address(), sha256_hex(blob(3)), blob(3), answers.done(3));
  ASSERT_TRUE(answers.wait_all());
  for (std::size_t i = 0; i < 3; ++i) EXPECT_TRUE(answers.result(i).ok()) << i;
  EXPECT_EQ(answers.result(3).error().code, Errc::shutting_down);
  EXPECT_EQ(a.connections(), 1);
  EXPECT_EQ(b.connections(), 1);
  EXPECT_EQ(pushers.counters().pushes, 3u);
}

}  // namespace
}  // namespace minga::files
