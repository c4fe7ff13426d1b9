#ifndef KRING_CRYPTO_INIT_H_
#define KRING_CRYPTO_INIT_H_

#include "absl/status/status.h"

namespace kring::crypto {

// Initialises libsodium. Safe to call any number of times from any thread;
// every other kring::crypto function calls it implicitly, so explicit calls
// are only needed to surface the error early (e.g. at program start).
absl::Status Init();

}  // namespace kring::crypto

#endif  // KRING_CRYPTO_INIT_H_
