#include "bench/dp_bench.h"

#include <sodium.h>

#include <cmath>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "bench/bench_util.h"
#include "crypto/init.h"
#include "crypto/noise.h"
#include "crypto/random.h"
#include "crypto/secagg/parameters.h"
#include "query/layout.h"
#include "query/noise.h"
#include "query/privacy.h"
#include "query/spec.h"
#include "survey/instrument.h"

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

// The figures of `o.repetitions` timed runs of `o.samples` draws each from
// `rng`, whose squares summed to `sum_sq`.
nlohmann::json Figures(const CountingRandom& rng,
                       const std::vector<double>& seconds, long double sum_sq,
                       const DpBenchOptions& o) {
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
  return Figures(rng, seconds, sum_sq, o);
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
  return Figures(rng, seconds, sum_sq, o);
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

namespace {

constexpr double kZ = 1.959963984540054;  // 97.5% normal quantile

// The plan of `spec` (no group variables: one cell) for a run of `schools`
// schools at the default rho, calibrated to their threshold as the
// coordinator does.
absl::StatusOr<query::NoisePlan> PlanFor(const query::Layout& layout,
                                         uint32_t schools) {
  auto params = crypto::secagg::ChooseParameters(
      schools, crypto::secagg::SecurityGoals());
  if (!params.ok()) return params.status();
  return query::NoisePlan::Create(layout, layout.query().rho(),
                                  params->threshold, schools);
}

absl::StatusOr<query::Query> QueryOf(const char* json) {
  auto spec = query::ParseQuerySpecJson(json);
  if (!spec.ok()) return spec.status();
  return query::Query::Create(*spec, survey::Instrument::BelongingV1());
}

}  // namespace

nlohmann::json RunDpUtilityBench() {
  // A mean of 2.7 (SD 0.9) and a share of 0.3, typical of the belonging
  // scales; widths by the normal approximation.
  constexpr double kMean = 2.7, kSd = 0.9, kShare = 0.3;
  auto mean_q = QueryOf(R"({"statistic": "mean",
      "measures": ["belong_perception"]})");
  auto share_q = QueryOf(R"({"statistic": "proportion",
      "measures": ["belong_perception"], "cutoff": 2.5,
      "direction": "below"})");
  if (!mean_q.ok() || !share_q.ok()) return {{"error", "bad query"}};
  const query::Layout mean_layout(*mean_q), share_layout(*share_q);
  const double scale = static_cast<double>(mean_q->measures()[0].scale_factor);
  nlohmann::json rows = nlohmann::json::array();
  for (uint32_t schools : {3u, 10u, 30u}) {
    auto mp = PlanFor(mean_layout, schools);
    auto sp = PlanFor(share_layout, schools);
    if (!mp.ok() || !sp.ok()) return {{"error", "no noise plan"}};
    // Elements: records, schools, then n, sum (, sum of squares) / n, k.
    const double var_n = mp->NoiseVariance(2, schools);
    const double var_s = mp->NoiseVariance(3, schools) / (scale * scale);
    const double var_sn = sp->NoiseVariance(2, schools);
    const double var_k = sp->NoiseVariance(3, schools);
    for (double n : {10.0, 30.0, 100.0, 1000.0}) {
      const double mean_noise = std::sqrt(var_s + kMean * kMean * var_n) / n;
      const double share_noise =
          std::sqrt(var_k + kShare * kShare * var_sn) / n;
      const double mean_half = kZ * kSd / std::sqrt(n);
      const double share_half = kZ * std::sqrt(kShare * (1 - kShare) / n);
      rows.push_back(
          {{"schools", schools},
           {"pupils_in_cell", n},
           {"mean_noise_sd", mean_noise},
           {"mean_ci_width_exact", 2 * mean_half},
           {"mean_ci_width_with_noise",
            2 * std::hypot(mean_half, kZ * mean_noise)},
           {"share_noise_sd", share_noise},
           {"share_ci_width_exact", 2 * share_half},
           {"share_ci_width_with_noise",
            2 * std::hypot(share_half, kZ * share_noise)},
           {"count_noise_sd", std::sqrt(mp->NoiseVariance(0, schools))}});
    }
  }
  return {
      {"rho", mean_q->rho()},
      {"epsilon_at_1e-6", query::privacy::EpsilonAtDelta(mean_q->rho(), 1e-6)},
      {"assumed", {{"mean", kMean}, {"sd", kSd}, {"share", kShare}}},
      {"note",
       "one measure, no group variables; noise calibrated to the run's "
       "threshold t as the coordinator does; widths by the normal "
       "approximation, noise and sampling error independent"},
      {"cells", rows}};
}

nlohmann::json RunDpBench(const DpBenchOptions& o) {
  nlohmann::json out;
  out["utility"] = RunDpUtilityBench();
  out["sampler"] = RunDpSamplerBench(o);
  return out;
}

}  // namespace kring::bench
