// Replicated state for apps: the narrow interface between an app and the
// cluster's replicated log. Apps never see Raft types.
//
// An app that keeps replicated state implements ReplicatedState and
// registers it under its name in App::start(). It changes that state only
// through propose(): the command is appended to the replicated log, and once
// it is committed every node calls the app's apply() with it, in log order.
// A read that must see every acknowledged write first waits for
// read_barrier().
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"

namespace minga::apps {

// Runs on the node's apply thread, one call at a time, never concurrently
// with another call on the same object. The app's own readers (request
// handlers on I/O threads) need the app's own lock.
class ReplicatedState {
 public:
  virtual ~ReplicatedState() = default;
  // Applies one committed command. Deterministic: the same commands in the
  // same order give the same state and the same results on every node, so no
  // clock, randomness or local configuration inside. The returned bytes go to
  // the proposer (an app encodes its own refusals in them). `index` is the
  // log index, increasing from call to call.
  virtual std::string apply(std::uint64_t index, std::string_view command) = 0;
  // The whole state, to be given to restore() on another node.
  virtual std::string snapshot() = 0;
  // Replaces the whole state; empty `data` is the initial state. An error
  // (bytes that do not decode) stops the node.
  virtual Status restore(std::string_view data) = 0;
};

// A member of the cluster as apps see it: its id and the client address
// apps on other nodes can call it at ("" while this node has not heard it).
struct Member {
  std::string id;
  std::string client_address;
};

using ProposeCallback = std::function<void(Result<std::string> applied_result)>;
using BarrierCallback = std::function<void(Status)>;

class Replication {
 public:
  virtual ~Replication() = default;
  // Call from App::start(), once per app; `name` keys the app's commands in
  // the log and its part of every snapshot, so it never changes.
  virtual void register_state(std::string name, ReplicatedState& state) = 0;
  // Appends `command` for app `name`. `done` runs (on any thread) with
  // apply()'s result once the command is committed and applied on this
  // node; a follower forwards the command to the leader. Errors:
  // not_leader (no leader now, or the command was overtaken by a new
  // leader: it was not committed, retry), busy (too much uncommitted),
  // timeout (the outcome is unknown), shutting_down, invalid_argument
  // (larger than the log takes).
  virtual void propose(std::string_view name, std::string command, ProposeCallback done) = 0;
  // Linearizable reads (ReadIndex): `ready` runs once this node has applied
  // every command acknowledged before the call; then read the app's state.
  // Errors: not_leader, timeout, shutting_down.
  virtual void read_barrier(BarrierCallback ready) = 0;
  // The current members (voters and learners), this node included, in id
  // order. For apps that place data on members (files); any thread.
  virtual std::vector<Member> members() const = 0;
  // Whether this node is the leader now, as of the log's last turn (cheap,
  // any thread). For apps that drive work from one node (ml's training
  // jobs); a leader that has just lost its term may still say true for a
  // moment, so what it proposes must stay safe to refuse.
  virtual bool leading() const = 0;
};

}  // namespace minga::apps
