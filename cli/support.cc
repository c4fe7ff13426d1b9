#include "cli/support.h"

#include <cstdlib>
#include <ctime>
#include <iostream>

#include "util/str_cat.h"

namespace kring::cli {

int Fail(std::string_view program, const absl::Status& status) {
  // Messages may quote file contents: no control characters reach the
  // terminal but line breaks and tabs.
  std::string message(ToStd(status.message()));
  for (char& c : message) {
    const auto b = static_cast<unsigned char>(c);
    if ((b < 0x20 && c != '\n' && c != '\t') || b == 0x7f) c = '?';
  }
  std::cerr << program << ": " << message << "\n";
  return kExitFailed;
}

int Usage(std::string_view program, std::string_view message) {
  std::cerr << program << ": " << message << "\n";
  return kExitUsage;
}

std::string OneLine(std::string_view text) {
  std::string out(text);
  for (char& ch : out) {
    const auto u = static_cast<unsigned char>(ch);
    if (u < 0x20 || u == 0x7f) ch = '?';
  }
  return out;
}

std::string LocalMinute(int64_t unix_millis) {
  if (unix_millis <= 0) return "never";
  const auto t = static_cast<std::time_t>(unix_millis / 1000);
  std::tm tm{};
  localtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M", &tm);
  return buf;
}

std::string LocalTimestamp(int64_t unix_seconds) {
  const auto t = static_cast<std::time_t>(unix_seconds);
  std::tm local{};
  char buf[64];
  if (localtime_r(&t, &local) == nullptr ||
      std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S%z", &local) == 0) {
    return StrCat("@", unix_seconds);
  }
  std::string s = buf;
  s.insert(s.size() - 2, ":");
  return s;
}

std::string UtcTimestamp(int64_t unix_millis) {
  const auto t = static_cast<std::time_t>(unix_millis / 1000);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

std::optional<std::string> GetEnv(const char* name) {
  const char* v = std::getenv(name);
  if (v == nullptr || *v == '\0') return std::nullopt;
  return std::string(v);
}

}  // namespace kring::cli
