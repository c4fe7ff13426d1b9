#ifndef KRING_CRYPTO_SECAGG_INTERNAL_PARALLEL_H_
#define KRING_CRYPTO_SECAGG_INTERNAL_PARALLEL_H_

// Coarse-grained work over a few threads for the coordinator. Unlike
// util/parallel.h (fine-grained, at least 1,024 items per thread), items here
// are expensive (a reconstruction, a signature check) and each worker keeps
// its own accumulator, so the worker index is passed along.

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <thread>
#include <vector>

namespace kring::crypto::secagg::internal {

// The number of workers for `requested` (0 = one per core), at least 1.
inline int WorkerCount(int requested) {
  if (requested > 0) return requested;
  return static_cast<int>(
      std::max<unsigned>(1, std::thread::hardware_concurrency()));
}

// Below this many items, starting threads costs more than it saves.
inline constexpr size_t kMinItemsForThreads = 16;

// Calls fn(i, worker) for every i in [0, n) on `workers` threads (worker in
// [0, workers)), handing out items one by one so that uneven items balance.
// Runs on the calling thread alone when workers <= 1 or n <
// kMinItemsForThreads. Returns when every call is done. `fn` must be safe
// to call concurrently for different i and different workers.
template <typename Fn>
void ParallelForWorkers(size_t n, int workers, Fn&& fn) {
  if (workers <= 1 || n < kMinItemsForThreads) {
    for (size_t i = 0; i < n; ++i) fn(i, 0);
    return;
  }
  workers = static_cast<int>(std::min<size_t>(workers, n));
  std::atomic<size_t> next{0};
  auto run = [&](int worker) {
    for (size_t i = next++; i < n; i = next++) fn(i, worker);
  };
  std::vector<std::thread> pool;
  pool.reserve(workers - 1);
  for (int w = 1; w < workers; ++w) pool.emplace_back(run, w);
  run(0);
  for (auto& t : pool) t.join();
}

}  // namespace kring::crypto::secagg::internal

#endif  // KRING_CRYPTO_SECAGG_INTERNAL_PARALLEL_H_
