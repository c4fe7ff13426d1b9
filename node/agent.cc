#include "node/agent.h"

#include <fcntl.h>
#include <sodium.h>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <iostream>
#include <mutex>
#include <optional>
#include <random>
#include <thread>

#include "api/auth.h"
#include "api/channel.h"
#include "api/chunks.h"
#include "grpcpp/grpcpp.h"
#include "kring/v1/service.grpc.pb.h"
#include "util/str_cat.h"

namespace kring::node {

namespace {

using Stream =
    grpc::ClientReaderWriter<v1::NodeToCoordinator, v1::CoordinatorToNode>;

// Writes `m`, in chunks if it is larger than the coordinator receives in
// one message; false when the connection is gone.
bool WriteChunked(Stream& stream, const v1::NodeToCoordinator& m) {
  for (const v1::NodeToCoordinator& part : api::Chunk(m)) {
    if (!stream.Write(part)) return false;
  }
  return true;
}

// The audit log for the session; a failed write is also reported on
// stderr.
class AuditLogSink final : public AuditSink {
 public:
  explicit AuditLogSink(AuditLog* log) : log_(log) {}
  absl::Status Append(std::string_view kind, std::string_view summary,
                      AuditFields fields) override {
    absl::Status s = log_->Append(kind, summary, std::move(fields));
    if (!s.ok()) {
      std::cerr << "kring-node: writing the audit log failed: "
                << ToStd(s.message()) << "\n";
    }
    return s;
  }
  absl::StatusOr<bool> Contains(std::string_view kind, std::string_view name,
                                std::string_view value) override {
    return log_->Contains(kind, name, value);
  }

 private:
  AuditLog* log_;
};

// The store for the session.
class StoreRecords final : public SchoolRecords {
 public:
  explicit StoreRecords(Store* store) : store_(store) {}
  absl::Status ForEach(
      const std::function<void(const v1::PupilRecord&)>& f) override {
    return store_->ForEach(f);
  }
  absl::StatusOr<bool> Contributed(std::string_view query_id) override {
    return store_->Contributed(query_id);
  }
  absl::Status SpendPrivacy(const PrivacySpend& spend,
                            double budget_per_wave) override {
    return store_->SpendPrivacy(spend, budget_per_wave);
  }
  absl::StatusOr<std::vector<PrivacySpend>> PrivacySpent() override {
    return store_->PrivacySpent();
  }

 private:
  Store* store_;
};

SessionTime Now() {
  return {api::NowMillis(), std::chrono::steady_clock::now()};
}

// One agent per data directory: two could each contribute once. The lock
// is held while the returned descriptor is open.
absl::StatusOr<int> LockDataDir(const std::filesystem::path& data_dir) {
  const std::filesystem::path lock_path = data_dir / "agent.lock";
  const int fd = ::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) {
    return absl::PermissionDeniedError(
        StrCat("cannot open ", lock_path.string(), ": ", std::strerror(errno)));
  }
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    ::close(fd);
    return absl::FailedPreconditionError(
        StrCat("another `kring-node run` is already serving the data "
               "directory ",
               data_dir.string(), "; stop it first"));
  }
  return fd;
}

SessionOptions SessionOptionsOf(const AgentOptions& o) {
  SessionOptions s;
  s.config = o.config;
  s.instruments = o.instruments;
  s.run_resume_window = o.run_resume_window;
  s.plaintext_sender = o.plaintext_sender;
  s.noise = o.noise;
  return s;
}

}  // namespace

struct Agent::Impl {
  Impl(AgentOptions o, crypto::IdentityKeyPair id, int lock, Store* store,
       AuditLog* audit)
      : options(std::move(o)),
        identity(std::move(id)),
        lock_fd(lock),
        audit_sink(audit),
        records(store),
        pending(options.data_dir),
        session(SessionOptionsOf(options), &identity, &audit_sink, &records,
                &pending) {}
  ~Impl() { ::close(lock_fd); }  // releases the flock

  bool SayHello(Stream& stream);
  bool Serve(Stream& stream);
  bool WriteReply(Stream& stream, const v1::NodeToCoordinator& reply);
  void PollDecisions();
  void Wait(std::chrono::milliseconds wait);

  const AgentOptions options;
  const crypto::IdentityKeyPair identity;
  const int lock_fd;  // data_dir/agent.lock, held while the agent exists
  AuditLogSink audit_sink;
  StoreRecords records;
  PendingDirectory pending;
  // To each coordinator address (node.yaml), tried in turn.
  std::vector<std::shared_ptr<grpc::Channel>> channels;
  std::atomic<bool> stopping{false};
  std::mutex session_mu;  // the session's state
  Session session;
  std::mutex mu;  // the live connection's context, stream and writes
  grpc::ClientContext* context = nullptr;
  Stream* stream = nullptr;
};

// Sends the signed hello; false if the connection is gone.
bool Agent::Impl::SayHello(Stream& stream) {
  v1::NodeToCoordinator hello;
  v1::NodeHello* h = hello.mutable_hello();
  h->set_school_id(options.config.school_id);
  h->set_unix_millis(api::NowMillis());
  std::string nonce(16, '\0');
  randombytes_buf(nonce.data(), nonce.size());
  h->set_nonce(nonce);
  h->set_version(options.version);
  auto sig = identity.Sign(
      api::kHelloContext,
      api::HelloSigningBytes(h->school_id(), h->unix_millis(), h->nonce()));
  if (!sig.ok()) return false;
  h->set_signature(*sig);
  return stream.Write(hello);
}

// One connection; returns when it ends. True if the coordinator answered
// the hello (the backoff starts over).
bool Agent::Impl::Serve(Stream& stream) {
  if (!SayHello(stream)) return false;
  v1::CoordinatorToNode m;
  bool greeted = false;
  while (!stopping && stream.Read(&m)) {
    greeted = true;
    std::vector<v1::NodeToCoordinator> replies;
    {
      std::lock_guard lock(session_mu);
      replies = session.Handle(m, Now());
    }
    for (const v1::NodeToCoordinator& reply : replies) {
      if (!WriteReply(stream, reply)) return greeted;
    }
    // Noise for what was just accepted, drawn after the decision left.
    std::lock_guard lock(session_mu);
    session.Prepare();
  }
  return greeted;
}

// Writes `reply` through the reply filter, if any; false when the
// connection is gone or the filter dropped it.
bool Agent::Impl::WriteReply(Stream& stream,
                             const v1::NodeToCoordinator& reply) {
  using Action = ReplyFilter::Action;
  ReplyFilter* filter = options.reply_filter.get();
  std::lock_guard lock(mu);
  if (filter != nullptr && filter->BeforeWrite(reply) == Action::kDisconnect) {
    context->TryCancel();
    return false;
  }
  if (!WriteChunked(stream, reply)) return false;
  if (filter != nullptr && filter->AfterWrite(reply) == Action::kDisconnect) {
    context->TryCancel();
    return false;
  }
  return true;
}

// School IT's decisions on waiting tasks, sent when found. The session
// stays locked until the noise of what was accepted is drawn, so that a
// run start arriving meanwhile waits for it (lock order: session_mu, mu).
void Agent::Impl::PollDecisions() {
  std::lock_guard session_lock(session_mu);
  const std::vector<v1::NodeToCoordinator> replies =
      session.PollDecisions(Now());
  if (replies.empty()) return;
  {
    std::lock_guard lock(mu);
    for (const auto& r : replies) {
      if (stream != nullptr) WriteChunked(*stream, r);
    }
  }
  session.Prepare();  // after the decisions left
}

// Sleeps for `wait`, or until Stop().
void Agent::Impl::Wait(std::chrono::milliseconds wait) {
  for (auto waited = std::chrono::milliseconds(0); waited < wait && !stopping;
       waited += std::chrono::milliseconds(50)) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
}

Agent::Agent(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Agent::~Agent() = default;

absl::StatusOr<std::unique_ptr<Agent>> Agent::Create(AgentOptions options,
                                                     Store* store,
                                                     AuditLog* audit) {
  std::filesystem::path key_path = options.config.identity_key;
  if (key_path.is_relative()) key_path = options.data_dir / key_path;
  auto identity = crypto::IdentityKeyPair::LoadPrivateKeyFile(key_path);
  if (!identity.ok()) return identity.status();
  auto lock = LockDataDir(options.data_dir);
  if (!lock.ok()) return lock.status();
  std::vector<std::shared_ptr<grpc::Channel>> channels;
  for (const api::ChannelOptions& o :
       NodeChannelOptionsAll(options.config, options.data_dir)) {
    auto channel = api::MakeChannel(o);
    if (!channel.ok()) {
      ::close(*lock);
      return channel.status();
    }
    channels.push_back(*std::move(channel));
  }
  auto impl = std::make_unique<Impl>(std::move(options), *std::move(identity),
                                     *lock, store, audit);
  impl->channels = std::move(channels);
  return std::unique_ptr<Agent>(new Agent(std::move(impl)));
}

void Agent::Run() {
  Impl& a = *impl_;
  std::thread poller;
  if (a.options.config.policy.manual_accept) {
    poller = std::thread([&a] {
      while (!a.stopping) {
        a.PollDecisions();
        std::this_thread::sleep_for(std::chrono::milliseconds(300));
      }
    });
  }
  std::mt19937_64 jitter(std::random_device{}());
  auto backoff = a.options.backoff_min;
  size_t current = 0;  // the coordinator address tried now
  while (!a.stopping) {
    auto stub = v1::Coordinator::NewStub(a.channels[current]);
    grpc::ClientContext context;
    {
      std::lock_guard lock(a.mu);
      a.context = &context;
      // A Stop() that came before the context was set could not cancel it.
      if (a.stopping) context.TryCancel();
    }
    auto stream = stub->Connect(&context);
    {
      std::lock_guard lock(a.mu);
      a.stream = stream.get();
    }
    const bool greeted = a.Serve(*stream);
    {
      std::lock_guard lock(a.mu);
      a.context = nullptr;
      a.stream = nullptr;
    }
    stream->WritesDone();
    const grpc::Status status = stream->Finish();
    if (a.stopping) break;
    if (greeted) backoff = a.options.backoff_min;
    if (status.error_code() == grpc::StatusCode::UNAUTHENTICATED) {
      std::cerr << "kring-node: the coordinator refused this node: "
                << status.error_message() << "\n";
    }
    // The next address (failover): the one that accepts serves.
    current = (current + 1) % a.channels.size();
    // Runs in progress are kept: on reconnecting, the coordinator sends the
    // current round's message again (Session answers it again).
    {
      std::lock_guard lock(a.session_mu);
      a.session.DropStaleRuns(Now());
    }
    // Exponential backoff with jitter (50%..100% of the current step).
    std::uniform_real_distribution<double> spread(0.5, 1.0);
    a.Wait(std::chrono::milliseconds(static_cast<int64_t>(
        static_cast<double>(backoff.count()) * spread(jitter))));
    backoff = std::min(a.options.backoff_max, backoff * 2);
  }
  if (poller.joinable()) poller.join();
}

void Agent::Stop() {
  impl_->stopping = true;
  std::lock_guard lock(impl_->mu);
  if (impl_->context != nullptr) impl_->context->TryCancel();
}

}  // namespace kring::node
