// Every subcommand of the minga binary, registered in one place.
#pragma once

#include <functional>

#include "client/options.h"

namespace minga::cli {

void add_all_commands(CLI::App& root, client::ClientOptions& options, std::function<int()>& action);

}  // namespace minga::cli
