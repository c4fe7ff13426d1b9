// libFuzzer harness: node.yaml (node/config.h). Input: the YAML text.
// Checks: no crash; errors carry a message; a configuration that parses is
// valid (Validate) and survives a round trip through ToYaml and Parse.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "node/config.h"
#include "tests/fuzz/check.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view yaml(reinterpret_cast<const char*>(data), size);
  auto config = kring::node::NodeConfig::Parse(yaml, "node.yaml");
  if (!config.ok()) {
    KRING_FUZZ_CHECK(!config.status().message().empty());
    return 0;
  }
  KRING_FUZZ_CHECK(config->Validate().ok());
  const std::string written = config->ToYaml();
  auto again = kring::node::NodeConfig::Parse(written, "node.yaml");
  KRING_FUZZ_CHECK(again.ok());
  KRING_FUZZ_CHECK(again->ToYaml() == written);
  return 0;
}
