#ifndef KRING_BENCH_DP_BENCH_H_
#define KRING_BENCH_DP_BENCH_H_

#include "nlohmann/json.hpp"

namespace kring::bench {

struct DpBenchOptions {
  int samples = 200000;  // discrete Gaussian draws per sigma2 and repetition
  int repetitions = 5;   // timed repetitions (the median is reported)
};

// The figures of `kring-bench dp`, one JSON member per part, each from its
// own function below.
nlohmann::json RunDpBench(const DpBenchOptions& options);

// Part "sampler": throughput of crypto::SampleDiscreteGaussian (one sample
// per call) and SampleDiscreteGaussians (a vector per call) on SystemRandom
// at sigma2 = 1, 100, 10^6 and 10^10 (samples/s, random bytes and
// RandomSource calls per sample), against libsodium's randombytes_buf in
// the same run, in the samplers' 8- and 512-byte chunks and in 64 KiB
// blocks.
nlohmann::json RunDpSamplerBench(const DpBenchOptions& options);

// Part "utility": at the default rho, for cells of 10, 30, 100 and 1,000
// pupils over 3, 10 and 30 schools, the noise SD of a mean and of a share
// and their 95% interval widths with and without the noise (from the noise
// plan the coordinator and the schools use; no sampling).
nlohmann::json RunDpUtilityBench();

}  // namespace kring::bench

#endif  // KRING_BENCH_DP_BENCH_H_
