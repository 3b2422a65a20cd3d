// Advice the CLI adds to an error, so that a newcomer knows what to do next.
#pragma once

namespace minga::client {

// After "cannot reach HOST:PORT: ...".
inline constexpr const char* kStartNodeHint = "is a node running? start one with 'minga node' or 'make run'";

}  // namespace minga::client
