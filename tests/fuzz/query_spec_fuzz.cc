// libFuzzer harness: query specs as JSON (query/spec.h), as `kring query
// submit` and `kring-node preview` read them. Input: the JSON text.
// A spec that parses is validated against kring-belonging-v1
// (Query::Create); a valid query is laid out (Layout) and summarised.
// Checks: no crash; errors carry a message; a valid query's privacy cost is
// finite and within (0, kMaxQueryRho].

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "query/layout.h"
#include "query/spec.h"
#include "survey/instrument.h"
#include "tests/fuzz/check.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const kring::survey::Instrument& instrument =
      kring::survey::Instrument::BelongingV1();
  const std::string_view json(reinterpret_cast<const char*>(data), size);
  auto spec = kring::query::ParseQuerySpecJson(json);
  if (!spec.ok()) {
    KRING_FUZZ_CHECK(!spec.status().message().empty());
    return 0;
  }
  auto query = kring::query::Query::Create(*spec, instrument);
  if (!query.ok()) {
    KRING_FUZZ_CHECK(!query.status().message().empty());
    return 0;
  }
  KRING_FUZZ_CHECK(std::isfinite(query->rho()) && query->rho() > 0 &&
                   query->rho() <= kring::query::kMaxQueryRho);
  if (query->cutoff()) KRING_FUZZ_CHECK(std::isfinite(*query->cutoff()));
  (void)query->Summary();
  const kring::query::Layout layout(*query);
  KRING_FUZZ_CHECK(layout.size() == layout.cell_count() * layout.cell_width());
  if (layout.size() <= 100'000) {
    const std::vector<uint64_t> bounds = layout.NodeBounds();
    KRING_FUZZ_CHECK(bounds.size() == layout.size());
    for (size_t i = 0; i < layout.size(); i += layout.cell_width()) {
      (void)layout.Describe(i);
    }
  }
  return 0;
}
