#include "crypto/secagg/graph.h"

#include <sodium.h>

#include <algorithm>
#include <numeric>
#include <utility>

#include "absl/status/status.h"
#include "crypto/key_agreement.h"
#include "crypto/secret_bytes.h"
#include "util/str_cat.h"

namespace kring::crypto::secagg {
namespace {

constexpr size_t kSeedBytes = 32;
constexpr size_t kChunkBytes = 8192;  // keystream generated per libsodium call
constexpr size_t kBlockBytes = 64;    // ChaCha20 block
constexpr std::string_view kGraphLabel = "kring-secagg-graph-v1";

// The ChaCha20 (RFC 8439) keystream under `key` with an all-zero nonce from
// block 0, read as consecutive little-endian u32 words. The keystream is
// produced chunk by chunk by XOR-ing libsodium's stream over zeros.
class KeystreamWords {
 public:
  explicit KeystreamWords(const SecretBytes& key) : key_(key) {}
  KeystreamWords(const KeystreamWords&) = delete;
  KeystreamWords& operator=(const KeystreamWords&) = delete;
  ~KeystreamWords() { sodium_memzero(buf_, sizeof buf_); }

  uint32_t Next() {
    if (pos_ == kChunkBytes) Refill();
    const uint8_t* b = buf_ + pos_;
    pos_ += 4;
    return uint32_t{b[0]} | uint32_t{b[1]} << 8 | uint32_t{b[2]} << 16 |
           uint32_t{b[3]} << 24;
  }

  // A uniform index in [0, range), range >= 1: words at or above the largest
  // multiple of `range` below 2^32 are rejected, so there is no modulo bias.
  uint32_t Uniform(uint64_t range) {
    const uint64_t limit = (uint64_t{1} << 32) - (uint64_t{1} << 32) % range;
    for (;;) {
      const uint64_t w = Next();
      if (w < limit) return static_cast<uint32_t>(w % range);
    }
  }

 private:
  void Refill() {
    static const uint8_t kZeroNonce[crypto_stream_chacha20_ietf_NONCEBYTES] =
        {};
    static const uint8_t kZeros[kChunkBytes] = {};
    crypto_stream_chacha20_ietf_xor_ic(buf_, kZeros, kChunkBytes, kZeroNonce,
                                       counter_, key_.data());
    // Wraps only after 256 GiB of keystream, far beyond any shuffle of
    // 2^32 nodes.
    counter_ += static_cast<uint32_t>(kChunkBytes / kBlockBytes);
    pos_ = 0;
  }

  const SecretBytes& key_;
  alignas(64) uint8_t buf_[kChunkBytes];
  size_t pos_ = kChunkBytes;  // empty: the first Next() refills
  uint32_t counter_ = 0;
};

}  // namespace

absl::StatusOr<NeighbourGraph> NeighbourGraph::Complete(uint32_t n) {
  if (n == 0) {
    return absl::InvalidArgumentError(
        "a neighbour graph needs at least one node, got n = 0");
  }
  return NeighbourGraph(n, n - 1, /*complete=*/true, {}, {});
}

// Construction (every implementation must match it bit for bit):
//   key = DeriveKey(seed, "kring-secagg-graph-v1", "", 32);
//   at = [0, 1, ..., n-1];
//   for i = n-1 down to 1:
//     j = next accepted keystream word w mod (i+1), where w (a little-endian
//         u32) is accepted iff w < 2^32 - (2^32 mod (i+1));
//     swap(at[i], at[j]);
// Node at[p] sits at ring position p.
absl::StatusOr<NeighbourGraph> NeighbourGraph::Harary(uint32_t n, uint32_t k,
                                                      std::string_view seed) {
  if (seed.size() != kSeedBytes) {
    return absl::InvalidArgumentError(
        StrCat("the neighbour graph seed must be 32 bytes, got ", seed.size()));
  }
  if (k % 2 != 0) {
    return absl::InvalidArgumentError(
        StrCat("a Harary graph needs an even degree k, got k = ", k));
  }
  // k + 1 < n, written so that it cannot overflow; implies n >= 4.
  if (k < 2 || k >= n || n - k < 2) {
    return absl::InvalidArgumentError(
        StrCat("a Harary graph needs 2 <= k < n-1, got k = ", k, ", n = ", n,
               "; use NeighbourGraph::Complete when every node neighbours all "
               "others"));
  }
  auto key = DeriveKey(SecretBytes::CopyFrom(seed), kGraphLabel, "",
                       crypto_stream_chacha20_ietf_KEYBYTES);
  if (!key.ok()) return key.status();

  std::vector<uint32_t> at(n);
  std::iota(at.begin(), at.end(), uint32_t{0});
  {
    KeystreamWords stream(*key);
    for (uint32_t i = n - 1; i >= 1; --i) {
      std::swap(at[i], at[stream.Uniform(uint64_t{i} + 1)]);
    }
  }
  std::vector<uint32_t> position(n);
  for (uint32_t p = 0; p < n; ++p) position[at[p]] = p;
  return NeighbourGraph(n, k, /*complete=*/false, std::move(position),
                        std::move(at));
}

std::vector<uint32_t> NeighbourGraph::Neighbours(uint32_t u) const {
  std::vector<uint32_t> out;
  if (u >= n_) return out;
  if (complete_) {
    out.reserve(n_ - 1);
    for (uint32_t v = 0; v < n_; ++v) {
      if (v != u) out.push_back(v);
    }
    return out;
  }
  // k < n-1, so the k positions p±1, ..., p±k/2 are distinct and not p.
  out.reserve(k_);
  const uint64_t p = position_[u];
  for (uint64_t d = 1; d <= k_ / 2; ++d) {
    out.push_back(at_[(p + d) % n_]);
    out.push_back(at_[(p + n_ - d) % n_]);
  }
  std::sort(out.begin(), out.end());
  return out;
}

bool NeighbourGraph::AreNeighbours(uint32_t u, uint32_t v) const {
  if (u >= n_ || v >= n_ || u == v) return false;
  if (complete_) return true;
  const uint32_t pu = position_[u], pv = position_[v];
  const uint32_t diff = pu > pv ? pu - pv : pv - pu;
  return std::min(diff, n_ - diff) <= k_ / 2;
}

}  // namespace kring::crypto::secagg
