#include "net/asio.h"
// (asio.h first: see the note there)
#include "net/listen.h"
#include "net/server.h"

#include <array>
#include <atomic>
#include <deque>
#include <map>
#include <optional>
#include <unordered_set>
#include <vector>

#include "base/log.h"
#include "wire/text_line.h"

namespace minga::net {

using Clock = std::chrono::steady_clock;
using Strand = asio::strand<asio::io_context::executor_type>;
// A socket whose handlers all run on its own strand.
using StrandSocket = tcp::socket::rebind_executor<Strand>::other;

struct Server::Impl {
  Impl(asio::io_context& io_ctx, ServerOptions o, Dispatcher& d)
      : io(io_ctx), opt(std::move(o)), dispatcher(d), acceptor(io_ctx) {}
  asio::io_context& io;
  ServerOptions opt;
  Dispatcher& dispatcher;
  tcp::acceptor acceptor;
  mutable std::mutex mu;
  std::map<Session*, std::weak_ptr<Session>> sessions;
  std::atomic<std::uint64_t> accepted{0};
  Server* owner = nullptr;

  awaitable<void> accept_loop();
  std::vector<std::shared_ptr<Session>> live_sessions() const;
};

// One client connection. Every member is touched only on the socket's strand.
class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(StrandSocket socket, Server::Impl& srv)
      : socket_(std::move(socket)), srv_(srv), watchdog_(socket_.get_executor()), drained_(socket_.get_executor()) {
    boost::system::error_code ec;
    auto ep = socket_.remote_endpoint(ec);
    peer_ = ec ? "unknown" : ep.address().to_string() + ":" + std::to_string(ep.port());
    socket_.set_option(tcp::no_delay(true), ec);
  }

  void start() {
    auto self = shared_from_this();
    asio::co_spawn(
        socket_.get_executor(), [self]() { return self->read_loop(); }, asio::detached);
    asio::co_spawn(
        socket_.get_executor(), [self]() { return self->watch(); }, asio::detached);
  }

  // Thread-safe: queues the encoded answer to request `request_id` for
  // writing. Answers from other threads gather in an outbox that one posted
  // handler moves to the socket, so a burst costs one hand-off and one write.
  void deliver(std::uint64_t request_id, std::string bytes) {
    auto ex = socket_.get_executor();
    if (ex.running_in_this_thread()) {
      if (abandoned_) return;  // already answered with shutting_down
      settle(request_id);
      on_answer(std::move(bytes));
      return;
    }
    bool schedule = false;
    {
      std::lock_guard lock(outbox_mu_);
      outbox_.append(bytes);
      outbox_ids_.push_back(request_id);
      schedule = !outbox_scheduled_;
      outbox_scheduled_ = true;
    }
    if (schedule) asio::post(ex, [self = shared_from_this()] { self->drain_outbox(); });
  }

  // Thread-safe: a text answer for the line with sequence number `seq`.
  void deliver_line(std::uint64_t seq, std::string line) {
    asio::post(socket_.get_executor(), [self = shared_from_this(), seq, l = std::move(line)]() mutable {
      self->on_line_answer(seq, std::move(l));
    });
  }

  void finish_from_any_thread() {
    asio::post(socket_.get_executor(), [self = shared_from_this()] {
      self->finishing_ = true;
      self->reading_done_ = true;
      boost::system::error_code ec;
      self->socket_.shutdown(tcp::socket::shutdown_receive, ec);  // wakes the reader with EOF
      self->drained_.cancel();
      self->abandon_unanswered();
      self->maybe_finish();
    });
  }

  void close_from_any_thread() {
    asio::post(socket_.get_executor(), [self = shared_from_this()] { self->close(); });
  }

  const std::string& peer() const { return peer_; }

 private:
  enum class Mode { unknown, binary, text };

  awaitable<void> read_loop();
  bool process_frames();
  bool process_lines();
  awaitable<void> watch();
  void on_answer(std::string bytes);
  void drain_outbox();
  std::pair<std::string, std::vector<std::uint64_t>> take_outbox();  // answers and their ids
  void on_line_answer(std::uint64_t seq, std::string line);
  void flush_lines();
  void settle(std::uint64_t request_id);
  void abandon_unanswered();
  void maybe_write();
  void protocol_error(std::uint64_t request_id, pb::ErrorCode code, std::string message);
  void maybe_finish();
  void close();

  StrandSocket socket_;
  Server::Impl& srv_;
  asio::steady_timer watchdog_;
  asio::steady_timer drained_;  // wakes the reader paused by backpressure
  std::string peer_;
  Mode mode_ = Mode::unknown;
  std::string in_;
  std::string out_;
  std::string writing_;
  bool write_pending_ = false;
  bool open_ = true;
  bool reading_done_ = false;  // EOF or protocol error: answer what is pending, then close
  bool finishing_ = false;     // node shutdown: write what is ready, then close
  bool paused_ = false;        // the reader waits for answers to drain
  std::size_t inflight_ = 0;
  // Binary requests dispatched and not yet answered, by request id.
  std::unordered_multiset<std::uint64_t> outstanding_;
  bool abandoned_ = false;  // node shutdown answered every outstanding request
  Clock::time_point last_activity_ = Clock::now();
  std::optional<Clock::time_point> partial_since_;  // first byte of the unfinished frame or line
  Clock::time_point write_started_{};
  // Text mode keeps answers in line order.
  std::deque<std::optional<std::string>> line_slots_;
  // Answers delivered from other threads; guarded by outbox_mu_.
  std::mutex outbox_mu_;
  std::string outbox_;
  std::vector<std::uint64_t> outbox_ids_;
  bool outbox_scheduled_ = false;
  std::uint64_t first_slot_seq_ = 0;
  std::uint64_t next_line_seq_ = 0;
};

namespace {

class FrameResponder final : public wire::Responder {
 public:
  FrameResponder(std::weak_ptr<Session> s, std::uint64_t id) : session_(std::move(s)), request_id_(id) {}
  ~FrameResponder() override {
    if (!answered_.load(std::memory_order_relaxed)) fail(Errc::internal, "request dropped without an answer");
  }
  void reply(std::uint32_t type, std::string body) override {
    if (answered_.exchange(true)) return;  // one answer per request
    std::string frame;
    frame.reserve(wire::kHeaderBytes + body.size());
    wire::encode(frame, type, request_id_, body);
    if (auto s = session_.lock()) s->deliver(request_id_, std::move(frame));
  }

 private:
  std::weak_ptr<Session> session_;
  std::uint64_t request_id_;
  std::atomic<bool> answered_{false};
};

std::string error_body(pb::ErrorCode code, std::string message) {
  pb::ErrorResponse e;
  e.set_code(code);
  e.set_message(std::move(message));
  return e.SerializeAsString();
}

}  // namespace

awaitable<void> Session::read_loop() {
  std::array<char, 64 * 1024> buf;
  while (open_ && !reading_done_) {
    if (inflight_ >= srv_.opt.max_inflight_per_connection) {
      paused_ = true;
      drained_.expires_at(Clock::time_point::max());
      boost::system::error_code ec;
      co_await drained_.async_wait(asio::redirect_error(use_awaitable, ec));
      paused_ = false;
      if (partial_since_) partial_since_ = Clock::now();  // the pause was ours, not the client's
      continue;
    }
    boost::system::error_code ec;
    const std::size_t n = co_await socket_.async_read_some(asio::buffer(buf), asio::redirect_error(use_awaitable, ec));
    if (ec || !open_) {
      reading_done_ = true;
      break;
    }
    last_activity_ = Clock::now();
    in_.append(buf.data(), n);
    if (mode_ == Mode::unknown) {
      mode_ = wire::starts_frame(static_cast<unsigned char>(in_[0])) ? Mode::binary : Mode::text;
    }
    const std::size_t buffered = in_.size();
    const bool ok = mode_ == Mode::binary ? process_frames() : process_lines();
    if (!ok) reading_done_ = true;
    // The clock of a request starts at its first byte: what is left over is
    // either the same unfinished request (keep its start) or a new one.
    if (in_.empty()) {
      partial_since_.reset();
    } else if (in_.size() < buffered || !partial_since_) {
      partial_since_ = last_activity_;
    }
  }
  maybe_finish();
}

bool Session::process_frames() {
  std::size_t pos = 0;
  bool ok = true;
  while (pos < in_.size()) {
    const std::string_view rest(in_.data() + pos, in_.size() - pos);
    wire::Decoded d = wire::decode(rest, srv_.opt.max_frame_bytes);
    if (d.status == wire::Decoded::Status::need_more) break;
    if (d.status == wire::Decoded::Status::error) {
      const bool too_large = d.error == wire::DecodeError::too_large;
      const auto code = too_large                                           ? pb::FRAME_TOO_LARGE
                        : d.error == wire::DecodeError::unsupported_version ? pb::UNSUPPORTED_VERSION
                                                                            : pb::BAD_FRAME;
      std::string msg = wire::to_string(d.error);
      if (too_large) msg += ": limit is " + std::to_string(srv_.opt.max_frame_bytes) + " bytes";
      protocol_error(d.header.request_id, code, std::move(msg));
      ok = false;
      break;
    }
    pos += d.consumed;
    ++inflight_;
    outstanding_.insert(d.header.request_id);
    auto responder = std::make_shared<FrameResponder>(weak_from_this(), d.header.request_id);
    srv_.dispatcher.on_frame(d.header, d.body, std::move(responder));
  }
  in_.erase(0, pos);
  return ok;
}

bool Session::process_lines() {
  std::size_t pos = 0;
  for (;;) {
    const std::size_t nl = in_.find('\n', pos);
    if (nl == std::string::npos) break;
    std::string_view line(in_.data() + pos, nl - pos);
    pos = nl + 1;
    const std::uint64_t seq = next_line_seq_++;
    line_slots_.emplace_back();
    ++inflight_;
    std::weak_ptr<Session> weak = weak_from_this();
    srv_.dispatcher.on_text_line(line, [weak, seq](std::string answer) {
      if (auto s = weak.lock()) s->deliver_line(seq, std::move(answer));
    });
  }
  in_.erase(0, pos);
  if (in_.size() > wire::kMaxTextLineBytes) {
    // Answered like any line, after the lines before it; then the session closes.
    log::warn("protocol_error", "fail", {{"peer", peer_}, {"error", "line too long"}});
    const std::uint64_t seq = next_line_seq_++;
    line_slots_.emplace_back();
    ++inflight_;
    on_line_answer(seq, R"({"ok":false,"error":"line too long"})");
    return false;
  }
  return true;
}

void Session::on_line_answer(std::uint64_t seq, std::string line) {
  if (seq < first_slot_seq_ || seq - first_slot_seq_ >= line_slots_.size()) return;
  line.push_back('\n');
  line_slots_[seq - first_slot_seq_] = std::move(line);
  flush_lines();
}

void Session::flush_lines() {
  while (!line_slots_.empty() && line_slots_.front()) {
    on_answer(std::move(*line_slots_.front()));
    line_slots_.pop_front();
    ++first_slot_seq_;
  }
}

void Session::settle(std::uint64_t request_id) {
  if (auto it = outstanding_.find(request_id); it != outstanding_.end()) outstanding_.erase(it);
}

// Node shutdown: every request still unanswered gets `shutting_down` now, so
// no client is left waiting on a connection about to close. Answers that come
// later are dropped (one answer per request).
void Session::abandon_unanswered() {
  static constexpr const char* kMessage =
      "the node is shutting down; the task did not finish before the drain deadline";
  // Answers that are ready go out as they are.
  auto [ready, ids] = take_outbox();
  inflight_ -= std::min(inflight_, ids.size());
  for (const std::uint64_t id : ids) settle(id);
  if (open_) out_.append(ready);
  abandoned_ = true;
  for (const std::uint64_t id : outstanding_) {
    std::string frame;
    wire::encode(frame, pb::ERROR, id, error_body(pb::SHUTTING_DOWN, kMessage));
    on_answer(std::move(frame));
  }
  outstanding_.clear();
  const std::string line = std::string(R"({"ok":false,"error":")") + kMessage + "\"}\n";
  for (auto& slot : line_slots_) {
    if (!slot) slot = line;
  }
  flush_lines();
  maybe_write();
}

void Session::protocol_error(std::uint64_t request_id, pb::ErrorCode code, std::string message) {
  log::warn("protocol_error", "fail", {{"peer", peer_}, {"error", message}});
  std::string frame;
  wire::encode(frame, pb::ERROR, request_id, error_body(code, std::move(message)));
  ++inflight_;
  on_answer(std::move(frame));
}

void Session::on_answer(std::string bytes) {
  if (inflight_ > 0) --inflight_;
  if (!open_) return;
  last_activity_ = Clock::now();
  out_.append(bytes);
  maybe_write();
  if (paused_ && inflight_ < srv_.opt.max_inflight_per_connection) drained_.cancel();
}

std::pair<std::string, std::vector<std::uint64_t>> Session::take_outbox() {
  std::pair<std::string, std::vector<std::uint64_t>> taken;
  std::lock_guard lock(outbox_mu_);
  taken.first.swap(outbox_);
  taken.second.swap(outbox_ids_);
  outbox_scheduled_ = false;
  return taken;
}

void Session::drain_outbox() {
  auto [bytes, ids] = take_outbox();
  if (abandoned_) return;  // every request was answered with shutting_down
  inflight_ -= std::min(inflight_, ids.size());
  for (const std::uint64_t id : ids) settle(id);
  if (!open_) return;
  last_activity_ = Clock::now();
  if (out_.empty()) {
    out_.swap(bytes);
  } else {
    out_.append(bytes);
  }
  maybe_write();
  if (paused_ && inflight_ < srv_.opt.max_inflight_per_connection) drained_.cancel();
}

void Session::maybe_write() {
  if (write_pending_ || !open_) return;
  if (out_.empty()) {
    maybe_finish();
    return;
  }
  writing_.swap(out_);
  out_.clear();
  write_pending_ = true;
  write_started_ = Clock::now();
  asio::async_write(socket_, asio::buffer(writing_),
                    [self = shared_from_this()](boost::system::error_code ec, std::size_t) {
                      self->write_pending_ = false;
                      self->writing_.clear();
                      if (ec) {
                        self->close();
                        return;
                      }
                      self->maybe_write();
                    });
}

void Session::maybe_finish() {
  if (open_ && reading_done_ && (inflight_ == 0 || finishing_) && out_.empty() && !write_pending_) close();
}

awaitable<void> Session::watch() {
  const auto& opt = srv_.opt;
  const auto period = std::clamp(std::min(opt.read_timeout, opt.write_timeout) / 4, std::chrono::milliseconds(10),
                                 std::chrono::milliseconds(1000));
  while (open_) {
    watchdog_.expires_after(period);
    boost::system::error_code ec;
    co_await watchdog_.async_wait(asio::redirect_error(use_awaitable, ec));
    if (!open_) break;
    const auto now = Clock::now();
    if (write_pending_ && now - write_started_ > opt.write_timeout) {
      log::warn("drop_client", "success", {{"peer", peer_}, {"reason", "write deadline"}});
      close();
    } else if (partial_since_ && !paused_ && !reading_done_ && now - *partial_since_ > opt.read_timeout) {
      log::info("drop_client", "success",
                {{"peer", peer_}, {"reason", "request not complete within the read deadline"}});
      close();
    } else if (inflight_ == 0 && !write_pending_ && now - last_activity_ > opt.read_timeout) {
      log::info(
          "drop_client", "success",
          {{"peer", peer_},
           {"reason", "idle"},
           {"idle_ms",
            std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(now - last_activity_).count())}});
      close();
    }
  }
}

void Session::close() {
  if (!open_) return;
  open_ = false;
  boost::system::error_code ec;
  socket_.shutdown(tcp::socket::shutdown_both, ec);
  socket_.close(ec);
  watchdog_.cancel();
  drained_.cancel();
  srv_.owner->forget(this);
}

awaitable<void> Server::Impl::accept_loop() {
  for (;;) {
    boost::system::error_code ec;
    StrandSocket socket =
        co_await acceptor.async_accept(asio::make_strand(io), asio::redirect_error(use_awaitable, ec));
    if (ec == asio::error::operation_aborted || !acceptor.is_open()) co_return;
    if (ec) {
      // EMFILE and friends: back off briefly rather than spin.
      log::warn("accept", "fail", {{"error", ec.message()}});
      asio::steady_timer t(io, std::chrono::milliseconds(50));
      co_await t.async_wait(asio::redirect_error(use_awaitable, ec));
      continue;
    }
    accepted.fetch_add(1, std::memory_order_relaxed);
    auto session = std::make_shared<Session>(std::move(socket), *this);
    {
      std::lock_guard lock(mu);
      if (sessions.size() >= opt.max_connections) {
        log::warn("accept", "fail", {{"peer", session->peer()}, {"reason", "connection limit reached"}});
        continue;  // the socket closes as `session` goes out of scope
      }
      sessions.emplace(session.get(), session);
    }
    session->start();
  }
}

Server::Server(asio::io_context& io, ServerOptions options, Dispatcher& dispatcher)
    : impl_(std::make_unique<Impl>(io, std::move(options), dispatcher)) {
  impl_->owner = this;
}

Server::~Server() {
  stop_accepting();
  close_all();
}

Result<std::uint16_t> Server::start() {
  auto bound = bind_and_listen(impl_->acceptor, impl_->opt.host, impl_->opt.port);
  if (!bound.ok()) return bound.error();
  const std::uint16_t port = bound.value();
  asio::co_spawn(
      impl_->io, [impl = impl_.get()] { return impl->accept_loop(); }, asio::detached);
  return port;
}

void Server::stop_accepting() {
  boost::system::error_code ec;
  if (impl_->acceptor.is_open()) impl_->acceptor.close(ec);
}

std::vector<std::shared_ptr<Session>> Server::Impl::live_sessions() const {
  std::vector<std::shared_ptr<Session>> all;
  std::lock_guard lock(mu);
  for (const auto& [p, w] : sessions) {
    if (auto s = w.lock()) all.push_back(std::move(s));
  }
  return all;
}

void Server::finish_all() {
  for (auto& s : impl_->live_sessions()) s->finish_from_any_thread();
}

std::size_t Server::close_all() {
  auto all = impl_->live_sessions();
  for (auto& s : all) s->close_from_any_thread();
  return all.size();
}

std::size_t Server::open_connections() const {
  std::lock_guard lock(impl_->mu);
  return impl_->sessions.size();
}

std::uint64_t Server::accepted_total() const { return impl_->accepted.load(std::memory_order_relaxed); }

void Server::forget(Session* s) {
  std::lock_guard lock(impl_->mu);
  impl_->sessions.erase(s);
}

}  // namespace minga::net
