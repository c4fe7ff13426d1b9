#include "crypto/internal/encoding.h"

#include <sodium.h>

#include "absl/status/status.h"
#include "crypto/init.h"

namespace kring::crypto::internal {
namespace {

const unsigned char* U(std::string_view s) {
  return reinterpret_cast<const unsigned char*>(s.data());
}

}  // namespace

std::string HexEncode(std::string_view bytes) {
  std::string out(bytes.size() * 2 + 1, '\0');
  sodium_bin2hex(out.data(), out.size(), U(bytes), bytes.size());
  out.pop_back();
  return out;
}

absl::StatusOr<std::string> HexDecode(std::string_view hex) {
  std::string out(hex.size() / 2 + 1, '\0');
  size_t len = 0;
  const char* end = nullptr;
  if (sodium_hex2bin(reinterpret_cast<unsigned char*>(out.data()), out.size(),
                     hex.data(), hex.size(), nullptr, &len, &end) != 0 ||
      end != hex.data() + hex.size()) {
    return absl::InvalidArgumentError("malformed hex string");
  }
  out.resize(len);
  return out;
}

std::string Base64Encode(std::string_view bytes) {
  constexpr int kVariant = sodium_base64_VARIANT_ORIGINAL;
  std::string out(sodium_base64_encoded_len(bytes.size(), kVariant), '\0');
  sodium_bin2base64(out.data(), out.size(), U(bytes), bytes.size(), kVariant);
  out.pop_back();  // the terminating NUL
  return out;
}

absl::StatusOr<SecretBytes> Base64DecodeSecret(std::string_view text) {
  (void)Init();
  SecretBytes buf(text.size() / 4 * 3 + 3);
  size_t len = 0;
  const char* end = nullptr;
  if (sodium_base642bin(buf.data(), buf.size(), text.data(), text.size(),
                        nullptr, &len, &end,
                        sodium_base64_VARIANT_ORIGINAL) != 0 ||
      end != text.data() + text.size()) {
    return absl::InvalidArgumentError("malformed base64 key material");
  }
  return SecretBytes::CopyFrom(buf.span().first(len));
}

absl::StatusOr<std::string> Base64Decode(std::string_view text) {
  auto secret = Base64DecodeSecret(text);
  if (!secret.ok()) return secret.status();
  return std::string(secret->view());
}

void AppendU32(std::string& out, uint32_t v) {
  for (int i = 0; i < 4; ++i) out.push_back(static_cast<char>(v >> (8 * i)));
}

void AppendU64(std::string& out, uint64_t v) {
  for (int i = 0; i < 8; ++i) out.push_back(static_cast<char>(v >> (8 * i)));
}

void AppendLengthPrefixed(std::string& out, std::string_view bytes) {
  AppendU32(out, static_cast<uint32_t>(bytes.size()));
  out.append(bytes);
}

}  // namespace kring::crypto::internal
