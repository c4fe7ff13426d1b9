# kring::options — language level and warnings for kring's own code.
# Link it PRIVATE from every project target; generated protobuf code never
# links it, so -Werror cannot trip on protoc output.
add_library(kring_options INTERFACE)
add_library(kring::options ALIAS kring_options)
target_compile_features(kring_options INTERFACE cxx_std_20)
target_compile_options(kring_options INTERFACE
  $<$<CXX_COMPILER_ID:GNU,Clang>:-Wall -Wextra -Wpedantic -Werror>)
# GCC 12's -Wrestrict reports impossible overlaps inside std::string at -O3
# (GCC bugs 105329 and 105651), which stops a Release build under -Werror.
# Keep it a warning there, not an error.
if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU" AND
   CMAKE_CXX_COMPILER_VERSION VERSION_GREATER_EQUAL 12 AND
   CMAKE_CXX_COMPILER_VERSION VERSION_LESS 13)
  target_compile_options(kring_options INTERFACE -Wno-error=restrict)
endif()
