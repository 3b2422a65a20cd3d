// A tiny HTTP/1.1 client for the API tests: one request per connection.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace minga::testing {

struct HttpAnswer {
  int status = 0;
  std::map<std::string, std::string> headers;  // names in lower case
  std::string body;
};

HttpAnswer http_call(std::uint16_t port, const std::string& method, const std::string& path,
                     const std::string& body = "", const std::vector<std::string>& headers = {});

}  // namespace minga::testing
