#include "client/connection.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <algorithm>
#include <cctype>
#include <fstream>
#include <sstream>

#include "google/protobuf/descriptor.h"
#include "util/str_cat.h"

namespace kring::client {
namespace {

// Results can be large tables; the same limit as the coordinator's.
constexpr int kMaxMessageBytes = 64 << 20;

std::string Lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) {
    return static_cast<char>(std::tolower(c));
  });
  return out;
}

bool IsPort(std::string_view port) {
  if (port.empty() || port.size() > 5) return false;
  uint32_t v = 0;
  for (char c : port) {
    if (c < '0' || c > '9') return false;
    v = v * 10 + static_cast<uint32_t>(c - '0');
  }
  return v >= 1 && v <= 65535;
}

bool IsLoopbackIpv4(const std::string& host) {
  in_addr a{};
  if (inet_pton(AF_INET, host.c_str(), &a) != 1) return false;
  return (ntohl(a.s_addr) >> 24) == 127;
}

bool IsLoopbackIpv6(const std::string& host) {
  in6_addr a{};
  if (inet_pton(AF_INET6, host.c_str(), &a) != 1) return false;
  if (IN6_IS_ADDR_LOOPBACK(&a)) return true;
  return IN6_IS_ADDR_V4MAPPED(&a) && a.s6_addr[12] == 127;
}

absl::StatusOr<std::string> ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return absl::NotFoundError(
        StrCat("cannot read the CA file ", path,
               " (--ca or KRING_CA): check the path and its permissions"));
  }
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace

bool IsLoopbackAddress(std::string_view address) {
  if (address.starts_with("[")) {
    const size_t close = address.find(']');
    if (close == std::string_view::npos) return false;
    const std::string_view rest = address.substr(close + 1);
    if (!rest.starts_with(":") || !IsPort(rest.substr(1))) return false;
    return IsLoopbackIpv6(std::string(address.substr(1, close - 1)));
  }
  const size_t colon = address.find(':');
  if (colon == std::string_view::npos || colon == 0 ||
      address.find(':', colon + 1) != std::string_view::npos ||
      !IsPort(address.substr(colon + 1))) {
    return false;  // no port, a bare IPv6 address, or a gRPC scheme
  }
  const std::string host(address.substr(0, colon));
  return Lower(host) == "localhost" || IsLoopbackIpv4(host);
}

absl::Status CheckTransportPolicy(const ChannelOptions& options) {
  if (options.address.empty()) {
    return absl::InvalidArgumentError(
        "no coordinator address: give --coordinator HOST:PORT or set "
        "KRING_COORDINATOR");
  }
  if (!options.insecure_loopback) return absl::OkStatus();
  if (!options.ca_file.empty()) {
    return absl::InvalidArgumentError(
        "--insecure-loopback (plaintext) and --ca (TLS) exclude each other; "
        "give one of them (is KRING_CA set?)");
  }
  if (!IsLoopbackAddress(options.address)) {
    return absl::InvalidArgumentError(StrCat(
        "--insecure-loopback refuses ", options.address,
        ": plaintext is only allowed to this machine (127.0.0.1:PORT, "
        "[::1]:PORT or localhost:PORT). For any other coordinator leave out "
        "--insecure-loopback and use TLS, with --ca FILE for a private CA"));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::shared_ptr<grpc::Channel>> MakeChannel(
    const ChannelOptions& options) {
  if (absl::Status s = CheckTransportPolicy(options); !s.ok()) return s;
  std::shared_ptr<grpc::ChannelCredentials> creds;
  if (options.insecure_loopback) {
    creds = grpc::InsecureChannelCredentials();
  } else {
    grpc::SslCredentialsOptions ssl;
    if (!options.ca_file.empty()) {
      absl::StatusOr<std::string> pem = ReadFile(options.ca_file);
      if (!pem.ok()) return pem.status();
      if (pem->find("-----BEGIN CERTIFICATE-----") == std::string::npos) {
        return absl::InvalidArgumentError(
            StrCat(options.ca_file,
                   " holds no PEM certificate (-----BEGIN CERTIFICATE-----); "
                   "--ca needs the CA certificate, e.g. ca.pem from "
                   "deploy/dev-ca.sh"));
      }
      ssl.pem_root_certs = *std::move(pem);
    }
    creds = grpc::SslCredentials(ssl);
  }
  grpc::ChannelArguments args;
  args.SetMaxReceiveMessageSize(kMaxMessageBytes);
  args.SetMaxSendMessageSize(kMaxMessageBytes);
  std::shared_ptr<grpc::Channel> channel =
      grpc::CreateCustomChannel(options.address, creds, args);
  if (channel == nullptr) {
    return absl::InvalidArgumentError(
        StrCat("cannot use the coordinator address ", options.address));
  }
  return channel;
}

absl::Status FromGrpc(const grpc::Status& status, std::string_view address) {
  if (status.ok()) return absl::OkStatus();
  const auto code = static_cast<absl::StatusCode>(status.error_code());
  const std::string& message = status.error_message();
  switch (status.error_code()) {
    case grpc::StatusCode::UNAVAILABLE: {
      const std::string lower = Lower(message);
      if (lower.find("handshake") != std::string::npos ||
          lower.find("certificate") != std::string::npos ||
          lower.find("ssl") != std::string::npos) {
        return absl::Status(
            code, StrCat("cannot make a TLS connection to the coordinator at ",
                         address, " (", message,
                         "). Check --ca (the CA that signed the "
                         "coordinator's certificate) and that the address "
                         "is a name in that certificate"));
      }
      return absl::Status(
          code,
          StrCat("cannot reach the coordinator at ", address, " (", message,
                 "). Is it running there, is the address right "
                 "(--coordinator or KRING_COORDINATOR), and does TLS "
                 "(--ca) or --insecure-loopback match how it serves?"));
    }
    case grpc::StatusCode::DEADLINE_EXCEEDED:
      return absl::Status(code,
                          StrCat("the coordinator at ", address,
                                 " did not answer in time; try again later"));
    default:
      return absl::Status(code, message);
  }
}

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
    const ChannelOptions& options, std::string user_id,
    crypto::IdentityKeyPair key, std::chrono::milliseconds deadline) {
  absl::StatusOr<std::shared_ptr<grpc::Channel>> channel = MakeChannel(options);
  if (!channel.ok()) return channel.status();
  return Connection(options.address, std::move(user_id), std::move(key),
                    v1::Coordinator::NewStub(*channel), deadline);
}

}  // namespace kring::client
