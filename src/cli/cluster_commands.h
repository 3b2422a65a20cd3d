// `minga sumsq` and `minga workers`. PLACEHOLDER until implemented.
#pragma once

#include <functional>

#include "cli/client_options.h"

namespace minga::cli {

inline void add_cluster_commands(CLI::App& /*root*/, ClientOptions& /*options*/, std::function<int()>& /*action*/) {}

}  // namespace minga::cli
