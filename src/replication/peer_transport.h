// Raft messages between nodes over TCP.
//
// Every node listens on its Raft port and dials every other member: one
// persistent link per peer and direction. A link starts with PEER_HELLO (who
// dials, whom it means to reach, where its client port and monitor are, and
// an HMAC-SHA256 of those under the cluster secret), then carries
// PEER_MESSAGES frames one way; the answers travel on the link the other
// node dialled. A link that closes is dialled again with exponential backoff
// (100 ms doubling to 2 s); a link with nothing to carry for a quarter of
// read_timeout carries an empty batch, so an idle link (between two
// followers) is not closed as silent; a slow peer fills only its own link's queue
// (bounded: it is dropped past the bound) and never holds up the others.
//
// Every frame is bounded (max_frame_bytes). Messages to a peer are packed
// into PEER_MESSAGES frames of at most snapshot_chunk_bytes (a single larger
// append goes alone); a snapshot message is streamed as PEER_SNAPSHOT_CHUNK
// frames of snapshot_chunk_bytes of its data, paced so that at most
// snapshot_window_bytes wait on that peer's link: heartbeats and appends to
// the others, and to that peer, never queue behind a whole snapshot. The
// core sends the snapshot again while it waits for the answer; a transfer
// already under way on the same link is not restarted. The receiver writes
// the chunks to a temporary file in snapshot_dir (one transfer at a time),
// checks the size and the CRC-32C of the whole data, and only then hands
// the snapshot message to the core; the storage installs it atomically with
// its index and term. A transfer whose link closes, or that sees no chunk
// for read_timeout, is dropped with its file.
//
// What the network may do: lose, delay, duplicate and reorder messages, and
// cut a link one way. The core is correct under all of it; this layer only
// makes sure a message is from the peer it claims (the hello's id, checked
// against the secret) and addressed to this node.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "base/result.h"
#include "net/client.h"
#include "net/peer_link.h"
#include "net/peer_listener.h"
#include "raft/message.h"

namespace boost::asio {
class io_context;
}

namespace minga::replication {

struct TransportOptions {
  std::string self;            // this node's id
  std::string client_address;  // told to peers in the hello
  std::string monitor_address;
  std::string raft_address;
  std::string secret;  // empty: no authentication (the Raft port then binds to loopback only)
  std::string listen_host = "127.0.0.1";
  std::uint16_t listen_port = 0;
  // Every frame on a peer link: a batch of messages or one snapshot chunk.
  // Above the largest single append (one entry of up to 1 MiB of command).
  std::size_t max_frame_bytes = 8u << 20;
  std::size_t max_queued_bytes = 64u << 20;
  std::size_t snapshot_chunk_bytes = 1u << 20;
  std::size_t snapshot_window_bytes = 4u << 20;  // snapshot chunks queued on one link at most
  std::string snapshot_dir;                      // where an incoming snapshot is assembled ("": in memory)
  std::chrono::milliseconds connect_timeout{1000};
  std::chrono::milliseconds redial_min{100};
  std::chrono::milliseconds redial_max{2000};
  std::chrono::milliseconds read_timeout{5000};  // peers heartbeat every 50 ms
  // A peer refused this node because another node already has its id: the
  // node cannot be a member and must stop (called once, on an I/O thread).
  std::function<void(const std::string& reason)> on_duplicate_id;
};

// What this node knows of a peer.
struct PeerView {
  std::string id;
  std::string raft_address;
  std::string client_address;  // from its hello; "" until it dialled us
  std::string monitor_address;
  bool link_up = false;  // our link to it
  std::optional<std::chrono::steady_clock::time_point> last_heard;
};

class PeerTransport {
 public:
  using Deliver = std::function<void(std::vector<raft::Message> messages)>;

  PeerTransport(boost::asio::io_context& io, TransportOptions options, Deliver deliver);
  ~PeerTransport();
  PeerTransport(const PeerTransport&) = delete;
  PeerTransport& operator=(const PeerTransport&) = delete;

  // Binds the Raft port; returns the bound port.
  Result<std::uint16_t> start();
  void stop();

  // The members to dial (id -> Raft HOST:PORT), this node excluded.
  void set_peers(const std::map<std::string, std::string>& peers);
  // Thread-safe. Messages to unknown or unreachable peers are dropped (the
  // core retries).
  void send(std::vector<raft::Message> messages);
  // Dials links that are down once their backoff has passed. Call often
  // (every tick).
  void tick();

  std::vector<PeerView> peers() const;
  const TransportOptions& options() const { return opt_; }
  std::string name_of(raft::NodeId id) const;  // "" when unknown
  std::string client_address_of(raft::NodeId id) const;

 private:
  struct Peer;
  struct SnapshotIn;
  void dial(const std::shared_ptr<Peer>& p);      // with mu_ held
  void start_snapshot(Peer& p, raft::Message m);  // with mu_ held
  void pump_snapshot(Peer& p);                    // with mu_ held
  // A chunk from `conn`; returns the whole snapshot message once complete.
  std::optional<raft::Message> on_snapshot_chunk(std::uint64_t conn, raft::NodeId from, std::string_view body,
                                                 std::string& reason);
  void drop_incoming(const std::string& reason);  // with recv_mu_ held
  std::string hello_for(const std::string& to) const;
  bool on_inbound(std::uint64_t conn, const std::string& remote, std::span<const net::PeerLink::Frame> frames,
                  std::string& reason);
  void on_inbound_closed(std::uint64_t conn, const std::string& remote, const std::string& reason);

  boost::asio::io_context& io_;
  TransportOptions opt_;
  Deliver deliver_;
  std::unique_ptr<net::PeerListener> listener_;
  mutable std::mutex mu_;
  std::map<raft::NodeId, std::shared_ptr<Peer>> peers_;
  struct Inbound {
    raft::NodeId from;
    std::string raft_address;  // as its hello told
  };
  std::map<std::uint64_t, Inbound> inbound_;  // connection -> the peer its hello proved
  // What each proven hello told (client and monitor address), also for
  // nodes not (yet) dialled, such as a new member before its address commits.
  std::map<raft::NodeId, std::pair<std::string, std::string>> hellos_;
  bool stopped_ = false;
  std::mutex recv_mu_;  // the snapshot being received (file I/O, not under mu_)
  std::unique_ptr<SnapshotIn> incoming_;
};

// HMAC-SHA256(secret, "minga-peer-v1" | from | to | nonce), as the hello carries it.
std::string hello_mac(const std::string& secret, const std::string& from, const std::string& to,
                      const std::string& nonce);

}  // namespace minga::replication
