#ifndef KRING_COORDINATOR_AUDIT_H_
#define KRING_COORDINATOR_AUDIT_H_

// Where the coordinator records what it does. Every write is checked:
// an action whose audit entry cannot be written is refused, and a run whose
// entry cannot be written fails, so nothing is released unrecorded.

#include <memory>
#include <string_view>

#include "absl/status/status.h"
#include "coordinator/db.h"

namespace kring::coordinator {

// An append-only log of the coordinator's actions.
class AuditLog {
 public:
  virtual ~AuditLog() = default;
  // Appends one entry. Thread-safe. An error means the entry is not in the
  // log.
  virtual absl::Status Append(std::string_view kind,
                              std::string_view summary) = 0;
};

// The hash-chained log in `db` (CoordinatorDb::Audit). `db` must outlive
// the result.
std::unique_ptr<AuditLog> DbAuditLog(CoordinatorDb& db);

// Appends (`kind`, `summary`) to `log`. On failure, an error that says the
// `kind` action was not done because the audit log could not be written,
// and how to fix it: RESOURCE_EXHAUSTED if the cause was (a full disk),
// INTERNAL otherwise.
absl::Status RecordAudit(AuditLog& log, std::string_view kind,
                         std::string_view summary);

}  // namespace kring::coordinator

#endif  // KRING_COORDINATOR_AUDIT_H_
