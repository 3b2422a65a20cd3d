// The JSON commands of text mode: one flat object per line, read strictly.
//
// Keys are the fields of pb.JsonCommand (proto/minga.proto). `text`, `op`
// and `task` take JSON strings; `a`, `b` and `seconds` take JSON numbers in
// the RFC 8259 grammar (`10`, `-2.5`, `1e3`; not `"10"`, `0x10`, `.5`, `+1`,
// `NaN`); `n` takes either (`9` or `"9"`) and keeps its text unconverted, so
// a count beyond 2^53 stays exact. Unknown, repeated or mistyped fields are
// errors. Pure.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"
#include "proto/minga.pb.h"

namespace minga::wire {

// Errors are Errc::invalid_argument, prefixed "invalid JSON command: ".
Result<pb::JsonCommand> parse_json_command(std::string_view text);

// Ok when every field named in `fields` was given; else `missing field "b"`
// for the first one absent.
Status require_fields(const pb::JsonCommand& command, const std::vector<std::string>& fields);

}  // namespace minga::wire
