#include "replication/peer_transport.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "base/crc32c.h"
#include "base/log.h"
#include "proto/minga.pb.h"
#include "proto/raft.pb.h"
#include "replication/codec.h"

namespace minga::replication {

using Clock = std::chrono::steady_clock;
constexpr const char* kDuplicateId = "is already in the cluster";
constexpr std::uint64_t kMaxSnapshotBytes = std::uint64_t{4} << 30;  // as the snapshot file allows
constexpr const char* kIncomingFile = "snapshot.incoming.tmp";

double ms_since(Clock::time_point t) { return std::chrono::duration<double, std::milli>(Clock::now() - t).count(); }

std::string ms_text(double ms) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f", ms);
  return buf;
}

// A snapshot message being streamed to one peer, chunk by chunk.
struct SnapshotOut {
  raft::Message message;  // with the whole snapshot
  std::shared_ptr<net::PeerLink> link;
  std::size_t offset = 0;
  std::size_t chunks = 0;
  std::uint32_t crc = 0;
  Clock::time_point started;
};

struct PeerTransport::Peer {
  std::string id;
  raft::NodeId number;
  std::string raft_address;
  std::string client_address;
  std::string monitor_address;
  std::shared_ptr<net::PeerLink> link;
  bool link_up = false;
  bool ever_up = false;
  std::chrono::milliseconds backoff{0};
  Clock::time_point next_dial{};
  std::optional<Clock::time_point> last_heard;
  Clock::time_point last_sent{};  // the last frame queued on `link`
  std::string last_error;         // logged once per outage
  std::optional<SnapshotOut> snapshot_out;
};

// The snapshot being received: its chunks so far, in a temporary file (or in
// memory without a snapshot_dir).
struct PeerTransport::SnapshotIn {
  std::uint64_t conn = 0;
  raft::NodeId from;
  raft::Message message;  // the snapshot message, data not yet filled in
  std::uint64_t total = 0;
  std::uint64_t received = 0;
  std::uint32_t crc = 0;  // of the data received so far
  std::size_t chunks = 0;
  std::string path;  // "" in memory
  int fd = -1;
  std::string memory;
  Clock::time_point started;
  Clock::time_point last;

  ~SnapshotIn() {
    if (fd >= 0) ::close(fd);
    if (!path.empty()) ::unlink(path.c_str());
  }
};

std::string hello_mac(const std::string& secret, const std::string& from, const std::string& to,
                      const std::string& nonce) {
  if (secret.empty()) return {};
  const std::string data = "minga-peer-v1|" + from + "|" + to + "|" + nonce;
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()),
       reinterpret_cast<const unsigned char*>(data.data()), data.size(), out, &len);
  return std::string(reinterpret_cast<const char*>(out), len);
}

PeerTransport::PeerTransport(boost::asio::io_context& io, TransportOptions options, Deliver deliver)
    : io_(io), opt_(std::move(options)), deliver_(std::move(deliver)) {}

PeerTransport::~PeerTransport() { stop(); }

Result<std::uint16_t> PeerTransport::start() {
  net::PeerListenerOptions lo;
  lo.host = opt_.listen_host;
  lo.port = opt_.listen_port;
  lo.max_frame_bytes = opt_.max_frame_bytes;
  lo.read_timeout = opt_.read_timeout;
  net::PeerListener::Handlers h;
  h.on_frames = [this](std::uint64_t c, const std::string& remote, std::span<const net::PeerLink::Frame> frames,
                       std::string& reason) { return on_inbound(c, remote, frames, reason); };
  h.on_closed = [this](std::uint64_t c, const std::string& remote, const std::string& reason) {
    on_inbound_closed(c, remote, reason);
  };
  listener_ = std::make_unique<net::PeerListener>(io_, lo, std::move(h));
  auto port = listener_->start();
  if (port.ok() && opt_.raft_address.empty()) opt_.raft_address = opt_.listen_host + ":" + std::to_string(port.value());
  return port;
}

void PeerTransport::stop() {
  std::vector<std::shared_ptr<net::PeerLink>> links;
  {
    std::lock_guard lock(mu_);
    if (stopped_) return;
    stopped_ = true;
    for (auto& [n, p] : peers_) {
      if (p->link) links.push_back(std::move(p->link));
    }
  }
  for (auto& l : links) l->close("node stopping");
  if (listener_) listener_->stop();
}

void PeerTransport::set_peers(const std::map<std::string, std::string>& peers) {
  std::vector<std::shared_ptr<net::PeerLink>> dropped;
  std::lock_guard lock(mu_);
  std::map<raft::NodeId, std::shared_ptr<Peer>> next;
  for (const auto& [id, address] : peers) {
    if (id == opt_.self) continue;
    const raft::NodeId n = node_number(id);
    auto it = peers_.find(n);
    if (it != peers_.end() && it->second->raft_address == address) {
      next.emplace(n, it->second);
      continue;
    }
    auto p = std::make_shared<Peer>();
    p->id = id;
    p->number = n;
    p->raft_address = address;
    if (auto h = hellos_.find(n); h != hellos_.end()) {
      p->client_address = h->second.first;
      p->monitor_address = h->second.second;
    }
    next.emplace(n, std::move(p));
  }
  for (auto& [n, p] : peers_) {
    if (!next.contains(n) || next[n] != p) {
      if (p->link) dropped.push_back(std::move(p->link));
    }
  }
  peers_ = std::move(next);
  for (auto& l : dropped) l->close("no longer a member");
}

std::string PeerTransport::hello_for(const std::string& to) const {
  pb::PeerHello hello;
  hello.set_from(opt_.self);
  hello.set_to(to);
  hello.set_client_address(opt_.client_address);
  hello.set_monitor_address(opt_.monitor_address);
  hello.set_raft_address(opt_.raft_address);
  std::string nonce(16, '\0');
  RAND_bytes(reinterpret_cast<unsigned char*>(nonce.data()), static_cast<int>(nonce.size()));
  hello.set_nonce(nonce);
  hello.set_mac(hello_mac(opt_.secret, opt_.self, to, nonce));
  return hello.SerializeAsString();
}

void PeerTransport::dial(const std::shared_ptr<Peer>& p) {
  auto ep = net::parse_endpoint(p->raft_address);
  if (!ep.ok()) {
    p->next_dial = Clock::now() + opt_.redial_max;
    return;
  }
  net::PeerLinkOptions lo;
  lo.connect_timeout = opt_.connect_timeout;
  lo.max_frame_bytes = 64u << 10;  // peers send back only a refusal
  lo.max_queued_bytes = opt_.max_queued_bytes;
  net::PeerLink::Handlers h;
  std::weak_ptr<Peer> weak = p;
  h.on_connected = [this, weak] {
    auto peer = weak.lock();
    if (!peer) return;
    std::lock_guard lock(mu_);
    peer->link_up = true;
    peer->ever_up = true;
    peer->backoff = std::chrono::milliseconds(0);
    peer->last_error.clear();
    log::info("peer_connect", "success", {{"peer", peer->id}, {"address", peer->raft_address}});
  };
  // The listener writes only to refuse, with an ERROR frame that says why.
  h.on_frames = [this, weak](std::span<const net::PeerLink::Frame> frames) {
    auto peer = weak.lock();
    for (const auto& f : frames) {
      if (f.header.type != pb::ERROR) continue;
      const Error e = net::decode_error(f.body);
      log::warn("peer_refused", "fail", {{"peer", peer ? peer->id : std::string("?")}, {"reason", e.message}});
      if (e.message.find(kDuplicateId) != std::string::npos && opt_.on_duplicate_id) opt_.on_duplicate_id(e.message);
    }
  };
  h.on_written = [this, weak] {
    auto peer = weak.lock();
    if (!peer) return;
    std::lock_guard lock(mu_);
    if (!stopped_) pump_snapshot(*peer);
  };
  h.on_closed = [this, weak](const std::string& reason) {
    auto peer = weak.lock();
    if (!peer) return;
    std::lock_guard lock(mu_);
    if (peer->snapshot_out) {
      log::info("snapshot_send", "fail",
                {{"peer", peer->id},
                 {"index", std::to_string(peer->snapshot_out->message.snapshot->meta.index.value)},
                 {"sent_bytes", std::to_string(peer->snapshot_out->offset)},
                 {"reason", reason}});
      peer->snapshot_out.reset();
    }
    if (peer->link_up) {
      log::warn("peer_disconnect", "fail", {{"peer", peer->id}, {"reason", reason}});
    } else if (peer->last_error != reason) {
      log::info("peer_connect", "in_progress", {{"peer", peer->id}, {"reason", reason}});
    }
    peer->last_error = reason;
    peer->link_up = false;
    peer->link.reset();
    peer->backoff = peer->backoff.count() == 0 ? opt_.redial_min : std::min(peer->backoff * 2, opt_.redial_max);
    peer->next_dial = Clock::now() + peer->backoff;
  };
  p->link = net::PeerLink::start(io_, ep.value(), lo, std::move(h));
  p->link->send(pb::PEER_HELLO, 0, hello_for(p->id));
}

void PeerTransport::tick() {
  std::vector<std::shared_ptr<net::PeerLink>> idle;
  {
    std::lock_guard lock(mu_);
    if (stopped_) return;
    const auto now = Clock::now();
    for (auto& [n, p] : peers_) {
      if (!p->link && now >= p->next_dial) dial(p);
      // Two followers have nothing to tell each other, and the peer's
      // listener closes a link silent for read_timeout: an empty batch keeps
      // the link up, so that it is there when one of them becomes leader.
      if (p->link && p->link_up && now - p->last_sent >= opt_.read_timeout / 4) {
        p->last_sent = now;
        idle.push_back(p->link);
      }
    }
  }
  for (auto& link : idle) link->send(pb::PEER_MESSAGES, 0, encode_messages({}));
  std::lock_guard lock(recv_mu_);
  if (incoming_ && Clock::now() - incoming_->last > opt_.read_timeout) {
    drop_incoming("no chunk for " + std::to_string(opt_.read_timeout.count()) + " ms");
  }
}

void PeerTransport::send(std::vector<raft::Message> messages) {
  if (messages.empty()) return;
  std::map<raft::NodeId, std::vector<raft::Message>> by_peer;
  for (auto& m : messages) by_peer[m.to].push_back(std::move(m));
  std::vector<std::pair<std::shared_ptr<net::PeerLink>, std::vector<raft::Message>>> out;
  {
    std::lock_guard lock(mu_);
    if (stopped_) return;
    for (auto& [to, list] : by_peer) {
      auto it = peers_.find(to);
      if (it == peers_.end() || !it->second->link || !it->second->link_up) continue;
      Peer& p = *it->second;
      p.last_sent = Clock::now();
      std::vector<raft::Message> plain;
      for (auto& m : list) {
        if (m.type == raft::MessageType::snapshot && m.snapshot) {
          start_snapshot(p, std::move(m));
        } else {
          plain.push_back(std::move(m));
        }
      }
      if (!plain.empty()) out.emplace_back(p.link, std::move(plain));
    }
  }
  for (auto& [link, list] : out) {
    for (const std::string& body : encode_message_frames(list, opt_.snapshot_chunk_bytes)) {
      link->send(pb::PEER_MESSAGES, 0, body);
    }
  }
}

void PeerTransport::start_snapshot(Peer& p, raft::Message m) {
  if (p.snapshot_out && p.snapshot_out->link == p.link && p.snapshot_out->message.snapshot == m.snapshot) {
    return;  // the core's retry of the transfer under way: let it finish
  }
  if (p.snapshot_out) {
    log::info("snapshot_send", "fail",
              {{"peer", p.id},
               {"index", std::to_string(p.snapshot_out->message.snapshot->meta.index.value)},
               {"sent_bytes", std::to_string(p.snapshot_out->offset)},
               {"reason", "replaced by a newer snapshot or link"}});
  }
  SnapshotOut o;
  o.message = std::move(m);
  o.link = p.link;
  o.started = Clock::now();
  p.snapshot_out = std::move(o);
  pump_snapshot(p);
}

void PeerTransport::pump_snapshot(Peer& p) {
  if (!p.snapshot_out) return;
  SnapshotOut& o = *p.snapshot_out;
  if (o.link != p.link) {
    p.snapshot_out.reset();
    return;
  }
  const std::size_t size = o.message.snapshot->data.size();
  const std::size_t chunk = std::max<std::size_t>(opt_.snapshot_chunk_bytes, 1);
  while ((o.chunks == 0 || o.offset < size) && o.link->queued_bytes() < opt_.snapshot_window_bytes) {
    const std::size_t len = std::min(chunk, size - o.offset);
    o.crc = crc32c(std::string_view(o.message.snapshot->data).substr(o.offset, len), o.crc);
    o.link->send(pb::PEER_SNAPSHOT_CHUNK, 0, encode_snapshot_chunk(o.message, o.offset, len, o.crc));
    o.offset += len;
    ++o.chunks;
    p.last_sent = Clock::now();
  }
  if (o.offset < size) return;
  log::info("snapshot_send", "success",
            {{"peer", p.id},
             {"index", std::to_string(o.message.snapshot->meta.index.value)},
             {"bytes", std::to_string(size)},
             {"chunks", std::to_string(o.chunks)},
             {"ms", ms_text(ms_since(o.started))}});
  p.snapshot_out.reset();
}

void PeerTransport::drop_incoming(const std::string& reason) {
  if (!incoming_) return;
  log::warn("snapshot_receive", "fail",
            {{"index", std::to_string(incoming_->message.snapshot->meta.index.value)},
             {"received_bytes", std::to_string(incoming_->received)},
             {"bytes", std::to_string(incoming_->total)},
             {"reason", reason}});
  incoming_.reset();
}

std::optional<raft::Message> PeerTransport::on_snapshot_chunk(std::uint64_t conn, raft::NodeId from,
                                                              std::string_view body, std::string& reason) {
  auto chunk = decode_snapshot_chunk(body);
  if (!chunk.ok()) {
    reason = chunk.error().message;
    return std::nullopt;
  }
  SnapshotChunk& c = chunk.value();
  if (c.message.from != from || c.message.to != node_number(opt_.self)) {
    reason = "a message whose sender or recipient is not this link's";
    return std::nullopt;
  }
  if (c.total_bytes > kMaxSnapshotBytes) {
    reason = "a snapshot of " + std::to_string(c.total_bytes) + " bytes, above the limit";
    return std::nullopt;
  }
  std::lock_guard lock(recv_mu_);
  const raft::SnapshotMeta& meta = c.message.snapshot->meta;
  if (c.offset == 0) {
    if (incoming_) drop_incoming("a new transfer started");
    auto in = std::make_unique<SnapshotIn>();
    in->conn = conn;
    in->from = from;
    in->total = c.total_bytes;
    in->started = Clock::now();
    if (!opt_.snapshot_dir.empty()) {
      in->path = opt_.snapshot_dir + "/" + kIncomingFile;
      in->fd = ::open(in->path.c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
      if (in->fd < 0) {
        log::warn("snapshot_receive", "fail", {{"file", in->path}, {"reason", std::strerror(errno)}});
        in->path.clear();
        return std::nullopt;
      }
    }
    in->message = std::move(c.message);
    incoming_ = std::move(in);
    log::info("snapshot_receive", "in_progress",
              {{"index", std::to_string(meta.index.value)}, {"bytes", std::to_string(c.total_bytes)}});
  } else if (!incoming_) {
    return std::nullopt;  // the rest of a transfer dropped earlier: the leader sends it again
  } else {
    const raft::SnapshotMeta& have = incoming_->message.snapshot->meta;
    if (incoming_->conn != conn || c.offset != incoming_->received || c.total_bytes != incoming_->total ||
        !(have == c.message.snapshot->meta) || c.message.term != incoming_->message.term) {
      drop_incoming("a chunk that does not continue the transfer");
      return std::nullopt;
    }
  }
  SnapshotIn& in = *incoming_;
  if (in.fd >= 0) {
    std::size_t done = 0;
    while (done < c.data.size()) {
      const ssize_t n =
          ::pwrite(in.fd, c.data.data() + done, c.data.size() - done, static_cast<off_t>(in.received + done));
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) {
        drop_incoming(std::string("cannot write ") + in.path + ": " + std::strerror(errno));
        return std::nullopt;
      }
      done += static_cast<std::size_t>(n);
    }
  } else {
    in.memory.append(c.data);
  }
  in.crc = crc32c(c.data, in.crc);
  in.received += c.data.size();
  in.last = Clock::now();
  ++in.chunks;
  if (in.crc != c.crc) {
    drop_incoming("the data does not match its CRC-32C");
    return std::nullopt;
  }
  if (in.received < in.total) return std::nullopt;
  std::string data;
  if (in.fd >= 0) {
    data.resize(in.total);
    std::size_t done = 0;
    while (done < data.size()) {
      const ssize_t n = ::pread(in.fd, data.data() + done, data.size() - done, static_cast<off_t>(done));
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) {
        drop_incoming(std::string("cannot read back ") + in.path + ": " + std::strerror(errno));
        return std::nullopt;
      }
      done += static_cast<std::size_t>(n);
    }
    if (crc32c(data) != in.crc) {
      drop_incoming("the file read back does not match its CRC-32C");
      return std::nullopt;
    }
  } else {
    data.swap(in.memory);
  }
  auto snap = std::make_shared<raft::Snapshot>();
  snap->meta = in.message.snapshot->meta;
  snap->data = std::move(data);
  raft::Message m = std::move(in.message);
  m.snapshot = std::move(snap);
  log::info("snapshot_receive", "success",
            {{"index", std::to_string(m.snapshot->meta.index.value)},
             {"bytes", std::to_string(in.total)},
             {"chunks", std::to_string(in.chunks)},
             {"ms", ms_text(ms_since(in.started))}});
  incoming_.reset();  // closes and deletes the temporary file
  return m;
}

bool PeerTransport::on_inbound(std::uint64_t conn, const std::string& remote,
                               std::span<const net::PeerLink::Frame> frames, std::string& reason) {
  std::vector<raft::Message> got;
  raft::NodeId from;
  for (const auto& f : frames) {
    {
      std::lock_guard lock(mu_);
      auto it = inbound_.find(conn);
      if (it != inbound_.end()) from = it->second.from;
    }
    if (from == raft::kNoNode) {
      // The first frame must be a hello that names this node and proves the secret.
      pb::PeerHello hello;
      if (f.header.type != pb::PEER_HELLO || !hello.ParseFromArray(f.body.data(), static_cast<int>(f.body.size()))) {
        reason = "the first frame is not a peer hello";
      } else if (hello.to() != opt_.self) {
        reason = "the hello is for node '" + hello.to() + "', this is '" + opt_.self + "'";
      } else if (hello.nonce().size() != 16) {
        reason = "the hello has no nonce";
      } else {
        const std::string want = hello_mac(opt_.secret, hello.from(), hello.to(), hello.nonce());
        if (want.size() != hello.mac().size() ||
            (!want.empty() && CRYPTO_memcmp(want.data(), hello.mac().data(), want.size()) != 0)) {
          reason = opt_.secret.empty() ? "the peer sent a secret but this node has none"
                                       : "the hello does not prove the cluster secret";
        }
      }
      if (!reason.empty()) {
        log::warn("peer_handshake", "fail", {{"remote", remote}, {"reason", reason}});
        return false;
      }
      from = node_number(hello.from());
      std::lock_guard lock(mu_);
      // Another live link with this id from another Raft address: a second
      // node started with an id already in the cluster.
      for (const auto& [c, in] : inbound_) {
        if (in.from == from && in.raft_address != hello.raft_address()) {
          reason = "node id '" + hello.from() + "' " + kDuplicateId + " (at " + in.raft_address + "); this one is at " +
                   hello.raft_address() + ": give it another --id";
          log::warn("peer_handshake", "fail", {{"remote", remote}, {"reason", reason}});
          return false;
        }
      }
      inbound_[conn] = Inbound{from, hello.raft_address()};
      hellos_[from] = {hello.client_address(), hello.monitor_address()};
      if (auto it = peers_.find(from); it != peers_.end()) {
        it->second->client_address = hello.client_address();
        it->second->monitor_address = hello.monitor_address();
        it->second->last_heard = Clock::now();
      }
      log::info("peer_accept", "success", {{"peer", hello.from()}, {"remote", remote}});
      continue;
    }
    if (f.header.type == pb::PEER_SNAPSHOT_CHUNK) {
      auto m = on_snapshot_chunk(conn, from, f.body, reason);
      if (!reason.empty()) {
        log::warn("peer_link", "fail", {{"remote", remote}, {"reason", reason}});
        return false;
      }
      if (m) got.push_back(std::move(*m));
      continue;
    }
    if (f.header.type != pb::PEER_MESSAGES) {
      reason = "unexpected frame type " + std::to_string(f.header.type) + " on a peer link";
      log::warn("peer_link", "fail", {{"remote", remote}, {"reason", reason}});
      return false;
    }
    auto msgs = decode_messages(f.body);
    if (!msgs.ok()) {
      reason = msgs.error().message;
      log::warn("peer_link", "fail", {{"remote", remote}, {"reason", reason}});
      return false;
    }
    for (auto& m : msgs.value()) {
      if (m.from != from || m.to != node_number(opt_.self)) {
        reason = "a message whose sender or recipient is not this link's";
        log::warn("peer_link", "fail", {{"remote", remote}, {"reason", reason}});
        return false;
      }
      got.push_back(std::move(m));
    }
  }
  if (!got.empty()) {
    {
      std::lock_guard lock(mu_);
      if (auto it = peers_.find(from); it != peers_.end()) it->second->last_heard = Clock::now();
    }
    deliver_(std::move(got));
  }
  return true;
}

void PeerTransport::on_inbound_closed(std::uint64_t conn, const std::string& remote, const std::string& reason) {
  std::lock_guard lock(mu_);
  auto it = inbound_.find(conn);
  if (it == inbound_.end()) return;
  std::string name = remote;
  if (auto p = peers_.find(it->second.from); p != peers_.end()) name = p->second->id;
  inbound_.erase(it);
  if (!stopped_) log::info("peer_accept", "fail", {{"peer", name}, {"reason", reason}});
  std::lock_guard recv(recv_mu_);
  if (incoming_ && incoming_->conn == conn) drop_incoming("the link closed mid-transfer: " + reason);
}

std::vector<PeerView> PeerTransport::peers() const {
  std::lock_guard lock(mu_);
  std::vector<PeerView> out;
  for (const auto& [n, p] : peers_) {
    out.push_back(PeerView{p->id, p->raft_address, p->client_address, p->monitor_address, p->link_up, p->last_heard});
  }
  return out;
}

std::string PeerTransport::name_of(raft::NodeId id) const {
  if (id == node_number(opt_.self)) return opt_.self;
  std::lock_guard lock(mu_);
  auto it = peers_.find(id);
  return it == peers_.end() ? std::string() : it->second->id;
}

std::string PeerTransport::client_address_of(raft::NodeId id) const {
  if (id == node_number(opt_.self)) return opt_.client_address;
  std::lock_guard lock(mu_);
  auto it = peers_.find(id);
  return it == peers_.end() ? std::string() : it->second->client_address;
}

}  // namespace minga::replication
