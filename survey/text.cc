#include "survey/text.h"

#include <charconv>

namespace kring::survey {
namespace {

constexpr size_t kMaxQuoted = 40;

bool IsSpace(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' ||
         c == '\v';
}

char Lower(char c) { return (c >= 'A' && c <= 'Z') ? c - 'A' + 'a' : c; }

}  // namespace

std::string NormalizeLabel(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  bool pending_space = false;
  for (size_t i = 0; i < s.size(); ++i) {
    bool space = IsSpace(s[i]);
    if (!space && s[i] == '\xC2' && i + 1 < s.size() && s[i + 1] == '\xA0') {
      space = true;  // U+00A0 no-break space
      ++i;
    }
    if (space) {
      pending_space = !out.empty();
      continue;
    }
    if (pending_space) out.push_back(' ');
    pending_space = false;
    out.push_back(Lower(s[i]));
  }
  return out;
}

std::optional<uint32_t> ParseDecimal(std::string_view s) {
  if (s.empty()) return std::nullopt;
  for (char c : s) {
    if (c < '0' || c > '9') return std::nullopt;
  }
  uint32_t v = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || end != s.data() + s.size()) return std::nullopt;
  return v;
}

std::string Quote(std::string_view s) {
  std::string out = "\"";
  size_t n = s.size() < kMaxQuoted ? s.size() : kMaxQuoted;
  // Never cut a UTF-8 sequence in half.
  while (n > 0 && n < s.size() &&
         (static_cast<unsigned char>(s[n]) & 0xC0) == 0x80) {
    --n;
  }
  for (size_t i = 0; i < n; ++i) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    out.push_back(c < 0x20 || c == 0x7F ? '?' : s[i]);
  }
  out.push_back('"');
  if (n < s.size()) out.append("...");
  return out;
}

std::string AsciiLower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = Lower(c);
  return out;
}

}  // namespace kring::survey
