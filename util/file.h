#ifndef KRING_UTIL_FILE_H_
#define KRING_UTIL_FILE_H_

// Reading a whole (small) file, with an error a person can act on.

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "absl/status/statusor.h"
#include "util/str_cat.h"

namespace kring {

// The file's bytes; NOT_FOUND naming the path when it cannot be read.
inline absl::StatusOr<std::string> ReadFileToString(
    const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError(StrCat("cannot read ", path.string()));
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace kring

#endif  // KRING_UTIL_FILE_H_
