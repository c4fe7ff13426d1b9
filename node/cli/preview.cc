// `kring-node preview`: what this school would contribute to a query, and
// its own figures, computed locally.

#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "cli/support.h"
#include "nlohmann/json.hpp"
#include "node/cli/commands.h"
#include "query/decode.h"
#include "query/layout.h"
#include "query/release.h"
#include "query/spec.h"
#include "util/file.h"

namespace kring::node {
namespace {

using cli::kExitOk;

struct PreviewFlags {
  std::string spec_file;
  std::string municipality;
  bool json = false;
  bool all = false;
};

// Whether the query selects or groups by municipality (so the school's
// municipality must be known).
bool NeedsMunicipality(const v1::QuerySpec& spec, const query::Query& q) {
  bool needs = !spec.population().municipalities().empty();
  for (const query::Grouping& g : q.groups()) {
    needs |= g.var == query::GroupVar::kMunicipality;
  }
  for (const query::Predictor& p : q.predictors()) {
    needs |=
        p.categorical && p.categorical->var == query::GroupVar::kMunicipality;
  }
  return needs;
}

// What the preview shows: the query, the vector that would leave the
// school, and the school's own figures.
struct Preview {
  const v1::QuerySpec& spec;
  const query::Query& query;
  const query::Layout& layout;
  const std::vector<uint64_t>& vector;
  const query::ReleasedResult& mine;
};

void PrintPreviewJson(const Preview& p) {
  nlohmann::json out;
  out["summary"] = p.query.Summary();
  out["vector_length"] = p.vector.size();
  nlohmann::json elems = nlohmann::json::array();
  for (size_t i = 0; i < p.vector.size(); ++i) {
    elems.push_back(
        {{"element", p.layout.Describe(i)}, {"value", p.vector[i]}});
  }
  out["vector"] = elems;
  out["own_figures"] = p.mine.ToJson();
  std::cout << out.dump(2, ' ', false, nlohmann::json::error_handler_t::replace)
            << "\n";
}

void PrintPreviewText(const Preview& p, bool all) {
  std::cout << "Query: " << p.query.Summary() << "\n";
  if (!p.spec.purpose().empty()) {
    std::cout << "Purpose: " << p.spec.purpose() << "\n";
  }
  std::cout << "\nWhat would leave this school: " << p.vector.size()
            << " whole numbers, masked by secure aggregation so that only "
               "their sum over all participating schools can be read. In "
               "readable form"
            << (all ? "" : " (entries that are 0 left out)") << ":\n";
  size_t zeros = 0;
  for (size_t i = 0; i < p.vector.size(); ++i) {
    zeros += p.vector[i] == 0;
    if (p.vector[i] == 0 && !all) continue;
    std::cout << "  " << p.layout.Describe(i) << " = " << p.vector[i] << "\n";
  }
  if (!all && zeros > 0) {
    std::cout << "  (" << zeros << " entries are 0; --all lists them too)\n";
  }
  std::cout << "\nThis school's own figures. They stay here: the "
               "coordinator sees only sums over schools, and releases only "
               "cells that pass disclosure control.\n\n"
            << p.mine.ToText();
}

// Shows school IT what would leave the school for a query, and this
// school's own figures (which stay here).
int RunPreview(const Common& c, const PreviewFlags& f) {
  auto instrument = LoadInstrument(c);
  if (!instrument.ok()) return Fail(instrument.status());
  auto text = ReadFileToString(f.spec_file);
  if (!text.ok()) return Fail(text.status());
  auto spec = query::ParseQuerySpecJson(*text);
  if (!spec.ok()) return Fail(spec.status());
  auto q = query::Query::Create(*spec, *instrument);
  if (!q.ok()) return Fail(q.status());
  if (NeedsMunicipality(*spec, *q) && f.municipality.empty()) {
    return Fail(absl::InvalidArgumentError(
        "this query selects or groups by municipality: give your school's "
        "municipality code with --municipality (e.g. GM0363)"));
  }
  auto store = OpenStore(c);
  if (!store.ok()) return Fail(store.status());
  std::vector<v1::PupilRecord> records;
  if (auto s = store->ForEach(
          [&](const v1::PupilRecord& r) { records.push_back(r); });
      !s.ok()) {
    return Fail(s);
  }
  query::Layout layout(*q);
  auto vector = query::Contribution(layout, records, f.municipality);
  if (!vector.ok()) return Fail(vector.status());
  auto own = query::Decode(layout, *vector);
  if (!own.ok()) return Fail(own.status());
  const query::ReleasedResult mine = query::Unprotected(layout, *own);
  const Preview preview{*spec, *q, layout, *vector, mine};
  if (f.json) {
    PrintPreviewJson(preview);
  } else {
    PrintPreviewText(preview, f.all);
  }
  return kExitOk;
}

}  // namespace

void AddPreviewCommand(CLI::App& app, cli::Command& chosen) {
  auto f = std::make_shared<PreviewFlags>();
  auto* preview = app.add_subcommand(
      "preview",
      "Show exactly what this school would contribute to a query (SPEC.json, "
      "a kring query spec) and this school's own figures, locally.");
  auto c =
      AddCommonOptions(*preview, /*with_key=*/true, /*with_instrument=*/true);
  preview->add_option("spec", f->spec_file, "The query spec (JSON)")
      ->required();
  preview->add_option("--municipality", f->municipality,
                      "This school's municipality code (CBS), e.g. GM0363; "
                      "needed when the query selects or groups by "
                      "municipality");
  preview->add_flag("--all", f->all, "Also list the entries that are 0");
  preview->add_flag("--json", f->json, "Machine-readable output");
  preview->callback(
      [c, f, &chosen] { chosen = [c, f] { return RunPreview(*c, *f); }; });
}

}  // namespace kring::node
