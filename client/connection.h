#ifndef KRING_CLIENT_CONNECTION_H_
#define KRING_CLIENT_CONNECTION_H_

// The requester's connection to the coordinator: a channel from
// api/channel.h (TLS, or plaintext only to a loopback address and only when
// asked for), and signed calls. Every request is signed with the user's
// Ed25519 key (see api/auth.h), sent with a deadline, and its grpc::Status
// comes back as an absl::Status carrying the coordinator's message
// (api/status.h).

#include <chrono>
#include <memory>
#include <string>
#include <string_view>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "api/auth.h"
#include "api/channel.h"
#include "api/status.h"
#include "crypto/identity.h"
#include "grpcpp/grpcpp.h"
#include "kring/v1/service.grpc.pb.h"

namespace kring::client {

inline constexpr std::string_view kDefaultCoordinator = "127.0.0.1:7443";

// The Coordinator method (its RPC name, e.g. "SubmitQuery") whose request
// type is `request`; INTERNAL if the service has none or several.
absl::StatusOr<std::string> MethodFor(
    const google::protobuf::Descriptor& request);

// A signed-in connection to the coordinator. Move-only; not thread-safe
// (use one per thread).
class Connection {
 public:
  static constexpr std::chrono::seconds kDefaultDeadline{30};

  // Makes the channel (see api::MakeChannel). `user_id` is the id the
  // coordinator's admin registered with `key`'s public key.
  static absl::StatusOr<Connection> Open(
      const api::ChannelOptions& options, std::string user_id,
      crypto::IdentityKeyPair key,
      std::chrono::milliseconds deadline = kDefaultDeadline);

  Connection(Connection&&) = default;
  Connection& operator=(Connection&&) = default;

  // Signs `request` as this connection's user for the method that takes
  // it, calls `rpc` with the deadline and returns the response or the
  // coordinator's error. Example:
  //   conn.Call(&v1::Coordinator::Stub::ListNodes, v1::ListNodesRequest())
  template <typename Request, typename Response>
  absl::StatusOr<Response> Call(
      grpc::Status (v1::Coordinator::Stub::*rpc)(grpc::ClientContext*,
                                                 const Request&, Response*),
      Request request) {
    absl::StatusOr<std::string> method = MethodFor(*Request::descriptor());
    if (!method.ok()) return method.status();
    if (absl::Status s = api::SignRequest(*method, user_id_, key_, request);
        !s.ok()) {
      return s;
    }
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + deadline_);
    Response response;
    grpc::Status status = (stub_.get()->*rpc)(&context, request, &response);
    if (!status.ok()) {
      return api::FromGrpcStatus(status, address_, names_);
    }
    return response;
  }

  const std::string& user_id() const { return user_id_; }
  const crypto::IdentityKeyPair& key() const { return key_; }
  const std::string& address() const { return address_; }

 private:
  Connection(std::string address, api::SettingNames names, std::string user_id,
             crypto::IdentityKeyPair key,
             std::unique_ptr<v1::Coordinator::Stub> stub,
             std::chrono::milliseconds deadline)
      : address_(std::move(address)),
        names_(std::move(names)),
        user_id_(std::move(user_id)),
        key_(std::move(key)),
        stub_(std::move(stub)),
        deadline_(deadline) {}

  std::string address_;
  api::SettingNames names_;
  std::string user_id_;
  crypto::IdentityKeyPair key_;
  std::unique_ptr<v1::Coordinator::Stub> stub_;
  std::chrono::milliseconds deadline_;
};

}  // namespace kring::client

#endif  // KRING_CLIENT_CONNECTION_H_
