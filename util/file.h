#ifndef KRING_UTIL_FILE_H_
#define KRING_UTIL_FILE_H_

// Reading a whole (small) file, with an error a person can act on.

#include <cstddef>
#include <filesystem>
#include <fstream>
#include <string>
#include <system_error>

#include "absl/status/statusor.h"
#include "util/str_cat.h"

namespace kring {

// The most ReadFileToString reads unless told otherwise: configuration,
// specs, keys and mappings are far smaller.
inline constexpr size_t kMaxFileBytes = size_t{64} << 20;

// The file's bytes. NOT_FOUND naming the path when it cannot be opened;
// INVALID_ARGUMENT for a directory; RESOURCE_EXHAUSTED, naming the limit,
// when it holds more than `max_bytes` (also for endless inputs such as
// /dev/zero: at most `max_bytes` + 64 KiB are read).
inline absl::StatusOr<std::string> ReadFileToString(
    const std::filesystem::path& path, size_t max_bytes = kMaxFileBytes) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) {
    return absl::InvalidArgumentError(
        StrCat(path.string(), " is a directory; give the path of a file"));
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError(StrCat("cannot read ", path.string()));
  std::string out;
  std::string buffer(size_t{64} << 10, '\0');
  while (in.read(buffer.data(), static_cast<std::streamsize>(buffer.size())) ||
         in.gcount() > 0) {
    const auto got = static_cast<size_t>(in.gcount());
    if (out.size() + got > max_bytes) {
      const bool mib = max_bytes % (size_t{1} << 20) == 0;
      return absl::ResourceExhaustedError(StrCat(
          path.string(), " is larger than ", mib ? max_bytes >> 20 : max_bytes,
          mib ? " MiB" : " bytes",
          ", the most kring reads from such a file; check that it is the "
          "right file"));
    }
    out.append(buffer.data(), got);
  }
  if (in.bad()) {
    return absl::DataLossError(StrCat("error while reading ", path.string()));
  }
  return out;
}

}  // namespace kring

#endif  // KRING_UTIL_FILE_H_
