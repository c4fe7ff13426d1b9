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

bool IsCanonical(const uint8_t* s) {
  uint8_t wide[crypto_core_ristretto255_NONREDUCEDSCALARBYTES] = {};
  std::memcpy(wide, s, kScalar);
  uint8_t reduced[kScalar];
  crypto_core_ristretto255_scalar_reduce(reduced, wide);
  return sodium_memcmp(reduced, s, kScalar) == 0;
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

// Lagrange basis weights for interpolating at `at` from the points `xs`:
// w_j = prod_{m != j} (at - x_m) / (x_j - x_m). The t denominators are
// inverted together with one field inversion (Montgomery's trick).
absl::StatusOr<std::vector<Scalar>> LagrangeWeights(
    std::span<const uint32_t> xs, uint32_t at) {
  const size_t t = xs.size();
  std::vector<Scalar> sx(t), diff_at(t), num(t), den(t), w(t);
  Scalar s_at = FromU32(at);
  for (size_t j = 0; j < t; ++j) {
    sx[j] = FromU32(xs[j]);
    crypto_core_ristretto255_scalar_sub(diff_at[j].data(), s_at.data(),
                                        sx[j].data());
  }
  for (size_t j = 0; j < t; ++j) {
    num[j] = FromU32(1);
    den[j] = FromU32(1);
    Scalar d;
    for (size_t m = 0; m < t; ++m) {
      if (m == j) continue;
      crypto_core_ristretto255_scalar_mul(num[j].data(), num[j].data(),
                                          diff_at[m].data());
      crypto_core_ristretto255_scalar_sub(d.data(), sx[j].data(), sx[m].data());
      crypto_core_ristretto255_scalar_mul(den[j].data(), den[j].data(),
                                          d.data());
    }
  }
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
  // Walk back: inv = 1 / (den[0] ... den[j]) at the top of each step.
  for (size_t j = t; j-- > 0;) {
    Scalar inv_j;
    crypto_core_ristretto255_scalar_mul(inv_j.data(), inv.data(),
                                        prefix[j].data());
    crypto_core_ristretto255_scalar_mul(inv.data(), inv.data(), den[j].data());
    crypto_core_ristretto255_scalar_mul(w[j].data(), num[j].data(),
                                        inv_j.data());
  }
  return w;
}

// y = sum_j w_j * shares[j].y (both halves).
SecretBytes Combine(std::span<const ShamirShare> shares,
                    const std::vector<Scalar>& w) {
  SecretBytes out(ShamirShare::kValueBytes);
  for (size_t half = 0; half < 2; ++half) {
    Scalar acc, t;
    for (size_t j = 0; j < w.size(); ++j) {
      crypto_core_ristretto255_scalar_mul(t.data(), w[j].data(),
                                          shares[j].y.data() + half * kScalar);
      crypto_core_ristretto255_scalar_add(acc.data(), acc.data(), t.data());
    }
    std::memcpy(out.data() + half * kScalar, acc.data(), kScalar);
  }
  return out;
}

absl::Status CheckShares(std::span<const ShamirShare> shares,
                         bool allow_zero = false) {
  std::vector<uint32_t> xs;
  for (const auto& s : shares) {
    if (s.y.size() != ShamirShare::kValueBytes) {
      return absl::InvalidArgumentError(StrCat("malformed share at x = ", s.x,
                                               ": value is ", s.y.size(),
                                               " bytes, expected 64"));
    }
    if (!IsCanonical(s.y.data()) || !IsCanonical(s.y.data() + kScalar)) {
      return absl::InvalidArgumentError(StrCat(
          "malformed share at x = ", s.x, ": not a canonical field element"));
    }
    xs.push_back(s.x);
  }
  return CheckDistinctNonZero(xs, allow_zero);
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
  std::array<ShamirShare, 1> one{std::move(share)};
  if (auto s = CheckShares(one); !s.ok()) return s;
  return std::move(one[0]);
}

absl::StatusOr<ShamirShare> ShamirShare::FromParts(uint32_t x,
                                                   std::span<const uint8_t> y) {
  if (auto s = Init(); !s.ok()) return s;
  std::array<ShamirShare, 1> one{ShamirShare{x, SecretBytes::CopyFrom(y)}};
  if (auto s = CheckShares(one); !s.ok()) return s;
  return std::move(one[0]);
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
  SecretBytes y0 = Combine(basis, *w);
  if (!FitsInHalf(y0.data()) || !FitsInHalf(y0.data() + kScalar)) {
    return absl::DataLossError(
        "shares are inconsistent: they do not interpolate to a valid secret");
  }
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
  SecretBytes secret(2 * kHalf);
  std::memcpy(secret.data(), y0.data(), kHalf);
  std::memcpy(secret.data() + kHalf, y0.data() + kScalar, kHalf);
  return secret;
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
