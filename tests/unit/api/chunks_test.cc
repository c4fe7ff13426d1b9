#include "api/chunks.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace kring::api {
namespace {

using ::testing::HasSubstr;

// A secure-aggregation message of about `bytes` serialized.
v1::NodeToCoordinator Big(size_t bytes) {
  v1::NodeToCoordinator m;
  m.mutable_secagg()->set_query_id("q1");
  m.mutable_secagg()->set_round(2);
  std::string packed(bytes, '\0');
  for (size_t i = 0; i < packed.size(); ++i) packed[i] = static_cast<char>(i);
  m.mutable_secagg()->mutable_masked_input()->set_packed(packed);
  return m;
}

TEST(ChunksTest, SmallMessagesGoAsTheyAre) {
  v1::NodeToCoordinator m;
  m.mutable_decision()->set_query_id("q1");
  auto parts = Chunk(m);
  ASSERT_EQ(parts.size(), 1u);
  EXPECT_EQ(parts[0].SerializeAsString(), m.SerializeAsString());
  ChunkAssembler a(kChunkBytes);
  auto out = a.Add(parts[0]);
  ASSERT_TRUE(out.ok()) << out.status();
  ASSERT_TRUE(out->has_value());
  EXPECT_EQ((*out)->SerializeAsString(), m.SerializeAsString());
}

TEST(ChunksTest, LargeMessagesAreSplitWithinTheReceiveLimitAndJoined) {
  const v1::NodeToCoordinator m = Big(5 * kChunkBytes / 2);
  auto parts = Chunk(m);
  ASSERT_EQ(parts.size(), 3u);
  ChunkAssembler a(64 << 20);
  for (size_t i = 0; i < parts.size(); ++i) {
    ASSERT_TRUE(parts[i].has_chunk());
    EXPECT_LE(parts[i].ByteSizeLong(), static_cast<size_t>(kMaxReceiveBytes));
    EXPECT_EQ(parts[i].chunk().last(), i + 1 == parts.size());
    auto out = a.Add(parts[i]);
    ASSERT_TRUE(out.ok()) << out.status();
    EXPECT_EQ(out->has_value(), i + 1 == parts.size());
    if (out->has_value()) {
      EXPECT_EQ((*out)->SerializeAsString(), m.SerializeAsString());
    }
  }
  // The assembler starts over for the next message.
  auto small = a.Add(Chunk(Big(10))[0]);
  ASSERT_TRUE(small.ok());
  EXPECT_TRUE(small->has_value());
}

TEST(ChunksTest, MoreThanTheBoundIsRefused) {
  auto parts = Chunk(Big(3 * kChunkBytes));
  ChunkAssembler a(2 * kChunkBytes);
  absl::Status last;
  for (const auto& p : parts) {
    auto out = a.Add(p);
    if (!out.ok()) {
      last = out.status();
      break;
    }
  }
  EXPECT_EQ(last.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_THAT(std::string(last.message()), HasSubstr("exceeds"));
}

TEST(ChunksTest, MalformedSequencesAreRefused) {
  auto parts = Chunk(Big(2 * kChunkBytes));
  ASSERT_GE(parts.size(), 2u);
  {  // a whole message between chunks
    ChunkAssembler a(64 << 20);
    ASSERT_TRUE(a.Add(parts[0]).ok());
    v1::NodeToCoordinator m;
    m.mutable_decision()->set_query_id("q1");
    EXPECT_EQ(a.Add(m).status().code(), absl::StatusCode::kInvalidArgument);
  }
  {  // chunks that do not parse
    ChunkAssembler a(64 << 20);
    v1::NodeToCoordinator junk;
    junk.mutable_chunk()->set_data("\xff\xff\xff");
    junk.mutable_chunk()->set_last(true);
    EXPECT_EQ(a.Add(junk).status().code(), absl::StatusCode::kInvalidArgument);
  }
  {  // a chunk inside a chunk
    ChunkAssembler a(64 << 20);
    v1::NodeToCoordinator inner;
    inner.mutable_chunk()->set_data("x");
    inner.mutable_chunk()->set_last(true);
    v1::NodeToCoordinator outer;
    outer.mutable_chunk()->set_data(inner.SerializeAsString());
    outer.mutable_chunk()->set_last(true);
    auto out = a.Add(outer);
    EXPECT_EQ(out.status().code(), absl::StatusCode::kInvalidArgument);
  }
}

}  // namespace
}  // namespace kring::api
