// Client subcommands for the task service: text, task, sleep, calc, shell, status.
#pragma once

#include <functional>

#include "client/options.h"

namespace minga::cli {

// Registers the subcommands on `root`; a chosen subcommand stores its action
// in `action`, which main() runs after parsing.
void add_task_commands(CLI::App& root, client::ClientOptions& options, std::function<int()>& action);

}  // namespace minga::cli
