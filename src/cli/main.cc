// The minga binary: `minga node` runs a node; every other subcommand is a
// client of a running node.
#include <iostream>

#include <CLI/CLI.hpp>

#include "cli/commands.h"
#include "cli/parse_errors.h"
#include "client/options.h"

int main(int argc, char** argv) {
  using namespace minga::cli;
  using namespace minga::client;
  CLI::App app{"minga: a fault-tolerant cluster for distributed work", "minga"};
  app.set_version_flag("--version", MINGA_VERSION);
  app.require_subcommand(1);
  app.fallthrough();
  ClientOptions options;
  add_client_flags(app, options);
  std::function<int()> action;
  add_all_commands(app, options, action);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() != 0) {
      // An unknown subcommand or option gets its name, the nearest choice
      // and the choices, rather than the parser's generic message.
      if (auto message = explain_parse_error(app, std::vector<std::string>(argv + 1, argv + argc))) {
        std::cerr << "error: " << *message << "\nRun with --help for more information." << std::endl;
        return kExitUsage;
      }
    }
    const int code = app.exit(e);
    return code == 0 ? kExitOk : kExitUsage;
  }
  return action ? action() : kExitUsage;
}
