#include "crypto/key_wrap.h"

#include <sodium.h>

#include "absl/status/status.h"
#include "crypto/aead.h"
#include "crypto/init.h"
#include "crypto/internal/encoding.h"
#include "kring/v1/keys.pb.h"
#include "util/str_cat.h"

namespace kring::crypto {
namespace {

constexpr uint32_t kVersion = 1;
constexpr uint64_t kMaxOpslimit = 16;
constexpr uint64_t kMaxMemlimit = uint64_t{4} << 30;

std::string AssociatedData(uint32_t version, uint64_t opslimit,
                           uint64_t memlimit, std::string_view salt) {
  std::string ad = "kring-wrapped-key";
  internal::AppendU32(ad, version);
  internal::AppendU64(ad, opslimit);
  internal::AppendU64(ad, memlimit);
  internal::AppendLengthPrefixed(ad, salt);
  return ad;
}

absl::Status CheckLimits(uint64_t opslimit, uint64_t memlimit) {
  PasswordHashLimits min = PasswordHashLimits::Interactive();
  if (opslimit < min.opslimit || memlimit < min.memlimit) {
    return absl::InvalidArgumentError(
        StrCat("Argon2id limits (opslimit ", opslimit, ", memlimit ", memlimit,
               ") are weaker than the minimum (", min.opslimit, ", ",
               min.memlimit, ")"));
  }
  if (opslimit > kMaxOpslimit || memlimit > kMaxMemlimit) {
    return absl::InvalidArgumentError(StrCat(
        "Argon2id limits (opslimit ", opslimit, ", memlimit ", memlimit,
        ") exceed the maximum (", kMaxOpslimit, ", ", kMaxMemlimit, ")"));
  }
  return absl::OkStatus();
}

absl::StatusOr<Aead> DeriveWrappingKey(const SecretBytes& passphrase,
                                       std::string_view salt, uint64_t opslimit,
                                       uint64_t memlimit) {
  SecretBytes key(Aead::kKeyBytes);
  if (crypto_pwhash(
          key.data(), key.size(),
          reinterpret_cast<const char*>(passphrase.data()), passphrase.size(),
          reinterpret_cast<const uint8_t*>(salt.data()), opslimit,
          static_cast<size_t>(memlimit), crypto_pwhash_ALG_ARGON2ID13) != 0) {
    return absl::ResourceExhaustedError(
        StrCat("Argon2id key derivation failed: could not allocate ",
               memlimit >> 20, " MiB"));
  }
  return Aead::Create(std::move(key));
}

}  // namespace

PasswordHashLimits PasswordHashLimits::Moderate() {
  return {crypto_pwhash_OPSLIMIT_MODERATE, crypto_pwhash_MEMLIMIT_MODERATE};
}

PasswordHashLimits PasswordHashLimits::Interactive() {
  return {crypto_pwhash_OPSLIMIT_INTERACTIVE,
          crypto_pwhash_MEMLIMIT_INTERACTIVE};
}

absl::StatusOr<std::string> WrapKey(const SecretBytes& data_key,
                                    const SecretBytes& passphrase,
                                    PasswordHashLimits limits) {
  if (auto s = Init(); !s.ok()) return s;
  if (passphrase.empty()) {
    return absl::InvalidArgumentError("the passphrase must not be empty");
  }
  if (data_key.empty()) {
    return absl::InvalidArgumentError("the data key must not be empty");
  }
  if (auto s = CheckLimits(limits.opslimit, limits.memlimit); !s.ok()) {
    return s;
  }
  std::string salt(crypto_pwhash_SALTBYTES, '\0');
  randombytes_buf(salt.data(), salt.size());
  auto aead =
      DeriveWrappingKey(passphrase, salt, limits.opslimit, limits.memlimit);
  if (!aead.ok()) return aead.status();
  auto sealed = aead->Seal(
      data_key.view(),
      AssociatedData(kVersion, limits.opslimit, limits.memlimit, salt));
  if (!sealed.ok()) return sealed.status();
  v1::WrappedKey msg;
  msg.set_version(kVersion);
  msg.set_opslimit(limits.opslimit);
  msg.set_memlimit(limits.memlimit);
  msg.set_salt(salt);
  msg.set_sealed_key(*sealed);
  return msg.SerializeAsString();
}

absl::StatusOr<SecretBytes> UnwrapKey(std::string_view wrapped,
                                      const SecretBytes& passphrase) {
  if (auto s = Init(); !s.ok()) return s;
  v1::WrappedKey msg;
  if (!msg.ParseFromArray(wrapped.data(), static_cast<int>(wrapped.size()))) {
    return absl::DataLossError("wrapped key is corrupt (cannot be parsed)");
  }
  if (msg.version() != kVersion) {
    return absl::InvalidArgumentError(
        StrCat("wrapped key has format version ", msg.version(),
               "; this build reads version ", kVersion));
  }
  if (msg.salt().size() != crypto_pwhash_SALTBYTES) {
    return absl::DataLossError("wrapped key is corrupt (bad salt length)");
  }
  if (auto s = CheckLimits(msg.opslimit(), msg.memlimit()); !s.ok()) {
    return absl::DataLossError(StrCat("wrapped key is corrupt: ", s.message()));
  }
  if (passphrase.empty()) {
    return absl::InvalidArgumentError("the passphrase must not be empty");
  }
  auto aead =
      DeriveWrappingKey(passphrase, msg.salt(), msg.opslimit(), msg.memlimit());
  if (!aead.ok()) return aead.status();
  auto key =
      aead->Open(msg.sealed_key(), AssociatedData(msg.version(), msg.opslimit(),
                                                  msg.memlimit(), msg.salt()));
  if (!key.ok()) {
    return absl::PermissionDeniedError(
        "cannot unwrap the key: wrong passphrase, or the key file was "
        "modified");
  }
  return key;
}

}  // namespace kring::crypto
