#ifndef KRING_SURVEY_TEXT_H_
#define KRING_SURVEY_TEXT_H_

// Small text helpers shared by the instrument and record parsers.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace kring::survey {

// Lower-cases ASCII letters, trims surrounding whitespace (including the
// UTF-8 no-break space that spreadsheets produce) and collapses inner runs
// of whitespace to one space. Non-ASCII bytes are kept as they are.
std::string NormalizeLabel(std::string_view s);

// The unsigned decimal number `s` consists of (digits only, no sign, no
// spaces), or nullopt if it is not one or exceeds UINT32_MAX.
std::optional<uint32_t> ParseDecimal(std::string_view s);

// `s` for an error message: at most 40 bytes, control characters replaced
// by '?', in double quotes, with "..." when cut.
std::string Quote(std::string_view s);

// ASCII lower-case copy.
std::string AsciiLower(std::string_view s);

}  // namespace kring::survey

#endif  // KRING_SURVEY_TEXT_H_
