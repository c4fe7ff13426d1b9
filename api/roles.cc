#include "api/roles.h"

namespace kring::api {

std::string_view RoleName(v1::Role r) {
  switch (r) {
    case v1::ROLE_RESEARCHER:
      return "researcher";
    case v1::ROLE_MUNICIPALITY:
      return "municipality";
    case v1::ROLE_APPROVER:
      return "approver";
    case v1::ROLE_ADMIN:
      return "admin";
    default:
      return "unknown";
  }
}

std::optional<v1::Role> ParseRole(std::string_view name) {
  for (v1::Role r : {v1::ROLE_RESEARCHER, v1::ROLE_MUNICIPALITY,
                     v1::ROLE_APPROVER, v1::ROLE_ADMIN}) {
    if (name == RoleName(r)) return r;
  }
  return std::nullopt;
}

}  // namespace kring::api
