// A 512 MiB file through `minga put` and `minga get` on a 3-node cluster,
// with the peak resident memory of every node (/proc/PID/status VmHWM) and
// of each client process (getrusage RUSAGE_CHILDREN: the largest child
// reaped so far; the nodes are reaped only at the end) bounded: bytes
// stream in 1 MiB chunks, never whole. ctest label `big` (docs/files.md):
// it writes about 2.5 GiB under the build dir and removes it afterwards.
#include <sys/resource.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>

#include <gtest/gtest.h>

#include "apps/files/blob_store.h"
#include "cluster/raft_cluster.h"

namespace minga::testing {
namespace {

namespace fs = std::filesystem;

constexpr std::uint64_t kBytes = 512ull << 20;
constexpr std::size_t kLimit = 128u << 20;

std::size_t peak_rss_bytes(int pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("VmHWM:", 0) == 0) return std::stoull(line.substr(6)) * 1024;
  }
  return 0;
}

std::size_t children_peak_rss_bytes() {
  struct rusage ru {};
  ::getrusage(RUSAGE_CHILDREN, &ru);
  return static_cast<std::size_t>(ru.ru_maxrss) * 1024;
}

// Writes kBytes of incompressible, reproducible bytes; returns their sha256.
std::string write_random(const fs::path& p) {
  std::ofstream out(p, std::ios::binary | std::ios::trunc);
  files::Sha256 sha;
  std::string chunk(1u << 20, '\0');
  std::uint64_t x = 88172645463325252ull;
  for (std::uint64_t done = 0; done < kBytes; done += chunk.size()) {
    for (std::size_t i = 0; i < chunk.size(); i += 8) {
      x ^= x << 13;
      x ^= x >> 7;
      x ^= x << 17;
      std::memcpy(chunk.data() + i, &x, 8);
    }
    sha.update(chunk);
    out.write(chunk.data(), static_cast<std::streamsize>(chunk.size()));
  }
  return sha.hex();
}

std::string hash_file(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  files::Sha256 sha;
  std::string chunk(1u << 20, '\0');
  while (in) {
    in.read(chunk.data(), static_cast<std::streamsize>(chunk.size()));
    sha.update(std::string_view(chunk.data(), static_cast<std::size_t>(in.gcount())));
  }
  return sha.hex();
}

TEST(FilesBig, A512MiBFileGoesThroughPutAndGetInBoundedMemory) {
  // Everything (the cluster's data dirs too) under the build dir.
  const fs::path root = fs::path(MINGA_BIG_TEST_DIR);
  fs::create_directories(root);
  ::setenv("TMPDIR", root.c_str(), 1);
  ASSERT_EQ(children_peak_rss_bytes(), 0u) << "a child was reaped before the clients";
  const auto started = std::chrono::steady_clock::now();
  {
    auto c = RaftCluster::start(3);
    const auto leader = c->wait_leader();
    ASSERT_TRUE(leader);
    const std::size_t follower = (*leader + 1) % 3;
    TempDir tmp;
    const fs::path local = tmp.path() / "big.bin";
    const std::string hash = write_random(local);
    auto put =
        run_minga({"--server", c->address(follower), "--timeout", "300", "put", local.string(), "--name", "big.bin"},
                  {}, "", 300s);
    ASSERT_EQ(put.exit_code, 0) << put.err;
    EXPECT_EQ(put.out, "big.bin " + std::to_string(kBytes) + " " + hash + "\n");
    const std::size_t put_client = children_peak_rss_bytes();
    fs::remove(local);
    const fs::path out = tmp.path() / "back.bin";
    auto get = run_minga({"--server", c->address(*leader), "--timeout", "300", "get", "big.bin", "-o", out.string()},
                         {}, "", 300s);
    ASSERT_EQ(get.exit_code, 0) << get.err;
    EXPECT_EQ(fs::file_size(out), kBytes);
    EXPECT_EQ(hash_file(out), hash);
    const std::size_t clients = children_peak_rss_bytes();
    EXPECT_LT(put_client, kLimit) << "minga put";
    EXPECT_LT(clients, kLimit) << "minga put or get";
    std::cout << "minga put: peak RSS " << put_client / 1024 << " KiB; put or get: " << clients / 1024 << " KiB\n";
    for (std::size_t i = 0; i < 3; ++i) {
      const std::size_t peak = peak_rss_bytes(c->member(i).proc.pid());
      EXPECT_LT(peak, kLimit) << "node " << i;
      EXPECT_GT(peak, 0u) << "node " << i;
      std::cout << "node " << c->member(i).id << (i == follower ? " (took the put)" : "")
                << (i == *leader ? " (served the get)" : "") << ": peak RSS " << peak / 1024 << " KiB\n";
    }
  }
  std::cout << "512 MiB put + get in "
            << std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count() << " s\n";
  std::error_code ec;
  fs::remove_all(root, ec);
  EXPECT_FALSE(fs::exists(root));
}

}  // namespace
}  // namespace minga::testing
