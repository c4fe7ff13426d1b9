#include "node/query_records.h"

#include <utility>
#include <vector>

#include "absl/strings/str_join.h"
#include "util/str_cat.h"

namespace kring::node {
namespace {

// The ids of every measure the query reads (measures and predictors).
std::vector<std::string> MeasureIds(const query::Query& query) {
  std::vector<std::string> ids;
  for (const query::Measure& m : query.measures()) ids.push_back(m.id);
  for (const query::Predictor& p : query.predictors()) {
    if (p.measure) ids.push_back(p.measure->id);
  }
  return ids;
}

std::string IdOrDefault(const std::string& id) {
  return id.empty() ? std::string(survey::kDefaultInstrumentId) : id;
}

}  // namespace

QueryRecords::QueryRecords(const query::Query& query,
                           const survey::InstrumentRegistry& registry,
                           const std::set<std::string>& instrument_ids)
    : query_instrument_(query.instrument().id()) {
  const std::vector<std::string> needed =
      survey::ItemsOf(query.instrument(), MeasureIds(query));
  std::vector<std::string> why;
  bool usable = false;
  for (const std::string& raw : instrument_ids) {
    const std::string id = IdOrDefault(raw);
    if (id == query_instrument_) {
      usable = true;
      continue;
    }
    auto from = registry.Find(id);
    if (!from.ok()) {
      why.push_back(StrCat("instrument `", id, "` is not known here"));
      continue;
    }
    auto t =
        survey::RecordTranslation::Create(**from, query.instrument(), needed);
    if (!t.ok()) {
      why.push_back(std::string(ToStd(t.status().message())));
      continue;
    }
    translations_.emplace(raw, *std::move(t));
    usable = true;
  }
  if (!usable && !instrument_ids.empty()) {
    std::vector<std::string> ids;
    for (const std::string& raw : instrument_ids) {
      ids.push_back(IdOrDefault(raw));
    }
    refusal_ = StrCat("this school has no records of instrument `",
                      query_instrument_, "`: its records follow ",
                      absl::StrJoin(ids, ", "), why.empty() ? "" : " (",
                      absl::StrJoin(why, "; "), why.empty() ? "" : ")");
  }
}

std::optional<v1::PupilRecord> QueryRecords::Read(
    const v1::PupilRecord& r) const {
  if (IdOrDefault(r.instrument_id()) == query_instrument_) return r;
  auto it = translations_.find(r.instrument_id());
  if (it == translations_.end()) return std::nullopt;
  return it->second.Apply(r);
}

}  // namespace kring::node
