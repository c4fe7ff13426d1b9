// The node's decision on a task: approvals it trusts, its local policy.

#include "node/policy.h"

#include "api/auth.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"

namespace kring::node {
namespace {

using ::testing::HasSubstr;

struct School {
  crypto::IdentityKeyPair approver = crypto::IdentityKeyPair::Generate();
  crypto::IdentityKeyPair other = crypto::IdentityKeyPair::Generate();
  NodeConfig config;
  School() {
    config.school_id = "00AA-abc";
    config.municipality = "GM0363";
    config.insecure_loopback = true;
    config.approvers.push_back(approver.public_key());
  }
};

v1::Task MakeTask(const v1::QuerySpec& spec,
                  v1::Role role = v1::ROLE_RESEARCHER,
                  std::vector<std::string> municipalities = {}) {
  v1::QueryTicket t;
  t.set_query_id("q-1");
  t.set_requester_id("r");
  t.set_requester_role(role);
  for (auto& m : municipalities) t.add_requester_municipalities(m);
  *t.mutable_spec() = spec;
  t.set_query_seed(std::string(32, 's'));
  v1::Task task;
  task.set_query_id("q-1");
  task.set_ticket_bytes(api::CanonicalBytes(t));
  return task;
}

void Approve(v1::Task& task, const crypto::IdentityKeyPair& key) {
  v1::Approval* a = task.add_approvals();
  a->set_approver_id("a");
  a->set_approver_public_key(std::string(key.public_key().bytes()));
  a->set_signature(*key.Sign(api::kApprovalContext, task.ticket_bytes()));
}

v1::QuerySpec Mean() {
  v1::QuerySpec s;
  s.set_statistic("mean");
  s.add_measures("belong_perception");
  return s;
}

TEST(DecideTest, AcceptsAQueryItsApproverSigned) {
  School s;
  v1::Task task = MakeTask(Mean());
  Approve(task, s.approver);
  Decision d = Decide(s.config, task);
  EXPECT_TRUE(d.accept) << d.reason;
  EXPECT_THAT(d.summary, HasSubstr("Mean"));
}

TEST(DecideTest, DeclinesMissingUntrustedAndForgedApprovals) {
  School s;
  v1::Task none = MakeTask(Mean());
  EXPECT_FALSE(Decide(s.config, none).accept);
  v1::Task untrusted = MakeTask(Mean());
  Approve(untrusted, s.other);
  EXPECT_FALSE(Decide(s.config, untrusted).accept);
  // A forged approval: the trusted approver's key, someone else's
  // signature.
  v1::Task forged = MakeTask(Mean());
  Approve(forged, s.other);
  forged.mutable_approvals(0)->set_approver_public_key(
      std::string(s.approver.public_key().bytes()));
  Decision d = Decide(s.config, forged);
  EXPECT_FALSE(d.accept);
  EXPECT_THAT(d.reason, HasSubstr("approvers this school trusts"));
  // An approval of another ticket does not carry over.
  v1::Task other = MakeTask(Mean());
  Approve(other, s.approver);
  v1::QuerySpec changed = Mean();
  changed.add_group_by("gender");
  v1::Task swapped = MakeTask(changed);
  *swapped.mutable_approvals() = other.approvals();
  EXPECT_FALSE(Decide(s.config, swapped).accept);
  // Two approvals required, the same approver twice is one.
  s.config.approvals_required = 2;
  v1::Task twice = MakeTask(Mean());
  Approve(twice, s.approver);
  Approve(twice, s.approver);
  EXPECT_FALSE(Decide(s.config, twice).accept);
}

TEST(DecideTest, AppliesTheSchoolsPolicy) {
  School s;
  auto decide = [&](const v1::QuerySpec& spec,
                    v1::Role role = v1::ROLE_RESEARCHER,
                    std::vector<std::string> munis = {}) {
    v1::Task t = MakeTask(spec, role, munis);
    Approve(t, s.approver);
    return Decide(s.config, t);
  };
  s.config.policy.statistics = {"count"};
  EXPECT_THAT(decide(Mean()).reason, HasSubstr("not allowed by this school"));
  s.config.policy.statistics = NodePolicy().statistics;
  s.config.policy.requester_roles = {"municipality"};
  EXPECT_FALSE(decide(Mean()).accept);
  s.config.policy.requester_roles = NodePolicy().requester_roles;
  // A municipality outside its own municipalities.
  v1::QuerySpec elsewhere = Mean();
  elsewhere.mutable_population()->add_municipalities("GM0599");
  Decision d = decide(elsewhere, v1::ROLE_MUNICIPALITY, {"GM0363"});
  EXPECT_FALSE(d.accept);
  EXPECT_THAT(d.reason, HasSubstr("own municipalities"));
  v1::QuerySpec own = Mean();
  own.mutable_population()->add_municipalities("GM0363");
  EXPECT_TRUE(decide(own, v1::ROLE_MUNICIPALITY, {"GM0363"}).accept);
  // Thresholds at least the school's own.
  s.config.policy.min_respondents = 20;
  EXPECT_THAT(decide(Mean()).reason, HasSubstr("at least 20 respondents"));
  v1::QuerySpec strict = Mean();
  strict.mutable_disclosure()->set_min_respondents(20);
  EXPECT_TRUE(decide(strict).accept);
  s.config.policy.min_respondents = 10;
  // Special categories.
  v1::QuerySpec special = Mean();
  special.add_group_by("migration_background");
  EXPECT_THAT(decide(special).reason, HasSubstr("special-category"));
  s.config.policy.special_categories = true;
  EXPECT_TRUE(decide(special).accept);
  // The privacy cost of one query (default 0.1) within the school's limit.
  s.config.policy.max_rho_per_query = 0.05;
  EXPECT_THAT(decide(Mean()).reason, HasSubstr("privacy cost rho = 0.1"));
  v1::QuerySpec cheap = Mean();
  cheap.mutable_privacy()->set_rho(0.05);
  EXPECT_TRUE(decide(cheap).accept);
  s.config.policy.max_rho_per_query = 0.25;
  // Unreadable tickets.
  v1::Task garbage;
  garbage.set_query_id("q-1");
  garbage.set_ticket_bytes("\xff\xff not a ticket");
  EXPECT_FALSE(Decide(s.config, garbage).accept);
}

TEST(DecideTest, MunicipalityPreapprovalOnlyForItsOwnSchools) {
  School s;
  crypto::IdentityKeyPair city = crypto::IdentityKeyPair::Generate();
  s.config.municipality_keys.push_back(city.public_key());
  auto task_for = [&](std::vector<std::string> asked, std::string requester,
                      std::vector<std::string> scope) {
    v1::QuerySpec spec = Mean();
    for (auto& m : asked) spec.mutable_population()->add_municipalities(m);
    v1::QueryTicket t;
    t.set_query_id("q-1");
    t.set_requester_id(requester);
    t.set_requester_role(v1::ROLE_MUNICIPALITY);
    for (auto& m : scope) t.add_requester_municipalities(m);
    *t.mutable_spec() = spec;
    v1::Task task;
    task.set_query_id("q-1");
    task.set_ticket_bytes(api::CanonicalBytes(t));
    v1::Approval* a = task.add_approvals();
    a->set_approver_id("city");
    a->set_approver_public_key(std::string(city.public_key().bytes()));
    a->set_signature(*city.Sign(api::kApprovalContext, task.ticket_bytes()));
    return task;
  };
  Decision d = Decide(s.config, task_for({"GM0363"}, "city", {"GM0363"}));
  EXPECT_TRUE(d.accept) << d.reason;
  EXPECT_THAT(d.reason, HasSubstr("pre-approved"));
  // Not limited to this school's municipality.
  EXPECT_FALSE(Decide(s.config, task_for({"GM0363", "GM0599"}, "city",
                                         {"GM0363", "GM0599"}))
                   .accept);
  // Another municipality's schools.
  EXPECT_FALSE(
      Decide(s.config, task_for({"GM0599"}, "city", {"GM0599"})).accept);
  // Signed by the key, but someone else's query.
  EXPECT_FALSE(
      Decide(s.config, task_for({"GM0363"}, "mallory", {"GM0363"})).accept);
  // Without the key configured: an ordinary approval is needed.
  s.config.municipality_keys.clear();
  EXPECT_FALSE(
      Decide(s.config, task_for({"GM0363"}, "city", {"GM0363"})).accept);
}

}  // namespace
}  // namespace kring::node
