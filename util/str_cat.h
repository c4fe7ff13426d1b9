#ifndef KRING_UTIL_STR_CAT_H_
#define KRING_UTIL_STR_CAT_H_

// StrCat for std::string_view. Debian's abseil 20220623 is built with its own
// absl::string_view (ABSL_OPTION_USE_STD_STRING_VIEW 0), so absl::StrCat does
// not accept std::string_view; this small replacement accepts both.

#include <charconv>
#include <concepts>
#include <cstdio>
#include <string>
#include <string_view>

#include "absl/strings/string_view.h"

namespace kring {
namespace str_cat_internal {

inline void Append(std::string& out, std::string_view v) { out.append(v); }
inline void Append(std::string& out, const std::string& v) { out.append(v); }
inline void Append(std::string& out, const char* v) { out.append(v); }
inline void Append(std::string& out, absl::string_view v) {
  out.append(v.data(), v.size());
}
inline void Append(std::string& out, char v) { out.push_back(v); }
inline void Append(std::string& out, bool v) {
  out.append(v ? "true" : "false");
}
template <std::integral T>
requires(!std::same_as<T, char> &&
         !std::same_as<T, bool>) void Append(std::string& out, T v) {
  out.append(std::to_string(v));
}
// The shortest text that reads back as the same double ("2.7", not
// "2.7000000000000002").
template <std::floating_point T>
void Append(std::string& out, T v) {
  char buf[32];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, static_cast<double>(v));
  out.append(buf, ec == std::errc() ? end : buf);
}

}  // namespace str_cat_internal

// Concatenates strings, string views, characters and numbers.
template <typename... Args>
std::string StrCat(const Args&... args) {
  std::string out;
  (str_cat_internal::Append(out, args), ...);
  return out;
}

// Converts abseil's string_view (e.g. absl::Status::message()) to std's.
inline std::string_view ToStd(absl::string_view v) {
  return {v.data(), v.size()};
}

}  // namespace kring

#endif  // KRING_UTIL_STR_CAT_H_
