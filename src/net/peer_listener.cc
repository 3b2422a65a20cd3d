#include "net/asio.h"
// (asio.h first: see the note there)
#include "net/listen.h"
#include "net/peer_listener.h"

#include <array>
#include <atomic>
#include <map>
#include <mutex>
#include <vector>

#include "base/log.h"
#include "proto/minga.pb.h"

namespace minga::net {

using StrandSocket = asio::basic_stream_socket<tcp, asio::strand<asio::io_context::executor_type>>;

struct PeerListener::Impl : std::enable_shared_from_this<PeerListener::Impl> {
  Impl(asio::io_context& io_ctx, PeerListenerOptions o, Handlers hs)
      : io(io_ctx), opt(std::move(o)), h(std::move(hs)), acceptor(io_ctx) {}

  awaitable<void> accept_loop();
  awaitable<void> serve(std::shared_ptr<StrandSocket> socket, std::uint64_t id);

  asio::io_context& io;
  PeerListenerOptions opt;
  Handlers h;
  tcp::acceptor acceptor;
  std::atomic<bool> stopped{false};
  std::mutex mu;
  std::map<std::uint64_t, std::weak_ptr<StrandSocket>> open;
  std::uint64_t next_id = 1;
};

awaitable<void> PeerListener::Impl::accept_loop() {
  auto self = shared_from_this();
  for (;;) {
    boost::system::error_code ec;
    auto socket = std::make_shared<StrandSocket>(asio::make_strand(io));
    co_await acceptor.async_accept(*socket, asio::redirect_error(use_awaitable, ec));
    if (ec == asio::error::operation_aborted || !acceptor.is_open() || stopped) co_return;
    if (ec) {
      log::warn("peer_accept", "fail", {{"error", ec.message()}});
      asio::steady_timer t(io, std::chrono::milliseconds(50));
      co_await t.async_wait(asio::redirect_error(use_awaitable, ec));
      continue;
    }
    std::uint64_t id = 0;
    {
      std::lock_guard lock(mu);
      if (open.size() >= opt.max_connections) {
        log::warn("peer_accept", "fail", {{"reason", "peer connection limit reached"}});
        continue;
      }
      id = next_id++;
      open.emplace(id, socket);
    }
    socket->set_option(tcp::no_delay(true), ec);
    asio::co_spawn(socket->get_executor(), serve(socket, id), asio::detached);
  }
}

awaitable<void> PeerListener::Impl::serve(std::shared_ptr<StrandSocket> socket, std::uint64_t id) {
  auto self = shared_from_this();
  boost::system::error_code ec;
  const auto ep = socket->remote_endpoint(ec);
  const std::string remote = ec ? std::string("?") : ep.address().to_string() + ":" + std::to_string(ep.port());
  asio::steady_timer deadline(socket->get_executor());
  // Which read the pending deadline belongs to, shared with its handler: a
  // handler already queued when its read completed (cancel() cannot stop it)
  // may run after this frame is gone, or during the next read.
  auto read_no = std::make_shared<std::uint64_t>(0);
  bool timed_out = false;
  std::array<char, 64 * 1024> buf;
  std::string in;
  std::vector<PeerLink::Frame> frames;
  std::string reason;
  bool refused = false;
  while (!stopped) {
    deadline.expires_after(opt.read_timeout);
    const std::uint64_t mine = ++*read_no;
    deadline.async_wait([socket, read_no, mine](const boost::system::error_code& e) {
      if (e || *read_no != mine) return;
      boost::system::error_code ignored;
      socket->close(ignored);
    });
    const std::size_t n = co_await socket->async_read_some(asio::buffer(buf), asio::redirect_error(use_awaitable, ec));
    timed_out = deadline.expiry() <= asio::steady_timer::clock_type::now();
    deadline.cancel();
    ++*read_no;  // a handler still queued for this read does nothing now
    if (timed_out && ec) {
      reason = "silent for " + std::to_string(opt.read_timeout.count()) + " ms";
      break;
    }
    if (ec) {
      reason = ec == asio::error::eof ? "closed by the peer" : "connection lost: " + ec.message();
      break;
    }
    in.append(buf.data(), n);
    std::size_t pos = 0;
    frames.clear();
    for (;;) {
      wire::Decoded d = wire::decode(std::string_view(in).substr(pos), opt.max_frame_bytes);
      if (d.status == wire::Decoded::Status::need_more) break;
      if (d.status == wire::Decoded::Status::error) {
        reason = std::string("bad frame: ") + wire::to_string(d.error);
        break;
      }
      pos += d.consumed;
      frames.push_back(PeerLink::Frame{d.header, d.body});
    }
    bool keep = reason.empty();
    if (!frames.empty() && h.on_frames) {
      std::string why;
      if (!h.on_frames(id, remote, frames, why)) {
        keep = false;
        if (reason.empty()) reason = why;
        refused = true;
      }
    }
    if (!keep) break;
    in.erase(0, pos);
  }
  if (reason.empty()) reason = "listener stopped";
  if (refused && !stopped) {
    // Tell the dialer why, within a second, then close.
    pb::ErrorResponse err;
    err.set_code(pb::INVALID_ARGUMENT);
    err.set_message(reason);
    std::string frame;
    wire::encode(frame, pb::ERROR, 0, err.SerializeAsString());
    deadline.expires_after(std::chrono::seconds(1));
    deadline.async_wait([socket](const boost::system::error_code& e) {
      if (e) return;
      boost::system::error_code ignored;
      socket->close(ignored);
    });
    co_await asio::async_write(*socket, asio::buffer(frame), asio::redirect_error(use_awaitable, ec));
    deadline.cancel();
  }
  socket->shutdown(tcp::socket::shutdown_both, ec);
  socket->close(ec);
  {
    std::lock_guard lock(mu);
    open.erase(id);
  }
  if (h.on_closed) h.on_closed(id, remote, reason);
}

PeerListener::PeerListener(asio::io_context& io, PeerListenerOptions options, Handlers handlers)
    : impl_(std::make_shared<Impl>(io, std::move(options), std::move(handlers))) {}

PeerListener::~PeerListener() { stop(); }

Result<std::uint16_t> PeerListener::start() {
  auto bound = bind_and_listen(impl_->acceptor, impl_->opt.host, impl_->opt.port, " (Raft port)");
  if (!bound.ok()) return bound.error();
  const std::uint16_t port = bound.value();
  asio::co_spawn(
      impl_->io, [impl = impl_] { return impl->accept_loop(); }, asio::detached);
  return port;
}

void PeerListener::stop() {
  if (impl_->stopped.exchange(true)) return;
  asio::post(impl_->io, [impl = impl_] {
    boost::system::error_code ec;
    if (impl->acceptor.is_open()) impl->acceptor.close(ec);
  });
  std::vector<std::shared_ptr<StrandSocket>> all;
  {
    std::lock_guard lock(impl_->mu);
    for (auto& [id, w] : impl_->open) {
      if (auto s = w.lock()) all.push_back(std::move(s));
    }
  }
  for (auto& s : all) {
    asio::post(s->get_executor(), [s] {
      boost::system::error_code ec;
      s->close(ec);
    });
  }
}

}  // namespace minga::net
