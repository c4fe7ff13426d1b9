#include "node/cli/probe.h"

#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>

#include "api/auth.h"
#include "api/channel.h"
#include "crypto/random.h"
#include "kring/v1/service.grpc.pb.h"
#include "util/str_cat.h"

namespace kring::node {
namespace {

// Connects one socket to `ai` within `timeout`; 0 or an errno value.
int ConnectOne(const addrinfo& ai, std::chrono::milliseconds timeout) {
  const int fd =
      ::socket(ai.ai_family, ai.ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC,
               ai.ai_protocol);
  if (fd < 0) return errno;
  int err = 0;
  if (::connect(fd, ai.ai_addr, ai.ai_addrlen) != 0) {
    err = errno;
    if (err == EINPROGRESS) {
      pollfd p{fd, POLLOUT, 0};
      const int ready = ::poll(&p, 1, static_cast<int>(timeout.count()));
      socklen_t len = sizeof err;
      if (ready == 1) {
        ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len);
      } else {
        err = ready == 0 ? ETIMEDOUT : errno;
      }
    }
  }
  ::close(fd);
  return err;
}

// A TCP connection to "host:port" ("[v6]:port" too) within `timeout`.
absl::Status TcpConnect(std::string_view address,
                        std::chrono::milliseconds timeout) {
  const size_t colon = address.rfind(':');
  if (colon == std::string_view::npos) {
    return absl::InvalidArgumentError(
        StrCat("coordinator address ", address, " has no :port"));
  }
  std::string host(address.substr(0, colon));
  const std::string port(address.substr(colon + 1));
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  if (int rc = ::getaddrinfo(host.c_str(), port.c_str(), &hints, &found);
      rc != 0) {
    return absl::UnavailableError(
        StrCat("cannot resolve ", host, ": ", ::gai_strerror(rc)));
  }
  int err = EHOSTUNREACH;
  for (const addrinfo* ai = found; ai != nullptr; ai = ai->ai_next) {
    err = ConnectOne(*ai, timeout);
    if (err == 0) break;
  }
  ::freeaddrinfo(found);
  if (err == 0) return absl::OkStatus();
  return absl::UnavailableError(
      StrCat("no TCP connection to ", address, ": ", std::strerror(err)));
}

v1::NodeToCoordinator SignedHello(const NodeConfig& config,
                                  const crypto::IdentityKeyPair& identity) {
  v1::NodeToCoordinator m;
  v1::NodeHello* h = m.mutable_hello();
  h->set_school_id(config.school_id);
  h->set_unix_millis(api::NowMillis());
  std::string nonce(api::kNonceBytes, '\0');
  crypto::SystemRandom().Fill(std::span<uint8_t>(
      reinterpret_cast<uint8_t*>(nonce.data()), nonce.size()));
  h->set_nonce(nonce);
  h->set_version("kring-node 0.1 doctor");
  auto sig = identity.Sign(
      api::kHelloContext,
      api::HelloSigningBytes(h->school_id(), h->unix_millis(), h->nonce()));
  if (sig.ok()) h->set_signature(*sig);  // an unsigned hello is refused
  return m;
}

// The coordinator's clock from the stream's initial metadata.
std::optional<int64_t> ServerMillis(const grpc::ClientContext& ctx) {
  const auto& md = ctx.GetServerInitialMetadata();
  auto it = md.find(api::kServerTimeMetadata);
  if (it == md.end()) return std::nullopt;
  int64_t v = 0;
  const auto& text = it->second;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || end != text.data() + text.size()) {
    return std::nullopt;
  }
  return v;
}

}  // namespace

CoordinatorProbe ProbeCoordinator(const NodeConfig& config,
                                  const std::filesystem::path& data_dir,
                                  const crypto::IdentityKeyPair& identity,
                                  std::chrono::milliseconds timeout) {
  CoordinatorProbe probe;
  probe.tcp = TcpConnect(config.coordinator, timeout);
  if (!probe.tcp.ok()) return probe;
  auto channel = api::MakeChannel(NodeChannelOptions(config, data_dir));
  if (!channel.ok()) {
    probe.call = grpc::Status(grpc::StatusCode::FAILED_PRECONDITION,
                              std::string(ToStd(channel.status().message())));
    return probe;
  }
  auto stub = v1::Coordinator::NewStub(*channel);
  grpc::ClientContext ctx;
  const auto deadline = std::chrono::system_clock::now() + timeout;
  ctx.set_deadline(deadline);
  // Connect (and shake hands) first, so that the clock comparison below
  // spans only the stream's round trip.
  (void)(*channel)->WaitForConnected(deadline);
  const int64_t before = api::NowMillis();
  auto stream = stub->Connect(&ctx);
  stream->WaitForInitialMetadata();
  const int64_t after = api::NowMillis();
  if (std::optional<int64_t> server = ServerMillis(ctx)) {
    probe.stream_opened = true;
    probe.skew_millis = *server - (before + after) / 2;
    probe.skew_uncertainty_millis = (after - before + 1) / 2;
  }
  stream->Write(SignedHello(config, identity));
  stream->WritesDone();
  v1::CoordinatorToNode ignored;
  while (stream->Read(&ignored)) {
  }
  probe.call = stream->Finish();
  // An older coordinator sends no clock; a stream that ended on its own
  // terms (not UNAVAILABLE) still shows the handshake worked.
  if (!probe.stream_opened &&
      probe.call.error_code() != grpc::StatusCode::UNAVAILABLE &&
      probe.call.error_code() != grpc::StatusCode::DEADLINE_EXCEEDED) {
    probe.stream_opened = true;
  }
  return probe;
}

}  // namespace kring::node
