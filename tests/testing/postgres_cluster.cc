#include "tests/testing/postgres_cluster.h"

#include <fcntl.h>
#include <netinet/in.h>
#include <pwd.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <sstream>

#include "storage/database.h"
#include "tests/testing/wait.h"
#include "util/str_cat.h"

namespace kring::testing {
namespace {

// A port that was free a moment ago on 127.0.0.1.
int FreePort() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  int port = 0;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0 &&
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0) {
    port = ntohs(addr.sin_port);
  }
  ::close(fd);
  return port;
}

std::string ReadAll(const std::filesystem::path& file) {
  std::ifstream in(file);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace

int PostgresCluster::Run(const std::vector<std::string>& argv) const {
  const pid_t pid = ::fork();
  if (pid == 0) {
    if (::geteuid() == 0 && (::setgid(gid_) != 0 || ::setuid(uid_) != 0)) {
      ::_exit(126);
    }
    // Opened as the server's user: pg_ctl -l appends to it too.
    const int fd =
        ::open(log().c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    ::dup2(fd, 1);
    ::dup2(fd, 2);
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    ::execv(args[0], args.data());
    ::_exit(127);
  }
  int status = 0;
  ::waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

absl::StatusOr<std::unique_ptr<PostgresCluster>> PostgresCluster::Start() {
  const char* override_bin = std::getenv("KRING_TEST_POSTGRES_BIN");
  const std::string bin = override_bin != nullptr ? override_bin : kBinDir;
  for (const char* tool : {"/initdb", "/pg_ctl", "/postgres"}) {
    if (::access((bin + tool).c_str(), X_OK) != 0) {
      return absl::FailedPreconditionError(
          StrCat(bin, tool,
                 " is missing: the postgres tests need PostgreSQL 15's server "
                 "binaries; install the Debian package postgresql-15 "
                 "(deploy/install-deps.sh does)"));
    }
  }
  auto c = std::unique_ptr<PostgresCluster>(new PostgresCluster());
  c->bin_ = bin;
  if (::geteuid() == 0) {
    const passwd* pw = ::getpwnam("postgres");
    if (pw == nullptr) {
      return absl::FailedPreconditionError(
          "running as root, the postgres tests start PostgreSQL as the "
          "`postgres` system user, which does not exist; install the Debian "
          "package postgresql-15 (it creates the user) or run the tests as "
          "an ordinary user");
    }
    c->uid_ = pw->pw_uid;
    c->gid_ = pw->pw_gid;
  }
  std::string tmpl =
      (std::filesystem::temp_directory_path() / "kring-pg-XXXXXX").string();
  if (::mkdtemp(tmpl.data()) == nullptr) {
    return absl::InternalError("cannot create a temporary directory");
  }
  c->dir_ = tmpl;
  if (::geteuid() == 0 && ::chown(c->dir_.c_str(), c->uid_, c->gid_) != 0) {
    return absl::InternalError(StrCat("cannot chown ", c->dir_.string()));
  }
  const std::string data = (c->dir_ / "data").string();
  if (c->Run({bin + "/initdb", "-D", data, "-U", "kring", "-A", "trust", "-E",
              "UTF8", "--locale=C", "--no-sync"}) != 0) {
    return absl::InternalError(StrCat("initdb failed:\n", ReadAll(c->log())));
  }
  c->port_ = FreePort();
  const std::string options =
      StrCat("-h 127.0.0.1 -p ", c->port_, " -k ", c->dir_.string(),
             " -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
             " -c shared_buffers=16MB -c max_connections=40");
  if (c->Run({bin + "/pg_ctl", "-D", data, "-l", c->log().string(), "-o",
              options, "-W", "start"}) != 0) {
    return absl::InternalError(
        StrCat("pg_ctl start failed:\n", ReadAll(c->log())));
  }
  c->started_ = true;
  const std::string url = c->Url("postgres");
  const bool ready = WaitUntil(
      [&] {
        return storage::Database::OpenPostgres(url, storage::OpenOptions{})
            .ok();
      },
      std::chrono::seconds(60), std::chrono::milliseconds(100));
  if (!ready) {
    return absl::InternalError(
        StrCat("PostgreSQL did not accept connections within a minute:\n",
               ReadAll(c->log())));
  }
  return c;
}

PostgresCluster::~PostgresCluster() {
  if (started_) {
    (void)Run({bin_ + "/pg_ctl", "-D", (dir_ / "data").string(), "-m",
               "immediate", "-w", "stop"});
  }
  std::error_code ec;
  if (!dir_.empty()) std::filesystem::remove_all(dir_, ec);
}

std::string PostgresCluster::Url(const std::string& name) const {
  return StrCat("postgresql://kring@127.0.0.1:", port_, "/", name);
}

absl::StatusOr<std::string> PostgresCluster::CreateDatabase(
    const std::string& name) {
  auto db =
      storage::Database::OpenPostgres(Url("postgres"), storage::OpenOptions{});
  if (!db.ok()) return db.status();
  if (auto s = (*db)->Exec(StrCat("CREATE DATABASE \"", name, "\"")); !s.ok()) {
    return s;
  }
  return Url(name);
}

}  // namespace kring::testing
