#include "survey/translate.h"

#include <utility>

#include "absl/status/status.h"
#include "survey/text.h"
#include "util/str_cat.h"

namespace kring::survey {
namespace {

// The code map of an item between two response scales whose options have
// the same labels, or nullopt.
std::optional<std::vector<uint32_t>> CodeMap(const ResponseScale& from,
                                             const ResponseScale& to) {
  if (from.options.size() != to.options.size()) return std::nullopt;
  std::vector<uint32_t> codes(from.max_code() + 1, 0);
  for (const ResponseOption& f : from.options) {
    bool found = false;
    for (const ResponseOption& t : to.options) {
      if (NormalizeLabel(f.label_en) == NormalizeLabel(t.label_en) &&
          NormalizeLabel(f.label_nl) == NormalizeLabel(t.label_nl)) {
        codes[f.code] = t.code;
        found = true;
      }
    }
    if (!found) return std::nullopt;
  }
  return codes;
}

}  // namespace

absl::StatusOr<RecordTranslation> RecordTranslation::Create(
    const Instrument& from, const Instrument& to,
    std::span<const std::string> needed) {
  RecordTranslation t;
  t.to_id_ = to.id();
  for (size_t i = 0; i < to.items().size(); ++i) {
    std::optional<size_t> f = from.ItemIndex(to.items()[i].id);
    std::optional<std::vector<uint32_t>> codes;
    if (f) codes = CodeMap(from.ResponseScaleOf(*f), to.ResponseScaleOf(i));
    if (codes) {
      t.items_.push_back(ItemMap{*f, *std::move(codes)});
    } else {
      t.items_.emplace_back();
    }
  }
  for (const std::string& id : needed) {
    std::optional<size_t> i = to.ItemIndex(id);
    if (i && t.items_[*i]) continue;
    return absl::FailedPreconditionError(
        StrCat("records of instrument `", from.id(), "` cannot be read as `",
               to.id(), "`: ",
               from.ItemIndex(id)
                   ? StrCat("the answer options of item ", id, " differ")
                   : StrCat("it has no item ", id)));
  }
  return t;
}

v1::PupilRecord RecordTranslation::Apply(const v1::PupilRecord& r) const {
  v1::PupilRecord out = r;
  out.set_instrument_id(to_id_);
  out.clear_responses();
  out.clear_not_asked();
  std::vector<bool> asked(static_cast<size_t>(r.responses_size()), true);
  for (uint32_t i : r.not_asked()) {
    if (i < asked.size()) asked[i] = false;
  }
  for (size_t i = 0; i < items_.size(); ++i) {
    const std::optional<ItemMap>& m = items_[i];
    if (!m || m->from >= asked.size() || !asked[m->from]) {
      out.add_responses(0);
      out.add_not_asked(static_cast<uint32_t>(i));
      continue;
    }
    const uint32_t code = r.responses(static_cast<int>(m->from));
    out.add_responses(code < m->codes.size() ? m->codes[code] : 0);
  }
  return out;
}

std::vector<std::string> ItemsOf(const Instrument& instrument,
                                 std::span<const std::string> measures) {
  std::vector<std::string> out;
  for (const std::string& id : measures) {
    if (const Scale* s = instrument.FindScale(id)) {
      out.insert(out.end(), s->items.begin(), s->items.end());
    } else {
      out.push_back(id);
    }
  }
  return out;
}

}  // namespace kring::survey
