#include "crypto/secagg/graph.h"

#include <sodium.h>

#include <algorithm>
#include <cstdint>
#include <deque>
#include <numeric>
#include <string>
#include <utility>
#include <vector>

#include "crypto/key_agreement.h"
#include "crypto/secret_bytes.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"

namespace kring::crypto::secagg {
namespace {

using ::kring::testing::StatusIs;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

std::string Seed(uint8_t fill) {
  return std::string(32, static_cast<char>(fill));
}

// Breadth-first search from node 0 using only Neighbours().
size_t ReachableFromZero(const NeighbourGraph& g) {
  std::vector<bool> seen(g.size(), false);
  std::deque<uint32_t> queue = {0};
  seen[0] = true;
  size_t count = 1;
  while (!queue.empty()) {
    const uint32_t u = queue.front();
    queue.pop_front();
    for (uint32_t v : g.Neighbours(u)) {
      if (!seen[v]) {
        seen[v] = true;
        ++count;
        queue.push_back(v);
      }
    }
  }
  return count;
}

// Checks that the graph is k-regular, simple and symmetric, that
// Neighbours() is sorted without u, and that AreNeighbours agrees with it.
void ExpectRegularAndConsistent(const NeighbourGraph& g, uint32_t k) {
  const uint32_t n = g.size();
  std::vector<std::vector<uint32_t>> adj(n);
  for (uint32_t u = 0; u < n; ++u) {
    adj[u] = g.Neighbours(u);
    ASSERT_EQ(adj[u].size(), k) << "node " << u;
    ASSERT_TRUE(std::is_sorted(adj[u].begin(), adj[u].end())) << u;
    ASSERT_EQ(std::adjacent_find(adj[u].begin(), adj[u].end()), adj[u].end())
        << "duplicate neighbour of " << u;
    ASSERT_FALSE(std::binary_search(adj[u].begin(), adj[u].end(), u)) << u;
    ASSERT_LT(adj[u].back(), n);
  }
  for (uint32_t u = 0; u < n; ++u) {
    for (uint32_t v : adj[u]) {
      ASSERT_TRUE(std::binary_search(adj[v].begin(), adj[v].end(), u))
          << u << " -> " << v << " but not back";
    }
  }
  // AreNeighbours against the adjacency lists: all pairs for small graphs,
  // every listed edge plus a sample of pairs otherwise.
  if (n <= 200) {
    for (uint32_t u = 0; u < n; ++u) {
      for (uint32_t v = 0; v < n; ++v) {
        const bool listed = std::binary_search(adj[u].begin(), adj[u].end(), v);
        ASSERT_EQ(g.AreNeighbours(u, v), listed) << u << ", " << v;
      }
    }
  } else {
    for (uint32_t u = 0; u < n; ++u) {
      for (uint32_t v : adj[u]) ASSERT_TRUE(g.AreNeighbours(u, v));
      for (uint32_t v = (u * 7919u) % n, i = 0; i < 50; ++i, v = (v + 37) % n) {
        const bool listed = std::binary_search(adj[u].begin(), adj[u].end(), v);
        ASSERT_EQ(g.AreNeighbours(u, v), listed) << u << ", " << v;
        ASSERT_EQ(g.AreNeighbours(v, u), listed) << v << ", " << u;
      }
    }
  }
  EXPECT_EQ(ReachableFromZero(g), n);
}

TEST(NeighbourGraphTest, CompleteGraphNeighboursEveryoneElse) {
  KRING_ASSERT_OK_AND_ASSIGN(NeighbourGraph g, NeighbourGraph::Complete(5));
  EXPECT_TRUE(g.complete());
  EXPECT_EQ(g.size(), 5u);
  EXPECT_EQ(g.degree(), 4u);
  EXPECT_THAT(g.Neighbours(0), ElementsAre(1, 2, 3, 4));
  EXPECT_THAT(g.Neighbours(2), ElementsAre(0, 1, 3, 4));
  EXPECT_THAT(g.Neighbours(4), ElementsAre(0, 1, 2, 3));
  EXPECT_TRUE(g.AreNeighbours(1, 3));
  EXPECT_FALSE(g.AreNeighbours(3, 3));
  EXPECT_FALSE(g.AreNeighbours(0, 5));
  EXPECT_TRUE(g.Neighbours(5).empty());
  ExpectRegularAndConsistent(g, 4);
}

TEST(NeighbourGraphTest, CompleteGraphOfOneNode) {
  KRING_ASSERT_OK_AND_ASSIGN(NeighbourGraph g, NeighbourGraph::Complete(1));
  EXPECT_EQ(g.degree(), 0u);
  EXPECT_TRUE(g.Neighbours(0).empty());
  EXPECT_FALSE(g.AreNeighbours(0, 0));
}

TEST(NeighbourGraphTest, RejectsInvalidArguments) {
  EXPECT_THAT(NeighbourGraph::Complete(0),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("at least one node")));
  EXPECT_THAT(NeighbourGraph::Harary(11, 3, Seed(1)),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("even")));
  EXPECT_THAT(
      NeighbourGraph::Harary(11, 0, Seed(1)),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("2 <= k < n-1")));
  EXPECT_THAT(
      NeighbourGraph::Harary(11, 10, Seed(1)),  // k = n-1: complete
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("Complete")));
  EXPECT_THAT(NeighbourGraph::Harary(11, 12, Seed(1)),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(NeighbourGraph::Harary(3, 2, Seed(1)),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(NeighbourGraph::Harary(0, 2, Seed(1)),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(NeighbourGraph::Harary(0xffffffffu, 0xfffffffeu, Seed(1)),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(
      NeighbourGraph::Harary(11, 4, std::string(31, 'x')),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("32 bytes")));
  EXPECT_THAT(NeighbourGraph::Harary(11, 4, std::string(33, 'x')),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(NeighbourGraph::Harary(11, 4, ""),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST(NeighbourGraphTest, SmallestHararyGraphIsARing) {
  KRING_ASSERT_OK_AND_ASSIGN(NeighbourGraph g,
                             NeighbourGraph::Harary(4, 2, Seed(3)));
  EXPECT_FALSE(g.complete());
  EXPECT_EQ(g.degree(), 2u);
  ExpectRegularAndConsistent(g, 2);
}

TEST(NeighbourGraphTest, HararyGraphsAreRegularSymmetricAndConnected) {
  const std::vector<std::pair<uint32_t, uint32_t>> cases = {
      {4, 2},  {5, 2},   {6, 4},    {11, 4},   {11, 8},
      {12, 2}, {50, 10}, {101, 98}, {257, 40}, {1000, 86}};
  for (const auto& [n, k] : cases) {
    SCOPED_TRACE(::testing::Message() << "n = " << n << ", k = " << k);
    KRING_ASSERT_OK_AND_ASSIGN(
        NeighbourGraph g,
        NeighbourGraph::Harary(n, k, Seed(static_cast<uint8_t>(n))));
    EXPECT_EQ(g.size(), n);
    EXPECT_EQ(g.degree(), k);
    EXPECT_FALSE(g.complete());
    ExpectRegularAndConsistent(g, k);
  }
}

TEST(NeighbourGraphTest, DeterministicFromTheSeed) {
  KRING_ASSERT_OK_AND_ASSIGN(NeighbourGraph a,
                             NeighbourGraph::Harary(1000, 86, Seed(7)));
  KRING_ASSERT_OK_AND_ASSIGN(NeighbourGraph b,
                             NeighbourGraph::Harary(1000, 86, Seed(7)));
  for (uint32_t u = 0; u < 1000; ++u) {
    ASSERT_EQ(a.Neighbours(u), b.Neighbours(u)) << u;
  }
}

TEST(NeighbourGraphTest, DifferentSeedsGiveDifferentGraphs) {
  KRING_ASSERT_OK_AND_ASSIGN(NeighbourGraph a,
                             NeighbourGraph::Harary(1000, 86, Seed(7)));
  std::string seed = Seed(7);
  seed[31] ^= 1;
  KRING_ASSERT_OK_AND_ASSIGN(NeighbourGraph b,
                             NeighbourGraph::Harary(1000, 86, seed));
  size_t differing = 0;
  for (uint32_t u = 0; u < 1000; ++u) {
    differing += a.Neighbours(u) != b.Neighbours(u);
  }
  EXPECT_GT(differing, 990u);
}

TEST(NeighbourGraphTest, ShuffleIsNotTheIdentityRing) {
  // With the identity order node u would neighbour u±1; a shuffled ring of
  // 1000 nodes keeps essentially none of those edges.
  KRING_ASSERT_OK_AND_ASSIGN(NeighbourGraph g,
                             NeighbourGraph::Harary(1000, 2, Seed(9)));
  size_t identity_edges = 0;
  for (uint32_t u = 0; u + 1 < 1000; ++u)
    identity_edges += g.AreNeighbours(u, u + 1);
  EXPECT_LT(identity_edges, 20u);
}

// Recomputes the documented construction independently and compares the
// resulting ring with the graph's neighbourhoods.
TEST(NeighbourGraphTest, MatchesDocumentedConstruction) {
  const uint32_t n = 5000, k = 6;  // > 2048 draws: crosses a chunk boundary
  const std::string seed = Seed(42);
  auto key =
      DeriveKey(SecretBytes::CopyFrom(seed), "kring-secagg-graph-v1", "", 32);
  ASSERT_TRUE(key.ok()) << key.status();
  // Plenty of keystream for 4999 draws with (rare) rejections.
  std::vector<uint8_t> ks(64 * 1024, 0);
  const uint8_t nonce[crypto_stream_chacha20_ietf_NONCEBYTES] = {};
  crypto_stream_chacha20_ietf(ks.data(), ks.size(), nonce, key->data());
  size_t pos = 0;
  auto next_word = [&]() {
    uint32_t w = uint32_t{ks[pos]} | uint32_t{ks[pos + 1]} << 8 |
                 uint32_t{ks[pos + 2]} << 16 | uint32_t{ks[pos + 3]} << 24;
    pos += 4;
    return w;
  };
  std::vector<uint32_t> at(n);
  std::iota(at.begin(), at.end(), 0u);
  for (uint32_t i = n - 1; i >= 1; --i) {
    const uint64_t range = uint64_t{i} + 1;
    const uint64_t limit = (uint64_t{1} << 32) - (uint64_t{1} << 32) % range;
    uint64_t w;
    do {
      w = next_word();
    } while (w >= limit);
    std::swap(at[i], at[w % range]);
  }
  KRING_ASSERT_OK_AND_ASSIGN(NeighbourGraph g,
                             NeighbourGraph::Harary(n, k, seed));
  for (uint32_t p = 0; p < n; ++p) {
    std::vector<uint32_t> expected;
    for (uint32_t d = 1; d <= k / 2; ++d) {
      expected.push_back(at[(p + d) % n]);
      expected.push_back(at[(p + n - d) % n]);
    }
    std::sort(expected.begin(), expected.end());
    ASSERT_EQ(g.Neighbours(at[p]), expected) << "ring position " << p;
  }
}

TEST(NeighbourGraphTest, LargeGraphBuildsAcrossKeystreamChunks) {
  // 100000 nodes need more than one 8 KiB keystream chunk.
  KRING_ASSERT_OK_AND_ASSIGN(NeighbourGraph g,
                             NeighbourGraph::Harary(100000, 4, Seed(5)));
  EXPECT_EQ(ReachableFromZero(g), 100000u);
  EXPECT_EQ(g.Neighbours(12345).size(), 4u);
}

}  // namespace
}  // namespace kring::crypto::secagg
