#ifndef KRING_COORDINATOR_SERVER_H_
#define KRING_COORDINATOR_SERVER_H_

// The gRPC adapter, kept thin: kring.v1.Coordinator over an Engine on
// gRPC's callback API, so no thread is held per call or stream. Each call
// checks its field limits (api/limits.h), authenticates, rate-limits, calls
// the engine and maps its Status with api::ToGrpcStatus; a node's stream is
// a reactor and a NodeLink. Also: the standard health service and server
// reflection, TLS (or plaintext on loopback only), keepalive, a hello
// deadline and message-size limits. No governance or protocol logic.
// Bytes that do not parse as the request (or, on a node stream, as a
// NodeToCoordinator frame) get INVALID_ARGUMENT with a message; a garbage
// frame ends the stream with that error, never with OK.
//
// Rate limits: a signed request is charged to its user once authenticated;
// a request that fails authentication, a failed hello and an enrollment
// attempt are charged to the caller's IP address (not ip:port), so an
// unauthenticated flood cannot use up a signed user's budget.

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "api/chunks.h"
#include "coordinator/engine.h"
#include "grpcpp/grpcpp.h"

namespace kring::coordinator {

struct ServerOptions {
  std::string listen = "127.0.0.1:7443";
  // PEM files; both empty means plaintext, allowed only with
  // insecure_loopback and a loopback listen address.
  std::string tls_cert_file;
  std::string tls_key_file;
  bool insecure_loopback = false;
  // The largest message received, before authentication or after: a
  // hello or a signed request needs far less; a node sends bigger messages
  // in chunks after its hello (api/chunks.h), up to api::kMaxMessageBytes.
  // Responses may be up to api::kMaxMessageBytes.
  int max_receive_bytes = api::kMaxReceiveBytes;
  // Requests per second per user (token bucket with this burst); the same
  // budget for failed authentications per IP address.
  double requests_per_second = 20;
  double burst = 60;
  // Enrollment attempts per IP address (one school board may enroll its
  // schools in one go; guessing a 48-bit code at this rate is hopeless).
  double enrollments_per_second = 0.1;
  double enrollment_burst = 20;
  // A node stream without a valid hello by then is closed
  // (UNAUTHENTICATED).
  std::chrono::milliseconds hello_deadline{std::chrono::seconds(10)};
  // HTTP/2 keepalive: a ping after this much silence; a peer that does not
  // answer within keepalive_timeout is gone (its stream ends, so its school
  // may connect again).
  std::chrono::milliseconds keepalive_time{std::chrono::seconds(30)};
  std::chrono::milliseconds keepalive_timeout{std::chrono::seconds(10)};
  // Memory gRPC may use for its buffers across all connections. Incoming
  // messages are read within it, so a flood of large unauthenticated
  // messages is refused (RESOURCE_EXHAUSTED) instead of buffered: 16
  // concurrent 63 MiB requests peak at about 100-250 MiB of RSS instead of
  // 2.4 GB. gRPC (1.51, and later: grpc/grpc#43012) reads a whole message
  // before it compares its size with max_receive_bytes, so the quota, not
  // the receive limit, bounds what one oversized message costs: with 32
  // MiB, a 63 MiB message is never held whole. Legitimate messages are at
  // most max_receive_bytes (node messages come in chunks), so about 30 can
  // be read at once.
  int64_t memory_quota_bytes = int64_t{32} << 20;
};

class Server {
 public:
  // The checks Start makes before it binds: TLS with both PEM files
  // readable, or plaintext only with insecure_loopback on a loopback
  // address. INVALID_ARGUMENT or NOT_FOUND saying which flag to fix.
  // (`kring-coordinator serve --check-config`.)
  static absl::Status CheckOptions(const ServerOptions& options);
  // Starts serving. INVALID_ARGUMENT for plaintext on a non-loopback
  // address or without insecure_loopback; UNAVAILABLE when the address
  // cannot be bound.
  static absl::StatusOr<std::unique_ptr<Server>> Start(Engine* engine,
                                                       ServerOptions options);
  ~Server();
  // The port actually bound (useful with port 0).
  int port() const { return port_; }
  void Wait();
  void Shutdown();

 private:
  struct Impl;
  Server() = default;
  std::unique_ptr<Impl> impl_;
  int port_ = 0;
};

}  // namespace kring::coordinator

#endif  // KRING_COORDINATOR_SERVER_H_
