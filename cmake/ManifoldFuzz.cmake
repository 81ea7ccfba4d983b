# libFuzzer build (MANIFOLD_FUZZ=ON). Included from the top-level CMakeLists.txt right after
# ManifoldDeps, before any target exists, so that every Manifold library the fuzz targets link
# is instrumented too: coverage for libFuzzer (fuzzer-no-link), ASan and UBSan everywhere.
# The fuzz executables themselves add -fsanitize=fuzzer (libFuzzer's main) in
# tests/fuzz/CMakeLists.txt. Configure with clang:
#   CC=clang CXX=clang++ cmake -S . -B build-fuzz -G Ninja -DMANIFOLD_FUZZ=ON -DMANIFOLD_TESTS=ON
include_guard(GLOBAL)

if(MANIFOLD_FUZZ)
  if(NOT CMAKE_CXX_COMPILER_ID MATCHES "Clang" OR NOT CMAKE_C_COMPILER_ID MATCHES "Clang")
    message(FATAL_ERROR "MANIFOLD_FUZZ needs clang (configure with CC=clang CXX=clang++); "
                        "got ${CMAKE_C_COMPILER_ID} / ${CMAKE_CXX_COMPILER_ID}")
  endif()
  add_compile_options(-fsanitize=fuzzer-no-link,address,undefined -fno-omit-frame-pointer)
  # Undefined behaviour is a finding, not a log line: stop at the first report so that
  # libFuzzer records the input.
  add_compile_options(-fno-sanitize-recover=undefined)
  # clang 14's -fsanitize=function (part of "undefined") cannot compile C++20 coroutines
  # ("Cannot represent a difference across sections" in rpc/connection.cc, server.cc).
  add_compile_options(-fno-sanitize=function)
  add_link_options(-fsanitize=address,undefined)
  # Boost 1.74's Asio enables co_await on clang only with <experimental/coroutine>, which
  # libstdc++ does not have; clang 14 does support C++20 coroutines with libstdc++'s
  # <coroutine> (Asio's own std-coroutine check already passes, via __GNUC__).
  add_compile_definitions(BOOST_ASIO_HAS_CO_AWAIT=1)
endif()
