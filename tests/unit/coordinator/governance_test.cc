#include "coordinator/governance.h"

#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "query/spec.h"
#include "tests/testing/status_matchers.h"
#include "tests/unit/coordinator/coordinator_fixture.h"

namespace kring::coordinator {
namespace {

using ::kring::testing::IsOk;
using ::kring::testing::StatusIs;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

v1::QuerySpec Spec(
    const std::string& population = R"({"waves": ["2025-26"]})") {
  auto spec = query::ParseQuerySpecJson(R"({
    "statistic": "mean",
    "measures": ["belong_perception"],
    "groupBy": ["gender"],
    "population": )" + population + R"(,
    "purpose": "governance unit test"
  })");
  EXPECT_TRUE(spec.ok()) << spec.status();
  return spec.ok() ? *spec : v1::QuerySpec();
}

class GovernanceTest : public testing::CoordinatorFixture {
 protected:
  GovernanceTest() {
    researcher_ = AddUser("researcher", v1::ROLE_RESEARCHER);
    other_ = AddUser("other", v1::ROLE_RESEARCHER);
    approver_ = AddUser("approver", v1::ROLE_APPROVER);
    approver2_ = AddUser("approver2", v1::ROLE_APPROVER);
    admin_ = AddUser("admin", v1::ROLE_ADMIN);
    municipality_ = AddUser("gm", v1::ROLE_MUNICIPALITY, {"GM0363"});
  }
  Governance Make(uint32_t approvals = 1, bool preapproval = false) {
    return Governance(*db_, *audit_, instruments_, {approvals, preapproval});
  }

  const survey::InstrumentRegistry instruments_ =
      survey::InstrumentRegistry::Builtin();
  User researcher_, other_, approver_, approver2_, admin_, municipality_;
};

TEST_F(GovernanceTest, SubmitStoresTheQueryAwaitingApprovalAndAuditsIt) {
  Governance g = Make();
  KRING_ASSERT_OK_AND_ASSIGN(
      const v1::QueryInfo q,
      g.Submit(researcher_, Spec(), clock_.NowUnixMillis()));
  EXPECT_EQ(q.state(), v1::QUERY_STATE_AWAITING_APPROVAL);
  EXPECT_EQ(q.ticket().requester_id(), "researcher");
  EXPECT_EQ(q.ticket().submitted_unix_millis(), clock_.NowUnixMillis());
  EXPECT_EQ(q.ticket().query_seed().size(), 32u);
  EXPECT_THAT(db_->GetQuery(q.ticket().query_id()), IsOk());
  EXPECT_THAT(AuditKinds(), ElementsAre("submitted"));
}

TEST_F(GovernanceTest, RolesThatMayNotSubmitAreRefused) {
  Governance g = Make();
  for (const User& u : {approver_, admin_}) {
    EXPECT_THAT(g.Submit(u, Spec(), 0),
                StatusIs(absl::StatusCode::kPermissionDenied,
                         HasSubstr("may not submit queries")));
  }
  EXPECT_THAT(AuditKinds(), IsEmpty());
}

TEST_F(GovernanceTest, AMunicipalityIsLimitedToItsOwnMunicipalities) {
  Governance g = Make();
  EXPECT_THAT(g.Submit(municipality_, Spec(), 0),
              StatusIs(absl::StatusCode::kPermissionDenied,
                       HasSubstr("population.municipalities")));
  EXPECT_THAT(g.Submit(municipality_, Spec(R"({"waves": ["2025-26"],
                        "municipalities": ["GM0363", "GM0599"]})"),
                       0),
              StatusIs(absl::StatusCode::kPermissionDenied,
                       HasSubstr("GM0599 is outside your municipalities")));
  EXPECT_THAT(g.Submit(municipality_, Spec(R"({"waves": ["2025-26"],
                                "municipalities": ["GM0363"]})"),
                       0),
              IsOk());
}

TEST_F(GovernanceTest, KApprovalsAreNeededBeforeTheQueryRuns) {
  Governance g = Make(/*approvals=*/2);
  KRING_ASSERT_OK_AND_ASSIGN(const v1::QueryInfo q,
                             g.Submit(researcher_, Spec(), 0));
  const std::string id = q.ticket().query_id();
  KRING_ASSERT_OK_AND_ASSIGN(const v1::QueryInfo one,
                             g.Approve(approver_, id, Sign("approver", q)));
  EXPECT_EQ(one.state(), v1::QUERY_STATE_AWAITING_APPROVAL);
  EXPECT_THAT(g.Approve(approver_, id, Sign("approver", q)),
              StatusIs(absl::StatusCode::kAlreadyExists));
  KRING_ASSERT_OK_AND_ASSIGN(const v1::QueryInfo two,
                             g.Approve(approver2_, id, Sign("approver2", q)));
  EXPECT_EQ(two.state(), v1::QUERY_STATE_RUNNING);
  EXPECT_EQ(two.approvals_size(), 2);
  EXPECT_EQ(db_->GetQuery(id)->state(), v1::QUERY_STATE_RUNNING);
  EXPECT_THAT(AuditKinds(), ElementsAre("submitted", "approved", "approved"));
}

TEST_F(GovernanceTest, ApprovalNeedsTheRoleAndAValidSignature) {
  Governance g = Make();
  KRING_ASSERT_OK_AND_ASSIGN(const v1::QueryInfo q,
                             g.Submit(researcher_, Spec(), 0));
  const std::string id = q.ticket().query_id();
  EXPECT_THAT(g.Approve(researcher_, id, Sign("researcher", q)),
              StatusIs(absl::StatusCode::kPermissionDenied));
  EXPECT_THAT(g.Approve(approver_, id, Sign("approver2", q)),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("does not verify")));
  EXPECT_THAT(g.Approve(approver_, "q-unknown", "sig"),
              StatusIs(absl::StatusCode::kNotFound));
  EXPECT_EQ(db_->GetQuery(id)->approvals_size(), 0);
}

TEST_F(GovernanceTest, MunicipalityPreapprovalOnlyForItsOwnQuery) {
  const auto own =
      Spec(R"({"waves": ["2025-26"], "municipalities": ["GM0363"]})");
  {
    Governance g = Make(/*approvals=*/2, /*preapproval=*/false);
    KRING_ASSERT_OK_AND_ASSIGN(const v1::QueryInfo q,
                               g.Submit(municipality_, own, 0));
    EXPECT_THAT(g.Approve(municipality_, q.ticket().query_id(), Sign("gm", q)),
                StatusIs(absl::StatusCode::kPermissionDenied));
  }
  Governance g = Make(/*approvals=*/2, /*preapproval=*/true);
  KRING_ASSERT_OK_AND_ASSIGN(const v1::QueryInfo q,
                             g.Submit(municipality_, own, 0));
  KRING_ASSERT_OK_AND_ASSIGN(
      const v1::QueryInfo approved,
      g.Approve(municipality_, q.ticket().query_id(), Sign("gm", q)));
  EXPECT_EQ(approved.state(), v1::QUERY_STATE_RUNNING);
  KRING_ASSERT_OK_AND_ASSIGN(const v1::QueryInfo other,
                             g.Submit(researcher_, Spec(), 0));
  EXPECT_THAT(
      g.Approve(municipality_, other.ticket().query_id(), Sign("gm", other)),
      StatusIs(absl::StatusCode::kNotFound));  // not its query: hidden
}

TEST_F(GovernanceTest, RejectByApproversOnlyAndOnlyWhileAwaiting) {
  Governance g = Make();
  KRING_ASSERT_OK_AND_ASSIGN(const v1::QueryInfo q,
                             g.Submit(researcher_, Spec(), 0));
  const std::string id = q.ticket().query_id();
  EXPECT_THAT(g.Reject(researcher_, id, "no"),
              StatusIs(absl::StatusCode::kPermissionDenied));
  KRING_ASSERT_OK_AND_ASSIGN(const v1::QueryInfo r,
                             g.Reject(approver_, id, "too broad"));
  EXPECT_EQ(r.state(), v1::QUERY_STATE_REJECTED);
  EXPECT_EQ(r.reason(), "rejected by approver: too broad");
  EXPECT_THAT(g.Reject(approver_, id, "again"),
              StatusIs(absl::StatusCode::kFailedPrecondition));
  EXPECT_THAT(g.Approve(approver_, id, Sign("approver", q)),
              StatusIs(absl::StatusCode::kFailedPrecondition));
}

// Issue 12, item 8: a query hidden from a user answers exactly as a query
// that does not exist, so ids cannot be probed.
TEST_F(GovernanceTest, HiddenQueriesLookLikeMissingOnes) {
  Governance g = Make();
  KRING_ASSERT_OK_AND_ASSIGN(const v1::QueryInfo q,
                             g.Submit(researcher_, Spec(), 0));
  const std::string id = q.ticket().query_id();
  const std::string missing = "q-000000000000";
  ASSERT_EQ(missing.size(), id.size());
  // Only the id in the message differs.
  auto same = [&](const absl::Status& hidden, const absl::Status& absent) {
    EXPECT_EQ(hidden.code(), absl::StatusCode::kNotFound) << hidden;
    EXPECT_EQ(hidden.code(), absent.code());
    std::string h(hidden.message());
    h.replace(h.find(id), id.size(), missing);
    EXPECT_EQ(h, absent.message());
  };
  same(g.Get(other_, id).status(), g.Get(other_, missing).status());
  same(g.Approve(other_, id, Sign("other", q)).status(),
       g.Approve(other_, missing, "sig").status());
  same(g.Result(other_, id, v1::RESULT_FORMAT_JSON).status(),
       g.Result(other_, missing, v1::RESULT_FORMAT_JSON).status());
  // Those who may see it still get the real reason.
  EXPECT_THAT(g.Approve(researcher_, id, Sign("researcher", q)),
              StatusIs(absl::StatusCode::kPermissionDenied));
}

TEST_F(GovernanceTest, QueriesAndResultsAreVisibleToWhomTheyBelong) {
  Governance g = Make();
  KRING_ASSERT_OK_AND_ASSIGN(const v1::QueryInfo q,
                             g.Submit(researcher_, Spec(), 0));
  const std::string id = q.ticket().query_id();
  EXPECT_THAT(g.Get(other_, id), StatusIs(absl::StatusCode::kNotFound));
  EXPECT_THAT(g.Get(approver_, id), IsOk());
  EXPECT_EQ(g.List(other_)->size(), 0u);
  EXPECT_EQ(g.List(admin_)->size(), 1u);
  EXPECT_THAT(g.Result(approver_, id, v1::RESULT_FORMAT_JSON),
              StatusIs(absl::StatusCode::kPermissionDenied,
                       HasSubstr("requester only")));
  EXPECT_THAT(g.Result(researcher_, id, v1::RESULT_FORMAT_JSON),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       HasSubstr("has no result")));
  EXPECT_THAT(g.Grant(researcher_, id, "other"),
              StatusIs(absl::StatusCode::kPermissionDenied));
  EXPECT_THAT(g.Grant(admin_, id, "nobody"),
              StatusIs(absl::StatusCode::kNotFound));
  ASSERT_THAT(g.Grant(admin_, id, "other"), IsOk());
  EXPECT_THAT(g.Get(other_, id), IsOk());
  EXPECT_THAT(g.Result(other_, id, v1::RESULT_FORMAT_JSON),
              StatusIs(absl::StatusCode::kFailedPrecondition));
  EXPECT_THAT(AuditKinds(), ElementsAre("submitted", "grant"));
}

TEST_F(GovernanceTest, NothingChangesWhenItsAuditEntryCannotBeWritten) {
  Governance g = Make();
  KRING_ASSERT_OK_AND_ASSIGN(const v1::QueryInfo q,
                             g.Submit(researcher_, Spec(), 0));
  const std::string id = q.ticket().query_id();
  audit_->FailAll();
  EXPECT_THAT(g.Submit(researcher_, Spec(), 0),
              StatusIs(absl::StatusCode::kInternal,
                       HasSubstr("audit log cannot be written")));
  EXPECT_THAT(g.Approve(approver_, id, Sign("approver", q)),
              StatusIs(absl::StatusCode::kInternal, HasSubstr("`approved`")));
  EXPECT_THAT(g.Reject(approver_, id, "no"),
              StatusIs(absl::StatusCode::kInternal));
  EXPECT_THAT(g.Grant(admin_, id, "other"),
              StatusIs(absl::StatusCode::kInternal));
  // Still one query, awaiting approval, unapproved, not granted.
  KRING_ASSERT_OK_AND_ASSIGN(const auto all, db_->ListQueries());
  ASSERT_EQ(all.size(), 1u);
  EXPECT_EQ(all[0].state(), v1::QUERY_STATE_AWAITING_APPROVAL);
  EXPECT_EQ(all[0].approvals_size(), 0);
  EXPECT_FALSE(*db_->IsGranted(id, "other"));
  EXPECT_THAT(AuditKinds(), ElementsAre("submitted"));
}

TEST_F(GovernanceTest, OversizedTextIsRefusedBeforeAnythingIsStored) {
  Governance g = Make();
  v1::QuerySpec spec = Spec();
  spec.set_purpose(std::string(32 << 20, 'x'));
  EXPECT_THAT(g.Submit(researcher_, spec, 0),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("spec.purpose is 33554432 bytes; the limit "
                                 "is 4096")));
  EXPECT_THAT(*db_->ListQueries(), IsEmpty());
  EXPECT_THAT(AuditKinds(), IsEmpty());
  KRING_ASSERT_OK_AND_ASSIGN(const v1::QueryInfo q,
                             g.Submit(researcher_, Spec(), 0));
  EXPECT_THAT(
      g.Reject(approver_, q.ticket().query_id(), std::string(2000, 'r')),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("limit is 1024")));
  EXPECT_EQ(db_->GetQuery(q.ticket().query_id())->state(),
            v1::QUERY_STATE_AWAITING_APPROVAL);
}

TEST_F(GovernanceTest, ListPagesStayWithinTheirSizeAndChain) {
  Governance g = Make();
  std::vector<std::string> ids;
  for (int i = 0; i < 5; ++i) {
    KRING_ASSERT_OK_AND_ASSIGN(const v1::QueryInfo q,
                               g.Submit(researcher_, Spec(), 0));
    ids.push_back(q.ticket().query_id());
  }
  // The other user's query is skipped on every page.
  ASSERT_THAT(g.Submit(other_, Spec(), 0), IsOk());
  const size_t one = db_->GetQuery(ids[0])->ByteSizeLong();
  std::vector<std::string> seen;
  std::string token;
  int pages = 0;
  do {
    KRING_ASSERT_OK_AND_ASSIGN(const v1::ListQueriesResponse page,
                               g.ListPage(researcher_, token, 2 * one + 10));
    EXPECT_LE(page.queries_size(), 2);
    for (const auto& q : page.queries()) seen.push_back(q.ticket().query_id());
    token = page.next_page_token();
    ++pages;
  } while (!token.empty() && pages < 10);
  EXPECT_EQ(seen, ids);
  EXPECT_EQ(pages, 3);
  // A page always holds one query, however small the budget.
  KRING_ASSERT_OK_AND_ASSIGN(const v1::ListQueriesResponse tiny,
                             g.ListPage(researcher_, "", 1));
  EXPECT_EQ(tiny.queries_size(), 1);
  EXPECT_THAT(
      g.ListPage(researcher_, "bogus", 1 << 20),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("page token")));
}

}  // namespace
}  // namespace kring::coordinator
