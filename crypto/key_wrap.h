#ifndef KRING_CRYPTO_KEY_WRAP_H_
#define KRING_CRYPTO_KEY_WRAP_H_

#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "crypto/secret_bytes.h"

namespace kring::crypto {

// Argon2id cost parameters (libsodium crypto_pwhash, ALG_ARGON2ID13).
struct PasswordHashLimits {
  uint64_t opslimit;
  uint64_t memlimit;  // bytes

  // libsodium's MODERATE limits (3 passes, 256 MiB): the default for keys at
  // rest on a school server.
  static PasswordHashLimits Moderate();
  // libsodium's INTERACTIVE limits (2 passes, 64 MiB): the minimum accepted.
  static PasswordHashLimits Interactive();
};

// Wraps (encrypts) `data_key` under a key derived from `passphrase` with
// Argon2id and a fresh random salt. Returns a serialized kring.v1.WrappedKey
// that records the parameters, so they can be raised later. Errors on an
// empty passphrase or limits below Interactive().
absl::StatusOr<std::string> WrapKey(
    const SecretBytes& data_key, const SecretBytes& passphrase,
    PasswordHashLimits limits = PasswordHashLimits::Moderate());

// Unwraps a key produced by WrapKey. A wrong passphrase or any change to the
// stored bytes (parameters, salt, ciphertext) gives an error, never a crash.
// Refuses parameters weaker than Interactive() or costlier than 4 GiB /
// 16 passes (a tampered file must not make the node hang).
absl::StatusOr<SecretBytes> UnwrapKey(std::string_view wrapped,
                                      const SecretBytes& passphrase);

}  // namespace kring::crypto

#endif  // KRING_CRYPTO_KEY_WRAP_H_
