#include "cli/support.h"

#include <cstdlib>

#include "gtest/gtest.h"

namespace kring::cli {
namespace {

TEST(OneLineTest, ReplacesControlCharactersOnly) {
  EXPECT_EQ(OneLine("a\nb\tc\x7f"
                    "d"),
            "a?b?c?d");
  EXPECT_EQ(OneLine("Zoë – ok"), "Zoë – ok");
  EXPECT_EQ(OneLine(""), "");
}

// Issue 12, item 8: file contents in messages never reach the terminal as
// escape sequences, in either encoding of CSI.
TEST(OneLineTest, ReplacesEscapeSequencesAndC1Controls) {
  EXPECT_EQ(OneLine("\x1b[2J\x1b]0;t\x07x"), "?[2J?]0;t?x");
  EXPECT_EQ(OneLine("a\xc2\x9b"
                    "31mb\xc2\x85"),
            "a?31mb?");
  EXPECT_EQ(OneLine("\xc2\xa0\xc2"), "\xc2\xa0\xc2");  // NBSP stays
}

TEST(TimeTest, UtcTimestamp) {
  EXPECT_EQ(UtcTimestamp(0), "1970-01-01T00:00:00Z");
  EXPECT_EQ(UtcTimestamp(1773476700123), "2026-03-14T08:25:00Z");
}

TEST(TimeTest, LocalTimesInUtcZone) {
  ::setenv("TZ", "UTC", 1);
  ::tzset();
  EXPECT_EQ(LocalMinute(0), "never");
  EXPECT_EQ(LocalMinute(-5), "never");
  EXPECT_EQ(LocalMinute(1773476700123), "2026-03-14 08:25");
  EXPECT_EQ(LocalTimestamp(1773476700), "2026-03-14T08:25:00+00:00");
}

TEST(ExitTest, CodesAndReturnValues) {
  EXPECT_EQ(kExitOk, 0);
  EXPECT_EQ(Fail("kring", absl::NotFoundError("gone")), kExitFailed);
  EXPECT_EQ(kExitFailed, 1);
  EXPECT_EQ(Usage("kring", "wrong"), kExitUsage);
  EXPECT_EQ(kExitUsage, 2);
}

TEST(GetEnvTest, UnsetAndEmptyAreAbsent) {
  ::unsetenv("KRING_CLI_TEST_VAR");
  EXPECT_FALSE(GetEnv("KRING_CLI_TEST_VAR").has_value());
  ::setenv("KRING_CLI_TEST_VAR", "", 1);
  EXPECT_FALSE(GetEnv("KRING_CLI_TEST_VAR").has_value());
  ::setenv("KRING_CLI_TEST_VAR", "x y", 1);
  EXPECT_EQ(GetEnv("KRING_CLI_TEST_VAR"), "x y");
  ::unsetenv("KRING_CLI_TEST_VAR");
}

}  // namespace
}  // namespace kring::cli
