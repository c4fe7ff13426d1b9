#include "coordinator/engine.h"

#include "api/limits.h"
#include "util/status_macros.h"
#include "util/str_cat.h"

namespace kring::coordinator {
namespace {

GovernanceOptions GovernanceOf(const EngineOptions& o) {
  GovernanceOptions g;
  g.approvals_required = o.approvals_required;
  g.municipality_preapproval = o.municipality_preapproval;
  return g;
}

DispatchOptions DispatchOf(const EngineOptions& o) {
  DispatchOptions d;
  d.decision_window_millis = o.decision_window.count();
  d.round_deadline_millis = o.round_deadline.count();
  d.policy = o.policy;
  d.goals = o.goals;
  d.recover_interrupted_runs = o.recover_interrupted_runs;
  return d;
}

}  // namespace

Engine::Engine(std::unique_ptr<CoordinatorDb> db, const EngineOptions& options)
    : db_(std::move(db)),
      clock_(*options.clock),
      audit_(DbAuditLog(*db_)),
      registry_(*db_, *audit_, clock_, options.code_lifetime),
      governance_(*db_, *audit_, instruments_, GovernanceOf(options)) {}

absl::StatusOr<std::unique_ptr<Engine>> Engine::Create(
    std::unique_ptr<CoordinatorDb> db, EngineOptions options) {
  if (options.clock == nullptr) options.clock = &SystemClock();
  std::unique_ptr<Engine> e(new Engine(std::move(db), options));
  KRING_ASSIGN_OR_RETURN(
      e->dispatcher_,
      Dispatcher::Create(*e->db_, *e->audit_, e->registry_, e->instruments_,
                         e->clock_, DispatchOf(options)));
  Dispatcher* dispatcher = e->dispatcher_.get();
  e->scheduler_ = std::make_unique<Scheduler>(
      options.tick, [dispatcher] { dispatcher->Tick(); });
  return e;
}

Engine::~Engine() {
  if (scheduler_) scheduler_->Stop();
}

absl::StatusOr<User> Engine::Authenticate(
    std::string_view method, const google::protobuf::Message& request,
    const v1::RequestAuth& auth) {
  return registry_.Authenticate(method, request, auth);
}

absl::StatusOr<v1::QueryInfo> Engine::Submit(const User& user,
                                             const v1::QuerySpec& spec) {
  std::lock_guard lock(governance_mu_);
  return governance_.Submit(user, spec, clock_.NowUnixMillis());
}

absl::StatusOr<std::vector<v1::QueryInfo>> Engine::List(const User& user) {
  KRING_ASSIGN_OR_RETURN(std::vector<v1::QueryInfo> queries,
                         governance_.List(user));
  for (v1::QueryInfo& q : queries) dispatcher_->Overlay(q);
  return queries;
}

absl::StatusOr<v1::ListQueriesResponse> Engine::ListPage(
    const User& user, std::string_view page_token) {
  KRING_ASSIGN_OR_RETURN(
      v1::ListQueriesResponse page,
      governance_.ListPage(user, page_token, api::kListPageBytes));
  for (v1::QueryInfo& q : *page.mutable_queries()) dispatcher_->Overlay(q);
  return page;
}

absl::StatusOr<v1::QueryInfo> Engine::Get(const User& user,
                                          std::string_view query_id) {
  KRING_ASSIGN_OR_RETURN(v1::QueryInfo q, governance_.Get(user, query_id));
  dispatcher_->Overlay(q);
  return q;
}

absl::StatusOr<std::string> Engine::Result(const User& user,
                                           std::string_view query_id,
                                           v1::ResultFormat format) {
  auto result = governance_.Result(user, query_id, format);
  if (result.status().code() != absl::StatusCode::kFailedPrecondition) {
    return result;
  }
  // A run whose failure the database could not take yet: say why.
  KRING_ASSIGN_OR_RETURN(v1::QueryInfo q, db_->GetQuery(query_id));
  dispatcher_->Overlay(q);
  if (q.state() != v1::QUERY_STATE_FAILED) return result;
  return absl::FailedPreconditionError(
      StrCat("query ", query_id, " has no result (",
             v1::QueryState_Name(q.state()), ": ", q.reason(), ")"));
}

absl::StatusOr<v1::QueryInfo> Engine::Approve(const User& user,
                                              std::string_view query_id,
                                              std::string_view signature) {
  std::lock_guard lock(governance_mu_);
  KRING_ASSIGN_OR_RETURN(v1::QueryInfo q,
                         governance_.Approve(user, query_id, signature));
  if (q.state() == v1::QUERY_STATE_RUNNING) dispatcher_->Start(q);
  return q;
}

absl::StatusOr<v1::QueryInfo> Engine::Reject(const User& user,
                                             std::string_view query_id,
                                             std::string_view reason) {
  std::lock_guard lock(governance_mu_);
  return governance_.Reject(user, query_id, reason);
}

absl::StatusOr<v1::CreateEnrollmentCodeResponse> Engine::CreateEnrollmentCode(
    const User& user, const v1::CreateEnrollmentCodeRequest& request) {
  return registry_.CreateEnrollmentCode(user, request);
}

absl::StatusOr<std::string> Engine::RegisterUser(const User& user, User added) {
  return registry_.RegisterUser(user, std::move(added));
}

absl::Status Engine::Grant(const User& user, std::string_view query_id,
                           std::string_view grantee) {
  std::lock_guard lock(governance_mu_);
  return governance_.Grant(user, query_id, grantee);
}

absl::StatusOr<std::vector<v1::NodeInfo>> Engine::Nodes(const User& user) {
  return registry_.Nodes(user, [this](v1::NodeInfo& n) {
    n.set_connected(dispatcher_->IsConnected(n.school_id()));
    for (v1::NodeEvent& e : dispatcher_->Events(n.school_id())) {
      *n.add_events() = std::move(e);
    }
  });
}

absl::StatusOr<v1::CreateEnrollmentCodeResponse> Engine::NewEnrollmentCode(
    const School& school) {
  return registry_.NewEnrollmentCode(school);
}

absl::StatusOr<v1::EnrollResponse> Engine::Enroll(
    const v1::EnrollRequest& request) {
  return registry_.Enroll(request);
}

absl::StatusOr<std::string> Engine::Hello(const v1::NodeHello& hello) {
  return registry_.Hello(hello);
}

absl::Status Engine::Connected(const std::string& school_id,
                               std::shared_ptr<NodeLink> link) {
  return dispatcher_->Connected(school_id, std::move(link));
}

void Engine::Disconnected(const std::string& school_id, const NodeLink* link) {
  dispatcher_->Disconnected(school_id, link);
}

void Engine::FromNode(const std::string& school_id,
                      const v1::NodeToCoordinator& message) {
  dispatcher_->FromNode(school_id, message);
}

void Engine::SetBenchmarkPlaintext(bool on) {
  dispatcher_->SetBenchmarkPlaintext(on);
}

absl::StatusOr<v1::QueryInfo> Engine::WaitForQuery(
    std::string_view query_id, std::chrono::milliseconds timeout) {
  const auto until = std::chrono::steady_clock::now() + timeout;
  while (true) {
    const uint64_t seen = dispatcher_->ends();
    KRING_ASSIGN_OR_RETURN(v1::QueryInfo q, db_->GetQuery(query_id));
    dispatcher_->Overlay(q);
    if (q.state() == v1::QUERY_STATE_RELEASED ||
        q.state() == v1::QUERY_STATE_FAILED ||
        q.state() == v1::QUERY_STATE_REJECTED) {
      return q;
    }
    if (!dispatcher_->AwaitEnd(seen, until)) {
      return absl::DeadlineExceededError(StrCat(
          "query ", query_id, " still ", v1::QueryState_Name(q.state())));
    }
  }
}

}  // namespace kring::coordinator
