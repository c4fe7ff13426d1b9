#include "node/policy.h"

#include <algorithm>
#include <optional>
#include <set>

#include "absl/strings/str_format.h"
#include "api/auth.h"
#include "api/roles.h"
#include "query/spec.h"
#include "util/str_cat.h"

namespace kring::node {

namespace {

bool Contains(const auto& list, const std::string& value) {
  return std::find(list.begin(), list.end(), value) != list.end();
}

bool Verifies(const crypto::IdentityPublicKey& key, const v1::Task& task,
              const v1::Approval& a) {
  return key.bytes() == a.approver_public_key() &&
         key.Verify(api::kApprovalContext, task.ticket_bytes(), a.signature())
             .ok();
}

// How many distinct configured approvers signed the ticket.
size_t TrustedApprovals(const NodeConfig& config, const v1::Task& task) {
  std::set<std::string> approved_by;
  for (const v1::Approval& a : task.approvals()) {
    for (const auto& key : config.approvers) {
      if (Verifies(key, task, a)) approved_by.insert(std::string(key.bytes()));
    }
  }
  return approved_by.size();
}

// Municipality pre-approval: the municipality itself signed a query that
// stays within this school's municipality.
bool Preapproved(const NodeConfig& config, const v1::QueryTicket& ticket,
                 const v1::Task& task) {
  if (ticket.requester_role() != v1::ROLE_MUNICIPALITY ||
      config.municipality_keys.empty()) {
    return false;
  }
  const auto& asked = ticket.spec().population().municipalities();
  const bool own_only =
      asked.size() == 1 && asked[0] == config.municipality &&
      Contains(ticket.requester_municipalities(), config.municipality);
  if (!own_only) return false;
  for (const v1::Approval& a : task.approvals()) {
    if (a.approver_id() != ticket.requester_id()) continue;
    for (const auto& key : config.municipality_keys) {
      if (Verifies(key, task, a)) return true;
    }
  }
  return false;
}

// Why the school's policy declines `ticket`'s query, or nullopt.
std::optional<std::string> PolicyRefusal(const NodePolicy& policy,
                                         const v1::QueryTicket& ticket,
                                         const query::Query& query) {
  const std::string stat =
      ticket.spec().statistic() == "trend"
          ? std::string(query::StatisticName(query.statistic()))
          : ticket.spec().statistic();
  if (!Contains(policy.statistics, stat)) {
    return StrCat("statistic `", stat, "` is not allowed by this school");
  }
  const std::string role(api::RoleName(ticket.requester_role()));
  if (!Contains(policy.requester_roles, role)) {
    return StrCat("requests from a ", role, " are not allowed by this school");
  }
  if (ticket.requester_role() == v1::ROLE_MUNICIPALITY) {
    const auto& asked = ticket.spec().population().municipalities();
    bool within = !asked.empty();
    for (const std::string& m : asked) {
      within &= Contains(ticket.requester_municipalities(), m);
    }
    if (!within) {
      return "a municipality may only query schools in its own "
             "municipalities";
    }
  }
  const v1::DisclosureRequest& asked = ticket.spec().disclosure();
  const uint64_t respondents = std::max<uint64_t>(asked.min_respondents(), 10);
  const uint64_t schools = std::max<uint64_t>(asked.min_schools(), 3);
  if (respondents < policy.min_respondents || schools < policy.min_schools) {
    return StrCat("this school requires at least ", policy.min_respondents,
                  " respondents and ", policy.min_schools,
                  " schools per cell; ask for them in "
                  "disclosure.minRespondents and disclosure.minSchools");
  }
  if (query.special_category() && !policy.special_categories) {
    return "this school does not allow queries on special-category data "
           "(migration background, financial strain)";
  }
  if (query.rho() > policy.max_rho_per_query) {
    return absl::StrFormat(
        "the query's privacy cost rho = %.4g exceeds this school's limit of "
        "%.4g per query; ask for less in privacy.rho",
        query.rho(), policy.max_rho_per_query);
  }
  return std::nullopt;
}

}  // namespace

Decision Decide(const NodeConfig& config, const v1::Task& task) {
  static const survey::InstrumentRegistry* const builtin =
      new survey::InstrumentRegistry(survey::InstrumentRegistry::Builtin());
  return Decide(config, *builtin, task);
}

Decision Decide(const NodeConfig& config,
                const survey::InstrumentRegistry& instruments,
                const v1::Task& task) {
  Decision d;
  auto decline = [&](std::string why) {
    d.accept = false;
    d.reason = std::move(why);
    return d;
  };
  v1::QueryTicket ticket;
  if (!ticket.ParseFromString(task.ticket_bytes()) ||
      ticket.query_id() != task.query_id()) {
    return decline("the query ticket cannot be read");
  }
  const size_t approvals = TrustedApprovals(config, task);
  const bool preapproved = Preapproved(config, ticket, task);
  if (!preapproved && approvals < config.approvals_required) {
    return decline(StrCat("approved by ", approvals,
                          " of the approvers this school trusts; ",
                          config.approvals_required, " needed"));
  }
  auto query = query::Query::Create(ticket.spec(), instruments);
  if (!query.ok()) {
    return decline(StrCat("the query is not valid here: ",
                          ToStd(query.status().message())));
  }
  d.summary = query->Summary();
  if (auto refusal = PolicyRefusal(config.policy, ticket, *query)) {
    return decline(*std::move(refusal));
  }
  d.accept = true;
  d.reason = preapproved
                 ? "pre-approved by the school's own municipality; within "
                   "this school's policy"
                 : StrCat("approved by ", approvals,
                          " trusted approver(s); within this school's policy");
  return d;
}

}  // namespace kring::node
