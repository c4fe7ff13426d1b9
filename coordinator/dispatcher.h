#ifndef KRING_COORDINATOR_DISPATCHER_H_
#define KRING_COORDINATOR_DISPATCHER_H_

// The running queries: one RunDriver per query, fed by the nodes' streams
// and ticked by the scheduler, and the release of each run's result through
// disclosure control and the release ledger. Every audit write is checked:
// a run whose entry cannot be written fails, and nothing is released
// without its "released" entry.

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "coordinator/audit.h"
#include "coordinator/db.h"
#include "coordinator/registry.h"
#include "coordinator/run.h"
#include "crypto/secagg/parameters.h"
#include "kring/v1/service.pb.h"
#include "query/disclosure.h"
#include "query/ledger.h"
#include "survey/registry.h"
#include "util/clock.h"

namespace kring::coordinator {

// The coordinator's side of one connected node. Thread-safe.
class NodeLink {
 public:
  virtual ~NodeLink() = default;
  // Queues or writes `m`; false once the connection is gone.
  virtual bool Send(const v1::CoordinatorToNode& m) = 0;
  // False once the transport knows the connection is gone (a failed write,
  // a keepalive timeout), possibly before Disconnected is called.
  virtual bool Healthy() const { return true; }
};

struct DispatchOptions {
  int64_t decision_window_millis = 20000;
  int64_t round_deadline_millis = 30000;
  query::DisclosurePolicy policy = query::DisclosurePolicy::Default();
  crypto::secagg::SecurityGoals goals;
  // See EngineOptions::recover_interrupted_runs.
  bool recover_interrupted_runs = true;
};

// Thread-safe. The references must outlive the dispatcher.
class Dispatcher {
 public:
  // Loads the release ledger and, with options.recover_interrupted_runs,
  // fails the queries a previous process left running ("restarted during
  // the run"); an error (e.g. their audit entry cannot be written) keeps the
  // coordinator from starting.
  static absl::StatusOr<std::unique_ptr<Dispatcher>> Create(
      CoordinatorDb& db, AuditLog& audit, Registry& registry,
      const survey::InstrumentRegistry& instruments, const Clock& clock,
      DispatchOptions options);

  // Dispatches a RUNNING query to its schools. A run that cannot start
  // (its spec, the schools or its audit entry) is failed and recorded.
  void Start(const v1::QueryInfo& info);
  // A node's stream is up: it gets the ends of recent runs, its open tasks
  // and the current round's messages. ALREADY_EXISTS (the older link stays)
  // while the school has a healthy link; a link that is no longer healthy
  // is replaced. Either is logged and kept as an event.
  absl::Status Connected(const std::string& school_id,
                         std::shared_ptr<NodeLink> link);
  // The stream `link` of the school is gone (a newer one stays).
  void Disconnected(const std::string& school_id, const NodeLink* link);
  bool IsConnected(const std::string& school_id);
  // The newest events about the school's link and its runs, oldest first.
  std::vector<v1::NodeEvent> Events(const std::string& school_id);
  // A message from an authenticated node.
  void FromNode(const std::string& school_id,
                const v1::NodeToCoordinator& message);
  // Ticks every run at the clock's current time (deadlines). The
  // scheduler's function.
  void Tick();

  // Replaces `q` with the outcome of its run if the database could not take
  // that outcome yet (a full disk): readers see the run FAILED (or
  // RELEASED) rather than RUNNING. Tick stores such outcomes once it can.
  void Overlay(v1::QueryInfo& q);

  // Benchmark only: runs dispatched from now on use plaintext vectors.
  void SetBenchmarkPlaintext(bool on);
  // Counts ended runs; with AwaitEnd, lets a caller wait without missing
  // an end.
  uint64_t ends();
  // Waits until more than `seen` runs ended or `until`; false on timeout.
  bool AwaitEnd(uint64_t seen, std::chrono::steady_clock::time_point until);

 private:
  Dispatcher(CoordinatorDb& db, AuditLog& audit, Registry& registry,
             const survey::InstrumentRegistry& instruments, const Clock& clock,
             DispatchOptions options);
  absl::Status LoadLedger();
  absl::Status FailInterruptedRuns();
  RunOptions NewRunOptions() const;  // mu_ held
  // Stores the run's outcome: RELEASED if `status` is OK, else FAILED with
  // its message, audited (a failed audit write is noted in the reason).
  // Returns what was stored. mu_ held.
  v1::QueryInfo Store(v1::QueryInfo info, const absl::Status& status);
  // Writes the step's audit entries, then sends its messages; a failed
  // audit write aborts the run. Finishes a run that is done. mu_ held.
  void Apply(RunDriver& run, RunStep step);
  // Releases or fails the run, records it, tells its schools. mu_ held.
  void Finish(RunDriver& run);
  // Decoding, disclosure control, the ledger and the stored result.
  absl::Status Release(const RunDriver& run, const RunSum& sum);
  // Stores the outcomes Store could not (their audit entry first), once a
  // second at most. mu_ held.
  void StoreUnstored(int64_t now_millis);
  void Remember(const v1::CoordinatorToNode& end,
                const std::set<std::string>& targets);
  void SendTo(const std::string& school_id, const v1::CoordinatorToNode& m);
  // Logs `what` about the school and keeps it as an event. mu_ held.
  void Note(const std::string& school_id, std::string what);
  // An event for every target of a finished run that is not in its sum.
  // mu_ held.
  void NoteExclusions(const RunDriver& run);

  CoordinatorDb& db_;
  AuditLog& audit_;
  Registry& registry_;
  const survey::InstrumentRegistry& instruments_;
  const Clock& clock_;
  const DispatchOptions options_;

  std::mutex mu_;
  std::condition_variable ended_;
  uint64_t ends_ = 0;
  std::map<std::string, std::shared_ptr<NodeLink>> links_;
  std::map<std::string, std::unique_ptr<RunDriver>> runs_;  // by query id
  // The ends of recent runs, sent again to a school that reconnects, so
  // that it forgets a run that ended while it was away. An empty target
  // set means every school (runs failed by a restart).
  struct RecentEnd {
    v1::CoordinatorToNode message;
    std::set<std::string> targets;
  };
  std::deque<RecentEnd> recent_ends_;
  static constexpr size_t kRecentEnds = 256;
  std::map<std::string, std::deque<v1::NodeEvent>> events_;
  static constexpr size_t kEventsPerSchool = 8;
  // Outcomes of runs the database could not take yet, by query id, with
  // their "failed" audit entry if that could not be written either.
  struct Unstored {
    v1::QueryInfo info;
    std::string unaudited;     // the entry's summary, or empty
    std::string plain_reason;  // the reason without the audit note
  };
  std::map<std::string, Unstored> unstored_;
  int64_t next_store_retry_millis_ = 0;
  query::ReleaseLedger ledger_;
  query::RepeatAnswers repeats_;
  bool benchmark_plaintext_ = false;
};

}  // namespace kring::coordinator

#endif  // KRING_COORDINATOR_DISPATCHER_H_
