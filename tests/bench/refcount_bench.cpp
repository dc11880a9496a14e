// What reference counting costs in the model: an incref/decref pair, and an
// object's whole life (allocate, track, free).
#include <benchmark/benchmark.h>

#include "pyconc/runtime/interpreter.hpp"
#include "pyconc/runtime/types.hpp"

using namespace pyconc::runtime;

// b = a; del b
static void BM_IncrefDecrefPair(benchmark::State& state) {
    Interpreter interpreter;
    Ref<Int> a = Int::from(1'000'000);
    for (auto _ : state) {
        Ref<Int> b = a;
        benchmark::DoNotOptimize(b.get());
    }
}
BENCHMARK(BM_IncrefDecrefPair);

// Small ints are immortal: the pair does nothing but the check.
static void BM_IncrefDecrefPairImmortal(benchmark::State& state) {
    Interpreter interpreter;
    Ref<Int> a = Int::from(1);
    for (auto _ : state) {
        Ref<Int> b = a;
        benchmark::DoNotOptimize(b.get());
    }
}
BENCHMARK(BM_IncrefDecrefPairImmortal);

// x = 1_000_000 + i; del x  (an untracked object's life)
static void BM_IntLife(benchmark::State& state) {
    Interpreter interpreter;
    std::int64_t i = 1'000;
    for (auto _ : state) {
        Ref<Int> x = Int::from(++i);
        benchmark::DoNotOptimize(x.get());
    }
}
BENCHMARK(BM_IntLife);

// box = []; del box  (a tracked container's life)
static void BM_ListLife(benchmark::State& state) {
    Interpreter interpreter;
    for (auto _ : state) {
        Ref<List> box = make<List>();
        benchmark::DoNotOptimize(box.get());
    }
}
BENCHMARK(BM_ListLife);
