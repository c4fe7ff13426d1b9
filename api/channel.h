#ifndef KRING_API_CHANNEL_H_
#define KRING_API_CHANNEL_H_

// The one way kring dials the coordinator, and the one transport policy:
// TLS by default (a private CA from a PEM file, or the system's CAs);
// plaintext only to a loopback address and only when explicitly asked for.
// A configured CA file that cannot be read is an error, never a silent
// fall-back to the system's CAs.

#include <memory>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "grpcpp/grpcpp.h"

namespace kring::api {

// The largest gRPC message either side accepts (results can be large
// tables).
inline constexpr int kMaxMessageBytes = 64 << 20;

// HTTP/2 keepalive of kring's channels: a ping after this much silence, and
// the connection is gone when it is not answered within the timeout. The
// coordinator accepts pings this often.
inline constexpr int kKeepaliveTimeMillis = 30'000;
inline constexpr int kKeepaliveTimeoutMillis = 10'000;

// True iff `address` is "host:port" whose host is an IPv4 literal in
// 127.0.0.0/8, "[::1]" (or an IPv4-mapped 127.x address in brackets) or
// "localhost" (any case), and whose port is 1..65535 — or 0 as well when
// `allow_port_zero` (a listen address: "any free port"). Host names that
// merely start with "127.", bare IPv6 addresses and gRPC target schemes
// ("dns:", "ipv4:", "unix:", ...) are not loopback.
bool IsLoopbackAddress(std::string_view address, bool allow_port_zero = false);

// How the user sets each option, for messages that say what to change
// (the CLI's flags by default; the node names its node.yaml keys).
struct SettingNames {
  std::string address = "--coordinator (or KRING_COORDINATOR)";
  std::string ca_file = "--ca (or KRING_CA)";
  std::string insecure_loopback = "--insecure-loopback";
};

struct ChannelOptions {
  // "host:port" of the coordinator (or any gRPC target, with TLS).
  std::string address;
  // PEM file with the CA certificate(s) the coordinator's certificate must
  // chain to; empty means the system's trusted CAs.
  std::string ca_file;
  // Plaintext instead of TLS; allowed only to a loopback address.
  bool insecure_loopback = false;
  SettingNames names;
};

// INVALID_ARGUMENT, saying what to do instead, when `options` has no
// address, asks for plaintext to a non-loopback address, or for both
// plaintext and a CA file.
absl::Status CheckTransportPolicy(const ChannelOptions& options);

// A channel to the coordinator, after CheckTransportPolicy, with message
// limits of kMaxMessageBytes and keepalive. Does not connect yet. NOT_FOUND for
// a CA file that cannot be read, INVALID_ARGUMENT for one without a PEM
// certificate.
absl::StatusOr<std::shared_ptr<grpc::Channel>> MakeChannel(
    const ChannelOptions& options);

}  // namespace kring::api

#endif  // KRING_API_CHANNEL_H_
