#include "crypto/internal/raw.h"

#include <sodium.h>

#include "absl/status/status.h"
#include "crypto/init.h"
#include "util/str_cat.h"

namespace kring::crypto::internal {
namespace {

const unsigned char* U(std::string_view s) {
  return reinterpret_cast<const unsigned char*>(s.data());
}
unsigned char* U(std::string& s) {
  return reinterpret_cast<unsigned char*>(s.data());
}

absl::Status CheckSize(std::string_view what, std::string_view value,
                       size_t want) {
  if (value.size() != want) {
    return absl::InvalidArgumentError(
        StrCat(what, " must be ", want, " bytes, got ", value.size()));
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::string> Ed25519Sign(std::string_view secret_key,
                                        std::string_view message) {
  if (auto s = Init(); !s.ok()) return s;
  if (auto s = CheckSize("Ed25519 secret key", secret_key,
                         crypto_sign_SECRETKEYBYTES);
      !s.ok()) {
    return s;
  }
  std::string sig(crypto_sign_BYTES, '\0');
  crypto_sign_detached(U(sig), nullptr, U(message), message.size(),
                       U(secret_key));
  return sig;
}

bool Ed25519Verify(std::string_view public_key, std::string_view message,
                   std::string_view signature) {
  if (!Init().ok()) return false;
  if (public_key.size() != crypto_sign_PUBLICKEYBYTES ||
      signature.size() != crypto_sign_BYTES) {
    return false;
  }
  return crypto_sign_verify_detached(U(signature), U(message), message.size(),
                                     U(public_key)) == 0;
}

absl::StatusOr<std::string> X25519(std::string_view scalar,
                                   std::string_view u_coordinate) {
  if (auto s = Init(); !s.ok()) return s;
  if (auto s = CheckSize("X25519 scalar", scalar, crypto_scalarmult_BYTES);
      !s.ok()) {
    return s;
  }
  if (auto s =
          CheckSize("X25519 public key", u_coordinate, crypto_scalarmult_BYTES);
      !s.ok()) {
    return s;
  }
  std::string out(crypto_scalarmult_BYTES, '\0');
  if (crypto_scalarmult(U(out), U(scalar), U(u_coordinate)) != 0) {
    sodium_memzero(out.data(), out.size());
    return absl::InvalidArgumentError(
        "X25519 public key has small order (all-zero shared secret); the "
        "peer's key is invalid");
  }
  return out;
}

absl::StatusOr<std::string> XChaChaSeal(std::string_view key,
                                        std::string_view nonce,
                                        std::string_view plaintext,
                                        std::string_view ad) {
  if (auto s = Init(); !s.ok()) return s;
  if (auto s = CheckSize("AEAD key", key,
                         crypto_aead_xchacha20poly1305_ietf_KEYBYTES);
      !s.ok()) {
    return s;
  }
  if (auto s = CheckSize("AEAD nonce", nonce,
                         crypto_aead_xchacha20poly1305_ietf_NPUBBYTES);
      !s.ok()) {
    return s;
  }
  std::string out(plaintext.size() + crypto_aead_xchacha20poly1305_ietf_ABYTES,
                  '\0');
  unsigned long long out_len = 0;
  crypto_aead_xchacha20poly1305_ietf_encrypt(U(out), &out_len, U(plaintext),
                                             plaintext.size(), U(ad), ad.size(),
                                             nullptr, U(nonce), U(key));
  out.resize(out_len);
  return out;
}

absl::StatusOr<std::string> XChaChaOpen(std::string_view key,
                                        std::string_view nonce,
                                        std::string_view ciphertext_and_tag,
                                        std::string_view ad) {
  if (auto s = Init(); !s.ok()) return s;
  if (auto s = CheckSize("AEAD key", key,
                         crypto_aead_xchacha20poly1305_ietf_KEYBYTES);
      !s.ok()) {
    return s;
  }
  if (auto s = CheckSize("AEAD nonce", nonce,
                         crypto_aead_xchacha20poly1305_ietf_NPUBBYTES);
      !s.ok()) {
    return s;
  }
  if (ciphertext_and_tag.size() < crypto_aead_xchacha20poly1305_ietf_ABYTES) {
    return absl::DataLossError(
        "ciphertext is shorter than the authentication tag (truncated)");
  }
  std::string out(
      ciphertext_and_tag.size() - crypto_aead_xchacha20poly1305_ietf_ABYTES,
      '\0');
  unsigned long long out_len = 0;
  if (crypto_aead_xchacha20poly1305_ietf_decrypt(
          U(out), &out_len, nullptr, U(ciphertext_and_tag),
          ciphertext_and_tag.size(), U(ad), ad.size(), U(nonce), U(key)) != 0) {
    return absl::DataLossError(
        "authentication failed: the ciphertext was tampered with, truncated, "
        "or opened with the wrong key or associated data");
  }
  out.resize(out_len);
  return out;
}

absl::StatusOr<std::string> ChaCha20Xor(std::string_view key,
                                        std::string_view nonce,
                                        uint32_t counter,
                                        std::string_view input) {
  if (auto s = Init(); !s.ok()) return s;
  if (auto s =
          CheckSize("ChaCha20 key", key, crypto_stream_chacha20_ietf_KEYBYTES);
      !s.ok()) {
    return s;
  }
  if (auto s = CheckSize("ChaCha20 nonce", nonce,
                         crypto_stream_chacha20_ietf_NONCEBYTES);
      !s.ok()) {
    return s;
  }
  std::string out(input.size(), '\0');
  crypto_stream_chacha20_ietf_xor_ic(U(out), U(input), input.size(), U(nonce),
                                     counter, U(key));
  return out;
}

}  // namespace kring::crypto::internal
