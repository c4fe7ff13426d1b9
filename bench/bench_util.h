#ifndef KRING_BENCH_BENCH_UTIL_H_
#define KRING_BENCH_BENCH_UTIL_H_

#include <algorithm>
#include <chrono>
#include <vector>

namespace kring::bench {

// Seconds taken by one call of `f`.
template <typename F>
double TimeOnce(F&& f) {
  auto start = std::chrono::steady_clock::now();
  f();
  auto end = std::chrono::steady_clock::now();
  return std::chrono::duration<double>(end - start).count();
}

inline double Median(std::vector<double> v) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  size_t n = v.size();
  return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

// The value at quantile q (0..1), nearest rank.
inline double Quantile(std::vector<double> v, double q) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  size_t idx = static_cast<size_t>(q * static_cast<double>(v.size() - 1) + 0.5);
  return v[std::min(idx, v.size() - 1)];
}

}  // namespace kring::bench

#endif  // KRING_BENCH_BENCH_UTIL_H_
