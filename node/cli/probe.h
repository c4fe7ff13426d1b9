#ifndef KRING_NODE_CLI_PROBE_H_
#define KRING_NODE_CLI_PROBE_H_

// What `kring-node doctor` asks the coordinator: whether its address takes
// a TCP connection, whether a node stream opens (TLS handshake), the
// coordinator's clock, and whether it accepts this node's signed hello.

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <optional>

#include "absl/status/status.h"
#include "crypto/identity.h"
#include "grpcpp/grpcpp.h"
#include "node/config.h"

namespace kring::node {

struct CoordinatorProbe {
  // A plain TCP connection to config.coordinator (before TLS).
  absl::Status tcp;
  // Whether the node stream opened: the coordinator sent its initial
  // metadata, so the TLS handshake (or loopback plaintext) worked.
  bool stream_opened = false;
  // The stream's end after one signed hello and a half-close: OK (hello
  // accepted, the school was not connected), ALREADY_EXISTS (hello
  // accepted, the school's `kring-node run` is connected),
  // UNAUTHENTICATED (identity or clock refused), UNAVAILABLE, ...
  grpc::Status call;
  // The coordinator's clock minus this machine's, and how far that figure
  // may be off (half the round trip); nullopt when the coordinator did not
  // report its clock.
  std::optional<int64_t> skew_millis;
  int64_t skew_uncertainty_millis = 0;
};

// Probes the coordinator of `config` as `kring-node run` would dial it
// (NodeChannelOptions with `data_dir`), signing the hello with `identity`.
// Takes at most about `timeout` twice. If the hello is accepted while the
// school is not connected, the coordinator sees the school connect and
// leave at once (as after a short network drop); queries it offers in that
// moment are offered again when `kring-node run` connects.
CoordinatorProbe ProbeCoordinator(const NodeConfig& config,
                                  const std::filesystem::path& data_dir,
                                  const crypto::IdentityKeyPair& identity,
                                  std::chrono::milliseconds timeout);

}  // namespace kring::node

#endif  // KRING_NODE_CLI_PROBE_H_
