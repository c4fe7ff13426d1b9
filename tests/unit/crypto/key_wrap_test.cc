#include "crypto/key_wrap.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "kring/v1/keys.pb.h"
#include "tests/testing/status_matchers.h"

namespace kring::crypto {
namespace {

using ::kring::testing::IsOk;
using ::kring::testing::StatusIs;
using ::testing::Not;

SecretBytes Pass(std::string_view p) { return SecretBytes::CopyFrom(p); }

// Tests use libsodium's INTERACTIVE limits (64 MiB) to stay quick; one test
// checks the MODERATE default.
const PasswordHashLimits kFast = PasswordHashLimits::Interactive();

TEST(KeyWrapTest, RoundTrip) {
  SecretBytes key = SecretBytes::Random(32);
  KRING_ASSERT_OK_AND_ASSIGN(std::string wrapped,
                             WrapKey(key, Pass("correct horse"), kFast));
  KRING_ASSERT_OK_AND_ASSIGN(SecretBytes back,
                             UnwrapKey(wrapped, Pass("correct horse")));
  EXPECT_TRUE(back == key);
}

TEST(KeyWrapTest, DefaultUsesModerateLimitsAndRecordsThem) {
  SecretBytes key = SecretBytes::Random(32);
  KRING_ASSERT_OK_AND_ASSIGN(std::string wrapped, WrapKey(key, Pass("pw")));
  v1::WrappedKey msg;
  ASSERT_TRUE(msg.ParseFromString(wrapped));
  EXPECT_EQ(msg.opslimit(), PasswordHashLimits::Moderate().opslimit);
  EXPECT_EQ(msg.memlimit(), PasswordHashLimits::Moderate().memlimit);
  EXPECT_EQ(msg.version(), 1u);
  KRING_ASSERT_OK_AND_ASSIGN(SecretBytes back, UnwrapKey(wrapped, Pass("pw")));
  EXPECT_TRUE(back == key);
}

TEST(KeyWrapTest, WrongPassphraseIsRefused) {
  KRING_ASSERT_OK_AND_ASSIGN(
      std::string wrapped,
      WrapKey(SecretBytes::Random(32), Pass("right"), kFast));
  EXPECT_THAT(UnwrapKey(wrapped, Pass("wrong")),
              StatusIs(absl::StatusCode::kPermissionDenied));
}

TEST(KeyWrapTest, EveryStoredFieldIsAuthenticated) {
  KRING_ASSERT_OK_AND_ASSIGN(
      std::string wrapped, WrapKey(SecretBytes::Random(32), Pass("pw"), kFast));
  v1::WrappedKey orig;
  ASSERT_TRUE(orig.ParseFromString(wrapped));

  v1::WrappedKey m = orig;
  m.set_opslimit(orig.opslimit() + 1);
  EXPECT_THAT(UnwrapKey(m.SerializeAsString(), Pass("pw")), Not(IsOk()));
  m = orig;
  std::string salt = orig.salt();
  salt[0] ^= 1;
  m.set_salt(salt);
  EXPECT_THAT(UnwrapKey(m.SerializeAsString(), Pass("pw")), Not(IsOk()));
  m = orig;
  std::string sealed = orig.sealed_key();
  sealed[30] ^= 1;
  m.set_sealed_key(sealed);
  EXPECT_THAT(UnwrapKey(m.SerializeAsString(), Pass("pw")), Not(IsOk()));
  m = orig;
  m.set_sealed_key(orig.sealed_key().substr(0, 20));
  EXPECT_THAT(UnwrapKey(m.SerializeAsString(), Pass("pw")), Not(IsOk()));
  m = orig;
  m.set_version(2);
  EXPECT_THAT(UnwrapKey(m.SerializeAsString(), Pass("pw")),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST(KeyWrapTest, TamperedLimitsCannotWeakenOrHangTheNode) {
  KRING_ASSERT_OK_AND_ASSIGN(
      std::string wrapped, WrapKey(SecretBytes::Random(32), Pass("pw"), kFast));
  v1::WrappedKey m;
  ASSERT_TRUE(m.ParseFromString(wrapped));
  m.set_opslimit(1);
  EXPECT_THAT(UnwrapKey(m.SerializeAsString(), Pass("pw")),
              StatusIs(absl::StatusCode::kDataLoss));
  ASSERT_TRUE(m.ParseFromString(wrapped));
  m.set_memlimit(uint64_t{1} << 40);
  EXPECT_THAT(UnwrapKey(m.SerializeAsString(), Pass("pw")),
              StatusIs(absl::StatusCode::kDataLoss));
}

TEST(KeyWrapTest, GarbageIsAnErrorNotACrash) {
  for (std::string_view garbage :
       {std::string_view(""), std::string_view("\xff\xff\xff"),
        std::string_view("not a protobuf at all")}) {
    EXPECT_THAT(UnwrapKey(garbage, Pass("pw")), Not(IsOk()));
  }
}

TEST(KeyWrapTest, RejectsEmptyPassphraseAndWeakLimits) {
  SecretBytes key = SecretBytes::Random(32);
  EXPECT_THAT(WrapKey(key, SecretBytes(), kFast),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(WrapKey(key, Pass("pw"), {1, 8192}),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(WrapKey(SecretBytes(), Pass("pw"), kFast),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

}  // namespace
}  // namespace kring::crypto
