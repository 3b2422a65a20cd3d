#include "net/asio.h"
// (asio.h first: see the note there)
#include "net/peer_link.h"

#include <array>
#include <atomic>
#include <mutex>
#include <vector>

#include <boost/asio/connect.hpp>

namespace minga::net {

using Strand = asio::strand<asio::io_context::executor_type>;

// Every member is touched only on `strand`, except the outbox.
struct PeerLink::Impl : std::enable_shared_from_this<PeerLink::Impl> {
  Impl(asio::io_context& io, Endpoint p, PeerLinkOptions o, Handlers hs)
      : strand(asio::make_strand(io)),
        socket(strand),
        resolver(strand),
        connect_timer(strand),
        peer(std::move(p)),
        opt(o),
        h(std::move(hs)) {}

  awaitable<void> run();
  void post_frame(std::uint32_t type, std::uint64_t request_id, std::string_view body);  // any thread
  void take_outbox();
  void queue(std::string frames);
  void maybe_write();
  void request_close(std::string reason);
  void finish(std::string reason);

  Strand strand;
  tcp::socket socket;
  tcp::resolver resolver;
  asio::steady_timer connect_timer;
  Endpoint peer;
  PeerLinkOptions opt;
  Handlers h;
  std::string out;      // frames waiting to be written
  std::string writing;  // the frames of the write in progress
  bool write_pending = false;
  bool connected = false;
  bool finished = false;
  std::string close_reason;  // set by close(): reported instead of the socket error

  // Frames sent from any thread gather here; one posted handler moves them
  // to `out`, so a burst of sends costs one hand-off.
  std::mutex outbox_mu;
  std::string outbox;
  bool outbox_posted = false;
  std::atomic<std::size_t> unwritten{0};  // bytes sent and not yet written (any thread)
};

awaitable<void> PeerLink::Impl::run() {
  auto self = shared_from_this();
  boost::system::error_code ec;
  connect_timer.expires_after(opt.connect_timeout);
  connect_timer.async_wait([self](const boost::system::error_code& e) {
    if (e || self->connected || self->finished) return;
    self->close_reason = "cannot connect to " + self->peer.str() + ": timed out";
    self->resolver.cancel();
    boost::system::error_code ignored;
    self->socket.close(ignored);
  });
  auto endpoints =
      co_await resolver.async_resolve(peer.host, std::to_string(peer.port), asio::redirect_error(use_awaitable, ec));
  if (!ec && !finished) co_await asio::async_connect(socket, endpoints, asio::redirect_error(use_awaitable, ec));
  connect_timer.cancel();
  if (finished) co_return;
  if (ec || !close_reason.empty()) {
    finish(close_reason.empty() ? "cannot connect to " + peer.str() + ": " + ec.message() : close_reason);
    co_return;
  }
  connected = true;
  socket.set_option(tcp::no_delay(true), ec);
  if (h.on_connected) h.on_connected();
  maybe_write();

  std::array<char, 64 * 1024> buf;
  std::string in;
  std::vector<Frame> frames;
  while (!finished) {
    const std::size_t n = co_await socket.async_read_some(asio::buffer(buf), asio::redirect_error(use_awaitable, ec));
    if (finished) break;
    if (ec) {
      finish(ec == asio::error::eof ? "closed by the peer" : "connection lost: " + ec.message());
      break;
    }
    in.append(buf.data(), n);
    std::size_t pos = 0;
    std::string bad;
    frames.clear();
    for (;;) {
      wire::Decoded d = wire::decode(std::string_view(in).substr(pos), opt.max_frame_bytes);
      if (d.status == wire::Decoded::Status::need_more) break;
      if (d.status == wire::Decoded::Status::error) {
        bad = std::string("bad frame from the peer: ") + wire::to_string(d.error);
        break;
      }
      pos += d.consumed;
      frames.push_back(Frame{d.header, d.body});
    }
    // The good frames before a bad one still count.
    if (!frames.empty() && h.on_frames) h.on_frames(frames);
    if (!bad.empty()) finish(std::move(bad));
    in.erase(0, pos);
  }
}

void PeerLink::Impl::post_frame(std::uint32_t type, std::uint64_t request_id, std::string_view body) {
  bool post = false;
  {
    std::lock_guard lock(outbox_mu);
    const std::size_t before = outbox.size();
    wire::encode(outbox, type, request_id, body);
    unwritten.fetch_add(outbox.size() - before, std::memory_order_relaxed);
    post = !outbox_posted;
    outbox_posted = true;
  }
  if (post) asio::post(strand, [self = shared_from_this()] { self->take_outbox(); });
}

void PeerLink::Impl::take_outbox() {
  std::string frames;
  {
    std::lock_guard lock(outbox_mu);
    frames.swap(outbox);
    outbox_posted = false;
  }
  queue(std::move(frames));
}

void PeerLink::Impl::queue(std::string frames) {
  if (finished) return;
  if (out.size() + writing.size() + frames.size() > opt.max_queued_bytes) {
    finish("the peer does not read: write queue above " + std::to_string(opt.max_queued_bytes) + " bytes");
    return;
  }
  if (out.empty()) {
    out.swap(frames);
  } else {
    out += frames;
  }
  maybe_write();
}

void PeerLink::Impl::maybe_write() {
  if (!connected || write_pending || out.empty() || finished) return;
  writing.swap(out);
  out.clear();
  write_pending = true;
  asio::async_write(socket, asio::buffer(writing),
                    [self = shared_from_this()](const boost::system::error_code& ec, std::size_t) {
                      self->write_pending = false;
                      self->unwritten.fetch_sub(self->writing.size(), std::memory_order_relaxed);
                      self->writing.clear();
                      if (ec) {
                        self->finish("write failed: " + ec.message());
                        return;
                      }
                      self->maybe_write();
                      if (self->h.on_written) self->h.on_written();
                    });
}

void PeerLink::Impl::request_close(std::string reason) {
  if (finished) return;
  if (!connected) {
    // Wakes the resolver or the connect, which then report this reason.
    close_reason = std::move(reason);
    resolver.cancel();
    boost::system::error_code ignored;
    socket.close(ignored);
    return;
  }
  finish(std::move(reason));
}

void PeerLink::Impl::finish(std::string reason) {
  if (finished) return;
  finished = true;
  boost::system::error_code ignored;
  socket.shutdown(tcp::socket::shutdown_both, ignored);
  socket.close(ignored);
  connect_timer.cancel();
  out.clear();
  auto on_closed = std::move(h.on_closed);
  h = Handlers{};  // no handler runs after on_closed; drops what they captured
  if (on_closed) on_closed(reason);
}

std::shared_ptr<PeerLink> PeerLink::start(asio::io_context& io, Endpoint peer, PeerLinkOptions options,
                                          Handlers handlers) {
  auto impl = std::make_shared<Impl>(io, peer, options, std::move(handlers));
  asio::co_spawn(
      impl->strand, [impl] { return impl->run(); }, asio::detached);
  return std::shared_ptr<PeerLink>(new PeerLink(std::move(peer), std::move(impl)));
}

PeerLink::~PeerLink() = default;

void PeerLink::send(std::uint32_t type, std::uint64_t request_id, std::string_view body) {
  impl_->post_frame(type, request_id, body);
}

std::size_t PeerLink::queued_bytes() const { return impl_->unwritten.load(std::memory_order_relaxed); }

void PeerLink::close(std::string reason) {
  asio::post(impl_->strand, [impl = impl_, r = std::move(reason)]() mutable { impl->request_close(std::move(r)); });
}

}  // namespace minga::net
