#include "base/result.h"

namespace minga {

const char* errc_name(Errc code) {
  switch (code) {
    case Errc::bad_frame:
      return "bad_frame";
    case Errc::frame_too_large:
      return "frame_too_large";
    case Errc::unknown_type:
      return "unknown_type";
    case Errc::invalid_argument:
      return "invalid_argument";
    case Errc::busy:
      return "busy";
    case Errc::timeout:
      return "timeout";
    case Errc::no_worker:
      return "no_worker";
    case Errc::not_found:
      return "not_found";
    case Errc::internal:
      return "internal";
    case Errc::shutting_down:
      return "shutting_down";
    case Errc::not_yet:
      return "not_yet";
    case Errc::division_by_zero:
      return "division_by_zero";
    case Errc::unsupported_version:
      return "unsupported_version";
    case Errc::unavailable:
      return "unavailable";
    case Errc::not_leader:
      return "not_leader";
  }
  return "unknown";
}

}  // namespace minga
