#include "crypto/key_agreement.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"

namespace kring::crypto {
namespace {

using ::kring::testing::IsOk;
using ::kring::testing::StatusIs;

const KeyAgreementContext kCtx{"secagg/share-encryption", "query-1", 1};

TEST(KeyAgreementTest, BothPartiesDeriveTheSameKey) {
  X25519KeyPair a = X25519KeyPair::Generate(), b = X25519KeyPair::Generate();
  KRING_ASSERT_OK_AND_ASSIGN(SecretBytes ka,
                             a.Agree("node-a", b.public_key(), "node-b", kCtx));
  KRING_ASSERT_OK_AND_ASSIGN(SecretBytes kb,
                             b.Agree("node-b", a.public_key(), "node-a", kCtx));
  EXPECT_EQ(ka.size(), kAgreedKeyBytes);
  EXPECT_TRUE(ka == kb);
}

TEST(KeyAgreementTest, KeyIsBoundToEveryContextField) {
  X25519KeyPair a = X25519KeyPair::Generate(), b = X25519KeyPair::Generate();
  KRING_ASSERT_OK_AND_ASSIGN(SecretBytes base,
                             a.Agree("node-a", b.public_key(), "node-b", kCtx));
  std::vector<KeyAgreementContext> variants = {
      {"secagg/mask", "query-1", 1},
      {"secagg/share-encryption", "query-2", 1},
      {"secagg/share-encryption", "query-1", 2},
  };
  for (const auto& ctx : variants) {
    KRING_ASSERT_OK_AND_ASSIGN(
        SecretBytes k, a.Agree("node-a", b.public_key(), "node-b", ctx));
    EXPECT_FALSE(k == base) << ctx.label << " " << ctx.query_id;
  }
  // Same keys, but a party claims a different identity.
  KRING_ASSERT_OK_AND_ASSIGN(SecretBytes k,
                             a.Agree("node-a", b.public_key(), "node-c", kCtx));
  EXPECT_FALSE(k == base);
}

TEST(KeyAgreementTest, DifferentPeersGiveDifferentKeys) {
  X25519KeyPair a = X25519KeyPair::Generate(), b = X25519KeyPair::Generate(),
                c = X25519KeyPair::Generate();
  KRING_ASSERT_OK_AND_ASSIGN(SecretBytes ab,
                             a.Agree("a", b.public_key(), "b", kCtx));
  KRING_ASSERT_OK_AND_ASSIGN(SecretBytes ac,
                             a.Agree("a", c.public_key(), "b", kCtx));
  EXPECT_FALSE(ab == ac);
}

TEST(KeyAgreementTest, RejectsBadInputs) {
  X25519KeyPair a = X25519KeyPair::Generate(), b = X25519KeyPair::Generate();
  EXPECT_THAT(a.Agree("a", b.public_key(), "a", kCtx),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(a.Agree("", b.public_key(), "b", kCtx),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(a.Agree("a", b.public_key().substr(1), "b", kCtx),
              StatusIs(absl::StatusCode::kInvalidArgument));
  // Small-order points give an all-zero DH output and must be refused.
  EXPECT_THAT(a.Agree("a", std::string(32, '\0'), "b", kCtx),
              StatusIs(absl::StatusCode::kInvalidArgument));
  std::string one(32, '\0');
  one[0] = 1;
  EXPECT_THAT(a.Agree("a", one, "b", kCtx),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(a.Agree("a", b.public_key(), "b", {"", "q", 0}),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(X25519KeyPair::FromSecret(SecretBytes(31)),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST(DeriveKeyTest, DeterministicAndSeparatedByLabelAndContext) {
  SecretBytes ikm = SecretBytes::Random(32);
  KRING_ASSERT_OK_AND_ASSIGN(SecretBytes k1, DeriveKey(ikm, "label", "ctx"));
  KRING_ASSERT_OK_AND_ASSIGN(SecretBytes k2, DeriveKey(ikm, "label", "ctx"));
  KRING_ASSERT_OK_AND_ASSIGN(SecretBytes k3, DeriveKey(ikm, "label2", "ctx"));
  KRING_ASSERT_OK_AND_ASSIGN(SecretBytes k4, DeriveKey(ikm, "label", "ctx2"));
  // Length prefixes keep ("ab","c") apart from ("a","bc").
  KRING_ASSERT_OK_AND_ASSIGN(SecretBytes k5, DeriveKey(ikm, "ab", "c"));
  KRING_ASSERT_OK_AND_ASSIGN(SecretBytes k6, DeriveKey(ikm, "a", "bc"));
  EXPECT_TRUE(k1 == k2);
  EXPECT_FALSE(k1 == k3);
  EXPECT_FALSE(k1 == k4);
  EXPECT_FALSE(k5 == k6);
}

TEST(DeriveKeyTest, RejectsBadLengths) {
  EXPECT_THAT(DeriveKey(SecretBytes(8), "l", "c"),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(DeriveKey(SecretBytes(32), "l", "c", 8),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(DeriveKey(SecretBytes(32), "", "c"),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(DeriveKey(SecretBytes(32), "l", "c", 64), IsOk());
}

}  // namespace
}  // namespace kring::crypto
