#include "crypto/key_agreement.h"

#include <sodium.h>

#include <cstring>

#include "absl/status/status.h"
#include "crypto/init.h"
#include "crypto/internal/encoding.h"
#include "crypto/internal/raw.h"
#include "util/str_cat.h"

namespace kring::crypto {

X25519KeyPair X25519KeyPair::Generate() { return Generate(SystemRandom()); }

X25519KeyPair X25519KeyPair::Generate(RandomSource& source) {
  return *FromSecret(SecretBytes::Random(kX25519SecretKeyBytes, source));
}

absl::StatusOr<X25519KeyPair> X25519KeyPair::FromSecret(SecretBytes secret) {
  if (auto s = Init(); !s.ok()) return s;
  if (secret.size() != kX25519SecretKeyBytes) {
    return absl::InvalidArgumentError(
        StrCat("an X25519 secret key is 32 bytes, got ", secret.size()));
  }
  std::array<uint8_t, 32> pub;
  crypto_scalarmult_base(pub.data(), secret.data());
  return X25519KeyPair(std::move(secret), pub);
}

absl::StatusOr<SecretBytes> X25519KeyPair::Agree(
    std::string_view my_id, std::string_view their_public_key,
    std::string_view their_id, const KeyAgreementContext& context) const {
  if (my_id.empty() || their_id.empty()) {
    return absl::InvalidArgumentError("party ids must not be empty");
  }
  if (my_id == their_id) {
    return absl::InvalidArgumentError(StrCat(
        "cannot agree a key with oneself (both parties are \"", my_id, "\")"));
  }
  if (context.label.empty()) {
    return absl::InvalidArgumentError("key agreement label must not be empty");
  }
  auto dh = internal::X25519(secret_.view(), their_public_key);
  if (!dh.ok()) return dh.status();
  SecretBytes shared = SecretBytes::CopyFrom(*dh);
  sodium_memzero(dh->data(), dh->size());

  std::string_view id_lo = my_id, pk_lo = public_key();
  std::string_view id_hi = their_id, pk_hi = their_public_key;
  if (id_hi < id_lo) {
    std::swap(id_lo, id_hi);
    std::swap(pk_lo, pk_hi);
  }
  std::string info = "kring-kdf-v1";
  internal::AppendLengthPrefixed(info, context.label);
  internal::AppendLengthPrefixed(info, context.query_id);
  internal::AppendU32(info, context.round);
  internal::AppendLengthPrefixed(info, id_lo);
  internal::AppendLengthPrefixed(info, pk_lo);
  internal::AppendLengthPrefixed(info, id_hi);
  internal::AppendLengthPrefixed(info, pk_hi);

  SecretBytes key(kAgreedKeyBytes);
  crypto_generichash(key.data(), key.size(),
                     reinterpret_cast<const uint8_t*>(info.data()), info.size(),
                     shared.data(), shared.size());
  return key;
}

absl::Status ValidateX25519PublicKey(std::string_view public_key) {
  // X25519 clamps every scalar to a multiple of the cofactor, so the result
  // is all zero (an error) exactly when the point has small order.
  static const std::string kProbe(32, '\x5a');
  auto out = internal::X25519(kProbe, public_key);
  return out.ok() ? absl::OkStatus() : out.status();
}

absl::StatusOr<SecretBytes> DeriveKey(const SecretBytes& ikm,
                                      std::string_view label,
                                      std::string_view context,
                                      size_t out_bytes) {
  if (auto s = Init(); !s.ok()) return s;
  if (ikm.size() < crypto_generichash_KEYBYTES_MIN ||
      ikm.size() > crypto_generichash_KEYBYTES_MAX) {
    return absl::InvalidArgumentError(
        StrCat("key derivation input must be 16..64 bytes, got ", ikm.size()));
  }
  if (out_bytes < crypto_generichash_BYTES_MIN ||
      out_bytes > crypto_generichash_BYTES_MAX) {
    return absl::InvalidArgumentError(
        StrCat("derived key length must be 16..64 bytes, got ", out_bytes));
  }
  if (label.empty()) {
    return absl::InvalidArgumentError("key derivation label must not be empty");
  }
  std::string info = "kring-derive-v1";
  internal::AppendLengthPrefixed(info, label);
  internal::AppendLengthPrefixed(info, context);
  SecretBytes out(out_bytes);
  crypto_generichash(out.data(), out.size(),
                     reinterpret_cast<const uint8_t*>(info.data()), info.size(),
                     ikm.data(), ikm.size());
  return out;
}

}  // namespace kring::crypto
