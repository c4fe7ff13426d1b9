#ifndef KRING_COORDINATOR_ENGINE_H_
#define KRING_COORDINATOR_ENGINE_H_

// The coordinator's logic behind its gRPC service: users and roles,
// enrollment, query governance (k-of-m approvals over the query ticket),
// dispatching tasks to nodes, driving secure aggregation with per-round
// deadlines, decoding, disclosure control, the release ledger and
// releasing results to the requester only. Transport-free: nodes are
// NodeLinks, callers are already-authenticated Users.

#include <chrono>
#include <condition_variable>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/statusor.h"
#include "api/auth.h"
#include "coordinator/db.h"
#include "crypto/secagg/parameters.h"
#include "kring/v1/service.pb.h"
#include "query/disclosure.h"
#include "query/ledger.h"
#include "survey/registry.h"

namespace kring::coordinator {

// The coordinator's side of one connected node. Thread-safe.
class NodeLink {
 public:
  virtual ~NodeLink() = default;
  // Queues or writes `m`; false once the connection is gone.
  virtual bool Send(const v1::CoordinatorToNode& m) = 0;
};

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
};

class Engine {
 public:
  // Queries that were running when the coordinator stopped are failed
  // ("restarted during the run"); everything else resumes.
  static absl::StatusOr<std::unique_ptr<Engine>> Create(
      std::unique_ptr<CoordinatorDb> db, EngineOptions options);
  ~Engine();
  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;

  CoordinatorDb& db() { return *db_; }

  // Authenticates a signed request: known user, fresh timestamp, unused
  // nonce, valid signature for `method`. UNAUTHENTICATED otherwise.
  absl::StatusOr<User> Authenticate(std::string_view method,
                                    const google::protobuf::Message& request,
                                    const v1::RequestAuth& auth);

  // Requesters.
  absl::StatusOr<v1::QueryInfo> Submit(const User& user,
                                       const v1::QuerySpec& spec);
  absl::StatusOr<std::vector<v1::QueryInfo>> List(const User& user);
  absl::StatusOr<v1::QueryInfo> Get(const User& user,
                                    std::string_view query_id);
  absl::StatusOr<std::string> Result(const User& user,
                                     std::string_view query_id,
                                     v1::ResultFormat format);
  // Approvers.
  absl::StatusOr<v1::QueryInfo> Approve(const User& user,
                                        std::string_view query_id,
                                        std::string_view signature);
  absl::StatusOr<v1::QueryInfo> Reject(const User& user,
                                       std::string_view query_id,
                                       std::string_view reason);
  // Admins.
  absl::StatusOr<v1::CreateEnrollmentCodeResponse> CreateEnrollmentCode(
      const User& user, const v1::CreateEnrollmentCodeRequest& request);
  absl::StatusOr<std::string> RegisterUser(const User& user, User added);
  absl::Status Grant(const User& user, std::string_view query_id,
                     std::string_view grantee);
  absl::StatusOr<std::vector<v1::NodeInfo>> Nodes(const User& user);
  // Offline administration (kring-coordinator add-user / enroll-code).
  absl::StatusOr<v1::CreateEnrollmentCodeResponse> NewEnrollmentCode(
      const School& school);

  // Nodes.
  absl::StatusOr<v1::EnrollResponse> Enroll(const v1::EnrollRequest& request);
  // Verifies a hello; returns the school id.
  absl::StatusOr<std::string> Hello(const v1::NodeHello& hello);
  // A node's stream is up: it gets the tasks still open for it.
  void Connected(const std::string& school_id, std::shared_ptr<NodeLink> link);
  void Disconnected(const std::string& school_id, const NodeLink* link);
  // A message from an authenticated node.
  void FromNode(const std::string& school_id,
                const v1::NodeToCoordinator& message);

  // Benchmark only (kring-bench e2e): queries approved from now on ask
  // nodes for their vectors in the clear instead of running secure
  // aggregation, to measure its cost. kring-coordinator never calls it,
  // and nodes built for schools refuse such runs.
  void SetBenchmarkPlaintext(bool on);

  // Blocks until the query is released or failed, or `timeout` passes;
  // for tests and benchmarks.
  absl::StatusOr<v1::QueryInfo> WaitForQuery(std::string_view query_id,
                                             std::chrono::milliseconds timeout);

 private:
  struct Run;
  // The instruments a spec may name.
  const survey::InstrumentRegistry instruments_ =
      survey::InstrumentRegistry::Builtin();
  Engine(std::unique_ptr<CoordinatorDb> db, EngineOptions options);
  absl::Status LoadLedger();
  void StartRun(const v1::QueryInfo& info);
  void Drive(std::shared_ptr<Run> run);
  absl::Status Aggregate(Run& run, std::unique_lock<std::mutex>& lock);
  absl::Status Release(Run& run, const std::vector<uint64_t>& sum,
                       const std::vector<std::string>& contributors);
  void Finish(Run& run, const absl::Status& status);
  bool SendTo(const std::string& school_id, const v1::CoordinatorToNode& m);
  absl::Status CanSee(const User& user, const v1::QueryInfo& q);

  std::unique_ptr<CoordinatorDb> db_;
  EngineOptions options_;
  api::ReplayGuard replay_;

  std::mutex mu_;
  std::condition_variable changed_;
  bool stopping_ = false;
  std::map<std::string, std::shared_ptr<NodeLink>> links_;
  std::map<std::string, std::shared_ptr<Run>> runs_;  // by query id
  // The ends of recent runs, sent again to a school that reconnects, so
  // that it forgets a run that ended while it was away. An empty target
  // set means every school (runs failed by a restart).
  struct RecentEnd {
    v1::CoordinatorToNode message;
    std::set<std::string> targets;
  };
  std::deque<RecentEnd> recent_ends_;
  static constexpr size_t kRecentEnds = 256;
  std::vector<std::thread> threads_;
  query::ReleaseLedger ledger_;
  bool benchmark_plaintext_ = false;
};

}  // namespace kring::coordinator

#endif  // KRING_COORDINATOR_ENGINE_H_
