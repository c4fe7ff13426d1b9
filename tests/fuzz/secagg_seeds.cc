// Writes the seed corpora of the secure-aggregation harnesses from an
// honest run: for every message, one input per mode (replace, merge,
// inject). Usage: secagg_seeds CORPUS_DIR (tests/fuzz/corpus); writes
// secagg_node/ and secagg_coordinator/ below it.

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>

#include "tests/fuzz/secagg_run.h"
#include "util/str_cat.h"

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: secagg_seeds CORPUS_DIR\n");
    return 2;
  }
  const std::filesystem::path root = argv[1];
  kring::fuzz::SecAggRun run;
  const auto transcript = run.Transcript();
  if (!run.finished()) {
    std::fprintf(stderr, "secagg_seeds: the honest run released no sum\n");
    return 1;
  }
  for (const auto& sent : transcript) {
    const char* harness = sent.to_node ? "secagg_node" : "secagg_coordinator";
    std::filesystem::create_directories(root / harness);
    const uint8_t round_byte =
        static_cast<uint8_t>(sent.to_node ? sent.round - 1 : sent.round);
    for (int mode = 0; mode < 3; ++mode) {
      std::string bytes;
      bytes.push_back(static_cast<char>(round_byte));
      bytes.push_back(static_cast<char>(sent.node));
      bytes.push_back(static_cast<char>(mode));
      bytes += sent.message.SerializeAsString();
      const std::string name =
          kring::StrCat("round", sent.round, "-node", sent.node, "-mode", mode);
      std::ofstream(root / harness / name, std::ios::binary) << bytes;
    }
  }
  return 0;
}
