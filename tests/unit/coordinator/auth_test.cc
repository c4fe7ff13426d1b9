// Signed requests, replay protection and the loopback rule.

#include "coordinator/auth.h"

#include "coordinator/server.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"

namespace kring::coordinator {
namespace {

using ::kring::testing::StatusIs;

TEST(AuthTest, SignatureCoversMethodUserAndRequest) {
  auto key = crypto::IdentityKeyPair::Generate();
  v1::GetQueryRequest req;
  req.set_query_id("q-1");
  KRING_ASSERT_OK(SignRequest("GetQuery", "alice", key, req));
  const v1::RequestAuth& a = req.auth();
  EXPECT_EQ(a.user_id(), "alice");
  EXPECT_EQ(a.nonce().size(), kNonceBytes);
  auto verify = [&](std::string_view method, std::string_view user,
                    const v1::GetQueryRequest& r) {
    auto bytes =
        RequestSigningBytes(method, user, r, a.unix_millis(), a.nonce());
    return bytes.ok() &&
           key.public_key().Verify(kRequestContext, *bytes, a.signature()).ok();
  };
  EXPECT_TRUE(verify("GetQuery", "alice", req));
  EXPECT_FALSE(verify("GetResult", "alice", req));  // another method
  EXPECT_FALSE(verify("GetQuery", "bob", req));     // another user id
  v1::GetQueryRequest changed = req;
  changed.set_query_id("q-2");
  EXPECT_FALSE(verify("GetQuery", "alice", changed));  // altered request
}

TEST(AuthTest, ReplayGuardAcceptsEachNonceOnceWithinTheWindow) {
  ReplayGuard guard;
  const std::string nonce(kNonceBytes, 'n');
  const int64_t now = NowMillis();
  KRING_EXPECT_OK(guard.Check("key:a", now, nonce));
  EXPECT_THAT(guard.Check("key:a", now, nonce),
              StatusIs(absl::StatusCode::kUnauthenticated));
  KRING_EXPECT_OK(guard.Check("key:b", now, nonce));  // another signer
  EXPECT_THAT(guard.Check("key:a", now - kMaxClockSkewMillis - 1000,
                          std::string(kNonceBytes, 'o')),
              StatusIs(absl::StatusCode::kUnauthenticated));
  EXPECT_THAT(guard.Check("key:a", now, "short"),
              StatusIs(absl::StatusCode::kUnauthenticated));
}

TEST(AuthTest, OnlyLoopbackAddressesAreLoopback) {
  for (const char* a :
       {"127.0.0.1:7443", "127.1.2.3:1", "localhost:80", "[::1]:7443"}) {
    EXPECT_TRUE(IsLoopback(a)) << a;
  }
  for (const char* a :
       {"10.0.0.1:7443", "127.evil.example:7443", "127.0.0.1.nip.io:1",
        "0.0.0.0:7443", "[::]:7443", "example.org:443", "127.1:80"}) {
    EXPECT_FALSE(IsLoopback(a)) << a;
  }
}

TEST(AuthTest, CanonicalBytesAreDeterministic) {
  v1::QueryTicket a;
  a.set_query_id("q");
  a.mutable_spec()->set_statistic("mean");
  a.mutable_spec()->add_measures("x");
  v1::QueryTicket b;
  b.ParseFromString(CanonicalBytes(a));
  EXPECT_EQ(CanonicalBytes(a), CanonicalBytes(b));
}

}  // namespace
}  // namespace kring::coordinator
