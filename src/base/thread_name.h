// Names the calling thread as `top -H`, `ps -L`, perf and gdb show it
// (at most 15 bytes; a longer name is cut).
#pragma once

#include <string_view>

namespace minga {

void name_this_thread(std::string_view name);

}  // namespace minga
