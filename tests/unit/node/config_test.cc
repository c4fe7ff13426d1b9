// node.yaml: every value checked, errors with the line and what to do.

#include "node/config.h"

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"

namespace kring::node {
namespace {

using ::kring::testing::StatusIs;
using ::testing::AllOf;
using ::testing::HasSubstr;

const std::string& Key(int i) {
  static const std::string keys[] = {
      crypto::IdentityKeyPair::Generate().public_key().ToText(),
      crypto::IdentityKeyPair::Generate().public_key().ToText()};
  return keys[i];
}

// A valid node.yaml; each case below changes one line of it.
constexpr char kValid[] = R"(coordinator: 127.0.0.1:7443
insecure_loopback: true
school_id: 00AA-abc
municipality: GM0363
approvers:
  required: 1
  keys:
    - KEY0
    - KEY1
policy:
  statistics: [count, mean]
  requester_roles: [researcher, municipality]
)";

// `text` with every `from` replaced by `to`.
std::string ReplaceAll(std::string text, const std::string& from,
                       const std::string& to) {
  for (size_t at = text.find(from); at != std::string::npos;
       at = text.find(from, at + to.size())) {
    text.replace(at, from.size(), to);
  }
  return text;
}

std::string Yaml(const std::string& text) {
  return ReplaceAll(ReplaceAll(text, "KEY0", Key(0)), "KEY1", Key(1));
}

std::string Replace(const std::string& from, const std::string& to) {
  return Yaml(ReplaceAll(kValid, from, to));
}

TEST(NodeConfigTest, ValidFileParsesAndRoundTrips) {
  KRING_ASSERT_OK_AND_ASSIGN(NodeConfig c,
                             NodeConfig::Parse(Yaml(kValid), "node.yaml"));
  EXPECT_EQ(c.school_id, "00AA-abc");
  EXPECT_EQ(c.approvers.size(), 2u);
  EXPECT_EQ(c.policy.statistics, (std::vector<std::string>{"count", "mean"}));
  KRING_EXPECT_OK(c.Validate());
  KRING_ASSERT_OK_AND_ASSIGN(NodeConfig back,
                             NodeConfig::Parse(c.ToYaml(), "node.yaml"));
  EXPECT_EQ(back.ToYaml(), c.ToYaml());
}

// Failover: `coordinator:` as a list gives the agent every address, in
// order; each must pass the transport policy.
TEST(NodeConfigTest, CoordinatorListGivesEveryAddress) {
  KRING_ASSERT_OK_AND_ASSIGN(
      NodeConfig c,
      NodeConfig::Parse(
          Replace("coordinator: 127.0.0.1:7443",
                  "coordinator: [127.0.0.1:7443, 127.0.0.2:7444]"),
          "node.yaml"));
  EXPECT_EQ(c.coordinator, "127.0.0.1:7443");
  EXPECT_THAT(c.standby_coordinators, ::testing::ElementsAre("127.0.0.2:7444"));
  const auto all = NodeChannelOptionsAll(c, "/data");
  ASSERT_EQ(all.size(), 2u);
  EXPECT_EQ(all[1].address, "127.0.0.2:7444");
  KRING_ASSERT_OK_AND_ASSIGN(NodeConfig back,
                             NodeConfig::Parse(c.ToYaml(), "node.yaml"));
  EXPECT_THAT(back.standby_coordinators,
              ::testing::ElementsAre("127.0.0.2:7444"));
  // Plaintext to a standby that is not on loopback is refused.
  EXPECT_THAT(NodeConfig::Parse(
                  Replace("coordinator: 127.0.0.1:7443",
                          "coordinator: [127.0.0.1:7443, b.example:7443]"),
                  "node.yaml"),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(NodeConfig::Parse(
                  Replace("coordinator: 127.0.0.1:7443", "coordinator: []"),
                  "node.yaml"),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST(NodeConfigTest, RoundTripAndLineNumberedErrors) {
  const crypto::IdentityKeyPair approver = crypto::IdentityKeyPair::Generate();
  NodeConfig config;
  config.school_id = "00AA-abc";
  config.insecure_loopback = true;
  config.approvers.push_back(approver.public_key());
  KRING_ASSERT_OK_AND_ASSIGN(NodeConfig back,
                             NodeConfig::Parse(config.ToYaml(), "node.yaml"));
  EXPECT_EQ(back.school_id, "00AA-abc");
  ASSERT_EQ(back.approvers.size(), 1u);
  EXPECT_EQ(back.approvers[0], approver.public_key());
  EXPECT_THAT(
      NodeConfig::Parse("school_id: x\ninsecure_loopback: true\n"
                        "policy:\n  min_schools: many\n",
                        "node.yaml"),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("node.yaml:4")));
  EXPECT_THAT(NodeConfig::Parse("school_id: x\ninsecure_loopback: true\n"
                                "colour: blue\n",
                                "node.yaml"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("node.yaml:3: unknown setting `colour`")));
  EXPECT_THAT(NodeConfig::Parse("school_id: x\ninsecure_loopback: true\n"
                                "policy: {min_respondents: 5}\n",
                                "node.yaml"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("below kring's minimum")));
  EXPECT_THAT(
      NodeConfig::Parse("school_id: x\n", "node.yaml"),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("tls_ca")));
}

TEST(NodeConfigTest, DefaultStatisticsAreKringsStatistics) {
  const std::vector<std::string> all = AllStatisticNames();
  EXPECT_THAT(all, ::testing::Contains("mean"));
  EXPECT_THAT(all, ::testing::Contains("regression"));
  EXPECT_THAT(all, ::testing::Not(::testing::Contains("trend")));
  EXPECT_EQ(NodePolicy().statistics, all);
}

struct BadCase {
  std::string name;
  std::string from, to;  // the change to kValid
  std::string line;      // "node.yaml:6:"
  std::string fix;       // part of what the message says to do
};
// Prints the case's name, so ctest lists readable test names.
void PrintTo(const BadCase& c, std::ostream* os) { *os << c.name; }

class NodeConfigRefusesTest : public ::testing::TestWithParam<BadCase> {};

TEST_P(NodeConfigRefusesTest, NamesTheLineAndTheFix) {
  const BadCase& c = GetParam();
  const std::string yaml = Replace(c.from, c.to);
  ASSERT_NE(yaml, Yaml(kValid)) << "the case changes nothing";
  EXPECT_THAT(NodeConfig::Parse(yaml, "node.yaml"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       AllOf(HasSubstr(c.line), HasSubstr(c.fix))));
}

INSTANTIATE_TEST_SUITE_P(
    BadValues, NodeConfigRefusesTest,
    ::testing::Values(
        BadCase{"RequiredZero", "required: 1", "required: 0",
                "node.yaml:6:", "at least 1"},
        BadCase{"RequiredAboveKeys", "required: 1", "required: 3",
                "node.yaml:6:", "add keys or lower required"},
        BadCase{"NoKeys", "  keys:\n    - KEY0\n    - KEY1\n", "  keys: []\n",
                "node.yaml:7:", "add the public key"},
        BadCase{"UnknownStatistic", "[count, mean]", "[count, median]",
                "node.yaml:11:", "unknown statistic `median`; use some of"},
        BadCase{"TrendIsNoPolicyStatistic", "[count, mean]", "[trend]",
                "node.yaml:11:", "unknown statistic `trend`"},
        BadCase{"UnknownRole", "[researcher, municipality]",
                "[researcher, journalist]",
                "node.yaml:12:", "unknown role `journalist`; use researcher"},
        BadCase{"DuplicatedKey", "    - KEY1\n", "    - KEY0\n",
                "node.yaml:9:", "remove the copy"},
        BadCase{"PlaintextToAnotherMachine", "coordinator: 127.0.0.1:7443",
                "coordinator: coordinator.example.nl:7443",
                "node.yaml:2:", "use TLS"},
        BadCase{"EmptyCoordinator", "coordinator: 127.0.0.1:7443",
                "coordinator: \"\"", "node.yaml:1:", "give coordinator"},
        BadCase{"PlaintextAndCa", "insecure_loopback: true",
                "insecure_loopback: true\ntls_ca: ca.pem",
                "node.yaml:2:", "give one of them"},
        BadCase{"ThresholdBelowMinimum", "policy:\n",
                "policy:\n  min_schools: 2\n",
                "node.yaml:11:", "below kring's minimum"},
        BadCase{"NoPrivacyBudget", "policy:\n",
                "policy:\n  privacy_budget_per_wave: 0\n",
                "node.yaml:11:", "must be a number above 0"},
        BadCase{"QueryLimitAboveBudget", "policy:\n",
                "policy:\n  max_rho_per_query: 2\n",
                "node.yaml:11:", "larger than policy.privacy_budget_per_wave"},
        BadCase{"NonFiniteRho", "policy:\n",
                "policy:\n  max_rho_per_query: .nan\n",
                "node.yaml:11:", "must be a number above 0"},
        BadCase{"UnknownSetting", "school_id:", "colour: blue\nschool_id:",
                "node.yaml:3:", "unknown setting `colour`"},
        BadCase{"NotAKey", "    - KEY1\n", "    - not-a-key\n",
                "node.yaml:9:", "not a public key"}),
    [](const ::testing::TestParamInfo<BadCase>& info) {
      return info.param.name;
    });

TEST(NodeConfigTest, ValidateChecksAConfigurationBuiltInCode) {
  NodeConfig c;
  c.school_id = "00AA-abc";
  c.insecure_loopback = true;
  EXPECT_THAT(c.Validate(), StatusIs(absl::StatusCode::kInvalidArgument,
                                     HasSubstr("add the public key")));
  c.approvers.push_back(crypto::IdentityKeyPair::Generate().public_key());
  KRING_EXPECT_OK(c.Validate());
  c.approvals_required = 0;
  EXPECT_THAT(c.Validate(), StatusIs(absl::StatusCode::kInvalidArgument,
                                     HasSubstr("approvers.required")));
  c.approvals_required = 1;
  c.policy.requester_roles = {"mayor"};
  EXPECT_THAT(c.Validate(), StatusIs(absl::StatusCode::kInvalidArgument,
                                     HasSubstr("unknown role `mayor`")));
}

TEST(NodeConfigTest, LoadRefusesAnUnreadableCaFile) {
  std::string tmpl =
      (std::filesystem::temp_directory_path() / "kring-config-XXXXXX").string();
  const std::filesystem::path dir = mkdtemp(tmpl.data());
  const std::string yaml =
      Replace("insecure_loopback: true", "tls_ca: missing-ca.pem");
  std::ofstream(dir / "node.yaml") << yaml;
  EXPECT_THAT(NodeConfig::Load(dir / "node.yaml"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       AllOf(HasSubstr("node.yaml:2: cannot read tls_ca"),
                             HasSubstr("missing-ca.pem"),
                             HasSubstr("check its permissions"))));
  // Relative to the data directory: there it is found.
  std::ofstream(dir / "missing-ca.pem") << "-----BEGIN CERTIFICATE-----\n";
  KRING_EXPECT_OK(NodeConfig::Load(dir / "node.yaml"));
  EXPECT_THAT(NodeConfig::Load(dir / "absent.yaml"),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr("enroll")));
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace kring::node
