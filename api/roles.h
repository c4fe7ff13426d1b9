#ifndef KRING_API_ROLES_H_
#define KRING_API_ROLES_H_

// The roles of kring's users, by name, as the CLIs, node policies and
// audit logs write them.

#include <optional>
#include <string_view>

#include "kring/v1/service.pb.h"

namespace kring::api {

// "researcher", "municipality", "approver", "admin" ("unknown" otherwise).
// Static storage.
std::string_view RoleName(v1::Role r);

// The role `name` names (exactly as RoleName writes it), or nullopt.
std::optional<v1::Role> ParseRole(std::string_view name);

}  // namespace kring::api

#endif  // KRING_API_ROLES_H_
