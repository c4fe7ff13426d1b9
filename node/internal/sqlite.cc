#include "node/internal/sqlite.h"

#include "util/str_cat.h"

namespace kring::node::internal {

absl::Status SqliteHandle::Error(std::string_view what) const {
  return absl::InternalError(
      StrCat(label, ": ", what, ": ", sqlite3_errmsg(handle)));
}

absl::Status SqliteHandle::Exec(const char* sql) {
  char* err = nullptr;
  if (sqlite3_exec(handle, sql, nullptr, nullptr, &err) != SQLITE_OK) {
    std::string msg = err != nullptr ? err : "unknown error";
    sqlite3_free(err);
    return absl::InternalError(StrCat(label, ": ", msg));
  }
  return absl::OkStatus();
}

}  // namespace kring::node::internal
