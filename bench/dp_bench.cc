#include "bench/dp_bench.h"

#include <sodium.h>

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "bench/bench_util.h"
#include "crypto/init.h"
#include "crypto/noise.h"
#include "crypto/random.h"
#include "query/privacy.h"

namespace kring::bench {
namespace {

// Forwards to another source and counts what is drawn.
class CountingRandom final : public crypto::RandomSource {
 public:
  explicit CountingRandom(crypto::RandomSource& inner) : inner_(inner) {}
  void Fill(std::span<uint8_t> out) override {
    bytes_ += out.size();
    ++calls_;
    inner_.Fill(out);
  }
  uint64_t bytes() const { return bytes_; }
  uint64_t calls() const { return calls_; }

 private:
  crypto::RandomSource& inner_;
  uint64_t bytes_ = 0;
  uint64_t calls_ = 0;
};

// Bytes per second of randombytes_buf called with `chunk` bytes at a time,
// over `total` bytes; median of `reps`.
double RandombytesBytesPerSecond(size_t chunk, size_t total, int reps) {
  std::vector<uint8_t> buf(chunk);
  std::vector<double> t;
  for (int r = 0; r < reps; ++r) {
    t.push_back(TimeOnce([&] {
      for (size_t done = 0; done < total; done += chunk) {
        randombytes_buf(buf.data(), chunk);
      }
    }));
  }
  volatile uint8_t sink = buf[chunk / 2];
  (void)sink;
  return static_cast<double>(total) / Median(t);
}

// One sample per call (SampleDiscreteGaussian, 8-byte reads).
nlohmann::json SingleFigures(crypto::Rational s2, const DpBenchOptions& o) {
  CountingRandom rng(crypto::SystemRandom());
  std::vector<double> seconds;
  long double sum_sq = 0;
  for (int r = 0; r < o.repetitions; ++r) {
    seconds.push_back(TimeOnce([&] {
      for (int i = 0; i < o.samples; ++i) {
        int64_t x = *crypto::SampleDiscreteGaussian(s2, rng);
        sum_sq += static_cast<long double>(x) * x;
      }
    }));
  }
  const double total = static_cast<double>(o.samples) * o.repetitions;
  const double per_second = o.samples / Median(seconds);
  return {
      {"samples_per_second", per_second},
      {"ns_per_sample", 1e9 / per_second},
      {"random_bytes_per_sample", static_cast<double>(rng.bytes()) / total},
      {"random_source_calls_per_sample",
       static_cast<double>(rng.calls()) / total},
      {"random_bytes_per_second", per_second * rng.bytes() / total},
      {"mean_square", static_cast<double>(sum_sq / total)},
  };
}

// A whole vector per call (SampleDiscreteGaussians, 512-byte reads).
nlohmann::json VectorFigures(crypto::Rational s2, const DpBenchOptions& o) {
  CountingRandom rng(crypto::SystemRandom());
  std::vector<double> seconds;
  long double sum_sq = 0;
  for (int r = 0; r < o.repetitions; ++r) {
    std::vector<int64_t> xs;
    seconds.push_back(TimeOnce(
        [&] { xs = *crypto::SampleDiscreteGaussians(s2, o.samples, rng); }));
    for (int64_t x : xs) sum_sq += static_cast<long double>(x) * x;
  }
  const double total = static_cast<double>(o.samples) * o.repetitions;
  const double per_second = o.samples / Median(seconds);
  return {
      {"samples_per_second", per_second},
      {"ns_per_sample", 1e9 / per_second},
      {"random_bytes_per_sample", static_cast<double>(rng.bytes()) / total},
      {"random_source_calls_per_sample",
       static_cast<double>(rng.calls()) / total},
      {"random_bytes_per_second", per_second * rng.bytes() / total},
      {"mean_square", static_cast<double>(sum_sq / total)},
  };
}

nlohmann::json SamplerFigures(const std::string& label, crypto::Rational s2,
                              const DpBenchOptions& o) {
  const double variance = query::privacy::DiscreteGaussianVariance(
      static_cast<double>(s2.num) / static_cast<double>(s2.den));
  nlohmann::json out = {{"sigma2", label},
                        {"single", SingleFigures(s2, o)},
                        {"vector", VectorFigures(s2, o)}};
  // A sanity check of the draws timed: near 1 (standard error about
  // sqrt(2 / draws)).
  for (const char* mode : {"single", "vector"}) {
    nlohmann::json& m = out[mode];
    m["mean_square_over_variance"] = m["mean_square"].get<double>() / variance;
    m.erase("mean_square");
  }
  return out;
}

}  // namespace

nlohmann::json RunDpSamplerBench(const DpBenchOptions& o) {
  (void)crypto::Init();
  // Warm up libsodium's generator and the sampler's code paths.
  RandombytesBytesPerSecond(8, size_t{1} << 20, 1);
  nlohmann::json gaussians = nlohmann::json::array();
  gaussians.push_back(SamplerFigures("1", {1, 1}, o));
  gaussians.push_back(SamplerFigures("100", {100, 1}, o));
  gaussians.push_back(SamplerFigures("1e6", {1000000, 1}, o));
  gaussians.push_back(SamplerFigures("1e10", {10000000000, 1}, o));
  const int reps = o.repetitions;
  double chunk8 = RandombytesBytesPerSecond(8, size_t{1} << 23, reps);
  double chunk512 = RandombytesBytesPerSecond(512, size_t{1} << 25, reps);
  double block =
      RandombytesBytesPerSecond(size_t{1} << 16, size_t{1} << 26, reps);
  for (auto& g : gaussians) {
    // Time the randomness alone would take (randombytes_buf in the same
    // chunks), as a share of the sampler's time.
    g["single"]["randombytes_share_of_time"] =
        g["single"]["random_bytes_per_second"].get<double>() / chunk8;
    g["vector"]["randombytes_share_of_time"] =
        g["vector"]["random_bytes_per_second"].get<double>() / chunk512;
  }
  return {
      {"samples_per_repetition", o.samples},
      {"repetitions", reps},
      {"discrete_gaussian", gaussians},
      {"randombytes_buf_8_byte_calls_bytes_per_second", chunk8},
      {"randombytes_buf_512_byte_calls_bytes_per_second", chunk512},
      {"randombytes_buf_64_kib_calls_bytes_per_second", block},
  };
}

nlohmann::json RunDpBench(const DpBenchOptions& o) {
  nlohmann::json out;
  out["sampler"] = RunDpSamplerBench(o);
  // Further parts (the utility figures: noise SD of means and shares, CI
  // widths) each add one member here from a function of their own.
  return out;
}

}  // namespace kring::bench
