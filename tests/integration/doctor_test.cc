// `kring-node doctor` and `check-config`, and what the services need from
// the binaries (`serve --check-config`, `--config`, sd_notify), through
// the real kring-node and kring-coordinator processes on loopback.

#include <poll.h>
#include <sqlite3.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/integration/cluster.h"

namespace kring::testing {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

// One enrolled school ("01AB") and its coordinator; the node is not
// running until a test starts it.
class DoctorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    cluster_.Init();
    admin_ = cluster_.AddUser("admin", "admin");
    board_ = cluster_.AddUser("board", "approver");
    researcher_ = cluster_.AddUser("researcher", "researcher");
    cluster_.StartCoordinator();
    cluster_.AddSchool("01AB", "GM0344", 1, 20, board_);
  }

  std::string Flags() const {
    return " --data-dir '" + cluster_.SchoolDir("01AB") + "' --key-file '" +
           cluster_.SchoolKey("01AB") + "'";
  }
  CommandResult Doctor(const std::string& extra = "") {
    return Command(std::string(KRING_NODE_BINARY) + " doctor" + Flags() +
                   " --timeout-seconds 10" + extra);
  }
  // A credentials directory as systemd's LoadCredential= makes it.
  std::string CredentialsDir() const {
    const auto dir = cluster_.dir() / "credentials";
    std::filesystem::create_directories(dir);
    std::filesystem::copy_file(
        cluster_.SchoolKey("01AB"), dir / "store-key",
        std::filesystem::copy_options::overwrite_existing);
    return dir.string();
  }
  std::filesystem::path NodeFile(const std::string& name) const {
    return std::filesystem::path(cluster_.SchoolDir("01AB")) / name;
  }

  Cluster cluster_;
  TestUser admin_;
  TestUser board_;
  TestUser researcher_;
};

TEST_F(DoctorTest, AllOkWhileTheNodeRuns) {
  cluster_.set_zero_noise(false);  // the real kring-node
  cluster_.StartNode("01AB");
  cluster_.WaitConnected(admin_, {"01AB"});
  CommandResult r = Doctor();
  EXPECT_EQ(r.exit_code, 0) << r.out;
  for (const char* check : {"configuration", "identity", "store", "disk",
                            "audit", "last query", "tls", "clock"}) {
    EXPECT_THAT(r.out, HasSubstr(std::string(check) + ": ")) << check;
  }
  EXPECT_THAT(r.out, HasSubstr("OK      enrolled: the coordinator accepts "));
  EXPECT_THAT(r.out, HasSubstr("kring-node run is connected"));
  EXPECT_THAT(r.out, Not(HasSubstr("WARNING")));
  EXPECT_THAT(r.out, Not(HasSubstr("ERROR")));
}

TEST_F(DoctorTest, LastQueryIsTheLastOneOffered) {
  cluster_.set_zero_noise(false);  // the real kring-node
  cluster_.StartNode("01AB");
  cluster_.WaitConnected(admin_, {"01AB"});
  auto q = cluster_.Submit(researcher_, R"({
    "statistic": "mean",
    "measures": ["belong_perception"],
    "population": {"waves": ["2025-26"]},
    "purpose": "doctor test"
  })");
  ASSERT_TRUE(q.ok()) << q.status();
  ASSERT_TRUE(cluster_.Approve(board_, *q).ok());
  const std::string received = "Received query " + q->ticket().query_id();
  CommandResult r;
  EXPECT_TRUE(WaitUntil(
      [&] {
        r = Doctor();
        return r.out.find(received) != std::string::npos;
      },
      std::chrono::seconds(60)))
      << r.out;
  EXPECT_THAT(r.out, HasSubstr("OK      last query: "));
}

TEST_F(DoctorTest, JsonHasOneEntryPerCheckAndTheExitCode) {
  CommandResult r = Doctor(" --json");
  ASSERT_EQ(r.exit_code, 1) << r.out;  // the node is not running
  auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["exit_code"], 1);
  bool warned_connected = false;
  for (const auto& c : j["checks"]) {
    if (c["check"] == "connected") warned_connected = c["level"] == "WARNING";
    if (c["check"] == "enrolled") {
      EXPECT_EQ(c["level"], "OK");
    }
  }
  EXPECT_TRUE(warned_connected) << r.out;
}

TEST_F(DoctorTest, NodeNotRunningIsAWarning) {
  CommandResult r = Doctor();
  EXPECT_EQ(r.exit_code, 1) << r.out;
  EXPECT_THAT(r.out, HasSubstr("WARNING connected: no kring-node run"));
  EXPECT_THAT(r.out, HasSubstr("systemctl start kring-node"));
}

TEST_F(DoctorTest, MissingKeyIsAnError) {
  std::filesystem::remove(cluster_.SchoolKey("01AB"));
  CommandResult r = Doctor();
  EXPECT_EQ(r.exit_code, 2) << r.out;
  EXPECT_THAT(r.out, HasSubstr("ERROR store: cannot unlock the store"));
  EXPECT_THAT(r.out, HasSubstr("--key-file"));
}

TEST_F(DoctorTest, BrokenConfigurationIsAnError) {
  std::ofstream(NodeFile("node.yaml"), std::ios::app)
      << "policy:\n  min_schools: lots\n";
  CommandResult r = Doctor();
  EXPECT_EQ(r.exit_code, 2) << r.out;
  EXPECT_THAT(r.out, HasSubstr("ERROR configuration: "));
  EXPECT_THAT(r.out, HasSubstr("node.yaml"));
  // Without a configuration there is nothing to ask the coordinator.
  EXPECT_THAT(r.out, Not(HasSubstr("enrolled:")));
  CommandResult check =
      Command(std::string(KRING_NODE_BINARY) + " check-config" + Flags());
  EXPECT_EQ(check.exit_code, 2) << check.out;
  EXPECT_THAT(check.out, HasSubstr("ERROR configuration: "));
}

TEST_F(DoctorTest, CheckConfigPassesForAnEnrolledNode) {
  CommandResult check =
      Command(std::string(KRING_NODE_BINARY) + " check-config" + Flags());
  EXPECT_EQ(check.exit_code, 0) << check.out;
  EXPECT_THAT(check.out, HasSubstr("OK      store: unlocked"));
}

TEST_F(DoctorTest, UnreachableCoordinatorIsAWarning) {
  cluster_.StopCoordinator();
  CommandResult r = Doctor();
  EXPECT_EQ(r.exit_code, 1) << r.out;
  EXPECT_THAT(r.out, HasSubstr("WARNING coordinator: no TCP connection to "));
  EXPECT_THAT(r.out, HasSubstr("firewall"));
  EXPECT_THAT(r.out, HasSubstr("OK      store: "));  // the rest still runs
}

TEST_F(DoctorTest, TamperedAuditLogIsAnError) {
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(NodeFile("audit.db").c_str(), &db), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(db,
                         "UPDATE entries SET summary = 'Nothing happened' "
                         "WHERE seq = 1",
                         nullptr, nullptr, nullptr),
            SQLITE_OK);
  sqlite3_close(db);
  CommandResult r = Doctor();
  EXPECT_EQ(r.exit_code, 2) << r.out;
  EXPECT_THAT(r.out, HasSubstr("ERROR audit: the audit log is NOT intact"));
  EXPECT_THAT(r.out, HasSubstr("evidence"));
}

TEST_F(DoctorTest, ForeignIdentityIsRefusedByTheCoordinator) {
  // Another server's key in place of the enrolled one.
  std::filesystem::remove(NodeFile("node.key"));
  ASSERT_TRUE(crypto::IdentityKeyPair::Generate()
                  .SavePrivateKeyFile(NodeFile("node.key"))
                  .ok());
  CommandResult r = Doctor();
  EXPECT_EQ(r.exit_code, 2) << r.out;
  EXPECT_THAT(r.out, HasSubstr("ERROR enrolled: the coordinator refuses"));
  EXPECT_THAT(r.out, HasSubstr("kring-node enroll"));
}

// The coordinator serves TLS (deploy/dev-ca.sh); node.yaml trusts `ca`.
class DoctorTlsTest : public DoctorTest {
 protected:
  void ServeTlsAndTrust(const std::string& ca_dir) {
    for (const char* dir : {"pki", "other-pki"}) {
      auto r = Command(std::string(KRING_SOURCE_DIR) + "/deploy/dev-ca.sh '" +
                       (cluster_.dir() / dir).string() + "'");
      ASSERT_EQ(r.exit_code, 0) << r.out;
    }
    const std::string port =
        cluster_.address().substr(cluster_.address().rfind(':') + 1);
    cluster_.StopCoordinator();
    const auto pki = cluster_.dir() / "pki";
    cluster_.StartCoordinatorOn(port, 60, 8,
                                {"--tls-cert", (pki / "server.pem").string(),
                                 "--tls-key", (pki / "server.key").string()});
    // node.yaml as `kring-node enroll --ca` writes it, for localhost.
    std::ifstream in(NodeFile("node.yaml"));
    std::string yaml((std::istreambuf_iterator<char>(in)),
                     std::istreambuf_iterator<char>());
    const std::string plain = "insecure_loopback: true\n";
    ASSERT_NE(yaml.find(plain), std::string::npos) << yaml;
    yaml.replace(
        yaml.find(plain), plain.size(),
        "tls_ca: " + (cluster_.dir() / ca_dir / "ca.pem").string() + "\n");
    const std::string host = "127.0.0.1:";
    yaml.replace(yaml.find(host), host.size(), "localhost:");
    std::ofstream(NodeFile("node.yaml"), std::ios::trunc) << yaml;
  }
};

TEST_F(DoctorTlsTest, HandshakeWithTheRightCa) {
  ServeTlsAndTrust("pki");
  CommandResult r = Doctor();
  EXPECT_EQ(r.exit_code, 1) << r.out;  // only: the node is not running
  EXPECT_THAT(r.out, HasSubstr("OK      tls: TLS handshake with localhost:"));
  EXPECT_THAT(r.out, HasSubstr("OK      enrolled: "));
}

TEST_F(DoctorTlsTest, WrongCaIsAnError) {
  ServeTlsAndTrust("other-pki");
  CommandResult r = Doctor();
  EXPECT_EQ(r.exit_code, 2) << r.out;
  EXPECT_THAT(r.out, HasSubstr("ERROR tls: TCP reaches localhost:"));
  EXPECT_THAT(r.out, HasSubstr("tls_ca in node.yaml"));
  EXPECT_THAT(r.out, Not(HasSubstr("enrolled:")));
}

TEST_F(DoctorTest, NotEnrolledIsAnError) {
  std::filesystem::remove(NodeFile("node.yaml"));
  CommandResult r = Doctor();
  EXPECT_EQ(r.exit_code, 2) << r.out;
  EXPECT_THAT(r.out, HasSubstr("not enrolled"));
}

// `kring-coordinator --config FILE serve --check-config`, as the unit's
// ExecStartPre runs it.
TEST(CoordinatorServiceTest, CheckConfigReadsTheConfigFile) {
  Cluster cluster;
  cluster.Init();
  const auto toml = cluster.dir() / "coordinator.toml";
  std::ofstream(toml) << "[serve]\nlisten = \"127.0.0.1:0\"\n"
                         "insecure-loopback = true\n";
  const std::string base = std::string(KRING_COORDINATOR_BINARY) +
                           " --config '" + toml.string() + "' serve";
  CommandResult ok = Command(base + " --data-dir '" +
                             cluster.coordinator_dir() + "' --check-config");
  EXPECT_EQ(ok.exit_code, 0) << ok.out;
  EXPECT_THAT(ok.out, HasSubstr("the configuration is fine"));
  // Plaintext off loopback (a flag overrides the file) is refused.
  CommandResult open =
      Command(base + " --data-dir '" + cluster.coordinator_dir() +
              "' --listen 0.0.0.0:7443 --check-config");
  EXPECT_EQ(open.exit_code, 1) << open.out;
  EXPECT_THAT(open.out, HasSubstr("--insecure-loopback refuses"));
  // TLS files that are not there.
  CommandResult tls =
      Command(base + " --data-dir '" + cluster.coordinator_dir() +
              "' --tls-cert /nonexistent.pem --tls-key "
              "/nonexistent.key --check-config");
  EXPECT_EQ(tls.exit_code, 1) << tls.out;
  EXPECT_THAT(tls.out, HasSubstr("nonexistent.pem"));
  // No coordinator in the data directory.
  CommandResult none =
      Command(base + " --data-dir '" + (cluster.dir() / "none").string() +
              "' --check-config");
  EXPECT_EQ(none.exit_code, 1) << none.out;
  // An unknown key in the file.
  std::ofstream(toml, std::ios::app) << "listne = \"x\"\n";
  CommandResult typo = Command(base + " --data-dir '" +
                               cluster.coordinator_dir() + "' --check-config");
  EXPECT_NE(typo.exit_code, 0) << typo.out;
}

// A datagram socket standing in for systemd's NOTIFY_SOCKET.
class NotifySocket {
 public:
  explicit NotifySocket(const std::filesystem::path& path) : path_(path) {
    fd_ = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::strncpy(addr.sun_path, path.c_str(), sizeof addr.sun_path - 1);
    bound_ = ::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
  }
  ~NotifySocket() {
    ::close(fd_);
    std::filesystem::remove(path_);
  }
  bool bound() const { return bound_; }
  // Waits until a datagram containing `text` arrives (or the deadline).
  bool WaitFor(const std::string& text, std::chrono::seconds deadline) {
    return WaitUntil(
        [&] {
          pollfd p{fd_, POLLIN, 0};
          if (::poll(&p, 1, 100) != 1) return false;
          char buf[4096];
          const ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
          return n > 0 && std::string(buf, n).find(text) != std::string::npos;
        },
        deadline);
  }

 private:
  std::filesystem::path path_;
  int fd_ = -1;
  bool bound_ = false;
};

TEST(CoordinatorServiceTest, ServeTellsSystemdItIsReadyAndAlive) {
  Cluster cluster;
  cluster.Init();
  NotifySocket notify(cluster.dir() / "notify.sock");
  ASSERT_TRUE(notify.bound());
  Process serve({KRING_COORDINATOR_BINARY, "serve", "--data-dir",
                 cluster.coordinator_dir(), "--listen", "127.0.0.1:0",
                 "--insecure-loopback"},
                cluster.dir() / "serve.log",
                {"NOTIFY_SOCKET=" + (cluster.dir() / "notify.sock").string(),
                 "WATCHDOG_USEC=200000"});
  EXPECT_TRUE(notify.WaitFor("READY=1", std::chrono::seconds(30)));
  EXPECT_TRUE(notify.WaitFor("WATCHDOG=1", std::chrono::seconds(30)));
}

TEST_F(DoctorTest, RunTellsSystemdItIsReadyAndAlive) {
  NotifySocket notify(cluster_.dir() / "node-notify.sock");
  ASSERT_TRUE(notify.bound());
  Process run(
      {KRING_NODE_BINARY, "run", "--data-dir", cluster_.SchoolDir("01AB")},
      cluster_.dir() / "run.log",
      {"NOTIFY_SOCKET=" + (cluster_.dir() / "node-notify.sock").string(),
       "WATCHDOG_USEC=200000",
       // The key as systemd's LoadCredential= passes it.
       "CREDENTIALS_DIRECTORY=" + CredentialsDir()});
  EXPECT_TRUE(notify.WaitFor("READY=1", std::chrono::seconds(30)));
  EXPECT_TRUE(notify.WaitFor("WATCHDOG=1", std::chrono::seconds(30)));
  cluster_.WaitConnected(admin_, {"01AB"});
  EXPECT_EQ(run.StopWithin(SIGTERM, std::chrono::seconds(30)), 0);
}

}  // namespace
}  // namespace kring::testing
