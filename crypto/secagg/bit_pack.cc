#include "crypto/secagg/bit_pack.h"

#include <algorithm>
#include <bit>
#include <cassert>
#include <cstring>

#include "absl/status/status.h"
#include "util/str_cat.h"

namespace kring::crypto::secagg {
namespace {

// GCC and Clang extension; __extension__ keeps -Wpedantic quiet.
__extension__ typedef unsigned __int128 Uint128;

constexpr int kMinBits = 1;
constexpr int kMaxBits = 64;

uint64_t LowMask(int bits) {
  return bits == 64 ? ~uint64_t{0} : (uint64_t{1} << bits) - 1;
}

// Stores the low `n` (<= 8) bytes of `v` at `out`, little-endian.
void StoreLittleEndian(uint64_t v, char* out, size_t n) {
  if constexpr (std::endian::native == std::endian::little) {
    if (n == 8) {
      std::memcpy(out, &v, 8);
      return;
    }
  }
  for (size_t i = 0; i < n; ++i) {
    out[i] = static_cast<char>(static_cast<uint8_t>(v >> (8 * i)));
  }
}

// Loads `n` (<= 8) bytes at `in` as a little-endian integer.
uint64_t LoadLittleEndian(const char* in, size_t n) {
  uint64_t v = 0;
  if constexpr (std::endian::native == std::endian::little) {
    if (n == 8) {
      std::memcpy(&v, in, 8);
      return v;
    }
  }
  for (size_t i = 0; i < n; ++i) {
    v |= uint64_t{static_cast<uint8_t>(in[i])} << (8 * i);
  }
  return v;
}

}  // namespace

size_t PackedSize(size_t count, int bits) {
  if (bits < kMinBits || bits > kMaxBits) return 0;
  // count = 8q + r, so ceil(count*bits/8) = q*bits + ceil(r*bits/8), which
  // cannot overflow for any count whose packed form fits in memory.
  const size_t b = static_cast<size_t>(bits);
  return (count / 8) * b + ((count % 8) * b + 7) / 8;
}

std::string PackBits(std::span<const uint64_t> values, int bits) {
  assert(bits >= kMinBits && bits <= kMaxBits);
  if (bits < kMinBits || bits > kMaxBits) return {};
  const uint64_t mask = LowMask(bits);
  std::string out(PackedSize(values.size(), bits), '\0');
  char* dst = out.data();
  // `acc` holds `filled` (< 64 between values) pending stream bits; whole
  // 64-bit words are flushed as soon as they are complete.
  Uint128 acc = 0;
  int filled = 0;
  for (uint64_t v : values) {
    acc |= static_cast<Uint128>(v & mask) << filled;
    filled += bits;
    if (filled >= 64) {
      StoreLittleEndian(static_cast<uint64_t>(acc), dst, 8);
      dst += 8;
      acc >>= 64;
      filled -= 64;
    }
  }
  const size_t rest = static_cast<size_t>(out.data() + out.size() - dst);
  assert(rest * 8 >= static_cast<size_t>(filled) && rest <= 8);
  StoreLittleEndian(static_cast<uint64_t>(acc), dst, rest);
  return out;
}

absl::StatusOr<std::vector<uint64_t>> UnpackBits(std::string_view packed,
                                                 int bits, size_t count) {
  if (bits < kMinBits || bits > kMaxBits) {
    return absl::InvalidArgumentError(
        StrCat("bit-packed values must be 1..64 bits wide, got ", bits));
  }
  // Checked before PackedSize so that an absurd count can neither overflow
  // nor make us allocate: count*bits must fit in the packed bits.
  if (static_cast<Uint128>(count) * static_cast<unsigned>(bits) >
          static_cast<Uint128>(packed.size()) * 8 ||
      packed.size() != PackedSize(count, bits)) {
    return absl::InvalidArgumentError(
        StrCat("bit-packed vector of ", count, " values of ", bits,
               " bits must be ", "exactly ceil(count*bits/8) bytes; got ",
               packed.size(), " bytes (truncated or mismatched length)"));
  }
  const size_t tail_bits = (count * static_cast<size_t>(bits)) % 8;
  if (tail_bits != 0 &&
      (static_cast<uint8_t>(packed.back()) >> tail_bits) != 0) {
    return absl::InvalidArgumentError(
        StrCat("bit-packed vector has non-zero padding bits in its last byte "
               "(",
               8 - tail_bits, " high bits must be zero)"));
  }

  std::vector<uint64_t> out(count);
  const uint64_t mask = LowMask(bits);
  const char* src = packed.data();
  const char* const end = packed.data() + packed.size();
  // `acc` holds `avail` stream bits not yet consumed; it is refilled with up
  // to 64 bits whenever fewer than `bits` remain, so it never exceeds 127.
  Uint128 acc = 0;
  int avail = 0;
  for (size_t i = 0; i < count; ++i) {
    if (avail < bits) {
      const size_t n = std::min<size_t>(8, static_cast<size_t>(end - src));
      acc |= static_cast<Uint128>(LoadLittleEndian(src, n)) << avail;
      src += n;
      avail += static_cast<int>(8 * n);
    }
    out[i] = static_cast<uint64_t>(acc) & mask;
    acc >>= bits;
    avail -= bits;
  }
  return out;
}

}  // namespace kring::crypto::secagg
