#ifndef KRING_TESTS_TESTING_ZERO_NOISE_H_
#define KRING_TESTS_TESTING_ZERO_NOISE_H_

// A noise source that adds nothing, for exactness tests only (federated
// equals pooled, reference values). Injected through the node's options;
// no binary kring ships can reach it.

#include <memory>
#include <vector>

#include "query/noise.h"

namespace kring::testing {

class ZeroNoise final : public query::NoiseSource {
 public:
  absl::StatusOr<std::vector<int64_t>> Sample(const crypto::Rational&,
                                              size_t count) override {
    return std::vector<int64_t>(count, 0);
  }
};

inline ZeroNoise& ZeroNoiseSource() {
  static ZeroNoise* zero = new ZeroNoise();
  return *zero;
}

inline std::shared_ptr<query::NoiseSource> MakeZeroNoise() {
  return std::make_shared<ZeroNoise>();
}

}  // namespace kring::testing

#endif  // KRING_TESTS_TESTING_ZERO_NOISE_H_
