// `minga lottery ...` and `minga bench lottery`. PLACEHOLDER until implemented.
#pragma once

#include <functional>

#include "cli/client_options.h"

namespace minga::lottery {

inline void add_cli(CLI::App& /*root*/, CLI::App& /*bench*/, cli::ClientOptions& /*options*/,
                    std::function<int()>& /*action*/) {}

}  // namespace minga::lottery
