# KRING_FUZZ=ON: a build of the libFuzzer harnesses in tests/fuzz only, with
# AddressSanitizer and UndefinedBehaviorSanitizer on kring's own code (the
# Debian libraries stay as built). Needs clang (clang-14 and
# libclang-rt-14-dev on Debian 12):
#   CC=clang-14 CXX=clang++-14 cmake -S . -B build-fuzz -DKRING_FUZZ=ON
if(NOT CMAKE_CXX_COMPILER_ID STREQUAL "Clang")
  message(FATAL_ERROR "KRING_FUZZ needs clang (libFuzzer); configure with "
    "CXX=clang++-14 in a fresh build directory, e.g. build-fuzz")
endif()
if(NOT CMAKE_BUILD_TYPE)
  # Debug keeps assert(); -O1 below keeps the harnesses fast enough.
  set(CMAKE_BUILD_TYPE Debug CACHE STRING "Build type" FORCE)
endif()
set(KRING_BUILD_TESTS OFF CACHE BOOL "" FORCE)
set(KRING_BUILD_BENCH OFF CACHE BOOL "" FORCE)
set(KRING_SANITIZERS address,undefined)
add_compile_options(-O1 -g -fno-omit-frame-pointer
  -fsanitize=${KRING_SANITIZERS},fuzzer-no-link
  -fno-sanitize-recover=all)
add_link_options(-fsanitize=${KRING_SANITIZERS})
