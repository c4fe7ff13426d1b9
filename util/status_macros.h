#ifndef KRING_UTIL_STATUS_MACROS_H_
#define KRING_UTIL_STATUS_MACROS_H_

// Early-return helpers for absl::Status / absl::StatusOr (Debian's abseil
// 20220623 ships none).

#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

// Returns the status of `expr` from the enclosing function if it is not OK.
#define KRING_RETURN_IF_ERROR(expr)                                 \
  do {                                                              \
    if (::absl::Status _kring_status = (expr); !_kring_status.ok()) \
      return _kring_status;                                         \
  } while (0)

// `lhs = *expr` if `expr` (a StatusOr) is OK, else returns its status.
#define KRING_ASSIGN_OR_RETURN(lhs, expr)                                    \
  KRING_ASSIGN_OR_RETURN_IMPL(KRING_MACRO_CONCAT(_kring_or_, __LINE__), lhs, \
                              expr)
#define KRING_ASSIGN_OR_RETURN_IMPL(var, lhs, expr) \
  auto var = (expr);                                \
  if (!var.ok()) return std::move(var).status();    \
  lhs = *std::move(var)
#define KRING_MACRO_CONCAT(a, b) KRING_MACRO_CONCAT_IMPL(a, b)
#define KRING_MACRO_CONCAT_IMPL(a, b) a##b

#endif  // KRING_UTIL_STATUS_MACROS_H_
