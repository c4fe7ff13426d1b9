#ifndef KRING_COORDINATOR_REGISTRY_H_
#define KRING_COORDINATOR_REGISTRY_H_

// Who takes part: users (and the authentication of their signed requests),
// schools and their one-time enrollment codes, over CoordinatorDb. Every
// change is audited first; a change whose audit entry cannot be written is
// refused.

#include <chrono>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "api/auth.h"
#include "coordinator/audit.h"
#include "coordinator/db.h"
#include "google/protobuf/message.h"
#include "kring/v1/service.pb.h"
#include "util/clock.h"

namespace kring::coordinator {

// PERMISSION_DENIED naming the user, its role and `what` unless the user
// has one of `roles`.
absl::Status NeedRole(const User& user, std::initializer_list<v1::Role> roles,
                      std::string_view what);

// Thread-safe (the database and the replay guard are). `db`, `audit` and
// `clock` must outlive the registry.
class Registry {
 public:
  Registry(CoordinatorDb& db, AuditLog& audit, const Clock& clock,
           std::chrono::hours code_lifetime);

  // Authenticates a signed request: known user, fresh timestamp, unused
  // nonce, valid signature for `method`. UNAUTHENTICATED otherwise, with
  // one answer for an unknown user and a bad signature.
  absl::StatusOr<User> Authenticate(std::string_view method,
                                    const google::protobuf::Message& request,
                                    const v1::RequestAuth& auth);

  // Admins: registers `added`; returns its key's fingerprint.
  absl::StatusOr<std::string> RegisterUser(const User& user, User added);
  // Admins: a one-time enrollment code for the school in `request`.
  absl::StatusOr<v1::CreateEnrollmentCodeResponse> CreateEnrollmentCode(
      const User& user, const v1::CreateEnrollmentCodeRequest& request);
  // A one-time code for `school` (BRIN, name, CBS municipality code), valid
  // for the code lifetime. For offline administration and admins.
  absl::StatusOr<v1::CreateEnrollmentCodeResponse> NewEnrollmentCode(
      const School& school);
  // Admins: every school, each completed by `live` (connection state and
  // events, which the registry does not know).
  absl::StatusOr<std::vector<v1::NodeInfo>> Nodes(
      const User& user, const std::function<void(v1::NodeInfo&)>& live);

  // A node redeems its code and registers its identity key.
  absl::StatusOr<v1::EnrollResponse> Enroll(const v1::EnrollRequest& request);
  // Verifies a node's signed hello; returns its school id.
  absl::StatusOr<std::string> Hello(const v1::NodeHello& hello);

  // The schools in `municipalities` (every school if empty).
  absl::StatusOr<std::vector<School>> SchoolsIn(
      const google::protobuf::RepeatedPtrField<std::string>& municipalities);

 private:
  CoordinatorDb& db_;
  AuditLog& audit_;
  const Clock& clock_;
  const std::chrono::hours code_lifetime_;
  api::ReplayGuard replay_;
};

}  // namespace kring::coordinator

#endif  // KRING_COORDINATOR_REGISTRY_H_
