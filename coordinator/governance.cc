#include "coordinator/governance.h"

#include <algorithm>

#include "absl/strings/numbers.h"
#include "api/auth.h"
#include "api/limits.h"
#include "coordinator/internal/random_hex.h"
#include "coordinator/registry.h"
#include "crypto/identity.h"
#include "crypto/random.h"
#include "query/spec.h"
#include "util/status_macros.h"
#include "util/str_cat.h"

namespace kring::coordinator {
namespace {

// A municipality may only ask about its own municipalities.
absl::Status CheckScope(const User& user, const v1::QuerySpec& spec) {
  if (user.role != v1::ROLE_MUNICIPALITY) return absl::OkStatus();
  const auto& asked = spec.population().municipalities();
  if (asked.empty()) {
    return absl::PermissionDeniedError(
        "a municipality may only query its own schools: list your "
        "municipality codes in population.municipalities");
  }
  for (const std::string& m : asked) {
    if (std::find(user.municipalities.begin(), user.municipalities.end(), m) ==
        user.municipalities.end()) {
      return absl::PermissionDeniedError(
          StrCat(m, " is outside your municipalities"));
    }
  }
  return absl::OkStatus();
}

bool IsGranted(CoordinatorDb& db, std::string_view query_id,
               std::string_view user_id) {
  auto granted = db.IsGranted(query_id, user_id);
  return granted.ok() && *granted;
}

}  // namespace

Governance::Governance(CoordinatorDb& db, AuditLog& audit,
                       const survey::InstrumentRegistry& instruments,
                       GovernanceOptions options)
    : db_(db), audit_(audit), instruments_(instruments), options_(options) {}

absl::StatusOr<v1::QueryInfo> Governance::Submit(const User& user,
                                                 const v1::QuerySpec& spec,
                                                 int64_t now_millis) {
  KRING_RETURN_IF_ERROR(NeedRole(
      user, {v1::ROLE_RESEARCHER, v1::ROLE_MUNICIPALITY}, "submit queries"));
  KRING_RETURN_IF_ERROR(api::CheckFieldLimits(spec, "spec"));
  KRING_ASSIGN_OR_RETURN(const query::Query q,
                         query::Query::Create(spec, instruments_));
  KRING_RETURN_IF_ERROR(CheckScope(user, spec));
  v1::QueryInfo info;
  v1::QueryTicket& t = *info.mutable_ticket();
  t.set_query_id(StrCat("q-", internal::RandomHex(6)));
  t.set_requester_id(user.user_id);
  t.set_requester_role(user.role);
  for (const auto& m : user.municipalities) t.add_requester_municipalities(m);
  *t.mutable_spec() = spec;
  t.set_submitted_unix_millis(now_millis);
  std::string seed(32, '\0');
  crypto::SystemRandom().Fill(
      {reinterpret_cast<uint8_t*>(seed.data()), seed.size()});
  t.set_query_seed(seed);
  info.set_ticket_bytes(api::CanonicalBytes(t));
  info.set_state(v1::QUERY_STATE_AWAITING_APPROVAL);
  info.set_summary(q.Summary());
  info.set_approvals_required(options_.approvals_required);
  KRING_RETURN_IF_ERROR(
      RecordAudit(audit_, "submitted",
                  StrCat("query ", t.query_id(), " by ", user.user_id, ": ",
                         info.summary())));
  KRING_RETURN_IF_ERROR(db_.PutQuery(info));
  return info;
}

absl::Status Governance::MayApprove(const User& user, const v1::QueryInfo& q,
                                    bool self_approval) {
  const std::string& id = q.ticket().query_id();
  if (!self_approval) {
    KRING_RETURN_IF_ERROR(
        NeedRole(user, {v1::ROLE_APPROVER}, "approve queries"));
  }
  if (q.state() != v1::QUERY_STATE_AWAITING_APPROVAL) {
    return absl::FailedPreconditionError(
        StrCat("query ", id, " does not await approval (",
               v1::QueryState_Name(q.state()), ")"));
  }
  for (const auto& a : q.approvals()) {
    if (a.approver_id() == user.user_id) {
      return absl::AlreadyExistsError(
          StrCat(user.user_id, " already approved ", id));
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<v1::QueryInfo> Governance::Approve(const User& user,
                                                  std::string_view query_id,
                                                  std::string_view signature) {
  KRING_ASSIGN_OR_RETURN(v1::QueryInfo q, FindVisible(user, query_id));
  // Pre-approval: a municipality signs its own query within its scope
  // (checked at submission).
  const bool self_approval = options_.municipality_preapproval &&
                             user.role == v1::ROLE_MUNICIPALITY &&
                             q.ticket().requester_id() == user.user_id;
  KRING_RETURN_IF_ERROR(MayApprove(user, q, self_approval));
  auto key = crypto::IdentityPublicKey::FromBytes(user.public_key);
  if (!key.ok() ||
      !key->Verify(api::kApprovalContext, q.ticket_bytes(), signature).ok()) {
    return absl::InvalidArgumentError(
        "the approval signature does not verify over this query's ticket");
  }
  v1::Approval* a = q.add_approvals();
  a->set_approver_id(user.user_id);
  a->set_approver_public_key(user.public_key);
  a->set_signature(std::string(signature));
  if (self_approval ||
      static_cast<uint32_t>(q.approvals_size()) >= q.approvals_required()) {
    q.set_state(v1::QUERY_STATE_RUNNING);
  }
  KRING_RETURN_IF_ERROR(
      RecordAudit(audit_, "approved",
                  StrCat("query ", query_id, " approved by ", user.user_id)));
  KRING_RETURN_IF_ERROR(db_.PutQuery(q));
  return q;
}

absl::StatusOr<v1::QueryInfo> Governance::Reject(const User& user,
                                                 std::string_view query_id,
                                                 std::string_view reason) {
  KRING_RETURN_IF_ERROR(NeedRole(user, {v1::ROLE_APPROVER}, "reject queries"));
  if (reason.size() > api::kMaxReasonBytes) {
    return absl::InvalidArgumentError(
        StrCat("reason is ", reason.size(), " bytes; the limit is ",
               api::kMaxReasonBytes, " bytes. Shorten it"));
  }
  KRING_ASSIGN_OR_RETURN(v1::QueryInfo q, db_.GetQuery(query_id));
  if (q.state() != v1::QUERY_STATE_AWAITING_APPROVAL) {
    return absl::FailedPreconditionError(
        StrCat("query ", query_id, " does not await approval"));
  }
  q.set_state(v1::QUERY_STATE_REJECTED);
  q.set_reason(
      StrCat("rejected by ", user.user_id, reason.empty() ? "" : ": ", reason));
  KRING_RETURN_IF_ERROR(RecordAudit(
      audit_, "rejected", StrCat("query ", query_id, " ", q.reason())));
  KRING_RETURN_IF_ERROR(db_.PutQuery(q));
  return q;
}

absl::Status Governance::Grant(const User& user, std::string_view query_id,
                               std::string_view grantee) {
  KRING_RETURN_IF_ERROR(NeedRole(user, {v1::ROLE_ADMIN}, "grant access"));
  KRING_RETURN_IF_ERROR(db_.GetQuery(query_id).status());
  KRING_RETURN_IF_ERROR(db_.GetUser(grantee).status());
  KRING_RETURN_IF_ERROR(
      RecordAudit(audit_, "grant",
                  StrCat(grantee, " may read the result of ", query_id,
                         " (granted by ", user.user_id, ")")));
  return db_.Grant(query_id, grantee);
}

absl::Status Governance::CanSee(const User& user, const v1::QueryInfo& q) {
  if (user.role == v1::ROLE_APPROVER || user.role == v1::ROLE_ADMIN ||
      q.ticket().requester_id() == user.user_id ||
      IsGranted(db_, q.ticket().query_id(), user.user_id)) {
    return absl::OkStatus();
  }
  return absl::PermissionDeniedError(
      StrCat("query ", q.ticket().query_id(), " is not yours"));
}

absl::StatusOr<std::vector<v1::QueryInfo>> Governance::List(const User& user) {
  KRING_ASSIGN_OR_RETURN(std::vector<v1::QueryInfo> all, db_.ListQueries());
  std::vector<v1::QueryInfo> out;
  for (auto& q : all) {
    if (CanSee(user, q).ok()) out.push_back(std::move(q));
  }
  return out;
}

absl::StatusOr<v1::ListQueriesResponse> Governance::ListPage(
    const User& user, std::string_view page_token, size_t max_bytes) {
  // The token is the position in submission order of the next query to
  // consider; queries are never deleted, so positions are stable.
  size_t from = 0;
  if (!page_token.empty() &&
      (!page_token.starts_with("q") ||
       !absl::SimpleAtoi(
           absl::string_view(page_token.data() + 1, page_token.size() - 1),
           &from))) {
    return absl::InvalidArgumentError(
        "the page token is not one this coordinator gave; list from the "
        "first page");
  }
  KRING_ASSIGN_OR_RETURN(std::vector<v1::QueryInfo> all, db_.ListQueries());
  v1::ListQueriesResponse page;
  size_t bytes = 0;
  for (size_t i = from; i < all.size(); ++i) {
    if (!CanSee(user, all[i]).ok()) continue;
    const size_t size = all[i].ByteSizeLong();
    if (page.queries_size() > 0 && bytes + size > max_bytes) {
      page.set_next_page_token(StrCat("q", i));
      break;
    }
    bytes += size;
    *page.add_queries() = std::move(all[i]);
  }
  return page;
}

absl::StatusOr<v1::QueryInfo> Governance::FindVisible(
    const User& user, std::string_view query_id) {
  absl::StatusOr<v1::QueryInfo> q = db_.GetQuery(query_id);
  if (q.ok() && CanSee(user, *q).ok()) return q;
  if (!q.ok() && !absl::IsNotFound(q.status())) return q.status();
  return absl::NotFoundError(
      StrCat("no query ", query_id,
             " that you may see; `kring query list` shows yours"));
}

absl::StatusOr<v1::QueryInfo> Governance::Get(const User& user,
                                              std::string_view query_id) {
  return FindVisible(user, query_id);
}

absl::StatusOr<std::string> Governance::Result(const User& user,
                                               std::string_view query_id,
                                               v1::ResultFormat format) {
  KRING_ASSIGN_OR_RETURN(const v1::QueryInfo q, FindVisible(user, query_id));
  // Results go to the requester only (and to users an admin granted).
  if (q.ticket().requester_id() != user.user_id &&
      !IsGranted(db_, query_id, user.user_id)) {
    return absl::PermissionDeniedError(StrCat(
        "the result of ", query_id, " is released to its requester only"));
  }
  if (q.state() != v1::QUERY_STATE_RELEASED) {
    return absl::FailedPreconditionError(StrCat(
        "query ", query_id, " has no result (", v1::QueryState_Name(q.state()),
        q.reason().empty() ? "" : ": ", q.reason(), ")"));
  }
  return db_.GetResult(query_id, format);
}

}  // namespace kring::coordinator
