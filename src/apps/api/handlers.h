// How apps answer requests. The node's network layer decodes frames and
// calls the handler registered for the frame's message type; the handler
// answers through a Responder, now or later, from any thread.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>

#include <google/protobuf/message_lite.h>

#include "base/result.h"
#include "proto/minga.pb.h"
#include "wire/responder.h"

namespace minga::apps {

// The responder contract lives below the apps (wire/responder.h), so that
// the network layer needs no app header.
using Responder = wire::Responder;
using ResponderPtr = wire::ResponderPtr;

// Handlers run on an I/O thread and must not block: CPU work goes to the
// pool, disk work to the app's own writer.
using Handler = std::function<void(std::string_view body, ResponderPtr responder)>;

class Router {
 public:
  void add(std::uint32_t type, Handler handler);
  // add(type, this, &App::on_x): a member function of an app as the handler.
  template <typename App>
  void add(std::uint32_t type, App* app, void (App::*handler)(std::string_view, const ResponderPtr&)) {
    add(type, [app, handler](std::string_view body, ResponderPtr r) { (app->*handler)(body, r); });
  }
  const Handler* find(std::uint32_t type) const;

 private:
  std::unordered_map<std::uint32_t, Handler> handlers_;
};

// Text mode: a JSON line's "op" is looked up here first, then as a task kind.
// The callback takes one JSON object (without newline).
using JsonReply = std::function<void(std::string json)>;
using JsonHandler = std::function<void(const pb::JsonCommand& command, JsonReply reply)>;

std::string json_ok_raw(std::string_view raw_result_json);
std::string json_error(std::string_view message);

}  // namespace minga::apps
