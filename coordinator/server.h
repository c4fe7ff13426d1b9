#ifndef KRING_COORDINATOR_SERVER_H_
#define KRING_COORDINATOR_SERVER_H_

// The gRPC adapter, kept thin: kring.v1.Coordinator over an Engine (each
// call authenticates, rate-limits, calls the engine and maps its Status
// with api::ToGrpcStatus), a node's stream as a NodeLink, the standard
// health service and server reflection, TLS (or plaintext on loopback
// only) and message-size limits. No governance or protocol logic.

#include <memory>
#include <string>

#include "absl/status/statusor.h"
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
  int max_message_bytes = 64 << 20;
  // Requests per second per user (token bucket with this burst).
  double requests_per_second = 20;
  double burst = 60;
};

class Server {
 public:
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
