#ifndef KRING_API_STATUS_H_
#define KRING_API_STATUS_H_

// The one mapping between absl::Status (kring's errors) and grpc::Status
// (the wire). Codes map one to one; messages travel unchanged.

#include <string_view>

#include "absl/status/status.h"
#include "api/channel.h"
#include "grpcpp/grpcpp.h"

namespace kring::api {

// For a server: the same code and message.
grpc::Status ToGrpcStatus(const absl::Status& status);

// For a caller of the coordinator at `address`: the same code and the
// coordinator's message. Transport failures (UNAVAILABLE,
// DEADLINE_EXCEEDED) get a message that names `address` and says what to
// check, in terms of `names`.
absl::Status FromGrpcStatus(const grpc::Status& status,
                            std::string_view address,
                            const SettingNames& names = {});

}  // namespace kring::api

#endif  // KRING_API_STATUS_H_
