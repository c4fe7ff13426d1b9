#include "crypto/secret_bytes.h"

#include <sodium.h>

#include <cstring>
#include <utility>

#include "crypto/init.h"

namespace kring::crypto {

SecretBytes::SecretBytes(size_t size)
    : data_(size == 0 ? nullptr : new uint8_t[size]()), size_(size) {}

SecretBytes SecretBytes::CopyFrom(std::span<const uint8_t> data) {
  SecretBytes s(data.size());
  if (!data.empty()) std::memcpy(s.data_.get(), data.data(), data.size());
  return s;
}

SecretBytes SecretBytes::CopyFrom(std::string_view data) {
  return CopyFrom(std::span<const uint8_t>(
      reinterpret_cast<const uint8_t*>(data.data()), data.size()));
}

SecretBytes SecretBytes::Random(size_t size) {
  (void)Init();  // randombytes_buf works even if this failed; it aborts then.
  SecretBytes s(size);
  if (size > 0) randombytes_buf(s.data_.get(), size);
  return s;
}

SecretBytes SecretBytes::Random(size_t size, RandomSource& source) {
  SecretBytes s(size);
  source.Fill(s.span());
  return s;
}

SecretBytes::SecretBytes(SecretBytes&& other) noexcept
    : data_(std::move(other.data_)), size_(std::exchange(other.size_, 0)) {}

SecretBytes& SecretBytes::operator=(SecretBytes&& other) noexcept {
  if (this != &other) {
    Wipe();
    data_ = std::move(other.data_);
    size_ = std::exchange(other.size_, 0);
  }
  return *this;
}

SecretBytes::~SecretBytes() { Wipe(); }

void SecretBytes::Wipe() {
  if (data_ != nullptr) sodium_memzero(data_.get(), size_);
  data_.reset();
  size_ = 0;
}

SecretBytes SecretBytes::Clone() const { return CopyFrom(span()); }

bool operator==(const SecretBytes& a, const SecretBytes& b) {
  if (a.size_ != b.size_) return false;
  if (a.size_ == 0) return true;
  return sodium_memcmp(a.data_.get(), b.data_.get(), a.size_) == 0;
}

}  // namespace kring::crypto
