#include "net/asio.h"
// (asio.h first)
#include <algorithm>
#include <iostream>
#include <memory>
#include <unordered_map>
#include <vector>

#include <CLI/CLI.hpp>

#include "base/json.h"
#include "base/number.h"
#include "cli/bench_commands.h"
#include "net/client.h"
#include "proto/minga.pb.h"
#include "wire/frame.h"

namespace minga::cli {

using namespace minga::client;  // the client layer, which the subcommands use throughout

namespace {

using Clock = std::chrono::steady_clock;
namespace asio = boost::asio;
using tcp = asio::ip::tcp;

struct BenchOptions {
  std::string kind = "uppercase";
  std::string text = "hola mundo";
  unsigned connections = 50;
  unsigned pipeline = 1;
  double duration_seconds = 10;
  double warmup_seconds = 1;
};

struct ConnStats {
  bool connected = false;
  std::uint64_t ok = 0;
  std::uint64_t errors = 0;
  std::vector<double> latencies_us;  // one per answer after warm-up
  std::string first_error;
};

// One connection keeping `pipeline` requests in flight until the deadline.
asio::awaitable<void> drive(tcp::endpoint ep, std::string request_body, const BenchOptions& opt,
                            Clock::time_point measure_from, Clock::time_point stop_at, ConnStats& stats) {
  tcp::socket sock(co_await asio::this_coro::executor);
  boost::system::error_code ec;
  co_await sock.async_connect(ep, asio::redirect_error(asio::use_awaitable, ec));
  if (ec) {
    stats.errors++;
    stats.first_error = "connect: " + ec.message();
    co_return;
  }
  stats.connected = true;
  sock.set_option(tcp::no_delay(true));
  std::unordered_map<std::uint64_t, Clock::time_point> sent_at;
  sent_at.reserve(opt.pipeline * 2);
  std::uint64_t next_id = 1;
  std::string out;
  auto queue_request = [&] {
    sent_at[next_id] = Clock::now();
    wire::encode(out, pb::TASK_REQUEST, next_id++, request_body);
  };
  for (unsigned i = 0; i < opt.pipeline; ++i) queue_request();
  std::string in;
  std::vector<char> buf(64 * 1024);
  while (!sent_at.empty()) {
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
      if (d.status != wire::Decoded::Status::frame) break;
      pos += d.consumed;
      auto it = sent_at.find(d.header.request_id);
      if (it == sent_at.end()) continue;
      if (d.header.type == pb::TASK_RESPONSE) {
        if (it->second >= measure_from) {
          stats.ok++;
          stats.latencies_us.push_back(std::chrono::duration<double, std::micro>(now - it->second).count());
        }
      } else {
        stats.errors++;
        if (stats.first_error.empty()) stats.first_error = net::decode_error(d.body).message;
      }
      sent_at.erase(it);
      if (now < stop_at) queue_request();
    }
    in.erase(0, pos);
  }
  if (ec && stats.first_error.empty() && !sent_at.empty()) stats.first_error = ec.message();
  sock.close(ec);
}

int run_bench(const ClientOptions& options, const BenchOptions& opt) {
  auto ep = net::parse_endpoint(options.server);
  if (!ep.ok()) return report(options, ep.error());
  boost::system::error_code ec;
  auto address = asio::ip::make_address(ep->host == "localhost" ? "127.0.0.1" : ep->host, ec);
  if (ec) return report(options, Error{Errc::invalid_argument, "bench needs a numeric address: " + ep->host});
  pb::TaskRequest req;
  req.set_kind(opt.kind);
  req.set_text(opt.text);
  req.set_a(10);
  req.set_b(5);
  req.set_seconds(0.001);
  const std::string body = req.SerializeAsString();

  asio::io_context io(1);
  std::vector<ConnStats> stats(opt.connections);
  const auto start = Clock::now();
  const auto measure_from =
      start + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(opt.warmup_seconds));
  const auto stop_at =
      measure_from + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(opt.duration_seconds));
  for (unsigned i = 0; i < opt.connections; ++i) {
    asio::co_spawn(io, drive(tcp::endpoint(address, ep->port), body, opt, measure_from, stop_at, stats[i]),
                   asio::detached);
  }
  io.run();
  const double measured_s = std::chrono::duration<double>(Clock::now() - measure_from).count();

  std::vector<double> all;
  std::uint64_t ok = 0, errors = 0;
  std::string first_error;
  for (auto& s : stats) {
    ok += s.ok;
    errors += s.errors;
    all.insert(all.end(), s.latencies_us.begin(), s.latencies_us.end());
    if (first_error.empty()) first_error = s.first_error;
  }
  if (std::none_of(stats.begin(), stats.end(), [](const ConnStats& s) { return s.connected; })) {
    return report(options, Error{Errc::unavailable, "cannot reach " + ep->str() + ": " + first_error});
  }
  std::sort(all.begin(), all.end());
  const double rps = static_cast<double>(ok) / measured_s;
  const double p50 = percentile(all, 50), p99 = percentile(all, 99), p999 = percentile(all, 99.9);
  if (options.json()) {
    std::cout << json::Object()
                     .add("ok", ok > 0 && errors == 0)
                     .add("kind", opt.kind)
                     .add("connections", opt.connections)
                     .add("pipeline", opt.pipeline)
                     .add("duration_s", measured_s)
                     .add("requests", ok)
                     .add("errors", errors)
                     .add("requests_per_s", rps)
                     .add("p50_us", p50)
                     .add("p99_us", p99)
                     .add("p999_us", p999)
                     .str()
              << std::endl;
  } else {
    std::printf("kind %s, %u connections, pipeline %u, %.1f s\n", opt.kind.c_str(), opt.connections, opt.pipeline,
                measured_s);
    std::printf("requests: %llu ok, %llu errors\n", static_cast<unsigned long long>(ok),
                static_cast<unsigned long long>(errors));
    std::printf("throughput: %.0f requests/s\n", rps);
    std::printf("latency: p50 %.0f us, p99 %.0f us, p99.9 %.0f us\n", p50, p99, p999);
    if (!first_error.empty()) std::printf("first error: %s\n", first_error.c_str());
  }
  if (ok == 0) return kExitServerError;
  return errors == 0 ? kExitOk : kExitServerError;
}

}  // namespace

void add_bench_tasks_command(CLI::App& bench, ClientOptions& options, std::function<int()>& action) {
  auto opt = std::make_shared<BenchOptions>();
  auto* cmd = bench.add_subcommand("tasks", "load a node with tasks; prints requests/s and p50/p99/p99.9 latency");
  cmd->add_option("--kind", opt->kind, "task kind (uppercase, reverse, word_count, add, ...)")->capture_default_str();
  cmd->add_option("--text", opt->text, "text argument of text tasks")->capture_default_str();
  cmd->add_option("--connections,-c", opt->connections, "concurrent connections")
      ->check(CLI::Range(1u, 10000u))
      ->capture_default_str();
  cmd->add_option("--pipeline,-P", opt->pipeline, "requests in flight per connection")
      ->check(CLI::Range(1u, 4096u))
      ->capture_default_str();
  cmd->add_option("--duration,-d", opt->duration_seconds, "seconds to measure (after warm-up)")
      ->check(CLI::Range(0.1, 3600.0))
      ->capture_default_str();
  cmd->add_option("--warmup", opt->warmup_seconds, "seconds of load before measuring")
      ->check(CLI::Range(0.0, 60.0))
      ->capture_default_str();
  cmd->callback([&options, &action, opt] { action = [&options, opt] { return run_bench(options, *opt); }; });
}

}  // namespace minga::cli
