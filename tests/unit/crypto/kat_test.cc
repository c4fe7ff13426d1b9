// Known-answer tests: published vectors fed through exactly the libsodium
// calls kring composes, and through the public API where it exposes them.

#include <string>

#include "crypto/aead.h"
#include "crypto/identity.h"
#include "crypto/internal/encoding.h"
#include "crypto/internal/raw.h"
#include "crypto/key_agreement.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"
#include "tests/unit/crypto/kat_vectors.h"

namespace kring::crypto {
namespace {

using ::kring::testing::IsOk;
using ::kring::testing::StatusIs;

std::string H(std::string_view hex) { return *internal::HexDecode(hex); }
std::string Hex(std::string_view bytes) { return internal::HexEncode(bytes); }

struct Ed25519Vector {
  const char* seed;
  const char* public_key;
  const char* message;
  const char* signature;
};

class Rfc8032Ed25519Kat : public ::testing::TestWithParam<Ed25519Vector> {};

TEST_P(Rfc8032Ed25519Kat, PublicKeyFromSeed) {
  KRING_ASSERT_OK_AND_ASSIGN(
      auto key,
      IdentityKeyPair::FromSeed(SecretBytes::CopyFrom(H(GetParam().seed))));
  EXPECT_EQ(Hex(key.public_key().bytes()), GetParam().public_key);
}

TEST_P(Rfc8032Ed25519Kat, RawSignatureMatches) {
  // libsodium's secret key is seed || public key.
  std::string sk = H(GetParam().seed) + H(GetParam().public_key);
  KRING_ASSERT_OK_AND_ASSIGN(std::string sig,
                             internal::Ed25519Sign(sk, H(GetParam().message)));
  EXPECT_EQ(Hex(sig), GetParam().signature);
}

TEST_P(Rfc8032Ed25519Kat, RawSignatureVerifiesAndRejectsTampering) {
  std::string pk = H(GetParam().public_key), msg = H(GetParam().message),
              sig = H(GetParam().signature);
  EXPECT_TRUE(internal::Ed25519Verify(pk, msg, sig));
  sig[0] ^= 1;
  EXPECT_FALSE(internal::Ed25519Verify(pk, msg, sig));
  sig[0] ^= 1;
  EXPECT_FALSE(internal::Ed25519Verify(pk, msg + "x", sig));
}

TEST_P(Rfc8032Ed25519Kat, ContextSignatureIsNotTheRawSignature) {
  // kring never signs raw messages: a raw RFC 8032 signature must not verify
  // under any context.
  KRING_ASSERT_OK_AND_ASSIGN(
      auto pk, IdentityPublicKey::FromBytes(H(GetParam().public_key)));
  EXPECT_THAT(pk.Verify("secagg/advertise-keys", H(GetParam().message),
                        H(GetParam().signature)),
              StatusIs(absl::StatusCode::kUnauthenticated));
}

INSTANTIATE_TEST_SUITE_P(
    Rfc8032, Rfc8032Ed25519Kat,
    ::testing::Values(
        Ed25519Vector{kat::kEd25519Test1Seed, kat::kEd25519Test1Public,
                      kat::kEd25519Test1Message, kat::kEd25519Test1Signature},
        Ed25519Vector{kat::kEd25519Test2Seed, kat::kEd25519Test2Public,
                      kat::kEd25519Test2Message, kat::kEd25519Test2Signature},
        Ed25519Vector{kat::kEd25519Test3Seed, kat::kEd25519Test3Public,
                      kat::kEd25519Test3Message, kat::kEd25519Test3Signature}),
    [](const ::testing::TestParamInfo<Ed25519Vector>& info) {
      return "Test" + std::to_string(info.index + 1);
    });

TEST(Rfc7748X25519Kat, SingleCallVector1) {
  KRING_ASSERT_OK_AND_ASSIGN(
      std::string out,
      internal::X25519(H(kat::kX25519Vector1Scalar), H(kat::kX25519Vector1U)));
  EXPECT_EQ(Hex(out), kat::kX25519Vector1Out);
}

TEST(Rfc7748X25519Kat, SingleCallVector2) {
  KRING_ASSERT_OK_AND_ASSIGN(
      std::string out,
      internal::X25519(H(kat::kX25519Vector2Scalar), H(kat::kX25519Vector2U)));
  EXPECT_EQ(Hex(out), kat::kX25519Vector2Out);
}

TEST(Rfc7748X25519Kat, Iterated1000) {
  std::string k = H("09") + std::string(31, '\0'), u = k;
  for (int i = 1; i <= 1000; ++i) {
    KRING_ASSERT_OK_AND_ASSIGN(std::string out, internal::X25519(k, u));
    u = k;
    k = out;
    if (i == 1) {
      EXPECT_EQ(Hex(k), kat::kX25519Iterated1);
    }
  }
  EXPECT_EQ(Hex(k), kat::kX25519Iterated1000);
}

TEST(Rfc7748X25519Kat, DiffieHellmanPublicKeys) {
  KRING_ASSERT_OK_AND_ASSIGN(
      auto alice, X25519KeyPair::FromSecret(
                      SecretBytes::CopyFrom(H(kat::kX25519AlicePrivate))));
  KRING_ASSERT_OK_AND_ASSIGN(
      auto bob, X25519KeyPair::FromSecret(
                    SecretBytes::CopyFrom(H(kat::kX25519BobPrivate))));
  EXPECT_EQ(Hex(alice.public_key()), kat::kX25519AlicePublic);
  EXPECT_EQ(Hex(bob.public_key()), kat::kX25519BobPublic);
}

TEST(Rfc7748X25519Kat, DiffieHellmanSharedSecret) {
  KRING_ASSERT_OK_AND_ASSIGN(
      std::string ab,
      internal::X25519(H(kat::kX25519AlicePrivate), H(kat::kX25519BobPublic)));
  KRING_ASSERT_OK_AND_ASSIGN(
      std::string ba,
      internal::X25519(H(kat::kX25519BobPrivate), H(kat::kX25519AlicePublic)));
  EXPECT_EQ(Hex(ab), kat::kX25519Shared);
  EXPECT_EQ(Hex(ba), kat::kX25519Shared);
}

TEST(XChaCha20Poly1305DraftKat, SealMatchesPublishedCiphertextAndTag) {
  KRING_ASSERT_OK_AND_ASSIGN(
      std::string out,
      internal::XChaChaSeal(H(kat::kXChaChaKey), H(kat::kXChaChaNonce),
                            H(kat::kXChaChaPlaintext), H(kat::kXChaChaAad)));
  EXPECT_EQ(Hex(out), std::string(kat::kXChaChaCiphertext) + kat::kXChaChaTag);
}

TEST(XChaCha20Poly1305DraftKat, OpenRecoversPlaintext) {
  KRING_ASSERT_OK_AND_ASSIGN(
      std::string plain,
      internal::XChaChaOpen(H(kat::kXChaChaKey), H(kat::kXChaChaNonce),
                            H(kat::kXChaChaCiphertext) + H(kat::kXChaChaTag),
                            H(kat::kXChaChaAad)));
  EXPECT_EQ(Hex(plain), kat::kXChaChaPlaintext);
}

TEST(XChaCha20Poly1305DraftKat, AeadOpensVectorInKringFormat) {
  // kring's sealed format is nonce || ciphertext || tag.
  KRING_ASSERT_OK_AND_ASSIGN(
      Aead aead, Aead::Create(SecretBytes::CopyFrom(H(kat::kXChaChaKey))));
  std::string sealed =
      H(kat::kXChaChaNonce) + H(kat::kXChaChaCiphertext) + H(kat::kXChaChaTag);
  KRING_ASSERT_OK_AND_ASSIGN(SecretBytes plain,
                             aead.Open(sealed, H(kat::kXChaChaAad)));
  EXPECT_EQ(Hex(plain.view()), kat::kXChaChaPlaintext);
  sealed.back() ^= 0x80;
  EXPECT_THAT(aead.Open(sealed, H(kat::kXChaChaAad)),
              StatusIs(absl::StatusCode::kDataLoss));
}

TEST(Rfc8439ChaCha20Kat, SunscreenEncryption) {
  KRING_ASSERT_OK_AND_ASSIGN(
      std::string out,
      internal::ChaCha20Xor(H(kat::kChaChaKey), H(kat::kChaChaNonce), 1,
                            H(kat::kXChaChaPlaintext)));
  EXPECT_EQ(Hex(out), kat::kChaChaCiphertext);
}

TEST(Rfc8439ChaCha20Kat, BlockVector1Keystream) {
  KRING_ASSERT_OK_AND_ASSIGN(
      std::string out,
      internal::ChaCha20Xor(std::string(32, '\0'), std::string(12, '\0'), 0,
                            std::string(64, '\0')));
  EXPECT_EQ(Hex(out), kat::kChaChaA1Keystream);
}

TEST(Rfc8439ChaCha20Kat, RejectsWrongKeyAndNonceSizes) {
  EXPECT_THAT(internal::ChaCha20Xor(std::string(31, '\0'),
                                    std::string(12, '\0'), 0, "x"),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(internal::ChaCha20Xor(std::string(32, '\0'), std::string(8, '\0'),
                                    0, "x"),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

}  // namespace
}  // namespace kring::crypto
