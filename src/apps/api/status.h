// The node status as JSON: the body of /status and of `minga status --output json`.
#pragma once

#include <string>

#include "proto/minga.pb.h"

namespace minga::apps {

// Sections (already JSON) are embedded as values, not as strings.
std::string status_json(const pb::StatusResponse& status);

}  // namespace minga::apps
