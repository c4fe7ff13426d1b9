#include "survey/instrument.h"

#include <yaml-cpp/yaml.h>

#include <cstdio>
#include <cstdlib>
#include <exception>
#include <fstream>
#include <initializer_list>
#include <map>
#include <sstream>
#include <system_error>
#include <utility>

#include "absl/status/status.h"
#include "survey/internal/embedded_instruments.h"
#include "survey/text.h"
#include "util/status_macros.h"
#include "util/str_cat.h"

namespace kring::survey {
namespace {

constexpr size_t kMaxYamlBytes = size_t{1} << 20;
constexpr size_t kMaxIdBytes = 64;
constexpr size_t kMaxTextBytes = 2000;
constexpr std::string_view kFormatDoc = "docs/instruments.md";

constexpr Component kComponents[] = {
    Component::kCompetencies,
    Component::kOpportunities,
    Component::kMotivation,
    Component::kPerceptions,
};

// "line 3, column 7" (1-based) or "" when yaml-cpp has no position.
std::string Position(const YAML::Mark& mark) {
  if (mark.is_null() || mark.line < 0) return "";
  return StrCat("line ", mark.line + 1, ", column ", mark.column + 1);
}

// An InvalidArgument error "instrument YAML <position>: <where>: <what>".
absl::Status Invalid(const YAML::Node& at, std::string_view where,
                     std::string_view what) {
  std::string pos = Position(at.Mark());
  return absl::InvalidArgumentError(
      StrCat("instrument YAML", pos.empty() ? "" : " ", pos, ": ", where,
             where.empty() ? "" : ": ", what));
}

std::string_view KindName(const YAML::Node& n) {
  switch (n.Type()) {
    case YAML::NodeType::Map:
      return "a mapping";
    case YAML::NodeType::Sequence:
      return "a list";
    case YAML::NodeType::Scalar:
      return "a single value";
    default:
      return "empty";
  }
}

std::string_view LanguageName(std::string_view key) {
  if (key == "nl") return "Dutch";
  if (key == "en") return "English";
  return key;
}

std::string Join(const std::vector<std::string>& v) {
  std::string out;
  for (const std::string& s : v) {
    if (!out.empty()) out.append(", ");
    out.append(s);
  }
  return out;
}

// The fields of one YAML mapping, in file order.
class Fields {
 public:
  // Reads mapping `node`, named `where` in errors. Refuses non-mappings,
  // keys not in `allowed` (so that a misspelt optional field is not
  // silently ignored) and duplicate keys.
  static absl::StatusOr<Fields> Read(
      const YAML::Node& node, std::string_view where,
      std::initializer_list<std::string_view> allowed) {
    if (!node.IsMap()) {
      return Invalid(node, where,
                     StrCat("expected a mapping (key: value lines) but found ",
                            KindName(node), "; see ", kFormatDoc));
    }
    Fields f;
    f.node_ = node;
    for (const auto& kv : node) {
      if (!kv.first.IsScalar()) {
        return Invalid(kv.first, where,
                       "a key must be a plain name such as \"id\"");
      }
      std::string key = kv.first.Scalar();
      bool known = false;
      for (std::string_view a : allowed) known = known || a == key;
      if (!known) {
        std::string list;
        for (std::string_view a : allowed) {
          list.append(list.empty() ? "" : ", ").append(a);
        }
        return Invalid(kv.first, where,
                       StrCat("unknown field ", Quote(key),
                              "; allowed fields are: ", list));
      }
      if (f.Find(key) != nullptr) {
        return Invalid(
            kv.first, where,
            StrCat("field ", Quote(key), " appears twice; keep only one"));
      }
      f.fields_.emplace_back(std::move(key), kv.second);
    }
    return f;
  }

  const YAML::Node* Find(std::string_view key) const {
    for (const auto& [k, v] : fields_) {
      if (k == key) return &v;
    }
    return nullptr;
  }
  const YAML::Node& node() const { return node_; }

 private:
  YAML::Node node_;
  std::vector<std::pair<std::string, YAML::Node>> fields_;
};

absl::StatusOr<const YAML::Node*> Required(const Fields& f,
                                           std::string_view key,
                                           std::string_view where,
                                           std::string_view hint) {
  const YAML::Node* n = f.Find(key);
  if (n == nullptr) {
    return Invalid(f.node(), where,
                   StrCat("missing field \"", key, "\"; add ", hint));
  }
  return n;
}

std::string_view TrimAscii(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t' ||
                        s.front() == '\n' || s.front() == '\r')) {
    s.remove_prefix(1);
  }
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' ||
                        s.back() == '\n' || s.back() == '\r')) {
    s.remove_suffix(1);
  }
  return s;
}

// A required non-blank text field (trimmed).
absl::StatusOr<std::string> Text(const Fields& f, std::string_view key,
                                 std::string_view where,
                                 std::string_view hint) {
  KRING_ASSIGN_OR_RETURN(const YAML::Node* n, Required(f, key, where, hint));
  if (!n->IsScalar()) {
    return Invalid(*n, where,
                   StrCat("field \"", key, "\" must be a text but is ",
                          KindName(*n), "; add ", hint));
  }
  std::string_view text = TrimAscii(n->Scalar());
  if (text.empty()) {
    return Invalid(*n, where,
                   StrCat("field \"", key, "\" is empty; add ", hint));
  }
  if (text.size() > kMaxTextBytes) {
    return Invalid(*n, where,
                   StrCat("field \"", key, "\" is longer than ", kMaxTextBytes,
                          " bytes; shorten it"));
  }
  return std::string(text);
}

bool IsIdChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
         (c >= '0' && c <= '9') || c == '_' || c == '-' || c == '.';
}

// A required id: 1..64 of [A-Za-z0-9_.-], starting with a letter or digit
// (ids become column names in exports and results).
absl::StatusOr<std::string> Id(const Fields& f, std::string_view where,
                               std::string_view hint) {
  KRING_ASSIGN_OR_RETURN(std::string id, Text(f, "id", where, hint));
  bool ok = id.size() <= kMaxIdBytes && IsIdChar(id[0]) && id[0] != '_' &&
            id[0] != '-' && id[0] != '.';
  for (char c : id) ok = ok && IsIdChar(c);
  if (!ok) {
    return Invalid(*f.Find("id"), where,
                   StrCat("id ", Quote(id),
                          " is not valid; use 1 to 64 letters, digits, '_', "
                          "'-' or '.', starting with a letter or digit"));
  }
  return id;
}

// A required whole number >= `min`.
absl::StatusOr<uint32_t> Number(const Fields& f, std::string_view key,
                                std::string_view where, uint32_t min,
                                std::string_view hint) {
  KRING_ASSIGN_OR_RETURN(const YAML::Node* n, Required(f, key, where, hint));
  std::optional<uint32_t> v;
  if (n->IsScalar()) v = ParseDecimal(TrimAscii(n->Scalar()));
  if (!v.has_value() || *v < min) {
    return Invalid(
        *n, where,
        StrCat("field \"", key, "\" must be a whole number >= ", min, ", not ",
               n->IsScalar() ? Quote(n->Scalar()) : std::string(KindName(*n))));
  }
  return *v;
}

// An optional boolean (true/false), `fallback` when absent.
absl::StatusOr<bool> Bool(const Fields& f, std::string_view key,
                          std::string_view where, bool fallback) {
  const YAML::Node* n = f.Find(key);
  if (n == nullptr) return fallback;
  if (n->IsScalar()) {
    std::string v = AsciiLower(TrimAscii(n->Scalar()));
    if (v == "true") return true;
    if (v == "false") return false;
  }
  return Invalid(
      *n, where,
      StrCat("field \"", key, "\" must be true or false, not ",
             n->IsScalar() ? Quote(n->Scalar()) : std::string(KindName(*n))));
}

absl::StatusOr<Component> ComponentField(const Fields& f,
                                         std::string_view where) {
  constexpr std::string_view kHint =
      "one of competencies, opportunities, motivation, perceptions";
  KRING_ASSIGN_OR_RETURN(std::string name, Text(f, "component", where, kHint));
  for (Component c : kComponents) {
    if (ComponentName(c) == name) return c;
  }
  return Invalid(*f.Find("component"), where,
                 StrCat("unknown component ", Quote(name), "; use ", kHint));
}

// A required non-empty list.
absl::StatusOr<YAML::Node> List(const Fields& f, std::string_view key,
                                std::string_view where, std::string_view hint) {
  KRING_ASSIGN_OR_RETURN(const YAML::Node* n, Required(f, key, where, hint));
  if (!n->IsSequence()) {
    return Invalid(*n, where,
                   StrCat("field \"", key, "\" must be a list but is ",
                          KindName(*n), "; add ", hint));
  }
  if (n->size() == 0) {
    return Invalid(*n, where,
                   StrCat("field \"", key, "\" is an empty list; add ", hint));
  }
  return *n;
}

// Everything an Instrument holds, before it is moved into one.
struct Parsed {
  std::string id;
  uint32_t version = 1;
  std::string title_nl, title_en;
  std::vector<ResponseScale> response_scales;
  std::vector<Item> items;
  std::vector<bool> provisional;
  std::vector<Scale> scales;
  std::vector<size_t> item_scale_index;
};

absl::StatusOr<ResponseScale> ParseResponseScale(const YAML::Node& node,
                                                 size_t index) {
  KRING_ASSIGN_OR_RETURN(
      Fields f, Fields::Read(node, StrCat("response scale #", index + 1),
                             {"id", "options"}));
  ResponseScale rs;
  KRING_ASSIGN_OR_RETURN(rs.id, Id(f, StrCat("response scale #", index + 1),
                                   "an id such as \"agree4\""));
  const std::string where = StrCat("response scale \"", rs.id, "\"");
  KRING_ASSIGN_OR_RETURN(YAML::Node options,
                         List(f, "options", where,
                              "the answer options, each with code, nl and en"));
  if (options.size() < 2) {
    return Invalid(options, where,
                   "a response scale needs at least 2 options; add the "
                   "missing options");
  }
  // Normalized label -> code, so that CodeForLabel is unambiguous.
  std::map<std::string, uint32_t> label_codes;
  for (size_t i = 0; i < options.size(); ++i) {
    const std::string owhere = StrCat(where, ", option #", i + 1);
    KRING_ASSIGN_OR_RETURN(
        Fields of, Fields::Read(options[i], owhere, {"code", "nl", "en"}));
    ResponseOption opt;
    KRING_ASSIGN_OR_RETURN(opt.code,
                           Number(of, "code", owhere, 0,
                                  "the answer code (1 for the first option)"));
    if (opt.code == 0) {
      return Invalid(*of.Find("code"), owhere,
                     "code 0 is reserved for a missing answer; number the "
                     "options from 1");
    }
    if (!rs.options.empty() && opt.code <= rs.options.back().code) {
      return Invalid(
          *of.Find("code"), owhere,
          StrCat("code ", opt.code, " follows code ", rs.options.back().code,
                 "; codes must be strictly increasing in the order "
                 "the options are listed"));
    }
    KRING_ASSIGN_OR_RETURN(opt.label_nl,
                           Text(of, "nl", owhere, "the Dutch label"));
    KRING_ASSIGN_OR_RETURN(opt.label_en,
                           Text(of, "en", owhere, "the English label"));
    for (std::string_view key : {"nl", "en"}) {
      const std::string& label = key == "nl" ? opt.label_nl : opt.label_en;
      std::string norm = NormalizeLabel(label);
      std::optional<uint32_t> numeric = ParseDecimal(norm);
      if (numeric.has_value() && *numeric != opt.code) {
        return Invalid(
            *of.Find(key), owhere,
            StrCat("the ", LanguageName(key), " label ", Quote(label),
                   " is a number other than code ", opt.code,
                   ", which makes answers ambiguous; use words or "
                   "the code itself"));
      }
      auto [it, inserted] = label_codes.emplace(norm, opt.code);
      if (!inserted && it->second != opt.code) {
        return Invalid(
            *of.Find(key), owhere,
            StrCat("the ", LanguageName(key), " label ", Quote(label),
                   " is also the label of code ", it->second,
                   "; give every option its own labels"));
      }
    }
    rs.options.push_back(std::move(opt));
  }
  return rs;
}

absl::Status ParseItems(const YAML::Node& items, Parsed& out) {
  std::map<std::string, size_t> seen;  // lower-cased id -> item index
  for (size_t i = 0; i < items.size(); ++i) {
    const std::string iwhere = StrCat("item #", i + 1);
    KRING_ASSIGN_OR_RETURN(
        Fields f, Fields::Read(items[i], iwhere,
                               {"id", "nl", "en", "scale", "reverse_keyed",
                                "component", "provisional"}));
    Item item;
    KRING_ASSIGN_OR_RETURN(item.id,
                           Id(f, iwhere, "an id such as \"ST034Q01\""));
    const std::string where = StrCat("item \"", item.id, "\"");
    auto [it, inserted] = seen.emplace(AsciiLower(item.id), i);
    if (!inserted) {
      return Invalid(*f.Find("id"), where,
                     StrCat("duplicate item id (item #", it->second + 1,
                            " has the same id, ignoring case); give every "
                            "item its own id"));
    }
    KRING_ASSIGN_OR_RETURN(item.text_nl,
                           Text(f, "nl", where, "the Dutch item text"));
    KRING_ASSIGN_OR_RETURN(item.text_en,
                           Text(f, "en", where, "the English item text"));
    KRING_ASSIGN_OR_RETURN(
        item.scale_id,
        Text(f, "scale", where, "the id of one of the response_scales"));
    size_t scale_index = out.response_scales.size();
    std::vector<std::string> ids;
    for (size_t s = 0; s < out.response_scales.size(); ++s) {
      if (out.response_scales[s].id == item.scale_id) scale_index = s;
      ids.push_back(out.response_scales[s].id);
    }
    if (scale_index == out.response_scales.size()) {
      return Invalid(*f.Find("scale"), where,
                     StrCat("response scale ", Quote(item.scale_id),
                            " is not defined; use one of the ids under "
                            "response_scales: ",
                            Join(ids)));
    }
    KRING_ASSIGN_OR_RETURN(item.reverse_keyed,
                           Bool(f, "reverse_keyed", where, false));
    KRING_ASSIGN_OR_RETURN(item.component, ComponentField(f, where));
    KRING_ASSIGN_OR_RETURN(bool provisional,
                           Bool(f, "provisional", where, false));
    out.items.push_back(std::move(item));
    out.provisional.push_back(provisional);
    out.item_scale_index.push_back(scale_index);
  }
  return absl::OkStatus();
}

absl::StatusOr<Scale> ParseScale(const YAML::Node& node, size_t index,
                                 const Parsed& p) {
  const std::string swhere = StrCat("scale #", index + 1);
  KRING_ASSIGN_OR_RETURN(Fields f, Fields::Read(node, swhere,
                                                {"id", "nl", "en", "component",
                                                 "items", "min_answered"}));
  Scale scale;
  KRING_ASSIGN_OR_RETURN(scale.id,
                         Id(f, swhere, "an id such as \"belong_perception\""));
  const std::string where = StrCat("scale \"", scale.id, "\"");
  for (const Item& item : p.items) {
    if (AsciiLower(item.id) == AsciiLower(scale.id)) {
      return Invalid(*f.Find("id"), where,
                     StrCat("id is already used by item ", Quote(item.id),
                            "; scale and item ids share one namespace (both "
                            "name columns in exports), rename the scale"));
    }
  }
  KRING_ASSIGN_OR_RETURN(scale.name_nl,
                         Text(f, "nl", where, "the Dutch scale name"));
  KRING_ASSIGN_OR_RETURN(scale.name_en,
                         Text(f, "en", where, "the English scale name"));
  KRING_ASSIGN_OR_RETURN(scale.component, ComponentField(f, where));
  KRING_ASSIGN_OR_RETURN(
      YAML::Node items,
      List(f, "items", where, "the ids of the items the scale averages"));
  std::optional<size_t> response_scale;
  for (const YAML::Node& entry : items) {
    if (!entry.IsScalar()) {
      return Invalid(entry, where,
                     StrCat("every entry of \"items\" must be an item id, not ",
                            KindName(entry)));
    }
    std::string id(TrimAscii(entry.Scalar()));
    size_t idx = p.items.size();
    for (size_t i = 0; i < p.items.size(); ++i) {
      if (p.items[i].id == id) idx = i;
    }
    if (idx == p.items.size()) {
      return Invalid(entry, where,
                     StrCat("item ", Quote(id),
                            " is not defined under items; fix the id or add "
                            "the item"));
    }
    for (const std::string& prev : scale.items) {
      if (prev == id) {
        return Invalid(entry, where,
                       StrCat("item ", Quote(id),
                              " is listed twice; list every item once"));
      }
    }
    if (response_scale.has_value() &&
        *response_scale != p.item_scale_index[idx]) {
      return Invalid(
          entry, where,
          StrCat("item ", Quote(id), " uses response scale \"",
                 p.items[idx].scale_id, "\" but earlier items use \"",
                 p.response_scales[*response_scale].id,
                 "\"; a scale averages items on one response scale, so "
                 "split it"));
    }
    response_scale = p.item_scale_index[idx];
    scale.items.push_back(std::move(id));
  }
  KRING_ASSIGN_OR_RETURN(scale.min_answered,
                         Number(f, "min_answered", where, 0,
                                "the number of answered items a score needs"));
  if (scale.min_answered < 1 || scale.min_answered > scale.items.size()) {
    return Invalid(
        *f.Find("min_answered"), where,
        StrCat("min_answered ", scale.min_answered, " is out of range; use 1..",
               scale.items.size(), " (the number of items in the scale)"));
  }
  return scale;
}

absl::StatusOr<Parsed> ParseRoot(const YAML::Node& root) {
  if (!root.IsDefined() || root.IsNull()) {
    return absl::InvalidArgumentError(StrCat("instrument YAML is empty; see ",
                                             kFormatDoc, " for the format"));
  }
  KRING_ASSIGN_OR_RETURN(
      Fields f, Fields::Read(root, "top level",
                             {"id", "version", "title", "response_scales",
                              "items", "scales"}));
  Parsed p;
  KRING_ASSIGN_OR_RETURN(
      p.id,
      Id(f, "top level", "the instrument id, e.g. \"kring-belonging-v1\""));
  const std::string where = StrCat("instrument \"", p.id, "\"");
  KRING_ASSIGN_OR_RETURN(p.version,
                         Number(f, "version", where, 1, "the version, e.g. 1"));
  KRING_ASSIGN_OR_RETURN(const YAML::Node* title,
                         Required(f, "title", where, "a title with nl and en"));
  KRING_ASSIGN_OR_RETURN(
      Fields tf, Fields::Read(*title, StrCat(where, ", title"), {"nl", "en"}));
  KRING_ASSIGN_OR_RETURN(
      p.title_nl, Text(tf, "nl", StrCat(where, ", title"), "the Dutch title"));
  KRING_ASSIGN_OR_RETURN(p.title_en, Text(tf, "en", StrCat(where, ", title"),
                                          "the English title"));

  KRING_ASSIGN_OR_RETURN(
      YAML::Node response_scales,
      List(f, "response_scales", where, "at least one response scale"));
  for (size_t i = 0; i < response_scales.size(); ++i) {
    KRING_ASSIGN_OR_RETURN(ResponseScale rs,
                           ParseResponseScale(response_scales[i], i));
    for (const ResponseScale& prev : p.response_scales) {
      if (prev.id == rs.id) {
        return Invalid(response_scales[i],
                       StrCat("response scale \"", rs.id, "\""),
                       "duplicate response scale id; give every response "
                       "scale its own id");
      }
    }
    p.response_scales.push_back(std::move(rs));
  }

  KRING_ASSIGN_OR_RETURN(YAML::Node items,
                         List(f, "items", where, "at least one item"));
  KRING_RETURN_IF_ERROR(ParseItems(items, p));

  // `scales` is required but may be an empty list.
  KRING_ASSIGN_OR_RETURN(
      const YAML::Node* scales,
      Required(f, "scales", where, "the scales (use [] for none)"));
  if (!scales->IsSequence()) {
    return Invalid(*scales, where,
                   StrCat("field \"scales\" must be a list but is ",
                          KindName(*scales), "; use [] for none"));
  }
  for (size_t i = 0; i < scales->size(); ++i) {
    KRING_ASSIGN_OR_RETURN(Scale scale, ParseScale((*scales)[i], i, p));
    for (const Scale& prev : p.scales) {
      if (AsciiLower(prev.id) == AsciiLower(scale.id)) {
        return Invalid((*scales)[i], StrCat("scale \"", scale.id, "\""),
                       "duplicate scale id (ignoring case); give every scale "
                       "its own id");
      }
    }
    p.scales.push_back(std::move(scale));
  }
  return p;
}

}  // namespace

std::string_view ComponentName(Component c) {
  switch (c) {
    case Component::kCompetencies:
      return "competencies";
    case Component::kOpportunities:
      return "opportunities";
    case Component::kMotivation:
      return "motivation";
    case Component::kPerceptions:
      return "perceptions";
  }
  return "unknown";
}

uint32_t ResponseScale::min_code() const {
  return options.empty() ? 0 : options.front().code;
}

uint32_t ResponseScale::max_code() const {
  return options.empty() ? 0 : options.back().code;
}

std::optional<uint32_t> ResponseScale::CodeForLabel(
    std::string_view label) const {
  std::string norm = NormalizeLabel(label);
  if (norm.empty()) return std::nullopt;
  for (const ResponseOption& o : options) {
    if (NormalizeLabel(o.label_nl) == norm ||
        NormalizeLabel(o.label_en) == norm) {
      return o.code;
    }
  }
  if (std::optional<uint32_t> code = ParseDecimal(norm)) {
    for (const ResponseOption& o : options) {
      if (o.code == *code) return o.code;
    }
  }
  return std::nullopt;
}

absl::StatusOr<Instrument> Instrument::Parse(std::string_view yaml) {
  if (yaml.size() > kMaxYamlBytes) {
    return absl::InvalidArgumentError(
        StrCat("instrument YAML is ", yaml.size(), " bytes, more than the ",
               kMaxYamlBytes, " allowed; an instrument is a short text file"));
  }
  absl::StatusOr<Parsed> parsed;
  try {
    YAML::Node root = YAML::Load(std::string(yaml));
    parsed = ParseRoot(root);
  } catch (const YAML::Exception& e) {
    std::string pos = Position(e.mark);
    return absl::InvalidArgumentError(StrCat(
        "instrument YAML", pos.empty() ? "" : " ", pos, ": malformed YAML (",
        e.msg, "); check the indentation, colons, brackets and quotes there"));
  } catch (const std::exception& e) {
    return absl::InternalError(
        StrCat("unexpected error while reading instrument YAML: ", e.what()));
  }
  if (!parsed.ok()) return parsed.status();
  Instrument inst;
  inst.id_ = std::move(parsed->id);
  inst.version_ = parsed->version;
  inst.title_nl_ = std::move(parsed->title_nl);
  inst.title_en_ = std::move(parsed->title_en);
  inst.response_scales_ = std::move(parsed->response_scales);
  inst.items_ = std::move(parsed->items);
  inst.provisional_ = std::move(parsed->provisional);
  inst.scales_ = std::move(parsed->scales);
  inst.item_scale_index_ = std::move(parsed->item_scale_index);
  return inst;
}

absl::StatusOr<Instrument> Instrument::LoadFile(
    const std::filesystem::path& p) {
  const std::string name = p.string();
  std::error_code ec;
  std::filesystem::file_status st = std::filesystem::status(p, ec);
  if (ec || !std::filesystem::exists(st)) {
    return absl::NotFoundError(StrCat("instrument file ", Quote(name),
                                      " does not exist; check the path"));
  }
  if (!std::filesystem::is_regular_file(st)) {
    return absl::InvalidArgumentError(
        StrCat("instrument file ", Quote(name),
               " is not a regular file; give the path of a .yaml file"));
  }
  uintmax_t size = std::filesystem::file_size(p, ec);
  if (ec || size > kMaxYamlBytes) {
    return absl::InvalidArgumentError(
        StrCat("instrument file ", Quote(name), " is larger than ",
               kMaxYamlBytes, " bytes; an instrument is a short text file"));
  }
  std::ifstream in(p, std::ios::binary);
  std::ostringstream text;
  if (!in || !(text << in.rdbuf())) {
    if (size != 0) {
      return absl::PermissionDeniedError(StrCat("cannot read instrument file ",
                                                Quote(name),
                                                "; check its permissions"));
    }
  }
  absl::StatusOr<Instrument> inst = Parse(text.str());
  if (!inst.ok()) {
    return absl::Status(inst.status().code(),
                        StrCat(name, ": ", ToStd(inst.status().message())));
  }
  return inst;
}

namespace {

// Parses an embedded instrument; aborts if it is invalid, a build defect
// (the files are checked by the tests), not a runtime condition callers
// could handle.
const Instrument* ParseEmbedded(std::string_view yaml, const char* name) {
  absl::StatusOr<Instrument> parsed = Instrument::Parse(yaml);
  if (!parsed.ok()) {
    std::fprintf(stderr, "kring: the embedded %s instrument is invalid: %s\n",
                 name, std::string(ToStd(parsed.status().message())).c_str());
    std::abort();
  }
  return new Instrument(*std::move(parsed));
}

}  // namespace

const Instrument& Instrument::BelongingV1() {
  static const Instrument* const kInstrument =
      ParseEmbedded(internal::BelongingV1Yaml(), "kring-belonging-v1");
  return *kInstrument;
}

const Instrument& Instrument::BelongingV1Pisa() {
  static const Instrument* const kInstrument =
      ParseEmbedded(internal::BelongingV1PisaYaml(), "kring-belonging-v1-pisa");
  return *kInstrument;
}

std::optional<size_t> Instrument::ItemIndex(std::string_view item_id) const {
  for (size_t i = 0; i < items_.size(); ++i) {
    if (items_[i].id == item_id) return i;
  }
  return std::nullopt;
}

const Scale* Instrument::FindScale(std::string_view scale_id) const {
  for (const Scale& s : scales_) {
    if (s.id == scale_id) return &s;
  }
  return nullptr;
}

const ResponseScale& Instrument::ResponseScaleOf(size_t item) const {
  return response_scales_[item_scale_index_[item]];
}

bool Instrument::IsValidCode(size_t item, uint32_t code) const {
  if (item >= items_.size()) return false;
  if (code == 0) return true;
  for (const ResponseOption& o : ResponseScaleOf(item).options) {
    if (o.code == code) return true;
  }
  return false;
}

uint32_t Instrument::Recode(size_t item, uint32_t code) const {
  if (code == 0 || !IsValidCode(item, code)) return 0;
  if (!items_[item].reverse_keyed) return code;
  const ResponseScale& rs = ResponseScaleOf(item);
  return rs.min_code() + rs.max_code() - code;
}

std::optional<double> Instrument::ScaleScore(
    const Scale& scale, std::span<const uint32_t> responses) const {
  uint32_t answered = 0;
  double sum = 0;
  for (const std::string& id : scale.items) {
    std::optional<size_t> item = ItemIndex(id);
    if (!item.has_value()) return std::nullopt;  // not this instrument's scale
    if (*item >= responses.size()) continue;
    uint32_t recoded = Recode(*item, responses[*item]);
    if (recoded == 0) continue;
    ++answered;
    sum += recoded;
  }
  if (answered == 0 || answered < scale.min_answered) return std::nullopt;
  return sum / answered;
}

}  // namespace kring::survey
