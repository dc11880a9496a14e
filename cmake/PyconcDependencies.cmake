# Dependencies: Debian's packages first, a pinned download where one is missing.
#
# Each FetchContent_Declare names the release tarball and its SHA-256 and hands
# FIND_PACKAGE_ARGS to find_package(), which FetchContent_MakeAvailable() tries
# first. On Debian/Ubuntu with libfmt-dev, libcli11-dev, libgtest-dev and
# libbenchmark-dev installed nothing is downloaded; on a machine without them
# and with internet, the pinned sources are fetched and built in-tree.
include(FetchContent)

find_package(Threads REQUIRED)

FetchContent_Declare(fmt
    URL https://github.com/fmtlib/fmt/archive/9.1.0.tar.gz
    URL_HASH SHA256=5dea48d1fcddc3ec571ce2058e13910a0d4a6bab4cc09a809d8b1dd1c88ae6f2
    FIND_PACKAGE_ARGS 9)
FetchContent_Declare(CLI11
    URL https://github.com/CLIUtils/CLI11/archive/v2.1.2.tar.gz
    URL_HASH SHA256=26291377e892ba0e5b4972cdfd4a2ab3bf53af8dac1f4ea8fe0d1376b625c8cb
    FIND_PACKAGE_ARGS 2.1)
# A fetched fmt must install with pyconc, whose exported target links it.
set(FMT_INSTALL ON CACHE BOOL "")
set(CLI11_INSTALL ON CACHE BOOL "")
FetchContent_MakeAvailable(fmt CLI11)

if(PYCONC_BUILD_TESTS)
    FetchContent_Declare(googletest
        URL https://github.com/google/googletest/archive/refs/tags/release-1.12.1.tar.gz
        URL_HASH SHA256=81964fe578e9bd7c94dfdb09c8e4d6e6759e19967e397dbea48d1c10e45d0df2
        FIND_PACKAGE_ARGS 1.12 NAMES GTest)
    set(INSTALL_GTEST OFF CACHE BOOL "")
    FetchContent_MakeAvailable(googletest)
endif()

if(PYCONC_BUILD_BENCHMARKS)
    # Optional: configure with -DPYCONC_BUILD_BENCHMARKS=OFF on a machine that
    # has neither libbenchmark-dev nor internet.
    FetchContent_Declare(benchmark
        URL https://github.com/google/benchmark/archive/v1.7.1.tar.gz
        URL_HASH SHA256=6430e4092653380d9dc4ccb45a1e2dc9259d581f4866dc0759713126056bc1d7
        FIND_PACKAGE_ARGS 1.7)
    set(BENCHMARK_ENABLE_TESTING OFF CACHE BOOL "")
    set(BENCHMARK_ENABLE_INSTALL OFF CACHE BOOL "")
    FetchContent_MakeAvailable(benchmark)
endif()
