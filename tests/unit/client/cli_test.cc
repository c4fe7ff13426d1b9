// Runs the real kring binary the way researchers, approvers and admins
// would, against an in-process coordinator on loopback.

#include <sys/stat.h>
#include <sys/wait.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "api/limits.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "query/spec.h"
#include "tests/unit/client/test_coordinator.h"

namespace kring::client {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

struct CliRun {
  int exit_code;
  std::string out;  // stdout
  std::string err;  // stderr
};

class KringCliTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(c_.ok()); }

  // Runs `kring` signed in as `user` ("" for no user and key).
  CliRun Kring(const std::string& user, const std::string& args) {
    const std::string err_file = (c_.dir() / "stderr.txt").string();
    std::string cmd =
        "env -u KRING_USER -u KRING_KEY -u KRING_CA "
        "KRING_COORDINATOR=" +
        c_.address() + " " + KRING_BINARY + " --insecure-loopback";
    if (!user.empty()) {
      cmd += " --user " + user + " --key " + c_.key_file(user);
    }
    cmd += " " + args + " </dev/null 2>" + err_file;
    FILE* p = popen(cmd.c_str(), "r");
    std::string out;
    char buf[4096];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
    const int status = pclose(p);
    std::ifstream in(err_file);
    std::stringstream err;
    err << in.rdbuf();
    return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, out, err.str()};
  }
  std::string Path(const std::string& name) {
    return (c_.dir() / name).string();
  }
  std::string SpecFile() {
    return std::string(KRING_SOURCE_DIR) +
           "/docs/queries/mean-scales-by-track.json";
  }

  testing::TestCoordinator c_;
};

TEST_F(KringCliTest, HelpAndUsage) {
  CliRun help = Kring("", "--help");
  EXPECT_EQ(help.exit_code, 0);
  EXPECT_THAT(help.out, HasSubstr("query"));
  EXPECT_THAT(help.out, HasSubstr("Exit codes"));
  EXPECT_EQ(Kring("", "").exit_code, 2);
  EXPECT_EQ(Kring("", "query frobnicate").exit_code, 2);
  EXPECT_EQ(Kring("", "results").exit_code, 2);  // no id
  CliRun nouser = Kring("", "query list");
  EXPECT_EQ(nouser.exit_code, 2);
  EXPECT_THAT(nouser.err, HasSubstr("KRING_USER"));
}

TEST_F(KringCliTest, PlaintextToAnotherHostIsRefused) {
  CliRun r = Kring("admin", "--coordinator 192.0.2.1:7443 admin nodes");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.err, HasSubstr("--insecure-loopback refuses 192.0.2.1:7443"));
}

TEST_F(KringCliTest, KeygenAndAddUser) {
  const std::string key = Path("alice.key");
  CliRun gen = Kring("", "keygen --out " + key);
  ASSERT_EQ(gen.exit_code, 0) << gen.err;
  EXPECT_THAT(gen.out, HasSubstr("kring-ed25519-public-v1:"));
  struct stat st {};
  ASSERT_EQ(stat(key.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  ASSERT_TRUE(std::filesystem::exists(key + ".pub"));
  // Never overwrites a key.
  EXPECT_EQ(Kring("", "keygen --out " + key).exit_code, 1);

  CliRun add = Kring("admin",
                     "admin add-user --id alice --role researcher "
                     "--public-key " +
                         key + ".pub");
  ASSERT_EQ(add.exit_code, 0) << add.err;
  EXPECT_THAT(add.out, HasSubstr("Registered alice as researcher"));
  // A municipality user needs its municipalities.
  EXPECT_EQ(Kring("admin",
                  "admin add-user --id bob --role municipality "
                  "--public-key " +
                      key + ".pub")
                .exit_code,
            2);
  // Only admins may add users: the coordinator's message.
  CliRun denied = Kring("researcher",
                        "admin add-user --id carol --role admin "
                        "--public-key " +
                            key + ".pub");
  EXPECT_EQ(denied.exit_code, 1);
  EXPECT_THAT(denied.err, HasSubstr("kring: "));
}

TEST_F(KringCliTest, SubmitApproveWait) {
  // A spec with a typo is refused before anything is sent.
  const std::string bad = Path("bad.json");
  std::ofstream(bad)
      << R"({"statistic": "mean", "measures": ["belong_perception"], "grup_by": ["track"]})";
  CliRun refused = Kring("researcher", "query submit " + bad);
  EXPECT_EQ(refused.exit_code, 1);
  EXPECT_THAT(refused.err, HasSubstr("group_by"));

  CliRun submit = Kring("researcher", "query submit --json " + SpecFile());
  ASSERT_EQ(submit.exit_code, 0) << submit.err;
  auto j = nlohmann::json::parse(submit.out);
  const std::string id = j["id"];
  EXPECT_EQ(j["state"], "awaiting_approval");
  EXPECT_EQ(j["approvals"]["required"], 1);

  CliRun list = Kring("approver", "query list");
  ASSERT_EQ(list.exit_code, 0) << list.err;
  EXPECT_THAT(list.out, HasSubstr(id));
  EXPECT_THAT(list.out, HasSubstr("awaiting approval"));

  // A researcher cannot approve.
  EXPECT_EQ(Kring("researcher", "query approve --yes " + id).exit_code, 1);

  CliRun approve = Kring("approver", "query approve " + id);
  ASSERT_EQ(approve.exit_code, 0) << approve.err;
  EXPECT_THAT(approve.out, HasSubstr("Approved " + id + " (1 of 1"));

  // No school is enrolled, so the run fails; wait says why and exits 1.
  CliRun wait = Kring("researcher", "wait --timeout 30 " + id);
  EXPECT_EQ(wait.exit_code, 1) << wait.out << wait.err;
  EXPECT_THAT(wait.err, HasSubstr("failed"));

  CliRun show = Kring("researcher", "query show --json " + id);
  ASSERT_EQ(show.exit_code, 0) << show.err;
  EXPECT_EQ(nlohmann::json::parse(show.out)["state"], "failed");

  CliRun results = Kring("researcher", "results " + id);
  EXPECT_EQ(results.exit_code, 1);
  EXPECT_THAT(results.err, HasSubstr("kring: "));
}

TEST_F(KringCliTest, Reject) {
  CliRun submit = Kring("researcher", "query submit --json " + SpecFile());
  ASSERT_EQ(submit.exit_code, 0) << submit.err;
  const std::string id = nlohmann::json::parse(submit.out)["id"];
  CliRun reject =
      Kring("approver", "query reject " + id + " --reason 'too broad'");
  ASSERT_EQ(reject.exit_code, 0) << reject.err;
  CliRun wait = Kring("researcher", "wait " + id);
  EXPECT_EQ(wait.exit_code, 1);
  EXPECT_THAT(wait.err, HasSubstr("too broad"));
  CliRun show = Kring("researcher", "query show " + id);
  EXPECT_THAT(show.out, HasSubstr("rejected"));
  EXPECT_THAT(show.out, HasSubstr("too broad"));
}

TEST_F(KringCliTest, AdminEnrollNodesGrant) {
  CliRun code = Kring("admin",
                      "admin enroll-code --json --brin 00AA "
                      "--name 'De Regenboog' --municipality GM0363");
  ASSERT_EQ(code.exit_code, 0) << code.err;
  EXPECT_FALSE(
      nlohmann::json::parse(code.out)["code"].get<std::string>().empty());
  CliRun nodes = Kring("admin", "admin nodes --json");
  ASSERT_EQ(nodes.exit_code, 0) << nodes.err;
  EXPECT_TRUE(nlohmann::json::parse(nodes.out).is_array());

  CliRun submit = Kring("researcher", "query submit --json " + SpecFile());
  ASSERT_EQ(submit.exit_code, 0) << submit.err;
  const std::string id = nlohmann::json::parse(submit.out)["id"];
  // Before the grant the approver may see the query but not its result.
  CliRun before = Kring("approver", "results " + id);
  EXPECT_EQ(before.exit_code, 1);
  EXPECT_THAT(before.err, HasSubstr("released to its requester only"));
  CliRun grant =
      Kring("admin", "admin grant --query " + id + " --user approver");
  EXPECT_EQ(grant.exit_code, 0) << grant.err;
  EXPECT_THAT(grant.out, Not(HasSubstr("kring:")));
  // After it, the approver gets past the access check: the only thing
  // missing is the release itself (no school takes part here; fetching a
  // granted, released result is
  // FlowTest.KringWaitsForTheReleaseAndShowsTheResults).
  CliRun after = Kring("approver", "results " + id);
  EXPECT_EQ(after.exit_code, 1);
  EXPECT_THAT(after.err, Not(HasSubstr("requester only")));
  EXPECT_THAT(after.err, HasSubstr("has no result"));
  // Only admins grant.
  CliRun denied =
      Kring("researcher", "admin grant --query " + id + " --user approver");
  EXPECT_EQ(denied.exit_code, 1);
}

// A link that takes every message and drops it.
class DiscardingLink final : public coordinator::NodeLink {
 public:
  bool Send(const v1::CoordinatorToNode&) override { return true; }
};

TEST_F(KringCliTest, AdminNodesShowsEachSchoolsLastEvent) {
  coordinator::School s;
  s.brin = "00AA";
  s.name = "De Regenboog";
  s.municipality = "GM0363";
  auto code = c_.engine().NewEnrollmentCode(s);
  ASSERT_TRUE(code.ok()) << code.status();
  v1::EnrollRequest r;
  r.set_code(code->code());
  r.set_identity_public_key(
      std::string(crypto::IdentityKeyPair::Generate().public_key().bytes()));
  auto school = c_.engine().Enroll(r);
  ASSERT_TRUE(school.ok()) << school.status();
  auto link = std::make_shared<DiscardingLink>();
  ASSERT_TRUE(c_.engine().Connected(school->school_id(), link).ok());
  EXPECT_FALSE(
      c_.engine().Connected(school->school_id(), link).ok());  // refused
  c_.engine().Disconnected(school->school_id(), link.get());

  CliRun table = Kring("admin", "admin nodes");
  ASSERT_EQ(table.exit_code, 0) << table.err;
  EXPECT_THAT(table.out, HasSubstr("LAST EVENT"));
  EXPECT_THAT(table.out, HasSubstr("disconnected"));
  CliRun json = Kring("admin", "admin nodes --json");
  ASSERT_EQ(json.exit_code, 0) << json.err;
  const auto events = nlohmann::json::parse(json.out)[0]["events"];
  ASSERT_EQ(events.size(), 2u);
  EXPECT_THAT(events[0]["what"].get<std::string>(),
              HasSubstr("refused a second connection"));
  EXPECT_EQ(events[1]["what"], "disconnected");
}

TEST_F(KringCliTest, ListFollowsEveryPage) {
  // Enough queries with the longest purpose for several 1 MiB pages.
  std::ifstream in(SpecFile());
  std::stringstream text;
  text << in.rdbuf();
  auto spec = query::ParseQuerySpecJson(text.str());
  ASSERT_TRUE(spec.ok()) << spec.status();
  spec->set_purpose(std::string(api::kMaxPurposeBytes, 'p'));
  auto user = c_.engine().db().GetUser("researcher");
  ASSERT_TRUE(user.ok()) << user.status();
  const int n = 2 * api::kListPageBytes / (2 * api::kMaxPurposeBytes) + 20;
  for (int i = 0; i < n; ++i) {
    ASSERT_TRUE(c_.engine().Submit(*user, *spec).ok());
  }
  CliRun list = Kring("researcher", "query list --json");
  ASSERT_EQ(list.exit_code, 0) << list.err;
  EXPECT_EQ(nlohmann::json::parse(list.out).size(), static_cast<size_t>(n));
}

}  // namespace
}  // namespace kring::client
