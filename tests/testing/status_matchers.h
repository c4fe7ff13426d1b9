#ifndef KRING_TESTS_TESTING_STATUS_MATCHERS_H_
#define KRING_TESTS_TESTING_STATUS_MATCHERS_H_

// Minimal absl::Status matchers (Debian's abseil 20220623 ships none).

#include <ostream>
#include <string>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "gmock/gmock.h"

namespace kring::testing {

inline const absl::Status& GetStatus(const absl::Status& s) { return s; }
template <typename T>
const absl::Status& GetStatus(const absl::StatusOr<T>& s) {
  return s.status();
}

MATCHER(IsOk, "is OK") {
  const absl::Status& s = GetStatus(arg);
  if (!s.ok()) *result_listener << "status is " << s;
  return s.ok();
}

MATCHER_P(StatusIs, code, "has status code " + absl::StatusCodeToString(code)) {
  const absl::Status& s = GetStatus(arg);
  *result_listener << "status is " << s;
  return s.code() == code;
}

MATCHER_P2(StatusIs, code, message_matcher,
           "has status code " + absl::StatusCodeToString(code)) {
  const absl::Status& s = GetStatus(arg);
  *result_listener << "status is " << s;
  return s.code() == code &&
         ::testing::Matches(message_matcher)(std::string(s.message()));
}

MATCHER_P(IsOkAndHolds, inner, "is OK and holds a matching value") {
  if (!arg.ok()) {
    *result_listener << "status is " << arg.status();
    return false;
  }
  return ::testing::ExplainMatchResult(inner, *arg, result_listener);
}

}  // namespace kring::testing

#define KRING_ASSERT_OK_AND_ASSIGN(lhs, expr)                                 \
  KRING_ASSERT_OK_AND_ASSIGN_IMPL(KRING_STATUS_CONCAT(_status_or_, __LINE__), \
                                  lhs, expr)
#define KRING_ASSERT_OK_AND_ASSIGN_IMPL(var, lhs, expr) \
  auto var = (expr);                                    \
  ASSERT_TRUE(var.ok()) << var.status();                \
  lhs = std::move(var).value()
#define KRING_STATUS_CONCAT(a, b) KRING_STATUS_CONCAT_IMPL(a, b)
#define KRING_STATUS_CONCAT_IMPL(a, b) a##b

#define KRING_ASSERT_OK(expr) ASSERT_THAT((expr), ::kring::testing::IsOk())
#define KRING_EXPECT_OK(expr) EXPECT_THAT((expr), ::kring::testing::IsOk())

#endif  // KRING_TESTS_TESTING_STATUS_MATCHERS_H_
