#include "survey/registry.h"

#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"

namespace kring::survey {
namespace {

using ::kring::testing::IsOk;
using ::kring::testing::StatusIs;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

// A small valid instrument in the documented YAML format.
std::string OwnInstrumentYaml(std::string_view id) {
  return std::string("id: ") + std::string(id) + R"(
version: 1
title: {nl: Eigen lijst, en: Own list}
response_scales:
  - id: agree4
    options:
      - {code: 1, nl: helemaal niet mee eens, en: strongly disagree}
      - {code: 2, nl: niet mee eens, en: disagree}
      - {code: 3, nl: mee eens, en: agree}
      - {code: 4, nl: helemaal mee eens, en: strongly agree}
items:
  - {id: Q1, nl: een, en: one, scale: agree4, component: perceptions}
scales:
  - {id: own_scale, nl: Schaal, en: Scale, component: perceptions, items: [Q1], min_answered: 1}
)";
}

TEST(InstrumentRegistryTest, BuiltinHasBelongingAndEmptyIdMeansIt) {
  InstrumentRegistry r = InstrumentRegistry::Builtin();
  EXPECT_THAT(r.ids(),
              ElementsAre("kring-belonging-v1", "kring-belonging-v1-pisa"));
  auto by_default = r.Find("");
  ASSERT_THAT(by_default.status(), IsOk());
  EXPECT_EQ(*by_default, &Instrument::BelongingV1());
  auto by_id = r.Find("kring-belonging-v1");
  ASSERT_THAT(by_id.status(), IsOk());
  EXPECT_EQ(*by_id, &Instrument::BelongingV1());
}

TEST(InstrumentRegistryTest, UnknownIdIsNotFoundAndNamesKnownIds) {
  InstrumentRegistry r = InstrumentRegistry::Builtin();
  EXPECT_THAT(
      r.Find("pisa-2022").status(),
      StatusIs(absl::StatusCode::kNotFound, HasSubstr("kring-belonging-v1")));
}

TEST(InstrumentRegistryTest, AddsOwnInstrumentAndRefusesDuplicateId) {
  InstrumentRegistry r = InstrumentRegistry::Builtin();
  auto own = Instrument::Parse(OwnInstrumentYaml("school-own-v1"));
  ASSERT_THAT(own.status(), IsOk());
  ASSERT_THAT(r.Add(*own), IsOk());
  EXPECT_THAT(r.ids(), ElementsAre("kring-belonging-v1",
                                   "kring-belonging-v1-pisa", "school-own-v1"));
  auto found = r.Find("school-own-v1");
  ASSERT_THAT(found.status(), IsOk());
  EXPECT_EQ((*found)->id(), "school-own-v1");
  EXPECT_EQ((*found)->items().size(), 1u);

  auto clash = Instrument::Parse(OwnInstrumentYaml("kring-belonging-v1"));
  ASSERT_THAT(clash.status(), IsOk());
  EXPECT_THAT(r.Add(*clash), StatusIs(absl::StatusCode::kAlreadyExists));
  // The built-in one is still the one found.
  EXPECT_EQ(*r.Find("kring-belonging-v1"), &Instrument::BelongingV1());
}

TEST(InstrumentRegistryTest, CopiesKeepInstrumentsAlive) {
  const Instrument* own_ptr = nullptr;
  InstrumentRegistry copy;
  {
    InstrumentRegistry r;
    auto own = Instrument::Parse(OwnInstrumentYaml("school-own-v1"));
    ASSERT_THAT(own.status(), IsOk());
    ASSERT_THAT(r.Add(*std::move(own)), IsOk());
    own_ptr = *r.Find("school-own-v1");
    copy = r;
  }
  auto found = copy.Find("school-own-v1");
  ASSERT_THAT(found.status(), IsOk());
  EXPECT_EQ(*found, own_ptr);
  EXPECT_EQ((*found)->id(), "school-own-v1");
}

}  // namespace
}  // namespace kring::survey
