#include "net/asio.h"
// (asio.h first)
#include "http/monitor.h"

#include <atomic>
#include <chrono>
#include <limits>
#include <map>
#include <optional>
#include <utility>

#include <boost/asio/dispatch.hpp>
#include <boost/asio/post.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include "base/json.h"
#include "base/log.h"
#include "base/number.h"
#include "http/api.h"

namespace minga::http {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = beast::http;
using tcp = asio::ip::tcp;
using namespace std::chrono_literals;

namespace {

constexpr std::size_t kMaxConnections = 256;
constexpr std::size_t kDefaultLogLines = 200;
constexpr auto kReadTimeout = 30s;
constexpr auto kWriteTimeout = 10s;
constexpr auto kTailPoll = 200ms;
constexpr auto kTailKeepAlive = 15s;
// How long an asynchronous route may take before the answer is 504.
constexpr auto kAnswerTimeout = 300s;

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::string url_decode(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '+') {
      out += ' ';
    } else if (s[i] == '%' && i + 2 < s.size() && hex_value(s[i + 1]) >= 0 && hex_value(s[i + 2]) >= 0) {
      out += static_cast<char>(hex_value(s[i + 1]) * 16 + hex_value(s[i + 2]));
      i += 2;
    } else {
      out += s[i];
    }
  }
  return out;
}

Response json_error(int status, const std::string& message) {
  json::Object o;
  o.add("ok", false);
  o.add("error", message);
  return Response{status, "application/json", o.str() + "\n"};
}

// One SSE event per log line; a line with newlines becomes several data fields.
void append_event(std::string& out, std::string_view line) {
  std::size_t start = 0;
  while (true) {
    const auto nl = line.find('\n', start);
    out += "data: ";
    out.append(line.substr(start, nl == std::string_view::npos ? std::string_view::npos : nl - start));
    out += '\n';
    if (nl == std::string_view::npos) break;
    start = nl + 1;
  }
  out += '\n';
}

bool under(std::string_view path, std::string_view prefix) {
  return path == prefix ||
         (path.size() > prefix.size() && path.substr(0, prefix.size()) == prefix && path[prefix.size()] == '/');
}

// What a streamed request's handler asked for last, handed to the session's
// coroutine on the strand.
struct StreamOp {
  enum class Kind { read, answer, begin, write, end } kind = Kind::read;
  std::size_t max = 0;
  std::string bytes;
  Response response;
  std::uint64_t length = 0;
  std::function<void(Result<std::string>)> got;
  std::function<void(Status)> sent;
};

// Shared by the session's coroutine and the Exchange the handler holds;
// touched on the strand only.
struct StreamState {
  explicit StreamState(asio::strand<asio::io_context::executor_type>& s) : timer(s) {}
  asio::steady_timer timer;  // wakes the coroutine when an op arrives
  std::optional<StreamOp> op;
  bool closed = false;
};

void fail_op(StreamOp& op, const std::string& why) {
  if (op.got) op.got(Error{Errc::unavailable, why});
  if (op.sent) op.sent(Error{Errc::unavailable, why});
}

class StreamExchange final : public Exchange {
 public:
  StreamExchange(std::shared_ptr<StreamState> state, asio::strand<asio::io_context::executor_type> strand,
                 std::optional<std::uint64_t> size)
      : state_(std::move(state)), strand_(std::move(strand)), size_(size) {}

  std::optional<std::uint64_t> body_size() const override { return size_; }
  void read(std::size_t max, std::function<void(Result<std::string>)> got) override {
    submit(StreamOp{StreamOp::Kind::read, max, {}, {}, 0, std::move(got), {}});
  }
  void answer(Response response) override {
    submit(StreamOp{StreamOp::Kind::answer, 0, {}, std::move(response), 0, {}, {}});
  }
  void begin(Response head, std::uint64_t length, std::function<void(Status)> sent) override {
    submit(StreamOp{StreamOp::Kind::begin, 0, {}, std::move(head), length, {}, std::move(sent)});
  }
  void write(std::string bytes, std::function<void(Status)> sent) override {
    submit(StreamOp{StreamOp::Kind::write, 0, std::move(bytes), {}, 0, {}, std::move(sent)});
  }
  void end() override { submit(StreamOp{StreamOp::Kind::end, 0, {}, {}, 0, {}, {}}); }

 private:
  void submit(StreamOp op) {
    asio::post(strand_, [state = state_, op = std::move(op)]() mutable {
      if (state->closed || state->op) {
        fail_op(op, state->closed ? "the connection is closed" : "one streamed operation at a time");
        return;
      }
      state->op = std::move(op);
      state->timer.cancel();
    });
  }

  std::shared_ptr<StreamState> state_;
  asio::strand<asio::io_context::executor_type> strand_;
  std::optional<std::uint64_t> size_;
};

}  // namespace

std::string query_param(std::string_view query, std::string_view key) {
  while (!query.empty()) {
    const auto amp = query.find('&');
    const std::string_view pair = query.substr(0, amp);
    const auto eq = pair.find('=');
    if (url_decode(pair.substr(0, eq)) == key) {
      return eq == std::string_view::npos ? std::string() : url_decode(pair.substr(eq + 1));
    }
    if (amp == std::string_view::npos) break;
    query.remove_prefix(amp + 1);
  }
  return {};
}

struct Monitor::Impl : std::enable_shared_from_this<Impl> {
  Impl(asio::io_context& io_, std::string host_, std::uint16_t port_)
      : io(io_), strand(asio::make_strand(io_)), host(std::move(host_)), port(port_), acceptor(strand) {}

  Result<std::uint16_t> start();
  void stop();
  net::awaitable<void> accept_loop();
  net::awaitable<void> session(tcp::socket socket);
  net::awaitable<void> tail(beast::tcp_stream& stream, std::size_t backlog);
  net::awaitable<void> stream_feed(beast::tcp_stream& stream, const Feed& feed);
  Response handle(const Request& request) const;
  const AsyncRoute* find_async(std::string_view path) const;
  net::awaitable<bool> write(beast::tcp_stream& stream, Response r, unsigned version, bool keep_alive, bool head);
  net::awaitable<void> refuse_and_drain(beast::tcp_stream& stream, Response r, unsigned version);
  std::function<void(ExchangePtr)> find_stream(const Request& head) const;
  net::awaitable<bool> exchange(beast::tcp_stream& stream, beast::flat_buffer& buffer,
                                bhttp::request_parser<bhttp::empty_body>& head, const Request& request,
                                std::function<void(ExchangePtr)> handler, std::uint64_t id);

  asio::io_context& io;
  asio::strand<asio::io_context::executor_type> strand;
  std::string host;
  std::uint16_t port;
  tcp::acceptor acceptor;
  std::map<std::string, Route, std::less<>> routes;
  std::map<std::string, Feed, std::less<>> feeds;
  std::vector<std::pair<std::string, AsyncRoute>> prefixes;
  std::vector<std::pair<std::string, StreamSelect>> stream_selects;
  struct Open {
    beast::tcp_stream* stream = nullptr;
    asio::steady_timer* waiting = nullptr;  // set while an asynchronous route answers
  };
  // Touched on the strand only.
  std::map<std::uint64_t, Open> sessions;
  std::uint64_t next_session = 0;
  std::atomic<std::size_t> open{0};
  std::atomic<bool> stopped{false};
};

Result<std::uint16_t> Monitor::Impl::start() {
  boost::system::error_code ec;
  const auto address = asio::ip::make_address(host, ec);
  if (ec) return Error{Errc::invalid_argument, "monitor: invalid host '" + host + "'"};
  const tcp::endpoint endpoint(address, port);
  acceptor.open(endpoint.protocol(), ec);
  if (!ec) acceptor.set_option(tcp::acceptor::reuse_address(true), ec);
  if (!ec) acceptor.bind(endpoint, ec);
  if (!ec) acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    return Error{Errc::unavailable,
                 "monitor: cannot listen on " + host + ":" + std::to_string(port) + ": " + ec.message()};
  }
  port = acceptor.local_endpoint().port();
  asio::co_spawn(strand, accept_loop(), asio::detached);
  return port;
}

void Monitor::Impl::stop() {
  if (stopped.exchange(true)) return;
  asio::dispatch(strand, [self = shared_from_this()] {
    boost::system::error_code ec;
    self->acceptor.close(ec);
    for (auto& [id, s] : self->sessions) {
      s.stream->socket().close(ec);
      if (s.waiting != nullptr) s.waiting->cancel();
    }
  });
  log::info("shutdown", "success", {{"resource", "monitor"}, {"port", std::to_string(port)}});
}

net::awaitable<void> Monitor::Impl::accept_loop() {
  auto self = shared_from_this();
  while (!stopped) {
    boost::system::error_code ec;
    tcp::socket socket = co_await acceptor.async_accept(asio::redirect_error(net::use_awaitable, ec));
    if (ec) {
      if (stopped || ec == asio::error::operation_aborted) co_return;
      continue;  // e.g. EMFILE: keep serving the connections we have
    }
    if (open.load() >= kMaxConnections) {
      socket.close(ec);
      continue;
    }
    asio::co_spawn(strand, session(std::move(socket)), asio::detached);
  }
}

Response Monitor::Impl::handle(const Request& request) const {
  if (request.method != "GET" && request.method != "HEAD") {
    Response r = json_error(405, "method " + request.method + " not allowed; this page is read-only");
    r.headers.emplace_back("Allow", "GET, HEAD");
    return r;
  }
  if (auto it = routes.find(request.path); it != routes.end()) {
    try {
      return it->second(request);
    } catch (const std::exception& e) {
      return json_error(500, std::string("internal error: ") + e.what());
    }
  }
  if (request.path == "/healthz") return Response{200, "text/plain; charset=utf-8", "ok\n"};
  if (request.path == "/logs" && !query_param(request.query, "after").empty()) {
    // The lines after a sequence number, and the number of the last one in
    // X-Minga-Log-Last, to ask again from there (the dashboard merges the
    // members' logs this way).
    auto after = parse_u64(query_param(request.query, "after"));
    if (!after.ok())
      return json_error(400, "query after: expected a line number, got '" + query_param(request.query, "after") + "'");
    std::uint64_t seq = after.value();
    std::string body;
    for (const auto& line : log::ring().since(seq)) {
      body += line;
      body += '\n';
    }
    Response r{200, "text/plain; charset=utf-8", std::move(body)};
    r.headers.emplace_back("X-Minga-Log-Last", std::to_string(seq));
    return r;
  }
  if (request.path == "/logs") {
    std::size_t n = kDefaultLogLines;
    if (auto text = query_param(request.query, "n"); !text.empty()) {
      auto parsed = parse_u64(text);
      if (!parsed.ok()) return json_error(400, "query n: expected a count of lines, got '" + text + "'");
      n = static_cast<std::size_t>(parsed.value());
    }
    std::string body;
    for (const auto& line : log::ring().tail(n)) {
      body += line;
      body += '\n';
    }
    return Response{200, "text/plain; charset=utf-8", std::move(body)};
  }
  return json_error(404, "no such page: " + request.path);
}

net::awaitable<void> Monitor::Impl::tail(beast::tcp_stream& stream, std::size_t backlog) {
  std::string out =
      "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nCache-Control: no-cache\r\nConnection: close\r\n\r\n";
  // A comment first, so the client sees the stream open at once, then the
  // recent lines (as /logs?n= gives them), then new ones as they come.
  out += ": minga log tail: the last " + std::to_string(backlog) + " lines, then new ones; a comment every " +
         std::to_string(std::chrono::duration_cast<std::chrono::seconds>(kTailKeepAlive).count()) +
         " s keeps the stream open\n\n";
  std::uint64_t seq = log::ring().last_seq();
  for (const auto& line : log::ring().tail(backlog)) append_event(out, line);
  asio::steady_timer timer(strand);
  auto last_write = std::chrono::steady_clock::now();
  while (!stopped) {
    if (!out.empty()) {
      stream.expires_after(kWriteTimeout);
      co_await asio::async_write(stream, asio::buffer(out), net::use_awaitable);
      out.clear();
      last_write = std::chrono::steady_clock::now();
    }
    timer.expires_after(kTailPoll);
    co_await timer.async_wait(net::use_awaitable);
    for (const auto& line : log::ring().since(seq)) append_event(out, line);
    if (out.empty() && std::chrono::steady_clock::now() - last_write > kTailKeepAlive) out = ": keep-alive\n\n";
  }
}

net::awaitable<void> Monitor::Impl::stream_feed(beast::tcp_stream& stream, const Feed& feed) {
  std::string out =
      "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nCache-Control: no-cache\r\nConnection: close\r\n\r\n";
  std::uint64_t cursor = 0;
  asio::steady_timer timer(strand);
  auto last_write = std::chrono::steady_clock::now();
  while (!stopped) {
    for (const auto& event : feed(cursor)) append_event(out, event);
    if (out.empty() && std::chrono::steady_clock::now() - last_write > kTailKeepAlive) out = ": keep-alive\n\n";
    if (!out.empty()) {
      stream.expires_after(kWriteTimeout);
      co_await asio::async_write(stream, asio::buffer(out), net::use_awaitable);
      out.clear();
      last_write = std::chrono::steady_clock::now();
    }
    timer.expires_after(kTailPoll);
    co_await timer.async_wait(net::use_awaitable);
  }
}

const AsyncRoute* Monitor::Impl::find_async(std::string_view path) const {
  for (const auto& [prefix, route] : prefixes) {
    if (under(path, prefix)) return &route;
  }
  return nullptr;
}

std::function<void(ExchangePtr)> Monitor::Impl::find_stream(const Request& head) const {
  for (const auto& [prefix, select] : stream_selects) {
    if (!under(head.path, prefix)) continue;
    if (auto handler = select(head)) return handler;
  }
  return {};
}

// Serves one streamed request: performs what its handler asks, one op at a
// time, holding at most one piece of the body or of the answer. Returns
// whether the connection may serve another request.
net::awaitable<bool> Monitor::Impl::exchange(beast::tcp_stream& stream, beast::flat_buffer& buffer,
                                             bhttp::request_parser<bhttp::empty_body>& head, const Request& request,
                                             std::function<void(ExchangePtr)> handler, std::uint64_t id) {
  bhttp::request_parser<bhttp::buffer_body> parser{std::move(head)};
  parser.body_limit(std::numeric_limits<std::uint64_t>::max());  // the handler bounds what it takes
  const unsigned version = parser.get().version();
  const bool is_head = request.method == "HEAD";
  const bool wants_continue = beast::iequals(parser.get()[bhttp::field::expect], "100-continue");
  auto state = std::make_shared<StreamState>(strand);
  sessions[id].waiting = &state->timer;
  try {
    std::optional<std::uint64_t> size;
    if (parser.content_length()) size = *parser.content_length();
    handler(std::make_shared<StreamExchange>(state, strand, size));
  } catch (const std::exception& e) {
    state->op = StreamOp{StreamOp::Kind::answer,
                         0,
                         {},
                         api_error(500, "INTERNAL", std::string("internal error: ") + e.what()),
                         0,
                         {},
                         {}};
  }
  bool continued = false, began = false, keep = false;
  std::uint64_t length = 0, written = 0;
  boost::system::error_code ec;
  while (true) {
    if (!state->op) {
      state->timer.expires_after(kAnswerTimeout);
      co_await state->timer.async_wait(asio::redirect_error(net::use_awaitable, ec));
    }
    if (stopped) break;
    if (!state->op) {
      if (!began) {
        co_await write(
            stream,
            api_error(504, "TIMEOUT",
                      "no answer within " + std::to_string(std::chrono::seconds(kAnswerTimeout).count()) + " s"),
            version, false, false);
      }
      break;
    }
    StreamOp op = std::move(*state->op);
    state->op.reset();
    ec = {};  // the wake-up's operation_aborted is no error of the op
    if (op.kind == StreamOp::Kind::read) {
      if (wants_continue && !continued && !parser.is_done()) {
        continued = true;
        static constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
        stream.expires_after(kWriteTimeout);
        co_await asio::async_write(stream, asio::buffer(kContinue.data(), kContinue.size()),
                                   asio::redirect_error(net::use_awaitable, ec));
        if (ec) {
          fail_op(op, "cannot write to the client: " + ec.message());
          break;
        }
      }
      std::string chunk(op.max, '\0');
      std::size_t filled = 0;
      while (filled < op.max && !parser.is_done()) {
        auto& body = parser.get().body();
        body.data = chunk.data() + filled;
        body.size = op.max - filled;
        body.more = true;
        stream.expires_after(kReadTimeout);
        co_await bhttp::async_read(stream, buffer, parser, asio::redirect_error(net::use_awaitable, ec));
        if (ec == bhttp::error::need_buffer) ec = {};
        filled = op.max - body.size;
        if (ec) break;
      }
      if (ec) {
        fail_op(op, "reading the body: " + ec.message());
        break;
      }
      chunk.resize(filled);
      op.got(std::move(chunk));
    } else if (op.kind == StreamOp::Kind::answer) {
      if (began) break;  // a whole answer after a begun one: cut
      if (!parser.is_done()) {
        co_await refuse_and_drain(stream, std::move(op.response), version);
      } else {
        keep = co_await write(stream, std::move(op.response), version, parser.get().keep_alive(), is_head);
      }
      break;
    } else if (op.kind == StreamOp::Kind::begin) {
      if (began) {
        fail_op(op, "the answer was begun already");
        break;
      }
      bhttp::response<bhttp::empty_body> res{static_cast<bhttp::status>(op.response.status), version};
      res.set(bhttp::field::server, "minga");
      res.set(bhttp::field::content_type, op.response.content_type);
      res.set(bhttp::field::cache_control, "no-store");
      for (const auto& [name, value] : op.response.headers) res.set(name, value);
      res.content_length(op.length);
      res.keep_alive(parser.is_done() && parser.get().keep_alive());
      bhttp::response_serializer<bhttp::empty_body> sr{res};
      stream.expires_after(kWriteTimeout);
      co_await bhttp::async_write_header(stream, sr, asio::redirect_error(net::use_awaitable, ec));
      if (ec) {
        fail_op(op, "cannot write to the client: " + ec.message());
        break;
      }
      began = true;
      length = op.length;
      op.sent(ok_status());
    } else if (op.kind == StreamOp::Kind::write) {
      if (!began || written + op.bytes.size() > length) {
        fail_op(op, began ? "more bytes than the answer's length" : "the answer was not begun");
        break;
      }
      if (!is_head && !op.bytes.empty()) {
        stream.expires_after(kWriteTimeout);
        co_await asio::async_write(stream, asio::buffer(op.bytes), asio::redirect_error(net::use_awaitable, ec));
        if (ec) {
          fail_op(op, "cannot write to the client: " + ec.message());
          break;
        }
      }
      written += op.bytes.size();
      op.sent(ok_status());
    } else {  // end
      keep = began && (is_head || written == length) && parser.is_done() && parser.get().keep_alive();
      break;
    }
  }
  state->closed = true;
  sessions[id].waiting = nullptr;
  if (state->op) {
    fail_op(*state->op, "the connection is closed");
    state->op.reset();
  }
  co_return keep;
}

net::awaitable<bool> Monitor::Impl::write(beast::tcp_stream& stream, Response r, unsigned version, bool keep_alive,
                                          bool head) {
  bhttp::response<bhttp::string_body> res{static_cast<bhttp::status>(r.status), version};
  res.set(bhttp::field::server, "minga");
  res.set(bhttp::field::content_type, r.content_type);
  res.set(bhttp::field::cache_control, "no-store");
  for (const auto& [name, value] : r.headers) res.set(name, value);
  res.keep_alive(keep_alive);
  res.body() = std::move(r.body);
  res.prepare_payload();
  if (head) res.body().clear();
  const bool keep = res.keep_alive();
  stream.expires_after(kWriteTimeout);
  co_await bhttp::async_write(stream, res, net::use_awaitable);
  co_return keep;
}

// Answers a request whose body is refused, then reads what the client still
// sends for a while, so that closing does not reset the connection before
// the client has read the answer.
net::awaitable<void> Monitor::Impl::refuse_and_drain(beast::tcp_stream& stream, Response r, unsigned version) {
  co_await write(stream, std::move(r), version, false, false);
  boost::system::error_code ec;
  stream.socket().shutdown(tcp::socket::shutdown_send, ec);
  std::vector<char> sink(64 * 1024);
  std::size_t drained = 0;
  while (!stopped && drained < 4 * kMaxBodyBytes) {
    stream.expires_after(2s);
    const std::size_t n =
        co_await stream.async_read_some(asio::buffer(sink), asio::redirect_error(net::use_awaitable, ec));
    if (ec) break;
    drained += n;
  }
}

net::awaitable<void> Monitor::Impl::session(tcp::socket socket) {
  auto self = shared_from_this();
  beast::tcp_stream stream(std::move(socket));
  const std::uint64_t id = next_session++;
  sessions[id].stream = &stream;
  ++open;
  beast::flat_buffer buffer;
  try {
    while (!stopped) {
      // The head first: a streamed request's body is read as its handler
      // asks, any other's whole, up to kMaxBodyBytes.
      bhttp::request_parser<bhttp::empty_body> head;
      head.header_limit(16 * 1024);
      // No limit here (the whole-body path checks Content-Length below).
      // Not boost::none: Beast 1.74 compares a Content-Length with an empty
      // limit as greater and refuses every body.
      head.body_limit(std::numeric_limits<std::uint64_t>::max());
      stream.expires_after(kReadTimeout);
      boost::system::error_code ec;
      co_await bhttp::async_read_header(stream, buffer, head, asio::redirect_error(net::use_awaitable, ec));
      if (ec) break;

      Request request;
      {
        const auto& h = head.get();
        request.method = std::string(h.method_string());
        request.target = std::string(h.target());
        const auto q = request.target.find('?');
        request.path = request.target.substr(0, q);
        if (q != std::string::npos) request.query = request.target.substr(q + 1);
        request.accept = std::string(h[bhttp::field::accept]);
        request.authorization = std::string(h[bhttp::field::authorization]);
        request.if_none_match = std::string(h[bhttp::field::if_none_match]);
      }
      if (auto handler = find_stream(request)) {
        const bool keep = co_await exchange(stream, buffer, head, request, std::move(handler), id);
        if (!keep || stopped) break;
        continue;
      }
      const auto too_large = [&] {
        return api_error(413, "PAYLOAD_TOO_LARGE",
                         "the request body is larger than " + std::to_string(kMaxBodyBytes) + " bytes");
      };
      if (head.content_length() && *head.content_length() > kMaxBodyBytes) {
        co_await refuse_and_drain(stream, too_large(), head.get().version());
        break;
      }
      bhttp::request_parser<bhttp::string_body> parser{std::move(head)};
      parser.body_limit(kMaxBodyBytes);
      if (!parser.is_done()) {
        stream.expires_after(kReadTimeout);
        co_await bhttp::async_read(stream, buffer, parser, asio::redirect_error(net::use_awaitable, ec));
      }
      if (ec == bhttp::error::body_limit) {
        co_await refuse_and_drain(stream, too_large(), parser.get().version());
        break;
      }
      if (ec) break;
      const auto& req = parser.get();
      request.body = req.body();

      if (request.method == "GET" && request.path == "/logs" &&
          request.accept.find("text/event-stream") != std::string::npos) {
        std::size_t backlog = kDefaultLogLines;
        if (auto n = parse_u64(query_param(request.query, "n")); n.ok()) backlog = static_cast<std::size_t>(n.value());
        co_await tail(stream, backlog);
        break;
      }

      if (auto f = feeds.find(request.path); f != feeds.end() && request.method == "GET" &&
                                             request.accept.find("text/event-stream") != std::string::npos) {
        co_await stream_feed(stream, f->second);
        break;
      }

      Response r;
      if (const AsyncRoute* route = find_async(request.path); route != nullptr) {
        // The answer comes later, maybe from another thread: it is posted to
        // the strand and wakes this coroutine, which holds no thread while
        // it waits.
        struct Waiter {
          explicit Waiter(asio::strand<asio::io_context::executor_type>& s) : timer(s) {}
          asio::steady_timer timer;
          std::optional<Response> answer;
        };
        auto waiter = std::make_shared<Waiter>(strand);
        waiter->timer.expires_after(kAnswerTimeout);
        sessions[id].waiting = &waiter->timer;
        try {
          (*route)(request, [waiter, executor = strand](Response answer) mutable {
            asio::post(executor, [waiter, answer = std::move(answer)]() mutable {
              if (waiter->answer) return;
              waiter->answer = std::move(answer);
              waiter->timer.cancel();
            });
          });
        } catch (const std::exception& e) {
          waiter->answer = api_error(500, "INTERNAL", std::string("internal error: ") + e.what());
        }
        if (!waiter->answer) co_await waiter->timer.async_wait(asio::redirect_error(net::use_awaitable, ec));
        sessions[id].waiting = nullptr;
        if (stopped) break;
        r = waiter->answer
                ? std::move(*waiter->answer)
                : api_error(504, "TIMEOUT",
                            "no answer within " + std::to_string(std::chrono::seconds(kAnswerTimeout).count()) + " s");
      } else {
        r = handle(request);
      }
      const bool keep = co_await write(stream, std::move(r), req.version(), req.keep_alive(), request.method == "HEAD");
      if (!keep) break;
    }
  } catch (const boost::system::system_error&) {
    // Peer gone, deadline passed, bad request or monitor stopping: close.
  } catch (const std::exception& e) {
    log::warn("monitor_request", "fail", {{"reason", e.what()}});  // a bug: close this connection only
  }
  boost::system::error_code ec;
  stream.socket().shutdown(tcp::socket::shutdown_both, ec);
  stream.socket().close(ec);
  sessions.erase(id);
  --open;
}

Monitor::Monitor(asio::io_context& io, std::string host, std::uint16_t port)
    : impl_(std::make_shared<Impl>(io, std::move(host), port)) {}

Monitor::~Monitor() = default;

void Monitor::add_route(std::string path, Route route) { impl_->routes[std::move(path)] = std::move(route); }
void Monitor::add_feed(std::string path, Feed feed) { impl_->feeds[std::move(path)] = std::move(feed); }
void Monitor::add_async_prefix(std::string prefix, AsyncRoute route) {
  impl_->prefixes.emplace_back(std::move(prefix), std::move(route));
}
void Monitor::add_stream_select(std::string prefix, StreamSelect select) {
  impl_->stream_selects.emplace_back(std::move(prefix), std::move(select));
}
Result<std::uint16_t> Monitor::start() { return impl_->start(); }
void Monitor::stop() { impl_->stop(); }
std::size_t Monitor::open_connections() const { return impl_->open.load(); }

}  // namespace minga::http
