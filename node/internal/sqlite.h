#ifndef KRING_NODE_INTERNAL_SQLITE_H_
#define KRING_NODE_INTERNAL_SQLITE_H_

// The part of an SQLite connection the node's store and audit log share:
// the handle, closed on destruction, and errors named after the database.

#include <sqlite3.h>

#include <string>
#include <string_view>

#include "absl/status/status.h"

namespace kring::node::internal {

struct SqliteHandle {
  // `label` starts every error message, e.g. "node database".
  explicit SqliteHandle(std::string_view label) : label(label) {}
  ~SqliteHandle() {
    if (handle != nullptr) sqlite3_close_v2(handle);
  }
  SqliteHandle(const SqliteHandle&) = delete;
  SqliteHandle& operator=(const SqliteHandle&) = delete;

  // INTERNAL: "<label>: <what>: <SQLite's message>".
  absl::Status Error(std::string_view what) const;
  // Runs one or more statements that return no rows.
  absl::Status Exec(const char* sql);

  sqlite3* handle = nullptr;
  std::string label;
};

}  // namespace kring::node::internal

#endif  // KRING_NODE_INTERNAL_SQLITE_H_
