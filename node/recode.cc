#include "node/recode.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_join.h"
#include "survey/text.h"
#include "util/str_cat.h"
#include "yaml-cpp/yaml.h"

namespace kring::node {

using survey::NormalizeLabel;
using survey::Quote;

namespace {

constexpr std::string_view kHint = "see \"Recoding\" in docs/import.md";

absl::Status Invalid(const YAML::Node& at, std::string_view what) {
  const YAML::Mark mark = at.Mark();
  std::string where = mark.is_null() || mark.line < 0
                          ? std::string("mapping file: recode")
                          : StrCat("mapping file line ", mark.line + 1);
  return absl::InvalidArgumentError(StrCat(where, ": ", what, "; ", kHint));
}

// A list of plain names (`[a, b]` or one per line).
absl::StatusOr<std::vector<std::string>> Names(const YAML::Node& node,
                                               std::string_view key) {
  if (!node.IsSequence() || node.size() == 0) {
    return Invalid(node, StrCat("`", key, "` must be a non-empty list, e.g. ",
                                key, ": [ST034Q01, ST034Q02]"));
  }
  std::vector<std::string> out;
  for (const YAML::Node& n : node) {
    if (!n.IsScalar() || n.Scalar().empty()) {
      return Invalid(n, StrCat("every entry of `", key, "` must be a name"));
    }
    out.push_back(n.Scalar());
  }
  return out;
}

absl::StatusOr<ValueRecode> ReadEntry(const YAML::Node& entry,
                                      std::vector<std::string>& items,
                                      std::vector<std::string>& fields,
                                      const std::vector<std::string>& known) {
  if (!entry.IsMap()) {
    return Invalid(entry,
                   "every entry under `recode` must be a map with `items:` "
                   "or `fields:`, and `reverse: true` or `values:`");
  }
  ValueRecode r;
  bool has_reverse = false, has_values = false;
  for (const auto& kv : entry) {
    const std::string key = kv.first.as<std::string>("");
    if (key == "items" || key == "fields") {
      auto names = Names(kv.second, key);
      if (!names.ok()) return names.status();
      (key == "items" ? items : fields) = *std::move(names);
    } else if (key == "reverse") {
      const std::string v = kv.second.IsScalar() ? kv.second.Scalar() : "";
      if (v != "true" && v != "false") {
        return Invalid(kv.second, "`reverse` must be true or false");
      }
      r.reverse = v == "true";
      has_reverse = true;
    } else if (key == "values") {
      if (!kv.second.IsMap() || kv.second.size() == 0) {
        return Invalid(kv.second,
                       "`values` must be a map from the exported value to "
                       "kring's, e.g. values: {\"1\": jongen, \"2\": meisje}");
      }
      for (const auto& v : kv.second) {
        if (!v.first.IsScalar() || !v.second.IsScalar()) {
          return Invalid(v.first, "every entry under `values` must be `a: b`");
        }
        const std::string from = NormalizeLabel(v.first.Scalar());
        if (!r.values.emplace(from, v.second.Scalar()).second) {
          return Invalid(v.first, StrCat("the value ", Quote(v.first.Scalar()),
                                         " is listed twice"));
        }
      }
      has_values = true;
    } else {
      return Invalid(kv.first, StrCat("unknown key ", Quote(key),
                                      " in a recode entry; use items, "
                                      "fields, reverse or values"));
    }
  }
  if (items.empty() == fields.empty()) {
    return Invalid(entry,
                   "a recode entry needs exactly one of `items:` and "
                   "`fields:`");
  }
  if (has_reverse == has_values) {
    return Invalid(entry,
                   "a recode entry needs exactly one of `reverse: true` and "
                   "`values:`");
  }
  if (has_reverse && !fields.empty()) {
    return Invalid(entry,
                   "`reverse` applies to items; give fields a `values:` map");
  }
  for (const std::string& f : fields) {
    if (std::find(known.begin(), known.end(), f) == known.end()) {
      return Invalid(entry, StrCat("unknown field ", Quote(f), "; fields are ",
                                   absl::StrJoin(known, ", ")));
    }
  }
  return r;
}

}  // namespace

const ValueRecode* Recoding::ForItem(std::string_view id) const {
  auto it = items.find(std::string(id));
  return it == items.end() ? nullptr : &it->second;
}

const ValueRecode* Recoding::ForField(std::string_view name) const {
  auto it = fields.find(std::string(name));
  return it == fields.end() ? nullptr : &it->second;
}

absl::Status ParseRecodeSection(const YAML::Node& node,
                                const std::vector<std::string>& field_names,
                                Recoding& out) {
  if (!node.IsSequence()) {
    return Invalid(node,
                   "`recode` must be a list of entries, each starting "
                   "with `- items:` or `- fields:`");
  }
  for (const YAML::Node& entry : node) {
    std::vector<std::string> items, fields;
    auto r = ReadEntry(entry, items, fields, field_names);
    if (!r.ok()) return r.status();
    for (const std::string& id : items) {
      if (!out.items.emplace(id, *r).second) {
        return Invalid(entry, StrCat("item ", Quote(id),
                                     " is recoded twice; give it one entry"));
      }
    }
    for (const std::string& f : fields) {
      if (!out.fields.emplace(f, *r).second) {
        return Invalid(entry, StrCat("field ", Quote(f),
                                     " is recoded twice; give it one entry"));
      }
    }
  }
  return absl::OkStatus();
}

absl::Status ParseNotAskedSection(const YAML::Node& node, Recoding& out) {
  auto names = Names(node, "not_asked");
  if (!names.ok()) return names.status();
  out.not_asked = *std::move(names);
  return absl::OkStatus();
}

absl::Status CheckRecoding(const Recoding& recoding,
                           const survey::Instrument& instrument,
                           absl::Status (*check_field)(
                               std::string_view name, std::string_view value)) {
  auto unknown_item = [&](const std::string& id) {
    return absl::InvalidArgumentError(
        StrCat("mapping file: ", Quote(id), " is not an item of instrument ",
               instrument.id(),
               "; item ids are written exactly as in the "
               "instrument (e.g. ST034Q01)"));
  };
  for (const auto& [id, r] : recoding.items) {
    std::optional<size_t> item = instrument.ItemIndex(id);
    if (!item) return unknown_item(id);
    const survey::ResponseScale& scale = instrument.ResponseScaleOf(*item);
    for (const auto& [from, to] : r.values) {
      if (!scale.CodeForLabel(to).has_value()) {
        return absl::InvalidArgumentError(StrCat(
            "mapping file: item ", id, " value ", Quote(from), " maps to ",
            Quote(to), ", which is not a code ", scale.min_code(), "..",
            scale.max_code(), " or a label of its response scale ", scale.id));
      }
    }
  }
  for (const auto& [name, r] : recoding.fields) {
    for (const auto& [from, to] : r.values) {
      if (absl::Status s = check_field(name, to); !s.ok()) {
        return absl::InvalidArgumentError(
            StrCat("mapping file: ", name, " value ", Quote(from), " maps to ",
                   Quote(to), ", which is not accepted: ", ToStd(s.message())));
      }
    }
  }
  for (const std::string& id : recoding.not_asked) {
    if (!instrument.ItemIndex(id)) return unknown_item(id);
  }
  return absl::OkStatus();
}

const std::string& MappedValue(const ValueRecode* r, const std::string& raw) {
  if (r == nullptr || r->values.empty()) return raw;
  auto it = r->values.find(NormalizeLabel(raw));
  return it == r->values.end() ? raw : it->second;
}

uint32_t ReverseCode(const survey::Instrument& instrument, size_t item,
                     uint32_t code) {
  if (code == 0) return 0;
  const survey::ResponseScale& scale = instrument.ResponseScaleOf(item);
  return scale.min_code() + scale.max_code() - code;
}

}  // namespace kring::node
