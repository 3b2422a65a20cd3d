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

class Api {
 public:
  Api(ApiOptions options, Dispatch dispatch);

  // Adds a route; a second route with the same method and path, a path that
  // does not start with '/', or a missing prototype is an error.
  Status add(wire::ApiRoute route);
  // Serves `request` (its path under kApiPrefix); `done` is called once,
  // maybe later and from another thread.
  void handle(const Request& request, std::function<void(Response)> done) const;
  const std::vector<wire::ApiRoute>& routes() const { return routes_; }

 private:
  ApiOptions options_;
  Dispatch dispatch_;
  std::vector<wire::ApiRoute> routes_;
};

}  // namespace minga::http
