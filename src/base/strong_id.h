// Strong typedefs for ids and counters (Term, Index, NodeId, ...), so that a
// term can never be passed where an index is expected.
#pragma once

#include <compare>
#include <cstdint>
#include <functional>
#include <ostream>

namespace minga {

template <class Tag, class Rep = std::uint64_t>
struct Strong {
  Rep value{};
  constexpr Strong() = default;
  constexpr explicit Strong(Rep v) : value(v) {}
  constexpr auto operator<=>(const Strong&) const = default;
  constexpr Strong next() const { return Strong(value + 1); }
  constexpr Strong prev() const { return Strong(value - 1); }
  friend std::ostream& operator<<(std::ostream& os, const Strong& s) { return os << s.value; }
};

}  // namespace minga

template <class Tag, class Rep>
struct std::hash<minga::Strong<Tag, Rep>> {
  std::size_t operator()(const minga::Strong<Tag, Rep>& s) const noexcept { return std::hash<Rep>{}(s.value); }
};
