#include "api/channel.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "util/file.h"
#include "util/str_cat.h"

namespace kring::api {
namespace {

bool IsPort(std::string_view port, bool allow_zero) {
  if (port.empty() || port.size() > 5) return false;
  for (char c : port) {
    if (c < '0' || c > '9') return false;
  }
  uint32_t v = 0;
  if (!absl::SimpleAtoi(absl::string_view(port.data(), port.size()), &v)) {
    return false;
  }
  return (v >= 1 || allow_zero) && v <= 65535;
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

}  // namespace

bool IsLoopbackAddress(std::string_view address, bool allow_port_zero) {
  if (address.starts_with("[")) {
    const size_t close = address.find(']');
    if (close == std::string_view::npos) return false;
    const std::string_view rest = address.substr(close + 1);
    if (!rest.starts_with(":") || !IsPort(rest.substr(1), allow_port_zero)) {
      return false;
    }
    return IsLoopbackIpv6(std::string(address.substr(1, close - 1)));
  }
  const size_t colon = address.find(':');
  if (colon == std::string_view::npos || colon == 0 ||
      address.find(':', colon + 1) != std::string_view::npos ||
      !IsPort(address.substr(colon + 1), allow_port_zero)) {
    return false;  // no port, a bare IPv6 address, or a gRPC scheme
  }
  const std::string host(address.substr(0, colon));
  return absl::AsciiStrToLower(host) == "localhost" || IsLoopbackIpv4(host);
}

absl::Status CheckTransportPolicy(const ChannelOptions& options) {
  const SettingNames& n = options.names;
  if (options.address.empty()) {
    return absl::InvalidArgumentError(
        StrCat("no coordinator address: give ", n.address, " as HOST:PORT"));
  }
  if (!options.insecure_loopback) return absl::OkStatus();
  if (!options.ca_file.empty()) {
    return absl::InvalidArgumentError(
        StrCat(n.insecure_loopback, " (plaintext) and ", n.ca_file,
               " (TLS) exclude each other; give one of them"));
  }
  if (!IsLoopbackAddress(options.address)) {
    return absl::InvalidArgumentError(StrCat(
        n.insecure_loopback, " refuses ", options.address,
        ": plaintext is only allowed to this machine (127.0.0.1:PORT, "
        "[::1]:PORT or localhost:PORT). For any other coordinator leave out ",
        n.insecure_loopback, " and use TLS, with ", n.ca_file,
        " for a private CA"));
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
      absl::StatusOr<std::string> pem = ReadFileToString(options.ca_file);
      if (!pem.ok()) {
        return absl::NotFoundError(StrCat(
            "cannot read the CA file ", options.ca_file, " (",
            options.names.ca_file, "): check the path and its permissions"));
      }
      if (pem->find("-----BEGIN CERTIFICATE-----") == std::string::npos) {
        return absl::InvalidArgumentError(StrCat(
            options.ca_file,
            " holds no PEM certificate (-----BEGIN CERTIFICATE-----); ",
            options.names.ca_file,
            " needs the CA certificate, e.g. ca.pem from deploy/dev-ca.sh"));
      }
      ssl.pem_root_certs = *std::move(pem);
    }
    creds = grpc::SslCredentials(ssl);
  }
  grpc::ChannelArguments args;
  args.SetMaxReceiveMessageSize(kMaxMessageBytes);
  args.SetMaxSendMessageSize(kMaxMessageBytes);
  args.SetInt(GRPC_ARG_KEEPALIVE_TIME_MS, kKeepaliveTimeMillis);
  args.SetInt(GRPC_ARG_KEEPALIVE_TIMEOUT_MS, kKeepaliveTimeoutMillis);
  std::shared_ptr<grpc::Channel> channel =
      grpc::CreateCustomChannel(options.address, creds, args);
  if (channel == nullptr) {
    return absl::InvalidArgumentError(
        StrCat("cannot use the coordinator address ", options.address));
  }
  return channel;
}

}  // namespace kring::api
