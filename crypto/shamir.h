#ifndef KRING_CRYPTO_SHAMIR_H_
#define KRING_CRYPTO_SHAMIR_H_

#include <array>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "crypto/random.h"
#include "crypto/secret_bytes.h"

namespace kring::crypto {

// Shamir t-of-n secret sharing of 32-byte secrets over the ristretto255
// scalar field (prime order l = 2^252 +
// 27742317777372353535851937790883648493), using libsodium's
// crypto_core_ristretto255_scalar_* arithmetic only.
//
// Mapping: a 32-byte secret is split into two 16-byte halves; each half, read
// as a little-endian integer (< 2^128 < l), is one field element and gets its
// own random polynomial of degree t-1. A share is therefore a point x (a
// non-zero 32-bit index) and two field elements y = (f_lo(x), f_hi(x)).
// Reconstruction interpolates both polynomials at 0 and checks that each
// result is below 2^128: a share replaced by random field elements is caught
// except with probability ~2^-124 (a slightly perturbed one may not be; give
// more than t shares to have every share checked).
struct ShamirShare {
  static constexpr size_t kValueBytes = 64;       // two 32-byte scalars
  static constexpr size_t kSerializedBytes = 68;  // u32 x || y

  uint32_t x = 0;
  SecretBytes y;  // kValueBytes: f_lo(x) || f_hi(x), canonical scalars

  ShamirShare Clone() const { return {x, y.Clone()}; }
  // x as 4 little-endian bytes, then y.
  SecretBytes Serialize() const;
  // Rejects wrong sizes, x = 0 and non-canonical scalars.
  static absl::StatusOr<ShamirShare> Parse(std::string_view bytes);
  // The share at point x with value y (kValueBytes), validated as Parse does.
  static absl::StatusOr<ShamirShare> FromParts(uint32_t x,
                                               std::span<const uint8_t> y);
};

// Splits a 32-byte secret into shares at the given distinct, non-zero points
// `xs` so that any `threshold` of them reconstruct it and any fewer reveal
// nothing. Requires 1 <= threshold <= xs.size().
// Coefficients come from `source` (uniform: 64 random bytes reduced mod l).
absl::StatusOr<std::vector<ShamirShare>> ShamirSplit(
    const SecretBytes& secret, int threshold, std::span<const uint32_t> xs,
    RandomSource& source = SystemRandom());

// Reconstructs the secret from at least `threshold` shares with distinct x.
// Interpolates from the first `threshold` shares; every further share must
// lie on the same polynomials, else the shares are inconsistent (an error).
absl::StatusOr<SecretBytes> ShamirReconstruct(
    std::span<const ShamirShare> shares, int threshold);

// Interpolation at 0 from one fixed set of share points. The Lagrange
// weights depend only on the (public) points, so they are computed once, with
// a single field inversion, and reused for every secret shared at the same
// points (the secure-aggregation coordinator reconstructs thousands of
// secrets whose revealed shares come from the same holders). Immutable after
// creation; Reconstruct() may be called from several threads at once.
class ShamirInterpolator {
 public:
  // `xs`: at least one distinct, non-zero point.
  static absl::StatusOr<ShamirInterpolator> Create(
      std::span<const uint32_t> xs);

  // The points, in the order Reconstruct() expects the shares.
  const std::vector<uint32_t>& points() const { return xs_; }

  // The secret shared at threshold points().size() by `shares`, where
  // shares[j]->x == points()[j]. Rejects a wrong count, mismatched points
  // and malformed values (INVALID_ARGUMENT), and a result outside the secret
  // range (DATA_LOSS), exactly as ShamirReconstruct() does for that many
  // shares; the result is identical to ShamirReconstruct()'s.
  absl::StatusOr<SecretBytes> Reconstruct(
      std::span<const ShamirShare* const> shares) const;

 private:
  using Weight = std::array<uint8_t, 32>;
  ShamirInterpolator(std::vector<uint32_t> xs, std::vector<Weight> w)
      : xs_(std::move(xs)), weights_(std::move(w)) {}

  std::vector<uint32_t> xs_;
  std::vector<Weight> weights_;  // public: derived from the points only
};

namespace internal {
// Evaluates, at `x`, the polynomials of degree < points.size() through the
// given points (distinct x; unlike shares, x = 0 is allowed). Used by tests
// to show that t-1 shares fit every candidate secret.
absl::StatusOr<SecretBytes> ShamirInterpolateAt(
    std::span<const ShamirShare> points, uint32_t x);
}  // namespace internal

}  // namespace kring::crypto

#endif  // KRING_CRYPTO_SHAMIR_H_
