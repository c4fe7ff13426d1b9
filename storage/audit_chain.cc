#include "storage/audit_chain.h"

#include <sodium.h>

#include <set>

#include "absl/strings/str_join.h"
#include "crypto/init.h"
#include "crypto/internal/encoding.h"
#include "util/str_cat.h"

namespace kring::storage {
namespace {

using crypto::SecretBytes;

constexpr size_t kMacBytes = AuditChain::kKeyBytes;
constexpr std::string_view kEntryLabel = "kring-audit-entry-v1";
constexpr std::string_view kHeadLabel = "kring-audit-head-v1";

// Each format's SQL. Selects read (seq, time, kind, summary, fields, mac).
struct Layout {
  const char* create;
  const char* insert;
  const char* select_all;
  const char* select_entries;
  const char* select_last;  // kCoordinator only: (seq, mac) of the last
  const char* table;        // for messages
};

constexpr Layout kNodeLayout = {
    "CREATE TABLE entries(seq INTEGER PRIMARY KEY,"
    "  unix_time INTEGER NOT NULL, kind TEXT NOT NULL,"
    "  summary TEXT NOT NULL, fields TEXT NOT NULL,"
    "  mac BLOB NOT NULL);"
    "CREATE TABLE head(id INTEGER PRIMARY KEY CHECK (id = 1),"
    "  seq INTEGER NOT NULL, mac BLOB NOT NULL,"
    "  head_mac BLOB NOT NULL);",
    "INSERT INTO entries(seq, unix_time, kind, summary, fields, mac) "
    "VALUES(?, ?, ?, ?, ?, ?)",
    "SELECT seq, unix_time, kind, summary, fields, mac FROM entries "
    "ORDER BY seq",
    "SELECT fields FROM entries WHERE kind = ?",
    nullptr,
    "entries",
};

constexpr Layout kCoordinatorLayout = {
    "CREATE TABLE audit(seq INTEGER PRIMARY KEY, millis INTEGER,"
    "  kind TEXT, summary TEXT, hash BLOB);",
    "INSERT INTO audit(seq, millis, kind, summary, hash) "
    "VALUES(?, ?, ?, ?, ?)",
    "SELECT seq, millis, kind, summary, '', hash FROM audit ORDER BY seq",
    "SELECT '' FROM audit WHERE kind = ?",
    "SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1",
    "audit table",
};

const Layout& LayoutOf(ChainFormat format) {
  return format == ChainFormat::kNode ? kNodeLayout : kCoordinatorLayout;
}

const std::string& ZeroMac() {
  static const std::string zero(kMacBytes, '\0');
  return zero;
}

std::string Mac(const SecretBytes& key, std::string_view message) {
  std::string out(kMacBytes, '\0');
  crypto_generichash(reinterpret_cast<uint8_t*>(out.data()), out.size(),
                     reinterpret_cast<const uint8_t*>(message.data()),
                     message.size(), key.data(), key.size());
  return out;
}

bool SameMac(std::string_view a, std::string_view b) {
  return a.size() == kMacBytes && b.size() == kMacBytes &&
         sodium_memcmp(a.data(), b.data(), kMacBytes) == 0;
}

bool IsText(std::string_view s) {
  for (unsigned char c : s) {
    if (c < 0x20 || c == 0x7f) return false;
  }
  return true;
}

bool IsWord(std::string_view s, char separator) {
  if (s.empty() || !(s[0] >= 'a' && s[0] <= 'z')) return false;
  for (char c : s) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == separator))
      return false;
  }
  return true;
}

absl::Status ValidateOneLine(std::string_view kind, std::string_view summary,
                             const AuditFields& fields) {
  if (!IsWord(kind, '-')) {
    return absl::InvalidArgumentError(
        StrCat("audit entry kind \"", kind,
               "\" must be a lower-case word (a-z, 0-9, -)"));
  }
  if (summary.empty() || !IsText(summary)) {
    return absl::InvalidArgumentError(
        "an audit entry's summary must be one non-empty line of text");
  }
  std::set<std::string_view> names;
  for (const auto& [name, value] : fields) {
    if (!IsWord(name, '_')) {
      return absl::InvalidArgumentError(
          StrCat("audit field name \"", name,
                 "\" must be a lower-case word (a-z, 0-9, _)"));
    }
    if (!names.insert(name).second) {
      return absl::InvalidArgumentError(
          StrCat("audit field \"", name, "\" is given twice"));
    }
    if (!IsText(value)) {
      return absl::InvalidArgumentError(
          StrCat("audit field \"", name, "\" must be one line of text"));
    }
  }
  return absl::OkStatus();
}

// Reads (seq, time, kind, summary, fields) of a select_all row.
ChainEntry ReadEntry(const Statement& st) {
  ChainEntry e;
  e.seq = static_cast<uint64_t>(st.Int(0));
  e.time = st.Int(1);
  e.kind = std::string(st.Text(2));
  e.summary = std::string(st.Text(3));
  e.fields = DecodeFields(st.Text(4));
  return e;
}

}  // namespace

std::string EncodeFields(const AuditFields& fields) {
  // ValidateOneLine keeps '=' out of names and line breaks out of both.
  return absl::StrJoin(fields, "\n", absl::PairFormatter("="));
}

AuditFields DecodeFields(std::string_view text) {
  AuditFields fields;
  while (!text.empty()) {
    const size_t eol = text.find('\n');
    const std::string_view line = text.substr(0, eol);
    text = eol == std::string_view::npos ? std::string_view()
                                         : text.substr(eol + 1);
    // A line without '=' is damage (Verify says so): its value is empty.
    const size_t eq = line.find('=');
    if (eq == std::string_view::npos) {
      fields.emplace_back(std::string(line), "");
    } else {
      fields.emplace_back(std::string(line.substr(0, eq)),
                          std::string(line.substr(eq + 1)));
    }
  }
  return fields;
}

AuditChain::AuditChain(Database* db, ChainFormat format, SecretBytes key,
                       ChainNames names)
    : db_(db),
      format_(format),
      key_(std::move(key)),
      names_(std::move(names)) {}

absl::StatusOr<AuditChain> AuditChain::Create(Database* db, ChainFormat format,
                                              SecretBytes key,
                                              ChainNames names) {
  if (auto s = crypto::Init(); !s.ok()) return s;
  if (key.size() != kKeyBytes) {
    return absl::InvalidArgumentError(
        StrCat("the audit log key must be 32 bytes, got ", key.size()));
  }
  return AuditChain(db, format, std::move(key), std::move(names));
}

std::string AuditChain::Modified() const {
  return StrCat("the ", names_.log, " was modified outside ", names_.program,
                " (or is damaged)");
}

std::string AuditChain::EntryMac(const ChainEntry& e,
                                 std::string_view prev) const {
  if (format_ == ChainFormat::kCoordinator) {
    return Mac(key_,
               StrCat(prev, "|", e.seq, "|", e.time, "|", e.kind.size(), ":",
                      e.kind, "|", e.summary.size(), ":", e.summary));
  }
  using crypto::internal::AppendLengthPrefixed;
  std::string m(kEntryLabel);
  crypto::internal::AppendU64(m, e.seq);
  crypto::internal::AppendU64(m, static_cast<uint64_t>(e.time));
  AppendLengthPrefixed(m, e.kind);
  AppendLengthPrefixed(m, e.summary);
  crypto::internal::AppendU32(m, static_cast<uint32_t>(e.fields.size()));
  for (const auto& [name, value] : e.fields) {
    AppendLengthPrefixed(m, name);
    AppendLengthPrefixed(m, value);
  }
  m.append(prev);
  return Mac(key_, m);
}

std::string AuditChain::HeadMac(uint64_t seq, std::string_view mac) const {
  std::string m(kHeadLabel);
  crypto::internal::AppendU64(m, seq);
  m.append(mac);
  return Mac(key_, m);
}

absl::Status AuditChain::Unreadable(std::string_view table,
                                    const absl::Status& cause) const {
  return absl::DataLossError(StrCat("the ", names_.log, "'s ", table,
                                    " cannot be read (", ToStd(cause.message()),
                                    "): ", Modified()));
}

absl::Status AuditChain::CreateTables() {
  const Layout& layout = LayoutOf(format_);
  if (auto s = db_->Exec(layout.create); !s.ok()) return s;
  if (format_ != ChainFormat::kNode) return absl::OkStatus();
  auto head = db_->Prepare(
      "INSERT INTO head(id, seq, mac, head_mac) VALUES(1, 0, ?, ?)");
  if (!head.ok()) return head.status();
  return head->Bind(1, ZeroMac()).Bind(2, HeadMac(0, ZeroMac())).Run();
}

absl::StatusOr<AuditChain::Head> AuditChain::ReadHead() const {
  Head head{0, ZeroMac()};
  if (format_ == ChainFormat::kCoordinator) {
    auto st = db_->Prepare(kCoordinatorLayout.select_last);
    if (!st.ok()) return Unreadable(kCoordinatorLayout.table, st.status());
    auto row = st->Step();
    if (!row.ok()) return row.status();
    if (*row)
      head = {static_cast<uint64_t>(st->Int(0)), std::string(st->Blob(1))};
    return head;
  }
  auto st = db_->Prepare("SELECT seq, mac, head_mac FROM head WHERE id = 1");
  if (!st.ok()) return Unreadable("head", st.status());
  auto row = st->Step();
  if (!row.ok()) return row.status();
  if (!*row) {
    return absl::DataLossError(
        StrCat("the ", names_.log,
               "'s head (its last entry number) is missing: ", Modified()));
  }
  head.seq = static_cast<uint64_t>(st->Int(0));
  head.mac = std::string(st->Blob(1));
  if (!SameMac(st->Blob(2), HeadMac(head.seq, head.mac))) {
    return absl::DataLossError(
        StrCat("the ", names_.log, "'s head (saying the last entry is ",
               head.seq, ") fails authentication: ", Modified()));
  }
  return head;
}

absl::Status AuditChain::Insert(const ChainEntry& e, std::string_view mac,
                                const Head& head) {
  auto ins = db_->Prepare(LayoutOf(format_).insert);
  if (!ins.ok()) return ins.status();
  ins->Bind(1, static_cast<int64_t>(e.seq))
      .Bind(2, e.time)
      .BindText(3, e.kind)
      .BindText(4, e.summary);
  if (format_ == ChainFormat::kNode) {
    ins->BindText(5, EncodeFields(e.fields)).Bind(6, mac);
  } else {
    ins->Bind(5, mac);
  }
  if (auto s = ins->Run(); absl::IsAlreadyExists(s)) {
    return absl::DataLossError(StrCat(
        "audit entry ", e.seq, " exists although the head says the log ends ",
        "at entry ", head.seq, ": ", Modified()));
  } else if (!s.ok()) {
    return s;
  }
  if (format_ != ChainFormat::kNode) return absl::OkStatus();
  auto upd = db_->Prepare(
      "UPDATE head SET seq = ?, mac = ?, head_mac = ? WHERE id = 1");
  if (!upd.ok()) return upd.status();
  return upd->Bind(1, static_cast<int64_t>(e.seq))
      .Bind(2, mac)
      .Bind(3, HeadMac(e.seq, mac))
      .Run();
}

absl::Status AuditChain::Append(int64_t time, std::string_view kind,
                                std::string_view summary, AuditFields fields) {
  if (format_ == ChainFormat::kNode) {
    if (auto s = ValidateOneLine(kind, summary, fields); !s.ok()) return s;
  } else if (!fields.empty()) {
    return absl::InvalidArgumentError(
        "the coordinator's audit log format has no fields");
  }
  auto tx = Transaction::Begin(*db_, Transaction::Mode::kImmediate);
  if (!tx.ok()) return tx.status();
  const std::string nothing_appended =
      names_.verify_command.empty()
          ? std::string("; nothing was appended")
          : StrCat("; nothing was appended. Run `", names_.verify_command, "`");
  auto head = ReadHead();
  if (!head.ok()) {
    return absl::Status(
        head.status().code(),
        StrCat(ToStd(head.status().message()), nothing_appended));
  }
  ChainEntry e{head->seq + 1, time, std::string(kind), std::string(summary),
               std::move(fields)};
  const std::string mac = EntryMac(e, head->mac);
  if (auto s = Insert(e, mac, *head); !s.ok()) {
    if (absl::IsDataLoss(s)) {
      return absl::DataLossError(StrCat(ToStd(s.message()), nothing_appended));
    }
    return s;
  }
  return tx->Commit();
}

absl::StatusOr<std::vector<ChainEntry>> AuditChain::Entries() const {
  const Layout& layout = LayoutOf(format_);
  auto st = db_->Prepare(layout.select_all);
  if (!st.ok()) return Unreadable(layout.table, st.status());
  std::vector<ChainEntry> entries;
  for (;;) {
    auto row = st->Step();
    if (!row.ok()) return row.status();
    if (!*row) return entries;
    entries.push_back(ReadEntry(*st));
  }
}

absl::StatusOr<bool> AuditChain::Contains(std::string_view kind,
                                          std::string_view name,
                                          std::string_view value) const {
  const Layout& layout = LayoutOf(format_);
  auto st = db_->Prepare(layout.select_entries);
  if (!st.ok()) return Unreadable(layout.table, st.status());
  st->BindText(1, kind);
  for (;;) {
    auto row = st->Step();
    if (!row.ok()) return row.status();
    if (!*row) return false;
    for (const auto& [n, v] : DecodeFields(st->Text(0))) {
      if (n == name && v == value) return true;
    }
  }
}

absl::Status AuditChain::CheckSequence(int64_t seq, uint64_t expected,
                                       const Head& head) const {
  if (seq < 1) {
    return absl::DataLossError(
        StrCat("audit entry ", seq, " was inserted: ", Modified()));
  }
  if (format_ == ChainFormat::kNode && expected > head.seq) {
    return absl::DataLossError(
        StrCat("audit entry ", seq, " was added after the last entry (",
               head.seq, ") without the log's key: ", Modified()));
  }
  if (static_cast<uint64_t>(seq) == expected) return absl::OkStatus();
  const uint64_t last_missing = static_cast<uint64_t>(seq) - 1;
  return absl::DataLossError(
      last_missing == expected
          ? StrCat("audit entry ", expected, " was removed: ", Modified())
          : StrCat("audit entries ", expected, " to ", last_missing,
                   " were removed: ", Modified()));
}

absl::Status AuditChain::CheckTail(uint64_t next, const Head& head,
                                   std::string_view last_mac) const {
  if (format_ != ChainFormat::kNode) return absl::OkStatus();
  if (next <= head.seq) {
    return absl::DataLossError(
        next == head.seq
            ? StrCat("audit entry ", next,
                     ", the last one, was removed: ", Modified())
            : StrCat("audit entries ", next, " to ", head.seq,
                     ", the last ones, were removed: ", Modified()));
  }
  if (!SameMac(head.mac, last_mac)) {
    return absl::DataLossError(StrCat("the ", names_.log,
                                      "'s head does not match entry ", head.seq,
                                      ": ", Modified()));
  }
  return absl::OkStatus();
}

absl::Status AuditChain::AlteredAt(uint64_t seq,
                                   const absl::Status& detail) const {
  if (format_ != ChainFormat::kCoordinator) return detail;
  // The coordinator's messages have always begun so.
  return absl::DataLossError(StrCat("the ", names_.log,
                                    " was altered at entry ", seq, ": ",
                                    ToStd(detail.message())));
}

absl::Status AuditChain::Verify() const {
  // One read transaction, so that an append by another process cannot fall
  // between reading the head and reading the entries.
  auto tx = Transaction::Begin(*db_, Transaction::Mode::kDeferred);
  if (!tx.ok()) return tx.status();
  auto head = ReadHead();
  if (!head.ok()) return head.status();
  const Layout& layout = LayoutOf(format_);
  auto st = db_->Prepare(layout.select_all);
  if (!st.ok()) return Unreadable(layout.table, st.status());
  uint64_t expected = 1;
  std::string prev = ZeroMac();
  for (;; ++expected) {
    auto row = st->Step();
    if (!row.ok()) return row.status();
    if (!*row) break;
    if (auto s = CheckSequence(st->Int(0), expected, *head); !s.ok()) {
      return AlteredAt(expected, s);
    }
    const ChainEntry e = ReadEntry(*st);
    const std::string mac = EntryMac(e, prev);
    if (EncodeFields(e.fields) != st->Text(4) || !SameMac(st->Blob(5), mac)) {
      return AlteredAt(
          expected,
          absl::DataLossError(StrCat(
              "audit entry ", expected,
              " fails authentication: it was edited, replaced or moved; ",
              Modified())));
    }
    prev = mac;
  }
  if (auto s = CheckTail(expected, *head, prev); !s.ok()) return s;
  return tx->Commit();
}

}  // namespace kring::storage
