#ifndef KRING_SURVEY_INTERNAL_EMBEDDED_INSTRUMENTS_H_
#define KRING_SURVEY_INTERNAL_EMBEDDED_INSTRUMENTS_H_

// The shipped instrument files, embedded at build time (survey/CMakeLists.txt
// generates the definitions from survey/instruments/*.yaml).

#include <string_view>

namespace kring::survey::internal {

// The text of survey/instruments/kring-belonging-v1.yaml. Static storage.
std::string_view BelongingV1Yaml();
// The text of survey/instruments/kring-belonging-v1-pisa.yaml.
std::string_view BelongingV1PisaYaml();

}  // namespace kring::survey::internal

#endif  // KRING_SURVEY_INTERNAL_EMBEDDED_INSTRUMENTS_H_
