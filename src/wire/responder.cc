#include "wire/responder.h"

#include "proto/minga.pb.h"

namespace minga::wire {

void Responder::fail(Errc code, std::string message) {
  pb::ErrorResponse e;
  e.set_code(static_cast<pb::ErrorCode>(code));
  e.set_message(std::move(message));
  reply(pb::ERROR, e);
}

}  // namespace minga::wire
