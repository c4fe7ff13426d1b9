#include "cli/support.h"

#include <cstdlib>
#include <ctime>
#include <iostream>

#include "util/str_cat.h"

namespace kring::cli {
namespace {

// `text` with C0 controls, DEL and the C1 controls U+0080-U+009F (UTF-8
// C2 80-9F; U+009B is a terminal's CSI) replaced by '?', keeping line feeds
// and tabs if `keep_breaks`.
std::string Printable(std::string_view text, bool keep_breaks) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    const auto b = static_cast<unsigned char>(text[i]);
    const bool c1 = b == 0xc2 && i + 1 < text.size() &&
                    (static_cast<unsigned char>(text[i + 1]) & 0xe0) == 0x80;
    if (c1) ++i;
    const bool control =
        c1 || b == 0x7f ||
        (b < 0x20 && !(keep_breaks && (b == '\n' || b == '\t')));
    out.push_back(control ? '?' : text[i]);
  }
  return out;
}

}  // namespace

int Fail(std::string_view program, const absl::Status& status) {
  // Messages may quote file contents: no control characters reach the
  // terminal but line breaks and tabs.
  std::cerr << program << ": "
            << Printable(ToStd(status.message()), /*keep_breaks=*/true) << "\n";
  return kExitFailed;
}

int Usage(std::string_view program, std::string_view message) {
  std::cerr << program << ": " << message << "\n";
  return kExitUsage;
}

std::string OneLine(std::string_view text) {
  return Printable(text, /*keep_breaks=*/false);
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
