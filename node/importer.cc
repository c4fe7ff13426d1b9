#include "node/importer.h"

#include <vector>

#include "util/parallel.h"

namespace kring::node {

using survey::Instrument;

absl::StatusOr<ImportOutcome> ImportExport(Store& store, std::string_view bytes,
                                           const Instrument& instrument,
                                           ImportOptions options,
                                           bool replace) {
  options.special_categories = store.options().special_categories;
  auto parsed = ParseExport(bytes, instrument, options);
  if (!parsed.ok()) return parsed.status();
  ImportOutcome outcome;
  if (!parsed->problems.empty()) {
    parsed->rows.clear();
    outcome.parsed = *std::move(parsed);
    return outcome;
  }
  std::vector<v1::PupilRecord> records(parsed->rows.size());
  ParallelFor(records.size(), [&](size_t i) {
    ImportRow& row = parsed->rows[i];
    row.record.set_pseudonym(store.Pseudonym(row.pupil_number.view()));
    if (row.record.instrument_id().empty()) {
      row.record.set_instrument_id(instrument.id());
    }
    records[i] = std::move(row.record);
  });
  parsed->rows.clear();
  auto added = store.Add(records, store.FileTag(bytes), replace);
  if (!added.ok()) return added.status();
  outcome.parsed = *std::move(parsed);
  outcome.result = *added;
  return outcome;
}

}  // namespace kring::node
