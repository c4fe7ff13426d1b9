#ifndef KRING_CRYPTO_SECRET_BYTES_H_
#define KRING_CRYPTO_SECRET_BYTES_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <ostream>
#include <span>
#include <string_view>

#include "crypto/random.h"

namespace kring::crypto {

// A fixed-size buffer of secret bytes (keys, seeds, shares, plaintexts).
// Move-only; the contents are wiped with sodium_memzero when the object is
// destroyed or moved from. Equality is constant-time. Streaming a SecretBytes
// prints only its size, so secrets cannot end up in logs by accident.
// Not thread-safe for concurrent mutation; const access may be shared.
class SecretBytes {
 public:
  // An empty secret.
  SecretBytes() = default;
  // `size` zero bytes.
  explicit SecretBytes(size_t size);
  // A copy of `data`. The caller remains responsible for wiping `data`.
  static SecretBytes CopyFrom(std::span<const uint8_t> data);
  static SecretBytes CopyFrom(std::string_view data);
  // `size` bytes from libsodium's CSPRNG.
  static SecretBytes Random(size_t size);
  // `size` bytes from `source` (tests and simulations inject theirs).
  static SecretBytes Random(size_t size, RandomSource& source);

  SecretBytes(SecretBytes&& other) noexcept;
  SecretBytes& operator=(SecretBytes&& other) noexcept;
  SecretBytes(const SecretBytes&) = delete;
  SecretBytes& operator=(const SecretBytes&) = delete;
  ~SecretBytes();

  // An explicit deep copy; named so that copies of secrets are visible.
  SecretBytes Clone() const;

  size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }
  const uint8_t* data() const { return data_.get(); }
  uint8_t* data() { return data_.get(); }
  std::span<const uint8_t> span() const { return {data_.get(), size_}; }
  std::span<uint8_t> span() { return {data_.get(), size_}; }
  // A view of the bytes as characters, e.g. for protobuf `bytes` fields.
  std::string_view view() const {
    return {reinterpret_cast<const char*>(data_.get()), size_};
  }

  // Constant-time in the contents (not in the sizes, which are public).
  friend bool operator==(const SecretBytes& a, const SecretBytes& b);

  friend std::ostream& operator<<(std::ostream& os, const SecretBytes& s) {
    return os << "SecretBytes(" << s.size_ << " bytes, redacted)";
  }

 private:
  void Wipe();

  std::unique_ptr<uint8_t[]> data_;
  size_t size_ = 0;
};

}  // namespace kring::crypto

#endif  // KRING_CRYPTO_SECRET_BYTES_H_
