#include "crypto/identity.h"

#include <sodium.h>

#include <cctype>
#include <cstring>
#include <mutex>
#include <set>

#include "crypto/init.h"
#include "crypto/internal/encoding.h"
#include "crypto/internal/files.h"
#include "crypto/internal/raw.h"
#include "util/str_cat.h"

namespace kring::crypto {
namespace {

constexpr std::string_view kSignaturePrefix("kring-sig-v1\0", 13);
constexpr std::string_view kPublicTextPrefix = "kring-ed25519-public-v1:";
constexpr std::string_view kSecretTextPrefix = "kring-ed25519-secret-v1:";
constexpr std::string_view kSecretFileHeader =
    "# kring Ed25519 identity private key. Keep this file secret (mode 0600);\n"
    "# anyone holding it can act as this node or user.\n";
constexpr size_t kMaxKeyFileBytes = 4096;

std::string SignedMessage(std::string_view context, std::string_view message) {
  std::string m;
  m.reserve(kSignaturePrefix.size() + 1 + context.size() + message.size());
  m.append(kSignaturePrefix);
  m.push_back(static_cast<char>(context.size()));
  m.append(context);
  m.append(message);
  return m;
}

// The key line of a key file: the first line that is not blank or a comment.
absl::StatusOr<std::string_view> KeyLine(std::string_view text,
                                         std::string_view what) {
  while (!text.empty()) {
    size_t eol = text.find('\n');
    std::string_view line = text.substr(0, eol);
    text = eol == std::string_view::npos ? std::string_view()
                                         : text.substr(eol + 1);
    while (!line.empty() &&
           std::isspace(static_cast<unsigned char>(line.back()))) {
      line.remove_suffix(1);
    }
    while (!line.empty() &&
           std::isspace(static_cast<unsigned char>(line.front()))) {
      line.remove_prefix(1);
    }
    if (line.empty() || line.front() == '#') continue;
    return line;
  }
  return absl::InvalidArgumentError(StrCat(what, " is empty"));
}

}  // namespace

absl::Status ValidateSigningContext(std::string_view context) {
  if (context.empty() || context.size() > 64) {
    return absl::InvalidArgumentError(StrCat(
        "signing context must be 1..64 characters, got ", context.size()));
  }
  for (char c : context) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' ||
              c == '_' || c == '/' || c == '-';
    if (!ok) {
      return absl::InvalidArgumentError(
          StrCat("signing context \"", context,
                 "\" may only contain a-z, 0-9 and . _ / -"));
    }
  }
  return absl::OkStatus();
}

namespace {

// Whether `key` is a canonical point of the prime-order subgroup. The check
// costs about as much as a signature verification, and the same few hundred
// school keys come back in every query's roster, so keys that passed are
// remembered (only public keys, only ones that passed, bounded in number).
bool IsValidPointCached(const std::array<uint8_t, 32>& key) {
  static std::mutex mu;
  static std::set<std::array<uint8_t, 32>> valid;
  constexpr size_t kMaxRemembered = 65536;
  {
    std::lock_guard lock(mu);
    if (valid.contains(key)) return true;
  }
  if (crypto_core_ed25519_is_valid_point(key.data()) != 1) return false;
  std::lock_guard lock(mu);
  if (valid.size() >= kMaxRemembered) valid.clear();
  valid.insert(key);
  return true;
}

}  // namespace

absl::StatusOr<IdentityPublicKey> IdentityPublicKey::FromBytes(
    std::string_view bytes) {
  if (auto s = Init(); !s.ok()) return s;
  if (bytes.size() != kIdentityPublicKeyBytes) {
    return absl::InvalidArgumentError(
        StrCat("an Ed25519 public key is 32 bytes, got ", bytes.size()));
  }
  std::array<uint8_t, 32> key;
  std::memcpy(key.data(), bytes.data(), key.size());
  if (!IsValidPointCached(key)) {
    return absl::InvalidArgumentError(
        "not a valid Ed25519 public key (non-canonical or small-order point)");
  }
  return IdentityPublicKey(key);
}

absl::StatusOr<IdentityPublicKey> IdentityPublicKey::FromText(
    std::string_view text) {
  auto line = KeyLine(text, "public key text");
  if (!line.ok()) return line.status();
  if (!line->starts_with(kPublicTextPrefix)) {
    return absl::InvalidArgumentError(
        StrCat("not a kring public key: expected a line starting with \"",
               kPublicTextPrefix, "\""));
  }
  auto raw = internal::Base64Decode(line->substr(kPublicTextPrefix.size()));
  if (!raw.ok()) return raw.status();
  return FromBytes(*raw);
}

absl::StatusOr<IdentityPublicKey> IdentityPublicKey::FromFileOrText(
    std::string_view file_or_text) {
  if (file_or_text.starts_with(kPublicTextPrefix)) {
    return FromText(file_or_text);
  }
  return LoadFile(std::filesystem::path(std::string(file_or_text)));
}

absl::StatusOr<IdentityPublicKey> IdentityPublicKey::LoadFile(
    const std::filesystem::path& path) {
  auto text = internal::ReadSmallFile(path, kMaxKeyFileBytes,
                                      /*require_private=*/false);
  if (!text.ok()) return text.status();
  auto key = FromText(*text);
  if (!key.ok()) {
    return absl::InvalidArgumentError(
        StrCat(path.string(), ": ", key.status().message()));
  }
  return key;
}

std::string IdentityPublicKey::ToText() const {
  return StrCat(kPublicTextPrefix, internal::Base64Encode(bytes()));
}

absl::Status IdentityPublicKey::SaveFile(
    const std::filesystem::path& path) const {
  return internal::WriteFileAtomically(path, ToText() + "\n", 0644,
                                       /*exclusive=*/false);
}

std::string IdentityPublicKey::Fingerprint() const {
  (void)Init();
  static constexpr std::string_view kLabel = "kring-fingerprint-v1";
  uint8_t digest[16];
  crypto_generichash_state st;
  crypto_generichash_init(&st, nullptr, 0, sizeof digest);
  crypto_generichash_update(
      &st, reinterpret_cast<const uint8_t*>(kLabel.data()), kLabel.size());
  crypto_generichash_update(&st, key_.data(), key_.size());
  crypto_generichash_final(&st, digest, sizeof digest);
  std::string hex = internal::HexEncode(
      std::string_view(reinterpret_cast<const char*>(digest), sizeof digest));
  std::string out;
  for (size_t i = 0; i < hex.size(); ++i) {
    if (i > 0 && i % 4 == 0) out.push_back('-');
    out.push_back(static_cast<char>(std::toupper(hex[i])));
  }
  return out;
}

absl::Status IdentityPublicKey::Verify(std::string_view context,
                                       std::string_view message,
                                       std::string_view signature) const {
  if (auto s = ValidateSigningContext(context); !s.ok()) return s;
  if (signature.size() != kSignatureBytes) {
    return absl::InvalidArgumentError(
        StrCat("an Ed25519 signature is 64 bytes, got ", signature.size()));
  }
  if (!internal::Ed25519Verify(bytes(), SignedMessage(context, message),
                               signature)) {
    return absl::UnauthenticatedError(
        StrCat("signature does not verify (context \"", context,
               "\", signer fingerprint ", Fingerprint(), ")"));
  }
  return absl::OkStatus();
}

IdentityKeyPair IdentityKeyPair::Generate() {
  auto pair = FromSeed(SecretBytes::Random(kIdentitySeedBytes));
  // FromSeed only fails on a wrong seed size or a failed sodium_init, after
  // which randombytes would already have aborted.
  return *std::move(pair);
}

absl::StatusOr<IdentityKeyPair> IdentityKeyPair::FromSeed(
    const SecretBytes& seed) {
  if (auto s = Init(); !s.ok()) return s;
  if (seed.size() != kIdentitySeedBytes) {
    return absl::InvalidArgumentError(
        StrCat("an Ed25519 seed is 32 bytes, got ", seed.size()));
  }
  SecretBytes sk(crypto_sign_SECRETKEYBYTES);
  std::array<uint8_t, 32> pk;
  crypto_sign_seed_keypair(pk.data(), sk.data(), seed.data());
  return IdentityKeyPair(seed.Clone(), std::move(sk), IdentityPublicKey(pk));
}

absl::StatusOr<IdentityKeyPair> IdentityKeyPair::LoadPrivateKeyFile(
    const std::filesystem::path& path) {
  auto text = internal::ReadSmallFile(path, kMaxKeyFileBytes,
                                      /*require_private=*/true);
  if (!text.ok()) return text.status();
  SecretBytes owned = SecretBytes::CopyFrom(*text);
  sodium_memzero(text->data(), text->size());
  auto line = KeyLine(owned.view(), path.string());
  if (!line.ok()) return line.status();
  if (!line->starts_with(kSecretTextPrefix)) {
    return absl::InvalidArgumentError(
        StrCat(path.string(),
               " is not a kring private key file (expected a line "
               "starting with \"",
               kSecretTextPrefix, "\")"));
  }
  auto seed =
      internal::Base64DecodeSecret(line->substr(kSecretTextPrefix.size()));
  if (!seed.ok()) {
    return absl::InvalidArgumentError(
        StrCat(path.string(), ": ", seed.status().message()));
  }
  if (seed->size() != kIdentitySeedBytes) {
    return absl::InvalidArgumentError(StrCat(
        path.string(), ": the key is ", seed->size(), " bytes, expected 32"));
  }
  return FromSeed(*seed);
}

absl::Status IdentityKeyPair::SavePrivateKeyFile(
    const std::filesystem::path& path) const {
  std::string text = StrCat(kSecretFileHeader, kSecretTextPrefix,
                            internal::Base64Encode(seed_.view()), "\n");
  SecretBytes contents = SecretBytes::CopyFrom(text);
  sodium_memzero(text.data(), text.size());
  return internal::WriteFileAtomically(path, contents.view(), 0600,
                                       /*exclusive=*/true);
}

absl::StatusOr<std::string> IdentityKeyPair::Sign(
    std::string_view context, std::string_view message) const {
  if (auto s = ValidateSigningContext(context); !s.ok()) return s;
  return internal::Ed25519Sign(secret_key_.view(),
                               SignedMessage(context, message));
}

}  // namespace kring::crypto
