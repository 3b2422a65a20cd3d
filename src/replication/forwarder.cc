#include "replication/forwarder.h"

#include <vector>

#include "net/client.h"
#include "proto/minga.pb.h"
#include "proto/raft.pb.h"

namespace minga::replication {

using Clock = std::chrono::steady_clock;
constexpr std::uint64_t kPingId = std::uint64_t{1} << 63;  // proposals count up from 1

Forwarder::Forwarder(boost::asio::io_context& io, std::chrono::milliseconds timeout, std::size_t max_frame_bytes,
                     std::chrono::milliseconds connect_timeout)
    : io_(io), timeout_(timeout), max_frame_bytes_(max_frame_bytes), connect_timeout_(connect_timeout) {}

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
  std::string body;
  bool stopped = false;
  {
    std::lock_guard lock(mu_);
    stopped = stopped_;
    if (!stopped && (!link_ || address_ != leader_address)) {
      if (link_) link_->close("the leader moved");
      address_ = leader_address;
      ready_ = false;
      ping_deadline_ = Clock::now() + connect_timeout_;
      const std::uint64_t gen = ++generation_;
      net::PeerLinkOptions lo;
      lo.connect_timeout = connect_timeout_;
      lo.max_frame_bytes = max_frame_bytes_;
      net::PeerLink::Handlers h;
      h.on_frames = [this, gen](std::span<const net::PeerLink::Frame> frames) { on_frames(gen, frames); };
      h.on_closed = [this, gen](const std::string& reason) { on_closed(gen, reason); };
      link_ = net::PeerLink::start(io_, ep.value(), lo, std::move(h));
      pb::PingRequest ping;
      ping.set_payload("forwarder");
      link_->send(pb::PING_REQUEST, kPingId, ping.SerializeAsString());
    }
    if (!stopped) {
      id = next_id_++;
      Call call{std::move(done), Clock::now() + timeout_, generation_, {}, ready_};
      if (ready_) {
        body = req.SerializeAsString();
        link = link_;
      } else {
        call.body = req.SerializeAsString();  // sent once the ping is answered
      }
      calls_.emplace(id, std::move(call));
    }
  }
  if (stopped) {
    done(Error{Errc::shutting_down, "the node is shutting down"});
    return;
  }
  if (link) link->send(pb::PROPOSE_REQUEST, id, body);
}

// Answers of an older link count too: request ids are unique per forwarder.
void Forwarder::on_frames(std::uint64_t generation, std::span<const net::PeerLink::Frame> frames) {
  std::vector<std::pair<ForwardDone, Result<std::string>>> answers;
  std::vector<std::pair<std::uint64_t, std::string>> to_send;
  std::shared_ptr<net::PeerLink> link;
  {
    std::lock_guard lock(mu_);
    for (const auto& f : frames) {
      if (f.header.request_id == kPingId) {
        if (generation != generation_ || ready_ || f.header.type != pb::PING_RESPONSE) continue;
        ready_ = true;
        link = link_;
        for (auto& [id, c] : calls_) {
          if (c.generation != generation || c.sent) continue;
          c.sent = true;
          to_send.emplace_back(id, std::move(c.body));
          c.body.clear();
        }
        continue;
      }
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
  if (link) {
    for (auto& [id, body] : to_send) link->send(pb::PROPOSE_REQUEST, id, body);
  }
  for (auto& [done, r] : answers) done(std::move(r));
}

// The calls queued on this link end with it: those never sent (the ping was
// not answered) are known not to have left; any other may have reached a
// leader (the outcome is unknown).
void Forwarder::on_closed(std::uint64_t generation, const std::string& reason) {
  std::vector<Call> failed;
  {
    std::lock_guard lock(mu_);
    if (generation == generation_) {
      link_.reset();
      ready_ = false;
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
    if (!c.sent) {
      c.done(Error{Errc::not_leader, "cannot reach the leader (" + reason + "); nothing was sent; retry"});
    } else {
      c.done(Error{Errc::timeout, "the link to the leader broke (" + reason + "); the outcome is unknown"});
    }
  }
}

void Forwarder::tick() {
  std::vector<Call> expired;
  std::shared_ptr<net::PeerLink> unanswered;
  {
    std::lock_guard lock(mu_);
    const auto now = Clock::now();
    if (link_ && !ready_ && now >= ping_deadline_) unanswered = link_;
    for (auto it = calls_.begin(); it != calls_.end();) {
      if (it->second.deadline <= now) {
        expired.push_back(std::move(it->second));
        it = calls_.erase(it);
      } else {
        ++it;
      }
    }
  }
  // Its unsent calls then fail with not_leader (on_closed).
  if (unanswered) {
    unanswered->close("the leader did not answer a ping within " + std::to_string(connect_timeout_.count()) + " ms");
  }
  for (auto& c : expired) {
    if (!c.sent) {
      c.done(Error{Errc::not_leader, "the leader could not be reached in time; nothing was sent; retry"});
    } else {
      c.done(Error{Errc::timeout, "the leader did not answer in time; the outcome is unknown"});
    }
  }
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
