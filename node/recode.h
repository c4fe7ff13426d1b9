#ifndef KRING_NODE_RECODE_H_
#define KRING_NODE_RECODE_H_

// Recoding in mapping files (docs/import.md, "Recoding"): value maps for
// record fields and items, reverse coding of items (e.g. PISA's 1 = strongly
// agree), and the items a school's questionnaire did not ask.

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "survey/instrument.h"

namespace YAML {
class Node;
}

namespace kring::node {

// How the values of one column are read before the usual parsing.
struct ValueRecode {
  // Numbers (and LimeSurvey codes such as A3) run the other way: code c
  // of a 1..4 scale is read as 5 - c. Labels are read as written.
  bool reverse = false;
  // The value as exported (survey::NormalizeLabel form) -> the value kring
  // reads instead: for an item a code or label of its response scale, for
  // a field any accepted spelling. Values not listed are read as usual.
  std::map<std::string, std::string> values;
};

struct Recoding {
  std::map<std::string, ValueRecode> items;   // item id -> recode
  std::map<std::string, ValueRecode> fields;  // field name -> recode
  // Item ids the questionnaire did not ask (besides whole components,
  // which are recognised without this list).
  std::vector<std::string> not_asked;

  // The recode of an item or field, or nullptr.
  const ValueRecode* ForItem(std::string_view id) const;
  const ValueRecode* ForField(std::string_view name) const;
};

// Parses the `recode:` section of a mapping file (a list of entries with
// `items:` or `fields:`, and `reverse: true` or `values:`) into `out`.
// `field_names` are the record fields a value map may name. Errors say
// what is wrong and how to fix it.
absl::Status ParseRecodeSection(const YAML::Node& node,
                                const std::vector<std::string>& field_names,
                                Recoding& out);
// Parses the `not_asked:` list of a mapping file into `out.not_asked`.
absl::Status ParseNotAskedSection(const YAML::Node& node, Recoding& out);

// Checks a recoding against `instrument`: every item id exists, item value
// maps lead to codes of the item's response scale, `reverse` only on items
// and not together with `values`, field value maps lead to accepted
// values (`check_field(name, value)`), not-asked items exist.
absl::Status CheckRecoding(const Recoding& recoding,
                           const survey::Instrument& instrument,
                           absl::Status (*check_field)(std::string_view name,
                                                       std::string_view value));

// The value of `raw` after the field or item recode `r` (values only;
// reverse coding is applied to codes by ReverseCode). Returns `raw` itself
// when `r` is null or does not list it.
const std::string& MappedValue(const ValueRecode* r, const std::string& raw);

// The code `code` of item `item` read the other way round (min + max -
// code on its response scale); 0 stays 0.
uint32_t ReverseCode(const survey::Instrument& instrument, size_t item,
                     uint32_t code);

}  // namespace kring::node

#endif  // KRING_NODE_RECODE_H_
