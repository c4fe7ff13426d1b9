#ifndef KRING_TESTS_FUZZ_SECAGG_FUZZ_H_
#define KRING_TESTS_FUZZ_SECAGG_FUZZ_H_

// The input format shared by the two secure-aggregation harnesses:
//   byte 0  round (to a node: 1 + b % 4; to the coordinator: b % 5)
//   byte 1  node (b % 4)
//   byte 2  mode (b % 3): 0 replace the honest message with the bytes,
//           1 merge the bytes into it (protobuf MergeFrom: fields
//           overwritten, repeated fields appended), 2 deliver the bytes as
//           an extra message before the honest one
//   rest    a serialized kring.v1.SecAggMessage

#include <cstddef>
#include <cstdint>
#include <string>

#include "google/protobuf/stubs/logging.h"
#include "kring/v1/secagg.pb.h"
#include "tests/fuzz/secagg_run.h"

namespace kring::fuzz {

inline void RunTamperedSecAgg(const uint8_t* data, size_t size, bool to_node) {
  // Protobuf logs every string field with invalid UTF-8; the harness
  // makes many.
  static const bool quiet = [] {
    google::protobuf::SetLogHandler(nullptr);
    return true;
  }();
  (void)quiet;
  if (size < 3) return;
  const uint32_t round = to_node ? 1 + data[0] % 4 : data[0] % 5;
  const uint32_t node = data[1] % SecAggRun::kNodes;
  const int mode = data[2] % 3;
  const std::string bytes(reinterpret_cast<const char*>(data) + 3, size - 3);
  v1::SecAggMessage fuzzed;
  if (mode != 1 && !fuzzed.ParseFromString(bytes)) return;
  auto at = [&](uint32_t r, uint32_t n, bool t) {
    return r == round && n == node && t == to_node;
  };
  bool malformed = false;
  SecAggRun run;
  run.Run(
      [&](uint32_t r, uint32_t n, bool t, v1::SecAggMessage& m) {
        if (!at(r, n, t)) return;
        if (mode == 0) m = fuzzed;
        if (mode == 1 && !m.MergeFromString(bytes)) malformed = true;
      },
      [&](uint32_t r, uint32_t n, bool t) {
        std::vector<v1::SecAggMessage> extra;
        if (mode == 2 && at(r, n, t)) extra.push_back(fuzzed);
        return extra;
      });
  (void)malformed;  // a half-merged message is delivered as it is
}

}  // namespace kring::fuzz

#endif  // KRING_TESTS_FUZZ_SECAGG_FUZZ_H_
