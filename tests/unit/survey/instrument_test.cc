#include "survey/instrument.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "survey/internal/embedded_instruments.h"
#include "tests/testing/status_matchers.h"

namespace kring::survey {
namespace {

using ::kring::testing::IsOk;
using ::kring::testing::StatusIs;
using ::testing::AllOf;
using ::testing::DoubleEq;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::Optional;

constexpr absl::StatusCode kInvalid = absl::StatusCode::kInvalidArgument;

// A small valid instrument; the negative tests below each break one thing.
// Line numbers matter to some tests: "items:" is line 15.
constexpr std::string_view kValid = R"(id: test-instrument
version: 2
title: {nl: Testlijst, en: Test list}
response_scales:
  - id: agree4
    options:
      - {code: 1, nl: helemaal niet mee eens, en: strongly disagree}
      - {code: 2, nl: niet mee eens, en: disagree}
      - {code: 3, nl: mee eens, en: agree}
      - {code: 4, nl: helemaal mee eens, en: strongly agree}
  - id: yesno
    options:
      - {code: 1, nl: nee, en: "no"}
      - {code: 2, nl: ja, en: "yes"}
items:
  - {id: A1, nl: een, en: one, scale: agree4, component: perceptions}
  - {id: A2, nl: twee, en: two, scale: agree4, reverse_keyed: true, component: perceptions}
  - {id: A3, nl: drie, en: three, scale: agree4, component: perceptions, provisional: true}
  - {id: Y1, nl: vier, en: four, scale: yesno, component: opportunities}
scales:
  - {id: s_a, nl: Schaal, en: Scale, component: perceptions, items: [A1, A2, A3], min_answered: 2}
)";

// `text` with the first occurrence of `from` replaced by `to`.
std::string Replace(std::string_view text, std::string_view from,
                    std::string_view to) {
  std::string s(text);
  size_t at = s.find(from);
  if (at == std::string::npos) {
    ADD_FAILURE() << "test setup: " << from << " not found";
    return s;
  }
  s.replace(at, from.size(), to);
  return s;
}

absl::Status ParseStatus(std::string_view yaml) {
  return Instrument::Parse(yaml).status();
}

std::string ReadSource(const std::string& relative) {
  std::ifstream in(std::string(KRING_SOURCE_DIR) + "/" + relative,
                   std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

// --- The shipped instrument ------------------------------------------------

TEST(BelongingV1Test, LoadsWithIdVersionAndTitles) {
  const Instrument& inst = Instrument::BelongingV1();
  EXPECT_EQ(inst.id(), "kring-belonging-v1");
  EXPECT_EQ(inst.version(), 1u);
  EXPECT_FALSE(inst.title_nl().empty());
  EXPECT_FALSE(inst.title_en().empty());
  EXPECT_EQ(&inst, &Instrument::BelongingV1());
}

TEST(BelongingV1Test, EmbeddedTextIsTheSourceFile) {
  std::string source = ReadSource("survey/instruments/kring-belonging-v1.yaml");
  ASSERT_FALSE(source.empty());
  EXPECT_EQ(internal::BelongingV1Yaml(), source);
  KRING_ASSERT_OK_AND_ASSIGN(
      Instrument from_file,
      Instrument::LoadFile(std::string(KRING_SOURCE_DIR) +
                           "/survey/instruments/kring-belonging-v1.yaml"));
  EXPECT_EQ(from_file.items().size(), Instrument::BelongingV1().items().size());
}

TEST(BelongingV1Test, SixPisaPerceptionItemsWithNegativeOnesReversed) {
  const Instrument& inst = Instrument::BelongingV1();
  std::vector<std::string> ids;
  for (size_t i = 0; i < inst.items().size(); ++i) {
    const Item& item = inst.items()[i];
    if (item.component != Component::kPerceptions) continue;
    ids.push_back(item.id);
    EXPECT_FALSE(inst.provisional(i)) << item.id;
    EXPECT_EQ(item.scale_id, "agree4") << item.id;
    bool negative =
        item.id == "ST034Q01" || item.id == "ST034Q04" || item.id == "ST034Q06";
    EXPECT_EQ(item.reverse_keyed, negative) << item.id;
  }
  EXPECT_THAT(ids, ElementsAre("ST034Q01", "ST034Q02", "ST034Q03", "ST034Q04",
                               "ST034Q05", "ST034Q06"));
  const Item& q03 = inst.items()[*inst.ItemIndex("ST034Q03")];
  EXPECT_EQ(q03.text_en, "I feel like I belong at school.");
  EXPECT_THAT(q03.text_nl, HasSubstr("hoor"));
}

TEST(BelongingV1Test, ProjectItemsAreProvisionalThreeToFourPerComponent) {
  const Instrument& inst = Instrument::BelongingV1();
  for (Component c : {Component::kCompetencies, Component::kOpportunities,
                      Component::kMotivation}) {
    int count = 0;
    for (size_t i = 0; i < inst.items().size(); ++i) {
      if (inst.items()[i].component != c) continue;
      ++count;
      EXPECT_TRUE(inst.provisional(i)) << inst.items()[i].id;
    }
    EXPECT_GE(count, 3) << ComponentName(c);
    EXPECT_LE(count, 4) << ComponentName(c);
  }
  EXPECT_THAT(internal::BelongingV1Yaml(), HasSubstr("# PROVISIONAL:"));
  EXPECT_THAT(internal::BelongingV1Yaml(),
              HasSubstr("psychometrically validated"));
}

TEST(BelongingV1Test, FourScalesOnePerComponent) {
  const Instrument& inst = Instrument::BelongingV1();
  ASSERT_EQ(inst.scales().size(), 4u);
  struct Expected {
    std::string_view id;
    Component component;
  };
  for (Expected e :
       {Expected{"belong_perception", Component::kPerceptions},
        Expected{"belong_competencies", Component::kCompetencies},
        Expected{"belong_opportunities", Component::kOpportunities},
        Expected{"belong_motivation", Component::kMotivation}}) {
    const Scale* s = inst.FindScale(e.id);
    ASSERT_NE(s, nullptr) << e.id;
    EXPECT_EQ(s->component, e.component) << e.id;
    for (const std::string& id : s->items) {
      EXPECT_EQ(inst.items()[*inst.ItemIndex(id)].component, e.component) << id;
    }
    if (e.component == Component::kPerceptions) {
      EXPECT_EQ(s->items.size(), 6u);
      EXPECT_EQ(s->min_answered, 4u);
    } else {
      EXPECT_EQ(s->min_answered, s->items.size() - 1) << e.id;
    }
  }
  // Every item belongs to exactly one scale.
  size_t listed = 0;
  for (const Scale& s : inst.scales()) listed += s.items.size();
  EXPECT_EQ(listed, inst.items().size());
}

TEST(BelongingV1Test, AgreementScaleCodesAndLabels) {
  const ResponseScale& rs = Instrument::BelongingV1().ResponseScaleOf(0);
  EXPECT_EQ(rs.min_code(), 1u);
  EXPECT_EQ(rs.max_code(), 4u);
  ASSERT_EQ(rs.options.size(), 4u);
  EXPECT_EQ(rs.options[0].label_nl, "helemaal niet mee eens");
  EXPECT_EQ(rs.options[0].label_en, "strongly disagree");
  EXPECT_EQ(rs.options[3].label_nl, "helemaal mee eens");
  EXPECT_EQ(rs.options[3].label_en, "strongly agree");
}

TEST(ComponentTest, Names) {
  EXPECT_EQ(ComponentName(Component::kCompetencies), "competencies");
  EXPECT_EQ(ComponentName(Component::kOpportunities), "opportunities");
  EXPECT_EQ(ComponentName(Component::kMotivation), "motivation");
  EXPECT_EQ(ComponentName(Component::kPerceptions), "perceptions");
}

// --- CodeForLabel, Recode, ScaleScore --------------------------------------

TEST(CodeForLabelTest, DutchEnglishNumericWhitespaceAndCase) {
  const ResponseScale& rs = Instrument::BelongingV1().ResponseScaleOf(0);
  EXPECT_EQ(rs.CodeForLabel("helemaal mee eens"), 4u);
  EXPECT_EQ(rs.CodeForLabel("mee eens"), 3u);
  EXPECT_EQ(rs.CodeForLabel("Niet mee eens"), 2u);
  EXPECT_EQ(rs.CodeForLabel("strongly disagree"), 1u);
  EXPECT_EQ(rs.CodeForLabel("  Strongly   AGREE\t"), 4u);
  EXPECT_EQ(rs.CodeForLabel("helemaal\xC2\xA0mee eens"), 4u);  // no-break space
  EXPECT_EQ(rs.CodeForLabel("3"), 3u);
  EXPECT_EQ(rs.CodeForLabel(" 1 "), 1u);
  EXPECT_EQ(rs.CodeForLabel("5"), std::nullopt);
  EXPECT_EQ(rs.CodeForLabel("0"), std::nullopt);
  EXPECT_EQ(rs.CodeForLabel("-1"), std::nullopt);
  EXPECT_EQ(rs.CodeForLabel("3.0"), std::nullopt);
  EXPECT_EQ(rs.CodeForLabel(""), std::nullopt);
  EXPECT_EQ(rs.CodeForLabel("   "), std::nullopt);
  EXPECT_EQ(rs.CodeForLabel("eens"), std::nullopt);
  EXPECT_EQ(rs.CodeForLabel("strongly agree!"), std::nullopt);
}

TEST(RecodeTest, ReverseKeyedItemsFlipAndMissingStaysMissing) {
  const Instrument& inst = Instrument::BelongingV1();
  size_t q01 = *inst.ItemIndex("ST034Q01");  // negative, reverse-keyed
  size_t q02 = *inst.ItemIndex("ST034Q02");
  EXPECT_EQ(inst.Recode(q01, 1), 4u);
  EXPECT_EQ(inst.Recode(q01, 2), 3u);
  EXPECT_EQ(inst.Recode(q01, 3), 2u);
  EXPECT_EQ(inst.Recode(q01, 4), 1u);
  EXPECT_EQ(inst.Recode(q01, 0), 0u);
  EXPECT_EQ(inst.Recode(q01, 5), 0u);  // invalid counts as missing
  EXPECT_EQ(inst.Recode(q02, 1), 1u);
  EXPECT_EQ(inst.Recode(q02, 4), 4u);
  EXPECT_EQ(inst.Recode(q02, 0), 0u);
}

TEST(IsValidCodeTest, CodesOfTheItemsScaleAndZero) {
  const Instrument& inst = Instrument::BelongingV1();
  for (uint32_t code : {0u, 1u, 2u, 3u, 4u})
    EXPECT_TRUE(inst.IsValidCode(0, code));
  EXPECT_FALSE(inst.IsValidCode(0, 5));
  EXPECT_FALSE(inst.IsValidCode(inst.items().size(), 1));
}

TEST(LookupTest, UnknownIdsAreAbsent) {
  const Instrument& inst = Instrument::BelongingV1();
  EXPECT_EQ(inst.ItemIndex("ST034Q07"), std::nullopt);
  EXPECT_EQ(inst.ItemIndex("st034q01"), std::nullopt);  // ids are exact
  EXPECT_EQ(inst.ItemIndex("ST034Q01"), 0u);
  EXPECT_EQ(inst.FindScale("belong_total"), nullptr);
}

class ScaleScoreTest : public ::testing::Test {
 protected:
  const Instrument& inst_ = Instrument::BelongingV1();
  const Scale& perception_ = *inst_.FindScale("belong_perception");
  // All answers missing; fill in per test.
  std::vector<uint32_t> responses_ =
      std::vector<uint32_t>(inst_.items().size(), 0);
  void Set(std::string_view item, uint32_t code) {
    responses_[*inst_.ItemIndex(item)] = code;
  }
};

TEST_F(ScaleScoreTest, ReverseKeyingMakesHighMeanMoreBelonging) {
  // Strongly agree with every positive item, strongly disagree with every
  // negative one: maximal belonging.
  for (std::string_view id : {"ST034Q02", "ST034Q03", "ST034Q05"}) Set(id, 4);
  for (std::string_view id : {"ST034Q01", "ST034Q04", "ST034Q06"}) Set(id, 1);
  EXPECT_THAT(inst_.ScaleScore(perception_, responses_), Optional(DoubleEq(4)));
  // The opposite pupil.
  for (std::string_view id : {"ST034Q02", "ST034Q03", "ST034Q05"}) Set(id, 1);
  for (std::string_view id : {"ST034Q01", "ST034Q04", "ST034Q06"}) Set(id, 4);
  EXPECT_THAT(inst_.ScaleScore(perception_, responses_), Optional(DoubleEq(1)));
}

TEST_F(ScaleScoreTest, MeanOfRecodedAnsweredItems) {
  Set("ST034Q01", 2);  // -> 3
  Set("ST034Q02", 3);
  Set("ST034Q03", 4);
  Set("ST034Q04", 4);  // -> 1
  Set("ST034Q05", 0);  // missing
  Set("ST034Q06", 1);  // -> 4
  EXPECT_THAT(inst_.ScaleScore(perception_, responses_),
              Optional(DoubleEq((3.0 + 3 + 4 + 1 + 4) / 5)));
}

TEST_F(ScaleScoreTest, MinAnsweredBoundary) {
  ASSERT_EQ(perception_.min_answered, 4u);
  Set("ST034Q02", 3);
  Set("ST034Q03", 3);
  Set("ST034Q05", 4);
  EXPECT_EQ(inst_.ScaleScore(perception_, responses_), std::nullopt);  // 3
  Set("ST034Q01", 1);                                                  // -> 4
  EXPECT_THAT(inst_.ScaleScore(perception_, responses_),
              Optional(DoubleEq((3.0 + 3 + 4 + 4) / 4)));  // exactly 4
}

TEST_F(ScaleScoreTest, AllMissingHasNoScore) {
  for (const Scale& s : inst_.scales()) {
    EXPECT_EQ(inst_.ScaleScore(s, responses_), std::nullopt) << s.id;
  }
  EXPECT_EQ(inst_.ScaleScore(perception_, {}), std::nullopt);
}

TEST_F(ScaleScoreTest, InvalidCodesCountAsMissing) {
  for (std::string_view id : {"ST034Q02", "ST034Q03", "ST034Q05"}) Set(id, 4);
  Set("ST034Q01", 9);
  EXPECT_EQ(inst_.ScaleScore(perception_, responses_), std::nullopt);
  Set("ST034Q06", 1);
  EXPECT_THAT(inst_.ScaleScore(perception_, responses_), Optional(DoubleEq(4)));
}

TEST_F(ScaleScoreTest, ShortResponsesAreMissingAndForeignScalesHaveNoScore) {
  std::vector<uint32_t> short_responses = {4, 4, 4, 4};  // Q01..Q04 only
  EXPECT_THAT(inst_.ScaleScore(perception_, short_responses),
              Optional(DoubleEq((1.0 + 4 + 4 + 1) / 4)));
  Scale foreign = perception_;
  foreign.items.push_back("NOT_AN_ITEM");
  std::fill(responses_.begin(), responses_.end(), 3);
  EXPECT_EQ(inst_.ScaleScore(foreign, responses_), std::nullopt);
}

TEST_F(ScaleScoreTest, ProvisionalScalesScoreToo) {
  const Scale& motivation = *inst_.FindScale("belong_motivation");
  ASSERT_EQ(motivation.items.size(), 3u);
  Set("KB_MOT01", 4);
  EXPECT_EQ(inst_.ScaleScore(motivation, responses_), std::nullopt);
  Set("KB_MOT03", 4);  // reverse-keyed -> 1
  EXPECT_THAT(inst_.ScaleScore(motivation, responses_),
              Optional(DoubleEq(2.5)));
}

// --- Parse -----------------------------------------------------------------

TEST(ParseTest, ValidInstrument) {
  KRING_ASSERT_OK_AND_ASSIGN(Instrument inst, Instrument::Parse(kValid));
  EXPECT_EQ(inst.id(), "test-instrument");
  EXPECT_EQ(inst.version(), 2u);
  EXPECT_EQ(inst.title_nl(), "Testlijst");
  EXPECT_EQ(inst.title_en(), "Test list");
  ASSERT_EQ(inst.items().size(), 4u);
  EXPECT_FALSE(inst.items()[0].reverse_keyed);
  EXPECT_TRUE(inst.items()[1].reverse_keyed);
  EXPECT_FALSE(inst.provisional(0));
  EXPECT_TRUE(inst.provisional(2));
  EXPECT_EQ(inst.items()[3].component, Component::kOpportunities);
  EXPECT_EQ(inst.ResponseScaleOf(3).id, "yesno");
  EXPECT_EQ(inst.ResponseScaleOf(3).CodeForLabel("Yes"), 2u);
  ASSERT_EQ(inst.scales().size(), 1u);
  EXPECT_THAT(inst.scales()[0].items, ElementsAre("A1", "A2", "A3"));
  EXPECT_EQ(inst.scales()[0].min_answered, 2u);
  EXPECT_EQ(inst.scales()[0].name_nl, "Schaal");
}

TEST(ParseTest, BlockStyleOptionalFieldsAndNoScales) {
  constexpr std::string_view kBlock = R"(
id: blocks
version: 1
title:
  nl: Titel
  en: Title
response_scales:
  - id: yn
    options:
      - code: 1
        nl: nee
        en: "no"
      - code: 5
        nl: ja
        en: "yes"
items:
  - id: I1
    nl: |
      Een tekst
      over twee regels.
    en: One text.
    scale: yn
    component: motivation
scales: []
)";
  KRING_ASSERT_OK_AND_ASSIGN(Instrument inst, Instrument::Parse(kBlock));
  EXPECT_EQ(inst.items()[0].text_nl, "Een tekst\nover twee regels.");
  EXPECT_FALSE(inst.items()[0].reverse_keyed);
  EXPECT_FALSE(inst.provisional(0));
  EXPECT_TRUE(inst.scales().empty());
  EXPECT_EQ(inst.Recode(0, 5), 5u);
  EXPECT_FALSE(inst.IsValidCode(0, 3));
}

TEST(ParseTest, DuplicateItemId) {
  EXPECT_THAT(ParseStatus(Replace(kValid, "id: A2", "id: A1")),
              StatusIs(kInvalid, AllOf(HasSubstr("item \"A1\""),
                                       HasSubstr("duplicate item id"),
                                       HasSubstr("line 17,"))));
  EXPECT_THAT(ParseStatus(Replace(kValid, "id: A2", "id: a1")),
              StatusIs(kInvalid, HasSubstr("duplicate item id")));
}

TEST(ParseTest, ItemWithUnknownResponseScale) {
  EXPECT_THAT(
      ParseStatus(Replace(kValid, "scale: yesno", "scale: agree5")),
      StatusIs(kInvalid,
               AllOf(HasSubstr("item \"Y1\""), HasSubstr("agree5"),
                     HasSubstr("agree4, yesno"), HasSubstr("line 19,"))));
}

TEST(ParseTest, BadCodes) {
  EXPECT_THAT(
      ParseStatus(Replace(kValid, "code: 1, nl: nee", "code: 0, nl: nee")),
      StatusIs(kInvalid, AllOf(HasSubstr("response scale \"yesno\""),
                               HasSubstr("code 0 is reserved"))));
  EXPECT_THAT(ParseStatus(Replace(kValid, "code: 3", "code: 2")),
              StatusIs(kInvalid, AllOf(HasSubstr("agree4"),
                                       HasSubstr("strictly increasing"))));
  EXPECT_THAT(ParseStatus(Replace(kValid, "code: 3", "code: 1")),
              StatusIs(kInvalid, HasSubstr("strictly increasing")));
  EXPECT_THAT(ParseStatus(Replace(kValid, "code: 3", "code: -3")),
              StatusIs(kInvalid, HasSubstr("whole number")));
  EXPECT_THAT(ParseStatus(Replace(kValid, "code: 3", "code: 2.5")),
              StatusIs(kInvalid, HasSubstr("whole number")));
  EXPECT_THAT(ParseStatus(Replace(kValid, "code: 3", "code: 99999999999")),
              StatusIs(kInvalid, HasSubstr("whole number")));
}

TEST(ParseTest, MissingOrEmptyLabels) {
  EXPECT_THAT(ParseStatus(Replace(kValid, ", en: disagree}", "}")),
              StatusIs(kInvalid, AllOf(HasSubstr("option #2"),
                                       HasSubstr("missing field \"en\""),
                                       HasSubstr("English label"))));
  EXPECT_THAT(ParseStatus(Replace(kValid, "nl: ja,", "nl: \"  \",")),
              StatusIs(kInvalid, AllOf(HasSubstr("\"nl\" is empty"),
                                       HasSubstr("Dutch label"))));
  EXPECT_THAT(ParseStatus(Replace(kValid, "nl: ja,", "nl: ~,")),
              StatusIs(kInvalid, HasSubstr("Dutch label")));
  EXPECT_THAT(ParseStatus(Replace(kValid, "nl: drie, ", "")),
              StatusIs(kInvalid, AllOf(HasSubstr("item \"A3\""),
                                       HasSubstr("Dutch item text"))));
  EXPECT_THAT(ParseStatus(Replace(kValid, "en: Test list", "fr: Liste")),
              StatusIs(kInvalid, HasSubstr("unknown field \"fr\"")));
  EXPECT_THAT(ParseStatus(Replace(kValid, ", en: Scale", "")),
              StatusIs(kInvalid, AllOf(HasSubstr("scale \"s_a\""),
                                       HasSubstr("English scale name"))));
}

TEST(ParseTest, AmbiguousLabels) {
  EXPECT_THAT(ParseStatus(Replace(kValid, "en: agree}", "en: Disagree}")),
              StatusIs(kInvalid, AllOf(HasSubstr("also the label of code 2"),
                                       HasSubstr("own labels"))));
  EXPECT_THAT(ParseStatus(Replace(kValid, "nl: ja,", "nl: \"1\",")),
              StatusIs(kInvalid, HasSubstr("a number other than code 2")));
  // A number equal to its own code is fine.
  EXPECT_THAT(ParseStatus(Replace(kValid, "nl: ja,", "nl: \"2\",")), IsOk());
}

TEST(ParseTest, TooFewOptions) {
  EXPECT_THAT(ParseStatus(Replace(
                  kValid, "      - {code: 2, nl: ja, en: \"yes\"}\n", "")),
              StatusIs(kInvalid, AllOf(HasSubstr("yesno"),
                                       HasSubstr("at least 2 options"))));
  EXPECT_THAT(
      ParseStatus(
          Replace(kValid,
                  "    options:\n      - {code: 1, nl: nee, en: \"no\"}\n"
                  "      - {code: 2, nl: ja, en: \"yes\"}\n",
                  "    options: []\n")),
      StatusIs(kInvalid, AllOf(HasSubstr("yesno"), HasSubstr("empty list"))));
}

TEST(ParseTest, DuplicateResponseScaleId) {
  EXPECT_THAT(ParseStatus(Replace(kValid, "id: yesno", "id: agree4")),
              StatusIs(kInvalid, HasSubstr("duplicate response scale id")));
}

TEST(ParseTest, ScaleWithUnknownItem) {
  EXPECT_THAT(ParseStatus(Replace(kValid, "[A1, A2, A3]", "[A1, A2, A9]")),
              StatusIs(kInvalid, AllOf(HasSubstr("scale \"s_a\""),
                                       HasSubstr("item \"A9\" is not defined"),
                                       HasSubstr("line 21,"))));
}

TEST(ParseTest, ScaleWithRepeatedOrMixedItems) {
  EXPECT_THAT(ParseStatus(Replace(kValid, "[A1, A2, A3]", "[A1, A2, A1]")),
              StatusIs(kInvalid, HasSubstr("listed twice")));
  EXPECT_THAT(ParseStatus(Replace(kValid, "[A1, A2, A3]", "[A1, A2, Y1]")),
              StatusIs(kInvalid, AllOf(HasSubstr("yesno"),
                                       HasSubstr("one response scale"))));
  EXPECT_THAT(ParseStatus(Replace(kValid, "[A1, A2, A3]", "[]")),
              StatusIs(kInvalid, HasSubstr("empty list")));
  EXPECT_THAT(ParseStatus(Replace(kValid, "[A1, A2, A3]", "[A1, [A2]]")),
              StatusIs(kInvalid, HasSubstr("must be an item id")));
}

TEST(ParseTest, MinAnsweredOutOfRange) {
  EXPECT_THAT(
      ParseStatus(Replace(kValid, "min_answered: 2", "min_answered: 0")),
      StatusIs(kInvalid,
               AllOf(HasSubstr("scale \"s_a\""), HasSubstr("min_answered 0"),
                     HasSubstr("use 1..3"))));
  EXPECT_THAT(
      ParseStatus(Replace(kValid, "min_answered: 2", "min_answered: 4")),
      StatusIs(kInvalid, HasSubstr("use 1..3")));
  EXPECT_THAT(ParseStatus(Replace(kValid, ", min_answered: 2", "")),
              StatusIs(kInvalid, HasSubstr("missing field \"min_answered\"")));
  EXPECT_THAT(
      ParseStatus(Replace(kValid, "min_answered: 2", "min_answered: all")),
      StatusIs(kInvalid, HasSubstr("whole number")));
  EXPECT_THAT(
      ParseStatus(Replace(kValid, "min_answered: 2", "min_answered: 3")),
      IsOk());
}

TEST(ParseTest, MalformedYamlReportsTheLine) {
  EXPECT_THAT(ParseStatus(Replace(kValid, "[A1, A2, A3]", "[A1, A2, A3")),
              StatusIs(kInvalid, AllOf(HasSubstr("malformed YAML"),
                                       HasSubstr("line 21,"))));
  EXPECT_THAT(ParseStatus("id: x\nversion: 1\n  title: [\n"),
              StatusIs(kInvalid, AllOf(HasSubstr("malformed YAML"),
                                       HasSubstr("line 3,"))));
  EXPECT_THAT(
      ParseStatus(Replace(kValid, "title: {nl: Testlijst, en: Test list}",
                          "title: {nl: \"Testlijst, en: Test list}")),
      StatusIs(kInvalid, HasSubstr("malformed YAML")));
}

TEST(ParseTest, WrongTypes) {
  EXPECT_THAT(ParseStatus(Replace(kValid, "version: 2", "version: two")),
              StatusIs(kInvalid, AllOf(HasSubstr("\"version\""),
                                       HasSubstr("whole number >= 1"),
                                       HasSubstr("line 2,"))));
  EXPECT_THAT(ParseStatus(Replace(kValid, "version: 2", "version: 0")),
              StatusIs(kInvalid, HasSubstr("whole number >= 1")));
  EXPECT_THAT(ParseStatus(Replace(kValid, "reverse_keyed: true",
                                  "reverse_keyed: maybe")),
              StatusIs(kInvalid,
                       AllOf(HasSubstr("item \"A2\""),
                             HasSubstr("true or false"), HasSubstr("maybe"))));
  EXPECT_THAT(
      ParseStatus(Replace(kValid, "provisional: true", "provisional: [true]")),
      StatusIs(kInvalid,
               AllOf(HasSubstr("true or false"), HasSubstr("a list"))));
  EXPECT_THAT(
      ParseStatus(Replace(kValid, "title: {nl: Testlijst, en: Test list}",
                          "title: Testlijst")),
      StatusIs(kInvalid,
               AllOf(HasSubstr("title"), HasSubstr("expected a mapping"))));
  EXPECT_THAT(ParseStatus(Replace(kValid, "code: 3", "code: {x: 3}")),
              StatusIs(kInvalid, HasSubstr("whole number")));
  EXPECT_THAT(ParseStatus(Replace(kValid, "nl: een,", "nl: [een],")),
              StatusIs(kInvalid, AllOf(HasSubstr("item \"A1\""),
                                       HasSubstr("must be a text"))));
  EXPECT_THAT(ParseStatus("id: x\nversion: 1\ntitle: {nl: a, en: b}\n"
                          "response_scales: {id: a}\nitems: []\nscales: []\n"),
              StatusIs(kInvalid, HasSubstr("must be a list")));
  EXPECT_THAT(ParseStatus("- just\n- a list\n"),
              StatusIs(kInvalid, AllOf(HasSubstr("top level"),
                                       HasSubstr("expected a mapping"))));
  EXPECT_THAT(ParseStatus("just text"),
              StatusIs(kInvalid, HasSubstr("expected a mapping")));
  EXPECT_THAT(
      ParseStatus(Replace(kValid, "  - {id: A1,", "  - A1\n  - {id: A0,")),
      StatusIs(kInvalid,
               AllOf(HasSubstr("item #1"), HasSubstr("expected a mapping"))));
}

TEST(ParseTest, ScalesFieldMustBeAList) {
  std::string yaml(kValid.substr(0, kValid.find("\nscales:") + 1));
  EXPECT_THAT(ParseStatus(yaml + "scales: 3\n"),
              StatusIs(kInvalid, AllOf(HasSubstr("\"scales\" must be a list"),
                                       HasSubstr("use [] for none"))));
  EXPECT_THAT(ParseStatus(yaml),
              StatusIs(kInvalid, HasSubstr("missing field \"scales\"")));
}

TEST(ParseTest, UnknownOrRepeatedFields) {
  EXPECT_THAT(
      ParseStatus(Replace(kValid, "reverse_keyed: true", "reverse_keyd: true")),
      StatusIs(kInvalid, AllOf(HasSubstr("item #2"),
                               HasSubstr("unknown field \"reverse_keyd\""),
                               HasSubstr("reverse_keyed"))));
  EXPECT_THAT(
      ParseStatus(Replace(kValid, "version: 2", "version: 2\nversion: 3")),
      StatusIs(kInvalid, AllOf(HasSubstr("\"version\" appears twice"),
                               HasSubstr("line 3,"))));
}

TEST(ParseTest, UnknownComponent) {
  EXPECT_THAT(
      ParseStatus(
          Replace(kValid, "component: opportunities", "component: kansen")),
      StatusIs(kInvalid,
               AllOf(HasSubstr("item \"Y1\""), HasSubstr("\"kansen\""),
                     HasSubstr("competencies, opportunities, motivation, "
                               "perceptions"))));
  EXPECT_THAT(ParseStatus(Replace(kValid, "component: perceptions, items",
                                  "component: Perceptions, items")),
              StatusIs(kInvalid, HasSubstr("scale \"s_a\"")));
}

TEST(ParseTest, MissingTopLevelFields) {
  for (std::string_view field :
       {"id", "version", "title", "response_scales", "items", "scales"}) {
    std::string yaml;
    std::istringstream in{std::string(kValid)};
    bool skipping = false;
    for (std::string line; std::getline(in, line);) {
      bool top = !line.empty() && line[0] != ' ';
      if (top) skipping = line.rfind(std::string(field) + ":", 0) == 0;
      if (!skipping) yaml += line + "\n";
    }
    EXPECT_THAT(ParseStatus(yaml),
                StatusIs(kInvalid, HasSubstr("missing field \"" +
                                             std::string(field) + "\"")))
        << field;
  }
}

TEST(ParseTest, InvalidIds) {
  EXPECT_THAT(ParseStatus(Replace(kValid, "id: A1", "id: \"A 1\"")),
              StatusIs(kInvalid, AllOf(HasSubstr("item #1"),
                                       HasSubstr("letters, digits"))));
  EXPECT_THAT(ParseStatus(Replace(kValid, "id: A1", "id: _A1")),
              StatusIs(kInvalid, HasSubstr("starting with a letter or digit")));
  EXPECT_THAT(ParseStatus(Replace(kValid, "id: test-instrument",
                                  "id: " + std::string(65, 'x'))),
              StatusIs(kInvalid, HasSubstr("1 to 64")));
  EXPECT_THAT(ParseStatus(Replace(kValid, "id: test-instrument", "id: \"\"")),
              StatusIs(kInvalid, HasSubstr("\"id\" is empty")));
}

TEST(ParseTest, ScaleIdsAreUniqueAndDistinctFromItemIds) {
  EXPECT_THAT(ParseStatus(Replace(kValid, "id: s_a", "id: a2")),
              StatusIs(kInvalid, HasSubstr("already used by item \"A2\"")));
  std::string two = std::string(kValid) +
                    "  - {id: S_A, nl: x, en: y, component: perceptions, "
                    "items: [A1], min_answered: 1}\n";
  EXPECT_THAT(ParseStatus(two),
              StatusIs(kInvalid, AllOf(HasSubstr("scale \"S_A\""),
                                       HasSubstr("duplicate scale id"))));
}

TEST(ParseTest, EmptyAndOversizedInput) {
  EXPECT_THAT(ParseStatus(""), StatusIs(kInvalid, HasSubstr("empty")));
  EXPECT_THAT(ParseStatus("# only a comment\n"),
              StatusIs(kInvalid, HasSubstr("empty")));
  std::string huge = std::string(kValid) + "#" + std::string(1 << 20, 'x');
  EXPECT_THAT(ParseStatus(huge), StatusIs(kInvalid, HasSubstr("bytes")));
}

TEST(ParseTest, EveryPrefixFailsCleanlyOrParses) {
  // No exception may escape, whatever the input looks like.
  for (size_t n = 0; n < kValid.size(); ++n) {
    absl::Status s = ParseStatus(kValid.substr(0, n));
    if (!s.ok()) {
      EXPECT_EQ(s.code(), kInvalid) << n << ": " << s;
    }
  }
  for (std::string_view junk :
       {"{", "[", "\"", "&a [*a]", "*unknown", "!!binary x", "key: [a: b]",
        "? [a]\n: b", "\t- x", "%YAML 9.9\n---\na: b", "a: !!int x"}) {
    absl::Status s = ParseStatus(junk);
    EXPECT_THAT(s, StatusIs(kInvalid)) << junk;
  }
}

TEST(ParseTest, ErrorsDoNotNeedTheWholeFile) {
  // The message quotes the offending value only, cut to 40 bytes.
  absl::Status s = ParseStatus(
      Replace(kValid, "scale: yesno", "scale: " + std::string(200, 'q')));
  EXPECT_THAT(s, StatusIs(kInvalid, HasSubstr(std::string(40, 'q') + "\"...")));
  EXPECT_THAT(std::string(s.message()), Not(HasSubstr(std::string(41, 'q'))));
}

// --- LoadFile --------------------------------------------------------------

TEST(LoadFileTest, MissingFileIsNotFound) {
  EXPECT_THAT(Instrument::LoadFile("/nonexistent/kring/instrument.yaml"),
              StatusIs(absl::StatusCode::kNotFound,
                       AllOf(HasSubstr("/nonexistent/kring/instrument.yaml"),
                             HasSubstr("does not exist"))));
}

TEST(LoadFileTest, DirectoryIsRefused) {
  EXPECT_THAT(Instrument::LoadFile(::testing::TempDir()),
              StatusIs(kInvalid, HasSubstr("not a regular file")));
}

TEST(LoadFileTest, ReadsAFileAndPrefixesErrorsWithThePath) {
  std::filesystem::path dir =
      std::filesystem::path(::testing::TempDir()) / "kring_instrument_test";
  std::filesystem::create_directories(dir);
  std::filesystem::path good = dir / "good.yaml";
  std::filesystem::path bad = dir / "bad.yaml";
  std::ofstream(good, std::ios::binary) << kValid;
  std::ofstream(bad, std::ios::binary)
      << Replace(kValid, "min_answered: 2", "min_answered: 9");
  KRING_ASSERT_OK_AND_ASSIGN(Instrument inst, Instrument::LoadFile(good));
  EXPECT_EQ(inst.id(), "test-instrument");
  EXPECT_THAT(Instrument::LoadFile(bad),
              StatusIs(kInvalid, AllOf(HasSubstr(bad.string() + ": "),
                                       HasSubstr("line 21,"),
                                       HasSubstr("min_answered 9"))));
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace kring::survey
