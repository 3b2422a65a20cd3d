// Typed, expected failures. Programmer errors use MINGA_ASSERT instead.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <variant>

namespace minga {

// Mirrors pb::ErrorCode (proto/minga.proto); the numbers are part of the wire
// protocol and never change.
enum class Errc : std::uint32_t {
  bad_frame = 1,
  frame_too_large = 2,
  unknown_type = 3,
  invalid_argument = 4,
  busy = 5,
  timeout = 6,
  no_worker = 7,
  not_found = 8,
  internal = 9,
  shutting_down = 10,
  not_yet = 11,
  division_by_zero = 12,
  unsupported_version = 13,
  unavailable = 14,  // cannot reach the server (client side)
  not_leader = 15,
};

const char* errc_name(Errc code);

struct Error {
  Errc code;
  std::string message;
};

// A value or an Error. Deliberately small: has_value / value / error.
template <class T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}      // NOLINT: implicit by design
  Result(Error error) : v_(std::move(error)) {}  // NOLINT
  static Result fail(Errc code, std::string message) { return Error{code, std::move(message)}; }

  bool ok() const { return v_.index() == 0; }
  explicit operator bool() const { return ok(); }
  T& value() & { return std::get<0>(v_); }
  const T& value() const& { return std::get<0>(v_); }
  T&& value() && { return std::get<0>(std::move(v_)); }
  const Error& error() const { return std::get<1>(v_); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

 private:
  std::variant<T, Error> v_;
};

inline Error make_error(Errc code, std::string message) { return Error{code, std::move(message)}; }

// Success or an Error, for operations with no value.
using Status = Result<std::monostate>;
inline Status ok_status() { return std::monostate{}; }

}  // namespace minga
