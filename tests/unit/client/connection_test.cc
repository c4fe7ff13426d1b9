#include "client/connection.h"

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"
#include "tests/unit/client/test_coordinator.h"

namespace kring::client {
namespace {

using ::kring::testing::IsOk;
using ::kring::testing::StatusIs;
using ::testing::HasSubstr;

TEST(MethodForTest, TheRpcThatTakesTheRequest) {
  EXPECT_EQ(*MethodFor(*v1::SubmitQueryRequest::descriptor()), "SubmitQuery");
  EXPECT_EQ(*MethodFor(*v1::ListQueriesRequest::descriptor()), "ListQueries");
  EXPECT_EQ(*MethodFor(*v1::ApproveQueryRequest::descriptor()), "ApproveQuery");
  EXPECT_EQ(*MethodFor(*v1::CreateEnrollmentCodeRequest::descriptor()),
            "CreateEnrollmentCode");
  EXPECT_THAT(MethodFor(*v1::QuerySpec::descriptor()),
              StatusIs(absl::StatusCode::kInternal));
}

Connection Open(testing::TestCoordinator& c, const std::string& user,
                api::ChannelOptions o) {
  auto key = crypto::IdentityKeyPair::LoadPrivateKeyFile(c.key_file(user));
  EXPECT_TRUE(key.ok()) << key.status();
  auto conn =
      Connection::Open(o, user, *std::move(key), std::chrono::seconds(10));
  EXPECT_TRUE(conn.ok()) << conn.status();
  return *std::move(conn);
}

TEST(ConnectionTest, SignedCallsOverLoopback) {
  testing::TestCoordinator c;
  ASSERT_TRUE(c.ok());
  api::ChannelOptions o;
  o.address = c.address();
  o.insecure_loopback = true;
  Connection admin = Open(c, "admin", o);
  auto nodes =
      admin.Call(&v1::Coordinator::Stub::ListNodes, v1::ListNodesRequest());
  ASSERT_THAT(nodes, IsOk());
  EXPECT_EQ(nodes->nodes_size(), 0);

  v1::RegisterUserRequest add;
  add.set_user_id("analyst");
  add.set_role(v1::ROLE_MUNICIPALITY);
  crypto::IdentityKeyPair analyst = crypto::IdentityKeyPair::Generate();
  add.set_public_key(std::string(analyst.public_key().bytes()));
  add.add_municipalities("GM0363");
  auto added = admin.Call(&v1::Coordinator::Stub::RegisterUser, add);
  ASSERT_THAT(added, IsOk());
  EXPECT_EQ(added->fingerprint(), analyst.public_key().Fingerprint());
  // The same request again (freshly signed): the coordinator's own error.
  EXPECT_THAT(admin.Call(&v1::Coordinator::Stub::RegisterUser, add),
              StatusIs(absl::StatusCode::kAlreadyExists));

  // A researcher may not list nodes: the coordinator's message comes back.
  Connection researcher = Open(c, "researcher", o);
  EXPECT_THAT(researcher.Call(&v1::Coordinator::Stub::ListNodes,
                              v1::ListNodesRequest()),
              StatusIs(absl::StatusCode::kPermissionDenied));
}

TEST(ConnectionTest, OversizedFieldsAreRefusedNamingFieldAndLimit) {
  testing::TestCoordinator c;
  ASSERT_TRUE(c.ok());
  api::ChannelOptions o;
  o.address = c.address();
  o.insecure_loopback = true;
  Connection researcher = Open(c, "researcher", o);
  v1::SubmitQueryRequest r;
  r.mutable_spec()->set_statistic("mean");
  r.mutable_spec()->set_purpose(std::string(5000, 'x'));
  EXPECT_THAT(researcher.Call(&v1::Coordinator::Stub::SubmitQuery, r),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("spec.purpose is 5000 bytes; the limit is "
                                 "4096")));
  Connection admin = Open(c, "admin", o);
  v1::CreateEnrollmentCodeRequest code;
  code.set_brin("00AA");
  code.set_school_name(std::string(300, 'n'));
  code.set_municipality("GM0363");
  EXPECT_THAT(
      admin.Call(&v1::Coordinator::Stub::CreateEnrollmentCode, code),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("school_name")));
  EXPECT_THAT(*c.engine().db().ListQueries(), ::testing::IsEmpty());
}

TEST(ConnectionTest, AKeyThatIsNotTheUsersIsUnauthenticated) {
  testing::TestCoordinator c;
  ASSERT_TRUE(c.ok());
  api::ChannelOptions o;
  o.address = c.address();
  o.insecure_loopback = true;
  auto conn = Connection::Open(o, "admin", crypto::IdentityKeyPair::Generate());
  ASSERT_THAT(conn, IsOk());
  EXPECT_THAT(
      conn->Call(&v1::Coordinator::Stub::ListNodes, v1::ListNodesRequest()),
      StatusIs(absl::StatusCode::kUnauthenticated));
}

TEST(ConnectionTest, NothingListeningIsUnavailableNamingTheAddress) {
  api::ChannelOptions o;
  o.address = "127.0.0.1:1";
  o.insecure_loopback = true;
  auto conn = Connection::Open(o, "admin", crypto::IdentityKeyPair::Generate(),
                               std::chrono::seconds(5));
  ASSERT_THAT(conn, IsOk());
  auto r =
      conn->Call(&v1::Coordinator::Stub::ListNodes, v1::ListNodesRequest());
  EXPECT_THAT(
      r, StatusIs(absl::StatusCode::kUnavailable, HasSubstr("127.0.0.1:1")));
}

// TLS with a CA from deploy/dev-ca.sh (skipped without bash and openssl).
TEST(ConnectionTest, TlsWithDevCa) {
  if (std::system("command -v openssl >/dev/null 2>&1") != 0) {
    GTEST_SKIP() << "no openssl command";
  }
  std::string tmpl =
      (std::filesystem::temp_directory_path() / "kring-ca-XXXXXX").string();
  const std::filesystem::path ca_dir = mkdtemp(tmpl.data());
  const std::string cmd = std::string(KRING_SOURCE_DIR) + "/deploy/dev-ca.sh " +
                          ca_dir.string() + "/pki >/dev/null";
  ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd;
  const std::string ca = (ca_dir / "pki/ca.pem").string();
  {
    testing::TestCoordinator c((ca_dir / "pki/server.pem").string(),
                               (ca_dir / "pki/server.key").string());
    ASSERT_TRUE(c.ok());
    for (const char* host : {"127.0.0.1", "localhost"}) {
      api::ChannelOptions o;
      o.address = c.address(host);
      o.ca_file = ca;
      Connection admin = Open(c, "admin", o);
      EXPECT_THAT(
          admin.Call(&v1::Coordinator::Stub::ListNodes, v1::ListNodesRequest()),
          IsOk())
          << host;
    }
    // The system's CAs do not know the development CA.
    api::ChannelOptions o;
    o.address = c.address();
    Connection untrusting = Open(c, "admin", o);
    EXPECT_THAT(untrusting.Call(&v1::Coordinator::Stub::ListNodes,
                                v1::ListNodesRequest()),
                StatusIs(absl::StatusCode::kUnavailable));
    // Plaintext to a TLS server fails too.
    o.insecure_loopback = true;
    Connection plain = Open(c, "admin", o);
    EXPECT_THAT(
        plain.Call(&v1::Coordinator::Stub::ListNodes, v1::ListNodesRequest()),
        StatusIs(absl::StatusCode::kUnavailable));
  }
  std::filesystem::remove_all(ca_dir);
}

}  // namespace
}  // namespace kring::client
