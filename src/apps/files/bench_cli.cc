// `minga bench files`: --files files of --size random bytes put through the
// cluster by --concurrency workers (one blocking connection each, spread
// round robin over --server), then every file read back and its SHA-256
// checked. The clock starts once every worker is connected. A put counts
// once its FilesPutResponse arrives: the blob is fsynced on a write quorum
// of its replicas and the entry committed.
#include "apps/files/bench_cli.h"

#include <unistd.h>
#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstring>
#include <iostream>
#include <latch>
#include <map>
#include <memory>
#include <mutex>
#include <random>
#include <thread>
#include <vector>

#include <CLI/CLI.hpp>

#include "apps/files/blob_store.h"
#include "base/json.h"
#include "base/number.h"
#include "client/options.h"
#include "net/client.h"
#include "proto/files.pb.h"

namespace minga::files {
namespace {

using client::ClientOptions;
using Clock = std::chrono::steady_clock;

struct FilesBenchOptions {
  unsigned files = 1000;
  std::uint64_t size_bytes = 4096;
  unsigned concurrency = 32;
  std::string prefix;
};

constexpr std::size_t kChunkBytes = 1u << 20;

struct Worker {
  std::vector<double> put_us, get_us;
  std::map<std::string, std::uint64_t> errors;
  std::string first_error;
  std::uint64_t mismatches = 0;
  void fail(const std::string& code, const std::string& message) {
    errors[code]++;
    if (first_error.empty()) first_error = code + ": " + message;
  }
};

std::string random_bytes(std::uint64_t size, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::string s(size, '\0');
  std::size_t i = 0;
  for (; i + 8 <= s.size(); i += 8) {
    const std::uint64_t v = rng();
    std::memcpy(s.data() + i, &v, 8);
  }
  for (; i < s.size(); ++i) s[i] = static_cast<char>(rng());
  return s;
}

Result<std::uint64_t> upload(net::Client& conn, const std::string& data, net::Client::Millis timeout);

// One put over `conn`: the put of the name with the bytes inside for a
// file of one chunk; for a bigger one, upload chunks and then the put.
Status put_file(net::Client& conn, const std::string& name, const std::string& data, const std::string& hash,
                net::Client::Millis timeout) {
  pb::FilesPutRequest put;
  put.set_name(name);
  put.set_sha256(hash);
  put.set_size(data.size());
  if (data.size() <= kChunkBytes) {
    // One chunk: the bytes go with the put.
    put.set_data(data);
  } else {
    auto id = upload(conn, data, timeout);
    if (!id.ok()) return id.error();
    put.set_upload_id(id.value());
  }
  auto done = conn.call<pb::FilesPutResponse>(pb::FILES_PUT_REQUEST, put, pb::FILES_PUT_RESPONSE, timeout);
  if (!done.ok()) return done.error();
  if (done->file().sha256() != hash) return Error{Errc::internal, "the put of " + name + " answered another sha256"};
  return ok_status();
}

Result<std::uint64_t> upload(net::Client& conn, const std::string& data, net::Client::Millis timeout) {
  pb::FilesUploadRequest up;
  up.set_size(data.size());
  std::uint64_t offset = 0;
  do {
    const std::size_t n = std::min<std::size_t>(kChunkBytes, data.size() - offset);
    up.set_offset(offset);
    up.set_data(data.substr(offset, n));
    offset += n;
    auto r = conn.call<pb::FilesUploadResponse>(pb::FILES_UPLOAD_REQUEST, up, pb::FILES_UPLOAD_RESPONSE, timeout);
    if (!r.ok()) return r.error();
    up.set_upload_id(r->upload_id());
    up.clear_size();
  } while (offset < data.size());
  return up.upload_id();
}

// The sha256 of what a get of `name` returns (a linearizable read).
Result<std::string> get_hash(net::Client& conn, const std::string& name, net::Client::Millis timeout) {
  pb::FilesGetRequest get;
  get.set_name(name);
  auto first = conn.call<pb::FilesGetResponse>(pb::FILES_GET_REQUEST, get, pb::FILES_GET_RESPONSE, timeout);
  if (!first.ok()) return first.error();
  Sha256 sha;
  sha.update(first->data());
  std::uint64_t got = first->data().size();
  pb::FilesBlobReadRequest more;
  more.set_sha256(first->file().sha256());
  while (got < first->file().size()) {
    more.set_offset(got);
    auto r =
        conn.call<pb::FilesBlobReadResponse>(pb::FILES_BLOB_READ_REQUEST, more, pb::FILES_BLOB_READ_RESPONSE, timeout);
    if (!r.ok()) return r.error();
    if (r->data().empty()) break;
    sha.update(r->data());
    got += r->data().size();
  }
  return sha.hex();
}

// Runs `body(worker, conn, file index)` for every file over `concurrency`
// threads; returns the seconds it took. The clock starts once every thread
// has its connection (or has failed to get one), as bench/etcd-put's does.
template <class Body>
double run_phase(const std::vector<net::Endpoint>& eps, const FilesBenchOptions& opt, std::vector<Worker>& workers,
                 net::Client::Millis timeout, Body body) {
  std::atomic<unsigned> next{0};
  std::latch connected(opt.concurrency), go(1);
  std::vector<std::thread> threads;
  for (unsigned t = 0; t < opt.concurrency; ++t) {
    threads.emplace_back([&, t] {
      Worker& w = workers[t];
      auto c = net::Client::connect(eps[t % eps.size()], timeout);
      connected.count_down();
      go.wait();
      if (!c.ok()) {
        w.fail("connect", c.error().message);
        return;
      }
      for (unsigned i = next++; i < opt.files; i = next++) {
        if (!body(w, c.value(), i)) {
          // A failed call may leave the connection mid-answer: start afresh.
          auto again = net::Client::connect(eps[t % eps.size()], timeout);
          if (!again.ok()) {
            w.fail("connect", again.error().message);
            return;
          }
          c = std::move(again);
        }
      }
    });
  }
  connected.wait();
  const auto start = Clock::now();
  go.count_down();
  for (auto& th : threads) th.join();
  return std::chrono::duration<double>(Clock::now() - start).count();
}

int run_files_bench(const ClientOptions& options, const FilesBenchOptions& opt) {
  const std::vector<net::Endpoint> eps = client::servers(options);
  if (eps.empty()) return client::report_usage(options, Error{Errc::invalid_argument, "--server names no address"});
  const std::string prefix = opt.prefix.empty() ? "bench-files/" + std::to_string(::getpid()) + "-" +
                                                      std::to_string(std::random_device{}()) + "/"
                                                : opt.prefix;
  // The contents, made before the clock starts.
  std::vector<std::string> data(opt.files), hashes(opt.files);
  const std::uint64_t seed = std::random_device{}();
  for (unsigned i = 0; i < opt.files; ++i) {
    data[i] = random_bytes(opt.size_bytes, seed * 1000003 + i);
    hashes[i] = sha256_hex(data[i]);
  }
  const auto timeout = std::chrono::duration_cast<net::Client::Millis>(options.timeout());
  std::vector<Worker> workers(opt.concurrency);
  std::vector<char> stored(opt.files, 0);
  const double put_s = run_phase(eps, opt, workers, timeout, [&](Worker& w, net::Client& c, unsigned i) {
    const auto t0 = Clock::now();
    auto st = put_file(c, prefix + std::to_string(i), data[i], hashes[i], timeout);
    if (!st.ok()) {
      w.fail(std::string(errc_name(st.error().code)), st.error().message);
      return false;
    }
    w.put_us.push_back(std::chrono::duration<double, std::micro>(Clock::now() - t0).count());
    stored[i] = 1;
    return true;
  });
  std::vector<Worker> readers(opt.concurrency);
  const double get_s = run_phase(eps, opt, readers, timeout, [&](Worker& w, net::Client& c, unsigned i) {
    if (!stored[i]) return true;
    const auto t0 = Clock::now();
    auto h = get_hash(c, prefix + std::to_string(i), timeout);
    if (!h.ok()) {
      w.fail(std::string(errc_name(h.error().code)), h.error().message);
      return false;
    }
    w.get_us.push_back(std::chrono::duration<double, std::micro>(Clock::now() - t0).count());
    if (h.value() != hashes[i]) {
      w.mismatches++;
      w.fail("mismatch", prefix + std::to_string(i) + " read back with sha256 " + h.value() + ", put " + hashes[i]);
    }
    return true;
  });

  std::vector<double> puts, gets;
  std::map<std::string, std::uint64_t> errors, read_errors;
  std::uint64_t mismatches = 0, error_count = 0;
  std::string first_error;
  for (auto& w : workers) {
    puts.insert(puts.end(), w.put_us.begin(), w.put_us.end());
    for (const auto& [code, n] : w.errors) errors[code] += n, error_count += n;
    if (first_error.empty()) first_error = w.first_error;
  }
  for (auto& w : readers) {
    gets.insert(gets.end(), w.get_us.begin(), w.get_us.end());
    mismatches += w.mismatches;
    for (const auto& [code, n] : w.errors) {
      if (code != "mismatch") read_errors[code] += n, error_count += n;
    }
    if (first_error.empty()) first_error = w.first_error;
  }
  std::sort(puts.begin(), puts.end());
  std::sort(gets.begin(), gets.end());
  const double fps = put_s > 0 ? static_cast<double>(puts.size()) / put_s : 0;
  const double mbps = fps * static_cast<double>(opt.size_bytes) / 1e6;
  const double gfps = get_s > 0 ? static_cast<double>(gets.size()) / get_s : 0;
  const bool verified = mismatches == 0 && gets.size() == opt.files;
  if (options.json()) {
    json::Object errs;
    for (const auto& [code, n] : errors) errs.add(code, n);
    for (const auto& [code, n] : read_errors) errs.add("read_" + code, n);
    std::cout << json::Object()
                     .add("files", opt.files)
                     .add("size_bytes", opt.size_bytes)
                     .add("concurrency", opt.concurrency)
                     .add("servers", static_cast<std::uint64_t>(eps.size()))
                     .add("stored", static_cast<std::uint64_t>(puts.size()))
                     .add("put_s", put_s)
                     .add("files_per_s", fps)
                     .add("mb_per_s", mbps)
                     .add("p50_us", percentile(puts, 50))
                     .add("p99_us", percentile(puts, 99))
                     .add("p999_us", percentile(puts, 99.9))
                     .add("read_back", static_cast<std::uint64_t>(gets.size()))
                     .add("read_files_per_s", gfps)
                     .add("read_p50_us", percentile(gets, 50))
                     .add("read_p99_us", percentile(gets, 99))
                     .add("mismatches", mismatches)
                     .add("errors", error_count)
                     .add_raw("errors_by_code", errs.str())
                     .add("verified", verified)
                     .str()
              << std::endl;
  } else {
    std::printf("files: %u files of %llu random bytes, %u in flight over %zu server(s)\n", opt.files,
                static_cast<unsigned long long>(opt.size_bytes), opt.concurrency, eps.size());
    std::printf("puts: %zu stored (durable on a write quorum, committed) of %u in %.2f s, %llu errors\n", puts.size(),
                opt.files, put_s, static_cast<unsigned long long>(error_count));
    std::printf("throughput: %.0f files/s, %.2f MB/s\n", fps, mbps);
    std::printf("latency: p50 %.0f us, p99 %.0f us, p99.9 %.0f us\n", percentile(puts, 50), percentile(puts, 99),
                percentile(puts, 99.9));
    std::printf("read back: %zu of %zu files, sha256 %s, %.0f files/s, p50 %.0f us, p99 %.0f us\n", gets.size(),
                puts.size(), mismatches == 0 ? "ok" : (std::to_string(mismatches) + " MISMATCHED").c_str(), gfps,
                percentile(gets, 50), percentile(gets, 99));
    for (const auto& [code, n] : errors) {
      std::printf("errors %s: %llu\n", code.c_str(), static_cast<unsigned long long>(n));
    }
    for (const auto& [code, n] : read_errors) {
      std::printf("read errors %s: %llu\n", code.c_str(), static_cast<unsigned long long>(n));
    }
    if (!first_error.empty()) std::printf("first error: %s\n", first_error.c_str());
  }
  if (puts.empty()) return client::kExitServerError;
  return verified && error_count == 0 ? client::kExitOk : client::kExitServerError;
}

}  // namespace

void add_bench_cli(CLI::App& bench, ClientOptions& options, std::function<int()>& action) {
  auto opt = std::make_shared<FilesBenchOptions>();
  auto* cmd = bench.add_subcommand(
      "files",
      "put --files files of --size random bytes through a cluster with --concurrency puts in flight, then read every "
      "one back and check its sha256; prints files/s, MB/s and p50/p99/p99.9 put latency.\nA put counts once "
      "answered: its blob is fsynced on a write quorum of its replicas and its name committed. Worker i connects to "
      "the i-th address of --server (round robin). Exit 0 only if every put succeeded and every file read back with "
      "its sha256; 1 otherwise.");
  cmd->add_option("--files,-f", opt->files, "how many files to put")
      ->check(CLI::Range(1u, 10000000u))
      ->capture_default_str();
  cmd->add_option("--size,-s", opt->size_bytes, "bytes per file (random)")
      ->check(CLI::Range(std::uint64_t{0}, std::uint64_t{1} << 32))
      ->capture_default_str();
  cmd->add_option("--concurrency,-c", opt->concurrency, "puts in flight (one connection and thread each)")
      ->check(CLI::Range(1u, 1024u))
      ->capture_default_str();
  cmd->add_option("--prefix", opt->prefix, "name prefix of the files (default bench-files/PID-RANDOM/)");
  cmd->callback([&options, &action, opt] { action = [&options, opt] { return run_files_bench(options, *opt); }; });
}

}  // namespace minga::files
