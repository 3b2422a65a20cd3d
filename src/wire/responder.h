// The answer side of one request: whoever decoded the request (a client
// session, an HTTP route) hands its handler a Responder bound to the request.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include <google/protobuf/message_lite.h>

#include "base/result.h"

namespace minga::wire {

// One answer per request. Thread-safe; answering after the connection closed
// is a no-op.
class Responder {
 public:
  virtual ~Responder() = default;
  virtual void reply(std::uint32_t type, std::string body) = 0;
  void reply(std::uint32_t type, const google::protobuf::MessageLite& message) {
    reply(type, message.SerializeAsString());
  }
  // An ERROR frame (pb::ErrorResponse) with the code and message.
  void fail(Errc code, std::string message);
  void fail(const Error& error) { fail(error.code, error.message); }
};
using ResponderPtr = std::shared_ptr<Responder>;

}  // namespace minga::wire
