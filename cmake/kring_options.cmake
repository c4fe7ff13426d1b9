# kring::options — language level and warnings for kring's own code.
# Link it PRIVATE from every project target; generated protobuf code never
# links it, so -Werror cannot trip on protoc output.
add_library(kring_options INTERFACE)
add_library(kring::options ALIAS kring_options)
target_compile_features(kring_options INTERFACE cxx_std_20)
target_compile_options(kring_options INTERFACE
  $<$<CXX_COMPILER_ID:GNU,Clang>:-Wall -Wextra -Wpedantic -Werror>)
