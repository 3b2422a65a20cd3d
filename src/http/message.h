// An HTTP request and answer as the monitor's routes and the API layer see
// them (no Asio here, so the API layer builds and fuzzes without it).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "base/result.h"

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

// One request whose body or answer is streamed in pieces instead of held
// whole (a file's upload and download, docs/api.md): the monitor reads the
// body and writes the answer as the handler asks, holding one piece at a
// time. Every call may come from any thread and returns at once; callbacks
// run on the monitor's I/O thread and must not block. One call at a time:
// the next after the previous one's callback (answer() and end() have none
// and finish the exchange).
class Exchange {
 public:
  virtual ~Exchange() = default;
  // The body's Content-Length, or nullopt for a chunked body.
  virtual std::optional<std::uint64_t> body_size() const = 0;
  // The next bytes of the body, at most `max`; "" once it has all been read.
  // The first read answers `Expect: 100-continue` first.
  virtual void read(std::size_t max, std::function<void(Result<std::string>)> got) = 0;
  // A whole answer (JSON, an error). Ends the exchange; a body not read to
  // its end closes the connection after the answer.
  virtual void answer(Response response) = 0;
  // Starts an answer of exactly `length` raw bytes, with the status, content
  // type and headers of `head` (its body is ignored).
  virtual void begin(Response head, std::uint64_t length, std::function<void(Status)> sent) = 0;
  // The next bytes of that answer (dropped for HEAD); `sent` once written.
  virtual void write(std::string bytes, std::function<void(Status)> sent) = 0;
  // Ends a begun answer: complete after `length` bytes, else the connection
  // is closed so the client sees a short body, never a wrong one.
  virtual void end() = 0;
};
using ExchangePtr = std::shared_ptr<Exchange>;
// Given a request's head (no body read yet): the handler that streams it,
// or an empty function when the request is read whole as usual.
using StreamSelect = std::function<std::function<void(ExchangePtr)>(const Request& head)>;

}  // namespace minga::http
