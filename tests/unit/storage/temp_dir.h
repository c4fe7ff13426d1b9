#ifndef KRING_TESTS_UNIT_STORAGE_TEMP_DIR_H_
#define KRING_TESTS_UNIT_STORAGE_TEMP_DIR_H_

#include <stdlib.h>

#include <filesystem>
#include <string>

namespace kring::storage {

// A fresh directory, removed with its contents on destruction.
class TempDir {
 public:
  TempDir() {
    std::string tmpl =
        (std::filesystem::temp_directory_path() / "kring-storage-XXXXXX")
            .string();
    path_ = mkdtemp(tmpl.data());
  }
  ~TempDir() { std::filesystem::remove_all(path_); }
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

}  // namespace kring::storage

#endif  // KRING_TESTS_UNIT_STORAGE_TEMP_DIR_H_
