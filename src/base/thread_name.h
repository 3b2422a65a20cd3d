// Names the calling thread as `top -H`, `ps -L`, perf and gdb show it
// (at most 15 bytes; a longer name is cut).
#pragma once

#include <string>
#include <string_view>
#include <thread>
#include <utility>

namespace minga {

void name_this_thread(std::string_view name);

// A thread named `name` running `body`.
template <class Body>
std::thread named_thread(std::string name, Body body) {
  return std::thread([name = std::move(name), body = std::move(body)]() mutable {
    name_this_thread(name);
    body();
  });
}

}  // namespace minga
