#ifndef KRING_TESTS_FUZZ_CHECK_H_
#define KRING_TESTS_FUZZ_CHECK_H_

// A harness's property check: a broken contract is a finding, like a crash
// (libFuzzer saves the input when the process aborts).

#include <cstdio>
#include <cstdlib>

#define KRING_FUZZ_CHECK(cond)                                               \
  do {                                                                       \
    if (!(cond)) {                                                           \
      std::fprintf(stderr, "contract broken: %s (%s:%d)\n", #cond, __FILE__, \
                   __LINE__);                                                \
      std::abort();                                                          \
    }                                                                        \
  } while (false)

#endif  // KRING_TESTS_FUZZ_CHECK_H_
