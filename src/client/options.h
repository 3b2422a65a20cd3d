// What every client subcommand shares: where the server is, how to print,
// how long to wait, and the exit codes.
#pragma once

#include <string>
#include <vector>

#include "base/result.h"
#include "net/client.h"
#include "proto/minga.pb.h"

namespace CLI {
class App;
}

namespace minga::client {

// Exit codes of client commands.
inline constexpr int kExitOk = 0;
inline constexpr int kExitServerError = 1;
inline constexpr int kExitUsage = 2;
inline constexpr int kExitUnreachable = 3;

struct ClientOptions {
  std::string server = "127.0.0.1:7400";  // --server, MINGA_SERVER: HOST:PORT, or several: a:1,b:2,c:3
  std::string output = "text";            // --output text|json
  double timeout_seconds = 30;            // --timeout
  net::Client::Millis timeout() const;
  bool json() const { return output == "json"; }
};

// Adds --server, --output and --timeout to `app` (the root; subcommands fall
// through to it, so the flags work before or after the subcommand).
void add_client_flags(CLI::App& app, ClientOptions& options);

// The addresses of --server, in order.
std::vector<net::Endpoint> servers(const ClientOptions& options);

// Connects to the first address of --server that answers.
Result<net::Client> connect(const ClientOptions& options);

// One request to the cluster, retried until --timeout: when a node cannot be
// reached, has no leader (an election), is busy or shutting down, the next
// address of --server is tried, with backoff (50 ms doubling to 1 s). An
// answer, a refusal of the request itself, or a timeout after the request
// left (the outcome is unknown) ends it, unless the request is `idempotent`
// (a read): then a lost connection is retried too.
Result<std::string> call_cluster(const ClientOptions& options, std::uint32_t type,
                                 const google::protobuf::MessageLite& request, std::uint32_t expected_type,
                                 bool idempotent = false);
template <class Response>
Result<Response> call_cluster(const ClientOptions& options, std::uint32_t type,
                              const google::protobuf::MessageLite& request, std::uint32_t expected_type,
                              bool idempotent = false) {
  auto body = call_cluster(options, type, request, expected_type, idempotent);
  if (!body.ok()) return body.error();
  Response r;
  if (!r.ParseFromString(body.value())) return Error{Errc::bad_frame, "cannot decode the server's answer"};
  return r;
}

// One request that may run twice (a task, sumsq, a read), sent to the first
// address of --server that answers, as connect() does (no node answering
// fails at once). When that node answers not_leader (the cluster's leader
// changed, or is being elected), or, with several addresses, loses the
// connection or shuts down, the request is sent again through
// call_cluster() within what is left of --timeout plus `extra_wait`.
Result<std::string> call_with_retry(const ClientOptions& options, std::uint32_t type,
                                    const google::protobuf::MessageLite& request, std::uint32_t expected_type,
                                    net::Client::Millis extra_wait = net::Client::Millis(0));
template <class Response>
Result<Response> call_with_retry(const ClientOptions& options, std::uint32_t type,
                                 const google::protobuf::MessageLite& request, std::uint32_t expected_type,
                                 net::Client::Millis extra_wait = net::Client::Millis(0)) {
  auto body = call_with_retry(options, type, request, expected_type, extra_wait);
  if (!body.ok()) return body.error();
  Response r;
  if (!r.ParseFromString(body.value())) return Error{Errc::bad_frame, "cannot decode the server's answer"};
  return r;
}

// Prints the error (stderr in text mode, a JSON object on stdout in JSON
// mode) and returns the exit code for it.
int report(const ClientOptions& options, const Error& error);
// The same for a bad argument found before anything was sent: exit code 2.
int report_usage(const ClientOptions& options, const Error& error);

// Runs one task on the server.
Result<pb::TaskResponse> run_task(const ClientOptions& options, const pb::TaskRequest& request);

// Prints rows as columns aligned on their widest cell, two spaces apart; the
// first row is the header.
void print_table(const std::vector<std::vector<std::string>>& rows);

// Prints a task answer in the chosen output; returns the exit code.
int print_task(const ClientOptions& options, const Result<pb::TaskResponse>& result);

}  // namespace minga::client
