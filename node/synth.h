#ifndef KRING_NODE_SYNTH_H_
#define KRING_NODE_SYNTH_H_

// Realistic synthetic survey exports for demos, tests and benchmarks. No
// real pupil is behind any row: names, numbers and answers are generated.

#include <cstdint>
#include <string>

#include "node/import.h"
#include "survey/instrument.h"

namespace kring::node {

struct SynthOptions {
  ExportFormat format = ExportFormat::kKring;
  size_t rows = 500;
  uint64_t seed = 1;
  std::string wave = "2025-26";
  uint32_t survey_month = 3;
  // Extra dialect variations, to exercise import.
  char delimiter = ',';
  bool bom = false;
  bool crlf = false;
  // Share of item answers left empty.
  double missing_rate = 0.03;
  // Include special-category columns (migration background, financial
  // strain).
  bool special_categories = false;
};

// Writes a whole export as CSV bytes. Deterministic for a given seed.
// Belonging varies by grade (dipping in the middle years), track and
// gender; items of a component are correlated through a shared latent
// score; negatively worded items are answered reversed; some answers are
// missing. LimeSurvey, Microsoft Forms and Qualtrics exports carry the
// identifying metadata columns real exports have (fake names, e-mail and
// IP addresses), which import must drop.
std::string SynthesizeExport(const survey::Instrument& instrument,
                             const SynthOptions& options);

}  // namespace kring::node

#endif  // KRING_NODE_SYNTH_H_
