// `minga status` for people: sections with aligned fields, units and
// rounding. `-o json` keeps every field as the node sent it.
#pragma once

#include <string>
#include <string_view>

#include "proto/minga.pb.h"

namespace minga::cli {

// "4 s", "2 min 05 s", "3 h 07 min", "2 d 5 h": whole units, rounded down.
std::string duration_text(double seconds);

// The node's status as text; each app section (sent as JSON) becomes its
// own titled section of "key: value" lines, lists one line per element.
// A section that is not valid JSON is shown as it came.
std::string status_text(const pb::StatusResponse& status);

// One JSON object or array as indented "key: value" lines (strings without
// quotes); nullopt-like empty result when `json` does not parse.
std::string json_as_text(std::string_view json, int indent);

}  // namespace minga::cli
