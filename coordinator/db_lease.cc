#include "coordinator/db_lease.h"

#include <thread>
#include <utility>

#include "storage/database.h"
#include "util/str_cat.h"

namespace kring::coordinator {
namespace {

// The advisory lock key of the active coordinator ("kring-co" in ASCII).
constexpr int64_t kActiveLockKey = 0x6b72696e672d636f;

absl::StatusOr<std::unique_ptr<storage::Database>> Connect(
    const std::string& url) {
  storage::OpenOptions options;
  options.label = "coordinator failover lock";
  return storage::Database::OpenPostgres(url, options);
}

absl::StatusOr<bool> TryLock(storage::Database& db) {
  auto st = db.Prepare("SELECT pg_try_advisory_lock(?)");
  if (!st.ok()) return st.status();
  auto row = st->Bind(1, kActiveLockKey).Step();
  if (!row.ok()) return row.status();
  return *row && st->Int(0) != 0;
}

}  // namespace

ActiveLease::ActiveLease(std::unique_ptr<storage::Database> db)
    : db_(std::move(db)) {}
ActiveLease::~ActiveLease() = default;

absl::StatusOr<std::unique_ptr<ActiveLease>> ActiveLease::Acquire(
    const std::string& url, std::chrono::milliseconds poll,
    const std::function<void()>& on_standby) {
  auto db = Connect(url);
  if (!db.ok()) return db.status();
  bool told = false;
  for (;;) {
    auto locked = TryLock(**db);
    if (locked.ok() && *locked) {
      return std::unique_ptr<ActiveLease>(new ActiveLease(*std::move(db)));
    }
    if (!told && locked.ok()) {
      told = true;
      if (on_standby) on_standby();
    }
    // A failed attempt (the server restarting) is retried on the same
    // connection, which storage::Database re-opens when it broke.
    std::this_thread::sleep_for(poll);
  }
}

absl::Status ActiveLease::Check() {
  // Asks whether this session still holds the lock: a connection that
  // broke and was re-opened is a new session without it.
  auto st = db_->Prepare(
      "SELECT COUNT(*) FROM pg_locks WHERE locktype = 'advisory' AND "
      "pid = pg_backend_pid() AND granted");
  if (!st.ok()) return st.status();
  auto row = st->Step();
  if (!row.ok() || !*row || st->Int(0) == 0) {
    return absl::UnavailableError(
        StrCat("lost the active coordinator's lock in PostgreSQL (",
               row.ok() ? std::string("its session ended")
                        : ToStd(row.status().message()),
               "); another coordinator may be active now"));
  }
  return absl::OkStatus();
}

}  // namespace kring::coordinator
