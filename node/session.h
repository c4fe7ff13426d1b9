#ifndef KRING_NODE_SESSION_H_
#define KRING_NODE_SESSION_H_

// The school node's side of the protocol as a state machine: the
// coordinator's messages and the current time go in, the node's replies
// come out (private-join-and-compute's Handle(message) shape). Tasks are
// decided by node/policy.h, accepted ones run secure aggregation with this
// school's contribution; everything decided and everything that leaves the
// school is written to the audit log first. No network, threads or clock:
// what it reads and writes outside itself goes through the small
// interfaces below, which the agent implements over the store, the audit
// log and the data directory.

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "crypto/identity.h"
#include "kring/v1/record.pb.h"
#include "kring/v1/service.pb.h"
#include "node/budget.h"
#include "node/config.h"
#include "survey/registry.h"

namespace kring::crypto::secagg {
class SecAggSetup;
}  // namespace kring::crypto::secagg

namespace kring::query {
class NoiseSource;
class Query;
}  // namespace kring::query

namespace kring::node {

using AuditFields = std::vector<std::pair<std::string, std::string>>;

// The audit log, as the session uses it.
class AuditSink {
 public:
  virtual ~AuditSink() = default;
  // Appends one entry; an error means it was not written.
  virtual absl::Status Append(std::string_view kind, std::string_view summary,
                              AuditFields fields) = 0;
  // Whether an entry of `kind` has field `name` equal to `value`.
  virtual absl::StatusOr<bool> Contains(std::string_view kind,
                                        std::string_view name,
                                        std::string_view value) = 0;
};

// The school's store, as the session uses it.
class SchoolRecords {
 public:
  virtual ~SchoolRecords() = default;
  // Calls `f` with every pupil record.
  virtual absl::Status ForEach(
      const std::function<void(const v1::PupilRecord&)>& f) = 0;
  // Whether this school's contribution to `query_id` was marked as sent.
  virtual absl::StatusOr<bool> Contributed(std::string_view query_id) = 0;
  // Marks spend.query_id as contributed to and charges the spend to the
  // privacy budget, atomically across processes: an error (and nothing
  // marked or charged) if already marked or if a wave's budget would be
  // exceeded.
  virtual absl::Status SpendPrivacy(const PrivacySpend& spend,
                                    double budget_per_wave) = 0;
  // The privacy ledger, oldest first.
  virtual absl::StatusOr<std::vector<PrivacySpend>> PrivacySpent() = 0;
};

// A task that waits for school IT (policy.manual_accept).
struct PendingTask {
  std::string query_id;
  std::string summary;
  std::string requester;
  int64_t respond_by_unix_millis = 0;
};

// School IT's answer to a pending task.
struct ItDecision {
  bool accept = false;
  std::string note;  // may be empty
};

// Where tasks wait for school IT (node/pending.h keeps them in files).
class PendingQueue {
 public:
  virtual ~PendingQueue() = default;
  // Puts `task` before school IT.
  virtual absl::Status Put(const PendingTask& task) = 0;
  // School IT's decision on `query_id`, if made; taking it removes the
  // task and the decision.
  virtual std::optional<ItDecision> TakeDecision(
      const std::string& query_id) = 0;
  // Removes the task without a decision (it expired).
  virtual void Remove(const std::string& query_id) = 0;
};

// The time, as the agent read it: wall-clock for the coordinator's
// deadlines, monotonic for how long a run has been idle.
struct SessionTime {
  int64_t unix_millis = 0;
  std::chrono::steady_clock::time_point monotonic;
};

// Benchmarks only (kring-bench e2e compares secure aggregation with the sum
// in the clear): the message that sends `contribution` to `query_id` in
// the clear. kring-node has none and refuses plaintext runs.
using PlaintextSender = std::function<v1::NodeToCoordinator(
    const std::string& query_id, const std::vector<uint64_t>& contribution)>;

struct SessionOptions {
  NodeConfig config;
  survey::InstrumentRegistry instruments =
      survey::InstrumentRegistry::Builtin();
  // Runs idle for longer are dropped (and their secrets wiped).
  std::chrono::milliseconds run_resume_window{std::chrono::minutes(10)};
  PlaintextSender plaintext_sender;  // none outside benchmarks
  // Where this school's noise comes from: query::SystemNoise() when empty
  // (always, in kring-node); tests inject zero noise for exactness tests.
  std::shared_ptr<query::NoiseSource> noise;
};

class Session {
 public:
  // The pointers must outlive the session. Not thread-safe: one caller at a
  // time.
  Session(SessionOptions options, const crypto::IdentityKeyPair* identity,
          AuditSink* audit, SchoolRecords* records, PendingQueue* pending);
  ~Session();
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  // One message from the coordinator; the replies to send, in order. A
  // message repeated after a reconnect gets the same reply again.
  std::vector<v1::NodeToCoordinator> Handle(const v1::CoordinatorToNode& m,
                                            const SessionTime& now);
  // School IT's decisions on waiting tasks, as replies to send; tasks past
  // their deadline are dropped.
  std::vector<v1::NodeToCoordinator> PollDecisions(const SessionTime& now);
  // Draws the noise (and computes the contribution) of every query accepted
  // since the last call. The agent calls it right after sending the replies
  // of Handle and PollDecisions, so that no message waits for the sampling,
  // whose time could tell the noise (libprio-rs#645): a run's messages use
  // what was drawn here, long before the run starts.
  void Prepare();
  // Gives up runs idle for longer than the resume window, and accepted
  // queries not started by their deadline plus that window.
  void DropStaleRuns(const SessionTime& now);

 private:
  class Run;
  struct Accepted;
  void Accept(const v1::Task& task);
  // Why this node declines `task` whatever its policy says, or nullopt.
  std::optional<std::string> TaskRefusal(const v1::Task& task);
  // Answers a task for a query already accepted (sent again, or with the
  // noise recalibrated for fewer schools): true if it was one.
  bool AnswerAcceptedAgain(const v1::Task& task,
                           std::vector<v1::NodeToCoordinator>& out);
  absl::Status LogChecked(std::string_view kind, std::string_view summary,
                          AuditFields fields = {});
  void Log(std::string_view kind, std::string_view summary,
           AuditFields fields = {});
  void LogOnce(std::string_view key, const std::string& query_id,
               std::string_view kind, std::string_view summary,
               AuditFields fields = {});
  void OnTask(const v1::Task& task, const SessionTime& now,
              std::vector<v1::NodeToCoordinator>& out);
  void OnRunStart(const v1::CoordinatorToNode& m, const SessionTime& now,
                  std::vector<v1::NodeToCoordinator>& out);
  void OnPlaintextStart(const std::string& query_id,
                        std::vector<v1::NodeToCoordinator>& out);
  void OnSecAgg(const v1::CoordinatorToNode& m, const SessionTime& now,
                std::vector<v1::NodeToCoordinator>& out);
  void OnRunEnd(const v1::RunEnd& end);
  absl::Status RecordSent(const Run& run, const v1::SecAggMessage& reply,
                          const SessionTime& now);
  bool AnswerAgain(Run& run, const v1::CoordinatorToNode& m,
                   const SessionTime& now,
                   std::vector<v1::NodeToCoordinator>& out);
  // Takes a copy: `query_id` may belong to the run it destroys.
  void EndRun(std::string query_id);
  absl::Status RefuseSecondRun(const std::string& query_id);
  absl::StatusOr<std::vector<uint64_t>> ContributionTo(
      const query::Query& query, uint64_t school_cap = 1);
  absl::StatusOr<std::vector<uint64_t>> NoisyContributionTo(
      const v1::QueryTicket& ticket, const v1::NoiseCalibration& calibration);
  // The waves of this school's records in `query`'s population (what the
  // query spends privacy budget from).
  absl::StatusOr<std::vector<std::string>> WavesTouched(
      const query::Query& query);
  // Why this school's privacy budget cannot pay for the query of `task`,
  // or nullopt.
  std::optional<std::string> BudgetRefusal(const v1::Task& task);
  std::optional<std::string> InstrumentRefusal(const v1::Task& task);
  absl::StatusOr<std::vector<v1::PupilRecord>> RecordsFor(
      const query::Query& query);
  absl::StatusOr<v1::NodeToCoordinator> StartRun(const v1::RunStart& start,
                                                 const SessionTime& now);

  SessionOptions options_;
  const crypto::IdentityKeyPair* identity_;
  AuditSink* audit_;
  SchoolRecords* records_;
  PendingQueue* pending_;
  // Tasks this node accepted, by query id: the ticket, the calibration and
  // the noisy input drawn for it by Prepare().
  std::map<std::string, std::unique_ptr<Accepted>> accepted_;
  // Tasks waiting for school IT.
  std::map<std::string, v1::Task> waiting_;
  // Runs in progress.
  std::map<std::string, std::unique_ptr<Run>> runs_;
  // Runs that ended here (aborted, finished or given up): never started
  // again by this process.
  std::set<std::string> ended_;
  // (key, query id) of notes written at most once, so that a misbehaving
  // coordinator cannot fill the audit log by repeating itself.
  std::set<std::pair<std::string, std::string>> noted_;
};

}  // namespace kring::node

#endif  // KRING_NODE_SESSION_H_
