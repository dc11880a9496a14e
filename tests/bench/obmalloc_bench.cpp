// Small-object allocation: pymalloc's pools against the system allocator,
// for the sizes model objects have (16, 32, 64 bytes).
#include <cstdlib>
#include <vector>

#include <benchmark/benchmark.h>

#include "pyconc/runtime/obmalloc.hpp"

using pyconc::runtime::Obmalloc;

constexpr std::size_t batch = 1'000;

// Allocate a batch, free it: the pattern of a loop that makes short-lived objects.
static void BM_ObmallocAllocateFree(benchmark::State& state) {
    Obmalloc allocator;
    const auto size = static_cast<std::size_t>(state.range(0));
    std::vector<void*> blocks(batch);
    for (auto _ : state) {
        for (void*& block : blocks) block = allocator.allocate(size);
        benchmark::ClobberMemory();
        for (void* block : blocks) allocator.free(block, size);
    }
    state.SetItemsProcessed(state.iterations() * static_cast<std::int64_t>(batch));
}
BENCHMARK(BM_ObmallocAllocateFree)->Arg(16)->Arg(32)->Arg(64);

static void BM_SystemMallocFree(benchmark::State& state) {
    const auto size = static_cast<std::size_t>(state.range(0));
    std::vector<void*> blocks(batch);
    for (auto _ : state) {
        for (void*& block : blocks) block = std::malloc(size);  // NOLINT: the baseline being measured
        benchmark::ClobberMemory();
        for (void* block : blocks) std::free(block);  // NOLINT
    }
    state.SetItemsProcessed(state.iterations() * static_cast<std::int64_t>(batch));
}
BENCHMARK(BM_SystemMallocFree)->Arg(16)->Arg(32)->Arg(64);
