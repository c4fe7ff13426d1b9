// Exhaustion before authentication, against a real kring-coordinator: many
// idle Connect streams that never send a hello hold no thread each, stay
// within memory, and signed requests are answered meanwhile. Prints the
// figures; KRING_IDLE_STREAMS sets the number of streams (2000 by default;
// the target is measured with 10000).

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <memory>
#include <string>
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

}  // namespace
}  // namespace kring::testing
