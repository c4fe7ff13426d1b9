#include "coordinator/server.h"

#include <condition_variable>
#include <deque>
#include <fstream>
#include <map>
#include <sstream>
#include <thread>
#include <vector>

#include "api/auth.h"
#include "api/channel.h"
#include "api/limits.h"
#include "api/status.h"
#include "grpcpp/ext/proto_server_reflection_plugin.h"
#include "grpcpp/health_check_service_interface.h"
#include "grpcpp/support/server_interceptor.h"
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

// Token buckets by key ("user:ID", "ip:HOST", ...). Full buckets are
// forgotten now and then, so a flood from many addresses cannot grow the
// map without bound.
class RateLimiter {
 public:
  RateLimiter(double rate, double burst) : rate_(rate), burst_(burst) {}
  bool Allow(const std::string& key) {
    std::lock_guard lock(mu_);
    const auto now = std::chrono::steady_clock::now();
    if (++calls_ % 4096 == 0) Prune(now);
    auto [it, fresh] = buckets_.try_emplace(key, Bucket{burst_, now});
    Bucket& b = it->second;
    if (!fresh) Refill(b, now);
    if (b.tokens < 1) return false;
    b.tokens -= 1;
    return true;
  }

 private:
  struct Bucket {
    double tokens;
    std::chrono::steady_clock::time_point at;
  };
  void Refill(Bucket& b, std::chrono::steady_clock::time_point now) {
    const double dt = std::chrono::duration<double>(now - b.at).count();
    b.tokens = std::min(burst_, b.tokens + dt * rate_);
    b.at = now;
  }
  void Prune(std::chrono::steady_clock::time_point now) {
    for (auto it = buckets_.begin(); it != buckets_.end();) {
      Refill(it->second, now);
      it = it->second.tokens >= burst_ ? buckets_.erase(it) : std::next(it);
    }
  }
  std::mutex mu_;
  const double rate_, burst_;
  uint64_t calls_ = 0;
  std::map<std::string, Bucket> buckets_;
};

grpc::ServerUnaryReactor* Reply(grpc::CallbackServerContext* ctx,
                                const grpc::Status& status) {
  grpc::ServerUnaryReactor* reactor = ctx->DefaultReactor();
  reactor->Finish(status);
  return reactor;
}

grpc::ServerUnaryReactor* Reply(grpc::CallbackServerContext* ctx,
                                const absl::Status& status) {
  return Reply(ctx, api::ToGrpcStatus(status));
}

// gRPC answers a unary request whose bytes do not parse with INTERNAL or
// UNIMPLEMENTED and an empty message, before any handler runs; the
// contract is INVALID_ARGUMENT with a message. Rewrites that status on
// unary calls that never received their request.
class MalformedRequestInterceptor final
    : public grpc::experimental::Interceptor {
 public:
  explicit MalformedRequestInterceptor(grpc::experimental::ServerRpcInfo* info)
      : info_(info) {}
  // gRPC's own answer to a request it could not parse: INTERNAL (sync API)
  // or UNIMPLEMENTED (callback API), without a message.
  static bool Unparsed(const grpc::Status& s) {
    return s.error_message().empty() &&
           (s.error_code() == grpc::StatusCode::INTERNAL ||
            s.error_code() == grpc::StatusCode::UNIMPLEMENTED);
  }
  void Intercept(grpc::experimental::InterceptorBatchMethods* m) override {
    using Hook = grpc::experimental::InterceptionHookPoints;
    // A request that did not parse reaches this hook (if at all) without
    // a message.
    if (m->QueryInterceptionHookPoint(Hook::POST_RECV_MESSAGE) &&
        m->GetRecvMessage() != nullptr) {
      received_ = true;
    }
    if (m->QueryInterceptionHookPoint(Hook::PRE_SEND_STATUS) && !received_ &&
        info_->type() == grpc::experimental::ServerRpcInfo::Type::UNARY &&
        Unparsed(m->GetSendStatus())) {
      m->ModifySendStatus(grpc::Status(
          grpc::StatusCode::INVALID_ARGUMENT,
          StrCat("the request to ", info_->method(),
                 " is not a valid protobuf message of its type "
                 "(proto/kring/v1/service.proto); build it with code "
                 "generated from that file")));
    }
    m->Proceed();
  }

 private:
  grpc::experimental::ServerRpcInfo* info_;
  bool received_ = false;
};

class MalformedRequestInterceptorFactory final
    : public grpc::experimental::ServerInterceptorFactoryInterface {
 public:
  grpc::experimental::Interceptor* CreateServerInterceptor(
      grpc::experimental::ServerRpcInfo* info) override {
    return new MalformedRequestInterceptor(info);
  }
};

class NodeStream;

// Node streams still waiting for their hello, closed by the sweeper at
// their deadline.
class PendingHellos {
 public:
  void Add(NodeStream* s, std::chrono::steady_clock::time_point deadline);
  // False if `s` was not pending (e.g. the sweeper ended it).
  bool Remove(NodeStream* s);
  // Ends the streams whose deadline has passed (UNAUTHENTICATED).
  void Sweep(std::chrono::steady_clock::time_point now);

 private:
  std::mutex mu_;
  std::map<NodeStream*, std::chrono::steady_clock::time_point> pending_;
};

class Service;

// A node's Connect stream as a callback reactor: hello first, then the
// node's messages to the engine; the engine's messages are queued by Send
// (a NodeLink, shared with the dispatcher) and written one at a time, so
// the engine never blocks on a slow node. It reads raw frames and parses
// them itself: gRPC reports a frame that does not parse like the end of the
// stream, and a garbage frame must end it with an error, not OK.
class NodeStream final
    : public grpc::ServerBidiReactor<grpc::ByteBuffer, grpc::ByteBuffer> {
 public:
  NodeStream(Service& service, grpc::CallbackServerContext* ctx);

  void OnReadDone(bool ok) override;
  void OnWriteDone(bool ok) override;
  void OnCancel() override;
  void OnDone() override;

  // Ends the stream: no hello within the deadline.
  void Expire();

 private:
  // The NodeLink the dispatcher holds; may outlive the stream.
  class Link final : public NodeLink {
   public:
    explicit Link(NodeStream* s) : stream_(s) {}
    bool Send(const v1::CoordinatorToNode& m) override;
    bool Healthy() const override;
    void Detach();

   private:
    mutable std::mutex mu_;
    NodeStream* stream_;  // null once the stream is done
  };

  void OnHello();
  // Parses the frame read into in_bytes_ into in_; INVALID_ARGUMENT if it
  // is not a NodeToCoordinator message.
  absl::Status ParseFrame();
  // Ends the stream with `status` once queued writes are done. Not with
  // mu_ held.
  void End(const grpc::Status& status);
  // Queues `m`; false once the stream is ending. Link::mu_ held.
  bool Enqueue(const v1::CoordinatorToNode& m);
  // Tells the engine the link is gone (once it was offered).
  void LeaveEngine();

  Service& service_;
  const std::string host_;
  std::shared_ptr<Link> link_;
  grpc::ByteBuffer in_bytes_;
  v1::NodeToCoordinator in_;
  api::ChunkAssembler assembler_{api::kMaxMessageBytes};  // after the hello

  std::mutex mu_;
  std::deque<grpc::ByteBuffer> out_;  // serialized; front is being written
  bool writing_ = false;
  bool ending_ = false;
  bool finished_ = false;
  bool cancelled_ = false;
  grpc::Status end_status_;
  std::string school_;  // set once the hello is verified
};

// Every method on the callback API; Connect on raw frames (NodeStream).
using C = v1::Coordinator;
using CoordinatorBase =
    C::WithCallbackMethod_SubmitQuery<C::WithCallbackMethod_ListQueries<
        C::WithCallbackMethod_GetQuery<C::WithCallbackMethod_ApproveQuery<
            C::WithCallbackMethod_RejectQuery<C::WithCallbackMethod_GetResult<
                C::WithCallbackMethod_CreateEnrollmentCode<
                    C::WithCallbackMethod_RegisterUser<
                        C::WithCallbackMethod_GrantResult<
                            C::WithCallbackMethod_ListNodes<
                                C::WithCallbackMethod_Enroll<
                                    C::WithRawCallbackMethod_Connect<
                                        C::Service>>>>>>>>>>>>;

class Service final : public CoordinatorBase {
 public:
  Service(Engine* engine, const ServerOptions& o)
      : engine_(engine),
        options_(o),
        limiter_(o.requests_per_second, o.burst),
        enroll_limiter_(o.enrollments_per_second, o.enrollment_burst) {}

  Engine& engine() { return *engine_; }
  const ServerOptions& options() const { return options_; }
  PendingHellos& pending() { return pending_; }
  // Charges a failed authentication (or hello) to the caller's address;
  // RESOURCE_EXHAUSTED instead of `failure` once the address is over its
  // budget.
  absl::Status Refuse(const std::string& host, absl::Status failure) {
    if (!limiter_.Allow(StrCat("ip:", host))) {
      return absl::ResourceExhaustedError(
          "too many failed requests from this address; retry in a few "
          "seconds");
    }
    return failure;
  }
  // Charges a node's message to its school.
  bool AllowNode(const std::string& school) {
    return limiter_.Allow(StrCat("node:", school));
  }

  // Checks the field limits, authenticates, then rate-limits by user (see
  // server.h).
  template <typename Request>
  absl::StatusOr<User> Caller(grpc::CallbackServerContext* ctx,
                              std::string_view method, const Request& r) {
    KRING_RETURN_IF_ERROR(api::CheckRequestLimits(r));
    auto user = engine_->Authenticate(method, r, r.auth());
    if (!user.ok()) return Refuse(PeerHost(ctx->peer()), user.status());
    if (!limiter_.Allow(StrCat("user:", user->user_id))) {
      return absl::ResourceExhaustedError(
          "too many requests; slow down and retry in a few seconds");
    }
    return user;
  }

  grpc::ServerUnaryReactor* SubmitQuery(grpc::CallbackServerContext* ctx,
                                        const v1::SubmitQueryRequest* r,
                                        v1::SubmitQueryResponse* out) override {
    auto user = Caller(ctx, "SubmitQuery", *r);
    if (!user.ok()) return Reply(ctx, user.status());
    auto q = engine_->Submit(*user, r->spec());
    if (!q.ok()) return Reply(ctx, q.status());
    *out->mutable_query() = *q;
    return Reply(ctx, grpc::Status::OK);
  }
  grpc::ServerUnaryReactor* ListQueries(grpc::CallbackServerContext* ctx,
                                        const v1::ListQueriesRequest* r,
                                        v1::ListQueriesResponse* out) override {
    auto user = Caller(ctx, "ListQueries", *r);
    if (!user.ok()) return Reply(ctx, user.status());
    auto page = engine_->ListPage(*user, r->page_token());
    if (!page.ok()) return Reply(ctx, page.status());
    *out = *std::move(page);
    return Reply(ctx, grpc::Status::OK);
  }
  grpc::ServerUnaryReactor* GetQuery(grpc::CallbackServerContext* ctx,
                                     const v1::GetQueryRequest* r,
                                     v1::GetQueryResponse* out) override {
    auto user = Caller(ctx, "GetQuery", *r);
    if (!user.ok()) return Reply(ctx, user.status());
    auto q = engine_->Get(*user, r->query_id());
    if (!q.ok()) return Reply(ctx, q.status());
    *out->mutable_query() = *q;
    return Reply(ctx, grpc::Status::OK);
  }
  grpc::ServerUnaryReactor* ApproveQuery(grpc::CallbackServerContext* ctx,
                                         const v1::ApproveQueryRequest* r,
                                         v1::QueryResponse* out) override {
    auto user = Caller(ctx, "ApproveQuery", *r);
    if (!user.ok()) return Reply(ctx, user.status());
    auto q = engine_->Approve(*user, r->query_id(), r->signature());
    if (!q.ok()) return Reply(ctx, q.status());
    *out->mutable_query() = *q;
    return Reply(ctx, grpc::Status::OK);
  }
  grpc::ServerUnaryReactor* RejectQuery(grpc::CallbackServerContext* ctx,
                                        const v1::RejectQueryRequest* r,
                                        v1::QueryResponse* out) override {
    auto user = Caller(ctx, "RejectQuery", *r);
    if (!user.ok()) return Reply(ctx, user.status());
    auto q = engine_->Reject(*user, r->query_id(), r->reason());
    if (!q.ok()) return Reply(ctx, q.status());
    *out->mutable_query() = *q;
    return Reply(ctx, grpc::Status::OK);
  }
  grpc::ServerUnaryReactor* GetResult(grpc::CallbackServerContext* ctx,
                                      const v1::GetResultRequest* r,
                                      v1::GetResultResponse* out) override {
    auto user = Caller(ctx, "GetResult", *r);
    if (!user.ok()) return Reply(ctx, user.status());
    auto body = engine_->Result(*user, r->query_id(), r->format());
    if (!body.ok()) return Reply(ctx, body.status());
    out->set_query_id(r->query_id());
    out->set_format(r->format());
    out->set_body(*body);
    return Reply(ctx, grpc::Status::OK);
  }
  grpc::ServerUnaryReactor* CreateEnrollmentCode(
      grpc::CallbackServerContext* ctx,
      const v1::CreateEnrollmentCodeRequest* r,
      v1::CreateEnrollmentCodeResponse* out) override {
    auto user = Caller(ctx, "CreateEnrollmentCode", *r);
    if (!user.ok()) return Reply(ctx, user.status());
    auto code = engine_->CreateEnrollmentCode(*user, *r);
    if (!code.ok()) return Reply(ctx, code.status());
    *out = *code;
    return Reply(ctx, grpc::Status::OK);
  }
  grpc::ServerUnaryReactor* RegisterUser(
      grpc::CallbackServerContext* ctx, const v1::RegisterUserRequest* r,
      v1::RegisterUserResponse* out) override {
    auto user = Caller(ctx, "RegisterUser", *r);
    if (!user.ok()) return Reply(ctx, user.status());
    User added;
    added.user_id = r->user_id();
    added.role = r->role();
    added.public_key = r->public_key();
    added.municipalities.assign(r->municipalities().begin(),
                                r->municipalities().end());
    auto fp = engine_->RegisterUser(*user, std::move(added));
    if (!fp.ok()) return Reply(ctx, fp.status());
    out->set_fingerprint(*fp);
    return Reply(ctx, grpc::Status::OK);
  }
  grpc::ServerUnaryReactor* GrantResult(grpc::CallbackServerContext* ctx,
                                        const v1::GrantResultRequest* r,
                                        v1::GrantResultResponse*) override {
    auto user = Caller(ctx, "GrantResult", *r);
    if (!user.ok()) return Reply(ctx, user.status());
    return Reply(ctx, engine_->Grant(*user, r->query_id(), r->user_id()));
  }
  grpc::ServerUnaryReactor* ListNodes(grpc::CallbackServerContext* ctx,
                                      const v1::ListNodesRequest* r,
                                      v1::ListNodesResponse* out) override {
    auto user = Caller(ctx, "ListNodes", *r);
    if (!user.ok()) return Reply(ctx, user.status());
    auto nodes = engine_->Nodes(*user);
    if (!nodes.ok()) return Reply(ctx, nodes.status());
    for (auto& n : *nodes) *out->add_nodes() = std::move(n);
    return Reply(ctx, grpc::Status::OK);
  }
  grpc::ServerUnaryReactor* Enroll(grpc::CallbackServerContext* ctx,
                                   const v1::EnrollRequest* r,
                                   v1::EnrollResponse* out) override {
    if (!enroll_limiter_.Allow(StrCat("enroll:", PeerHost(ctx->peer())))) {
      return Reply(ctx, absl::ResourceExhaustedError(
                            "too many enrollment attempts from this address; "
                            "retry in a minute"));
    }
    if (auto s = api::CheckRequestLimits(*r); !s.ok()) return Reply(ctx, s);
    auto e = engine_->Enroll(*r);
    if (!e.ok()) return Reply(ctx, e.status());
    *out = *e;
    return Reply(ctx, grpc::Status::OK);
  }

  grpc::ServerBidiReactor<grpc::ByteBuffer, grpc::ByteBuffer>* Connect(
      grpc::CallbackServerContext* ctx) override {
    return new NodeStream(*this, ctx);
  }

 private:
  Engine* engine_;
  const ServerOptions options_;
  RateLimiter limiter_;
  RateLimiter enroll_limiter_;
  PendingHellos pending_;
};

void PendingHellos::Add(NodeStream* s,
                        std::chrono::steady_clock::time_point deadline) {
  std::lock_guard lock(mu_);
  pending_[s] = deadline;
}

bool PendingHellos::Remove(NodeStream* s) {
  std::lock_guard lock(mu_);
  return pending_.erase(s) > 0;
}

void PendingHellos::Sweep(std::chrono::steady_clock::time_point now) {
  std::lock_guard lock(mu_);
  for (auto it = pending_.begin(); it != pending_.end();) {
    if (it->second > now) {
      ++it;
      continue;
    }
    // Valid: a stream leaves the map (under mu_) before it is deleted.
    it->first->Expire();
    it = pending_.erase(it);
  }
}

NodeStream::NodeStream(Service& service, grpc::CallbackServerContext* ctx)
    : service_(service),
      host_(PeerHost(ctx->peer())),
      link_(std::make_shared<Link>(this)) {
  // The coordinator's clock, for the node's skew check (api/auth.h).
  ctx->AddInitialMetadata(api::kServerTimeMetadata,
                          std::to_string(api::NowMillis()));
  StartSendInitialMetadata();
  service_.pending().Add(this, std::chrono::steady_clock::now() +
                                   service_.options().hello_deadline);
  StartRead(&in_bytes_);
}

absl::Status NodeStream::ParseFrame() {
  in_.Clear();
  if (!grpc::SerializationTraits<v1::NodeToCoordinator>::Deserialize(&in_bytes_,
                                                                     &in_)
           .ok()) {
    return absl::InvalidArgumentError(
        "a frame on the node stream is not a kring.v1.NodeToCoordinator "
        "message (proto/kring/v1/service.proto); the stream ends");
  }
  return absl::OkStatus();
}

void NodeStream::OnReadDone(bool ok) {
  if (!ok) {  // the node closed its side, or the stream broke
    End(grpc::Status::OK);
    return;
  }
  if (school_.empty()) {  // only OnHello, in this chain of reads, sets it
    OnHello();
    return;
  }
  if (absl::Status s = ParseFrame(); !s.ok()) {
    End(api::ToGrpcStatus(s));
    return;
  }
  // Chunks are joined first; limits and the rate apply to whole messages.
  auto whole = assembler_.Add(std::move(in_));
  in_.Clear();
  if (!whole.ok()) {
    End(api::ToGrpcStatus(whole.status()));
    return;
  }
  if (whole->has_value()) {
    if (absl::Status s = api::CheckFieldLimits(**whole); !s.ok()) {
      End(api::ToGrpcStatus(s));
      return;
    }
    if (service_.AllowNode(school_)) {
      service_.engine().FromNode(school_, **whole);
    }
  }
  StartRead(&in_bytes_);
}

void NodeStream::OnHello() {
  // A frame that does not parse counts as a failed hello.
  absl::Status refused = ParseFrame();
  if (refused.ok() && !in_.has_hello()) {
    refused = absl::UnauthenticatedError(
        "a node's first message must be its signed hello");
  }
  if (refused.ok()) refused = api::CheckFieldLimits(in_);
  absl::StatusOr<std::string> school =
      refused.ok() ? service_.engine().Hello(in_.hello()) : refused;
  if (!school.ok()) {
    End(api::ToGrpcStatus(service_.Refuse(host_, school.status())));
    return;
  }
  if (!service_.pending().Remove(this)) return;  // too late: ending
  {
    std::lock_guard lock(mu_);
    school_ = *school;
  }
  if (absl::Status s = service_.engine().Connected(*school, link_); !s.ok()) {
    End(api::ToGrpcStatus(s));
    return;
  }
  StartRead(&in_bytes_);
}

bool NodeStream::Enqueue(const v1::CoordinatorToNode& m) {
  grpc::ByteBuffer bytes;
  bool own = false;
  if (!grpc::SerializationTraits<v1::CoordinatorToNode>::Serialize(m, &bytes,
                                                                   &own)
           .ok()) {
    return false;
  }
  std::lock_guard lock(mu_);
  if (ending_ || cancelled_) return false;
  out_.push_back(std::move(bytes));
  if (!writing_) {
    writing_ = true;
    StartWrite(&out_.front());
  }
  return true;
}

void NodeStream::OnWriteDone(bool ok) {
  std::lock_guard lock(mu_);
  out_.pop_front();
  if (!ok) {
    cancelled_ = true;  // the stream broke; OnDone follows
    out_.clear();
  }
  if (!out_.empty() && !cancelled_) {
    StartWrite(&out_.front());
    return;
  }
  writing_ = false;
  if (ending_ && !finished_) {
    finished_ = true;
    Finish(end_status_);
  }
}

void NodeStream::End(const grpc::Status& status) {
  LeaveEngine();
  std::lock_guard lock(mu_);
  if (ending_) return;
  ending_ = true;
  end_status_ = status;
  if (!writing_) {
    finished_ = true;
    Finish(status);
  }
}

void NodeStream::OnCancel() {
  {
    std::lock_guard lock(mu_);
    cancelled_ = true;
  }
  End(grpc::Status::CANCELLED);
}

void NodeStream::LeaveEngine() {
  std::string school;
  {
    std::lock_guard lock(mu_);
    school = school_;
  }
  // A no-op unless this stream's link is the school's current one.
  if (!school.empty()) service_.engine().Disconnected(school, link_.get());
}

void NodeStream::Expire() {
  End(api::ToGrpcStatus(absl::UnauthenticatedError(
      StrCat("no valid hello within ",
             std::chrono::duration_cast<std::chrono::seconds>(
                 service_.options().hello_deadline)
                 .count(),
             " s; a node's first message must be its signed hello"))));
}

void NodeStream::OnDone() {
  service_.pending().Remove(this);
  LeaveEngine();
  link_->Detach();
  delete this;
}

bool NodeStream::Link::Send(const v1::CoordinatorToNode& m) {
  std::lock_guard lock(mu_);
  return stream_ != nullptr && stream_->Enqueue(m);
}

bool NodeStream::Link::Healthy() const {
  std::lock_guard lock(mu_);
  if (stream_ == nullptr) return false;
  std::lock_guard stream_lock(stream_->mu_);
  return !stream_->ending_ && !stream_->cancelled_;
}

void NodeStream::Link::Detach() {
  std::lock_guard lock(mu_);
  stream_ = nullptr;
}

// Closes node streams whose hello is overdue, once a second.
class HelloSweeper {
 public:
  explicit HelloSweeper(PendingHellos& pending)
      : thread_([this, &pending] { Run(pending); }) {}
  ~HelloSweeper() {
    {
      std::lock_guard lock(mu_);
      stop_ = true;
    }
    cv_.notify_all();
    thread_.join();
  }

 private:
  void Run(PendingHellos& pending) {
    std::unique_lock lock(mu_);
    while (!cv_.wait_for(lock, std::chrono::milliseconds(250),
                         [&] { return stop_; })) {
      pending.Sweep(std::chrono::steady_clock::now());
    }
  }
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  std::thread thread_;  // last: starts after the fields it uses
};

}  // namespace

struct Server::Impl {
  std::unique_ptr<Service> service;
  std::unique_ptr<HelloSweeper> sweeper;
  std::unique_ptr<grpc::Server> server;  // last: shuts down first
};

namespace {

void SetTransportOptions(const ServerOptions& o, grpc::ServerBuilder& b) {
  b.SetMaxReceiveMessageSize(o.max_receive_bytes);
  b.SetMaxSendMessageSize(api::kMaxMessageBytes);
  b.AddChannelArgument(GRPC_ARG_KEEPALIVE_TIME_MS,
                       static_cast<int>(o.keepalive_time.count()));
  b.AddChannelArgument(GRPC_ARG_KEEPALIVE_TIMEOUT_MS,
                       static_cast<int>(o.keepalive_timeout.count()));
  b.AddChannelArgument(GRPC_ARG_KEEPALIVE_PERMIT_WITHOUT_CALLS, 1);
  // Nodes ping every api::kKeepaliveTimeMillis; allow that, not more often.
  b.AddChannelArgument(GRPC_ARG_HTTP2_MIN_RECV_PING_INTERVAL_WITHOUT_DATA_MS,
                       api::kKeepaliveTimeMillis / 2);
  b.AddChannelArgument(GRPC_ARG_HTTP2_MAX_PING_STRIKES, 3);
  grpc::ResourceQuota quota("kring-coordinator");
  quota.Resize(static_cast<size_t>(o.memory_quota_bytes));
  b.SetResourceQuota(quota);
}

}  // namespace

absl::Status Server::CheckOptions(const ServerOptions& o) {
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
    return absl::OkStatus();
  }
  for (const auto& [flag, file] : {std::pair{"--tls-cert", &o.tls_cert_file},
                                   std::pair{"--tls-key", &o.tls_key_file}}) {
    if (file->empty()) {
      return absl::InvalidArgumentError(StrCat(
          "TLS needs both --tls-cert and --tls-key; ", flag, " is missing"));
    }
    auto pem = ReadFileToString(*file);
    if (!pem.ok()) return pem.status();
    if (pem->find("-----BEGIN ") == std::string::npos) {
      return absl::InvalidArgumentError(
          StrCat(flag, " ", *file, " holds no PEM block (-----BEGIN ...)"));
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<Server>> Server::Start(Engine* engine,
                                                      ServerOptions o) {
  if (absl::Status s = CheckOptions(o); !s.ok()) return s;
  std::shared_ptr<grpc::ServerCredentials> creds;
  if (o.tls_cert_file.empty() && o.tls_key_file.empty()) {
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
  SetTransportOptions(o, builder);
  std::vector<
      std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>>
      interceptors;
  interceptors.push_back(
      std::make_unique<MalformedRequestInterceptorFactory>());
  builder.experimental().SetInterceptorCreators(std::move(interceptors));
  impl->sweeper = std::make_unique<HelloSweeper>(impl->service->pending());
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
