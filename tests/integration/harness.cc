#include "harness.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <fstream>
#include <random>
#include <regex>
#include <sstream>
#include <stdexcept>
#include <thread>
#include <utility>

namespace minga::testing {
namespace {

std::string slurp(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace

std::string minga_binary() { return MINGA_BINARY; }

TempDir::TempDir() {
  std::string tmpl = (std::filesystem::temp_directory_path() / "minga-test-XXXXXX").string();
  if (::mkdtemp(tmpl.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
  path_ = tmpl;
}

TempDir::~TempDir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

Process::Process(Process&& o) noexcept
    : pid_(std::exchange(o.pid_, -1)), exit_code_(o.exit_code_), dir_(std::move(o.dir_)) {}

Process& Process::operator=(Process&& o) noexcept {
  if (this != &o) {
    if (pid_ > 0 && running()) {
      ::kill(pid_, SIGKILL);
      wait(5s);
    }
    pid_ = std::exchange(o.pid_, -1);
    exit_code_ = o.exit_code_;
    dir_ = std::move(o.dir_);
  }
  return *this;
}

Process::~Process() {
  if (pid_ > 0 && running()) {
    ::kill(pid_, SIGKILL);
    wait(5s);
  }
}

Process Process::spawn(const std::vector<std::string>& argv, const Env& env, const std::string& stdin_text) {
  Process p;
  p.dir_ = std::make_unique<TempDir>();
  const std::string out = (p.dir_->path() / "stdout").string();
  const std::string err = (p.dir_->path() / "stderr").string();
  const std::string in = (p.dir_->path() / "stdin").string();
  {
    std::ofstream f(in, std::ios::binary);
    f << stdin_text;
  }
  const pid_t pid = ::fork();
  if (pid < 0) throw std::runtime_error("fork failed");
  if (pid == 0) {
    ::setpgid(0, 0);
    const int fin = ::open(in.c_str(), O_RDONLY);
    const int fout = ::open(out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    const int ferr = ::open(err.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    ::dup2(fin, 0);
    ::dup2(fout, 1);
    ::dup2(ferr, 2);
    for (const auto& [k, v] : env) ::setenv(k.c_str(), v.c_str(), 1);
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    ::execvp(args[0], args.data());
    std::_Exit(127);
  }
  p.pid_ = pid;
  return p;
}

bool Process::running() {
  if (exit_code_) return false;
  return !wait(0ms).has_value();
}

void Process::signal(int signo) {
  if (pid_ > 0 && !exit_code_) ::kill(pid_, signo);
}

std::optional<int> Process::wait(std::chrono::milliseconds timeout) {
  if (exit_code_) return exit_code_;
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    int status = 0;
    const pid_t r = ::waitpid(pid_, &status, WNOHANG);
    if (r == pid_) {
      exit_code_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
      return exit_code_;
    }
    if (std::chrono::steady_clock::now() >= deadline) return std::nullopt;
    std::this_thread::sleep_for(5ms);
  }
}

std::string Process::out() const { return dir_ ? slurp(dir_->path() / "stdout") : ""; }
std::string Process::err() const { return dir_ ? slurp(dir_->path() / "stderr") : ""; }

bool Process::wait_for_output(const std::string& needle, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (err().find(needle) != std::string::npos || out().find(needle) != std::string::npos) return true;
    if (!running()) return false;
    std::this_thread::sleep_for(10ms);
  }
  return false;
}

RunResult run_minga(const std::vector<std::string>& args, const Env& env, const std::string& stdin_text,
                    std::chrono::milliseconds timeout) {
  std::vector<std::string> argv{minga_binary()};
  argv.insert(argv.end(), args.begin(), args.end());
  Process p = Process::spawn(argv, env, stdin_text);
  auto code = p.wait(timeout);
  if (!code) {
    p.signal(SIGKILL);
    code = p.wait(5s);
  }
  return RunResult{code.value_or(-1), p.out(), p.err()};
}

NodeProcess NodeProcess::start(const std::vector<std::string>& args, const Env& env) {
  NodeProcess n;
  n.dir_ = std::make_unique<TempDir>();
  std::vector<std::string> argv{minga_binary(), "node", "--host", "127.0.0.1", "--monitor-port", "0"};
  bool has_data_dir = false, has_port = false;
  for (const auto& a : args) {
    has_data_dir = has_data_dir || a == "--data-dir";
    has_port = has_port || a == "--port";
  }
  if (!has_port) argv.insert(argv.end(), {"--port", "0"});
  if (!has_data_dir) {
    n.data_dir_ = (n.dir_->path() / "data").string();
    argv.insert(argv.end(), {"--data-dir", n.data_dir_});
  }
  argv.insert(argv.end(), args.begin(), args.end());
  n.proc_ = Process::spawn(argv, env);
  if (!n.proc_.wait_for_output("action: node_start | result: success", 15s)) {
    throw std::runtime_error("node did not start:\n" + n.proc_.err());
  }
  static const std::regex re(
      R"(action: node_start \| result: success .*\| address: 127\.0\.0\.1:(\d+) \| monitor: http://127\.0\.0\.1:(\d+)/)");
  std::smatch m;
  const std::string log = n.proc_.err();
  if (!std::regex_search(log, m, re)) throw std::runtime_error("cannot find the node's ports in:\n" + log);
  n.port_ = static_cast<std::uint16_t>(std::stoi(m[1]));
  n.monitor_port_ = static_cast<std::uint16_t>(std::stoi(m[2]));
  n.address_ = "127.0.0.1:" + std::to_string(n.port_);
  return n;
}

RawConnection::RawConnection(std::uint16_t port) {
  fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    ::close(fd_);
    fd_ = -1;
  }
}

RawConnection::~RawConnection() {
  if (fd_ >= 0) ::close(fd_);
}

bool RawConnection::send(const std::string& bytes) {
  std::size_t off = 0;
  while (off < bytes.size()) {
    const ssize_t n = ::send(fd_, bytes.data() + off, bytes.size() - off, MSG_NOSIGNAL);
    if (n <= 0) return false;
    off += static_cast<std::size_t>(n);
  }
  return true;
}

std::string RawConnection::read(std::size_t n, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (buffered_.size() < n) {
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) break;
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) break;
    char buf[65536];
    const ssize_t r = ::recv(fd_, buf, sizeof buf, 0);
    if (r <= 0) break;
    buffered_.append(buf, static_cast<std::size_t>(r));
  }
  const std::size_t k = std::min(n, buffered_.size());
  std::string out = buffered_.substr(0, k);
  buffered_.erase(0, k);
  return out;
}

std::string RawConnection::read_line(std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    if (auto nl = buffered_.find('\n'); nl != std::string::npos) {
      std::string line = buffered_.substr(0, nl);
      buffered_.erase(0, nl + 1);
      return line;
    }
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return {};
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) return {};
    char buf[4096];
    const ssize_t r = ::recv(fd_, buf, sizeof buf, 0);
    if (r <= 0) return {};
    buffered_.append(buf, static_cast<std::size_t>(r));
  }
}

bool RawConnection::closed_by_peer(std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return false;
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) return false;
    char buf[4096];
    const ssize_t r = ::recv(fd_, buf, sizeof buf, 0);
    if (r == 0) return true;
    if (r < 0) return errno == ECONNRESET;
    buffered_.append(buf, static_cast<std::size_t>(r));
  }
}

bool NodeProcess::wait_leading(std::chrono::milliseconds timeout) const {
  return eventually([this] { return http_get(monitor_port_, "/leader").first == 200; }, timeout);
}

std::pair<int, std::string> http_get(std::uint16_t port, const std::string& path, const std::string& accept) {
  RawConnection c(port);
  if (!c.ok()) return {0, ""};
  std::string req = "GET " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n";
  if (!accept.empty()) req += "Accept: " + accept + "\r\n";
  req += "\r\n";
  c.send(req);
  const std::string resp = c.read(1 << 24, 5s);
  const auto sp = resp.find(' ');
  const auto body = resp.find("\r\n\r\n");
  if (sp == std::string::npos || body == std::string::npos) return {0, resp};
  return {std::atoi(resp.c_str() + sp + 1), resp.substr(body + 4)};
}

bool eventually(const std::function<bool()>& done, std::chrono::milliseconds timeout, std::chrono::milliseconds poll) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!done()) {
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(poll);
  }
  return true;
}

std::size_t count_log_lines(const std::string& log, const std::string& level, const std::string& needle) {
  std::size_t n = 0;
  std::istringstream in(log);
  // The text pattern is "<date> <time> <level, padded to 5> [<name>] <event>".
  const std::string tag = " " + level + " ";
  for (std::string line; std::getline(in, line);) {
    const auto name = line.find(" [");
    if (name == std::string::npos || line.find(needle) == std::string::npos) continue;
    const std::string head = line.substr(0, name + 1);
    if (head.find(tag) != std::string::npos) ++n;
  }
  return n;
}

}  // namespace minga::testing
