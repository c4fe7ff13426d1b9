// Signed requests, canonical bytes and replay protection.

#include "api/auth.h"

#include <algorithm>
#include <vector>

#include "gmock/gmock.h"
#include "google/protobuf/struct.pb.h"
#include "gtest/gtest.h"
#include "tests/testing/fake_clock.h"
#include "tests/testing/status_matchers.h"

namespace kring::api {
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
  testing::FakeClock clock;
  ReplayGuard guard(clock);
  const std::string nonce(kNonceBytes, 'n');
  const int64_t now = clock.NowUnixMillis();
  KRING_EXPECT_OK(guard.Check("key:a", now, nonce));
  EXPECT_THAT(guard.Check("key:a", now, nonce),
              StatusIs(absl::StatusCode::kUnauthenticated));
  KRING_EXPECT_OK(guard.Check("key:b", now, nonce));  // another signer
  EXPECT_THAT(guard.Check("key:a", now, "short"),
              StatusIs(absl::StatusCode::kUnauthenticated));
}

TEST(AuthTest, ReplayGuardRefusesTimesOutsideTheSkew) {
  testing::FakeClock clock;
  ReplayGuard guard(clock);
  const int64_t now = clock.NowUnixMillis();
  KRING_EXPECT_OK(guard.Check("k", now - kMaxClockSkewMillis,
                              std::string(kNonceBytes, 'a')));
  KRING_EXPECT_OK(guard.Check("k", now + kMaxClockSkewMillis,
                              std::string(kNonceBytes, 'b')));
  EXPECT_THAT(guard.Check("k", now - kMaxClockSkewMillis - 1,
                          std::string(kNonceBytes, 'c')),
              StatusIs(absl::StatusCode::kUnauthenticated,
                       ::testing::HasSubstr("clock")));
  EXPECT_THAT(guard.Check("k", now + kMaxClockSkewMillis + 1,
                          std::string(kNonceBytes, 'd')),
              StatusIs(absl::StatusCode::kUnauthenticated));
}

TEST(AuthTest, ReplayGuardForgetsNoncesOnlyAfterTheyCanNoLongerBeValid) {
  testing::FakeClock clock;
  ReplayGuard guard(clock);
  const std::string nonce(kNonceBytes, 'n');
  const int64_t signed_at = clock.NowUnixMillis();
  KRING_ASSERT_OK(guard.Check("k", signed_at, nonce));
  // While the signed time is still within the skew, the nonce is remembered.
  clock.AdvanceMillis(kMaxClockSkewMillis);
  EXPECT_THAT(guard.Check("k", signed_at, nonce),
              StatusIs(absl::StatusCode::kUnauthenticated,
                       ::testing::HasSubstr("replay")));
  EXPECT_EQ(guard.remembered(), 1u);
  // Past the window the old signature is refused for its time anyway, and
  // the nonce is forgotten, so memory stays bounded.
  clock.AdvanceMillis(kMaxClockSkewMillis + 1);
  EXPECT_THAT(guard.Check("k", signed_at, nonce),
              StatusIs(absl::StatusCode::kUnauthenticated,
                       ::testing::HasSubstr("clock")));
  KRING_EXPECT_OK(
      guard.Check("k", clock.NowUnixMillis(), std::string(kNonceBytes, 'm')));
  EXPECT_EQ(guard.remembered(), 1u);
}

// Map fields are where protobuf serialization is not deterministic by
// default: the canonical bytes must list map entries in key order whatever
// the insertion order.
TEST(AuthTest, CanonicalBytesOrderMapEntriesByKey) {
  std::vector<std::string> keys;
  for (int i = 0; i < 64; ++i) keys.push_back("key" + std::to_string(100 + i));
  google::protobuf::Struct forward, backward;
  for (const std::string& k : keys) {
    (*forward.mutable_fields())[k].set_number_value(1);
  }
  for (auto it = keys.rbegin(); it != keys.rend(); ++it) {
    (*backward.mutable_fields())[*it].set_number_value(1);
  }
  const std::string bytes = CanonicalBytes(backward);
  EXPECT_EQ(bytes, CanonicalBytes(forward));
  size_t last = 0;
  for (const std::string& k : keys) {
    const size_t at = bytes.find(k);
    ASSERT_NE(at, std::string::npos) << k;
    EXPECT_GT(at, last) << k << " is out of key order";
    last = at;
  }
  google::protobuf::Struct parsed;
  ASSERT_TRUE(parsed.ParseFromString(bytes));
  EXPECT_EQ(CanonicalBytes(parsed), bytes);
}

TEST(AuthTest, HelloSigningBytesBindSchoolTimeAndNonce) {
  const std::string a = HelloSigningBytes("school-1", 1000, "nonce");
  EXPECT_NE(a, HelloSigningBytes("school-2", 1000, "nonce"));
  EXPECT_NE(a, HelloSigningBytes("school-1", 1001, "nonce"));
  EXPECT_NE(a, HelloSigningBytes("school-1", 1000, "nonce2"));
  // Length prefixes: moving bytes between fields changes the message.
  EXPECT_NE(HelloSigningBytes("ab", 1, "c"), HelloSigningBytes("a", 1, "bc"));
}

}  // namespace
}  // namespace kring::api
