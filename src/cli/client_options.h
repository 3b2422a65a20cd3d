// What every client subcommand shares: where the server is, how to print,
// how long to wait, and the exit codes.
#pragma once

#include <string>

#include "base/result.h"
#include "net/client.h"
#include "proto/minga.pb.h"

namespace CLI {
class App;
}

namespace minga::cli {

// Exit codes of client commands.
inline constexpr int kExitOk = 0;
inline constexpr int kExitServerError = 1;
inline constexpr int kExitUsage = 2;
inline constexpr int kExitUnreachable = 3;

struct ClientOptions {
  std::string server = "127.0.0.1:7400";  // --server, MINGA_SERVER
  std::string output = "text";            // --output text|json
  double timeout_seconds = 30;            // --timeout
  net::Client::Millis timeout() const;
  bool json() const { return output == "json"; }
};

// Adds --server, --output and --timeout to `app` (the root; subcommands fall
// through to it, so the flags work before or after the subcommand).
void add_client_flags(CLI::App& app, ClientOptions& options);

Result<net::Client> connect(const ClientOptions& options);

// Prints the error (stderr in text mode, a JSON object on stdout in JSON
// mode) and returns the exit code for it.
int report(const ClientOptions& options, const Error& error);
// The same for a bad argument found before anything was sent: exit code 2.
int report_usage(const ClientOptions& options, const Error& error);

// Runs one task on the server.
Result<pb::TaskResponse> run_task(const ClientOptions& options, const pb::TaskRequest& request);

// Prints a task answer in the chosen output; returns the exit code.
int print_task(const ClientOptions& options, const Result<pb::TaskResponse>& result);

}  // namespace minga::cli
