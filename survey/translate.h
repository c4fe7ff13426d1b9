#ifndef KRING_SURVEY_TRANSLATE_H_
#define KRING_SURVEY_TRANSLATE_H_

// Reading records of one instrument as records of another, when both ask
// the same items with the same answer options, possibly coded otherwise
// (e.g. kring-belonging-v1-pisa, coded the PISA way, read as
// kring-belonging-v1).

#include <optional>
#include <span>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "kring/v1/record.pb.h"
#include "survey/instrument.h"

namespace kring::survey {

class RecordTranslation {
 public:
  // The translation of records of `from` into records of `to`. Items are
  // matched by id; answers by their option labels (Dutch and English,
  // compared as NormalizeLabel does), so codes may differ. Items of `to`
  // that `from` lacks or whose options differ are "not asked" in the
  // translated records. FAILED_PRECONDITION, naming the item, when an item
  // in `needed` (ids of `to`) cannot be translated.
  static absl::StatusOr<RecordTranslation> Create(
      const Instrument& from, const Instrument& to,
      std::span<const std::string> needed);

  // `r` (a record of `from`) as a record of `to`: same fields, responses
  // in `to`'s order and codes, instrument_id `to`'s, items not asked
  // listed in not_asked.
  v1::PupilRecord Apply(const v1::PupilRecord& r) const;

 private:
  // Per item of `to`: the item index in `from` and the code map (index =
  // `from` code, value = `to` code), or nullopt when not translated.
  struct ItemMap {
    size_t from = 0;
    std::vector<uint32_t> codes;
  };
  std::string to_id_;
  std::vector<std::optional<ItemMap>> items_;
};

// The item ids a query's measures read: items themselves, and the items
// of scales. Ids that name neither are returned as they are.
std::vector<std::string> ItemsOf(const Instrument& instrument,
                                 std::span<const std::string> measures);

}  // namespace kring::survey

#endif  // KRING_SURVEY_TRANSLATE_H_
