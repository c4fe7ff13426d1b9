#include "crypto/secagg/internal/transcript.h"

#include <sodium.h>

#include "crypto/internal/encoding.h"

namespace kring::crypto::secagg::internal {
namespace {

using crypto::internal::AppendLengthPrefixed;
using crypto::internal::AppendU32;

std::string Header(std::string_view label, std::string_view session,
                   uint32_t round, uint32_t sender) {
  std::string out;
  AppendLengthPrefixed(out, label);
  AppendLengthPrefixed(out, session);
  AppendU32(out, round);
  AppendU32(out, sender);
  return out;
}

}  // namespace

std::string Hash32(std::string_view bytes) {
  std::string out(32, '\0');
  crypto_generichash(reinterpret_cast<uint8_t*>(out.data()), out.size(),
                     reinterpret_cast<const uint8_t*>(bytes.data()),
                     bytes.size(), nullptr, 0);
  return out;
}

std::string AdvertiseBytes(std::string_view session,
                           const v1::AdvertiseKeys& m) {
  std::string out =
      Header("advertise-keys", session, kRoundAdvertise, m.sender());
  AppendLengthPrefixed(out, m.cipher_public_key());
  AppendLengthPrefixed(out, m.mask_public_key());
  return out;
}

std::string ShareKeysBytes(std::string_view session, const v1::ShareKeys& m) {
  std::string out = Header("share-keys", session, kRoundShareKeys, m.sender());
  AppendU32(out, static_cast<uint32_t>(m.shares_size()));
  for (const auto& s : m.shares()) {
    AppendU32(out, s.sender());
    AppendU32(out, s.recipient());
    AppendLengthPrefixed(out, Hash32(s.ciphertext()));
  }
  AppendLengthPrefixed(out, m.self_mask_commitment());
  return out;
}

std::string MaskedInputBytes(std::string_view session,
                             const v1::MaskedInput& m) {
  std::string out =
      Header("masked-input", session, kRoundMaskedInput, m.sender());
  AppendLengthPrefixed(out, Hash32(m.packed()));
  return out;
}

std::string ConsistencyBytes(std::string_view session, uint32_t sender,
                             std::string_view bitmap_hash,
                             std::string_view keys_hash) {
  std::string out = Header("consistency", session, kRoundConsistency, sender);
  AppendLengthPrefixed(out, bitmap_hash);
  AppendLengthPrefixed(out, keys_hash);
  return out;
}

std::string KeysHash(std::string_view cipher_public_key,
                     std::string_view mask_public_key) {
  std::string in;
  AppendLengthPrefixed(in, cipher_public_key);
  AppendLengthPrefixed(in, mask_public_key);
  return Hash32(in);
}

std::string SelfMaskCommitment(std::string_view session, std::string_view b) {
  std::string in = "kring-self-mask-commitment-v1";
  AppendLengthPrefixed(in, session);
  AppendLengthPrefixed(in, b);
  std::string out = Hash32(in);
  sodium_memzero(in.data(), in.size());
  return out;
}

std::string UnmaskBytes(std::string_view session, const v1::UnmaskResponse& m) {
  std::string out = Header("unmask", session, kRoundUnmask, m.sender());
  AppendU32(out, static_cast<uint32_t>(m.shares_size()));
  for (const auto& s : m.shares()) {
    AppendU32(out, s.owner());
    AppendU32(out, static_cast<uint32_t>(s.kind()));
    AppendLengthPrefixed(out, s.share());
  }
  return out;
}

std::string ShareAssociatedData(std::string_view session, uint32_t sender,
                                uint32_t recipient) {
  std::string out = Header("encrypted-share", session, kRoundShareKeys, sender);
  AppendU32(out, recipient);
  return out;
}

}  // namespace kring::crypto::secagg::internal
