#ifndef KRING_NODE_IMPORTER_H_
#define KRING_NODE_IMPORTER_H_

#include <string_view>

#include "absl/status/statusor.h"
#include "node/import.h"
#include "node/store.h"
#include "survey/instrument.h"

namespace kring::node {

struct ImportOutcome {
  ParsedExport parsed;  // rows moved out; problems, columns and dialect kept
  ImportResult result;  // result.added == 0 when there were problems
};

// The whole import of one export into the store: parse and validate
// (ParseExport), derive pseudonyms, seal and add all rows in one
// transaction. Row problems are not an error: they come back in
// outcome.parsed.problems and nothing is stored. Structural errors, a file
// imported before (without `replace`) and pupils already stored for the
// wave are errors, and nothing is stored either.
absl::StatusOr<ImportOutcome> ImportExport(Store& store, std::string_view bytes,
                                           const survey::Instrument& instrument,
                                           ImportOptions options, bool replace);

}  // namespace kring::node

#endif  // KRING_NODE_IMPORTER_H_
