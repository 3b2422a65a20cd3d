#include "http_client.h"

#include <cctype>
#include <chrono>
#include <cstdlib>

#include "harness.h"

namespace minga::testing {

HttpAnswer http_call(std::uint16_t port, const std::string& method, const std::string& path, const std::string& body,
                     const std::vector<std::string>& headers) {
  using namespace std::chrono_literals;
  RawConnection c(port);
  HttpAnswer a;
  if (!c.ok()) return a;
  std::string req = method + " " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n";
  for (const auto& h : headers) req += h + "\r\n";
  if (!body.empty() || method == "POST" || method == "PUT") {
    req += "Content-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) + "\r\n";
  }
  req += "\r\n" + body;
  c.send(req);
  const std::string resp = c.read(1 << 24, 20s);
  const auto end = resp.find("\r\n\r\n");
  const auto sp = resp.find(' ');
  if (sp == std::string::npos || end == std::string::npos) return a;
  a.status = std::atoi(resp.c_str() + sp + 1);
  std::size_t pos = resp.find("\r\n") + 2;
  while (pos < end) {
    const auto eol = resp.find("\r\n", pos);
    const std::string line = resp.substr(pos, eol - pos);
    const auto colon = line.find(':');
    if (colon != std::string::npos) {
      std::string name = line.substr(0, colon);
      for (auto& ch : name) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
      std::string value = line.substr(colon + 1);
      while (!value.empty() && value.front() == ' ') value.erase(0, 1);
      a.headers[name] = value;
    }
    pos = eol + 2;
  }
  a.body = resp.substr(end + 4);
  return a;
}

}  // namespace minga::testing
