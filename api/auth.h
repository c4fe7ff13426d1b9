#ifndef KRING_API_AUTH_H_
#define KRING_API_AUTH_H_

// The signing contract between users, nodes and the coordinator. Signed
// requests. A user signs every request with its Ed25519 key over
//   method || user id || u64 unix_millis || nonce || the request with
//   `auth` cleared
// (deterministic protobuf serialization), context "request/v1". The
// coordinator checks the signature against the user's registered key, the
// time (within kMaxClockSkew) and the nonce (never seen within that
// window), so a request cannot be forged, altered, moved to another method
// or replayed.

#include <chrono>
#include <cstdint>
#include <deque>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_set>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "crypto/identity.h"
#include "google/protobuf/message.h"
#include "kring/v1/service.pb.h"
#include "util/clock.h"

namespace kring::api {

inline constexpr int64_t kMaxClockSkewMillis = 5 * 60 * 1000;
inline constexpr size_t kNonceBytes = 16;
inline constexpr std::string_view kRequestContext = "request/v1";
inline constexpr std::string_view kApprovalContext = "approval/query";
inline constexpr std::string_view kHelloContext = "node/hello";
// Initial metadata of every node stream (Connect): the coordinator's clock
// in Unix milliseconds (decimal) when the stream began, so that a node can
// tell how far its clock is off (`kring-node doctor`) before hellos more
// than kMaxClockSkewMillis off are refused.
inline constexpr char kServerTimeMetadata[] = "kring-server-unix-millis";

// Deterministic serialization (map order, field order fixed).
std::string CanonicalBytes(const google::protobuf::Message& m);

// The bytes a user signs for `request` (whose `auth` field is ignored).
absl::StatusOr<std::string> RequestSigningBytes(
    std::string_view method, std::string_view user_id,
    const google::protobuf::Message& request, int64_t unix_millis,
    std::string_view nonce);

// Fills `request`'s `auth` field (every request message has one): user id,
// the current time, a fresh random nonce and the signature.
absl::Status SignRequest(std::string_view method, std::string_view user_id,
                         const crypto::IdentityKeyPair& key,
                         google::protobuf::Message& request);

// The bytes a node signs in its hello.
std::string HelloSigningBytes(std::string_view school_id, int64_t unix_millis,
                              std::string_view nonce);

// The system clock in Unix milliseconds (SystemClock().NowUnixMillis()).
int64_t NowMillis();

// Remembers nonces for 2 * kMaxClockSkewMillis so a signed message is
// accepted at most once. Thread-safe. `clock` must outlive the guard.
class ReplayGuard {
 public:
  explicit ReplayGuard(const Clock& clock = SystemClock()) : clock_(clock) {}

  // OK the first time (`key`, nonce) is seen within the window and the time
  // is within the skew of the clock's; UNAUTHENTICATED otherwise.
  absl::Status Check(std::string_view key, int64_t unix_millis,
                     std::string_view nonce);

  // Nonces remembered now (for tests and metrics).
  size_t remembered() const;

 private:
  const Clock& clock_;
  mutable std::mutex mu_;
  std::unordered_set<std::string> seen_;
  std::deque<std::pair<int64_t, std::string>> order_;  // for expiry
};

}  // namespace kring::api

#endif  // KRING_API_AUTH_H_
