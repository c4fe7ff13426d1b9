#include "node/import_report.h"

#include <cstdio>
#include <set>

#include "absl/strings/str_join.h"
#include "nlohmann/json.hpp"
#include "util/str_cat.h"

namespace kring::node {
namespace {

using survey::Instrument;
using survey::ResponseScale;

constexpr size_t kTextWidth = 44;

bool AnyNumeric(const ParsedExport& parsed) {
  for (const ItemAnswers& a : parsed.answers) {
    if (a.numeric > 0) return true;
  }
  return false;
}

// "1 = helemaal niet mee eens (strongly disagree), 2 = ...".
std::string Coding(const ResponseScale& scale) {
  std::vector<std::string> parts;
  for (const survey::ResponseOption& o : scale.options) {
    parts.push_back(StrCat(o.code, " = ", o.label_nl, " (", o.label_en, ")"));
  }
  return absl::StrJoin(parts, ", ");
}

std::string Percent(size_t n, size_t total) {
  char buf[16];
  std::snprintf(
      buf, sizeof buf, "%3.0f%%",
      total == 0 ? 0.0
                 : 100.0 * static_cast<double>(n) / static_cast<double>(total));
  return buf;
}

// The first `width` bytes of `text` (not inside a UTF-8 sequence), padded.
std::string Fit(std::string_view text, size_t width) {
  std::string out(text);
  if (out.size() > width) {
    size_t cut = width - 3;
    while (cut > 0 && (static_cast<unsigned char>(out[cut]) & 0xC0) == 0x80) {
      --cut;
    }
    out = out.substr(0, cut) + "...";
  }
  size_t chars = 0;
  for (unsigned char c : out) chars += (c & 0xC0) != 0x80;
  if (chars < width) out.append(width - chars, ' ');
  return out;
}

// One line per item: id, English text, then the share of each code.
void Distribution(const ParsedExport& parsed, const Instrument& instrument,
                  std::vector<std::string>& lines) {
  lines.push_back(
      "Answers per item (numbers after recoding; check that the "
      "distributions make sense, e.g. few pupils agreeing with "
      "\"I feel lonely at school\"):");
  for (size_t i = 0; i < parsed.answers.size(); ++i) {
    const ItemAnswers& a = parsed.answers[i];
    const survey::Item& item = instrument.items()[i];
    std::string line = StrCat("  ", Fit(a.item_id, 10), " ",
                              Fit(item.text_en, kTextWidth), " ");
    if (a.not_asked) {
      lines.push_back(line + "not asked");
      continue;
    }
    size_t total = 0;
    for (size_t n : a.counts) total += n;
    for (size_t code = 1; code < a.counts.size(); ++code) {
      if (!instrument.IsValidCode(i, static_cast<uint32_t>(code))) continue;
      line += StrCat(" ", code, ":", Percent(a.counts[code], total));
    }
    line += StrCat("  missing: ", a.counts.empty() ? 0 : a.counts[0]);
    if (a.reversed) line += "  (reversed)";
    if (a.value_mapped) line += "  (value map)";
    lines.push_back(std::move(line));
  }
}

std::vector<std::string> Ids(const ParsedExport& parsed,
                             bool ItemAnswers::*flag) {
  std::vector<std::string> out;
  for (const ItemAnswers& a : parsed.answers) {
    if (a.*flag) out.push_back(a.item_id);
  }
  return out;
}

// The scales that cannot reach min_answered with the items asked.
std::vector<std::string> ScalesLost(const ParsedExport& parsed,
                                    const Instrument& instrument) {
  std::set<std::string> not_asked;
  for (const ItemAnswers& a : parsed.answers) {
    if (a.not_asked) not_asked.insert(a.item_id);
  }
  std::vector<std::string> out;
  for (const survey::Scale& s : instrument.scales()) {
    size_t asked = 0;
    for (const std::string& id : s.items) asked += !not_asked.contains(id);
    if (asked < s.min_answered) out.push_back(s.id);
  }
  return out;
}

}  // namespace

std::vector<std::string> AnswerReport(const ParsedExport& parsed,
                                      const Instrument& instrument,
                                      bool always_distribution) {
  std::vector<std::string> lines;
  const bool numeric = AnyNumeric(parsed);
  if (numeric) {
    std::set<const ResponseScale*> seen;
    for (size_t i = 0; i < parsed.answers.size(); ++i) {
      const ResponseScale& scale = instrument.ResponseScaleOf(i);
      if (parsed.answers[i].numeric == 0) continue;
      if (!seen.insert(&scale).second) continue;
      lines.push_back(
          StrCat("Answers given as numbers were read in the "
                 "coding of ",
                 instrument.id(), ": ", Coding(scale), "."));
    }
    if (Ids(parsed, &ItemAnswers::reversed).empty()) {
      lines.push_back(
          "If your questionnaire numbered the answers the other way (PISA: "
          "1 = strongly agree), reverse them in a mapping file (\"Recoding\" "
          "in docs/import.md).");
    }
  }
  if (auto ids = Ids(parsed, &ItemAnswers::reversed); !ids.empty()) {
    lines.push_back(
        StrCat("Reversed by the mapping file: ", absl::StrJoin(ids, ", ")));
  }
  if (auto ids = Ids(parsed, &ItemAnswers::value_mapped); !ids.empty()) {
    lines.push_back(StrCat("Read through a value map of the mapping file: ",
                           absl::StrJoin(ids, ", ")));
  }
  if (auto ids = Ids(parsed, &ItemAnswers::not_asked); !ids.empty()) {
    std::string line = StrCat("Not asked (no column; recorded as not asked): ",
                              absl::StrJoin(ids, ", "));
    if (auto lost = ScalesLost(parsed, instrument); !lost.empty()) {
      line += StrCat(". No score on ", absl::StrJoin(lost, ", "),
                     " for these records");
    }
    lines.push_back(line);
  }
  if (numeric || always_distribution) Distribution(parsed, instrument, lines);
  return lines;
}

nlohmann::json AnswerReportJson(const ParsedExport& parsed,
                                const Instrument& instrument) {
  nlohmann::json items = nlohmann::json::array();
  for (size_t i = 0; i < parsed.answers.size(); ++i) {
    const ItemAnswers& a = parsed.answers[i];
    nlohmann::json counts = nlohmann::json::object();
    for (const survey::ResponseOption& o :
         instrument.ResponseScaleOf(i).options) {
      counts[o.label_en] = o.code < a.counts.size() ? a.counts[o.code] : 0;
    }
    items.push_back({{"item", a.item_id},
                     {"counts", counts},
                     {"missing", a.counts.empty() ? 0 : a.counts[0]},
                     {"numeric", a.numeric},
                     {"labelled", a.labelled},
                     {"reversed", a.reversed},
                     {"value_map", a.value_mapped},
                     {"not_asked", a.not_asked}});
  }
  std::vector<std::string> codings;
  std::set<const ResponseScale*> seen;
  for (size_t i = 0; i < parsed.answers.size(); ++i) {
    const ResponseScale& scale = instrument.ResponseScaleOf(i);
    if (parsed.answers[i].numeric > 0 && seen.insert(&scale).second) {
      codings.push_back(StrCat(scale.id, ": ", Coding(scale)));
    }
  }
  return {{"numeric_coding", codings}, {"items", items}};
}

}  // namespace kring::node
