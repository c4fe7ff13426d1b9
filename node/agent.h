#ifndef KRING_NODE_AGENT_H_
#define KRING_NODE_AGENT_H_

// The school node's agent (`kring-node run`): the connection to the
// coordinator around a Session (node/session.h), which decides tasks
// (node/policy.h) under the school's node.yaml (node/config.h), takes part
// in secure aggregation and writes the audit log. The agent only connects,
// says hello, passes each message with the current time to the session,
// writes the replies, and reconnects with backoff.

#include <chrono>
#include <filesystem>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "kring/v1/service.pb.h"
#include "node/audit.h"
#include "node/config.h"
#include "node/pending.h"
#include "node/policy.h"
#include "node/session.h"
#include "node/store.h"
#include "survey/registry.h"

namespace kring::node {

// Sees every reply the agent writes to the coordinator, before and after
// writing it. Only tests install one (tests/integration/faulty_node_main.cc
// drops the connection or stops the process at a chosen round, as a network
// failure or a power cut would); kring-node has none. Called on the
// agent's connection thread, with the connection's write lock held.
class ReplyFilter {
 public:
  enum class Action {
    kContinue,    // go on as usual
    kDisconnect,  // drop the connection (the agent reconnects)
  };
  virtual ~ReplyFilter() = default;
  // Before `reply` is written; kDisconnect drops it with the connection.
  virtual Action BeforeWrite(const v1::NodeToCoordinator& reply) = 0;
  // After `reply` was written.
  virtual Action AfterWrite(const v1::NodeToCoordinator& reply) = 0;
};

struct AgentOptions {
  std::filesystem::path data_dir;
  NodeConfig config;
  std::chrono::milliseconds backoff_min{500};
  std::chrono::milliseconds backoff_max{std::chrono::seconds(30)};
  // A run this node takes part in survives a lost connection for this
  // long: after reconnecting, the coordinator sends the round's message
  // again and the run goes on. Idle runs older than this are dropped (and
  // their secrets wiped) at the next reconnect.
  std::chrono::milliseconds run_resume_window{std::chrono::minutes(10)};
  std::string version = "kring-node 0.1";
  // The instruments a query may name: the built-in ones, plus the school's
  // own when it imports with one.
  survey::InstrumentRegistry instruments =
      survey::InstrumentRegistry::Builtin();
  // Tests only (see ReplyFilter); none in kring-node.
  std::shared_ptr<ReplyFilter> reply_filter;
  // kring-bench only (see PlaintextSender); none in kring-node, which
  // refuses plaintext runs.
  PlaintextSender plaintext_sender;
  // Tests only (exactness tests inject zero noise); kring-node leaves it
  // empty and adds query::SystemNoise().
  std::shared_ptr<query::NoiseSource> noise;
};

class Agent {
 public:
  // Loads the node's identity key, takes the data directory's agent lock
  // (one agent per directory) and prepares the channel (no connection
  // yet). `store` and `audit` must outlive the agent.
  static absl::StatusOr<std::unique_ptr<Agent>> Create(AgentOptions options,
                                                       Store* store,
                                                       AuditLog* audit);
  ~Agent();
  // Connects and serves until Stop(); reconnects with exponential backoff
  // and jitter.
  void Run();
  // Thread-safe.
  void Stop();

 private:
  struct Impl;
  explicit Agent(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace kring::node

#endif  // KRING_NODE_AGENT_H_
