#include "coordinator/server.h"

#include <condition_variable>
#include <deque>
#include <fstream>
#include <map>
#include <sstream>
#include <thread>

#include "api/channel.h"
#include "api/limits.h"
#include "api/status.h"
#include "grpcpp/ext/proto_server_reflection_plugin.h"
#include "grpcpp/health_check_service_interface.h"
#include "kring/v1/service.grpc.pb.h"
#include "util/file.h"
#include "util/status_macros.h"
#include "util/str_cat.h"

namespace kring::coordinator {
namespace {

// "ipv4:127.0.0.1:5555" -> "ipv4:127.0.0.1".
std::string PeerHost(const std::string& peer) {
  const size_t colon = peer.rfind(':');
  return colon == std::string::npos ? peer : peer.substr(0, colon);
}

// Per-user token buckets.
class RateLimiter {
 public:
  RateLimiter(double rate, double burst) : rate_(rate), burst_(burst) {}
  bool Allow(const std::string& user) {
    std::lock_guard lock(mu_);
    const auto now = std::chrono::steady_clock::now();
    auto [it, fresh] = buckets_.try_emplace(user, Bucket{burst_, now});
    Bucket& b = it->second;
    if (!fresh) {
      const double dt = std::chrono::duration<double>(now - b.at).count();
      b.tokens = std::min(burst_, b.tokens + dt * rate_);
      b.at = now;
    }
    if (b.tokens < 1) return false;
    b.tokens -= 1;
    return true;
  }

 private:
  struct Bucket {
    double tokens;
    std::chrono::steady_clock::time_point at;
  };
  std::mutex mu_;
  double rate_, burst_;
  std::map<std::string, Bucket> buckets_;
};

// A node's stream: messages are queued by Send and written by the stream's
// own writer thread, so the engine never blocks on a slow node.
class StreamLink : public NodeLink {
 public:
  bool Send(const v1::CoordinatorToNode& m) override {
    std::lock_guard lock(mu_);
    if (closed_) return false;
    queue_.push_back(m);
    cv_.notify_one();
    return true;
  }
  // Writer loop; returns when closed or a write fails.
  void Pump(grpc::ServerReaderWriter<v1::CoordinatorToNode,
                                     v1::NodeToCoordinator>* stream) {
    std::unique_lock lock(mu_);
    while (true) {
      cv_.wait(lock, [&] { return closed_ || !queue_.empty(); });
      if (closed_) return;
      v1::CoordinatorToNode m = std::move(queue_.front());
      queue_.pop_front();
      lock.unlock();
      const bool ok = stream->Write(m);
      lock.lock();
      if (!ok) {
        closed_ = true;
        return;
      }
    }
  }
  bool Healthy() const override {
    std::lock_guard lock(mu_);
    return !closed_;
  }
  void Close() {
    std::lock_guard lock(mu_);
    closed_ = true;
    cv_.notify_all();
  }

 private:
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<v1::CoordinatorToNode> queue_;
  bool closed_ = false;
};

class Service final : public v1::Coordinator::Service {
 public:
  Service(Engine* engine, const ServerOptions& o)
      : engine_(engine), limiter_(o.requests_per_second, o.burst) {}

  // Authenticates and rate-limits a user request.
  // Unauthenticated traffic is limited per peer address, then each user
  // per user id once authenticated, so nobody can spend another user's
  // budget.
  template <typename Request>
  absl::StatusOr<User> Caller(grpc::ServerContext* ctx, std::string_view method,
                              const Request& r) {
    KRING_RETURN_IF_ERROR(api::CheckRequestLimits(r));
    if (!limiter_.Allow(StrCat("peer:", PeerHost(ctx->peer())))) {
      return absl::ResourceExhaustedError(
          "too many requests from this address; retry in a few seconds");
    }
    auto user = engine_->Authenticate(method, r, r.auth());
    if (!user.ok()) return user;
    if (!limiter_.Allow(StrCat("user:", user->user_id))) {
      return absl::ResourceExhaustedError(
          "too many requests; slow down and retry in a few seconds");
    }
    return user;
  }

  grpc::Status SubmitQuery(grpc::ServerContext* ctx,
                           const v1::SubmitQueryRequest* r,
                           v1::SubmitQueryResponse* out) override {
    auto user = Caller(ctx, "SubmitQuery", *r);
    if (!user.ok()) return api::ToGrpcStatus(user.status());
    auto q = engine_->Submit(*user, r->spec());
    if (!q.ok()) return api::ToGrpcStatus(q.status());
    *out->mutable_query() = *q;
    return grpc::Status::OK;
  }
  grpc::Status ListQueries(grpc::ServerContext* ctx,
                           const v1::ListQueriesRequest* r,
                           v1::ListQueriesResponse* out) override {
    auto user = Caller(ctx, "ListQueries", *r);
    if (!user.ok()) return api::ToGrpcStatus(user.status());
    auto page = engine_->ListPage(*user, r->page_token());
    if (!page.ok()) return api::ToGrpcStatus(page.status());
    *out = *std::move(page);
    return grpc::Status::OK;
  }
  grpc::Status GetQuery(grpc::ServerContext* ctx, const v1::GetQueryRequest* r,
                        v1::GetQueryResponse* out) override {
    auto user = Caller(ctx, "GetQuery", *r);
    if (!user.ok()) return api::ToGrpcStatus(user.status());
    auto q = engine_->Get(*user, r->query_id());
    if (!q.ok()) return api::ToGrpcStatus(q.status());
    *out->mutable_query() = *q;
    return grpc::Status::OK;
  }
  grpc::Status ApproveQuery(grpc::ServerContext* ctx,
                            const v1::ApproveQueryRequest* r,
                            v1::QueryResponse* out) override {
    auto user = Caller(ctx, "ApproveQuery", *r);
    if (!user.ok()) return api::ToGrpcStatus(user.status());
    auto q = engine_->Approve(*user, r->query_id(), r->signature());
    if (!q.ok()) return api::ToGrpcStatus(q.status());
    *out->mutable_query() = *q;
    return grpc::Status::OK;
  }
  grpc::Status RejectQuery(grpc::ServerContext* ctx,
                           const v1::RejectQueryRequest* r,
                           v1::QueryResponse* out) override {
    auto user = Caller(ctx, "RejectQuery", *r);
    if (!user.ok()) return api::ToGrpcStatus(user.status());
    auto q = engine_->Reject(*user, r->query_id(), r->reason());
    if (!q.ok()) return api::ToGrpcStatus(q.status());
    *out->mutable_query() = *q;
    return grpc::Status::OK;
  }
  grpc::Status GetResult(grpc::ServerContext* ctx,
                         const v1::GetResultRequest* r,
                         v1::GetResultResponse* out) override {
    auto user = Caller(ctx, "GetResult", *r);
    if (!user.ok()) return api::ToGrpcStatus(user.status());
    auto body = engine_->Result(*user, r->query_id(), r->format());
    if (!body.ok()) return api::ToGrpcStatus(body.status());
    out->set_query_id(r->query_id());
    out->set_format(r->format());
    out->set_body(*body);
    return grpc::Status::OK;
  }
  grpc::Status CreateEnrollmentCode(
      grpc::ServerContext* ctx, const v1::CreateEnrollmentCodeRequest* r,
      v1::CreateEnrollmentCodeResponse* out) override {
    auto user = Caller(ctx, "CreateEnrollmentCode", *r);
    if (!user.ok()) return api::ToGrpcStatus(user.status());
    auto code = engine_->CreateEnrollmentCode(*user, *r);
    if (!code.ok()) return api::ToGrpcStatus(code.status());
    *out = *code;
    return grpc::Status::OK;
  }
  grpc::Status RegisterUser(grpc::ServerContext* ctx,
                            const v1::RegisterUserRequest* r,
                            v1::RegisterUserResponse* out) override {
    auto user = Caller(ctx, "RegisterUser", *r);
    if (!user.ok()) return api::ToGrpcStatus(user.status());
    User added;
    added.user_id = r->user_id();
    added.role = r->role();
    added.public_key = r->public_key();
    added.municipalities.assign(r->municipalities().begin(),
                                r->municipalities().end());
    auto fp = engine_->RegisterUser(*user, std::move(added));
    if (!fp.ok()) return api::ToGrpcStatus(fp.status());
    out->set_fingerprint(*fp);
    return grpc::Status::OK;
  }
  grpc::Status GrantResult(grpc::ServerContext* ctx,
                           const v1::GrantResultRequest* r,
                           v1::GrantResultResponse*) override {
    auto user = Caller(ctx, "GrantResult", *r);
    if (!user.ok()) return api::ToGrpcStatus(user.status());
    return api::ToGrpcStatus(
        engine_->Grant(*user, r->query_id(), r->user_id()));
  }
  grpc::Status ListNodes(grpc::ServerContext* ctx,
                         const v1::ListNodesRequest* r,
                         v1::ListNodesResponse* out) override {
    auto user = Caller(ctx, "ListNodes", *r);
    if (!user.ok()) return api::ToGrpcStatus(user.status());
    auto nodes = engine_->Nodes(*user);
    if (!nodes.ok()) return api::ToGrpcStatus(nodes.status());
    for (auto& n : *nodes) *out->add_nodes() = std::move(n);
    return grpc::Status::OK;
  }
  grpc::Status Enroll(grpc::ServerContext* ctx, const v1::EnrollRequest* r,
                      v1::EnrollResponse* out) override {
    if (!limiter_.Allow(StrCat("enroll:", ctx->peer()))) {
      return api::ToGrpcStatus(
          absl::ResourceExhaustedError("too many attempts"));
    }
    if (auto s = api::CheckRequestLimits(*r); !s.ok()) {
      return api::ToGrpcStatus(s);
    }
    auto e = engine_->Enroll(*r);
    if (!e.ok()) return api::ToGrpcStatus(e.status());
    *out = *e;
    return grpc::Status::OK;
  }

  grpc::Status Connect(
      grpc::ServerContext*,
      grpc::ServerReaderWriter<v1::CoordinatorToNode, v1::NodeToCoordinator>*
          stream) override {
    v1::NodeToCoordinator first;
    if (!stream->Read(&first) || !first.has_hello()) {
      return api::ToGrpcStatus(absl::UnauthenticatedError(
          "a node's first message must be its signed hello"));
    }
    if (auto s = api::CheckFieldLimits(first); !s.ok()) {
      return api::ToGrpcStatus(s);
    }
    auto school = engine_->Hello(first.hello());
    if (!school.ok()) return api::ToGrpcStatus(school.status());
    auto link = std::make_shared<StreamLink>();
    std::thread writer([&] { link->Pump(stream); });
    if (absl::Status s = engine_->Connected(*school, link); !s.ok()) {
      link->Close();
      writer.join();
      return api::ToGrpcStatus(s);
    }
    v1::NodeToCoordinator m;
    while (stream->Read(&m)) {
      if (!limiter_.Allow(StrCat("node:", *school))) continue;
      if (!api::CheckFieldLimits(m).ok()) continue;  // an oversized reason
      engine_->FromNode(*school, m);
    }
    engine_->Disconnected(*school, link.get());
    link->Close();
    writer.join();
    return grpc::Status::OK;
  }

 private:
  Engine* engine_;
  RateLimiter limiter_;
};

}  // namespace

struct Server::Impl {
  std::unique_ptr<Service> service;
  std::unique_ptr<grpc::Server> server;
};

absl::StatusOr<std::unique_ptr<Server>> Server::Start(Engine* engine,
                                                      ServerOptions o) {
  std::shared_ptr<grpc::ServerCredentials> creds;
  if (o.tls_cert_file.empty() && o.tls_key_file.empty()) {
    if (!o.insecure_loopback) {
      return absl::InvalidArgumentError(
          "no TLS certificate given (--tls-cert, --tls-key); plaintext needs "
          "--insecure-loopback and a loopback address");
    }
    if (!api::IsLoopbackAddress(o.listen, /*allow_port_zero=*/true)) {
      return absl::InvalidArgumentError(
          StrCat("--insecure-loopback refuses ", o.listen,
                 ": plaintext is only allowed on 127.0.0.1, [::1] or "
                 "localhost"));
    }
    creds = grpc::InsecureServerCredentials();
  } else {
    auto cert = ReadFileToString(o.tls_cert_file);
    if (!cert.ok()) return cert.status();
    auto key = ReadFileToString(o.tls_key_file);
    if (!key.ok()) return key.status();
    grpc::SslServerCredentialsOptions ssl;
    ssl.pem_key_cert_pairs.push_back({*key, *cert});
    creds = grpc::SslServerCredentials(ssl);
  }
  grpc::EnableDefaultHealthCheckService(true);
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  auto impl = std::make_unique<Impl>();
  impl->service = std::make_unique<Service>(engine, o);
  grpc::ServerBuilder builder;
  int port = 0;
  builder.AddListeningPort(o.listen, creds, &port);
  builder.RegisterService(impl->service.get());
  builder.SetMaxReceiveMessageSize(o.max_message_bytes);
  builder.SetMaxSendMessageSize(o.max_message_bytes);
  impl->server = builder.BuildAndStart();
  if (impl->server == nullptr || port == 0) {
    return absl::UnavailableError(
        StrCat("cannot listen on ", o.listen,
               " (in use, or not an address of this machine)"));
  }
  impl->server->GetHealthCheckService()->SetServingStatus(true);
  std::unique_ptr<Server> s(new Server());
  s->impl_ = std::move(impl);
  s->port_ = port;
  return s;
}

Server::~Server() { Shutdown(); }

void Server::Wait() { impl_->server->Wait(); }

void Server::Shutdown() {
  if (impl_ && impl_->server) {
    impl_->server->Shutdown(std::chrono::system_clock::now() +
                            std::chrono::seconds(2));
  }
}

}  // namespace kring::coordinator
