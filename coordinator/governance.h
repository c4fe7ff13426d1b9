#ifndef KRING_COORDINATOR_GOVERNANCE_H_
#define KRING_COORDINATOR_GOVERNANCE_H_

// Query governance: submission (with municipality scoping), k-of-m
// approvals over the query ticket, rejection, who may see a query and its
// result, grants. Pure logic over CoordinatorDb and the time passed in: no
// threads, no clocks, no network. Every change is audited first; a change
// whose audit entry cannot be written is refused.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "coordinator/audit.h"
#include "coordinator/db.h"
#include "kring/v1/service.pb.h"
#include "survey/registry.h"

namespace kring::coordinator {

struct GovernanceOptions {
  // Approver signatures a query needs (k of the registered approvers).
  uint32_t approvals_required = 1;
  // A municipality's query limited to its own municipalities runs on the
  // municipality's own signature.
  bool municipality_preapproval = false;
};

// Not thread-safe: callers serialize the methods that change a query
// (Submit, Approve, Reject, Grant). `db`, `audit` and `instruments` must
// outlive it.
class Governance {
 public:
  Governance(CoordinatorDb& db, AuditLog& audit,
             const survey::InstrumentRegistry& instruments,
             GovernanceOptions options);

  // Researchers and municipalities (the latter only about their own
  // municipalities): validates `spec` and stores the query, awaiting
  // approval, submitted at `now_millis`.
  absl::StatusOr<v1::QueryInfo> Submit(const User& user,
                                       const v1::QuerySpec& spec,
                                       int64_t now_millis);
  // Approvers (or, with pre-approval, the requesting municipality): adds
  // `signature` over the ticket. The returned query is RUNNING when it now
  // has enough approvals: the caller dispatches it.
  absl::StatusOr<v1::QueryInfo> Approve(const User& user,
                                        std::string_view query_id,
                                        std::string_view signature);
  // Approvers: rejects a query awaiting approval.
  absl::StatusOr<v1::QueryInfo> Reject(const User& user,
                                       std::string_view query_id,
                                       std::string_view reason);
  // Admins: `grantee` may read the result of `query_id`.
  absl::Status Grant(const User& user, std::string_view query_id,
                     std::string_view grantee);

  // The queries `user` may see: approvers and admins all, others their own
  // and those granted to them.
  absl::StatusOr<std::vector<v1::QueryInfo>> List(const User& user);
  // One page of List, in submission order: from `page_token` (empty: the
  // first page) while the page stays within `max_bytes` (always at least
  // one query), and the next page's token (empty on the last page).
  // INVALID_ARGUMENT for a token ListPage did not return.
  absl::StatusOr<v1::ListQueriesResponse> ListPage(const User& user,
                                                   std::string_view page_token,
                                                   size_t max_bytes);
  // A query `user` may see. NOT_FOUND, with the same message, whether the
  // query does not exist or is hidden from `user` (so that its existence
  // is not revealed); Approve and Result answer unseen queries the same way.
  absl::StatusOr<v1::QueryInfo> Get(const User& user,
                                    std::string_view query_id);
  // The released result, to its requester and grantees only.
  absl::StatusOr<std::string> Result(const User& user,
                                     std::string_view query_id,
                                     v1::ResultFormat format);

 private:
  absl::Status CanSee(const User& user, const v1::QueryInfo& q);
  // The query if `user` may see it; else NOT_FOUND as for a missing one.
  absl::StatusOr<v1::QueryInfo> FindVisible(const User& user,
                                            std::string_view query_id);
  absl::Status MayApprove(const User& user, const v1::QueryInfo& q,
                          bool self_approval);

  CoordinatorDb& db_;
  AuditLog& audit_;
  const survey::InstrumentRegistry& instruments_;
  const GovernanceOptions options_;
};

}  // namespace kring::coordinator

#endif  // KRING_COORDINATOR_GOVERNANCE_H_
