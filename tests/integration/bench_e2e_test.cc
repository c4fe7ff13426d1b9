// kring-bench e2e against real processes: kring-coordinator-bench and the
// benchmark's node processes release the same result with secure
// aggregation and with the plaintext sum; the plaintext switch exists only
// in the benchmark build of the coordinator; a missing build is named.

#include <sys/wait.h>

#include <cstdio>
#include <filesystem>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"

namespace {

using ::testing::HasSubstr;
using ::testing::Not;

struct CliRun {
  int exit_code;
  std::string out;  // stdout, and stderr unless `stderr_too` is false
};

// Runs `cmd` with the shell.
CliRun Shell(const std::string& cmd, bool stderr_too = true) {
  FILE* p = popen((cmd + (stderr_too ? " 2>&1" : "")).c_str(), "r");
  std::string out;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
  int status = pclose(p);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, out};
}

TEST(BenchE2eTest, SecureAndPlaintextRunsReleaseTheSameResult) {
  CliRun r =
      Shell(std::string(KRING_BENCH_BINARY) + " e2e --nodes 3 --repetitions 1",
            /*stderr_too=*/false);
  ASSERT_EQ(r.exit_code, 0) << r.out;
  const nlohmann::json j = nlohmann::json::parse(r.out, nullptr, false);
  ASSERT_FALSE(j.is_discarded()) << r.out;
  ASSERT_FALSE(j.contains("error")) << j.dump(2);
  EXPECT_EQ(j["nodes"], 3);
  EXPECT_EQ(j["results_identical"], true) << j.dump(2);
  EXPECT_GT(j["secure_ms_median"].get<double>(), 0);
  EXPECT_GT(j["plaintext_ms_median"].get<double>(), 0);
}

TEST(BenchE2eTest, NamesAMissingCoordinatorBuild) {
  std::string tmpl =
      (std::filesystem::temp_directory_path() / "kring-bench-XXXXXX").string();
  const std::filesystem::path dir = mkdtemp(tmpl.data());
  // kring-bench alone, without kring-coordinator-bench next to it.
  std::filesystem::copy_file(KRING_BENCH_BINARY, dir / "kring-bench");
  std::filesystem::permissions(dir / "kring-bench",
                               std::filesystem::perms::owner_all);
  CliRun r = Shell((dir / "kring-bench").string() + " e2e --nodes 3",
                   /*stderr_too=*/false);
  std::filesystem::remove_all(dir);
  const nlohmann::json j = nlohmann::json::parse(r.out, nullptr, false);
  ASSERT_FALSE(j.is_discarded()) << r.out;
  ASSERT_TRUE(j.contains("error")) << j.dump(2);
  EXPECT_THAT(j["error"].get<std::string>(),
              HasSubstr("kring-coordinator-bench not found"));
}

TEST(BenchE2eTest, OnlyTheBenchBuildOfTheCoordinatorServesPlaintextRuns) {
  CliRun shipped =
      Shell(std::string(KRING_COORDINATOR_BINARY) + " serve --help");
  EXPECT_EQ(shipped.exit_code, 0);
  EXPECT_THAT(shipped.out, Not(HasSubstr("plaintext sum")));
  EXPECT_THAT(shipped.out, Not(HasSubstr("--benchmark-plaintext")));
  EXPECT_EQ(Shell(std::string(KRING_COORDINATOR_BINARY) +
                  " serve --benchmark-plaintext")
                .exit_code,
            2);

  CliRun bench = Shell(std::string(KRING_COORDINATOR_BENCH_BINARY) + " --help");
  EXPECT_EQ(bench.exit_code, 0);
  EXPECT_THAT(bench.out, HasSubstr("kring-bench e2e"));
  EXPECT_THAT(bench.out, HasSubstr("kring-node refuses"));
  CliRun serve =
      Shell(std::string(KRING_COORDINATOR_BENCH_BINARY) + " serve --help");
  EXPECT_EQ(serve.exit_code, 0);
  EXPECT_THAT(serve.out, HasSubstr("--benchmark-plaintext"));
}

}  // namespace
