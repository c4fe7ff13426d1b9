#include "cli/run.h"

#include <vector>

#include "cli/support.h"
#include "gtest/gtest.h"

namespace kring::cli {
namespace {

// An app with one subcommand, `greet --times N`, whose callback chooses a
// command that returns N.
class ParseAndRunTest : public ::testing::Test {
 protected:
  ParseAndRunTest() {
    app_.require_subcommand(1);
    auto* greet = app_.add_subcommand("greet", "Says hello.");
    greet->add_option("--times", times_, "How often")->required();
    greet->callback([this] { chosen_ = [this] { return times_; }; });
  }

  int Run(std::vector<const char*> args) {
    args.insert(args.begin(), "prog");
    return ParseAndRun(app_, static_cast<int>(args.size()), args.data(),
                       chosen_);
  }

  CLI::App app_{"A test program.", "prog"};
  Command chosen_;
  int times_ = 0;
};

TEST_F(ParseAndRunTest, RunsTheChosenCommand) {
  EXPECT_EQ(Run({"greet", "--times", "7"}), 7);
}

TEST_F(ParseAndRunTest, HelpIsOk) {
  testing::internal::CaptureStdout();
  EXPECT_EQ(Run({"--help"}), kExitOk);
  EXPECT_NE(testing::internal::GetCapturedStdout().find("greet"),
            std::string::npos);
  testing::internal::CaptureStdout();
  EXPECT_EQ(Run({"greet", "--help"}), kExitOk);
  EXPECT_NE(testing::internal::GetCapturedStdout().find("--times"),
            std::string::npos);
}

TEST_F(ParseAndRunTest, ParseErrorsAreUsage) {
  testing::internal::CaptureStderr();
  EXPECT_EQ(Run({}), kExitUsage);                         // no subcommand
  EXPECT_EQ(Run({"greet"}), kExitUsage);                  // missing flag
  EXPECT_EQ(Run({"greet", "--times", "x"}), kExitUsage);  // not a number
  EXPECT_EQ(Run({"greet", "--times", "1", "--bogus"}), kExitUsage);
  EXPECT_NE(testing::internal::GetCapturedStderr().find("--bogus"),
            std::string::npos);
}

TEST(ParseAndRunNoCommandTest, NothingChosenIsUsage) {
  CLI::App app{"No subcommand required.", "prog"};
  Command chosen;
  const char* args[] = {"prog"};
  EXPECT_EQ(ParseAndRun(app, 1, args, chosen), kExitUsage);
}

}  // namespace
}  // namespace kring::cli
