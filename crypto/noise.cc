#include "crypto/noise.h"

#include <bit>
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_format.h"

namespace kring::crypto {
namespace {

__extension__ typedef unsigned __int128 Uint128;

// Samples are restricted to |x| <= kLimit (see noise.h).
constexpr uint64_t kLimit = uint64_t{1} << 62;

// An unsigned 256-bit integer, just enough for the acceptance test of the
// Gaussian sampler: products of two 128-bit values, comparison, addition
// and subtraction (callers rule out overflow and underflow).
struct U256 {
  Uint128 hi = 0;
  Uint128 lo = 0;
};

U256 FromUint128(Uint128 v) { return U256{0, v}; }

bool IsZero(const U256& a) { return a.hi == 0 && a.lo == 0; }

bool Less(const U256& a, const U256& b) {
  return a.hi < b.hi || (a.hi == b.hi && a.lo < b.lo);
}

// a + b; the sum must be below 2^256.
U256 Add(const U256& a, const U256& b) {
  U256 r;
  r.lo = a.lo + b.lo;
  r.hi = a.hi + b.hi + (r.lo < a.lo ? 1 : 0);
  return r;
}

// a - b; requires a >= b.
U256 Sub(const U256& a, const U256& b) {
  U256 r;
  r.lo = a.lo - b.lo;
  r.hi = a.hi - b.hi - (a.lo < b.lo ? 1 : 0);
  return r;
}

// The full 256-bit product of two 128-bit values.
U256 Mul(Uint128 a, Uint128 b) {
  const Uint128 mask = ~uint64_t{0};
  Uint128 a0 = a & mask, a1 = a >> 64, b0 = b & mask, b1 = b >> 64;
  Uint128 p00 = a0 * b0, p01 = a0 * b1, p10 = a1 * b0, p11 = a1 * b1;
  Uint128 mid = (p00 >> 64) + (p01 & mask) + (p10 & mask);  // < 3 * 2^64
  U256 r;
  r.lo = (mid << 64) | (p00 & mask);
  r.hi = p11 + (p01 >> 64) + (p10 >> 64) + (mid >> 64);
  return r;
}

// Random bits drawn from a RandomSource, `chunk` bytes (a multiple of 8, at
// most kMaxChunk) per call.
class Bits {
 public:
  static constexpr size_t kMaxChunk = 512;

  Bits(RandomSource& rng, size_t chunk) : rng_(rng), chunk_(chunk) {}

  // `n` (1..63) fresh uniform bits, in the low bits of the result.
  uint64_t Take(int n) {
    if (available_ < n) Refill();
    uint64_t r = buffer_ & ((uint64_t{1} << n) - 1);
    buffer_ >>= n;
    available_ -= n;
    return r;
  }

  bool Bit() { return Take(1) != 0; }

 private:
  // Drops the bits left over (fewer than a request needs) and takes the
  // next 8 bytes, reading a new chunk when the last is used up.
  void Refill() {
    if (position_ == chunk_) {
      rng_.Fill(std::span<uint8_t>(block_, chunk_));
      position_ = 0;
    }
    buffer_ = 0;
    for (int i = 0; i < 8; ++i) {
      buffer_ |= uint64_t{block_[position_ + i]} << (8 * i);
    }
    position_ += 8;
    available_ = 64;
  }

  RandomSource& rng_;
  const size_t chunk_;
  uint8_t block_[kMaxChunk];
  size_t position_ = chunk_;
  uint64_t buffer_ = 0;
  int available_ = 0;
};

// Chunk sizes: single samples read 8 bytes at a time (they need 8 to 12 on
// average), vectors 512 (fewer calls into the source).
constexpr size_t kSingleChunk = 8;
constexpr size_t kVectorChunk = Bits::kMaxChunk;

// Uniform in [0, m), m >= 1: draw bit_width(m - 1) bits, reject values >= m
// (fewer than 2 draws expected; no modulo bias).
uint64_t UniformBelow(uint64_t m, Bits& bits) {
  if (m <= 1) return 0;
  int width = std::bit_width(m - 1);
  for (;;) {
    uint64_t x;
    if (width == 64) {
      x = bits.Take(32) << 32;
      x |= bits.Take(32);
    } else {
      x = bits.Take(width);
    }
    if (x < m) return x;
  }
}

// True with probability num/den (den > 0): compares a uniform U in [0, 1),
// drawn bit by bit, with the binary expansion of num/den computed by long
// division. Two random bits are expected.
bool BernoulliRatio(U256 num, const U256& den, Bits& bits) {
  if (!Less(num, den)) return true;
  while (!IsZero(num)) {
    // The next bit of num/den is 1 iff 2*num >= den; written so that no
    // intermediate exceeds den.
    U256 rest = Sub(den, num);
    bool p_bit = !Less(num, rest);
    num = p_bit ? Sub(num, rest) : Add(num, num);
    bool u_bit = bits.Bit();
    if (u_bit != p_bit) return p_bit;  // U < p iff U has the 0 where p has 1
  }
  return false;  // the rest of p is 0, so U >= p
}

// True with probability exp(-num/den) for 0 <= num/den <= 1 (CKS20
// Algorithm 1, first case): the parity of the first K with
// Bernoulli(gamma / K) = 0, gamma / K decided as Bernoulli(gamma) and
// Bernoulli(1 / K).
bool BernoulliExpAtMostOne(const U256& num, const U256& den, Bits& bits) {
  uint64_t k = 1;
  for (;;) {
    bool a = BernoulliRatio(FromUint128(1), FromUint128(k), bits) &&
             BernoulliRatio(num, den, bits);
    if (!a) break;
    ++k;
  }
  return k % 2 == 1;
}

bool BernoulliExpMinusOne(Bits& bits) {
  return BernoulliExpAtMostOne(FromUint128(1), FromUint128(1), bits);
}

// True with probability exp(-num/den), den > 0 (CKS20 Algorithm 1): one
// Bernoulli(exp(-1)) per whole unit of gamma, stopping at the first 0, then
// the fractional part. Expected O(1) steps whatever gamma is.
bool BernoulliExp(U256 num, const U256& den, Bits& bits) {
  while (!Less(num, den)) {
    if (!BernoulliExpMinusOne(bits)) return false;
    num = Sub(num, den);
  }
  return BernoulliExpAtMostOne(num, den, bits);
}

// CKS20 Algorithm 2 with s = 1, conditioned on |y| <= kLimit (a proposal
// beyond it is rejected, and since X only grows while it is drawn, as soon
// as it passes the limit). 1 <= t <= kMaxLaplaceScale.
int64_t DiscreteLaplace(uint64_t t, Bits& bits) {
  for (;;) {
    uint64_t u = UniformBelow(t, bits);
    if (!BernoulliExp(FromUint128(u), FromUint128(t), bits)) continue;
    Uint128 x = u;
    bool too_large = false;
    while (!too_large && BernoulliExpMinusOne(bits)) {
      x += t;
      too_large = x > kLimit;
    }
    if (too_large) continue;
    bool negative = bits.Bit();
    if (negative && x == 0) continue;
    int64_t y = static_cast<int64_t>(x);
    return negative ? -y : y;
  }
}

// floor(sqrt(v)), bit by bit.
uint64_t IntegerSqrt(uint64_t v) {
  uint64_t r = 0;
  for (int b = 31; b >= 0; --b) {
    uint64_t c = r | (uint64_t{1} << b);
    if (static_cast<Uint128>(c) * c <= v) r = c;
  }
  return r;
}

// CKS20 Algorithm 3 for sigma2 = n/d (validated): proposals Y from the
// discrete Laplace with scale t = floor(sigma) + 1, accepted with
// probability exp(-(|Y| - sigma2/t)^2 / (2 sigma2))
//   = exp(-(|Y| d t - n)^2 / (2 n d t^2)).
// Bounds: |Y| <= 2^62, d <= 2^32, t <= 2^31 + 1, so |Y| d t < 2^126, the
// numerator < 2^252 and the denominator < 2^160.
int64_t DiscreteGaussian(uint64_t n, uint64_t d, Bits& bits) {
  const uint64_t t = IntegerSqrt(n / d) + 1;
  const U256 twice_nd_t2 = [&] {
    U256 v = Mul(static_cast<Uint128>(n) * d, static_cast<Uint128>(t) * t);
    return Add(v, v);
  }();
  for (;;) {
    int64_t y = DiscreteLaplace(t, bits);
    Uint128 magnitude = static_cast<Uint128>(y < 0 ? -y : y);
    Uint128 a = magnitude * d * t;
    Uint128 diff = a >= n ? a - n : n - a;
    if (BernoulliExp(Mul(diff, diff), twice_nd_t2, bits)) return y;
  }
}

// OK if SampleDiscreteGaussian supports sigma2; else why not, for `caller`.
absl::Status CheckSigma2(Rational sigma2, const char* caller) {
  if (sigma2.num == 0 || sigma2.den == 0) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "%s: sigma2 = %d/%d must be positive with a nonzero denominator",
        caller, sigma2.num, sigma2.den));
  }
  if (sigma2.den > kMaxGaussianDenominator) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "%s: sigma2 denominator %d exceeds the limit 2^32; round sigma2 to a "
        "denominator of at most 2^32",
        caller, sigma2.den));
  }
  if (static_cast<Uint128>(sigma2.num) >
      static_cast<Uint128>(kMaxGaussianSigma2) * sigma2.den) {
    return absl::InvalidArgumentError(
        absl::StrFormat("%s: sigma2 = %d/%d exceeds the limit 2^62", caller,
                        sigma2.num, sigma2.den));
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<bool> SampleBernoulliExp(Rational gamma, RandomSource& rng) {
  if (gamma.den == 0) {
    return absl::InvalidArgumentError(
        "SampleBernoulliExp: gamma has denominator 0; pass gamma = num/den "
        "with den >= 1");
  }
  Bits bits(rng, kSingleChunk);
  return BernoulliExp(FromUint128(gamma.num), FromUint128(gamma.den), bits);
}

absl::StatusOr<int64_t> SampleDiscreteLaplace(uint64_t t, RandomSource& rng) {
  if (t == 0 || t > kMaxLaplaceScale) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "SampleDiscreteLaplace: scale %d is outside the supported range "
        "1..2^32",
        t));
  }
  Bits bits(rng, kSingleChunk);
  return DiscreteLaplace(t, bits);
}

absl::StatusOr<int64_t> SampleDiscreteGaussian(Rational sigma2,
                                               RandomSource& rng) {
  if (absl::Status s = CheckSigma2(sigma2, "SampleDiscreteGaussian"); !s.ok()) {
    return s;
  }
  Bits bits(rng, kSingleChunk);
  return DiscreteGaussian(sigma2.num, sigma2.den, bits);
}

absl::StatusOr<std::vector<int64_t>> SampleDiscreteGaussians(
    Rational sigma2, size_t count, RandomSource& rng) {
  if (absl::Status s = CheckSigma2(sigma2, "SampleDiscreteGaussians");
      !s.ok()) {
    return s;
  }
  if (count > kMaxGaussianCount) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "SampleDiscreteGaussians: %d samples requested; at most 2^30 per "
        "call",
        count));
  }
  std::vector<int64_t> out;
  out.reserve(count);
  Bits bits(rng, kVectorChunk);
  for (size_t i = 0; i < count; ++i) {
    out.push_back(DiscreteGaussian(sigma2.num, sigma2.den, bits));
  }
  return out;
}

}  // namespace kring::crypto
