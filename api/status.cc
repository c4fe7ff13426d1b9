#include "api/status.h"

#include <string>

#include "absl/strings/ascii.h"
#include "util/str_cat.h"

namespace kring::api {

grpc::Status ToGrpcStatus(const absl::Status& status) {
  if (status.ok()) return grpc::Status::OK;
  return grpc::Status(static_cast<grpc::StatusCode>(status.code()),
                      std::string(status.message()));
}

absl::Status FromGrpcStatus(const grpc::Status& status,
                            std::string_view address,
                            const SettingNames& names) {
  if (status.ok()) return absl::OkStatus();
  const auto code = static_cast<absl::StatusCode>(status.error_code());
  const std::string& message = status.error_message();
  switch (status.error_code()) {
    case grpc::StatusCode::UNAVAILABLE: {
      const std::string lower = absl::AsciiStrToLower(message);
      if (lower.find("handshake") != std::string::npos ||
          lower.find("certificate") != std::string::npos ||
          lower.find("ssl") != std::string::npos) {
        return absl::Status(
            code, StrCat("cannot make a TLS connection to the coordinator at ",
                         address, " (", message, "). Check ", names.ca_file,
                         " (the CA that signed the coordinator's "
                         "certificate) and that the address is a name in "
                         "that certificate"));
      }
      return absl::Status(
          code,
          StrCat("cannot reach the coordinator at ", address, " (", message,
                 "). Is it running there, is the address right (",
                 names.address, "), and does TLS (", names.ca_file, ") or ",
                 names.insecure_loopback, " match how it serves?"));
    }
    case grpc::StatusCode::DEADLINE_EXCEEDED:
      return absl::Status(code,
                          StrCat("the coordinator at ", address,
                                 " did not answer in time; try again later"));
    default:
      return absl::Status(code, message);
  }
}

}  // namespace kring::api
