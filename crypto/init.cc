#include "crypto/init.h"

#include <sodium.h>

namespace kring::crypto {

absl::Status Init() {
  // sodium_init is thread-safe and returns 1 when already initialised.
  if (sodium_init() < 0) {
    return absl::InternalError(
        "libsodium failed to initialise (sodium_init); the system random "
        "source may be unavailable");
  }
  return absl::OkStatus();
}

}  // namespace kring::crypto
