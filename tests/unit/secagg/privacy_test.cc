// Statistical tests (kept apart from the functional ones): what the
// coordinator sees of a surviving node — its masked vector — looks uniform
// and does not depend on the node's input.

#include <cmath>
#include <vector>

#include "crypto/secagg/bit_pack.h"
#include "crypto/secagg/simulator.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"

namespace kring::crypto::secagg {
namespace {

using ::kring::testing::IsOk;

constexpr uint32_t kNodes = 5;
constexpr uint32_t kDims = 32768;
constexpr uint32_t kTarget = 2;  // the node whose view we inspect
constexpr int kBins = 64;
// Chi-square critical value for 63 degrees of freedom at p = 1e-6 (the
// homogeneity test below also has 63). The runs are deterministic (seeded
// randomness), so the tests cannot flake.
constexpr double kCritical = 131.0;

struct View {
  std::vector<uint64_t> masked;  // the target's masked input as received
  int bits = 0;
};

View Observe(const std::vector<uint64_t>& target_input, uint64_t target_seed,
             uint64_t world_seed = 99) {
  SimulationConfig config;
  config.nodes = kNodes;
  config.dims = kDims;
  config.input_bound = 4;
  config.seed = world_seed;
  config.inputs[kTarget] = target_input;
  config.node_random_seeds[kTarget] = target_seed;
  View view;
  config.on_reply = [&](uint32_t from, const v1::SecAggMessage& m) {
    if (from == kTarget && m.has_masked_input()) {
      view.masked = *UnpackBits(m.masked_input().packed(),
                                static_cast<int>(view.bits), kDims);
    }
  };
  // The ring for bound 4 and 5 nodes: 20 < 32, so 5 bits.
  view.bits = 5;
  SimulationReport rep = RunSimulation(config);
  EXPECT_THAT(rep.status, IsOk());
  EXPECT_TRUE(rep.sum_correct);
  EXPECT_EQ(rep.modulus_bits, view.bits);
  return view;
}

std::vector<double> Histogram(const std::vector<uint64_t>& v, int bits) {
  std::vector<double> h(kBins, 0);
  // With 5-bit values, bin by value (32 bins) and by parity of the index to
  // reach 64 cells, which also catches position-dependent structure.
  for (size_t i = 0; i < v.size(); ++i) {
    size_t bin = (v[i] >> (bits > 5 ? bits - 5 : 0)) * 2 + (i % 2);
    h[bin % kBins] += 1;
  }
  return h;
}

double ChiSquareUniform(const std::vector<double>& h) {
  double total = 0;
  for (double x : h) total += x;
  double expected = total / static_cast<double>(h.size());
  double chi = 0;
  for (double x : h) chi += (x - expected) * (x - expected) / expected;
  return chi;
}

double ChiSquareHomogeneity(const std::vector<double>& a,
                            const std::vector<double>& b) {
  double na = 0, nb = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    na += a[i];
    nb += b[i];
  }
  double chi = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    double col = a[i] + b[i];
    if (col == 0) continue;
    double ea = col * na / (na + nb), eb = col * nb / (na + nb);
    chi += (a[i] - ea) * (a[i] - ea) / ea + (b[i] - eb) * (b[i] - eb) / eb;
  }
  return chi;
}

TEST(SecAggPrivacyStatisticalTest, MaskedInputLooksUniformForExtremeInputs) {
  View zeros = Observe(std::vector<uint64_t>(kDims, 0), 1);
  View fours = Observe(std::vector<uint64_t>(kDims, 4), 2);
  ASSERT_EQ(zeros.masked.size(), kDims);
  ASSERT_EQ(fours.masked.size(), kDims);
  double chi_zeros = ChiSquareUniform(Histogram(zeros.masked, zeros.bits));
  double chi_fours = ChiSquareUniform(Histogram(fours.masked, fours.bits));
  EXPECT_LT(chi_zeros, kCritical);
  EXPECT_LT(chi_fours, kCritical);
  // And the two views cannot be told apart.
  double chi_both = ChiSquareHomogeneity(Histogram(zeros.masked, zeros.bits),
                                         Histogram(fours.masked, fours.bits));
  EXPECT_LT(chi_both, kCritical);
}

TEST(SecAggPrivacyStatisticalTest, UnmaskedInputWouldFailTheSameTest) {
  // The test has power: the raw input of a school (small Likert sums) is
  // far from uniform and is rejected.
  std::vector<uint64_t> raw(kDims);
  for (size_t i = 0; i < raw.size(); ++i) raw[i] = i % 5;
  EXPECT_GT(ChiSquareUniform(Histogram(raw, 5)), 10 * kCritical);
}

TEST(SecAggPrivacyStatisticalTest, MaskDoesNotDependOnTheInput) {
  // Fixed randomness everywhere, two different inputs for the target: the
  // coordinator's view differs by exactly the input difference, i.e. the
  // mask (view minus input) is the same: the mask carries no trace of the
  // input.
  std::vector<uint64_t> a(kDims), b(kDims);
  for (size_t i = 0; i < kDims; ++i) {
    a[i] = i % 5;
    b[i] = 4 - i % 5;
  }
  View va = Observe(a, 7), vb = Observe(b, 7);
  const uint64_t mask = (uint64_t{1} << va.bits) - 1;
  for (size_t i = 0; i < kDims; ++i) {
    ASSERT_EQ((va.masked[i] - a[i]) & mask, (vb.masked[i] - b[i]) & mask)
        << "element " << i;
  }
}

}  // namespace
}  // namespace kring::crypto::secagg
