// Instruments per query: records of the PISA-coded variant take part in a
// query over kring-belonging-v1 with exactly the figures of the same
// answers in kring coding.

#include "node/query_records.h"

#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "query/layout.h"
#include "query/spec.h"
#include "survey/instrument.h"
#include "survey/registry.h"
#include "survey/translate.h"
#include "tests/testing/status_matchers.h"

namespace kring::node {
namespace {

using ::testing::AllOf;
using ::testing::HasSubstr;
using ::testing::Optional;

const survey::Instrument& V1() { return survey::Instrument::BelongingV1(); }

v1::PupilRecord Kring(uint32_t seed) {
  v1::PupilRecord r;
  r.set_pseudonym(std::string(32, static_cast<char>('a' + seed % 20)));
  r.set_wave("2025-26");
  r.set_survey_month(3);
  r.set_sector(v1::SECTOR_VO);
  r.set_track(seed % 2 ? v1::TRACK_HAVO : v1::TRACK_VWO);
  r.set_grade(2);
  r.set_gender(v1::GENDER_MEISJE);
  r.set_age_band(v1::AGE_BAND_12_13);
  r.set_instrument_id("kring-belonging-v1");
  for (uint32_t i = 0; i < 17; ++i) {
    r.add_responses((seed * 7 + i * 3) % 5);  // 0 (missing) .. 4
  }
  return r;
}

// The same answers written the way kring-belonging-v1-pisa codes them.
v1::PupilRecord Pisa(uint32_t seed) {
  v1::PupilRecord r = Kring(seed);
  r.set_instrument_id("kring-belonging-v1-pisa");
  for (int i = 0; i < 6; ++i) {
    if (r.responses(i) != 0) r.set_responses(i, 5 - r.responses(i));
  }
  return r;
}

query::Query MeanQuery(const survey::InstrumentRegistry& registry) {
  v1::QuerySpec spec;
  spec.set_statistic("mean");
  spec.add_measures("belong_perception");
  spec.add_measures("ST034Q02");
  spec.add_measures("belong_motivation");
  spec.add_group_by("track");
  auto q = query::Query::Create(spec, registry);
  EXPECT_TRUE(q.ok()) << q.status();
  return *std::move(q);
}

TEST(QueryRecordsTest, ThePisaVariantIsValidAndScoresTheSame) {
  const survey::Instrument& pisa = survey::Instrument::BelongingV1Pisa();
  EXPECT_EQ(pisa.id(), "kring-belonging-v1-pisa");
  for (uint32_t seed = 0; seed < 20; ++seed) {
    const v1::PupilRecord kr = Kring(seed), pr = Pisa(seed);
    std::vector<uint32_t> k(kr.responses().begin(), kr.responses().end());
    std::vector<uint32_t> p(pr.responses().begin(), pr.responses().end());
    for (const survey::Scale& s : V1().scales()) {
      EXPECT_EQ(V1().ScaleScore(s, k),
                pisa.ScaleScore(*pisa.FindScale(s.id), p))
          << s.id << " seed " << seed;
    }
  }
}

TEST(QueryRecordsTest, PisaCodedRecordsContributeAsKringCodedOnes) {
  const auto registry = survey::InstrumentRegistry::Builtin();
  const query::Query q = MeanQuery(registry);
  const QueryRecords plan(q, registry,
                          {"kring-belonging-v1", "kring-belonging-v1-pisa"});
  EXPECT_EQ(plan.refusal(), std::nullopt);
  std::vector<v1::PupilRecord> kring, read;
  for (uint32_t seed = 0; seed < 40; ++seed) {
    kring.push_back(Kring(seed));
    std::optional<v1::PupilRecord> r = plan.Read(Pisa(seed));
    ASSERT_TRUE(r.has_value());
    EXPECT_EQ(r->SerializeAsString(), Kring(seed).SerializeAsString());
    read.push_back(*r);
  }
  const query::Layout layout(q);
  auto a = query::Contribution(layout, kring, "GM0363");
  auto b = query::Contribution(layout, read, "GM0363");
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(*a, *b);
  const std::vector<int> total = {query::kMargin};
  EXPECT_EQ((*a)[layout.CellIndex(total) * layout.cell_width() +
                 query::Layout::kRecords],
            40u);
}

TEST(QueryRecordsTest, RecordsOfAnInstrumentLackingTheItemsAreLeftOut) {
  auto registry = survey::InstrumentRegistry::Builtin();
  auto own = survey::Instrument::Parse(R"(
id: pisa-only
version: 1
title: {nl: "PISA", en: "PISA"}
response_scales:
  - id: agree4
    options:
      - {code: 1, nl: "helemaal niet mee eens", en: "strongly disagree"}
      - {code: 2, nl: "niet mee eens", en: "disagree"}
      - {code: 3, nl: "mee eens", en: "agree"}
      - {code: 4, nl: "helemaal mee eens", en: "strongly agree"}
items:
  - {id: ST034Q02, nl: "Vrienden", en: "Friends", scale: agree4,
     component: perceptions}
scales: []
)");
  ASSERT_TRUE(own.ok()) << own.status();
  ASSERT_TRUE(registry.Add(*std::move(own)).ok());
  const query::Query q = MeanQuery(registry);
  const QueryRecords plan(q, registry, {"pisa-only"});
  EXPECT_THAT(plan.refusal(),
              Optional(AllOf(HasSubstr("no records of instrument "
                                       "`kring-belonging-v1`"),
                             HasSubstr("it has no item ST034Q01"))));
  v1::PupilRecord r = Kring(1);
  r.set_instrument_id("pisa-only");
  EXPECT_EQ(plan.Read(r), std::nullopt);
  // Only ST034Q02 asked: a query on that item alone can use the records,
  // and every other item is not asked.
  v1::QuerySpec spec;
  spec.set_statistic("mean");
  spec.add_measures("ST034Q02");
  auto item_query = query::Query::Create(spec, registry);
  ASSERT_TRUE(item_query.ok());
  const QueryRecords item_plan(*item_query, registry, {"pisa-only"});
  EXPECT_EQ(item_plan.refusal(), std::nullopt);
  v1::PupilRecord own_record = r;
  own_record.clear_responses();
  own_record.add_responses(3);
  auto read = item_plan.Read(own_record);
  ASSERT_TRUE(read.has_value());
  EXPECT_EQ(read->responses(1), 3u);
  EXPECT_EQ(read->not_asked_size(), 16);
  // No records at all: nothing to refuse.
  EXPECT_EQ(QueryRecords(q, registry, {}).refusal(), std::nullopt);
}

}  // namespace
}  // namespace kring::node
