#include "crypto/mask_prg.h"

#include <cstring>
#include <vector>

#include "crypto/internal/raw.h"
#include "crypto/key_agreement.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"

namespace kring::crypto {
namespace {

using ::kring::testing::StatusIs;

RingModulus Ring(int bits) { return *RingModulus::Create(bits); }

TEST(RingModulusTest, ValidatesBits) {
  EXPECT_THAT(RingModulus::Create(0),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(RingModulus::Create(65),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_EQ(Ring(1).mask(), 1u);
  EXPECT_EQ(Ring(13).mask(), 0x1fffu);
  EXPECT_EQ(Ring(64).mask(), ~uint64_t{0});
}

TEST(RingModulusTest, ForMaxValueIsSmallestRingThatHoldsIt) {
  EXPECT_EQ(RingModulus::ForMaxValue(0).bits(), 1);
  EXPECT_EQ(RingModulus::ForMaxValue(1).bits(), 1);
  EXPECT_EQ(RingModulus::ForMaxValue(2).bits(), 2);
  EXPECT_EQ(RingModulus::ForMaxValue(255).bits(), 8);
  EXPECT_EQ(RingModulus::ForMaxValue(256).bits(), 9);
  EXPECT_EQ(RingModulus::ForMaxValue(~uint64_t{0}).bits(), 64);
}

TEST(MaskPrgTest, RejectsWrongSeedSize) {
  EXPECT_THAT(MaskPrg::Create(SecretBytes(16), "ctx"),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST(MaskPrgTest, DeterministicPerSeedAndContext) {
  SecretBytes seed = SecretBytes::Random(32);
  KRING_ASSERT_OK_AND_ASSIGN(MaskPrg a, MaskPrg::Create(seed, "q1/self"));
  KRING_ASSERT_OK_AND_ASSIGN(MaskPrg b, MaskPrg::Create(seed, "q1/self"));
  KRING_ASSERT_OK_AND_ASSIGN(MaskPrg c, MaskPrg::Create(seed, "q2/self"));
  std::vector<uint64_t> va(1000), vb(1000), vc(1000);
  a.Expand(Ring(64), va);
  b.Expand(Ring(64), vb);
  c.Expand(Ring(64), vc);
  EXPECT_EQ(va, vb);
  EXPECT_NE(va, vc);
}

// A known-answer test of the composition against the raw primitive: the mask
// is the ChaCha20 (RFC 8439) keystream under DeriveKey(seed, label, context)
// with a zero nonce, read as little-endian words.
TEST(MaskPrgTest, MatchesDocumentedConstruction) {
  SecretBytes seed = SecretBytes::Random(32);
  KRING_ASSERT_OK_AND_ASSIGN(SecretBytes subkey,
                             DeriveKey(seed, "kring-mask-prg-v1", "ctx"));
  KRING_ASSERT_OK_AND_ASSIGN(
      std::string stream,
      internal::ChaCha20Xor(subkey.view(), std::string(12, '\0'), 0,
                            std::string(8 * 3000, '\0')));
  KRING_ASSERT_OK_AND_ASSIGN(MaskPrg prg, MaskPrg::Create(seed, "ctx"));
  for (int bits : {1, 7, 32, 33, 64}) {
    std::vector<uint64_t> got(3000);
    prg.Expand(Ring(bits), got);
    size_t w = bits <= 32 ? 4 : 8;
    for (size_t i = 0; i < got.size(); ++i) {
      uint64_t word = 0;
      std::memcpy(&word, stream.data() + i * w, w);
      ASSERT_EQ(got[i], word & Ring(bits).mask())
          << "bits " << bits << " i " << i;
    }
  }
}

TEST(MaskPrgTest, PrefixIsStableAcrossLengths) {
  KRING_ASSERT_OK_AND_ASSIGN(MaskPrg prg,
                             MaskPrg::Create(SecretBytes::Random(32), "ctx"));
  std::vector<uint64_t> shorter(1500), longer(5000);
  prg.Expand(Ring(20), shorter);
  prg.Expand(Ring(20), longer);
  EXPECT_TRUE(std::equal(shorter.begin(), shorter.end(), longer.begin()));
}

TEST(MaskPrgTest, ValuesAreReducedModulo2m) {
  KRING_ASSERT_OK_AND_ASSIGN(MaskPrg prg,
                             MaskPrg::Create(SecretBytes::Random(32), "ctx"));
  for (int bits : {1, 5, 31, 32, 33, 63}) {
    std::vector<uint64_t> v(4096, 0);
    prg.AddTo(Ring(bits), v);
    for (uint64_t x : v) ASSERT_LE(x, Ring(bits).mask());
  }
}

TEST(MaskPrgTest, AddThenSubtractRestoresInput) {
  KRING_ASSERT_OK_AND_ASSIGN(MaskPrg prg,
                             MaskPrg::Create(SecretBytes::Random(32), "ctx"));
  for (int bits : {1, 8, 17, 32, 40, 64}) {
    RingModulus ring = Ring(bits);
    std::vector<uint64_t> input(3333);
    for (size_t i = 0; i < input.size(); ++i) input[i] = ring.Reduce(i * 7919);
    std::vector<uint64_t> v = input;
    prg.AddTo(ring, v);
    EXPECT_NE(v, input);
    prg.SubtractFrom(ring, v);
    EXPECT_EQ(v, input) << "bits " << bits;
  }
}

// Pairwise masks over a complete graph: u adds PRG(s_uv) for v > u and
// subtracts it for v < u; the sum of all masks is exactly zero.
TEST(MaskPrgTest, PairwiseMasksCancelOverCompleteGraph) {
  constexpr int kNodes = 7;
  constexpr size_t kDims = 2500;
  std::vector<X25519KeyPair> keys;
  for (int i = 0; i < kNodes; ++i) keys.push_back(X25519KeyPair::Generate());
  const KeyAgreementContext ctx{"secagg/mask", "q", 2};
  for (int bits : {1, 12, 32, 48, 64}) {
    RingModulus ring = Ring(bits);
    std::vector<uint64_t> inputs_sum(kDims, 0), masked_sum(kDims, 0);
    for (int u = 0; u < kNodes; ++u) {
      std::vector<uint64_t> y(kDims);
      for (size_t i = 0; i < kDims; ++i) {
        y[i] = ring.Reduce((u + 1) * 1000003ull * (i + 1));
        inputs_sum[i] = ring.Reduce(inputs_sum[i] + y[i]);
      }
      for (int v = 0; v < kNodes; ++v) {
        if (v == u) continue;
        KRING_ASSERT_OK_AND_ASSIGN(
            SecretBytes s,
            keys[u].Agree(std::to_string(u), keys[v].public_key(),
                          std::to_string(v), ctx));
        KRING_ASSERT_OK_AND_ASSIGN(MaskPrg prg, MaskPrg::Create(s, "pair"));
        if (v > u) {
          prg.AddTo(ring, y);
        } else {
          prg.SubtractFrom(ring, y);
        }
      }
      for (size_t i = 0; i < kDims; ++i) {
        masked_sum[i] = ring.Reduce(masked_sum[i] + y[i]);
      }
    }
    EXPECT_EQ(masked_sum, inputs_sum) << "bits " << bits;
  }
}

}  // namespace
}  // namespace kring::crypto
