#ifndef KRING_NODE_INTERNAL_EMBEDDED_INSTRUMENTS_H_
#define KRING_NODE_INTERNAL_EMBEDDED_INSTRUMENTS_H_

// The shipped instrument files, embedded at build time (node/CMakeLists.txt
// generates the definitions from node/instruments/*.yaml).

#include <string_view>

namespace kring::node::internal {

// The text of node/instruments/kring-belonging-v1.yaml. Static storage.
std::string_view BelongingV1Yaml();

}  // namespace kring::node::internal

#endif  // KRING_NODE_INTERNAL_EMBEDDED_INSTRUMENTS_H_
