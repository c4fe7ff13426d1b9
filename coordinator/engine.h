#ifndef KRING_COORDINATOR_ENGINE_H_
#define KRING_COORDINATOR_ENGINE_H_

// The coordinator behind its gRPC service, assembled from its parts: the
// Registry (users, schools, enrollment), Governance (submission, approval,
// access), the Dispatcher (one RunDriver per running query, the release)
// and one Scheduler thread that ticks the runs' deadlines. Transport-free:
// nodes are NodeLinks, callers are already-authenticated Users.

#include <chrono>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "coordinator/audit.h"
#include "coordinator/db.h"
#include "coordinator/dispatcher.h"
#include "coordinator/governance.h"
#include "coordinator/registry.h"
#include "coordinator/scheduler.h"
#include "crypto/secagg/parameters.h"
#include "kring/v1/service.pb.h"
#include "query/disclosure.h"
#include "survey/registry.h"
#include "util/clock.h"

namespace kring::coordinator {

struct EngineOptions {
  // Approver signatures a query needs (k of the registered approvers).
  uint32_t approvals_required = 1;
  // A municipality's query limited to its own municipalities runs on the
  // municipality's own signature (schools accept it only if they trust that
  // municipality's key for their own municipality; see node.yaml).
  bool municipality_preapproval = false;
  // How long nodes have to accept or decline a task; a node that connects
  // within it still gets the task.
  std::chrono::milliseconds decision_window{std::chrono::seconds(20)};
  // Per secure-aggregation round.
  std::chrono::milliseconds round_deadline{std::chrono::seconds(30)};
  // Lifetime of enrollment codes.
  std::chrono::hours code_lifetime{24 * 7};
  query::DisclosurePolicy policy = query::DisclosurePolicy::Default();
  crypto::secagg::SecurityGoals goals;
  // The time of every decision and deadline; must outlive the engine.
  const Clock* clock = &SystemClock();
  // How often the scheduler ticks the runs (deadline resolution).
  std::chrono::milliseconds tick{50};
  // Whether queries a previous process left running are failed at start
  // ("restarted during the run"). Only `serve`, which holds the data
  // directory's serve lock, recovers; offline commands (add-user,
  // enroll-code, audit...) run beside a serving coordinator and must never
  // touch its running queries.
  bool recover_interrupted_runs = true;
};

// Thread-safe.
class Engine {
 public:
  // Queries that were running when the coordinator stopped are failed
  // ("restarted during the run"); everything else resumes.
  static absl::StatusOr<std::unique_ptr<Engine>> Create(
      std::unique_ptr<CoordinatorDb> db, EngineOptions options);
  // Stops and joins the scheduler; runs still going stay RUNNING in the
  // database and are failed by the next start.
  ~Engine();
  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;

  CoordinatorDb& db() { return *db_; }

  // Registry::Authenticate.
  absl::StatusOr<User> Authenticate(std::string_view method,
                                    const google::protobuf::Message& request,
                                    const v1::RequestAuth& auth);

  // Requesters (see Governance).
  absl::StatusOr<v1::QueryInfo> Submit(const User& user,
                                       const v1::QuerySpec& spec);
  absl::StatusOr<std::vector<v1::QueryInfo>> List(const User& user);
  // Governance::ListPage with pages of api::kListPageBytes.
  absl::StatusOr<v1::ListQueriesResponse> ListPage(const User& user,
                                                   std::string_view page_token);
  absl::StatusOr<v1::QueryInfo> Get(const User& user,
                                    std::string_view query_id);
  absl::StatusOr<std::string> Result(const User& user,
                                     std::string_view query_id,
                                     v1::ResultFormat format);
  // Approvers. A query with enough approvals is dispatched at once.
  absl::StatusOr<v1::QueryInfo> Approve(const User& user,
                                        std::string_view query_id,
                                        std::string_view signature);
  absl::StatusOr<v1::QueryInfo> Reject(const User& user,
                                       std::string_view query_id,
                                       std::string_view reason);
  // Admins (see Registry and Governance). Nodes carries each school's
  // connection state and events.
  absl::StatusOr<v1::CreateEnrollmentCodeResponse> CreateEnrollmentCode(
      const User& user, const v1::CreateEnrollmentCodeRequest& request);
  absl::StatusOr<std::string> RegisterUser(const User& user, User added);
  absl::Status Grant(const User& user, std::string_view query_id,
                     std::string_view grantee);
  absl::StatusOr<std::vector<v1::NodeInfo>> Nodes(const User& user);
  // Offline administration (kring-coordinator add-user / enroll-code).
  absl::StatusOr<v1::CreateEnrollmentCodeResponse> NewEnrollmentCode(
      const School& school);

  // Nodes (see Registry and Dispatcher).
  absl::StatusOr<v1::EnrollResponse> Enroll(const v1::EnrollRequest& request);
  // Verifies a hello; returns the school id.
  absl::StatusOr<std::string> Hello(const v1::NodeHello& hello);
  // Dispatcher::Connected: ALREADY_EXISTS while the school has a healthy
  // link.
  absl::Status Connected(const std::string& school_id,
                         std::shared_ptr<NodeLink> link);
  void Disconnected(const std::string& school_id, const NodeLink* link);
  void FromNode(const std::string& school_id,
                const v1::NodeToCoordinator& message);

  // Benchmark only (kring-bench e2e): queries approved from now on ask
  // nodes for their vectors in the clear instead of running secure
  // aggregation, to measure its cost. kring-coordinator never calls it,
  // and nodes built for schools refuse such runs.
  void SetBenchmarkPlaintext(bool on);

  // Blocks until the query is released, failed or rejected, or `timeout`
  // passes (DEADLINE_EXCEEDED); for tests and benchmarks.
  absl::StatusOr<v1::QueryInfo> WaitForQuery(std::string_view query_id,
                                             std::chrono::milliseconds timeout);

 private:
  Engine(std::unique_ptr<CoordinatorDb> db, const EngineOptions& options);

  // The instruments a spec may name.
  const survey::InstrumentRegistry instruments_ =
      survey::InstrumentRegistry::Builtin();
  std::unique_ptr<CoordinatorDb> db_;
  const Clock& clock_;
  std::unique_ptr<AuditLog> audit_;
  Registry registry_;
  std::mutex governance_mu_;  // serializes query changes and dispatch
  Governance governance_;
  std::unique_ptr<Dispatcher> dispatcher_;
  std::unique_ptr<Scheduler> scheduler_;  // last: stops first
};

}  // namespace kring::coordinator

#endif  // KRING_COORDINATOR_ENGINE_H_
