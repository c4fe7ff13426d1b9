// How kring-node and kring-coordinator read their command lines: exit codes
// of wrong usage, --help, and the KRING_NODE_* environment variables.

#include <sys/wait.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace {

using ::testing::HasSubstr;
using ::testing::Not;

struct CliRun {
  int exit_code;
  std::string out;  // stdout and stderr
};

// Runs `cmd` with the shell, stderr into stdout.
CliRun Shell(const std::string& cmd) {
  FILE* p = popen((cmd + " 2>&1").c_str(), "r");
  std::string out;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
  int status = pclose(p);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, out};
}

class CliUsageTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl =
        (std::filesystem::temp_directory_path() / "kring-usage-XXXXXX")
            .string();
    dir_ = mkdtemp(tmpl.data());
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  // kring-node with `args` and `env` (VAR='value' ...) before it; no
  // --data-dir unless `args` has one.
  static CliRun Node(const std::string& env, const std::string& args) {
    return Shell(env + " " + KRING_NODE_BINARY + " " + args);
  }
  static CliRun Coordinator(const std::string& args) {
    return Shell(std::string(KRING_COORDINATOR_BINARY) + " " + args);
  }
  std::string Path(const std::string& name) { return (dir_ / name).string(); }

  std::filesystem::path dir_;
};

TEST_F(CliUsageTest, NodeUsageErrorsExit2AndHelpExits0) {
  EXPECT_EQ(Node("", "").exit_code, 2);
  EXPECT_EQ(Node("", "no-such-command").exit_code, 2);
  EXPECT_EQ(Node("", "readmit").exit_code, 2);  // --pupil is required
  EXPECT_EQ(Node("", "synth --out - --rows 0").exit_code, 2);
  CliRun erase = Node("", "erase --data-dir " + Path("d"));
  EXPECT_EQ(erase.exit_code, 2);
  EXPECT_THAT(erase.out, HasSubstr("give exactly one of --pupil or --wave"));

  CliRun help = Node("", "import --help");
  EXPECT_EQ(help.exit_code, 0);
  EXPECT_THAT(help.out, HasSubstr("KRING_NODE_DATA_DIR"));
  EXPECT_THAT(help.out, HasSubstr("--mapping"));
  CliRun verify = Node("", "audit verify --help");
  EXPECT_EQ(verify.exit_code, 0);
  EXPECT_THAT(verify.out, HasSubstr("reordered"));
}

TEST_F(CliUsageTest, CoordinatorUsageErrorsExit2AndHelpExits0) {
  EXPECT_EQ(Coordinator("").exit_code, 2);
  EXPECT_EQ(Coordinator("audit --bogus").exit_code, 2);
  EXPECT_EQ(Coordinator("add-user --id a --role king --public-key x").exit_code,
            2);
  CliRun help = Coordinator("--help");
  EXPECT_EQ(help.exit_code, 0);
  for (const char* cmd :
       {"init", "add-user", "enroll-code", "serve", "audit"}) {
    EXPECT_THAT(help.out, HasSubstr(cmd));
  }
  CliRun missing = Coordinator("audit --data-dir " + Path("none"));
  EXPECT_EQ(missing.exit_code, 1);
  EXPECT_THAT(missing.out, HasSubstr("kring-coordinator: "));
}

TEST_F(CliUsageTest, NodeDataDirComesFromTheEnvironmentUnlessGiven) {
  const std::string env =
      "KRING_NODE_PASSPHRASE='correct horse battery' "
      "KRING_NODE_DATA_DIR='" +
      Path("from-env") + "'";
  CliRun init = Node(env, "init");
  ASSERT_EQ(init.exit_code, 0) << init.out;
  EXPECT_THAT(init.out, HasSubstr(Path("from-env")));
  EXPECT_TRUE(std::filesystem::exists(Path("from-env")));

  CliRun flag = Node(env, "init --data-dir " + Path("from-flag"));
  ASSERT_EQ(flag.exit_code, 0) << flag.out;
  EXPECT_TRUE(std::filesystem::exists(Path("from-flag")));

  CliRun status = Node(env, "status");
  ASSERT_EQ(status.exit_code, 0) << status.out;
  EXPECT_THAT(status.out, HasSubstr(Path("from-env")));
  EXPECT_THAT(status.out, Not(HasSubstr(Path("from-flag"))));

  // --data-dir wins over the variable, before or after `verify`.
  const std::string nowhere =
      "KRING_NODE_PASSPHRASE='correct horse battery' "
      "KRING_NODE_DATA_DIR='" +
      Path("nowhere") + "'";
  EXPECT_NE(Node(nowhere, "audit verify").exit_code, 0);
  for (const std::string& args :
       {"audit verify --data-dir " + Path("from-flag"),
        "audit --data-dir " + Path("from-flag") + " verify"}) {
    CliRun verify = Node(nowhere, args);
    EXPECT_EQ(verify.exit_code, 0) << args << "\n" << verify.out;
    EXPECT_THAT(verify.out, HasSubstr("intact: 1 entry"));
  }
}

TEST_F(CliUsageTest, RotateKeyTakesTheNewPassphraseFromTheEnvironment) {
  const std::string dir = " --data-dir " + Path("d");
  const std::string old_pass = "KRING_NODE_PASSPHRASE='correct horse battery'";
  ASSERT_EQ(Node(old_pass, "init" + dir).exit_code, 0);

  CliRun short_pass =
      Node(old_pass + " KRING_NODE_NEW_PASSPHRASE='short'", "rotate-key" + dir);
  EXPECT_EQ(short_pass.exit_code, 1);
  EXPECT_THAT(short_pass.out, HasSubstr("at least 8 characters"));
  EXPECT_THAT(short_pass.out, HasSubstr("KRING_NODE_NEW_PASSPHRASE"));

  CliRun rotate = Node(old_pass + " KRING_NODE_NEW_PASSPHRASE='staple paper'",
                       "rotate-key" + dir);
  ASSERT_EQ(rotate.exit_code, 0) << rotate.out;
  EXPECT_THAT(rotate.out, HasSubstr("the new passphrase"));
  EXPECT_NE(Node(old_pass, "status" + dir).exit_code, 0);
  CliRun reopened =
      Node("KRING_NODE_PASSPHRASE='staple paper'", "audit verify" + dir);
  EXPECT_EQ(reopened.exit_code, 0) << reopened.out;
  EXPECT_THAT(reopened.out, HasSubstr("intact: 2 entries"));
}

}  // namespace
