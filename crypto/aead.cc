#include "crypto/aead.h"

#include <sodium.h>

#include "absl/status/status.h"
#include "crypto/init.h"
#include "crypto/internal/raw.h"
#include "util/str_cat.h"

namespace kring::crypto {

static_assert(Aead::kKeyBytes == crypto_aead_xchacha20poly1305_ietf_KEYBYTES);
static_assert(Aead::kNonceBytes ==
              crypto_aead_xchacha20poly1305_ietf_NPUBBYTES);
static_assert(Aead::kTagBytes == crypto_aead_xchacha20poly1305_ietf_ABYTES);

absl::StatusOr<Aead> Aead::Create(SecretBytes key) {
  if (auto s = Init(); !s.ok()) return s;
  if (key.size() != kKeyBytes) {
    return absl::InvalidArgumentError(
        StrCat("an AEAD key is 32 bytes, got ", key.size()));
  }
  return Aead(std::move(key));
}

Aead Aead::Generate() { return Aead(SecretBytes::Random(kKeyBytes)); }

absl::StatusOr<std::string> Aead::Seal(std::string_view plaintext,
                                       std::string_view associated_data) const {
  if (associated_data.empty()) {
    return absl::InvalidArgumentError(
        "AEAD associated data must not be empty: bind the ciphertext to what "
        "it belongs to");
  }
  std::string nonce(kNonceBytes, '\0');
  randombytes_buf(nonce.data(), nonce.size());
  auto body =
      internal::XChaChaSeal(key_.view(), nonce, plaintext, associated_data);
  if (!body.ok()) return body.status();
  return StrCat(nonce, *body);
}

absl::StatusOr<SecretBytes> Aead::Open(std::string_view sealed,
                                       std::string_view associated_data) const {
  if (associated_data.empty()) {
    return absl::InvalidArgumentError("AEAD associated data must not be empty");
  }
  if (sealed.size() < kOverheadBytes) {
    return absl::DataLossError(
        StrCat("sealed message is ", sealed.size(), " bytes, shorter than the ",
               kOverheadBytes, "-byte nonce and tag (truncated)"));
  }
  auto plain =
      internal::XChaChaOpen(key_.view(), sealed.substr(0, kNonceBytes),
                            sealed.substr(kNonceBytes), associated_data);
  if (!plain.ok()) return plain.status();
  SecretBytes out = SecretBytes::CopyFrom(*plain);
  sodium_memzero(plain->data(), plain->size());
  return out;
}

}  // namespace kring::crypto
