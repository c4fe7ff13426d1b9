#ifndef KRING_COORDINATOR_INTERNAL_RANDOM_HEX_H_
#define KRING_COORDINATOR_INTERNAL_RANDOM_HEX_H_

#include <cstdint>
#include <string>

#include "absl/strings/escaping.h"
#include "crypto/random.h"

namespace kring::coordinator::internal {

// `bytes` random bytes from the system CSPRNG, as lower-case hex (ids and
// enrollment codes).
inline std::string RandomHex(size_t bytes) {
  std::string raw(bytes, '\0');
  crypto::SystemRandom().Fill(
      {reinterpret_cast<uint8_t*>(raw.data()), raw.size()});
  return absl::BytesToHexString(raw);
}

}  // namespace kring::coordinator::internal

#endif  // KRING_COORDINATOR_INTERNAL_RANDOM_HEX_H_
