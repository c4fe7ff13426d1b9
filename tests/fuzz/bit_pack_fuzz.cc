// libFuzzer harness: secure aggregation's bit packing
// (crypto/secagg/bit_pack.h), which the coordinator applies to every
// masked input it receives.
// Input: a width byte (bits = byte % 66, so 0, 65 and the edges are tried),
// two count bytes, then packed bytes.
// Checks: UnpackBits accepts exactly PackedSize(count, bits) bytes, its
// values fit in `bits`, and PackBits gives the same bytes back; PackBits of
// arbitrary values unpacks to the values cut to `bits`. Widths 0 and 65 are
// tried on UnpackBits only (an input check there, a precondition of
// PackBits).

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include "crypto/secagg/bit_pack.h"
#include "tests/fuzz/check.h"

namespace secagg = kring::crypto::secagg;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 3) return 0;
  const int bits = data[0] % 66;
  const size_t count = size_t{data[1]} | (size_t{data[2]} << 8);
  const std::string_view packed(reinterpret_cast<const char*>(data) + 3,
                                size - 3);
  const uint64_t mask = bits >= 64  ? ~uint64_t{0}
                        : bits <= 0 ? 0
                                    : (uint64_t{1} << bits) - 1;

  auto values = secagg::UnpackBits(packed, bits, count);
  if (values.ok()) {
    KRING_FUZZ_CHECK(bits >= 1 && bits <= 64);
    KRING_FUZZ_CHECK(packed.size() == secagg::PackedSize(count, bits));
    KRING_FUZZ_CHECK(values->size() == count);
    for (uint64_t v : *values) KRING_FUZZ_CHECK((v & ~mask) == 0);
    KRING_FUZZ_CHECK(secagg::PackBits(*values, bits) == packed);
  } else if (bits >= 1 && bits <= 64) {
    KRING_FUZZ_CHECK(
        packed.size() != secagg::PackedSize(count, bits) ||
        (packed.size() > 0 &&
         (static_cast<uint8_t>(packed.back()) >>
          ((count * bits) % 8 == 0 ? 8 : (count * bits) % 8)) != 0));
  }

  // The same bytes read as values, packed and unpacked again (PackBits
  // asserts 1 <= bits <= 64: a precondition, not an input check).
  if (bits < 1 || bits > 64) return 0;
  std::vector<uint64_t> raw(packed.size() / 8);
  if (!raw.empty()) std::memcpy(raw.data(), packed.data(), raw.size() * 8);
  const std::string repacked = secagg::PackBits(raw, bits);
  KRING_FUZZ_CHECK(repacked.size() == secagg::PackedSize(raw.size(), bits));
  auto back = secagg::UnpackBits(repacked, bits, raw.size());
  KRING_FUZZ_CHECK(back.ok() && back->size() == raw.size());
  for (size_t i = 0; i < raw.size(); ++i) {
    KRING_FUZZ_CHECK((*back)[i] == (raw[i] & mask));
  }
  return 0;
}
