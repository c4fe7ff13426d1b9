#ifndef KRING_TESTS_TESTING_POSTGRES_CLUSTER_H_
#define KRING_TESTS_TESTING_POSTGRES_CLUSTER_H_

// A throwaway PostgreSQL 15 cluster for tests (label postgres): Debian's
// initdb and pg_ctl create and start it in a temporary directory,
// listening on a free port on 127.0.0.1 (and a socket in that directory),
// with trust authentication for its one user "kring". As root the server
// runs as the `postgres` system user (PostgreSQL refuses to run as root).
// Stopped and removed when destroyed.

#include <sys/types.h>

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace kring::testing {

class PostgresCluster {
 public:
  // Where Debian's postgresql-15 package puts the server binaries
  // (KRING_TEST_POSTGRES_BIN in the environment overrides it).
  static constexpr const char* kBinDir = "/usr/lib/postgresql/15/bin";

  // Creates and starts the cluster and waits (up to a minute) until it
  // accepts connections. FAILED_PRECONDITION naming the Debian package
  // when the binaries are missing; INTERNAL with the server's log when it
  // does not start.
  static absl::StatusOr<std::unique_ptr<PostgresCluster>> Start();
  ~PostgresCluster();

  // Creates an empty database `name`; its postgresql:// URL.
  absl::StatusOr<std::string> CreateDatabase(const std::string& name);
  // The URL of database `name` on this cluster.
  std::string Url(const std::string& name) const;
  int port() const { return port_; }

 private:
  PostgresCluster() = default;
  // Runs a server binary (as the postgres user when root); its exit code,
  // output going to log().
  int Run(const std::vector<std::string>& argv) const;
  std::filesystem::path log() const { return dir_ / "server.log"; }

  std::string bin_;
  std::filesystem::path dir_;
  int port_ = 0;
  uid_t uid_ = 0;
  gid_t gid_ = 0;
  bool started_ = false;
};

}  // namespace kring::testing

#endif  // KRING_TESTS_TESTING_POSTGRES_CLUSTER_H_
