#ifndef KRING_NODE_AGENT_H_
#define KRING_NODE_AGENT_H_

// The school node's agent (`kring-node run`): connects out to the
// coordinator, verifies each task's approvals against the approver keys
// school IT configured, applies the school's local policy, takes part in
// secure aggregation with the school's contribution vector, and writes
// every task, decision and what left the school to the audit log.
//
// Built into the kring-node binary (not the kring::node library, which
// kring::query builds on).

#include <atomic>
#include <chrono>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "api/channel.h"
#include "crypto/identity.h"
#include "kring/v1/service.pb.h"
#include "node/audit.h"
#include "node/config.h"
#include "node/store.h"
#include "survey/registry.h"

namespace kring::node {

struct Decision {
  bool accept = false;
  std::string reason;
  std::string summary;  // the query in plain words, for the audit log
};

// Pure: whether this school takes part in `task`. Checks, in order: the
// ticket parses; at least approvals_required distinct configured approvers
// signed the ticket bytes (or, for a municipality's query limited to this
// school's own municipality, a configured key of that municipality did); the
// spec validates; the statistic and the requester's role are allowed; a
// municipality requester stays within its municipalities; the disclosure
// thresholds are at least the school's own; special categories only when
// allowed.
// The instrument is the one the spec names, from `instruments`.
Decision Decide(const NodeConfig& config,
                const survey::InstrumentRegistry& instruments,
                const v1::Task& task);
// As above with the built-in instruments only.
Decision Decide(const NodeConfig& config, const v1::Task& task);

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
};

// Manual accept: the agent writes pending/<query id>.json in the data
// directory; `kring-node accept|decline` writes decisions/<query id>.
struct PendingTask {
  std::string query_id;
  std::string summary;
  std::string requester;
  int64_t respond_by_unix_millis = 0;
};
absl::StatusOr<std::vector<PendingTask>> ListPending(
    const std::filesystem::path& data_dir);
// NOT_FOUND when no such task is pending.
absl::Status DecidePending(const std::filesystem::path& data_dir,
                           std::string_view query_id, bool accept,
                           std::string_view reason);

class Agent {
 public:
  // `store` and `audit` must outlive the agent.
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
