#include "client/options.h"

#include <algorithm>
#include <cstdio>
#include <iostream>
#include <thread>

#include <CLI/CLI.hpp>

#include "apps/api/handlers.h"
#include "apps/api/tasks.h"
#include "client/hints.h"

namespace minga::client {

net::Client::Millis ClientOptions::timeout() const {
  return net::Client::Millis(static_cast<std::int64_t>(timeout_seconds * 1000));
}

void add_client_flags(CLI::App& app, ClientOptions& options) {
  // A malformed address is a usage error (exit 2), found before any command runs.
  const CLI::Validator endpoint(
      [](const std::string& text) {
        std::string_view rest = text;
        do {
          const auto comma = rest.find(',');
          auto ep = net::parse_endpoint(rest.substr(0, comma));
          if (!ep.ok()) return ep.error().message;
          rest = comma == std::string_view::npos ? std::string_view() : rest.substr(comma + 1);
        } while (!rest.empty());
        return std::string();
      },
      "");
  app.add_option("--server,-s", options.server, "node address HOST:PORT, or several: HOST:PORT,HOST:PORT,...")
      ->envname("MINGA_SERVER")
      ->check(endpoint)
      ->type_name("HOST:PORT[,...]")
      ->capture_default_str();
  app.add_option("--output,-o", options.output, "output format")
      ->check(CLI::IsMember({"text", "json"}))
      ->capture_default_str();
  app.add_option("--timeout", options.timeout_seconds, "seconds to wait for the server")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
}

std::vector<net::Endpoint> servers(const ClientOptions& options) {
  std::vector<net::Endpoint> out;
  std::string_view rest = options.server;
  while (!rest.empty()) {
    const auto comma = rest.find(',');
    if (auto ep = net::parse_endpoint(rest.substr(0, comma)); ep.ok()) out.push_back(ep.value());
    rest = comma == std::string_view::npos ? std::string_view() : rest.substr(comma + 1);
  }
  return out;
}

Result<net::Client> connect(const ClientOptions& options) {
  const auto list = servers(options);
  if (list.empty()) return Error{Errc::invalid_argument, "no server address in '" + options.server + "'"};
  // With several addresses each gets a share of the wait.
  const auto each = std::max(net::Client::Millis(200), options.timeout() / static_cast<int>(list.size()));
  Error last{Errc::unavailable, ""};
  for (const auto& ep : list) {
    auto c = net::Client::connect(ep, list.size() == 1 ? options.timeout() : each);
    if (c.ok()) return c;
    last = c.error();
  }
  if (list.size() > 1) last.message = "no node of " + options.server + " answers (last: " + last.message + ")";
  return last;
}

Result<std::string> call_cluster(const ClientOptions& options, std::uint32_t type,
                                 const google::protobuf::MessageLite& request, std::uint32_t expected_type,
                                 bool idempotent) {
  using Clock = std::chrono::steady_clock;
  const auto list = servers(options);
  if (list.empty()) return Error{Errc::invalid_argument, "no server address in '" + options.server + "'"};
  const auto deadline = Clock::now() + options.timeout();
  auto backoff = std::chrono::milliseconds(50);
  Error last{Errc::unavailable, "no attempt"};
  for (std::size_t attempt = 0;; ++attempt) {
    const auto left = std::chrono::duration_cast<net::Client::Millis>(deadline - Clock::now());
    if (left.count() <= 0) break;
    const net::Endpoint& ep = list[attempt % list.size()];
    auto c = net::Client::connect(ep, std::min(left, net::Client::Millis(1000)));
    if (c.ok()) {
      auto r = c->call(type, request, expected_type, left);
      if (r.ok()) return r;
      last = r.error();
      const Errc code = r.error().code;
      // A connection lost after the request left: the outcome is unknown,
      // so only a request that may run twice is sent again.
      const bool retry = code == Errc::not_leader || code == Errc::busy || code == Errc::shutting_down ||
                         (idempotent && code == Errc::unavailable);
      if (!retry) return r;
    } else {
      last = c.error();
    }
    // After a full round of addresses, wait before the next.
    if ((attempt + 1) % list.size() == 0) {
      const auto wait = std::min<Clock::duration>(backoff, deadline - Clock::now());
      if (wait.count() > 0) std::this_thread::sleep_for(wait);
      backoff = std::min(backoff * 2, std::chrono::milliseconds(1000));
    }
  }
  if (last.code == Errc::not_leader) {
    return Error{Errc::timeout, "no leader within --timeout (" + last.message + ")"};
  }
  return last;
}

Result<std::string> call_with_retry(const ClientOptions& options, std::uint32_t type,
                                    const google::protobuf::MessageLite& request, std::uint32_t expected_type,
                                    net::Client::Millis extra_wait) {
  using Clock = std::chrono::steady_clock;
  const auto started = Clock::now();
  const auto budget = options.timeout() + extra_wait;
  auto client = connect(options);
  if (!client.ok()) return client.error();
  auto r = client->call(type, request, expected_type, budget);
  if (r.ok()) return r;
  const Errc code = r.error().code;
  const bool elsewhere = servers(options).size() > 1 && (code == Errc::unavailable || code == Errc::shutting_down);
  if (code != Errc::not_leader && !elsewhere) return r;
  const auto left = budget - std::chrono::duration_cast<net::Client::Millis>(Clock::now() - started);
  if (left.count() <= 0) return r;
  ClientOptions rest = options;
  rest.timeout_seconds = std::chrono::duration<double>(left).count();
  return call_cluster(rest, type, request, expected_type, true);
}

int report(const ClientOptions& options, const Error& error) {
  const std::string message = error.code == Errc::unavailable && error.message.rfind("cannot reach ", 0) == 0
                                  ? error.message + "; " + kStartNodeHint
                                  : error.message;
  if (options.json()) {
    std::cout << apps::json_error(message) << std::endl;
  } else {
    std::cerr << "error: " << message << std::endl;
  }
  switch (error.code) {
    case Errc::unavailable:
      return kExitUnreachable;
    default:
      return kExitServerError;
  }
}

int report_usage(const ClientOptions& options, const Error& error) {
  report(options, error);
  return kExitUsage;
}

Result<pb::TaskResponse> run_task(const ClientOptions& options, const pb::TaskRequest& request) {
  // A sleep answers after its seconds: --timeout is the wait beyond them
  // (clamped so an absurd value cannot overflow the deadline; the node refuses it).
  constexpr double kMaxWaitSeconds = 86400;
  const auto sleep = std::chrono::duration<double>(
      request.kind() == "sleep" ? std::clamp(request.seconds(), 0.0, kMaxWaitSeconds) : 0.0);
  // Tasks are idempotent, so one lost with a leader is sent again.
  return call_with_retry<pb::TaskResponse>(options, pb::TASK_REQUEST, request, pb::TASK_RESPONSE,
                                           std::chrono::duration_cast<net::Client::Millis>(sleep));
}

void print_table(const std::vector<std::vector<std::string>>& rows) {
  if (rows.empty()) return;
  std::vector<std::size_t> width(rows[0].size(), 0);
  for (const auto& row : rows) {
    for (std::size_t c = 0; c < row.size() && c < width.size(); ++c) width[c] = std::max(width[c], row[c].size());
  }
  for (const auto& row : rows) {
    std::string line;
    for (std::size_t c = 0; c < row.size(); ++c) {
      line += row[c];
      if (c + 1 < row.size() && c < width.size()) line += std::string(width[c] - row[c].size() + 2, ' ');
    }
    std::cout << line << "\n";
  }
  std::cout << std::flush;
}

int print_task(const ClientOptions& options, const Result<pb::TaskResponse>& result) {
  if (!result.ok()) return report(options, result.error());
  if (options.json()) {
    std::cout << apps::json_ok_raw(apps::task_value_json(result.value())) << std::endl;
  } else {
    std::cout << apps::task_value_text(result.value()) << std::endl;
  }
  return kExitOk;
}

}  // namespace minga::client
