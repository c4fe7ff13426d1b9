// The coordinator's gRPC adapter against hostile or unlucky clients: node
// streams without a hello, a second link for a connected school, and
// unauthenticated floods next to signed users.

#include "coordinator/server.h"

#include <atomic>
#include <chrono>
#include <memory>
#include <string>

#include "api/auth.h"
#include "api/channel.h"
#include "api/chunks.h"
#include "client/connection.h"
#include "gmock/gmock.h"
#include "grpcpp/generic/generic_stub.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "kring/v1/service.grpc.pb.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/wait.h"
#include "tests/unit/client/test_coordinator.h"
#include "util/str_cat.h"

namespace kring::coordinator {
namespace {

using ::kring::testing::IsOk;
using ::testing::HasSubstr;

using Stream =
    grpc::ClientReaderWriter<v1::NodeToCoordinator, v1::CoordinatorToNode>;

class ServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(c_.ok());
    stub_ = v1::Coordinator::NewStub(
        grpc::CreateChannel(c_.address(), grpc::InsecureChannelCredentials()));
  }

  // Enrolls a school with `key`; returns its id.
  std::string Enroll(const crypto::IdentityKeyPair& key) {
    School s;
    s.brin = "00AA";
    s.name = "A school";
    s.municipality = "GM0363";
    auto code = c_.engine().NewEnrollmentCode(s);
    EXPECT_THAT(code, IsOk());
    v1::EnrollRequest r;
    r.set_code(code->code());
    r.set_identity_public_key(std::string(key.public_key().bytes()));
    auto e = c_.engine().Enroll(r);
    EXPECT_THAT(e, IsOk());
    return e->school_id();
  }

  v1::NodeToCoordinator Hello(const std::string& school,
                              const crypto::IdentityKeyPair& key) {
    v1::NodeToCoordinator m;
    v1::NodeHello* h = m.mutable_hello();
    h->set_school_id(school);
    h->set_unix_millis(api::NowMillis());
    std::string nonce(api::kNonceBytes, 'n');
    nonce.replace(0, 8, std::to_string(10000000 + ++nonces_));
    h->set_nonce(nonce);
    h->set_version("test");
    auto sig =
        key.Sign(api::kHelloContext,
                 api::HelloSigningBytes(school, h->unix_millis(), h->nonce()));
    EXPECT_THAT(sig, IsOk());
    h->set_signature(*sig);
    return m;
  }

  struct Open {
    std::unique_ptr<grpc::ClientContext> ctx =
        std::make_unique<grpc::ClientContext>();
    std::unique_ptr<Stream> stream;
  };
  Open Connect() {
    Open o;
    o.ctx->set_deadline(std::chrono::system_clock::now() +
                        std::chrono::seconds(60));
    o.stream = stub_->Connect(o.ctx.get());
    return o;
  }

  bool Connected(const std::string& school) {
    auto nodes = c_.engine().Nodes(*c_.engine().db().GetUser("admin"));
    for (const auto& n : *nodes) {
      if (n.school_id() == school) return n.connected();
    }
    return false;
  }

  testing::TestCoordinator c_;
  std::unique_ptr<v1::Coordinator::Stub> stub_;
  int nonces_ = 0;
};

TEST_F(ServerTest, ASecondHelloIsRefusedWhileTheFirstLinkLives) {
  const auto key = crypto::IdentityKeyPair::Generate();
  const std::string school = Enroll(key);
  Open first = Connect();
  ASSERT_TRUE(first.stream->Write(Hello(school, key)));
  ASSERT_TRUE(::kring::testing::WaitUntil([&] { return Connected(school); },
                                          std::chrono::seconds(30)));

  Open second = Connect();
  ASSERT_TRUE(second.stream->Write(Hello(school, key)));
  v1::CoordinatorToNode ignored;
  EXPECT_FALSE(second.stream->Read(&ignored));
  const grpc::Status refused = second.stream->Finish();
  EXPECT_EQ(refused.error_code(), grpc::StatusCode::ALREADY_EXISTS)
      << refused.error_message();
  EXPECT_TRUE(Connected(school));  // the first link stays

  // The first stream ends; a new one takes over, and both are events.
  first.stream->WritesDone();
  EXPECT_THAT(first.stream->Finish(),
              ::testing::Property(&grpc::Status::ok, true));
  ASSERT_TRUE(::kring::testing::WaitUntil([&] { return !Connected(school); },
                                          std::chrono::seconds(30)));
  Open third = Connect();
  ASSERT_TRUE(third.stream->Write(Hello(school, key)));
  ASSERT_TRUE(::kring::testing::WaitUntil([&] { return Connected(school); },
                                          std::chrono::seconds(30)));
  auto nodes = c_.engine().Nodes(*c_.engine().db().GetUser("admin"));
  ASSERT_THAT(nodes, IsOk());
  std::string events;
  for (const auto& e : (*nodes)[0].events()) events += e.what() + "\n";
  EXPECT_THAT(events, HasSubstr("refused a second connection"));
  EXPECT_THAT(events, HasSubstr("disconnected"));
  third.ctx->TryCancel();
}

// A 40 MiB masked input, as the largest layouts send.
v1::NodeToCoordinator BigMessage() {
  v1::NodeToCoordinator big;
  big.mutable_secagg()->set_query_id("q-none");
  big.mutable_secagg()->mutable_masked_input()->set_packed(
      std::string(40 << 20, 'p'));
  return big;
}

// The receive limit is api::kMaxReceiveBytes for every message: an
// authenticated node's 40 MiB message is refused whole...
TEST_F(ServerTest, AnAuthenticatedNodesWholeLargeMessageIsRefused) {
  const auto key = crypto::IdentityKeyPair::Generate();
  const std::string school = Enroll(key);
  Open o = Connect();
  ASSERT_TRUE(o.stream->Write(Hello(school, key)));
  ASSERT_TRUE(::kring::testing::WaitUntil([&] { return Connected(school); },
                                          std::chrono::seconds(30)));
  o.stream->Write(BigMessage());
  o.stream->WritesDone();
  const grpc::Status s = o.stream->Finish();
  EXPECT_EQ(s.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED)
      << s.error_message();
}

// ... and passes in chunks (api::Chunk, as kring-node sends it). A separate
// coordinator: memory a refused message took from the server's quota is
// returned asynchronously, and a chunked stream right after it can be
// dropped under that pressure (noted in issue 12).
TEST_F(ServerTest, AnAuthenticatedNodeSendsLargeMessagesInChunks) {
  const auto key = crypto::IdentityKeyPair::Generate();
  const std::string school = Enroll(key);
  Open o = Connect();
  ASSERT_TRUE(o.stream->Write(Hello(school, key)));
  ASSERT_TRUE(::kring::testing::WaitUntil([&] { return Connected(school); },
                                          std::chrono::seconds(30)));
  const std::vector<v1::NodeToCoordinator> chunks = api::Chunk(BigMessage());
  EXPECT_GT(chunks.size(), 40u);
  for (const auto& c : chunks) ASSERT_TRUE(o.stream->Write(c));
  o.stream->WritesDone();
  const grpc::Status s = o.stream->Finish();
  EXPECT_TRUE(s.ok()) << s.error_code() << " " << s.error_message();
}

TEST_F(ServerTest, AStreamWithoutAHelloIsClosedAtTheDeadline) {
  // The test coordinator's hello deadline is 1 s.
  Open idle = Connect();
  v1::CoordinatorToNode ignored;
  EXPECT_FALSE(idle.stream->Read(&ignored));
  const grpc::Status s = idle.stream->Finish();
  EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_THAT(s.error_message(), HasSubstr("no valid hello within"));
}

TEST_F(ServerTest, ABadHelloIsRefused) {
  const auto key = crypto::IdentityKeyPair::Generate();
  const std::string school = Enroll(key);
  Open o = Connect();
  ASSERT_TRUE(
      o.stream->Write(Hello(school, crypto::IdentityKeyPair::Generate())));
  v1::CoordinatorToNode ignored;
  EXPECT_FALSE(o.stream->Read(&ignored));
  EXPECT_EQ(o.stream->Finish().error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_FALSE(Connected(school));
}

TEST_F(ServerTest, AnUnauthenticatedFloodDoesNotLockOutSignedUsers) {
  // Far more failed requests from this address than its budget.
  int exhausted = 0;
  for (int i = 0; i < 150; ++i) {
    v1::ListNodesRequest r;
    r.mutable_auth()->set_user_id("admin");
    r.mutable_auth()->set_signature("forged");
    v1::ListNodesResponse out;
    grpc::ClientContext ctx;
    exhausted += stub_->ListNodes(&ctx, r, &out).error_code() ==
                 grpc::StatusCode::RESOURCE_EXHAUSTED;
  }
  EXPECT_GT(exhausted, 0);
  // The same address, signed: still served.
  api::ChannelOptions o;
  o.address = c_.address();
  o.insecure_loopback = true;
  auto key = crypto::IdentityKeyPair::LoadPrivateKeyFile(c_.key_file("admin"));
  ASSERT_THAT(key, IsOk());
  auto conn = client::Connection::Open(o, "admin", *std::move(key));
  ASSERT_THAT(conn, IsOk());
  EXPECT_THAT(
      conn->Call(&v1::Coordinator::Stub::ListNodes, v1::ListNodesRequest()),
      IsOk());
}

// A raw client: sends bytes that are not a valid request (issue 12, item 8).
class RawClient {
 public:
  explicit RawClient(const std::string& address)
      : stub_(
            grpc::CreateChannel(address, grpc::InsecureChannelCredentials())) {}
  ~RawClient() {
    cq_.Shutdown();
    void* tag;
    bool ok;
    while (cq_.Next(&tag, &ok)) {
    }
  }

  // A unary call of `method` ("/kring.v1.Coordinator/GetQuery") with
  // `bytes` as the request.
  grpc::Status Unary(const std::string& method, const std::string& bytes) {
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() +
                     std::chrono::seconds(30));
    grpc::ByteBuffer request = Buffer(bytes), response;
    auto call = stub_.PrepareUnaryCall(&ctx, method, request, &cq_);
    call->StartCall();
    grpc::Status status;
    call->Finish(&response, &status, Tag(1));
    Await(1);
    return status;
  }

  // Opens Connect and writes each of `frames` as one message, then reads
  // until the coordinator ends the stream; returns its status.
  grpc::Status Stream(const std::vector<std::string>& frames) {
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() +
                     std::chrono::seconds(30));
    auto call = stub_.PrepareCall(&ctx, "/kring.v1.Coordinator/Connect", &cq_);
    call->StartCall(Tag(1));
    Await(1);
    for (const std::string& f : frames) {
      grpc::ByteBuffer b = Buffer(f);
      call->Write(b, Tag(2));
      if (!Await(2)) break;
    }
    grpc::ByteBuffer in;
    do {
      call->Read(&in, Tag(3));
    } while (Await(3));
    grpc::Status status;
    call->Finish(&status, Tag(4));
    Await(4);
    return status;
  }

 private:
  static void* Tag(intptr_t i) { return reinterpret_cast<void*>(i); }
  static grpc::ByteBuffer Buffer(const std::string& bytes) {
    grpc::Slice slice(bytes);
    return grpc::ByteBuffer(&slice, 1);
  }
  // Waits for `tag`; its ok flag.
  bool Await(intptr_t tag) {
    void* got;
    bool ok = false;
    while (cq_.Next(&got, &ok)) {
      if (got == Tag(tag)) return ok;
    }
    return false;
  }

  grpc::GenericStub stub_;
  grpc::CompletionQueue cq_;
};

// Not a protobuf message: a field with number 0, then a truncated varint.
const std::string kGarbage("\x00\xff\xff\xff", 4);

TEST_F(ServerTest, MalformedRequestBytesAreInvalidArgument) {
  RawClient raw(c_.address());
  for (const char* method : {"GetQuery", "SubmitQuery", "Enroll"}) {
    const grpc::Status s =
        raw.Unary(StrCat("/kring.v1.Coordinator/", method), kGarbage);
    EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << method;
    EXPECT_THAT(s.error_message(), HasSubstr(method));
    EXPECT_THAT(s.error_message(), HasSubstr("service.proto"));
  }
}

TEST_F(ServerTest, AGarbageFrameAfterTheHelloEndsTheStreamWithAnError) {
  const auto key = crypto::IdentityKeyPair::Generate();
  const std::string school = Enroll(key);
  RawClient raw(c_.address());
  const grpc::Status s =
      raw.Stream({Hello(school, key).SerializeAsString(), kGarbage});
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT)
      << s.error_message();
  EXPECT_THAT(s.error_message(), HasSubstr("NodeToCoordinator"));
  // Garbage in place of the hello is refused the same way.
  const grpc::Status first = RawClient(c_.address()).Stream({kGarbage});
  EXPECT_EQ(first.error_code(), grpc::StatusCode::INVALID_ARGUMENT)
      << first.error_message();
}

TEST_F(ServerTest, EnrollmentAttemptsAreLimitedPerAddress) {
  int exhausted = 0;
  for (int i = 0; i < 40; ++i) {
    v1::EnrollRequest r;
    r.set_code("0000-0000-0000");
    r.set_identity_public_key(std::string(32, 'k'));
    v1::EnrollResponse out;
    grpc::ClientContext ctx;
    exhausted += stub_->Enroll(&ctx, r, &out).error_code() ==
                 grpc::StatusCode::RESOURCE_EXHAUSTED;
  }
  // Each attempt comes from a new source port: the limit is per address.
  EXPECT_GE(exhausted, 15);
}

}  // namespace
}  // namespace kring::coordinator
