#ifndef KRING_COORDINATOR_DB_LEASE_H_
#define KRING_COORDINATOR_DB_LEASE_H_

// Failover between coordinators on one PostgreSQL database: the active one
// holds a session-level advisory lock on a connection of its own; a
// standby polls for the lock and becomes active when it frees (the active
// process died, or lost its connection).

#include <chrono>
#include <functional>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace kring::storage {
class Database;
}  // namespace kring::storage

namespace kring::coordinator {

class ActiveLease {
 public:
  // Connects to `url` (postgresql://...) and polls every `poll` until this
  // process holds the coordinator's advisory lock; `on_standby` runs once
  // if another process holds it at first. Errors (messages without the
  // password) when the server cannot be reached at all; a connection lost
  // while waiting is retried.
  static absl::StatusOr<std::unique_ptr<ActiveLease>> Acquire(
      const std::string& url, std::chrono::milliseconds poll,
      const std::function<void()>& on_standby);
  ~ActiveLease();

  // OK while the lock's connection answers (so the lock is still held);
  // UNAVAILABLE once it is lost, after which another coordinator may be
  // active and this one must stop.
  absl::Status Check();

 private:
  explicit ActiveLease(std::unique_ptr<storage::Database> db);
  std::unique_ptr<storage::Database> db_;
};

}  // namespace kring::coordinator

#endif  // KRING_COORDINATOR_DB_LEASE_H_
