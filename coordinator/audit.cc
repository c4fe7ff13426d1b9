#include "coordinator/audit.h"

#include "util/str_cat.h"

namespace kring::coordinator {
namespace {

class DbLog final : public AuditLog {
 public:
  explicit DbLog(CoordinatorDb& db) : db_(db) {}
  absl::Status Append(std::string_view kind,
                      std::string_view summary) override {
    return db_.Audit(kind, summary);
  }

 private:
  CoordinatorDb& db_;
};

}  // namespace

std::unique_ptr<AuditLog> DbAuditLog(CoordinatorDb& db) {
  return std::make_unique<DbLog>(db);
}

absl::Status RecordAudit(AuditLog& log, std::string_view kind,
                         std::string_view summary) {
  const absl::Status s = log.Append(kind, summary);
  if (s.ok()) return s;
  // A full disk stays RESOURCE_EXHAUSTED; anything else is the
  // coordinator's own problem.
  const absl::StatusCode code = s.code() == absl::StatusCode::kResourceExhausted
                                    ? s.code()
                                    : absl::StatusCode::kInternal;
  return absl::Status(
      code,
      StrCat("the coordinator's audit log cannot be written (",
             ToStd(s.message()), "), so the `", kind,
             "` step was not done: nothing happens unrecorded. Check the data "
             "directory's disk space and permissions, then retry"));
}

}  // namespace kring::coordinator
