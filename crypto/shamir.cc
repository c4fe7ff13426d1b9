#include "crypto/shamir.h"

#include <sodium.h>

#include <array>
#include <cstring>
#include <set>

#include "absl/status/status.h"
#include "crypto/init.h"
#include "util/str_cat.h"

namespace kring::crypto {
namespace {

constexpr size_t kScalar = crypto_core_ristretto255_SCALARBYTES;  // 32
constexpr size_t kHalf = 16;

// A field element that wipes itself.
struct Scalar {
  std::array<uint8_t, kScalar> v{};
  ~Scalar() { sodium_memzero(v.data(), v.size()); }
  uint8_t* data() { return v.data(); }
  const uint8_t* data() const { return v.data(); }
};

Scalar FromU32(uint32_t x) {
  Scalar s;
  for (int i = 0; i < 4; ++i) s.v[i] = static_cast<uint8_t>(x >> (8 * i));
  return s;
}

// l, little-endian.
constexpr uint8_t kOrder[kScalar] = {
    0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7,
    0xa2, 0xde, 0xf9, 0xde, 0x14, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x10};

// s < l, in constant time (sodium_compare), without a reduction.
bool IsCanonical(const uint8_t* s) {
  return sodium_compare(s, kOrder, kScalar) < 0;
}

bool FitsInHalf(const uint8_t* s) {
  for (size_t i = kHalf; i < kScalar; ++i) {
    if (s[i] != 0) return false;
  }
  return true;
}

absl::Status CheckDistinctNonZero(std::span<const uint32_t> xs,
                                  bool allow_zero = false) {
  std::set<uint32_t> seen;
  for (uint32_t x : xs) {
    if (x == 0 && !allow_zero) {
      return absl::InvalidArgumentError(
          "share point x = 0 is not allowed (it would be the secret)");
    }
    if (!seen.insert(x).second) {
      return absl::InvalidArgumentError(
          StrCat("duplicate share point x = ", x));
    }
  }
  return absl::OkStatus();
}

Scalar FromU64(uint64_t v) {
  Scalar s;
  for (int i = 0; i < 8; ++i) s.v[i] = static_cast<uint8_t>(v >> (8 * i));
  return s;
}

// den[j] = prod_{m != j} (x_j - x_m). The points are public, so the
// differences (below 2^32) are multiplied as exact integers for as long as
// the product fits in 64 bits, and only then folded into the field: a few
// field multiplications per 64-bit word instead of one per difference.
void Denominators(std::span<const uint32_t> xs, std::vector<Scalar>& den) {
  const size_t t = xs.size();
  for (size_t j = 0; j < t; ++j) {
    Scalar d = FromU32(1);
    uint64_t acc = 1;
    bool negative = false;
    for (size_t m = 0; m < t; ++m) {
      if (m == j) continue;
      const uint64_t diff =
          xs[j] > xs[m] ? uint64_t{xs[j]} - xs[m] : uint64_t{xs[m]} - xs[j];
      negative ^= xs[j] < xs[m];
      uint64_t product;
      if (__builtin_mul_overflow(acc, diff, &product)) {
        Scalar word = FromU64(acc);
        crypto_core_ristretto255_scalar_mul(d.data(), d.data(), word.data());
        product = diff;
      }
      acc = product;
    }
    Scalar word = FromU64(acc);
    crypto_core_ristretto255_scalar_mul(den[j].data(), d.data(), word.data());
    if (negative) {
      crypto_core_ristretto255_scalar_negate(den[j].data(), den[j].data());
    }
  }
}

// Lagrange basis weights for interpolating at `at` from the points `xs`:
// w_j = prod_{m != j} (at - x_m) / (x_j - x_m). The numerators come from
// prefix and suffix products, and the t denominators are inverted together
// with one field inversion (Montgomery's trick). The points are public; no
// secret enters this computation.
absl::StatusOr<std::vector<Scalar>> LagrangeWeights(
    std::span<const uint32_t> xs, uint32_t at) {
  const size_t t = xs.size();
  std::vector<Scalar> diff_at(t), den(t), w(t);
  Scalar s_at = FromU32(at);
  for (size_t j = 0; j < t; ++j) {
    Scalar sx = FromU32(xs[j]);
    crypto_core_ristretto255_scalar_sub(diff_at[j].data(), s_at.data(),
                                        sx.data());
  }
  Denominators(xs, den);
  // prefix[j] = den[0] * ... * den[j-1]
  std::vector<Scalar> prefix(t + 1);
  prefix[0] = FromU32(1);
  for (size_t j = 0; j < t; ++j) {
    crypto_core_ristretto255_scalar_mul(prefix[j + 1].data(), prefix[j].data(),
                                        den[j].data());
  }
  Scalar inv;
  if (crypto_core_ristretto255_scalar_invert(inv.data(), prefix[t].data()) !=
      0) {
    return absl::InvalidArgumentError("duplicate share points");
  }
  // Walk back: inv = 1 / (den[0] ... den[j]) at the top of each step, and
  // suffix = prod_{m > j} (at - x_m).
  Scalar suffix = FromU32(1);
  for (size_t j = t; j-- > 0;) {
    Scalar inv_j;
    crypto_core_ristretto255_scalar_mul(inv_j.data(), inv.data(),
                                        prefix[j].data());
    crypto_core_ristretto255_scalar_mul(inv.data(), inv.data(), den[j].data());
    // w[j] = prod_{m > j} (at - x_m) / den[j]; the factors m < j follow.
    crypto_core_ristretto255_scalar_mul(w[j].data(), suffix.data(),
                                        inv_j.data());
    crypto_core_ristretto255_scalar_mul(suffix.data(), suffix.data(),
                                        diff_at[j].data());
  }
  Scalar before = FromU32(1);
  for (size_t j = 0; j < t; ++j) {
    crypto_core_ristretto255_scalar_mul(w[j].data(), w[j].data(),
                                        before.data());
    crypto_core_ristretto255_scalar_mul(before.data(), before.data(),
                                        diff_at[j].data());
  }
  return w;
}

// y = sum_j w_j * y_j (both halves), where y(j) is the value of share j.
template <typename Weights, typename ValueOf>
SecretBytes CombineWith(const Weights& w, ValueOf y) {
  SecretBytes out(ShamirShare::kValueBytes);
  for (size_t half = 0; half < 2; ++half) {
    Scalar acc, t;
    for (size_t j = 0; j < w.size(); ++j) {
      crypto_core_ristretto255_scalar_mul(t.data(), w[j].data(),
                                          y(j) + half * kScalar);
      crypto_core_ristretto255_scalar_add(acc.data(), acc.data(), t.data());
    }
    std::memcpy(out.data() + half * kScalar, acc.data(), kScalar);
  }
  return out;
}

SecretBytes Combine(std::span<const ShamirShare> shares,
                    const std::vector<Scalar>& w) {
  return CombineWith(w, [&](size_t j) { return shares[j].y.data(); });
}

// The value of `s` is two canonical scalars.
absl::Status CheckValue(const ShamirShare& s) {
  if (s.y.size() != ShamirShare::kValueBytes) {
    return absl::InvalidArgumentError(StrCat("malformed share at x = ", s.x,
                                             ": value is ", s.y.size(),
                                             " bytes, expected 64"));
  }
  if (!IsCanonical(s.y.data()) || !IsCanonical(s.y.data() + kScalar)) {
    return absl::InvalidArgumentError(StrCat(
        "malformed share at x = ", s.x, ": not a canonical field element"));
  }
  return absl::OkStatus();
}

absl::Status CheckShares(std::span<const ShamirShare> shares,
                         bool allow_zero = false) {
  std::vector<uint32_t> xs;
  xs.reserve(shares.size());
  for (const auto& s : shares) {
    if (auto st = CheckValue(s); !st.ok()) return st;
    xs.push_back(s.x);
  }
  return CheckDistinctNonZero(xs, allow_zero);
}

// The 32-byte secret in the low halves of y0, or DATA_LOSS if a half is out
// of range (a corrupt share).
absl::StatusOr<SecretBytes> SecretFrom(const SecretBytes& y0) {
  if (!FitsInHalf(y0.data()) || !FitsInHalf(y0.data() + kScalar)) {
    return absl::DataLossError(
        "shares are inconsistent: they do not interpolate to a valid secret");
  }
  SecretBytes secret(2 * kHalf);
  std::memcpy(secret.data(), y0.data(), kHalf);
  std::memcpy(secret.data() + kHalf, y0.data() + kScalar, kHalf);
  return secret;
}

}  // namespace

SecretBytes ShamirShare::Serialize() const {
  SecretBytes out(kSerializedBytes);
  for (int i = 0; i < 4; ++i)
    out.data()[i] = static_cast<uint8_t>(x >> (8 * i));
  if (y.size() == kValueBytes)
    std::memcpy(out.data() + 4, y.data(), kValueBytes);
  return out;
}

absl::StatusOr<ShamirShare> ShamirShare::Parse(std::string_view bytes) {
  if (auto s = Init(); !s.ok()) return s;
  if (bytes.size() != kSerializedBytes) {
    return absl::InvalidArgumentError(StrCat("a serialized share is ",
                                             kSerializedBytes, " bytes, got ",
                                             bytes.size()));
  }
  ShamirShare share;
  for (int i = 0; i < 4; ++i) {
    share.x |= static_cast<uint32_t>(static_cast<uint8_t>(bytes[i])) << (8 * i);
  }
  share.y = SecretBytes::CopyFrom(bytes.substr(4));
  if (share.x == 0) {
    return absl::InvalidArgumentError(
        "share point x = 0 is not allowed (it would be the secret)");
  }
  if (auto s = CheckValue(share); !s.ok()) return s;
  return share;
}

absl::StatusOr<ShamirShare> ShamirShare::FromParts(uint32_t x,
                                                   std::span<const uint8_t> y) {
  if (auto s = Init(); !s.ok()) return s;
  if (x == 0) {
    return absl::InvalidArgumentError(
        "share point x = 0 is not allowed (it would be the secret)");
  }
  ShamirShare share{x, SecretBytes::CopyFrom(y)};
  if (auto s = CheckValue(share); !s.ok()) return s;
  return share;
}

absl::StatusOr<std::vector<ShamirShare>> ShamirSplit(
    const SecretBytes& secret, int threshold, std::span<const uint32_t> xs,
    RandomSource& source) {
  if (auto s = Init(); !s.ok()) return s;
  if (secret.size() != 2 * kHalf) {
    return absl::InvalidArgumentError(
        StrCat("Shamir secrets are 32 bytes, got ", secret.size()));
  }
  if (threshold < 1 || static_cast<size_t>(threshold) > xs.size()) {
    return absl::InvalidArgumentError(
        StrCat("threshold must be between 1 and the number of shares (",
               xs.size(), "), got ", threshold));
  }
  if (auto s = CheckDistinctNonZero(xs); !s.ok()) return s;

  // coeffs[half][k] is the k-th coefficient of polynomial `half`.
  std::vector<Scalar> coeffs[2];
  for (size_t half = 0; half < 2; ++half) {
    coeffs[half].resize(threshold);
    std::memcpy(coeffs[half][0].data(), secret.data() + half * kHalf, kHalf);
    for (int k = 1; k < threshold; ++k) {
      uint8_t wide[crypto_core_ristretto255_NONREDUCEDSCALARBYTES];
      source.Fill(wide);
      crypto_core_ristretto255_scalar_reduce(coeffs[half][k].data(), wide);
      sodium_memzero(wide, sizeof wide);
    }
  }
  std::vector<ShamirShare> shares;
  shares.reserve(xs.size());
  for (uint32_t x : xs) {
    ShamirShare share{x, SecretBytes(ShamirShare::kValueBytes)};
    Scalar sx = FromU32(x);
    for (size_t half = 0; half < 2; ++half) {
      // Horner: acc = (...(c_{t-1} x + c_{t-2}) x + ...) x + c_0.
      Scalar acc;
      for (int k = threshold - 1; k >= 0; --k) {
        crypto_core_ristretto255_scalar_mul(acc.data(), acc.data(), sx.data());
        crypto_core_ristretto255_scalar_add(acc.data(), acc.data(),
                                            coeffs[half][k].data());
      }
      std::memcpy(share.y.data() + half * kScalar, acc.data(), kScalar);
    }
    shares.push_back(std::move(share));
  }
  return shares;
}

absl::StatusOr<SecretBytes> ShamirReconstruct(
    std::span<const ShamirShare> shares, int threshold) {
  if (auto s = Init(); !s.ok()) return s;
  if (threshold < 1) {
    return absl::InvalidArgumentError(
        StrCat("threshold must be at least 1, got ", threshold));
  }
  if (shares.size() < static_cast<size_t>(threshold)) {
    return absl::FailedPreconditionError(
        StrCat("too few shares to reconstruct: have ", shares.size(), ", need ",
               threshold));
  }
  if (auto s = CheckShares(shares); !s.ok()) return s;
  auto basis = shares.first(threshold);
  std::vector<uint32_t> xs;
  for (const auto& s : basis) xs.push_back(s.x);
  auto w = LagrangeWeights(xs, 0);
  if (!w.ok()) return w.status();
  auto secret = SecretFrom(Combine(basis, *w));
  if (!secret.ok()) return secret.status();
  for (size_t i = threshold; i < shares.size(); ++i) {
    auto wi = LagrangeWeights(xs, shares[i].x);
    if (!wi.ok()) return wi.status();
    SecretBytes expected = Combine(basis, *wi);
    if (!(expected == shares[i].y)) {
      return absl::DataLossError(
          StrCat("shares are inconsistent: share at x = ", shares[i].x,
                 " does not lie on the polynomial of the others"));
    }
  }
  return secret;
}

absl::StatusOr<ShamirInterpolator> ShamirInterpolator::Create(
    std::span<const uint32_t> xs) {
  if (auto s = Init(); !s.ok()) return s;
  if (xs.empty()) {
    return absl::InvalidArgumentError(
        "an interpolator needs at least one share point");
  }
  if (auto s = CheckDistinctNonZero(xs); !s.ok()) return s;
  auto w = LagrangeWeights(xs, 0);
  if (!w.ok()) return w.status();
  std::vector<Weight> weights(w->size());
  for (size_t j = 0; j < w->size(); ++j) weights[j] = (*w)[j].v;
  return ShamirInterpolator(std::vector<uint32_t>(xs.begin(), xs.end()),
                            std::move(weights));
}

absl::StatusOr<SecretBytes> ShamirInterpolator::Reconstruct(
    std::span<const ShamirShare* const> shares) const {
  if (shares.size() != xs_.size()) {
    return absl::InvalidArgumentError(StrCat("this interpolator takes exactly ",
                                             xs_.size(), " shares, got ",
                                             shares.size()));
  }
  for (size_t j = 0; j < shares.size(); ++j) {
    if (shares[j] == nullptr || shares[j]->x != xs_[j]) {
      return absl::InvalidArgumentError(StrCat(
          "share ", j, " is not at the interpolator's point x = ", xs_[j]));
    }
    if (auto s = CheckValue(*shares[j]); !s.ok()) return s;
  }
  return SecretFrom(
      CombineWith(weights_, [&](size_t j) { return shares[j]->y.data(); }));
}

namespace internal {
absl::StatusOr<SecretBytes> ShamirInterpolateAt(
    std::span<const ShamirShare> shares, uint32_t x) {
  if (auto s = Init(); !s.ok()) return s;
  if (auto s = CheckShares(shares, /*allow_zero=*/true); !s.ok()) return s;
  std::vector<uint32_t> xs;
  for (const auto& s : shares) xs.push_back(s.x);
  auto w = LagrangeWeights(xs, x);
  if (!w.ok()) return w.status();
  return Combine(shares, *w);
}
}  // namespace internal

}  // namespace kring::crypto
