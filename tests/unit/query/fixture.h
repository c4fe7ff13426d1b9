#ifndef KRING_TESTS_UNIT_QUERY_FIXTURE_H_
#define KRING_TESTS_UNIT_QUERY_FIXTURE_H_

// The reference dataset of tests/fixtures/query (written by
// make_reference.py): pupils of 24 schools in 4 municipalities.

#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "kring/v1/record.pb.h"
#include "nlohmann/json.hpp"
#include "query/layout.h"
#include "query/spec.h"
#include "survey/instrument.h"
#include "survey/record.h"

namespace kring::query::testing {

struct School {
  std::string id;
  std::string municipality;
  std::vector<v1::PupilRecord> records;
};

inline std::string FixturePath(const std::string& name) {
  return std::string(KRING_SOURCE_DIR) + "/tests/fixtures/query/" + name;
}

inline std::string ReadFixture(const std::string& name) {
  std::ifstream in(FixturePath(name), std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Schools in id order. Fails the calling test on a malformed fixture.
inline std::vector<School> LoadSchools() {
  std::istringstream in(ReadFixture("pupils.csv"));
  std::string line;
  std::getline(in, line);  // header
  std::map<std::string, School> schools;
  const size_t items = survey::Instrument::BelongingV1().items().size();
  while (std::getline(in, line)) {
    std::vector<std::string> f;
    std::stringstream ls(line);
    std::string cell;
    while (std::getline(ls, cell, ',')) f.push_back(cell);
    if (f.size() != 9 + items) {
      ADD_FAILURE() << "malformed fixture line: " << line;
      return {};
    }
    School& s = schools[f[0]];
    s.id = f[0];
    s.municipality = f[1];
    v1::PupilRecord r;
    r.set_pseudonym(std::string(32, 'p'));
    r.set_wave(f[2]);
    r.set_survey_month(3);
    r.set_sector(*survey::ParseSector(f[3]));
    r.set_track(*survey::ParseTrack(f[4]));
    r.set_grade(static_cast<uint32_t>(std::stoul(f[5])));
    r.set_gender(*survey::ParseGender(f[6]));
    r.set_age_band(v1::AGE_BAND_12_13);
    r.set_migration_background(*survey::ParseMigrationBackground(f[7]));
    r.set_financial_strain(*survey::ParseFinancialStrain(f[8]));
    r.set_instrument_id("kring-belonging-v1");
    for (size_t i = 0; i < items; ++i) {
      r.add_responses(static_cast<uint32_t>(std::stoul(f[9 + i])));
    }
    s.records.push_back(std::move(r));
  }
  std::vector<School> out;
  for (auto& [id, s] : schools) out.push_back(std::move(s));
  return out;
}

// One query of the reference fixture (expected.json): its name and spec.
struct FixtureSpec {
  std::string name;
  std::string json;
};

// Every query of the reference fixture: each statistic kind, with and
// without group variables.
inline std::vector<FixtureSpec> FixtureSpecs() {
  auto j = nlohmann::json::parse(ReadFixture("expected.json"));
  std::vector<FixtureSpec> out;
  for (const auto& c : j["cases"]) out.push_back({c["name"], c["spec"].dump()});
  return out;
}

// The query of a JSON spec over kring-belonging-v1; fails the calling test
// if it does not parse.
inline Query MustCreate(const std::string& json) {
  auto spec = ParseQuerySpecJson(json);
  EXPECT_TRUE(spec.ok()) << spec.status();
  auto q = Query::Create(*spec, survey::Instrument::BelongingV1());
  EXPECT_TRUE(q.ok()) << q.status();
  return *std::move(q);
}

// The exact sum of every school's contribution to `layout` (no noise).
inline std::vector<uint64_t> ExactSums(const Layout& layout,
                                       const std::vector<School>& schools) {
  std::vector<uint64_t> sum(layout.size(), 0);
  for (const School& s : schools) {
    auto c = Contribution(layout, s.records, s.municipality);
    EXPECT_TRUE(c.ok()) << c.status();
    if (!c.ok()) continue;
    for (size_t i = 0; i < sum.size(); ++i) sum[i] += (*c)[i];
  }
  return sum;
}

}  // namespace kring::query::testing

#endif  // KRING_TESTS_UNIT_QUERY_FIXTURE_H_
