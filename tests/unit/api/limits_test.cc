#include "api/limits.h"

#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "kring/v1/service.pb.h"
#include "tests/testing/status_matchers.h"

namespace kring::api {
namespace {

using ::kring::testing::IsOk;
using ::kring::testing::StatusIs;
using ::testing::AllOf;
using ::testing::HasSubstr;

TEST(LimitsTest, PurposeUpTo4KiB) {
  v1::SubmitQueryRequest r;
  r.mutable_spec()->set_purpose(std::string(kMaxPurposeBytes, 'x'));
  EXPECT_THAT(CheckRequestLimits(r), IsOk());
  r.mutable_spec()->set_purpose(std::string(kMaxPurposeBytes + 1, 'x'));
  EXPECT_THAT(CheckRequestLimits(r),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       AllOf(HasSubstr("spec.purpose"), HasSubstr("4097"),
                             HasSubstr("limit is 4096"))));
}

TEST(LimitsTest, ReasonsAndOtherTextNameTheirField) {
  v1::RejectQueryRequest reject;
  reject.set_reason(std::string(kMaxReasonBytes + 1, 'r'));
  EXPECT_THAT(CheckRequestLimits(reject),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("reason is 1025 bytes")));
  v1::NodeToCoordinator decline;
  decline.mutable_decision()->set_reason(std::string(kMaxReasonBytes + 1, 'r'));
  EXPECT_THAT(CheckFieldLimits(decline),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("decision.reason")));
  v1::CreateEnrollmentCodeRequest code;
  code.set_school_name(std::string(kMaxTextBytes + 1, 'n'));
  EXPECT_THAT(
      CheckRequestLimits(code),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("school_name")));
  v1::GetQueryRequest get;
  get.mutable_auth()->set_user_id(std::string(kMaxTextBytes + 1, 'u'));
  EXPECT_THAT(
      CheckRequestLimits(get),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("auth.user_id")));
}

TEST(LimitsTest, RepeatedFieldsAndTheirEntries) {
  v1::SubmitQueryRequest r;
  for (size_t i = 0; i < kMaxMunicipalities; ++i) {
    r.mutable_spec()->mutable_population()->add_municipalities("GM0363");
  }
  EXPECT_THAT(CheckRequestLimits(r), IsOk());
  r.mutable_spec()->mutable_population()->add_municipalities("GM0363");
  EXPECT_THAT(CheckRequestLimits(r),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("spec.population.municipalities has 513")));
  v1::SubmitQueryRequest measures;
  measures.mutable_spec()->add_measures("ok");
  measures.mutable_spec()->add_measures(std::string(kMaxTextBytes + 1, 'm'));
  EXPECT_THAT(CheckRequestLimits(measures),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("spec.measures[1]")));
}

TEST(LimitsTest, AWholeRequestWithin64KiB) {
  v1::RegisterUserRequest r;
  for (size_t i = 0; i < kMaxMunicipalities; ++i) {
    r.add_municipalities(std::string(kMaxTextBytes, 'g'));
  }
  EXPECT_THAT(CheckRequestLimits(r),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("limit is 65536 bytes")));
}

TEST(LimitsTest, SecureAggregationPayloadsAreLeftToTheProtocol) {
  v1::NodeToCoordinator m;
  m.mutable_secagg()->set_query_id("q");
  m.mutable_secagg()->mutable_masked_input()->set_packed(
      std::string(1 << 20, 'p'));
  EXPECT_THAT(CheckFieldLimits(m), IsOk());
}

}  // namespace
}  // namespace kring::api
