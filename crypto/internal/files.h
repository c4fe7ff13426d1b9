#ifndef KRING_CRYPTO_INTERNAL_FILES_H_
#define KRING_CRYPTO_INTERNAL_FILES_H_

#include <filesystem>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace kring::crypto::internal {

// Writes `contents` to `path` atomically: a temporary file in the same
// directory created with `mode`, fsync, then rename. With `exclusive`,
// fails with ALREADY_EXISTS if `path` exists.
absl::Status WriteFileAtomically(const std::filesystem::path& path,
                                 std::string_view contents, unsigned mode,
                                 bool exclusive);

// Reads a small file (at most `max_bytes`). With `require_private`, refuses
// files whose mode grants any access to group or others.
absl::StatusOr<std::string> ReadSmallFile(const std::filesystem::path& path,
                                          size_t max_bytes,
                                          bool require_private);

}  // namespace kring::crypto::internal

#endif  // KRING_CRYPTO_INTERNAL_FILES_H_
