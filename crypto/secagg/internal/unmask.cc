#include "crypto/secagg/internal/unmask.h"

#include <algorithm>
#include <span>

#include "absl/status/status.h"
#include "crypto/secagg/internal/parallel.h"

namespace kring::crypto::secagg::internal {
namespace {

// Pointers to the shares of `sorted` (by x) at exactly `points` (sorted), or
// false if one of the points is missing.
bool MatchPoints(const std::vector<uint32_t>& points,
                 const std::vector<ShamirShare>& sorted,
                 std::vector<const ShamirShare*>& out) {
  out.clear();
  size_t i = 0;
  for (uint32_t x : points) {
    while (i < sorted.size() && sorted[i].x < x) ++i;
    if (i == sorted.size() || sorted[i].x != x) return false;
    out.push_back(&sorted[i++]);
  }
  return true;
}

// The points of the t holders of `sorted` furthest ahead of ring position
// `at` (cyclic offsets in (-n/2, n/2]), in increasing order.
std::vector<uint32_t> AheadPoints(const NeighbourGraph& graph, uint32_t at,
                                  const std::vector<ShamirShare>& sorted,
                                  uint32_t t) {
  const int64_t n = graph.size();
  std::vector<std::pair<int64_t, uint32_t>> by_offset;  // (offset, x)
  by_offset.reserve(sorted.size());
  for (const ShamirShare& s : sorted) {
    int64_t offset = (int64_t{graph.RingPosition(s.x - 1)} - at + n) % n;
    if (offset > n / 2) offset -= n;
    by_offset.emplace_back(offset, s.x);
  }
  std::partial_sort(by_offset.begin(), by_offset.begin() + t, by_offset.end(),
                    std::greater<>());
  std::vector<uint32_t> points;
  points.reserve(t);
  for (uint32_t j = 0; j < t; ++j) points.push_back(by_offset[j].second);
  std::sort(points.begin(), points.end());
  return points;
}

}  // namespace

absl::StatusOr<UnmaskPlan> PlanUnmask(
    const NeighbourGraph& graph,
    std::vector<std::vector<ShamirShare>>& revealed, uint32_t t, int workers) {
  const uint32_t n = graph.size();
  if (revealed.size() != n || t == 0) {
    return absl::InvalidArgumentError(
        "unmask plan: one share list per node and t >= 1 are required");
  }
  std::vector<uint32_t> by_position(n);
  for (uint32_t u = 0; u < n; ++u) by_position[graph.RingPosition(u)] = u;

  UnmaskPlan plan;
  plan.interpolator_of.assign(n, -1);
  plan.shares_of.resize(n);
  std::vector<std::vector<uint32_t>> point_sets;
  for (uint32_t p = 0; p < n; ++p) {
    const uint32_t w = by_position[p];
    std::vector<ShamirShare>& shares = revealed[w];
    if (shares.size() < t) continue;
    std::sort(
        shares.begin(), shares.end(),
        [](const ShamirShare& a, const ShamirShare& b) { return a.x < b.x; });
    std::vector<const ShamirShare*>& chosen = plan.shares_of[w];
    if (point_sets.empty() || !MatchPoints(point_sets.back(), shares, chosen)) {
      point_sets.push_back(AheadPoints(graph, p, shares, t));
      if (!MatchPoints(point_sets.back(), shares, chosen)) {
        return absl::InternalError("unmask plan: chosen points not found");
      }
    }
    plan.interpolator_of[w] = static_cast<int32_t>(point_sets.size() - 1);
  }

  std::vector<absl::StatusOr<ShamirInterpolator>> built(
      point_sets.size(), absl::UnknownError("not built"));
  ParallelForWorkers(point_sets.size(), workers, [&](size_t i, int) {
    built[i] = ShamirInterpolator::Create(point_sets[i]);
  });
  plan.interpolators.reserve(built.size());
  for (auto& b : built) {
    if (!b.ok()) return b.status();
    plan.interpolators.push_back(*std::move(b));
  }
  return plan;
}

}  // namespace kring::crypto::secagg::internal
