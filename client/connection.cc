#include "client/connection.h"

#include <algorithm>
#include <cctype>
#include <fstream>
#include <sstream>

#include "google/protobuf/descriptor.h"
#include "util/str_cat.h"

namespace kring::client {

absl::StatusOr<std::string> MethodFor(
    const google::protobuf::Descriptor& request) {
  const google::protobuf::ServiceDescriptor* service =
      google::protobuf::DescriptorPool::generated_pool()->FindServiceByName(
          v1::Coordinator::service_full_name());
  if (service == nullptr) {
    return absl::InternalError("the Coordinator service is not linked in");
  }
  const google::protobuf::MethodDescriptor* found = nullptr;
  for (int i = 0; i < service->method_count(); ++i) {
    const google::protobuf::MethodDescriptor* m = service->method(i);
    if (m->input_type() != &request) continue;
    if (found != nullptr) {
      return absl::InternalError(StrCat(
          request.full_name(), " is the request of more than one method"));
    }
    found = m;
  }
  if (found == nullptr) {
    return absl::InternalError(
        StrCat(request.full_name(), " is no Coordinator request"));
  }
  return std::string(found->name());
}

absl::StatusOr<Connection> Connection::Open(
    const api::ChannelOptions& options, std::string user_id,
    crypto::IdentityKeyPair key, std::chrono::milliseconds deadline) {
  absl::StatusOr<std::shared_ptr<grpc::Channel>> channel =
      api::MakeChannel(options);
  if (!channel.ok()) return channel.status();
  return Connection(options.address, options.names, std::move(user_id),
                    std::move(key), v1::Coordinator::NewStub(*channel),
                    deadline);
}

}  // namespace kring::client
