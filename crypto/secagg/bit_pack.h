#ifndef KRING_CRYPTO_SECAGG_BIT_PACK_H_
#define KRING_CRYPTO_SECAGG_BIT_PACK_H_

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"

namespace kring::crypto::secagg {

// Bytes needed to pack `count` values of `bits` bits: ceil(count*bits/8).
// 0 when `bits` is outside 1..64.
size_t PackedSize(size_t count, int bits);

// Packs values of `bits` bits (1..64) each, least significant bit first:
// value i occupies stream bits [i*bits, (i+1)*bits), and stream bit j is bit
// (j % 8) of byte j / 8. Unused high bits of the last byte are zero.
// Preconditions: 1 <= bits <= 64 (otherwise the result is empty) and every
// value < 2^bits (higher bits are ignored, never spill into other values).
std::string PackBits(std::span<const uint64_t> values, int bits);

// Inverse of PackBits. Errors if `bits` is out of range, the length is not
// exactly PackedSize(count, bits), or the padding bits are not zero.
absl::StatusOr<std::vector<uint64_t>> UnpackBits(std::string_view packed,
                                                 int bits, size_t count);

}  // namespace kring::crypto::secagg

#endif  // KRING_CRYPTO_SECAGG_BIT_PACK_H_
