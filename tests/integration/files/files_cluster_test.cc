// Files as users see them: real nodes on 127.0.0.1, the `minga` CLI, and
// the binary protocol where a test must get past the CLI's own checks.
#include <algorithm>
#include <atomic>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <mutex>
#include <regex>
#include <set>
#include <thread>

#include <gtest/gtest.h>

#include "apps/files/blob_store.h"
#include "cluster/fault_proxy.h"
#include "cluster/raft_cluster.h"
#include "proto/files.pb.h"

namespace minga::testing {
namespace {

namespace fs = std::filesystem;
using files::sha256_hex;

std::string read_file(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

void write_file(const fs::path& p, const std::string& data) {
  std::ofstream out(p, std::ios::binary | std::ios::trunc);
  out.write(data.data(), static_cast<std::streamsize>(data.size()));
}

std::string every_byte(std::size_t repeat) {
  std::string s;
  for (std::size_t r = 0; r < repeat; ++r) {
    for (int i = 0; i < 256; ++i) s.push_back(static_cast<char>(i));
  }
  return s;
}

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

fs::path blob_path(const RaftCluster::Member& m, const std::string& hash) {
  return fs::path(m.data_dir) / "blobs" / hash.substr(0, 2) / hash;
}

// The whole records of a member's journal segments, as docs/files.md
// describes them ("MBJ1", the length as 8 bytes LE, the 64 hex digits of
// the SHA-256, the bytes): (hash, bytes) in the order written. A small blob
// lives there (files.pack_max), with no file of its own.
std::vector<std::pair<std::string, std::string>> segment_records(const RaftCluster::Member& m) {
  std::vector<std::pair<std::string, std::string>> out;
  const fs::path dir = fs::path(m.data_dir) / "blobs" / "journal";
  std::vector<fs::path> segments;
  std::error_code ec;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) segments.push_back(it->path());
  std::sort(segments.begin(), segments.end());
  for (const auto& p : segments) {
    const std::string s = read_file(p);
    std::size_t at = 0;
    while (at + 76 <= s.size() && s.compare(at, 4, "MBJ1") == 0) {
      std::uint64_t length = 0;
      for (int i = 7; i >= 0; --i) length = length << 8 | static_cast<unsigned char>(s[at + 4 + i]);
      if (at + 76 + length > s.size()) break;
      out.emplace_back(s.substr(at + 12, 64), s.substr(at + 76, length));
      at += 76 + length;
    }
  }
  return out;
}

// Whether member `m` holds `content` durably: as its blob file, or as the
// latest record under its hash in `records` (its segment_records()).
bool holds(const RaftCluster::Member& m, const std::string& content,
           const std::vector<std::pair<std::string, std::string>>& records) {
  const std::string hash = sha256_hex(content);
  if (fs::exists(blob_path(m, hash))) return read_file(blob_path(m, hash)) == content;
  for (auto it = records.rbegin(); it != records.rend(); ++it) {
    if (it->first == hash) return it->second == content;
  }
  return false;
}

bool holds(const RaftCluster::Member& m, const std::string& content) { return holds(m, content, segment_records(m)); }

// A get on node `address` through the protocol (the file fits one answer).
Result<pb::FilesGetResponse> get_raw(const std::string& address, const std::string& name) {
  auto ep = net::parse_endpoint(address);
  auto c = net::Client::connect(ep.value(), 5s);
  if (!c.ok()) return c.error();
  pb::FilesGetRequest req;
  req.set_name(name);
  return c->call<pb::FilesGetResponse>(pb::FILES_GET_REQUEST, req, pb::FILES_GET_RESPONSE, 10s);
}

TEST(Files, PutGetLsStatRmThroughEachNode) {
  auto c = RaftCluster::start(3);
  ASSERT_TRUE(c->wait_leader());
  TempDir tmp;
  struct Case {
    std::string name, content;
  };
  const std::vector<Case> cases = {
      {"bytes/all-256.bin", every_byte(5000)},  // 1.28 MB: two chunks
      {"empty", ""},
      {"ñandú/café ☕ 日本.txt", "hola, mundo\n"},
  };
  // Each file put through a different node.
  for (std::size_t i = 0; i < cases.size(); ++i) {
    const fs::path local = tmp.path() / ("in" + std::to_string(i));
    write_file(local, cases[i].content);
    auto put = run_minga({"--server", c->address(i % 3), "put", local.string(), "--name", cases[i].name});
    ASSERT_EQ(put.exit_code, 0) << put.err;
    EXPECT_EQ(put.out, cases[i].name + " " + std::to_string(cases[i].content.size()) + " " +
                           sha256_hex(cases[i].content) + "\n");
  }
  // Every node serves every file, to stdout and to -o OUT.
  for (std::size_t node = 0; node < 3; ++node) {
    for (std::size_t i = 0; i < cases.size(); ++i) {
      auto out = run_minga({"--server", c->address(node), "get", cases[i].name});
      EXPECT_EQ(out.exit_code, 0) << out.err;
      EXPECT_TRUE(out.out == cases[i].content) << cases[i].name << " from node " << node;
      const fs::path dest = tmp.path() / ("out-" + std::to_string(node) + "-" + std::to_string(i));
      auto to_file = run_minga({"--server", c->address(node), "get", cases[i].name, "-o", dest.string()});
      EXPECT_EQ(to_file.exit_code, 0) << to_file.err;
      EXPECT_EQ(to_file.out, "");
      EXPECT_TRUE(read_file(dest) == cases[i].content) << cases[i].name;
    }
    auto ls = run_minga({"--server", c->address(node), "ls"});
    EXPECT_EQ(ls.exit_code, 0) << ls.err;
    EXPECT_EQ(ls.out, "bytes/all-256.bin\nempty\nñandú/café ☕ 日本.txt\n");
    auto prefixed = run_minga({"--server", c->address(node), "ls", "ñandú/", "--stale"});
    EXPECT_EQ(prefixed.out, "ñandú/café ☕ 日本.txt\n");
  }
  auto longform = c->minga({"ls", "-l"});
  EXPECT_EQ(longform.exit_code, 0) << longform.err;
  EXPECT_NE(longform.out.find("NAME"), std::string::npos) << longform.out;
  EXPECT_NE(longform.out.find("1280000"), std::string::npos) << longform.out;
  // Name, size, created (UTC, ms), replica count.
  EXPECT_TRUE(std::regex_search(
      longform.out, std::regex("\nñandú/café ☕ 日本.txt +12 +[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:]{8}\\.[0-9]{3}Z +3\n")))
      << longform.out;

  auto stat = c->minga({"stat", "empty"});
  EXPECT_EQ(stat.exit_code, 0) << stat.err;
  EXPECT_NE(stat.out.find("size: 0\nsha256: " + sha256_hex("") + "\n"), std::string::npos) << stat.out;
  EXPECT_NE(stat.out.find("nodes: "), std::string::npos);
  auto json = c->minga({"-o", "json", "stat", "empty"});
  EXPECT_EQ(json.out.rfind(R"({"ok":true,"name":"empty","size":0,"sha256":")" + sha256_hex("") + "\"", 0), 0u)
      << json.out;
  // Three replicas, the blob durable on each node (a file: above files.pack_max).
  for (std::size_t node = 0; node < 3; ++node) {
    EXPECT_TRUE(fs::exists(blob_path(c->member(node), sha256_hex(cases[0].content)))) << node;
    EXPECT_TRUE(holds(c->member(node), cases[2].content)) << node;
  }
  EXPECT_NE(json.out.find(R"("replicas":[")"), std::string::npos);

  // Standard input, and replacing a name.
  auto piped = run_minga({"--server", c->address(1), "put", "-", "--name", "empty"}, {}, "now full");
  ASSERT_EQ(piped.exit_code, 0) << piped.err;
  EXPECT_EQ(piped.out, "empty 8 " + sha256_hex("now full") + "\n");
  EXPECT_EQ(run_minga({"--server", c->address(2), "get", "empty"}).out, "now full");

  // rm, then the name is gone everywhere.
  auto rm = run_minga({"--server", c->address(2), "rm", "empty"});
  EXPECT_EQ(rm.exit_code, 0) << rm.err;
  for (std::size_t node = 0; node < 3; ++node) {
    auto gone = run_minga({"--server", c->address(node), "get", "empty"});
    EXPECT_EQ(gone.exit_code, 1);
    EXPECT_EQ(gone.err, "error: no file empty\n");
  }
  auto again = c->minga({"rm", "empty"});
  EXPECT_EQ(again.exit_code, 1);
  // -o json for ls (with -l: the same object), rm and a refused rm.
  const std::string one = "{\"name\":\"ñandú/café ☕ 日本.txt\",\"size\":12,\"sha256\":\"" +
                          sha256_hex(cases[2].content) + "\",\"created\":\"";
  for (const bool longform : {false, true}) {
    std::vector<std::string> args = {"-o", "json", "ls", "ñandú/"};
    if (longform) args.push_back("-l");
    auto listed = c->minga(args);
    EXPECT_EQ(listed.exit_code, 0) << listed.err;
    EXPECT_EQ(listed.out.rfind("{\"ok\":true,\"files\":[" + one, 0), 0u) << listed.out;
    EXPECT_NE(listed.out.find(R"(,"replicas":[")"), std::string::npos) << listed.out;
  }
  auto removed = c->minga({"-o", "json", "rm", "ñandú/café ☕ 日本.txt"});
  EXPECT_EQ(removed.exit_code, 0) << removed.err;
  EXPECT_TRUE(std::regex_match(removed.out, std::regex(R"(\{"ok":true,"index":[0-9]+\}\n)"))) << removed.out;
  auto refused = c->minga({"-o", "json", "rm", "ñandú/café ☕ 日本.txt"});
  EXPECT_EQ(refused.exit_code, 1);
  EXPECT_EQ(refused.out, "{\"ok\":false,\"error\":\"no file ñandú/café ☕ 日本.txt\"}\n");
  // A failed get leaves no OUT and no temporary file.
  const fs::path dest = tmp.path() / "never";
  EXPECT_EQ(c->minga({"get", "empty", "-o", dest.string()}).exit_code, 1);
  for (const auto& e : fs::directory_iterator(tmp.path())) {
    EXPECT_EQ(e.path().filename().string().find("never"), std::string::npos) << e.path();
  }
}

// Peak resident memory of process `pid`, in bytes (VmHWM).
std::size_t peak_rss_bytes(int pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("VmHWM:", 0) == 0) return std::stoull(line.substr(6)) * 1024;
  }
  return 0;
}

TEST(Files, ALargeFileStreamsThroughAFollowerInBoundedMemory) {
  auto c = RaftCluster::start(3);
  const auto leader = c->wait_leader();
  ASSERT_TRUE(leader);
  const std::size_t follower = (*leader + 1) % 3;
  TempDir tmp;
  constexpr std::size_t kBytes = 64u << 20;
  std::string content(kBytes, '\0');
  std::uint64_t x = 88172645463325252ull;  // xorshift: incompressible, reproducible
  for (std::size_t i = 0; i < kBytes; i += 8) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    std::memcpy(content.data() + i, &x, 8);
  }
  const fs::path local = tmp.path() / "big.bin";
  write_file(local, content);
  std::vector<std::size_t> before;
  for (std::size_t i = 0; i < 3; ++i) before.push_back(peak_rss_bytes(c->member(i).proc.pid()));
  auto put = run_minga({"--server", c->address(follower), "-o", "json", "put", local.string(), "--name", "big.bin"}, {},
                       "", 120s);
  ASSERT_EQ(put.exit_code, 0) << put.err;
  EXPECT_EQ(put.out.rfind(R"({"ok":true,"name":"big.bin","size":67108864,"sha256":")" + sha256_hex(content) + "\"", 0),
            0u)
      << put.out;
  const fs::path out = tmp.path() / "back.bin";
  auto get = run_minga({"--server", c->address(*leader), "get", "big.bin", "-o", out.string()}, {}, "", 120s);
  ASSERT_EQ(get.exit_code, 0) << get.err;
  EXPECT_TRUE(read_file(out) == content);
  // Each node held a few 1 MiB chunks at a time, never the file.
  for (std::size_t i = 0; i < 3; ++i) {
    const std::size_t grown = peak_rss_bytes(c->member(i).proc.pid()) - before[i];
    EXPECT_LT(grown, 32u << 20) << "node " << i << " grew by " << grown << " bytes";
    std::cout << "node " << i << ": peak RSS grew by " << grown / 1024 << " KiB for a 64 MiB file\n";
  }
}

TEST(Files, BadNamesAreRefusedAndNothingIsWrittenOutsideTheDataDir) {
  auto c = RaftCluster::start(3);
  ASSERT_TRUE(c->wait_leader());
  TempDir tmp;
  const fs::path local = tmp.path() / "payload";
  write_file(local, "payload");
  const std::vector<std::pair<std::string, std::string>> bad = {
      {"../../etc/x", "bad file name: '..' segment"},
      {"/etc/x", "bad file name: it starts with '/'"},
      {"a//b", "bad file name: empty segment (\"//\" or a trailing '/')"},
      {"./x", "bad file name: '.' segment"},
      {"tab\there", "bad file name: control character at byte 3"},
      {"bad\xff", "bad file name: invalid UTF-8 at byte 3"},
      {std::string(1025, 'a'), "bad file name: 1025 bytes, at most 1024"},
  };
  for (const auto& [name, why] : bad) {
    auto put = c->minga({"put", local.string(), "--name", name});
    EXPECT_EQ(put.exit_code, 2) << name;
    EXPECT_EQ(put.err, "error: " + why + "\n") << name;
    EXPECT_EQ(c->minga({"get", name}).exit_code, 2) << name;
  }
  auto empty = c->minga({"put", local.string(), "--name", ""});
  EXPECT_EQ(empty.exit_code, 2);
  EXPECT_EQ(empty.err, "error: bad file name: empty\n");

  // The nodes check too: names past the CLI, NUL included, over the protocol.
  const std::string hash = sha256_hex("payload");
  ASSERT_EQ(c->minga({"put", local.string(), "--name", "good"}).exit_code, 0);
  auto ep = net::parse_endpoint(c->address(0));
  auto conn = net::Client::connect(ep.value(), 5s);
  ASSERT_TRUE(conn.ok());
  for (const std::string& name : std::vector<std::string>{"../../etc/x", "/tmp/x", std::string("nul\0x", 5), ""}) {
    pb::FilesPutRequest put;
    put.set_name(name);
    put.set_sha256(hash);
    put.set_size(7);
    auto r = conn->call(pb::FILES_PUT_REQUEST, put, pb::FILES_PUT_RESPONSE, 10s);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().code, Errc::invalid_argument) << r.error().message;
    EXPECT_EQ(r.error().message.rfind("bad file name: ", 0), 0u) << r.error().message;
    pb::FilesGetRequest get;
    get.set_name(name);
    auto g = conn->call(pb::FILES_GET_REQUEST, get, pb::FILES_GET_RESPONSE, 10s);
    ASSERT_FALSE(g.ok());
    EXPECT_EQ(g.error().code, Errc::invalid_argument);
  }
  // A blob hash that tries to leave the blob store.
  pb::FilesBlobReadRequest escape;
  escape.set_sha256("../../../../etc/passwd");
  auto e = conn->call(pb::FILES_BLOB_READ_REQUEST, escape, pb::FILES_BLOB_READ_RESPONSE, 10s);
  ASSERT_FALSE(e.ok());
  EXPECT_EQ(e.error().code, Errc::invalid_argument);

  EXPECT_EQ(c->minga({"ls"}).out, "good\n");
  EXPECT_FALSE(fs::exists("/etc/x"));
  EXPECT_FALSE(fs::exists("/tmp/x"));
  // Under each data dir, the blob store holds blobs by hash only, and its
  // journal segments by sequence number; the one small blob is in them.
  for (std::size_t node = 0; node < 3; ++node) {
    std::set<std::string> blobs;
    const fs::path store = fs::path(c->member(node).data_dir) / "blobs";
    for (const auto& f : fs::recursive_directory_iterator(store)) {
      if (!f.is_regular_file()) continue;
      if (f.path().parent_path() == store / "journal") {
        EXPECT_TRUE(std::regex_match(f.path().filename().string(), std::regex("[0-9]{20}\\.log"))) << f.path();
      } else {
        blobs.insert(f.path().filename().string());
      }
    }
    EXPECT_EQ(blobs, std::set<std::string>{}) << node;
    for (const auto& [h, bytes] : segment_records(c->member(node))) blobs.insert(h);
    EXPECT_EQ(blobs, std::set<std::string>{hash}) << node;
  }
}

// A file of one chunk may come inside its put (no upload): it is stored on
// every replica like an uploaded one; bytes that do not hash to the put's
// sha256, or data beside an upload_id, are refused and name nothing.
TEST(Files, AFileInsideItsPutIsStoredAndWrongBytesAreRefused) {
  auto c = RaftCluster::start(3);
  ASSERT_TRUE(c->wait_leader());
  auto ep = net::parse_endpoint(c->address(1));
  auto conn = net::Client::connect(ep.value(), 5s);
  ASSERT_TRUE(conn.ok());
  auto inline_put = [](const std::string& name, const std::string& bytes) {
    pb::FilesPutRequest req;
    req.set_name(name);
    req.set_sha256(sha256_hex(bytes));
    req.set_size(bytes.size());
    req.set_data(bytes);
    return req;
  };
  const std::string content = "bytes that travel inside the put";
  const pb::FilesPutRequest put = inline_put("inline/a", content);
  auto ok = conn->call<pb::FilesPutResponse>(pb::FILES_PUT_REQUEST, put, pb::FILES_PUT_RESPONSE, 10s);
  ASSERT_TRUE(ok.ok()) << ok.error().message;
  EXPECT_EQ(ok->file().sha256(), sha256_hex(content));
  EXPECT_EQ(ok->file().size(), content.size());
  // A write quorum at least (a member whose client address the node has not
  // learnt yet, just after the start, is left out of the replica set).
  EXPECT_GE(ok->file().replicas_size(), 2);
  for (std::size_t node = 0; node < 3; ++node) {
    EXPECT_EQ(run_minga({"--server", c->address(node), "get", "inline/a"}).out, content) << node;
  }

  pb::FilesPutRequest wrong = put;
  wrong.set_name("inline/wrong");
  wrong.set_sha256(sha256_hex("other bytes"));
  auto bad = conn->call(pb::FILES_PUT_REQUEST, wrong, pb::FILES_PUT_RESPONSE, 10s);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().code, Errc::invalid_argument);
  EXPECT_EQ(bad.error().message,
            "hash mismatch: the bytes hash to " + sha256_hex(content) + ", not " + sha256_hex("other bytes"));

  pb::FilesPutRequest both = put;
  both.set_name("inline/both");
  both.set_upload_id(7);
  auto twice = conn->call(pb::FILES_PUT_REQUEST, both, pb::FILES_PUT_RESPONSE, 10s);
  ASSERT_FALSE(twice.ok());
  EXPECT_EQ(twice.error().code, Errc::invalid_argument);
  EXPECT_EQ(twice.error().message, "a request carries an upload_id or data, not both");

  pb::FilesPutRequest short_size = put;
  short_size.set_name("inline/short");
  short_size.set_size(content.size() - 1);
  auto mismatch = conn->call(pb::FILES_PUT_REQUEST, short_size, pb::FILES_PUT_RESPONSE, 10s);
  ASSERT_FALSE(mismatch.ok());
  EXPECT_EQ(mismatch.error().code, Errc::invalid_argument);
  EXPECT_EQ(mismatch.error().message, "the upload has " + std::to_string(content.size()) + " bytes, the put says " +
                                          std::to_string(content.size() - 1));

  // Small files (up to 16 KiB) are hashed on the I/O thread and bigger
  // ones on a pool thread: both paths store the file on its replicas.
  const std::string big = every_byte(256);  // 64 KiB
  auto stored =
      conn->call<pb::FilesPutResponse>(pb::FILES_PUT_REQUEST, inline_put("inline/b", big), pb::FILES_PUT_RESPONSE, 10s);
  ASSERT_TRUE(stored.ok()) << stored.error().message;
  EXPECT_GE(stored->file().replicas_size(), 2);
  for (std::size_t node = 0; node < 3; ++node) {
    EXPECT_TRUE(run_minga({"--server", c->address(node), "get", "inline/b"}).out == big) << node;
  }

  EXPECT_EQ(c->minga({"ls", "inline/"}).out, "inline/a\ninline/b\n");
}

// Sets an environment variable for the nodes a test starts (they inherit
// it), and takes it away again.
class ScopedEnv {
 public:
  ScopedEnv(std::string key, const std::string& value) : key_(std::move(key)) {
    ::setenv(key_.c_str(), value.c_str(), 1);
  }
  ~ScopedEnv() { ::unsetenv(key_.c_str()); }
  ScopedEnv(const ScopedEnv&) = delete;
  ScopedEnv& operator=(const ScopedEnv&) = delete;

 private:
  std::string key_;
};

// `minga files check` through `servers`.
RunResult files_check(const std::string& servers, bool json = false) {
  std::vector<std::string> args = {"--server", servers};
  if (json) args.insert(args.end(), {"-o", "json"});
  args.insert(args.end(), {"files", "check"});
  return run_minga(args, {}, "", 60s);
}

// 400 uploads, 200 in flight at a time (each a `minga put` process),
// through the two nodes that stay up; node `victim` is killed with SIGKILL
// once 50 of them finished, with about 150 of the first 200 still in
// flight. The second 200 start only after the kill, so some puts are
// certain to be committed while the victim is down. Afterwards every
// acknowledged file reads back right from every live node; once the victim
// is back, the background repair gives it every blob and `minga files
// check` is clean.
void uploads_survive_a_kill(bool kill_the_leader) {
  ScopedEnv interval("MINGA_FILES_REPAIR_INTERVAL", "1");
  auto c = RaftCluster::start(3);
  const auto leader = c->wait_leader();
  ASSERT_TRUE(leader);
  const std::size_t victim = kill_the_leader ? *leader : (*leader + 1) % 3;
  std::vector<std::size_t> live;
  for (std::size_t i = 0; i < 3; ++i) {
    if (i != victim) live.push_back(i);
  }
  const std::string servers = c->address(live[0]) + "," + c->address(live[1]);
  TempDir tmp;
  constexpr int kFiles = 400;
  constexpr int kThreads = 200;
  std::mutex mu;
  std::map<std::string, std::string> acked;  // name -> content
  std::set<std::string> after_kill;          // puts that started once the victim was dead
  std::atomic<int> next{0}, done{0}, failed{0};
  std::atomic<bool> killed{false};
  const auto start = std::chrono::steady_clock::now();
  std::vector<std::thread> workers;
  for (int t = 0; t < kThreads; ++t) {
    workers.emplace_back([&] {
      for (int i = next++; i < kFiles; i = next++) {
        if (i >= kFiles / 2) {
          while (!killed.load()) std::this_thread::sleep_for(5ms);
        }
        const bool late = killed.load();
        const std::string name = "load/f" + std::to_string(i);
        const std::string content = "file " + std::to_string(i) + " " + std::string(static_cast<std::size_t>(i), 'x');
        const fs::path local = tmp.path() / ("f" + std::to_string(i));
        write_file(local, content);
        auto r =
            run_minga({"--server", servers, "--timeout", "20", "put", local.string(), "--name", name}, {}, "", 40s);
        if (r.exit_code == 0) {
          std::lock_guard lock(mu);
          acked[name] = content;
          if (late) after_kill.insert(name);
        } else {
          ++failed;
        }
        ++done;
      }
    });
  }
  ASSERT_TRUE(eventually([&] { return done.load() >= 50; }, 60s));
  const int in_flight = kThreads - done.load();
  EXPECT_GE(in_flight, 100) << "the kill came after most of the first uploads had finished";
  c->kill(victim);
  killed = true;
  for (auto& w : workers) w.join();
  const double seconds = seconds_since(start);
  EXPECT_LT(seconds, 150.0);
  // With two of three replicas up, a write quorum remains: puts keep working
  // (through a new leader when the leader was killed).
  EXPECT_GE(acked.size(), static_cast<std::size_t>(kFiles * 9 / 10)) << failed.load() << " failed";
  EXPECT_GE(after_kill.size(), static_cast<std::size_t>(kFiles / 4));
  for (const std::size_t node : live) {
    for (const auto& [name, content] : acked) {
      auto g = get_raw(c->address(node), name);
      ASSERT_TRUE(g.ok()) << name << " on node " << node << ": " << g.error().message;
      EXPECT_EQ(g->file().sha256(), sha256_hex(content)) << name;
      EXPECT_TRUE(g->data() == content) << name;
      if (after_kill.count(name)) {
        // Committed with the victim dead: on the two live replicas only.
        const auto& replicas = g->file().replicas();
        EXPECT_EQ(replicas.size(), 2) << name;
        EXPECT_EQ(std::count(replicas.begin(), replicas.end(), c->member(victim).id), 0) << name;
      }
    }
  }
  std::cout << acked.size() << " of " << kFiles << " puts acknowledged (" << in_flight << " in flight at the kill, "
            << after_kill.size() << " started with the " << (kill_the_leader ? "leader" : "replica") << " down) in "
            << seconds << " s\n";
  auto ls = run_minga({"--server", servers, "ls", "load/"});
  const auto listed = static_cast<std::size_t>(std::count(ls.out.begin(), ls.out.end(), '\n'));
  for (const auto& [name, content] : acked) EXPECT_NE(ls.out.find(name + "\n"), std::string::npos) << name;
  if (kill_the_leader) {
    // A put in flight on the killed leader may be committed though its
    // client saw the connection drop (the outcome was unknown to it).
    EXPECT_GE(listed, acked.size());
    EXPECT_LE(listed, acked.size() + static_cast<std::size_t>(failed.load()));
  } else {
    EXPECT_EQ(listed, acked.size());
  }
  // With the victim down, the check says so: it does not answer, and the
  // files committed without it are under-replicated.
  auto down = files_check(servers);
  EXPECT_EQ(down.exit_code, 1) << down.out << down.err;
  EXPECT_NE(down.out.find(" under-replicated load/f"), std::string::npos) << down.out;

  // The victim comes back without the blobs put while it was down. The
  // background passes give it every one (fetched by it, or copied to it by
  // a responsible replica with the replica set updated), and the check is
  // clean.
  c->restart(victim);
  RunResult last;
  EXPECT_TRUE(eventually(
      [&] {
        last = files_check(c->all_addresses());
        return last.exit_code == 0;
      },
      90s))
      << last.out << last.err;
  EXPECT_NE(last.out.find("NODE"), std::string::npos) << last.out;
  const auto records = segment_records(c->member(victim));
  for (const auto& [name, content] : acked) EXPECT_TRUE(holds(c->member(victim), content, records)) << name;
  std::size_t checked = 0;
  for (const auto& [name, content] : acked) {
    if (checked++ % 10 != 0) continue;
    auto g = get_raw(c->address(victim), name);
    ASSERT_TRUE(g.ok()) << name << " on the restarted node: " << g.error().message;
    EXPECT_TRUE(g->data() == content) << name;
    EXPECT_EQ(g->file().replicas_size(), 3) << name;
  }
  auto json = files_check(c->all_addresses(), true);
  EXPECT_EQ(json.exit_code, 0) << json.out;
  EXPECT_EQ(json.out.rfind(R"({"ok":true,"nodes":[{"node":"n1","files":)", 0), 0u) << json.out;
  EXPECT_NE(json.out.find(R"("missing":[],"corrupt":[],"under_replicated":[])"), std::string::npos) << json.out;
}

TEST(Files, EveryAcknowledgedUploadSurvivesAKilledReplicaAndRepairRestoresIt) { uploads_survive_a_kill(false); }

TEST(Files, EveryAcknowledgedUploadSurvivesAKilledLeaderAndRepairRestoresIt) { uploads_survive_a_kill(true); }

// These three tests change blob files under a running node, so they keep
// every blob in its own file (files.pack_max 0); packed blobs have their own.
// A linearizable get through a follower just after the leader died: its
// read index was asked of the dead leader and would never come. It fails
// over to the next leader (the client retries not_leader) instead of
// waiting out the node's 10 s request timeout.
TEST(Files, AGetRightAfterTheLeaderIsKilledWaitsOnlyForTheNextLeader) {
  auto c = RaftCluster::start(3);
  const auto leader = c->wait_leader();
  ASSERT_TRUE(leader);
  auto put = run_minga({"--server", c->all_addresses(), "put", "-", "--name", "docs/hola.txt"}, {}, "hola\n");
  ASSERT_EQ(put.exit_code, 0) << put.err;
  const std::size_t follower = (*leader + 1) % 3;
  c->kill(*leader);
  const auto start = std::chrono::steady_clock::now();
  auto get = run_minga({"--server", c->address(follower), "get", "docs/hola.txt"}, {}, "", 30s);
  const double seconds = seconds_since(start);
  EXPECT_EQ(get.exit_code, 0) << get.err;
  EXPECT_EQ(get.out, "hola\n");
  EXPECT_LT(seconds, 5.0) << "the get waited for the dead leader";
  auto ls = run_minga({"--server", c->address(follower), "ls"});
  EXPECT_EQ(ls.out, "docs/hola.txt\n") << ls.err;
}

// A name replaced while it is read: every get, through any node, returns
// the old content or the new one whole, never a mix (each spans three
// chunks, read one by one).
TEST(Files, AReaderDuringAReplaceGetsTheOldContentOrTheNewNeverAMix) {
  auto c = RaftCluster::start(3);
  ASSERT_TRUE(c->wait_leader());
  TempDir tmp;
  const std::string a(3 << 20, 'a'), b(3 << 20, 'b');
  write_file(tmp.path() / "a", a);
  write_file(tmp.path() / "b", b);
  ASSERT_EQ(c->minga({"put", (tmp.path() / "a").string(), "--name", "flip"}).exit_code, 0);
  std::atomic<bool> replaced{false};
  std::thread writer([&] {
    for (int i = 0; i < 8; ++i) {
      auto r =
          run_minga({"--server", c->address(0), "put", (tmp.path() / (i % 2 ? "a" : "b")).string(), "--name", "flip"});
      EXPECT_EQ(r.exit_code, 0) << r.err;
    }
    replaced = true;
  });
  int reads = 0, old_seen = 0, new_seen = 0;
  while (!replaced.load() || reads < 6) {
    auto g = run_minga({"--server", c->address(static_cast<std::size_t>(reads) % 3), "get", "flip"});
    ASSERT_EQ(g.exit_code, 0) << g.err;
    const auto as = std::count(g.out.begin(), g.out.end(), 'a');
    ASSERT_TRUE(g.out == a || g.out == b) << g.out.size() << " bytes, " << as << " of them 'a'";
    ++(g.out == a ? old_seen : new_seen);
    ++reads;
  }
  writer.join();
  std::cout << reads << " gets during 8 replaces: " << old_seen << " 'a', " << new_seen << " 'b'\n";
  EXPECT_EQ(c->minga({"get", "flip"}).out, a) << "the last put wins";
}

// With two of three nodes down, no write quorum of replicas is left: a put
// is refused within --timeout, nothing is committed, and the name does not
// appear once the nodes are back.
TEST(Files, APutWithoutAWriteQuorumIsRefusedAndNothingIsCommitted) {
  auto c = RaftCluster::start(3);
  const auto leader = c->wait_leader();
  ASSERT_TRUE(leader);
  const std::size_t survivor = *leader;
  c->kill((survivor + 1) % 3);
  c->kill((survivor + 2) % 3);
  const auto start = std::chrono::steady_clock::now();
  auto put = run_minga({"--server", c->address(survivor), "--timeout", "3", "put", "-", "--name", "lost"}, {},
                       "never stored", 30s);
  const double seconds = seconds_since(start);
  EXPECT_NE(put.exit_code, 0);
  EXPECT_EQ(put.out, "");
  EXPECT_NE(put.err.find("replicas hold the blob"), std::string::npos) << put.err;
  EXPECT_LT(seconds, 10.0);
  c->restart((survivor + 1) % 3);
  c->restart((survivor + 2) % 3);
  ASSERT_TRUE(c->wait_leader());
  auto ls = c->minga({"ls"});
  EXPECT_EQ(ls.exit_code, 0) << ls.err;
  EXPECT_EQ(ls.out, "");
  auto get = c->minga({"get", "lost"});
  EXPECT_NE(get.exit_code, 0);
  EXPECT_NE(get.err.find("no file lost"), std::string::npos) << get.err;
}

// `get -o OUT` cut off in the middle of the bytes: it fails, and neither
// OUT nor its partial file is left behind (the bytes go to OUT.minga-part-PID
// and are renamed to OUT only once all of them hashed right).
TEST(Files, AGetCutOffMidwayLeavesNoPartialOutput) {
  auto c = RaftCluster::start(3);
  ASSERT_TRUE(c->wait_leader());
  TempDir tmp;
  const std::string big(128u << 20, 'z');
  write_file(tmp.path() / "big", big);
  ASSERT_EQ(c->minga({"put", (tmp.path() / "big").string(), "--name", "big"}, 120s).exit_code, 0);
  fs::remove(tmp.path() / "big");
  const fs::path out_dir = tmp.path() / "out";
  fs::create_directories(out_dir);
  const fs::path out = out_dir / "big";
  auto partial = [&] {
    std::error_code ec;
    for (fs::directory_iterator it(out_dir, ec), end; !ec && it != end; it.increment(ec)) {
      if (it->path().filename().string().rfind("big.minga-part-", 0) == 0 && fs::file_size(it->path(), ec) > 0) {
        return true;
      }
    }
    return false;
  };
  bool cut_midway = false;
  for (int attempt = 0; attempt < 3 && !cut_midway; ++attempt) {
    FaultProxy proxy(c->member(1).client);
    RunResult got;
    std::thread getter([&] {
      got = run_minga(
          {"--server", "127.0.0.1:" + std::to_string(proxy.port()), "--timeout", "3", "get", "big", "-o", out.string()},
          {}, "", 60s);
    });
    // Once the first bytes are in the partial file, the link goes silent.
    (void)eventually([&] { return partial() || fs::exists(out); }, 30s, 1ms);
    cut_midway = partial() && !fs::exists(out);
    if (cut_midway) proxy.drop();
    getter.join();
    if (!cut_midway) {
      fs::remove(out);  // it finished first: try again
      continue;
    }
    EXPECT_NE(got.exit_code, 0) << got.out << got.err;
    EXPECT_FALSE(got.err.empty());
    EXPECT_FALSE(fs::exists(out)) << "no OUT after a failed get";
    EXPECT_FALSE(partial()) << "no partial file left";
    EXPECT_TRUE(fs::is_empty(out_dir));
  }
  ASSERT_TRUE(cut_midway) << "every get finished before it could be cut";
}

TEST(Files, AFlippedByteIsDetectedAndRepairedOnReadAndWrongBytesAreNeverServed) {
  ScopedEnv files_only("MINGA_FILES_PACK_MAX", "0");
  auto c = RaftCluster::start(3);
  ASSERT_TRUE(c->wait_leader());
  TempDir tmp;
  const std::string content = every_byte(40);
  const std::string hash = sha256_hex(content);
  const fs::path local = tmp.path() / "data.bin";
  write_file(local, content);
  ASSERT_EQ(run_minga({"--server", c->address(0), "put", local.string(), "--name", "data.bin"}).exit_code, 0);
  for (std::size_t node = 0; node < 3; ++node) ASSERT_TRUE(fs::exists(blob_path(c->member(node), hash)));

  auto flip = [&](std::size_t node, std::size_t at) {
    std::fstream f(blob_path(c->member(node), hash), std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(static_cast<std::streamoff>(at));
    f.put('\x5a' ^ content[at]);
  };
  // Node 1's copy is corrupt: its get detects it, fetches a good copy from a
  // replica, serves the right bytes, and keeps the good copy.
  flip(1, 1234);
  ASSERT_NE(read_file(blob_path(c->member(1), hash)), content);
  auto got = run_minga({"--server", c->address(1), "get", "data.bin"});
  EXPECT_EQ(got.exit_code, 0) << got.err;
  EXPECT_TRUE(got.out == content);
  EXPECT_TRUE(read_file(blob_path(c->member(1), hash)) == content);
  EXPECT_TRUE(c->member(1).proc.wait_for_output("action: files_repair | result: success", 5s));

  // Node 2 lacks the blob and the two others hold wrong bytes: it refuses to
  // serve rather than believe them.
  fs::remove(blob_path(c->member(2), hash));
  flip(0, 7);
  flip(1, 9000);
  auto refused = run_minga({"--server", c->address(2), "get", "data.bin"});
  EXPECT_EQ(refused.exit_code, 1) << refused.out;
  EXPECT_EQ(refused.out, "");
  EXPECT_NE(refused.err.find("no replica holds good bytes of data.bin"), std::string::npos) << refused.err;
  EXPECT_FALSE(fs::exists(blob_path(c->member(2), hash)));

  // Node 0 repairs from... nobody good yet; restore node 1 by hand, and node
  // 2 fetches a good copy past node 0's bad one.
  write_file(blob_path(c->member(1), hash), content);
  auto fetched = get_raw(c->address(2), "data.bin");
  ASSERT_TRUE(fetched.ok()) << fetched.error().message;
  EXPECT_TRUE(read_file(blob_path(c->member(2), hash)) == content);
  auto whole = run_minga({"--server", c->address(0), "get", "data.bin"});
  EXPECT_EQ(whole.exit_code, 0) << whole.err;
  EXPECT_TRUE(whole.out == content);
  EXPECT_TRUE(read_file(blob_path(c->member(0), hash)) == content);
}

// A flipped byte found by `minga files check` (exit 1, the file named),
// and replaced with good bytes by `minga files repair`.
TEST(Files, CheckFindsAFlippedByteAndRepairFixesIt) {
  ScopedEnv interval("MINGA_FILES_REPAIR_INTERVAL", "600");
  ScopedEnv files_only("MINGA_FILES_PACK_MAX", "0");
  auto c = RaftCluster::start(3);
  ASSERT_TRUE(c->wait_leader());
  // The pass soon after start is done; the next one is ten minutes away.
  for (std::size_t i = 0; i < 3; ++i) ASSERT_TRUE(c->member(i).proc.wait_for_output("action: files_pass", 15s)) << i;
  TempDir tmp;
  const std::string content = every_byte(40);
  const std::string hash = sha256_hex(content);
  const fs::path local = tmp.path() / "data.bin";
  write_file(local, content);
  ASSERT_EQ(c->minga({"put", local.string(), "--name", "data.bin"}).exit_code, 0);
  auto clean = files_check(c->all_addresses());
  EXPECT_EQ(clean.exit_code, 0) << clean.out << clean.err;

  {
    std::fstream f(blob_path(c->member(1), hash), std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(100);
    f.put(static_cast<char>('\x01' ^ content[100]));
  }
  auto found = files_check(c->all_addresses());
  EXPECT_EQ(found.exit_code, 1) << found.out << found.err;
  EXPECT_NE(found.out.find("n2 corrupt data.bin\n"), std::string::npos) << found.out;
  std::cout << "minga files check:\n" << found.out;
  auto json = files_check(c->all_addresses(), true);
  EXPECT_EQ(json.exit_code, 1);
  EXPECT_NE(json.out.find(R"({"node":"n2","files":1,"blobs":1,"missing":[],"corrupt":["data.bin"],)"),
            std::string::npos)
      << json.out;
  EXPECT_EQ(json.out.rfind(R"({"ok":false,)", 0), 0u) << json.out;
  // check changes nothing.
  EXPECT_FALSE(read_file(blob_path(c->member(1), hash)) == content);

  auto repaired =
      run_minga({"--server", c->all_addresses(), "-o", "json", "files", "repair", "--node", "n2"}, {}, "", 60s);
  EXPECT_EQ(repaired.exit_code, 0) << repaired.out << repaired.err;
  EXPECT_NE(repaired.out.find(R"("corrupt":[],"under_replicated":[],"fetched":0,"repaired":1,)"), std::string::npos)
      << repaired.out;
  EXPECT_EQ(std::count(repaired.out.begin(), repaired.out.end(), '{'), 2) << "one node only: " << repaired.out;
  EXPECT_TRUE(read_file(blob_path(c->member(1), hash)) == content);
  EXPECT_EQ(files_check(c->all_addresses()).exit_code, 0);
  auto unknown = run_minga({"--server", c->all_addresses(), "files", "check", "--node", "n9"});
  EXPECT_EQ(unknown.exit_code, 1);
  EXPECT_EQ(unknown.err, "error: no member n9\n");
}

// A small file's blob lives in the journal's segments (files.pack_max,
// 64 KiB by default). A byte flipped there is found by `files check`,
// never served, repaired by a read through that node, and the repaired copy
// survives a restart, whose scan of the segment skips the bad record.
TEST(Files, AFlippedByteInAPackIsFoundRepairedAndTheRepairSurvivesARestart) {
  ScopedEnv interval("MINGA_FILES_REPAIR_INTERVAL", "600");
  auto c = RaftCluster::start(3);
  ASSERT_TRUE(c->wait_leader());
  for (std::size_t i = 0; i < 3; ++i) ASSERT_TRUE(c->member(i).proc.wait_for_output("action: files_pass", 15s)) << i;
  TempDir tmp;
  const std::string content = every_byte(16), neighbour = "another small file";
  const std::string hash = sha256_hex(content);
  write_file(tmp.path() / "small.bin", content);
  write_file(tmp.path() / "other", neighbour);
  ASSERT_EQ(c->minga({"put", (tmp.path() / "small.bin").string(), "--name", "small.bin"}).exit_code, 0);
  ASSERT_EQ(c->minga({"put", (tmp.path() / "other").string(), "--name", "other"}).exit_code, 0);
  for (std::size_t i = 0; i < 3; ++i) {
    EXPECT_FALSE(fs::exists(blob_path(c->member(i), hash))) << i;
    EXPECT_TRUE(holds(c->member(i), content)) << i;
  }
  // Flip byte 2000 of node 1's record of the blob.
  const fs::path journal = fs::path(c->member(1).data_dir) / "blobs" / "journal";
  bool flipped = false;
  for (const auto& f : fs::directory_iterator(journal)) {
    const std::string bytes = read_file(f.path());
    const auto at = bytes.find(hash + content);
    if (at == std::string::npos) continue;
    std::fstream out(f.path(), std::ios::in | std::ios::out | std::ios::binary);
    out.seekp(static_cast<std::streamoff>(at + 64 + 2000));
    out.put(static_cast<char>('\x01' ^ content[2000]));
    flipped = true;
  }
  ASSERT_TRUE(flipped);
  EXPECT_FALSE(holds(c->member(1), content));
  auto found = files_check(c->all_addresses());
  EXPECT_EQ(found.exit_code, 1) << found.out << found.err;
  EXPECT_NE(found.out.find("n2 corrupt small.bin\n"), std::string::npos) << found.out;
  // A read through node 1 gets good bytes from a replica and keeps them.
  auto got = run_minga({"--server", c->address(1), "get", "small.bin"});
  EXPECT_EQ(got.exit_code, 0) << got.err;
  EXPECT_TRUE(got.out == content);
  EXPECT_TRUE(c->member(1).proc.wait_for_output("action: files_repair | result: success", 5s));
  EXPECT_TRUE(holds(c->member(1), content));
  EXPECT_EQ(files_check(c->all_addresses()).exit_code, 0);

  c->kill(1);
  c->restart(1);
  ASSERT_TRUE(c->member(1).proc.wait_for_output("corrupt record", 15s));
  ASSERT_TRUE(eventually([&] { return get_raw(c->address(1), "other").ok(); }, 20s)) << "node 1 back in the cluster";
  for (const auto* name : {"small.bin", "other"}) {
    auto again = get_raw(c->address(1), name);
    ASSERT_TRUE(again.ok()) << name << ": " << again.error().message;
    EXPECT_TRUE(again->data() == (std::string(name) == "other" ? neighbour : content)) << name;
  }
  // Served from the repaired record: nothing fetched or repaired again.
  EXPECT_FALSE(c->member(1).proc.wait_for_output("action: files_fetch", 300ms));
  EXPECT_FALSE(c->member(1).proc.wait_for_output("action: files_repair", 300ms));
  auto clean = files_check(c->all_addresses());
  EXPECT_EQ(clean.exit_code, 0) << clean.out << clean.err;
  EXPECT_FALSE(fs::exists(blob_path(c->member(1), hash)));
}

// The background pass on its own: a flipped byte and a deleted blob come
// back with no read; a removed file's blob is collected after the grace
// period, the others are kept; /status and /metrics say so.
TEST(Files, TheBackgroundPassRepairsBlobsAndCollectsUnreferencedOnes) {
  ScopedEnv interval("MINGA_FILES_REPAIR_INTERVAL", "1");
  ScopedEnv grace("MINGA_FILES_GC_GRACE", "3");
  ScopedEnv files_only("MINGA_FILES_PACK_MAX", "0");
  auto c = RaftCluster::start(3);
  ASSERT_TRUE(c->wait_leader());
  TempDir tmp;
  const std::string kept = every_byte(30), dropped = "removed soon";
  write_file(tmp.path() / "kept", kept);
  write_file(tmp.path() / "dropped", dropped);
  ASSERT_EQ(c->minga({"put", (tmp.path() / "kept").string(), "--name", "kept"}).exit_code, 0);
  ASSERT_EQ(c->minga({"put", (tmp.path() / "dropped").string(), "--name", "dropped"}).exit_code, 0);
  const auto kept_hash = sha256_hex(kept), dropped_hash = sha256_hex(dropped);
  for (std::size_t i = 0; i < 3; ++i) ASSERT_TRUE(fs::exists(blob_path(c->member(i), dropped_hash))) << i;
  ASSERT_EQ(c->minga({"rm", "dropped"}).exit_code, 0);
  const auto removed_at = std::chrono::steady_clock::now();
  {
    std::fstream f(blob_path(c->member(0), kept_hash), std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(5000);
    f.put(static_cast<char>('\x80' ^ kept[5000]));
  }
  fs::remove(blob_path(c->member(2), kept_hash));
  EXPECT_TRUE(eventually(
      [&] {
        return read_file(blob_path(c->member(0), kept_hash)) == kept &&
               read_file(blob_path(c->member(2), kept_hash)) == kept;
      },
      20s));
  EXPECT_TRUE(c->member(0).proc.wait_for_output("action: files_repair | result: success", 5s));
  EXPECT_TRUE(c->member(2).proc.wait_for_output("action: files_fetch | result: success", 5s));
  // The unreferenced blob: not before the grace period, gone after it.
  EXPECT_TRUE(eventually(
      [&] {
        for (std::size_t i = 0; i < 3; ++i) {
          if (fs::exists(blob_path(c->member(i), dropped_hash))) return false;
        }
        return true;
      },
      30s));
  EXPECT_GE(std::chrono::steady_clock::now() - removed_at, 2s);
  for (std::size_t i = 0; i < 3; ++i) {
    EXPECT_TRUE(read_file(blob_path(c->member(i), kept_hash)) == kept) << i;
    EXPECT_TRUE(c->member(i).proc.wait_for_output("action: files_collect | result: success", 5s)) << i;
  }
  auto got = run_minga({"--server", c->address(1), "get", "kept"});
  EXPECT_TRUE(got.out == kept);
  auto status = c->minga({"-o", "json", "status"});
  EXPECT_NE(status.out.find(R"("under_replicated":0,"missing":0,"corrupt":0,"repairs_running":)"), std::string::npos)
      << status.out;
  EXPECT_NE(status.out.find(R"("last_pass_ms":)"), std::string::npos) << status.out;
  // The same section on a monitor's /status: one file of 7,680 bytes, 3 replicas.
  const auto [status_code, status_page] = http_get(c->member(1).monitor, "/status");
  EXPECT_EQ(status_code, 200);
  EXPECT_NE(status_page.find(R"("files":{"count":1,"bytes":7680,"replicas":3,)"), std::string::npos) << status_page;
  EXPECT_NE(status_page.find(R"("under_replicated":0,"missing":0,"corrupt":0,"repairs_running":)"), std::string::npos)
      << status_page;
  const auto [code, metrics] = http_get(c->member(0).monitor, "/metrics");
  EXPECT_EQ(code, 200);
  EXPECT_NE(metrics.find("\nminga_files_count 1\n"), std::string::npos) << metrics;
  EXPECT_NE(metrics.find("\nminga_files_repair_repaired_total 1\n"), std::string::npos) << metrics;
  EXPECT_NE(metrics.find("\nminga_files_collected_total 1\n"), std::string::npos) << metrics;
  EXPECT_NE(metrics.find("\nminga_files_under_replicated 0\n"), std::string::npos) << metrics;
  // The monitor's catalogue page, whole and by prefix.
  const auto [files_code, page] = http_get(c->member(2).monitor, "/files");
  EXPECT_EQ(files_code, 200);
  EXPECT_NE(page.find(R"({"name":"kept","size":7680,"sha256":")" + kept_hash + "\""), std::string::npos) << page;
  EXPECT_NE(page.find(R"("replicas":[")"), std::string::npos) << page;
  const auto [prefix_code, none] = http_get(c->member(2).monitor, "/files?prefix=k%65pt%2F");
  EXPECT_EQ(prefix_code, 200);
  EXPECT_EQ(none, "{\"files\":[],\"more\":false}\n");
  const auto [kept_code, one] = http_get(c->member(2).monitor, "/files?prefix=k%65");
  EXPECT_EQ(one.rfind(R"({"files":[{"name":"kept",)", 0), 0u) << one;
  EXPECT_EQ(c->minga({"files", "check"}).exit_code, 0);
}

// A member removed from the cluster: the files it held get a new replica
// among the remaining members, copied there and named in the catalogue.
TEST(Files, ARemovedMembersFilesAreReReplicated) {
  ScopedEnv interval("MINGA_FILES_REPAIR_INTERVAL", "1");
  auto c = RaftCluster::start(4);
  const auto leader = c->wait_leader();
  ASSERT_TRUE(leader);
  const std::size_t gone = (*leader + 1) % 4;
  const std::string gone_id = c->member(gone).id;
  TempDir tmp;
  std::map<std::string, std::string> files;
  for (int i = 0; i < 12; ++i) files["r/f" + std::to_string(i)] = "content " + std::to_string(i);
  std::set<std::string> on_gone;
  for (const auto& [name, content] : files) {
    const fs::path local = tmp.path() / "in";
    write_file(local, content);
    auto put = c->minga({"-o", "json", "put", local.string(), "--name", name});
    ASSERT_EQ(put.exit_code, 0) << put.err;
    if (put.out.find("\"" + gone_id + "\"") != std::string::npos) on_gone.insert(name);
  }
  ASSERT_FALSE(on_gone.empty()) << "rendezvous hashing put no file on " << gone_id;
  c->kill(gone);
  std::string servers;
  for (std::size_t i = 0; i < 4; ++i) {
    if (i != gone) servers += (servers.empty() ? "" : ",") + c->address(i);
  }
  auto removed = run_minga({"--server", servers, "cluster", "remove", gone_id});
  ASSERT_EQ(removed.exit_code, 0) << removed.err;
  auto entry_ok = [&](const std::string& name, const std::string& content) {
    auto st = run_minga({"--server", servers, "-o", "json", "stat", name});
    if (st.exit_code != 0 || st.out.find("\"" + gone_id + "\"") != std::string::npos) return false;
    std::size_t replicas = 0;
    for (std::size_t i = 0; i < 4; ++i) {
      if (i == gone || st.out.find("\"" + c->member(i).id + "\"") == std::string::npos) continue;
      if (!holds(c->member(i), content)) return false;
      ++replicas;
    }
    return replicas == 3;
  };
  for (const auto& name : on_gone) {
    EXPECT_TRUE(eventually([&] { return entry_ok(name, files[name]); }, 30s)) << name;
  }
  for (const auto& [name, content] : files) EXPECT_TRUE(entry_ok(name, content)) << name;
  auto check = files_check(servers);
  EXPECT_EQ(check.exit_code, 0) << check.out << check.err;
  EXPECT_EQ(check.out.find(gone_id), std::string::npos) << "not a member any more: " << check.out;
}

// `minga bench files`: 50 random files through all three nodes, the output's
// shape, every file read back with its sha256, and the files really there.
TEST(Files, BenchFilesPutsAndVerifiesEveryFile) {
  auto c = RaftCluster::start(3);
  ASSERT_TRUE(c->wait_leader());
  const std::string servers = c->address(0) + "," + c->address(1) + "," + c->address(2);
  auto r = run_minga({"--server", servers, "bench", "files", "--files", "50", "--size", "4096", "--concurrency", "8",
                      "--prefix", "smoke/"},
                     {}, "", 60s);
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  const std::regex shape(
      "files: 50 files of 4096 random bytes, 8 in flight over 3 server\\(s\\)\n"
      "puts: 50 stored \\(durable on a write quorum, committed\\) of 50 in [0-9.]+ s, 0 errors\n"
      "throughput: [0-9]+ files/s, [0-9.]+ MB/s\n"
      "latency: p50 [0-9]+ us, p99 [0-9]+ us, p99.9 [0-9]+ us\n"
      "read back: 50 of 50 files, sha256 ok, [0-9]+ files/s, p50 [0-9]+ us, p99 [0-9]+ us\n");
  EXPECT_TRUE(std::regex_match(r.out, shape)) << r.out;
  auto ls = run_minga({"--server", c->address(1), "ls", "smoke/"});
  EXPECT_EQ(ls.exit_code, 0) << ls.err;
  EXPECT_EQ(std::count(ls.out.begin(), ls.out.end(), '\n'), 50) << ls.out;
  auto json =
      run_minga({"--server", servers, "-o", "json", "bench", "files", "--files", "10", "--size", "0"}, {}, "", 60s);
  ASSERT_EQ(json.exit_code, 0) << json.out << json.err;
  EXPECT_NE(json.out.find(R"("stored":10,)"), std::string::npos) << json.out;
  EXPECT_NE(json.out.find(R"("mismatches":0,"errors":0,"errors_by_code":{},"verified":true})"), std::string::npos)
      << json.out;
}

}  // namespace
}  // namespace minga::testing
