#ifndef KRING_STORAGE_INTERNAL_POSTGRES_H_
#define KRING_STORAGE_INTERNAL_POSTGRES_H_

// The PostgreSQL side of storage::Database, over libpq: a connection and
// statements executed with PQexecParams (parameters as binary BLOBs or
// text, results in binary format). Used only by storage/database.cc.

#include <libpq-fe.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace kring::storage::internal {

// Owns a libpq connection. Thread-compatible.
class PgConnection {
 public:
  // Connects to `url` (postgresql://...). `where` (the URL without its
  // password) and `label` start every message.
  static absl::StatusOr<std::unique_ptr<PgConnection>> Connect(
      const std::string& url, std::string label, std::string where);
  ~PgConnection();

  // Runs one or more statements without parameters or rows (simple query
  // protocol).
  absl::Status Exec(std::string_view sql);
  // COMMIT; an error also when PostgreSQL rolled the transaction back
  // instead (after a failed statement in it).
  absl::Status Commit();
  // Runs `sql` ($1.. placeholders) with `params` (nullopt is NULL;
  // binary[i]: sent as bytes, otherwise as text); results in binary format.
  absl::StatusOr<PGresult*> Run(
      const std::string& sql,
      const std::vector<std::optional<std::string>>& params,
      const std::vector<int>& binary);
  // Rows changed by the last statement Run or Exec ran.
  int64_t changes() const { return changes_; }
  // Inside a transaction a broken connection is not re-opened (what the
  // transaction did so far is gone: its statements and COMMIT fail).
  void set_in_transaction(bool in) { in_transaction_ = in; }

  // "<label> <where>: cannot <what>: <reason>[; advice]" with the code
  // fitting SQLSTATE `state` (empty: a connection failure).
  absl::Status Error(std::string_view state, std::string_view what,
                     std::string_view reason) const;

 private:
  PgConnection(PGconn* conn, std::string label, std::string where);
  // Reconnects a connection that broke outside a transaction.
  void ResetIfBroken();
  absl::Status Check(PGresult* result, std::string_view what);

  PGconn* conn_;
  std::string label_;
  std::string where_;
  int64_t changes_ = 0;
  bool in_transaction_ = false;
};

// One statement's parameters and, after running, its result.
struct PgStatement {
  std::string sql;  // with $n placeholders
  std::vector<std::optional<std::string>> params;
  std::vector<int> binary;
  PGresult* result = nullptr;
  int row = -1;  // the current row; -1 before the first Step

  ~PgStatement();
  void Clear();
  // Sets parameter `index` (1-based).
  void Set(int index, std::string value, bool is_binary);
  std::string_view Value(int column) const;
  int64_t Int(int column) const;
};

// `sql` with SQLite's `?` placeholders (outside quotes) numbered $1, $2...
std::string NumberPlaceholders(std::string_view sql);

}  // namespace kring::storage::internal

#endif  // KRING_STORAGE_INTERNAL_POSTGRES_H_
