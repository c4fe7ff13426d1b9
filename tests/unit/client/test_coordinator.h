#ifndef KRING_TESTS_UNIT_CLIENT_TEST_COORDINATOR_H_
#define KRING_TESTS_UNIT_CLIENT_TEST_COORDINATOR_H_

// An in-process coordinator on a loopback port, with an admin, an approver
// and a researcher whose private keys are files in a temporary directory.

#include <stdlib.h>

#include <chrono>
#include <filesystem>
#include <map>
#include <memory>
#include <string>

#include "coordinator/db.h"
#include "coordinator/engine.h"
#include "coordinator/server.h"
#include "crypto/identity.h"
#include "gtest/gtest.h"

namespace kring::testing {

class TestCoordinator {
 public:
  // Empty cert/key: plaintext on loopback.
  explicit TestCoordinator(const std::string& tls_cert = "",
                           const std::string& tls_key = "") {
    std::string tmpl =
        (std::filesystem::temp_directory_path() / "kring-client-XXXXXX")
            .string();
    dir_ = mkdtemp(tmpl.data());
    auto db = coordinator::CoordinatorDb::Open(dir_ / "state", true);
    EXPECT_TRUE(db.ok()) << db.status();
    for (auto [id, role] : {std::pair{"admin", v1::ROLE_ADMIN},
                            std::pair{"approver", v1::ROLE_APPROVER},
                            std::pair{"researcher", v1::ROLE_RESEARCHER}}) {
      crypto::IdentityKeyPair key = crypto::IdentityKeyPair::Generate();
      const std::filesystem::path file = dir_ / (std::string(id) + ".key");
      EXPECT_TRUE(key.SavePrivateKeyFile(file).ok());
      coordinator::User u;
      u.user_id = id;
      u.role = role;
      u.public_key = std::string(key.public_key().bytes());
      EXPECT_TRUE((*db)->AddUser(u).ok());
      key_files_[id] = file.string();
    }
    coordinator::EngineOptions eo;
    eo.decision_window = std::chrono::milliseconds(300);
    auto engine = coordinator::Engine::Create(*std::move(db), eo);
    EXPECT_TRUE(engine.ok()) << engine.status();
    engine_ = *std::move(engine);
    coordinator::ServerOptions so;
    so.listen = "127.0.0.1:0";
    so.tls_cert_file = tls_cert;
    so.tls_key_file = tls_key;
    so.insecure_loopback = tls_cert.empty();
    so.hello_deadline = std::chrono::seconds(1);
    auto server = coordinator::Server::Start(engine_.get(), so);
    EXPECT_TRUE(server.ok()) << server.status();
    if (server.ok()) server_ = *std::move(server);
  }
  ~TestCoordinator() {
    server_.reset();
    engine_.reset();
    std::filesystem::remove_all(dir_);
  }

  bool ok() const { return server_ != nullptr; }
  int port() const { return server_->port(); }
  std::string address(const std::string& host = "127.0.0.1") const {
    return host + ":" + std::to_string(port());
  }
  const std::string& key_file(const std::string& user) {
    return key_files_[user];
  }
  const std::filesystem::path& dir() const { return dir_; }
  coordinator::Engine& engine() { return *engine_; }

 private:
  std::filesystem::path dir_;
  std::map<std::string, std::string> key_files_;
  std::unique_ptr<coordinator::Engine> engine_;
  std::unique_ptr<coordinator::Server> server_;
};

}  // namespace kring::testing

#endif  // KRING_TESTS_UNIT_CLIENT_TEST_COORDINATOR_H_
