#include "client/approval.h"

#include "api/auth.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "query/spec.h"
#include "survey/instrument.h"
#include "tests/testing/status_matchers.h"

namespace kring::client {
namespace {

using ::kring::testing::IsOk;
using ::kring::testing::StatusIs;
using ::testing::HasSubstr;

v1::QuerySpec Spec(const char* json) {
  auto spec = query::ParseQuerySpecJson(json);
  EXPECT_TRUE(spec.ok()) << spec.status();
  return *spec;
}

// A QueryInfo as the coordinator makes it on submission.
v1::QueryInfo Info(const v1::QuerySpec& spec) {
  v1::QueryInfo info;
  v1::QueryTicket& t = *info.mutable_ticket();
  t.set_query_id("q-0123456789ab");
  t.set_requester_id("researcher");
  t.set_requester_role(v1::ROLE_RESEARCHER);
  *t.mutable_spec() = spec;
  t.set_submitted_unix_millis(1767225600000);
  t.set_query_seed(std::string(32, 'x'));
  info.set_ticket_bytes(api::CanonicalBytes(t));
  info.set_state(v1::QUERY_STATE_AWAITING_APPROVAL);
  auto q = query::Query::Create(spec, survey::Instrument::BelongingV1());
  EXPECT_TRUE(q.ok()) << q.status();
  info.set_summary(q->Summary());
  info.set_approvals_required(1);
  return info;
}

constexpr char kMean[] = R"({
  "statistic": "mean", "measures": ["belong_perception"],
  "group_by": ["track"], "purpose": "test"})";
constexpr char kMigration[] = R"({
  "statistic": "mean", "measures": ["belong_perception"],
  "group_by": ["migration_background"], "purpose": "test"})";

TEST(CheckTicketTest, AcceptsTheTicketAsSubmitted) {
  v1::QueryInfo info = Info(Spec(kMean));
  auto checked = CheckTicket(info, "q-0123456789ab");
  ASSERT_THAT(checked, IsOk());
  EXPECT_EQ(checked->summary, info.summary());
  EXPECT_EQ(checked->ticket.requester_id(), "researcher");
}

TEST(CheckTicketTest, RefusesAnotherQuerysTicket) {
  EXPECT_THAT(CheckTicket(Info(Spec(kMean)), "q-other"),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       HasSubstr("q-0123456789ab")));
}

// The coordinator shows an innocent summary while the signed bytes ask for
// something else.
TEST(CheckTicketTest, RefusesASummaryThatIsNotTheTicket) {
  v1::QueryInfo info = Info(Spec(kMigration));
  info.set_summary(Info(Spec(kMean)).summary());
  EXPECT_THAT(
      CheckTicket(info, "q-0123456789ab"),
      StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("summary")));
  // Also when the parsed ticket it sends alongside looks innocent: only
  // ticket_bytes count.
  v1::QueryInfo swapped = Info(Spec(kMean));
  swapped.set_ticket_bytes(Info(Spec(kMigration)).ticket_bytes());
  EXPECT_THAT(CheckTicket(swapped, "q-0123456789ab"),
              StatusIs(absl::StatusCode::kFailedPrecondition));
}

TEST(CheckTicketTest, RefusesBytesWithHiddenContent) {
  v1::QueryInfo info = Info(Spec(kMean));
  // An unknown field (number 99, varint 1) appended to the signed bytes.
  info.set_ticket_bytes(info.ticket_bytes() + std::string("\x98\x06\x01", 3));
  EXPECT_THAT(
      CheckTicket(info, "q-0123456789ab"),
      StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("canonical")));
  // The same inside the spec (QueryTicket.spec, field 5).
  v1::QueryTicket t = Info(Spec(kMean)).ticket();
  std::string spec =
      api::CanonicalBytes(t.spec()) + std::string("\x98\x06\x01", 3);
  t.clear_spec();
  std::string bytes = api::CanonicalBytes(t);
  bytes += '\x2a';  // field 5, length-delimited
  bytes += static_cast<char>(spec.size());
  bytes += spec;
  info = Info(Spec(kMean));
  info.set_ticket_bytes(bytes);
  EXPECT_THAT(CheckTicket(info, "q-0123456789ab"),
              StatusIs(absl::StatusCode::kFailedPrecondition));
  // Fields out of order (spec last) are not canonical either.
  info.set_ticket_bytes(api::CanonicalBytes(t) + '\x2a' +
                        static_cast<char>(spec.size() - 3) +
                        spec.substr(0, spec.size() - 3));
  EXPECT_THAT(CheckTicket(info, "q-0123456789ab"),
              StatusIs(absl::StatusCode::kFailedPrecondition));
}

TEST(CheckTicketTest, RefusesMissingOrGarbledBytes) {
  v1::QueryInfo info = Info(Spec(kMean));
  info.clear_ticket_bytes();
  EXPECT_THAT(CheckTicket(info, "q-0123456789ab"),
              StatusIs(absl::StatusCode::kFailedPrecondition));
  info.set_ticket_bytes("\xff\xff\xff");
  EXPECT_THAT(CheckTicket(info, "q-0123456789ab"),
              StatusIs(absl::StatusCode::kFailedPrecondition));
}

TEST(CheckTicketTest, RefusesASpecItCannotCheck) {
  v1::QuerySpec spec = Spec(kMean);
  v1::QueryInfo info = Info(spec);
  v1::QueryTicket t = info.ticket();
  t.mutable_spec()->set_statistic("median");
  info.set_ticket_bytes(api::CanonicalBytes(t));
  EXPECT_THAT(CheckTicket(info, "q-0123456789ab"),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       HasSubstr("cannot check")));
}

}  // namespace
}  // namespace kring::client
