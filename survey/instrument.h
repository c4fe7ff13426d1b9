#ifndef KRING_SURVEY_INSTRUMENT_H_
#define KRING_SURVEY_INSTRUMENT_H_

#include <cstdint>
#include <filesystem>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"

namespace kring::survey {

// The four interrelated components of belonging (Allen et al., 2021).
enum class Component {
  kCompetencies,   // competencies for belonging
  kOpportunities,  // opportunities to belong
  kMotivation,     // motivation to belong
  kPerceptions,    // perceptions of belonging
};
std::string_view ComponentName(Component c);  // "competencies", ...

// One answer option of a response scale.
struct ResponseOption {
  uint32_t code = 0;  // >= 1; 0 means "missing" everywhere in kring
  std::string label_nl;
  std::string label_en;
};

// A named response scale shared by items, e.g. a 4-point agreement scale.
struct ResponseScale {
  std::string id;
  std::vector<ResponseOption> options;  // codes strictly increasing

  uint32_t min_code() const;
  uint32_t max_code() const;
  // The code whose Dutch or English label matches `label` (case- and
  // surrounding-whitespace-insensitive), or whose code matches a numeric
  // label ("3").
  std::optional<uint32_t> CodeForLabel(std::string_view label) const;
};

struct Item {
  std::string id;  // e.g. "ST034Q01", used as the column code in exports
  std::string text_nl;
  std::string text_en;
  std::string scale_id;  // a ResponseScale id
  bool reverse_keyed = false;
  Component component = Component::kPerceptions;
};

// A named set of items and its scoring rule: the mean of the recoded items
// when at least `min_answered` of them are answered.
struct Scale {
  std::string id;  // e.g. "belong_perception"
  std::string name_nl;
  std::string name_en;
  Component component = Component::kPerceptions;
  std::vector<std::string> items;
  uint32_t min_answered = 1;
};

// A survey instrument loaded from the documented YAML format
// (docs/instruments.md). Immutable after creation; thread-safe.
class Instrument {
 public:
  // Parses and validates YAML: unique ids, every item's scale exists,
  // codes >= 1 and increasing, labels in both languages, scales reference
  // existing items, 1 <= min_answered <= number of items. Errors name the
  // offending entry and say how to fix it.
  static absl::StatusOr<Instrument> Parse(std::string_view yaml);
  // Reads and parses a file (at most 1 MiB): NOT_FOUND if it does not
  // exist, otherwise Parse's errors prefixed with the path.
  static absl::StatusOr<Instrument> LoadFile(const std::filesystem::path& p);
  // The shipped kring-belonging-v1 instrument (embedded in the binary),
  // parsed once on first use; aborts if the embedded file is invalid (a
  // build defect the tests catch).
  static const Instrument& BelongingV1();
  // kring-belonging-v1-pisa: the same with the PISA items coded as in
  // PISA (1 = strongly agree); embedded, parsed once, aborts likewise.
  static const Instrument& BelongingV1Pisa();

  const std::string& id() const { return id_; }
  uint32_t version() const { return version_; }
  const std::string& title_nl() const { return title_nl_; }
  const std::string& title_en() const { return title_en_; }
  // Provisional items are not psychometrically validated.
  bool provisional(size_t item) const { return provisional_[item]; }
  const std::vector<Item>& items() const { return items_; }
  const std::vector<Scale>& scales() const { return scales_; }
  const std::vector<ResponseScale>& response_scales() const {
    return response_scales_;
  }

  std::optional<size_t> ItemIndex(std::string_view item_id) const;
  const Scale* FindScale(std::string_view scale_id) const;
  const ResponseScale& ResponseScaleOf(size_t item) const;
  // True iff `code` is a valid answer to item `item` (0 = missing is valid);
  // false for an item index out of range.
  bool IsValidCode(size_t item, uint32_t code) const;
  // The code with reverse keying applied (min + max - code); 0 stays 0, and
  // an invalid code (see IsValidCode) yields 0.
  uint32_t Recode(size_t item, uint32_t code) const;
  // The scale score for one pupil's responses (indexed like items(), 0 =
  // missing): mean of recoded answered items if at least min_answered are
  // answered, else nullopt. Invalid codes and responses beyond the end of
  // `responses` count as missing; nullopt if `scale` names an item this
  // instrument lacks.
  std::optional<double> ScaleScore(const Scale& scale,
                                   std::span<const uint32_t> responses) const;

 private:
  Instrument() = default;

  std::string id_;
  uint32_t version_ = 1;
  std::string title_nl_, title_en_;
  std::vector<ResponseScale> response_scales_;
  std::vector<Item> items_;
  std::vector<bool> provisional_;
  std::vector<Scale> scales_;
  std::vector<size_t> item_scale_index_;  // item -> response_scales_ index
};

}  // namespace kring::survey

#endif  // KRING_SURVEY_INSTRUMENT_H_
