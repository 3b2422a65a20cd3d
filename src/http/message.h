// An HTTP request and answer as the monitor's routes and the API layer see
// them (no Asio here, so the API layer builds and fuzzes without it).
#pragma once

#include <string>
#include <utility>
#include <vector>

namespace minga::http {

struct Request {
  std::string method;
  std::string target;  // path and query as sent
  std::string path;
  std::string query;          // after '?', without it
  std::string accept;         // the Accept header
  std::string authorization;  // the Authorization header
  std::string if_none_match;  // the If-None-Match header
  std::string body;
};

struct Response {
  int status = 200;
  std::string content_type = "text/plain; charset=utf-8";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers{};  // extra ones (Allow, Retry-After, ...)
};

}  // namespace minga::http
