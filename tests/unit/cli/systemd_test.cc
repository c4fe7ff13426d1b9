// cli/systemd.h against a datagram socket standing in for systemd's
// NOTIFY_SOCKET.

#include "cli/systemd.h"

#include <poll.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <optional>
#include <string>

#include "gtest/gtest.h"

namespace kring::cli {
namespace {

class SystemdTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl =
        (std::filesystem::temp_directory_path() / "kring-notify-XXXXXX")
            .string();
    dir_ = mkdtemp(tmpl.data());
    fd_ = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    const std::string path = (dir_ / "notify").string();
    std::strncpy(addr.sun_path, path.c_str(), sizeof addr.sun_path - 1);
    ASSERT_EQ(::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
    ::setenv("NOTIFY_SOCKET", path.c_str(), 1);
  }
  void TearDown() override {
    ::unsetenv("NOTIFY_SOCKET");
    ::unsetenv("WATCHDOG_USEC");
    ::close(fd_);
    std::filesystem::remove_all(dir_);
  }
  // The next datagram within `millis`, or nullopt.
  std::optional<std::string> Receive(int millis = 10'000) {
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, millis) != 1) return std::nullopt;
    char buf[4096];
    const ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
    if (n < 0) return std::nullopt;
    return std::string(buf, static_cast<size_t>(n));
  }

  std::filesystem::path dir_;
  int fd_ = -1;
};

TEST_F(SystemdTest, ReadyCarriesTheStatusOnOneLine) {
  NotifyReady("serving on port 7443\nWATCHDOG=1");
  EXPECT_EQ(Receive(), "READY=1\nSTATUS=serving on port 7443?WATCHDOG=1");
}

TEST_F(SystemdTest, Stopping) {
  NotifyStopping();
  EXPECT_EQ(Receive(), "STOPPING=1");
}

TEST_F(SystemdTest, NoWatchdogUnlessSystemdAsksForOne) {
  EXPECT_EQ(WatchdogInterval(), absl::ZeroDuration());
  EXPECT_EQ(Watchdog::Start([] { return true; }), nullptr);
}

TEST_F(SystemdTest, WatchdogBeatsWhileAlive) {
  ::setenv("WATCHDOG_USEC", "100000", 1);
  EXPECT_EQ(WatchdogInterval(), absl::Milliseconds(100));
  auto dog = Watchdog::Start([] { return true; });
  ASSERT_NE(dog, nullptr);
  EXPECT_EQ(Receive(), "WATCHDOG=1");
  EXPECT_EQ(Receive(), "WATCHDOG=1");
}

TEST_F(SystemdTest, NoHeartbeatWhenNotAlive) {
  ::setenv("WATCHDOG_USEC", "100000", 1);
  auto dog = Watchdog::Start([] { return false; });
  ASSERT_NE(dog, nullptr);
  dog.reset();  // it checked at least once, and sent nothing
  NotifyStopping();
  EXPECT_EQ(Receive(), "STOPPING=1");
}

TEST(SystemdNoSocketTest, EverythingIsANoOpWithoutNotifySocket) {
  ::unsetenv("NOTIFY_SOCKET");
  NotifyReady("x");
  NotifyStopping();
  EXPECT_EQ(Watchdog::Start([] { return true; }), nullptr);
}

}  // namespace
}  // namespace kring::cli
