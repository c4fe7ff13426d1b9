// libFuzzer harness: the CSV importer with a mapping file (node/import.h).
//
// Input: one option byte, then an optional mapping file and the export,
// separated by a line "====":
//   <option byte><mapping YAML>\n====\n<CSV bytes>
// Without the separator everything after the option byte is the CSV and no
// mapping is used. The option byte picks the format (value % 5: auto,
// kring, limesurvey, msforms, qualtrics) and special categories (bit 3).
// Checks: no crash, and the all-or-nothing contract of ParseExport (rows
// only when there are no problems, every row's line inside the file).

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "node/import.h"
#include "survey/instrument.h"
#include "tests/fuzz/check.h"

namespace {

using kring::node::ExportFormat;

constexpr std::string_view kSeparator = "\n====\n";

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  static const kring::survey::Instrument& instrument =
      kring::survey::Instrument::BelongingV1();
  const std::string_view input(reinterpret_cast<const char*>(data) + 1,
                               size - 1);
  kring::node::ImportOptions options;
  constexpr ExportFormat kFormats[] = {
      ExportFormat::kAuto, ExportFormat::kKring, ExportFormat::kLimeSurvey,
      ExportFormat::kMicrosoftForms, ExportFormat::kQualtrics};
  options.format = kFormats[data[0] % 5];
  options.special_categories = (data[0] & 0x08) != 0;
  options.defaults["wave"] = "2025-26";

  std::string_view csv = input;
  if (size_t at = input.find(kSeparator); at != std::string_view::npos) {
    auto mapping = kring::node::ColumnMapping::Parse(input.substr(0, at));
    if (!mapping.ok()) {
      KRING_FUZZ_CHECK(!mapping.status().message().empty());
      return 0;
    }
    options.mapping = *std::move(mapping);
    csv = input.substr(at + kSeparator.size());
  }
  auto parsed = kring::node::ParseExport(csv, instrument, options);
  if (!parsed.ok()) {
    KRING_FUZZ_CHECK(!parsed.status().message().empty());
    return 0;
  }
  KRING_FUZZ_CHECK(parsed->rows.empty() || parsed->problems.empty());
  const size_t lines =
      static_cast<size_t>(std::count(csv.begin(), csv.end(), '\n')) + 1;
  for (const auto& row : parsed->rows) KRING_FUZZ_CHECK(row.line <= lines);
  for (const auto& p : parsed->problems) KRING_FUZZ_CHECK(p.line <= lines);
  return 0;
}
