#include "storage/internal/postgres.h"

#include <endian.h>

#include <cstring>
#include <utility>

#include "absl/strings/numbers.h"
#include "util/str_cat.h"

namespace kring::storage::internal {
namespace {

// PostgreSQL type OIDs (pg_type.dat) read by PgStatement::Int.
constexpr Oid kBoolOid = 16;
constexpr Oid kInt8Oid = 20;
constexpr Oid kInt2Oid = 21;
constexpr Oid kInt4Oid = 23;

// The status code and advice for SQLSTATE `state` (empty: no connection).
std::pair<absl::StatusCode, std::string_view> Classify(std::string_view state) {
  if (state.empty() || state.starts_with("08")) {
    return {absl::StatusCode::kUnavailable,
            "; check that the PostgreSQL server runs and that the address in "
            "--database is right"};
  }
  if (state.starts_with("23")) return {absl::StatusCode::kAlreadyExists, ""};
  if (state.starts_with("28") || state == "42501") {
    return {absl::StatusCode::kPermissionDenied,
            "; check the user, its password and its privileges on the "
            "database"};
  }
  if (state == "3D000") {
    return {absl::StatusCode::kNotFound,
            "; create the database first (createdb)"};
  }
  if (state == "53100") {
    return {absl::StatusCode::kResourceExhausted,
            "; the database server's disk is full: free some space and try "
            "again"};
  }
  if (state.starts_with("40") || state.starts_with("53") || state == "55P03" ||
      state.starts_with("57")) {
    return {absl::StatusCode::kUnavailable, "; try again shortly"};
  }
  if (state.starts_with("XX")) {
    return {absl::StatusCode::kDataLoss,
            "; the database is damaged: restore it from a backup"};
  }
  return {absl::StatusCode::kInternal, ""};
}

// libpq's messages end with a newline.
std::string_view Trim(const char* message) {
  std::string_view m = message == nullptr ? "" : message;
  while (!m.empty() && (m.back() == '\n' || m.back() == ' '))
    m.remove_suffix(1);
  return m;
}

void IgnoreNotice(void*, const char*) {}

}  // namespace

std::string NumberPlaceholders(std::string_view sql) {
  std::string out;
  out.reserve(sql.size() + 8);
  int n = 0;
  bool quoted = false;
  for (char c : sql) {
    if (c == '\'') quoted = !quoted;
    if (c == '?' && !quoted) {
      out += StrCat("$", ++n);
    } else {
      out += c;
    }
  }
  return out;
}

PgConnection::PgConnection(PGconn* conn, std::string label, std::string where)
    : conn_(conn), label_(std::move(label)), where_(std::move(where)) {}

PgConnection::~PgConnection() { PQfinish(conn_); }

absl::StatusOr<std::unique_ptr<PgConnection>> PgConnection::Connect(
    const std::string& url, std::string label, std::string where) {
  PGconn* conn = PQconnectdb(url.c_str());
  auto out = std::unique_ptr<PgConnection>(
      new PgConnection(conn, std::move(label), std::move(where)));
  if (conn == nullptr) {
    return out->Error("", "connect", "out of memory");
  }
  if (PQstatus(conn) != CONNECTION_OK) {
    return out->Error("", "connect", Trim(PQerrorMessage(conn)));
  }
  PQsetNoticeProcessor(conn, IgnoreNotice, nullptr);
  return out;
}

absl::Status PgConnection::Error(std::string_view state, std::string_view what,
                                 std::string_view reason) const {
  const auto [code, advice] = Classify(state);
  return absl::Status(code, StrCat(label_, " ", where_, ": cannot ", what, ": ",
                                   reason, advice));
}

void PgConnection::ResetIfBroken() {
  if (!in_transaction_ && PQstatus(conn_) == CONNECTION_BAD) PQreset(conn_);
}

absl::Status PgConnection::Check(PGresult* result, std::string_view what) {
  const ExecStatusType status =
      result == nullptr ? PGRES_FATAL_ERROR : PQresultStatus(result);
  if (status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK) {
    int64_t changes = 0;
    (void)absl::SimpleAtoi(PQcmdTuples(result), &changes);
    changes_ = changes;
    return absl::OkStatus();
  }
  const char* state = result == nullptr
                          ? nullptr
                          : PQresultErrorField(result, PG_DIAG_SQLSTATE);
  const std::string reason(result == nullptr
                               ? Trim(PQerrorMessage(conn_))
                               : Trim(PQresultErrorMessage(result)));
  return Error(state == nullptr ? "" : state, what, reason);
}

absl::Status PgConnection::Exec(std::string_view sql) {
  ResetIfBroken();
  PGresult* result = PQexec(conn_, std::string(sql).c_str());
  absl::Status s = Check(result, StrCat("run \"", sql.substr(0, 80), "\""));
  PQclear(result);
  return s;
}

absl::Status PgConnection::Commit() {
  PGresult* result = PQexec(conn_, "COMMIT");
  absl::Status s = Check(result, "commit");
  if (s.ok() && std::string_view(PQcmdStatus(result)) != "COMMIT") {
    s = Error("40000", "commit",
              "the transaction was rolled back after an earlier error");
  }
  PQclear(result);
  return s;
}

absl::StatusOr<PGresult*> PgConnection::Run(
    const std::string& sql,
    const std::vector<std::optional<std::string>>& params,
    const std::vector<int>& binary) {
  ResetIfBroken();
  std::vector<const char*> values(params.size());
  std::vector<int> lengths(params.size());
  for (size_t i = 0; i < params.size(); ++i) {
    values[i] = params[i] ? params[i]->data() : nullptr;
    lengths[i] = params[i] ? static_cast<int>(params[i]->size()) : 0;
  }
  PGresult* result = PQexecParams(
      conn_, sql.c_str(), static_cast<int>(params.size()), nullptr,
      values.data(), lengths.data(), binary.data(), /*resultFormat=*/1);
  if (absl::Status s = Check(result, StrCat("run \"", sql.substr(0, 80), "\""));
      !s.ok()) {
    PQclear(result);
    return s;
  }
  return result;
}

PgStatement::~PgStatement() { PQclear(result); }

void PgStatement::Clear() {
  PQclear(result);
  result = nullptr;
  row = -1;
}

void PgStatement::Set(int index, std::string value, bool is_binary) {
  const size_t i = static_cast<size_t>(index - 1);
  if (params.size() <= i) {
    params.resize(i + 1);
    binary.resize(i + 1, 0);
  }
  params[i] = std::move(value);
  binary[i] = is_binary ? 1 : 0;
}

std::string_view PgStatement::Value(int column) const {
  if (result == nullptr || row < 0 || row >= PQntuples(result) || column < 0 ||
      column >= PQnfields(result) || PQgetisnull(result, row, column)) {
    return {};
  }
  return {PQgetvalue(result, row, column),
          static_cast<size_t>(PQgetlength(result, row, column))};
}

int64_t PgStatement::Int(int column) const {
  const std::string_view v = Value(column);
  if (v.empty()) return 0;
  const Oid type = PQftype(result, column);
  if (type == kInt8Oid && v.size() == 8) {
    uint64_t x;
    std::memcpy(&x, v.data(), 8);
    return static_cast<int64_t>(be64toh(x));
  }
  if (type == kInt4Oid && v.size() == 4) {
    uint32_t x;
    std::memcpy(&x, v.data(), 4);
    return static_cast<int32_t>(be32toh(x));
  }
  if (type == kInt2Oid && v.size() == 2) {
    uint16_t x;
    std::memcpy(&x, v.data(), 2);
    return static_cast<int16_t>(be16toh(x));
  }
  if (type == kBoolOid) return v[0] != 0 ? 1 : 0;
  int64_t x = 0;
  return absl::SimpleAtoi(absl::string_view(v.data(), v.size()), &x) ? x : 0;
}

}  // namespace kring::storage::internal
