#ifndef KRING_UTIL_PARALLEL_H_
#define KRING_UTIL_PARALLEL_H_

// Splitting independent per-element work over the machine's cores.

#include <algorithm>
#include <cstddef>
#include <thread>
#include <vector>

namespace kring {

// Calls fn(i) for every i in [0, n), on up to `max_threads` threads (0 =
// one per core) in contiguous chunks; returns when all calls are done.
// `fn` must be safe to call concurrently for different i. Small n runs on
// the calling thread.
template <typename Fn>
void ParallelFor(size_t n, Fn fn, size_t max_threads = 0) {
  size_t threads =
      max_threads != 0
          ? max_threads
          : std::max<size_t>(1, std::thread::hardware_concurrency());
  constexpr size_t kMinPerThread = 1024;
  threads = std::min(threads, std::max<size_t>(1, n / kMinPerThread));
  if (threads <= 1) {
    for (size_t i = 0; i < n; ++i) fn(i);
    return;
  }
  const size_t chunk = (n + threads - 1) / threads;
  std::vector<std::thread> workers;
  workers.reserve(threads - 1);
  for (size_t t = 1; t < threads; ++t) {
    const size_t begin = t * chunk, end = std::min(n, begin + chunk);
    workers.emplace_back([&fn, begin, end] {
      for (size_t i = begin; i < end; ++i) fn(i);
    });
  }
  for (size_t i = 0; i < std::min(n, chunk); ++i) fn(i);
  for (std::thread& w : workers) w.join();
}

}  // namespace kring

#endif  // KRING_UTIL_PARALLEL_H_
