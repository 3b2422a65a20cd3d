// A blocking client for the binary protocol, used by the CLI, the lottery
// agency and tests. Plain POSIX sockets with poll() deadlines; one request in
// flight at a time per call(), or many with send()/receive().
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

#include <google/protobuf/message_lite.h>

#include "base/result.h"
#include "wire/frame.h"

namespace minga::net {

struct Endpoint {
  std::string host;
  std::uint16_t port = 0;
  std::string str() const { return host + ":" + std::to_string(port); }
};

// "HOST:PORT" -> Endpoint; errors on a missing or invalid port.
Result<Endpoint> parse_endpoint(std::string_view text);

struct ReceivedFrame {
  wire::FrameHeader header;
  std::string body;
};

class Client {
 public:
  using Millis = std::chrono::milliseconds;

  Client() = default;
  ~Client();
  Client(Client&& other) noexcept;
  Client& operator=(Client&& other) noexcept;

  // Errc::unavailable when the server cannot be reached within `timeout`.
  static Result<Client> connect(const Endpoint& endpoint, Millis timeout);

  // Sends one request and waits for the answer with the same request id.
  // An ERROR answer becomes its Error; a wrong type is Errc::bad_frame.
  Result<std::string> call(std::uint32_t type, const google::protobuf::MessageLite& request,
                           std::uint32_t expected_type, Millis timeout);
  template <class Response>
  Result<Response> call(std::uint32_t type, const google::protobuf::MessageLite& request, std::uint32_t expected_type,
                        Millis timeout) {
    auto body = call(type, request, expected_type, timeout);
    if (!body.ok()) return body.error();
    Response r;
    if (!r.ParseFromString(body.value())) return Error{Errc::bad_frame, "cannot decode the server's answer"};
    return r;
  }

  // Pipelining: send many, then receive answers in whatever order they come.
  Status send(std::uint32_t type, std::uint64_t request_id, std::string_view body, Millis timeout);
  Status send_raw(std::string_view bytes, Millis timeout);
  Result<ReceivedFrame> receive(Millis timeout);

  bool connected() const { return fd_ >= 0; }
  void close();

 private:
  explicit Client(int fd) : fd_(fd) {}
  int fd_ = -1;
  std::uint64_t next_request_id_ = 1;
  std::string in_;
};

// Turns an ERROR frame body into an Error.
Error decode_error(std::string_view body);

}  // namespace minga::net
