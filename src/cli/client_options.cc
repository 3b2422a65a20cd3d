#include "cli/client_options.h"

#include <algorithm>
#include <cstdio>
#include <iostream>

#include <CLI/CLI.hpp>

#include "apps/api/handlers.h"
#include "apps/api/tasks.h"
#include "cli/hints.h"

namespace minga::cli {

net::Client::Millis ClientOptions::timeout() const {
  return net::Client::Millis(static_cast<std::int64_t>(timeout_seconds * 1000));
}

void add_client_flags(CLI::App& app, ClientOptions& options) {
  // A malformed address is a usage error (exit 2), found before any command runs.
  const CLI::Validator endpoint(
      [](const std::string& text) {
        auto ep = net::parse_endpoint(text);
        return ep.ok() ? std::string() : ep.error().message;
      },
      "");
  app.add_option("--server,-s", options.server, "server address HOST:PORT")
      ->envname("MINGA_SERVER")
      ->check(endpoint)
      ->type_name("HOST:PORT")
      ->capture_default_str();
  app.add_option("--output,-o", options.output, "output format")
      ->check(CLI::IsMember({"text", "json"}))
      ->capture_default_str();
  app.add_option("--timeout", options.timeout_seconds, "seconds to wait for the server")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
}

Result<net::Client> connect(const ClientOptions& options) {
  auto ep = net::parse_endpoint(options.server);
  if (!ep.ok()) return ep.error();
  return net::Client::connect(ep.value(), options.timeout());
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
  auto client = connect(options);
  if (!client.ok()) return client.error();
  // A sleep answers after its seconds: --timeout is the wait beyond them
  // (clamped so an absurd value cannot overflow the deadline; the node refuses it).
  constexpr double kMaxWaitSeconds = 86400;
  const auto sleep = std::chrono::duration<double>(
      request.kind() == "sleep" ? std::clamp(request.seconds(), 0.0, kMaxWaitSeconds) : 0.0);
  const auto deadline = options.timeout() + std::chrono::duration_cast<net::Client::Millis>(sleep);
  return client->call<pb::TaskResponse>(pb::TASK_REQUEST, request, pb::TASK_RESPONSE, deadline);
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

}  // namespace minga::cli
