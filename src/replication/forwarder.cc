#include "replication/forwarder.h"

#include <vector>

#include "net/client.h"
#include "proto/raft.pb.h"

namespace minga::replication {

using Clock = std::chrono::steady_clock;

Forwarder::Forwarder(boost::asio::io_context& io, std::chrono::milliseconds timeout, std::size_t max_frame_bytes)
    : io_(io), timeout_(timeout), max_frame_bytes_(max_frame_bytes) {}

Forwarder::~Forwarder() { stop(); }

void Forwarder::forward(const std::string& leader_address, std::string app, std::string command, ForwardDone done) {
  auto ep = net::parse_endpoint(leader_address);
  if (!ep.ok()) {
    done(Error{Errc::unavailable, "the leader's address '" + leader_address + "' is not valid"});
    return;
  }
  pb::ProposeRequest req;
  req.set_app(std::move(app));
  req.set_command(std::move(command));
  std::shared_ptr<net::PeerLink> link;
  std::uint64_t id = 0;
  bool stopped = false;
  {
    std::lock_guard lock(mu_);
    stopped = stopped_;
    if (!stopped && (!link_ || address_ != leader_address)) {
      if (link_) link_->close("the leader moved");
      address_ = leader_address;
      connected_ = false;
      const std::uint64_t gen = ++generation_;
      net::PeerLinkOptions lo;
      lo.connect_timeout = std::chrono::milliseconds(1000);
      lo.max_frame_bytes = max_frame_bytes_;
      net::PeerLink::Handlers h;
      h.on_connected = [this, gen] {
        std::lock_guard l(mu_);
        if (gen == generation_) connected_ = true;
      };
      h.on_frames = [this](std::span<const net::PeerLink::Frame> frames) { on_frames(frames); };
      h.on_closed = [this, gen](const std::string& reason) { on_closed(gen, reason); };
      link_ = net::PeerLink::start(io_, ep.value(), lo, std::move(h));
    }
    if (!stopped) {
      id = next_id_++;
      calls_.emplace(id, Call{std::move(done), Clock::now() + timeout_, generation_});
      link = link_;
    }
  }
  if (stopped) {
    done(Error{Errc::shutting_down, "the node is shutting down"});
    return;
  }
  link->send(pb::PROPOSE_REQUEST, id, req.SerializeAsString());
}

// Answers of an older link count too: request ids are unique per forwarder.
void Forwarder::on_frames(std::span<const net::PeerLink::Frame> frames) {
  std::vector<std::pair<ForwardDone, Result<std::string>>> answers;
  {
    std::lock_guard lock(mu_);
    for (const auto& f : frames) {
      auto it = calls_.find(f.header.request_id);
      if (it == calls_.end()) continue;  // answered already (timed out)
      ForwardDone done = std::move(it->second.done);
      calls_.erase(it);
      if (f.header.type == pb::PROPOSE_RESPONSE) {
        pb::ProposeResponse resp;
        if (resp.ParseFromArray(f.body.data(), static_cast<int>(f.body.size()))) {
          answers.emplace_back(std::move(done), resp.result());
        } else {
          answers.emplace_back(std::move(done), Error{Errc::internal, "cannot decode the leader's answer"});
        }
      } else {
        answers.emplace_back(std::move(done), net::decode_error(f.body));
      }
    }
  }
  for (auto& [done, r] : answers) done(std::move(r));
}

// The calls queued on this link end with it. Only those of the current link
// that never connected are known not to have left; any other may have
// reached a leader (the outcome is unknown).
void Forwarder::on_closed(std::uint64_t generation, const std::string& reason) {
  std::vector<Call> failed;
  bool never_connected = false;
  {
    std::lock_guard lock(mu_);
    if (generation == generation_) {
      never_connected = !connected_;
      link_.reset();
      connected_ = false;
    }
    for (auto it = calls_.begin(); it != calls_.end();) {
      if (it->second.generation == generation) {
        failed.push_back(std::move(it->second));
        it = calls_.erase(it);
      } else {
        ++it;
      }
    }
  }
  for (auto& c : failed) {
    if (never_connected) {
      c.done(Error{Errc::not_leader, "cannot reach the leader (" + reason + "); retry"});
    } else {
      c.done(Error{Errc::timeout, "the link to the leader broke (" + reason + "); the outcome is unknown"});
    }
  }
}

void Forwarder::tick() {
  std::vector<ForwardDone> expired;
  {
    std::lock_guard lock(mu_);
    const auto now = Clock::now();
    for (auto it = calls_.begin(); it != calls_.end();) {
      if (it->second.deadline <= now) {
        expired.push_back(std::move(it->second.done));
        it = calls_.erase(it);
      } else {
        ++it;
      }
    }
  }
  for (auto& d : expired) d(Error{Errc::timeout, "the leader did not answer in time; the outcome is unknown"});
}

void Forwarder::stop() {
  std::map<std::uint64_t, Call> failed;
  std::shared_ptr<net::PeerLink> link;
  {
    std::lock_guard lock(mu_);
    if (stopped_) return;
    stopped_ = true;
    ++generation_;
    link = std::move(link_);
    failed.swap(calls_);
  }
  if (link) link->close("node stopping");
  for (auto& [id, c] : failed) c.done(Error{Errc::shutting_down, "the node is shutting down; the outcome is unknown"});
}

}  // namespace minga::replication
