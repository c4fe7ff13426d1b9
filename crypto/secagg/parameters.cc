#include "crypto/secagg/parameters.h"

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdio>
#include <limits>
#include <string>

#include "absl/status/status.h"
#include "util/str_cat.h"

// How k and t are chosen (see parameters.h for the conditions (a)-(d)).
//
// Sparse graphs: even k = 2, 4, ... while k < n-1 and k <= 65534 (larger
// committees are impractical, and the cap bounds the search when no k can
// work, e.g. when gamma + 2*delta >= 1); the first k that meets (a)-(d)
// wins. c(k) is non-decreasing in k (Bin(k+2, gamma) dominates
// Bin(k, gamma)), so c is carried over from one k to the next. Two exact
// shortcuts keep the search cheap even when no k works: a binomial's median
// is at least floor(k*p) and P[X >= median] >= 1/2, while every bound the
// goals ask for is below 1/2 (n >= 2, sigma, eta >= 1), so
//   * c >= floor(k*gamma), and
//   * (c) fails outright when k - t < floor(k*delta).
// Tails are summed in log space: the first term from lgamma/log1p, the rest
// relative to it by the ratio recurrence, stopping once past the mode when
// the remaining terms cannot add 2^-60 relative. If no sparse k works, the
// complete graph is used when it meets the goals.
//
// Complete graph (n <= complete_graph_max, or the fallback): k = n-1,
// c = floor(gamma*n), t = floor((k+1+c)/2) + 1; (c) becomes
// k - floor(delta*n) >= t (a dropped node keeps at least t live holders even
// when floor(delta*n) of its neighbours drop as well); (d) always holds,
// since any set of nodes of a complete graph is connected.
//
// Reference values for the default goals (gamma = 0.05, delta = 0.10,
// sigma = 40, eta = 20) with complete_graph_max = 0, cross-checked against
// an independent 50-digit mpmath computation:
//
//        n |  k |  t |  c
//   -------+----+----+----
//      100 | 80 | 54 | 25
//     1000 | 88 | 59 | 28
//    10000 | 96 | 64 | 30
//
// (With t = floor((k+c)/2) + 1 instead, n = 1000 gives k = 86, t = 57.)

namespace kring::crypto::secagg {
namespace {

constexpr double kLn2 = 0.69314718055994530942;
constexpr int kMaxSecurityBits = 128;
constexpr int kMaxCorrectnessBits = 64;
// Largest sparse degree tried (see the comment at the top).
constexpr uint64_t kMaxSparseDegree = 65534;

// max(0, ceil(x) - 1): floor(x), or one less when x is an integer, so that
// rounding in the product x cannot lift it above the exact product's floor.
int64_t FloorLowerBound(double x) {
  const double c = std::ceil(x);
  return std::max<int64_t>(0, static_cast<int64_t>(c) - 1);
}

// log P[Bin(k, p) > c] for 0 <= p < 1; -infinity when the event is
// impossible. Relative error well below 1e-9 for k <= 65534.
double LogUpperTail(uint64_t k, double p, int64_t c) {
  if (c < 0) return 0.0;
  const uint64_t from = static_cast<uint64_t>(c) + 1;
  if (from > k || p <= 0.0) return -std::numeric_limits<double>::infinity();
  const double kd = static_cast<double>(k);
  const double log_p = std::log(p), log_q = std::log1p(-p);
  const double odds = p / (1.0 - p);
  const double mode_bound = (kd + 1.0) * p;  // pmf non-increasing above it
  // log pmf(from), then sum = sum_{i >= from} pmf(i) / pmf(from) * e^-shift.
  const double log_first =
      std::lgamma(kd + 1.0) - std::lgamma(static_cast<double>(from) + 1.0) -
      std::lgamma(static_cast<double>(k - from) + 1.0) +
      static_cast<double>(from) * log_p + static_cast<double>(k - from) * log_q;
  double shift = 0.0, term = 1.0, sum = 1.0;
  for (uint64_t i = from; i < k; ++i) {
    term *= static_cast<double>(k - i) / static_cast<double>(i + 1) * odds;
    sum += term;
    if (sum > 1e150) {  // rising towards the mode: rescale
      term *= 1e-150;
      sum *= 1e-150;
      shift += 150.0 * std::log(10.0);
    }
    // Past the mode every later term is at most `term`.
    if (static_cast<double>(i + 1) >= mode_bound &&
        term * static_cast<double>(k - i - 1) < sum * 0x1p-60) {
      break;
    }
  }
  return log_first + shift + std::log(sum);
}

// log(n) + log P[Bin(k, p) > c] <= -bits * ln 2.
bool TailWithin(uint32_t n, uint64_t k, double p, int64_t c, int bits) {
  return std::log(static_cast<double>(n)) + LogUpperTail(k, p, c) <=
         -bits * kLn2;
}

// A fraction for messages: "0.2", not "0.20000000000000001".
std::string Fmt(double x) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%g", x);
  return buf;
}

int64_t Threshold(uint64_t k, int64_t c) {
  return (static_cast<int64_t>(k) + 1 + c) / 2 + 1;
}

absl::Status ValidateGoals(uint32_t n, const SecurityGoals& g) {
  if (n < 2) {
    return absl::InvalidArgumentError(
        StrCat("secure aggregation needs at least 2 nodes, got n = ", n));
  }
  if (!(g.corrupt_fraction >= 0.0 && g.corrupt_fraction < 1.0)) {
    return absl::InvalidArgumentError(StrCat(
        "corrupt_fraction must be in [0, 1), got ", Fmt(g.corrupt_fraction)));
  }
  if (!(g.dropout_fraction >= 0.0 && g.dropout_fraction < 1.0)) {
    return absl::InvalidArgumentError(StrCat(
        "dropout_fraction must be in [0, 1), got ", Fmt(g.dropout_fraction)));
  }
  if (!(g.corrupt_fraction + g.dropout_fraction < 1.0)) {
    return absl::InvalidArgumentError(
        StrCat("corrupt_fraction + dropout_fraction must be below 1, got ",
               Fmt(g.corrupt_fraction), " + ", Fmt(g.dropout_fraction)));
  }
  if (g.security_bits < 1 || g.security_bits > kMaxSecurityBits) {
    return absl::InvalidArgumentError(StrCat("security_bits must be in [1, ",
                                             kMaxSecurityBits, "], got ",
                                             g.security_bits));
  }
  if (g.correctness_bits < 1 || g.correctness_bits > kMaxCorrectnessBits) {
    return absl::InvalidArgumentError(StrCat("correctness_bits must be in [1, ",
                                             kMaxCorrectnessBits, "], got ",
                                             g.correctness_bits));
  }
  return absl::OkStatus();
}

struct CompleteCheck {
  GraphParameters params;
  int64_t live_holders;  // k - floor(delta*n): holders a dropped node keeps
  bool ok;
};

CompleteCheck CheckComplete(uint32_t n, const SecurityGoals& g) {
  const uint64_t k = n - 1;
  const auto c = static_cast<int64_t>(std::floor(g.corrupt_fraction * n));
  const auto dropped = static_cast<int64_t>(std::floor(g.dropout_fraction * n));
  const int64_t t = Threshold(k, c);
  const int64_t live = static_cast<int64_t>(k) - dropped;
  return {GraphParameters{.complete = true,
                          .degree = static_cast<uint32_t>(k),
                          .threshold = static_cast<uint32_t>(t),
                          .corrupt_bound = static_cast<uint32_t>(c)},
          live, live >= t};
}

std::string DescribeCompleteFailure(uint32_t n, const SecurityGoals& g,
                                    const CompleteCheck& check) {
  return StrCat(
      "the complete graph on n = ", n,
      " nodes fails dropout goal (c): with "
      "c = floor(",
      Fmt(g.corrupt_fraction), " * n) = ", check.params.corrupt_bound,
      " corrupt nodes the threshold must be t = floor((n + c)/2) + 1 = ",
      check.params.threshold, ", but a dropped node keeps only k - floor(",
      Fmt(g.dropout_fraction), " * n) = ", check.live_holders,
      " live holders; lower corrupt_fraction or dropout_fraction, or add "
      "nodes");
}

}  // namespace

absl::StatusOr<GraphParameters> ChooseParameters(uint32_t n,
                                                 const SecurityGoals& goals) {
  if (absl::Status s = ValidateGoals(n, goals); !s.ok()) return s;
  const double gamma = goals.corrupt_fraction;
  const double delta = goals.dropout_fraction;

  if (n <= goals.complete_graph_max) {
    const CompleteCheck check = CheckComplete(n, goals);
    if (!check.ok) {
      return absl::InvalidArgumentError(
          StrCat("no secure-aggregation parameters: ",
                 DescribeCompleteFailure(n, goals, check)));
    }
    return check.params;
  }

  const double log_n = std::log(static_cast<double>(n));
  const double log_fail = std::log(gamma + delta);  // -inf when both are 0
  int64_t c = 0;
  for (uint64_t k = 2; k + 1 < n && k <= kMaxSparseDegree; k += 2) {
    // (d): n * (gamma + delta)^(k/2) <= 2^-sigma.
    if (log_n + static_cast<double>(k / 2) * log_fail >
        -goals.security_bits * kLn2) {
      continue;
    }
    // Cheap necessary condition for (c) with the smallest possible c.
    const double kd = static_cast<double>(k);
    const int64_t delta_floor = FloorLowerBound(kd * delta);
    c = std::max(c, FloorLowerBound(kd * gamma));
    if (static_cast<int64_t>(k) - Threshold(k, c) < delta_floor) continue;
    // (a): the smallest c with n * P[Bin(k, gamma) > c] <= 2^-sigma.
    while (!TailWithin(n, k, gamma, c, goals.security_bits)) ++c;
    // (b), then (c): n * P[Bin(k, delta) > k - t] <= 2^-eta.
    const int64_t t = Threshold(k, c);
    const int64_t slack = static_cast<int64_t>(k) - t;
    if (slack < delta_floor ||
        !TailWithin(n, k, delta, slack, goals.correctness_bits)) {
      continue;
    }
    return GraphParameters{.complete = false,
                           .degree = static_cast<uint32_t>(k),
                           .threshold = static_cast<uint32_t>(t),
                           .corrupt_bound = static_cast<uint32_t>(c)};
  }

  const CompleteCheck check = CheckComplete(n, goals);
  if (!check.ok) {
    return absl::InvalidArgumentError(StrCat(
        "no secure-aggregation parameters for n = ", n,
        ": no even degree 2 <= k < n-1, k <= ", kMaxSparseDegree,
        ", meets goals (a)-(d) of parameters.h (corrupt_fraction = ",
        Fmt(gamma), ", dropout_fraction = ", Fmt(delta), ", security_bits = ",
        goals.security_bits, ", correctness_bits = ", goals.correctness_bits,
        "), and ", DescribeCompleteFailure(n, goals, check)));
  }
  return check.params;
}

absl::Status CheckPrivacyOfParameters(uint32_t n, const GraphParameters& p,
                                      const SecurityGoals& goals) {
  if (absl::Status s = ValidateGoals(n, goals); !s.ok()) return s;
  const uint64_t k = p.complete ? uint64_t{n} - 1 : p.degree;
  if (k == 0 || k >= n) {
    return absl::InvalidArgumentError(
        StrCat("degree ", k, " is not possible with ", n, " nodes"));
  }
  int64_t c = 0;
  if (p.complete) {
    c = static_cast<int64_t>(std::floor(goals.corrupt_fraction * n));
  } else {
    // (d): the honest survivors must stay connected.
    const double log_fail =
        std::log(goals.corrupt_fraction + goals.dropout_fraction);
    if (std::log(static_cast<double>(n)) +
            static_cast<double>(k / 2) * log_fail >
        -goals.security_bits * kLn2) {
      return absl::PermissionDeniedError(
          StrCat("degree k = ", k, " is too small for ", n,
                 " nodes: with these corrupt and dropout fractions the honest "
                 "survivors could be split into groups whose sums are revealed "
                 "(goal (d) of parameters.h)"));
    }
    c = static_cast<int64_t>(
        std::floor(static_cast<double>(k) * goals.corrupt_fraction));
    while (c < static_cast<int64_t>(k) &&
           !TailWithin(n, k, goals.corrupt_fraction, c, goals.security_bits)) {
      ++c;
    }
  }
  const int64_t need = Threshold(k, c);
  if (static_cast<int64_t>(p.threshold) < need) {
    return absl::PermissionDeniedError(
        StrCat("threshold t = ", p.threshold, " is too low: with up to ", c,
               " colluding holders among ", k + 1,
               ", t must be at least floor((k + 1 + c)/2) + 1 = ", need,
               " or the coordinator could collect both secrets of a node"));
  }
  if (p.threshold > k + 1) {
    return absl::InvalidArgumentError(StrCat(
        "threshold t = ", p.threshold, " exceeds the ", k + 1, " holders"));
  }
  return absl::OkStatus();
}

absl::StatusOr<int> ChooseModulusBits(std::span<const uint64_t> bounds,
                                      uint32_t nodes) {
  if (bounds.empty()) {
    return absl::InvalidArgumentError(
        "cannot choose a modulus for an empty vector: bounds is empty");
  }
  const uint64_t max_bound = *std::max_element(bounds.begin(), bounds.end());
  __extension__ typedef unsigned __int128 Uint128;
  const Uint128 total = static_cast<Uint128>(max_bound) * nodes;
  if (total >> 64 != 0) {
    return absl::InvalidArgumentError(
        StrCat("the sum of ", nodes, " vectors with elements up to ", max_bound,
               " needs more than 64 bits; lower the per-element bound (clip or "
               "rescale the values) or split the query"));
  }
  // 2^m > total  <=>  m >= bit_width(total); at least one bit.
  return std::max(
      1, static_cast<int>(std::bit_width(static_cast<uint64_t>(total))));
}

}  // namespace kring::crypto::secagg
