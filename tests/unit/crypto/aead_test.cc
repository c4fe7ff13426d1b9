#include "crypto/aead.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"

namespace kring::crypto {
namespace {

using ::kring::testing::IsOk;
using ::kring::testing::StatusIs;

constexpr std::string_view kAd = "query=q1|round=1|from=a|to=b";

TEST(AeadTest, RoundTrip) {
  Aead aead = Aead::Generate();
  KRING_ASSERT_OK_AND_ASSIGN(std::string sealed, aead.Seal("hello", kAd));
  EXPECT_EQ(sealed.size(), 5 + Aead::kOverheadBytes);
  KRING_ASSERT_OK_AND_ASSIGN(SecretBytes plain, aead.Open(sealed, kAd));
  EXPECT_EQ(plain.view(), "hello");
}

TEST(AeadTest, EmptyPlaintextRoundTrips) {
  Aead aead = Aead::Generate();
  KRING_ASSERT_OK_AND_ASSIGN(std::string sealed, aead.Seal("", kAd));
  KRING_ASSERT_OK_AND_ASSIGN(SecretBytes plain, aead.Open(sealed, kAd));
  EXPECT_TRUE(plain.empty());
}

TEST(AeadTest, FreshNonceEveryTime) {
  Aead aead = Aead::Generate();
  KRING_ASSERT_OK_AND_ASSIGN(std::string a, aead.Seal("same", kAd));
  KRING_ASSERT_OK_AND_ASSIGN(std::string b, aead.Seal("same", kAd));
  EXPECT_NE(a.substr(0, Aead::kNonceBytes), b.substr(0, Aead::kNonceBytes));
  EXPECT_NE(a, b);
}

TEST(AeadTest, EveryFlippedBitIsDetected) {
  Aead aead = Aead::Generate();
  KRING_ASSERT_OK_AND_ASSIGN(std::string sealed, aead.Seal("pupil data", kAd));
  for (size_t i = 0; i < sealed.size(); ++i) {
    for (int bit = 0; bit < 8; ++bit) {
      std::string t = sealed;
      t[i] = static_cast<char>(t[i] ^ (1 << bit));
      EXPECT_THAT(aead.Open(t, kAd), StatusIs(absl::StatusCode::kDataLoss))
          << "byte " << i << " bit " << bit;
    }
  }
}

TEST(AeadTest, TruncationIsDetected) {
  Aead aead = Aead::Generate();
  KRING_ASSERT_OK_AND_ASSIGN(std::string sealed, aead.Seal("pupil data", kAd));
  for (size_t len = 0; len < sealed.size(); ++len) {
    EXPECT_THAT(aead.Open(sealed.substr(0, len), kAd),
                StatusIs(absl::StatusCode::kDataLoss))
        << "length " << len;
  }
  EXPECT_THAT(aead.Open(sealed + "x", kAd),
              StatusIs(absl::StatusCode::kDataLoss));
}

TEST(AeadTest, WrongAssociatedDataIsDetected) {
  Aead aead = Aead::Generate();
  KRING_ASSERT_OK_AND_ASSIGN(std::string sealed, aead.Seal("x", kAd));
  EXPECT_THAT(aead.Open(sealed, "query=q1|round=1|from=b|to=a"),
              StatusIs(absl::StatusCode::kDataLoss));
}

TEST(AeadTest, WrongKeyIsDetected) {
  Aead a = Aead::Generate(), b = Aead::Generate();
  KRING_ASSERT_OK_AND_ASSIGN(std::string sealed, a.Seal("x", kAd));
  EXPECT_THAT(b.Open(sealed, kAd), StatusIs(absl::StatusCode::kDataLoss));
}

TEST(AeadTest, EmptyAssociatedDataIsRefused) {
  Aead aead = Aead::Generate();
  EXPECT_THAT(aead.Seal("x", ""), StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(aead.Open(std::string(60, 'a'), ""),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST(AeadTest, KeyMustBe32Bytes) {
  EXPECT_THAT(Aead::Create(SecretBytes(16)),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(Aead::Create(SecretBytes(32)), IsOk());
}

}  // namespace
}  // namespace kring::crypto
