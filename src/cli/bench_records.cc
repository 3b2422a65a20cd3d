// `minga bench records`: C connections, each keeping N RECORDS_ADD requests
// in flight (pipelined frames matched by request id), spread over the
// --server addresses, for a fixed time. Every answer counted as a write is
// a RECORDS_ADD_RESPONSE, which a node sends only once the record is
// committed (on a quorum's disks) and applied. Error answers are counted by
// code and printed; they never count as writes.
#include "net/asio.h"
// (asio.h first)
#include <algorithm>
#include <cstdio>
#include <iostream>
#include <map>
#include <memory>
#include <unordered_map>
#include <vector>

#include <CLI/CLI.hpp>

#include "base/json.h"
#include "base/number.h"
#include "cli/bench_commands.h"
#include "net/client.h"
#include "proto/minga.pb.h"
#include "proto/records.pb.h"
#include "wire/frame.h"

namespace minga::cli {

using namespace minga::client;  // the client layer, which the subcommands use throughout

namespace {

using Clock = std::chrono::steady_clock;
namespace asio = boost::asio;
using tcp = asio::ip::tcp;

struct RecordsBenchOptions {
  unsigned connections = 4;
  unsigned inflight = 16;
  unsigned size_bytes = 64;
  double duration_seconds = 10;
  double warmup_seconds = 1;
  double drain_seconds = 5;
  double error_pause_ms = 10;
};

struct ConnStats {
  bool connected = false;
  std::uint64_t ok = 0;                         // writes acknowledged, sent after warm-up
  std::uint64_t sent = 0;                       // requests sent after warm-up
  std::map<std::string, std::uint64_t> errors;  // by error code name (and "connect", "connection lost", ...)
  std::vector<double> latencies_us;             // one per acknowledged write sent after warm-up
  std::string first_error;
  Clock::time_point last_answer{};
};

void count_error(ConnStats& stats, const std::string& code, std::uint64_t n, const std::string& message) {
  stats.errors[code] += n;
  if (stats.first_error.empty()) stats.first_error = code + ": " + message;
}

// The record text: `size` printable ASCII bytes (valid UTF-8, no newline).
std::string record_text(unsigned size, unsigned conn) {
  std::string text(size, 'x');
  const std::string tag = "bench-" + std::to_string(conn) + "-";
  std::copy_n(tag.begin(), std::min<std::size_t>(tag.size(), text.size()), text.begin());
  return text;
}

asio::awaitable<void> drive(tcp::endpoint ep, std::string request_body, const RecordsBenchOptions& opt,
                            Clock::time_point measure_from, Clock::time_point stop_at, ConnStats& stats) {
  auto executor = co_await asio::this_coro::executor;
  tcp::socket sock(executor);
  boost::system::error_code ec;
  co_await sock.async_connect(ep, asio::redirect_error(asio::use_awaitable, ec));
  if (ec) {
    count_error(stats, "connect", 1, ep.address().to_string() + ":" + std::to_string(ep.port()) + ": " + ec.message());
    co_return;
  }
  stats.connected = true;
  sock.set_option(tcp::no_delay(true));
  // Bounds the run: whatever is unanswered this long after the end is lost.
  asio::steady_timer guard(executor);
  guard.expires_at(stop_at +
                   std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(opt.drain_seconds)));
  guard.async_wait([&sock](const boost::system::error_code& e) {
    if (!e) {
      boost::system::error_code ignore;
      sock.close(ignore);
    }
  });
  asio::steady_timer pause(executor);
  std::unordered_map<std::uint64_t, Clock::time_point> sent_at;
  sent_at.reserve(opt.inflight * 2);
  std::uint64_t next_id = 1;
  std::string out;
  auto queue_request = [&] {
    const auto now = Clock::now();
    sent_at[next_id] = now;
    if (now >= measure_from) stats.sent++;
    wire::encode(out, pb::RECORDS_ADD_REQUEST, next_id++, request_body);
  };
  for (unsigned i = 0; i < opt.inflight; ++i) queue_request();
  std::string in;
  std::vector<char> buf(64 * 1024);
  unsigned to_send = 0;  // replacements held back after an error answer
  while (!sent_at.empty() || to_send > 0) {
    if (to_send > 0) {
      // Some requests were answered with an error (an election, say): wait a
      // little instead of spinning, then send their replacements.
      pause.expires_after(
          std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double, std::milli>(opt.error_pause_ms)));
      co_await pause.async_wait(asio::redirect_error(asio::use_awaitable, ec));
      if (Clock::now() < stop_at) {
        for (; to_send > 0; --to_send) queue_request();
      } else {
        to_send = 0;
        if (sent_at.empty()) break;
      }
    }
    if (!out.empty()) {
      co_await asio::async_write(sock, asio::buffer(out), asio::redirect_error(asio::use_awaitable, ec));
      out.clear();
      if (ec) break;
    }
    const std::size_t n =
        co_await sock.async_read_some(asio::buffer(buf), asio::redirect_error(asio::use_awaitable, ec));
    if (ec) break;
    in.append(buf.data(), n);
    std::size_t pos = 0;
    const auto now = Clock::now();
    for (;;) {
      auto d = wire::decode(std::string_view(in).substr(pos), wire::kDefaultMaxBodyBytes);
      if (d.status == wire::Decoded::Status::error) {
        count_error(stats, "bad_frame", 1, wire::to_string(d.error));
        ec = asio::error::invalid_argument;
        break;
      }
      if (d.status != wire::Decoded::Status::frame) break;
      pos += d.consumed;
      auto it = sent_at.find(d.header.request_id);
      if (it == sent_at.end()) continue;
      const bool measured = it->second >= measure_from;
      if (d.header.type == pb::RECORDS_ADD_RESPONSE) {
        if (measured) {
          stats.ok++;
          stats.latencies_us.push_back(std::chrono::duration<double, std::micro>(now - it->second).count());
          stats.last_answer = now;
        }
        sent_at.erase(it);
        if (now < stop_at) queue_request();
      } else {
        const Error e = d.header.type == pb::ERROR
                            ? net::decode_error(d.body)
                            : Error{Errc::bad_frame, "unexpected answer type " + std::to_string(d.header.type)};
        if (measured) count_error(stats, errc_name(e.code), 1, e.message);
        sent_at.erase(it);
        if (now < stop_at) ++to_send;
      }
    }
    in.erase(0, pos);
    if (ec) break;
  }
  guard.cancel();
  if (!sent_at.empty()) {
    std::uint64_t lost = 0;
    for (const auto& [id, at] : sent_at) lost += at >= measure_from ? 1 : 0;
    if (lost > 0) {
      count_error(stats, "unanswered", lost,
                  (ec ? ec.message() : std::string("no answer")) + " (the outcome of these writes is unknown)");
    }
  }
  sock.close(ec);
}

int run_records_bench(const ClientOptions& options, const RecordsBenchOptions& opt) {
  const std::vector<net::Endpoint> list = servers(options);
  if (list.empty()) return report_usage(options, Error{Errc::invalid_argument, "--server names no address"});
  std::vector<tcp::endpoint> eps;
  for (const auto& s : list) {
    boost::system::error_code ec;
    auto address = asio::ip::make_address(s.host == "localhost" ? "127.0.0.1" : s.host, ec);
    if (ec) return report_usage(options, Error{Errc::invalid_argument, "bench needs numeric addresses: " + s.host});
    eps.emplace_back(address, s.port);
  }

  asio::io_context io(1);
  std::vector<ConnStats> stats(opt.connections);
  const auto start = Clock::now();
  const auto measure_from =
      start + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(opt.warmup_seconds));
  const auto stop_at =
      measure_from + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(opt.duration_seconds));
  for (unsigned i = 0; i < opt.connections; ++i) {
    pb::RecordsAddRequest req;
    req.set_text(record_text(opt.size_bytes, i));
    asio::co_spawn(io, drive(eps[i % eps.size()], req.SerializeAsString(), opt, measure_from, stop_at, stats[i]),
                   asio::detached);
  }
  io.run();

  std::vector<double> all;
  std::uint64_t ok = 0, sent = 0, error_count = 0;
  std::map<std::string, std::uint64_t> errors;
  std::string first_error;
  Clock::time_point last_answer = stop_at;
  for (auto& s : stats) {
    ok += s.ok;
    sent += s.sent;
    for (const auto& [code, n] : s.errors) {
      errors[code] += n;
      error_count += n;
    }
    all.insert(all.end(), s.latencies_us.begin(), s.latencies_us.end());
    if (first_error.empty()) first_error = s.first_error;
    last_answer = std::max(last_answer, s.last_answer);
  }
  if (std::none_of(stats.begin(), stats.end(), [](const ConnStats& s) { return s.connected; })) {
    return report(options, Error{Errc::unavailable, "cannot reach " + options.server + ": " + first_error});
  }
  // From the end of warm-up to the last acknowledgment: the writes sent
  // before the end and answered after it count, and so does their time.
  const double measured_s = std::chrono::duration<double>(last_answer - measure_from).count();
  std::sort(all.begin(), all.end());
  const double wps = measured_s > 0 ? static_cast<double>(ok) / measured_s : 0;
  const double p50 = percentile(all, 50), p99 = percentile(all, 99), p999 = percentile(all, 99.9);
  if (options.json()) {
    json::Object errs;
    for (const auto& [code, n] : errors) errs.add(code, n);
    std::cout << json::Object()
                     .add("connections", opt.connections)
                     .add("inflight", opt.inflight)
                     .add("size_bytes", opt.size_bytes)
                     .add("servers", static_cast<std::uint64_t>(eps.size()))
                     .add("duration_s", measured_s)
                     .add("sent", sent)
                     .add("writes", ok)
                     .add("errors", error_count)
                     .add_raw("errors_by_code", errs.str())
                     .add("writes_per_s", wps)
                     .add("p50_us", p50)
                     .add("p99_us", p99)
                     .add("p999_us", p999)
                     .str()
              << std::endl;
  } else {
    std::printf("records: %u connections x %u in flight over %zu server(s), %u-byte records, %.1f s\n", opt.connections,
                opt.inflight, eps.size(), opt.size_bytes, measured_s);
    std::printf("writes: %llu acknowledged (committed and applied) of %llu sent, %llu errors\n",
                static_cast<unsigned long long>(ok), static_cast<unsigned long long>(sent),
                static_cast<unsigned long long>(error_count));
    std::printf("throughput: %.0f writes/s\n", wps);
    std::printf("latency: p50 %.0f us, p99 %.0f us, p99.9 %.0f us\n", p50, p99, p999);
    for (const auto& [code, n] : errors) {
      std::printf("errors %s: %llu\n", code.c_str(), static_cast<unsigned long long>(n));
    }
    if (!first_error.empty()) std::printf("first error: %s\n", first_error.c_str());
  }
  if (ok == 0) return kExitServerError;
  return error_count == 0 ? kExitOk : kExitServerError;
}

}  // namespace

void add_bench_records_command(CLI::App& bench, ClientOptions& options, std::function<int()>& action) {
  auto opt = std::make_shared<RecordsBenchOptions>();
  auto* cmd = bench.add_subcommand(
      "records",
      "load a cluster with `records add` writes; prints durable replicated writes/s, p50/p99/p99.9 latency and "
      "errors by code.\nA write counts once its answer arrives: the record is committed (fsynced by a quorum) and "
      "applied. Connection i goes to the i-th address of --server (round robin); a follower forwards to the leader. "
      "Error answers (NOT_LEADER, TIMEOUT, ...) are counted by code, never as writes; the slot sends again after "
      "--error-pause.\nThe nodes come from the global --server a:1,b:2,c:3 (or MINGA_SERVER); --output json prints one "
      "JSON "
      "object. Exit 0 only if every write succeeded, 1 if any error was counted.");
  cmd->add_option("--connections,-c", opt->connections, "TCP connections, spread round robin over the --server list")
      ->check(CLI::Range(1u, 10000u))
      ->capture_default_str();
  cmd->add_option("--inflight,-n", opt->inflight,
                  "requests each connection keeps in flight (pipelined frames, matched by request id); "
                  "total concurrency = connections x inflight")
      ->check(CLI::Range(1u, 4096u))
      ->capture_default_str();
  cmd->add_option("--size,-s", opt->size_bytes,
                  "bytes of text per record (printable ASCII; must not exceed the nodes' records.max_bytes)")
      ->check(CLI::Range(1u, 1u << 20))
      ->capture_default_str();
  cmd->add_option("--duration,-d", opt->duration_seconds, "seconds to measure, after the warm-up")
      ->check(CLI::Range(0.1, 3600.0))
      ->capture_default_str();
  cmd->add_option("--warmup", opt->warmup_seconds, "seconds of load before measuring (not counted)")
      ->check(CLI::Range(0.0, 60.0))
      ->capture_default_str();
  cmd->add_option("--drain", opt->drain_seconds,
                  "after the end, seconds to wait for answers still in flight; what is still unanswered then is "
                  "counted as error `unanswered`")
      ->check(CLI::Range(0.1, 600.0))
      ->capture_default_str();
  cmd->add_option("--error-pause", opt->error_pause_ms,
                  "milliseconds a connection waits before sending again in place of requests answered with an error")
      ->check(CLI::Range(0.0, 10000.0))
      ->capture_default_str();
  cmd->callback([&options, &action, opt] { action = [&options, opt] { return run_records_bench(options, *opt); }; });
}

}  // namespace minga::cli
