#include "coordinator/registry.h"

#include <algorithm>

#include "api/roles.h"
#include "coordinator/internal/random_hex.h"
#include "crypto/identity.h"
#include "util/status_macros.h"
#include "util/str_cat.h"

namespace kring::coordinator {

using internal::RandomHex;

absl::Status NeedRole(const User& user, std::initializer_list<v1::Role> roles,
                      std::string_view what) {
  for (v1::Role r : roles) {
    if (user.role == r) return absl::OkStatus();
  }
  return absl::PermissionDeniedError(StrCat("user ", user.user_id, " (",
                                            api::RoleName(user.role),
                                            ") may not ", what));
}

Registry::Registry(CoordinatorDb& db, AuditLog& audit, const Clock& clock,
                   std::chrono::hours code_lifetime)
    : db_(db),
      audit_(audit),
      clock_(clock),
      code_lifetime_(code_lifetime),
      replay_(clock) {}

absl::StatusOr<User> Registry::Authenticate(
    std::string_view method, const google::protobuf::Message& request,
    const v1::RequestAuth& auth) {
  if (auth.user_id().empty() || auth.signature().empty()) {
    return absl::UnauthenticatedError(
        "the request is not signed; use the kring CLI with your user key");
  }
  // One answer for an unknown user and a bad signature, so that user ids
  // cannot be probed.
  const absl::Status refused = absl::UnauthenticatedError(
      "the request could not be authenticated: unknown user, or not signed "
      "with that user's registered key");
  auto user = db_.GetUser(auth.user_id());
  if (!user.ok()) return refused;
  auto key = crypto::IdentityPublicKey::FromBytes(user->public_key);
  if (!key.ok()) return absl::InternalError("a stored user key is invalid");
  KRING_ASSIGN_OR_RETURN(
      const std::string bytes,
      api::RequestSigningBytes(method, auth.user_id(), request,
                               auth.unix_millis(), auth.nonce()));
  if (!key->Verify(api::kRequestContext, bytes, auth.signature()).ok()) {
    return refused;
  }
  // Keyed by the signing key: a signature is accepted once, whichever user
  // id it names.
  KRING_RETURN_IF_ERROR(replay_.Check(StrCat("key:", user->public_key),
                                      auth.unix_millis(), auth.nonce()));
  return user;
}

absl::StatusOr<std::string> Registry::RegisterUser(const User& user,
                                                   User added) {
  KRING_RETURN_IF_ERROR(NeedRole(user, {v1::ROLE_ADMIN}, "register users"));
  auto key = crypto::IdentityPublicKey::FromBytes(added.public_key);
  if (!key.ok()) {
    return absl::InvalidArgumentError("the user's public key is not valid");
  }
  if (added.user_id.empty() || added.role == v1::ROLE_UNSPECIFIED) {
    return absl::InvalidArgumentError("a user needs an id and a role");
  }
  if (added.role == v1::ROLE_MUNICIPALITY && added.municipalities.empty()) {
    return absl::InvalidArgumentError(
        "a municipality user needs its municipality codes");
  }
  if (db_.GetUser(added.user_id).ok()) {
    return absl::AlreadyExistsError(
        StrCat("user ", added.user_id, " already exists; choose another id"));
  }
  KRING_RETURN_IF_ERROR(RecordAudit(
      audit_, "user",
      StrCat("user ", added.user_id, " (", api::RoleName(added.role),
             ") registered by ", user.user_id)));
  KRING_RETURN_IF_ERROR(db_.AddUser(added));
  return key->Fingerprint();
}

absl::StatusOr<v1::CreateEnrollmentCodeResponse> Registry::CreateEnrollmentCode(
    const User& user, const v1::CreateEnrollmentCodeRequest& request) {
  KRING_RETURN_IF_ERROR(NeedRole(user, {v1::ROLE_ADMIN}, "enroll schools"));
  School s;
  s.brin = request.brin();
  s.name = request.school_name();
  s.municipality = request.municipality();
  return NewEnrollmentCode(s);
}

absl::StatusOr<v1::CreateEnrollmentCodeResponse> Registry::NewEnrollmentCode(
    const School& school) {
  if (school.brin.empty() || school.name.empty()) {
    return absl::InvalidArgumentError(
        "an enrollment code needs the school's BRIN code and name");
  }
  if (school.municipality.size() != 6 ||
      school.municipality.substr(0, 2) != "GM") {
    return absl::InvalidArgumentError(
        StrCat("municipality `", school.municipality,
               "` is not a CBS code such as GM0363"));
  }
  const std::string code =
      StrCat(RandomHex(4), "-", RandomHex(4), "-", RandomHex(4));
  const int64_t expires =
      clock_.NowUnixMillis() +
      std::chrono::duration_cast<std::chrono::milliseconds>(code_lifetime_)
          .count();
  KRING_RETURN_IF_ERROR(
      RecordAudit(audit_, "enrollment-code",
                  StrCat("code issued for ", school.brin, " ", school.name,
                         " (", school.municipality, ")")));
  KRING_RETURN_IF_ERROR(db_.AddEnrollmentCode(code, school, expires));
  v1::CreateEnrollmentCodeResponse r;
  r.set_code(code);
  r.set_expires_unix_millis(expires);
  return r;
}

absl::StatusOr<std::vector<v1::NodeInfo>> Registry::Nodes(
    const User& user, const std::function<void(v1::NodeInfo&)>& live) {
  KRING_RETURN_IF_ERROR(NeedRole(user, {v1::ROLE_ADMIN}, "list nodes"));
  KRING_ASSIGN_OR_RETURN(const std::vector<School> schools, db_.ListSchools());
  std::vector<v1::NodeInfo> out;
  for (const School& s : schools) {
    v1::NodeInfo n;
    n.set_school_id(s.school_id);
    n.set_brin(s.brin);
    n.set_school_name(s.name);
    n.set_municipality(s.municipality);
    if (auto k = crypto::IdentityPublicKey::FromBytes(s.identity_key); k.ok()) {
      n.set_fingerprint(k->Fingerprint());
    }
    n.set_last_seen_unix_millis(s.last_seen_millis);
    n.set_version(s.version);
    live(n);
    out.push_back(std::move(n));
  }
  return out;
}

absl::StatusOr<v1::EnrollResponse> Registry::Enroll(
    const v1::EnrollRequest& request) {
  auto key =
      crypto::IdentityPublicKey::FromBytes(request.identity_public_key());
  if (!key.ok()) {
    return absl::InvalidArgumentError("the node's public key is not valid");
  }
  KRING_ASSIGN_OR_RETURN(
      School school,
      db_.RedeemEnrollmentCode(request.code(), clock_.NowUnixMillis()));
  school.school_id = StrCat(school.brin, "-", RandomHex(3));
  school.identity_key = std::string(key->bytes());
  school.version = request.version();
  school.last_seen_millis = clock_.NowUnixMillis();
  // The code is spent either way; without its audit entry the school is
  // not registered and needs a new code.
  KRING_RETURN_IF_ERROR(
      RecordAudit(audit_, "enrolled",
                  StrCat("school ", school.school_id, " (", school.name, ", ",
                         school.municipality, ") key ", key->Fingerprint())));
  KRING_RETURN_IF_ERROR(db_.PutSchool(school));
  v1::EnrollResponse r;
  r.set_school_id(school.school_id);
  r.set_brin(school.brin);
  r.set_school_name(school.name);
  r.set_municipality(school.municipality);
  r.set_fingerprint(key->Fingerprint());
  return r;
}

absl::StatusOr<std::string> Registry::Hello(const v1::NodeHello& hello) {
  auto school = db_.GetSchool(hello.school_id());
  if (!school.ok()) {
    return absl::UnauthenticatedError(
        StrCat("unknown school ", hello.school_id(), "; enroll first"));
  }
  auto key = crypto::IdentityPublicKey::FromBytes(school->identity_key);
  if (!key.ok() ||
      !key->Verify(api::kHelloContext,
                   api::HelloSigningBytes(hello.school_id(),
                                          hello.unix_millis(), hello.nonce()),
                   hello.signature())
           .ok()) {
    return absl::UnauthenticatedError(
        "the node's hello is not signed with its enrolled key");
  }
  KRING_RETURN_IF_ERROR(replay_.Check(StrCat("node:", hello.school_id()),
                                      hello.unix_millis(), hello.nonce()));
  // Last seen and version are informational (ListNodes); a failed update
  // does not keep the school out.
  db_.TouchSchool(hello.school_id(), hello.version(), clock_.NowUnixMillis())
      .IgnoreError();
  return hello.school_id();
}

absl::StatusOr<std::vector<School>> Registry::SchoolsIn(
    const google::protobuf::RepeatedPtrField<std::string>& municipalities) {
  KRING_ASSIGN_OR_RETURN(std::vector<School> schools, db_.ListSchools());
  std::vector<School> out;
  for (School& s : schools) {
    if (municipalities.empty() ||
        std::find(municipalities.begin(), municipalities.end(),
                  s.municipality) != municipalities.end()) {
      out.push_back(std::move(s));
    }
  }
  return out;
}

}  // namespace kring::coordinator
