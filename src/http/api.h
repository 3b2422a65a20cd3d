// The HTTP/JSON API under /api/v1 (docs/api.md): a thin layer over the node's
// router. Each route (wire::ApiRoute) names one binary-protocol request; its
// JSON body, path and query parameters become that protobuf message (the
// standard JSON mapping), the router's handler answers through a Responder,
// and the answer frame goes back as JSON (an ErrorResponse as a JSON error
// with a fitting HTTP status). Nothing here knows an app.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"
#include "http/message.h"
#include "wire/api_route.h"
#include "wire/responder.h"

namespace google::protobuf {
class Message;
}

namespace minga::http {

inline constexpr std::string_view kApiPrefix = "/api/v1";

// Hands a request frame (type and protobuf body) to the node's router.
using Dispatch = std::function<void(std::uint32_t type, std::string body, wire::ResponderPtr responder)>;

struct ApiOptions {
  // Whether the monitor listens on a loopback address only.
  bool loopback = true;
  // The API token (--api-token-file); empty: none.
  std::string token;
};

// Whether `host` (the monitor's bind address) is a loopback address.
bool is_loopback_host(std::string_view host);

// The write rule: a request other than GET or HEAD is refused with 403 unless
// the monitor is bound to loopback or a token is configured, and with 401
// unless `authorization` is "Bearer <token>" when one is. nullopt: allowed.
std::optional<Response> write_refusal(const ApiOptions& options, std::string_view method,
                                      std::string_view authorization);

// The JSON error body and status for an API error; `code` is an ErrorCode
// name (NOT_LEADER) or one of the HTTP layer's own (METHOD_NOT_ALLOWED, ...).
Response api_error(int status, std::string_view code, std::string_view message);
// The HTTP status for a protocol error code (docs/api.md).
int http_status(Errc code);
// The answer for a protocol error: its code's name and status, Retry-After
// where asking again may help.
Response error_answer(const Error& error);
// A protobuf answer in the standard JSON mapping, every field printed.
Response json_answer(const google::protobuf::Message& message);

// Path parameters, then query parameters, percent-decoded, in order.
using Params = std::vector<std::pair<std::string, std::string>>;

// A route whose request body or answer is raw bytes streamed in pieces
// rather than a JSON message (a file's upload and download): `serve` gets
// the request's head, its parameters, the Exchange that reads and writes
// the bytes, and the router to send its request frames to. The API checks
// the method, the path and the write rule first.
struct StreamRoute {
  std::string method;
  std::string path;
  std::function<void(const Request& head, Params params, ExchangePtr exchange, const Dispatch& dispatch)> serve;
};

class Api {
 public:
  Api(ApiOptions options, Dispatch dispatch);

  // Adds a route; a second route with the same method and path, a path that
  // does not start with '/', or a missing prototype is an error.
  Status add(wire::ApiRoute route);
  Status add_stream(StreamRoute route);
  // The handler of `head` (its body not read yet) if a stream route serves
  // it, else an empty function: the request then goes to handle() whole.
  std::function<void(ExchangePtr)> stream(const Request& head) const;
  // Serves `request` (its path under kApiPrefix); `done` is called once,
  // maybe later and from another thread.
  void handle(const Request& request, std::function<void(Response)> done) const;
  const std::vector<wire::ApiRoute>& routes() const { return routes_; }

 private:
  struct Match;
  // The route for `method` on `path`: the one with the fewest parameters
  // (so `/files/stat` wins over `/files/{name}`), and the methods the path
  // allows.
  Match find(std::string_view method, std::string_view path) const;
  bool taken(std::string_view method, std::string_view path) const;

  ApiOptions options_;
  Dispatch dispatch_;
  std::vector<wire::ApiRoute> routes_;
  std::vector<StreamRoute> streams_;
};

}  // namespace minga::http
