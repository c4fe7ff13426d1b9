// Exhaustion before authentication, against a real kring-coordinator: many
// idle Connect streams that never send a hello hold no thread each, stay
// within memory, and signed requests are answered meanwhile. Prints the
// figures; KRING_IDLE_STREAMS sets the number of streams (2000 by default;
// the target is measured with 10000).

#include <signal.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "gtest/gtest.h"
#include "tests/integration/cluster.h"

namespace kring::testing {
namespace {

// A field of /proc/PID/status ("Threads", "VmRSS"), as a number.
long ProcStatus(pid_t pid, const std::string& field) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(field + ":", 0) == 0) {
      return std::strtol(line.c_str() + field.size() + 1, nullptr, 10);
    }
  }
  return -1;
}

using Stream =
    grpc::ClientReaderWriter<v1::NodeToCoordinator, v1::CoordinatorToNode>;

TEST(FloodTest, IdleUnauthenticatedStreamsHoldNoThreadEach) {
  const char* env = std::getenv("KRING_IDLE_STREAMS");
  const int n = env != nullptr ? std::atoi(env) : 2000;
  Cluster c;
  c.Init();
  TestUser admin = c.AddUser("admin", "admin");
  c.StartCoordinator(60, 8, {"--hello-seconds", "600"});
  const pid_t pid = c.coordinator_pid();
  const long threads_before = ProcStatus(pid, "Threads");
  const long rss_before_kib = ProcStatus(pid, "VmRSS");

  constexpr int kStreamsPerChannel = 500;
  std::vector<std::unique_ptr<v1::Coordinator::Stub>> stubs;
  std::vector<std::unique_ptr<grpc::ClientContext>> contexts;
  std::vector<std::unique_ptr<Stream>> streams;
  for (int i = 0; i < n; ++i) {
    if (i % kStreamsPerChannel == 0) {
      grpc::ChannelArguments args;
      args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
      stubs.push_back(v1::Coordinator::NewStub(grpc::CreateCustomChannel(
          c.address(), grpc::InsecureChannelCredentials(), args)));
    }
    contexts.push_back(std::make_unique<grpc::ClientContext>());
    streams.push_back(stubs.back()->Connect(contexts.back().get()));
  }

  // Signed requests are answered while the streams are open.
  v1::ListNodesResponse nodes;
  EXPECT_TRUE(c.Call(admin, "ListNodes", v1::ListNodesRequest(), &nodes,
                     &v1::Coordinator::Stub::ListNodes)
                  .ok());
  const long threads = ProcStatus(pid, "Threads");
  const long rss_kib = ProcStatus(pid, "VmRSS");
  std::cout << "idle unauthenticated streams: " << n
            << "; coordinator threads: " << threads << " (" << threads_before
            << " before); RSS: " << rss_kib / 1024 << " MiB ("
            << rss_before_kib / 1024 << " before)\n";
  RecordProperty("idle_streams", n);
  RecordProperty("coordinator_threads", static_cast<int>(threads));
  RecordProperty("coordinator_rss_mib", static_cast<int>(rss_kib / 1024));
  EXPECT_GT(threads, 0);
  EXPECT_LT(threads, 100);
  EXPECT_LT(rss_kib, 300 * 1024);
  // Close them all; the coordinator ends each with its reactor.
  for (auto& ctx : contexts) ctx->TryCancel();
}

// 16 concurrent unauthenticated requests of 63 MiB each (which took an
// unprotected coordinator from 0.34 to 2.4 GB): refused, within the
// coordinator's memory bound, and a signed user is served afterwards.
TEST(FloodTest, OversizedUnauthenticatedRequestsStayWithinMemory) {
  Cluster c;
  c.Init();
  TestUser admin = c.AddUser("admin", "admin");
  c.StartCoordinator();
  const pid_t pid = c.coordinator_pid();
  constexpr int kRequests = 16;
  std::vector<std::thread> threads;
  std::atomic<int> refused = 0;
  std::mutex codes_mu;
  std::map<int, int> codes;  // status code -> count
  for (int i = 0; i < kRequests; ++i) {
    threads.emplace_back([&] {
      v1::ListNodesRequest r;
      r.mutable_auth()->set_user_id("admin");
      r.mutable_auth()->set_nonce(std::string(63 << 20, 'x'));
      v1::ListNodesResponse out;
      grpc::ClientContext ctx;
      ctx.set_deadline(std::chrono::system_clock::now() +
                       std::chrono::seconds(120));
      const grpc::Status s = c.stub().ListNodes(&ctx, r, &out);
      refused += !s.ok();
      if (!s.ok()) {
        std::lock_guard lock(codes_mu);
        ++codes[s.error_code()];
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(refused, kRequests);
  const long peak_kib = ProcStatus(pid, "VmHWM");
  std::cout << kRequests << " concurrent 63 MiB unauthenticated requests: "
            << "coordinator peak RSS " << peak_kib / 1024 << " MiB; refused";
  for (const auto& [code, count] : codes) {
    std::cout << " " << count << " x code " << code;
  }
  std::cout << "\n";
  RecordProperty("coordinator_peak_rss_mib", static_cast<int>(peak_kib / 1024));
  // Measured 100-250 MiB (unprotected: 2.4 GB); the bound leaves room for
  // a loaded machine.
  EXPECT_LT(peak_kib, 400 * 1024);
  v1::ListNodesResponse nodes;
  EXPECT_TRUE(c.Call(admin, "ListNodes", v1::ListNodesRequest(), &nodes,
                     &v1::Coordinator::Stub::ListNodes)
                  .ok());
}

// The receive limit is small (api::kMaxReceiveBytes) and the memory quota
// smaller than such a message, so one 63 MiB unauthenticated request,
// unary or as the first message of a node stream, is refused with
// RESOURCE_EXHAUSTED without the coordinator ever holding it whole; a
// signed user is served right after.
TEST(FloodTest, OversizedUnauthenticatedMessageIsRefusedCheaply) {
  Cluster c;
  c.Init();
  TestUser admin = c.AddUser("admin", "admin");
  c.StartCoordinator();
  const pid_t pid = c.coordinator_pid();
  v1::ListNodesResponse nodes;
  ASSERT_TRUE(c.Call(admin, "ListNodes", v1::ListNodesRequest(), &nodes,
                     &v1::Coordinator::Stub::ListNodes)
                  .ok());
  const long peak_before_kib = ProcStatus(pid, "VmHWM");
  const std::string big(63 << 20, 'x');
  {
    v1::ListNodesRequest r;
    r.mutable_auth()->set_user_id("admin");
    r.mutable_auth()->set_nonce(big);
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() +
                     std::chrono::seconds(60));
    const grpc::Status s = c.stub().ListNodes(&ctx, r, &nodes);
    EXPECT_EQ(s.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED)
        << s.error_message();
  }
  {
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() +
                     std::chrono::seconds(60));
    auto stream = c.stub().Connect(&ctx);
    v1::NodeToCoordinator hello;
    hello.mutable_hello()->set_school_id("S1");
    hello.mutable_hello()->set_nonce(big);
    stream->Write(hello);
    stream->WritesDone();
    v1::CoordinatorToNode ignored;
    while (stream->Read(&ignored)) {
    }
    const grpc::Status s = stream->Finish();
    EXPECT_EQ(s.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED)
        << s.error_message();
  }
  const long peak_kib = ProcStatus(pid, "VmHWM");
  std::cout << "two 63 MiB unauthenticated messages: coordinator peak RSS "
            << peak_kib / 1024 << " MiB (" << peak_before_kib / 1024
            << " MiB before)\n";
  RecordProperty("coordinator_peak_rss_growth_mib",
                 static_cast<int>((peak_kib - peak_before_kib) / 1024));
  // Neither message was held whole (63 MiB each): gRPC reads a message
  // before it checks its size (grpc/grpc#43012), but only within the
  // coordinator's 32 MiB memory quota. Measured: 35 MiB more at the peak
  // on an idle machine, 56 MiB once on a loaded one (allocator arenas of
  // the threads that read): always less than one whole message.
  EXPECT_LT(peak_kib - peak_before_kib, 63 * 1024);
  EXPECT_TRUE(c.Call(admin, "ListNodes", v1::ListNodesRequest(), &nodes,
                     &v1::Coordinator::Stub::ListNodes)
                  .ok());
}

// Keepalive decides whether a link is alive: a node that stops answering
// (SIGSTOP: its TCP connection stays open) is disconnected by the
// coordinator's pings, with an event, and connects again once it runs.
TEST(FloodTest, KeepaliveDropsALinkWhoseNodeStoppedAnswering) {
  Cluster c;
  c.Init();
  TestUser approver = c.AddUser("approver", "approver");
  TestUser admin = c.AddUser("admin", "admin");
  c.StartCoordinator(60, 8, {"--keepalive-seconds", "1"});
  c.AddSchool("S1", "GM0363", 101, 20, approver);
  c.StartNode("S1");
  c.WaitConnected(admin, {"S1"});
  const pid_t node = c.node_pid("S1");
  ASSERT_GT(node, 0);
  ::kill(node, SIGSTOP);
  v1::NodeInfo info;
  const bool dropped = WaitUntil(
      [&] {
        v1::ListNodesResponse nodes;
        if (!c.Call(admin, "ListNodes", v1::ListNodesRequest(), &nodes,
                    &v1::Coordinator::Stub::ListNodes)
                 .ok() ||
            nodes.nodes_size() != 1) {
          return false;
        }
        info = nodes.nodes(0);
        return !info.connected();
      },
      std::chrono::seconds(60));
  ::kill(node, SIGCONT);
  ASSERT_TRUE(dropped);
  ASSERT_GT(info.events_size(), 0);
  EXPECT_EQ(info.events(info.events_size() - 1).what(), "disconnected");
  c.WaitConnected(admin, {"S1"});
}

}  // namespace
}  // namespace kring::testing
