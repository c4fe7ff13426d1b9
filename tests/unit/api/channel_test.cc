// The one transport policy, loopback predicate and Status mapping.

#include "api/channel.h"

#include <filesystem>
#include <fstream>
#include <string>

#include "api/status.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"

namespace kring::api {
namespace {

using ::kring::testing::IsOk;
using ::kring::testing::StatusIs;
using ::testing::HasSubstr;

TEST(ApiIsLoopbackAddressTest, LoopbackHostsWithPort) {
  EXPECT_TRUE(IsLoopbackAddress("127.0.0.1:7443"));
  EXPECT_TRUE(IsLoopbackAddress("127.1.2.3:1"));
  EXPECT_TRUE(IsLoopbackAddress("localhost:7443"));
  EXPECT_TRUE(IsLoopbackAddress("LocalHost:7443"));
  EXPECT_TRUE(IsLoopbackAddress("[::1]:7443"));
  EXPECT_TRUE(IsLoopbackAddress("[::ffff:127.0.0.1]:7443"));
}

TEST(ApiIsLoopbackAddressTest, EverythingElseIsNot) {
  for (const char* address : {
           "10.0.0.1:7443",
           "0.0.0.0:7443",
           "192.168.1.10:7443",
           "coordinator.example.org:7443",
           "[::]:7443",
           "[2001:db8::1]:7443",
           "[::ffff:10.0.0.1]:7443",
           // Host names that only look like loopback addresses.
           "127.evil.example:7443",
           "127.0.0.1.example.org:7443",
           "localhost.example.org:7443",
           "127.1:7443",
           // No or a bad port.
           "127.0.0.1",
           "localhost",
           "127.0.0.1:",
           "127.0.0.1:0",
           "127.0.0.1:65536",
           "127.0.0.1:74x3",
           "[::1]",
           "[::1:7443",
           "::1:7443",
           // gRPC target schemes are not plain host:port.
           "dns:///127.0.0.1:7443",
           "ipv4:127.0.0.1:7443",
           "unix:/tmp/kring.sock",
           "",
       }) {
    EXPECT_FALSE(IsLoopbackAddress(address)) << address;
  }
}

TEST(CheckTransportPolicyTest, PlaintextOnlyToLoopback) {
  ChannelOptions o;
  o.insecure_loopback = true;
  o.address = "127.0.0.1:7443";
  EXPECT_THAT(CheckTransportPolicy(o), IsOk());
  o.address = "coordinator.example.org:7443";
  EXPECT_THAT(CheckTransportPolicy(o),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("--insecure-loopback refuses "
                                 "coordinator.example.org:7443")));
  o.address = "127.evil.example:7443";
  EXPECT_THAT(CheckTransportPolicy(o),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST(CheckTransportPolicyTest, TlsAnywhere) {
  ChannelOptions o;
  o.address = "coordinator.example.org:7443";
  EXPECT_THAT(CheckTransportPolicy(o), IsOk());
  o.ca_file = "/some/ca.pem";
  EXPECT_THAT(CheckTransportPolicy(o), IsOk());
}

TEST(CheckTransportPolicyTest, PlaintextAndCaExcludeEachOther) {
  ChannelOptions o;
  o.address = "127.0.0.1:7443";
  o.insecure_loopback = true;
  o.ca_file = "/some/ca.pem";
  EXPECT_THAT(CheckTransportPolicy(o),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("--ca")));
}

TEST(CheckTransportPolicyTest, NoAddress) {
  ChannelOptions o;
  o.address = "";
  EXPECT_THAT(
      CheckTransportPolicy(o),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("--coordinator")));
}

TEST(MakeChannelTest, RefusesPlaintextToNonLoopback) {
  ChannelOptions o;
  o.address = "10.0.0.1:7443";
  o.insecure_loopback = true;
  EXPECT_THAT(MakeChannel(o), StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST(MakeChannelTest, ChecksTheCaFile) {
  ChannelOptions o;
  o.address = "localhost:7443";
  o.ca_file = "/nonexistent/kring-ca.pem";
  EXPECT_THAT(MakeChannel(o), StatusIs(absl::StatusCode::kNotFound,
                                       HasSubstr("/nonexistent/kring-ca.pem")));
  const std::string not_pem =
      (std::filesystem::temp_directory_path() / "kring-not-a-ca.txt").string();
  std::ofstream(not_pem) << "hello\n";
  o.ca_file = not_pem;
  EXPECT_THAT(MakeChannel(o), StatusIs(absl::StatusCode::kInvalidArgument,
                                       HasSubstr("no PEM certificate")));
  std::filesystem::remove(not_pem);
}

TEST(FromGrpcTest, KeepsCodeAndServerMessage) {
  EXPECT_THAT(FromGrpcStatus(grpc::Status::OK, "a:1"), IsOk());
  absl::Status s =
      FromGrpcStatus(grpc::Status(grpc::StatusCode::PERMISSION_DENIED,
                                  "query q-1 is not yours"),
                     "a:1");
  EXPECT_EQ(s.code(), absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(s.message(), "query q-1 is not yours");
}

TEST(FromGrpcTest, TransportFailuresNameTheAddress) {
  absl::Status s = FromGrpcStatus(
      grpc::Status(grpc::StatusCode::UNAVAILABLE, "failed to connect"),
      "coordinator.example.org:7443");
  EXPECT_EQ(s.code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(std::string(s.message()),
              HasSubstr("coordinator.example.org:7443"));
  s = FromGrpcStatus(
      grpc::Status(grpc::StatusCode::UNAVAILABLE,
                   "Ssl handshake failed: CERTIFICATE_VERIFY_FAILED"),
      "x:1");
  EXPECT_THAT(std::string(s.message()), HasSubstr("--ca"));
  s = FromGrpcStatus(grpc::Status(grpc::StatusCode::DEADLINE_EXCEEDED, "late"),
                     "x:1");
  EXPECT_EQ(s.code(), absl::StatusCode::kDeadlineExceeded);
}

TEST(ApiIsLoopbackAddressTest, PortZeroOnlyForListenAddresses) {
  EXPECT_FALSE(IsLoopbackAddress("127.0.0.1:0"));
  EXPECT_TRUE(IsLoopbackAddress("127.0.0.1:0", /*allow_port_zero=*/true));
  EXPECT_TRUE(IsLoopbackAddress("[::1]:0", /*allow_port_zero=*/true));
  EXPECT_FALSE(IsLoopbackAddress("0.0.0.0:0", /*allow_port_zero=*/true));
  EXPECT_FALSE(IsLoopbackAddress("[::]:0", /*allow_port_zero=*/true));
  EXPECT_FALSE(
      IsLoopbackAddress("127.0.0.1.nip.io:0", /*allow_port_zero=*/true));
}

TEST(CheckTransportPolicyTest, MessagesUseTheCallersSettingNames) {
  ChannelOptions o;
  o.names = {.address = "node.yaml coordinator",
             .ca_file = "node.yaml tls_ca",
             .insecure_loopback = "node.yaml insecure_loopback"};
  o.address = "coordinator.example.org:7443";
  o.insecure_loopback = true;
  EXPECT_THAT(CheckTransportPolicy(o),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("node.yaml insecure_loopback refuses")));
  o.address = "";
  EXPECT_THAT(CheckTransportPolicy(o),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("node.yaml coordinator")));
}

TEST(ToGrpcStatusTest, SameCodeAndMessage) {
  EXPECT_TRUE(ToGrpcStatus(absl::OkStatus()).ok());
  grpc::Status g = ToGrpcStatus(absl::FailedPreconditionError("not yet"));
  EXPECT_EQ(g.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_EQ(g.error_message(), "not yet");
  EXPECT_EQ(FromGrpcStatus(g, "x:1").code(),
            absl::StatusCode::kFailedPrecondition);
}

}  // namespace
}  // namespace kring::api
