// One row of the HTTP/JSON API (docs/api.md): an HTTP method and path that
// stand for one binary-protocol request. The monitor's API layer (http/api.h)
// turns the JSON body, path and query parameters into the request message
// (protobuf's standard JSON mapping), hands its bytes to the node's router
// under `request_type`, and turns the answer back into JSON. Apps declare
// their rows through apps::NodeServices::add_api_route.
#pragma once

#include <cstdint>
#include <string>

#include <google/protobuf/message.h>

namespace minga::wire {

struct ApiRoute {
  std::string method;  // GET, POST, PUT, DELETE
  // Under /api/v1, e.g. "/lottery/agencies/{agency}/winners". A `{name}`
  // segment fills the request field `name`; so does a query parameter.
  std::string path;
  std::uint32_t request_type = 0;
  // Prototypes (default instances, e.g. &pb::PingRequest::default_instance()).
  const google::protobuf::Message* request = nullptr;
  std::uint32_t response_type = 0;
  const google::protobuf::Message* response = nullptr;
  // Fields the route sets itself, as a JSON object merged over the body,
  // e.g. {"op":"REMOVE"}. Empty: none.
  std::string fixed_json;
  // Whether the request comes from the JSON body (POST, PUT) or only from
  // the path and query (GET, DELETE).
  bool has_body() const { return method == "POST" || method == "PUT" || method == "PATCH"; }
};

}  // namespace minga::wire
