// Real processes for integration tests: run the minga binary, start nodes on
// 127.0.0.1 with ephemeral ports, signal them by PID, read their logs.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace minga::testing {

using Env = std::map<std::string, std::string>;
using namespace std::chrono_literals;

// Path of the minga binary under test.
std::string minga_binary();

// A directory under /tmp removed (recursively) on destruction.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::filesystem::path& path() const { return path_; }
  std::string str() const { return path_.string(); }

 private:
  std::filesystem::path path_;
};

struct RunResult {
  int exit_code = -1;  // 128+N when killed by signal N
  std::string out;
  std::string err;
};

// A child process whose stdout and stderr go to files. The destructor kills
// it (SIGKILL) if it is still running.
class Process {
 public:
  Process() = default;
  Process(Process&& other) noexcept;
  Process& operator=(Process&& other) noexcept;
  ~Process();

  static Process spawn(const std::vector<std::string>& argv, const Env& env = {}, const std::string& stdin_text = "");

  int pid() const { return pid_; }
  bool running();
  void signal(int signo);
  // Exit code (128+N when killed by signal N), or nullopt on timeout.
  std::optional<int> wait(std::chrono::milliseconds timeout);
  std::string out() const;
  std::string err() const;
  // Waits until `needle` appears in stderr or stdout; false on timeout or exit.
  bool wait_for_output(const std::string& needle, std::chrono::milliseconds timeout);

 private:
  int pid_ = -1;
  std::optional<int> exit_code_;
  std::unique_ptr<TempDir> dir_;
};

// Runs `minga ARGS...` to completion (killed after `timeout`).
RunResult run_minga(const std::vector<std::string>& args, const Env& env = {}, const std::string& stdin_text = "",
                    std::chrono::milliseconds timeout = 30s);

// A `minga node` on 127.0.0.1 with ephemeral client and monitor ports and a
// fresh data dir (unless --port or --data-dir is among `args`: a restarted
// node can take its old port).
class NodeProcess {
 public:
  static NodeProcess start(const std::vector<std::string>& args = {}, const Env& env = {});
  Process& process() { return proc_; }
  const std::string& address() const { return address_; }  // "127.0.0.1:PORT"
  std::uint16_t port() const { return port_; }
  std::uint16_t monitor_port() const { return monitor_port_; }
  const std::string& data_dir() const { return data_dir_; }
  // Whether the node leads (its /leader answers 200) within `timeout`. A
  // node alone is a cluster of one that elects itself after an election
  // timeout; tests that read its role or write wait for this first.
  bool wait_leading(std::chrono::milliseconds timeout = 10s) const;

 private:
  std::unique_ptr<TempDir> dir_;
  Process proc_;
  std::string address_;
  std::string data_dir_;
  std::uint16_t port_ = 0;
  std::uint16_t monitor_port_ = 0;
};

// A raw TCP connection to 127.0.0.1:port for protocol-level tests.
class RawConnection {
 public:
  explicit RawConnection(std::uint16_t port);
  ~RawConnection();
  bool send(const std::string& bytes);
  // Reads until `n` bytes, EOF or timeout; returns what arrived.
  std::string read(std::size_t n, std::chrono::milliseconds timeout);
  // Reads until a line ends with '\n'.
  std::string read_line(std::chrono::milliseconds timeout);
  // True when the peer closed the connection within `timeout`.
  bool closed_by_peer(std::chrono::milliseconds timeout);
  bool ok() const { return fd_ >= 0; }

 private:
  int fd_ = -1;
  std::string buffered_;
};

// GET http://127.0.0.1:port/path; returns the status code and body.
std::pair<int, std::string> http_get(std::uint16_t port, const std::string& path, const std::string& accept = "");

// Polls `done` every `poll` (10 ms) until it holds or `timeout` passes;
// returns whether it held. Tests wait for a state this way, never with a
// fixed sleep: the deadline only bounds a failure, it is not a guess at a
// delay.
bool eventually(const std::function<bool()>& done, std::chrono::milliseconds timeout,
                std::chrono::milliseconds poll = std::chrono::milliseconds(10));

// How many lines of a node's text log at `level` (as the log spells it:
// "warning", "debug", ...) contain `needle`.
std::size_t count_log_lines(const std::string& log, const std::string& level, const std::string& needle);

}  // namespace minga::testing
