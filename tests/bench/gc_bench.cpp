// The collector's costs, to compare with CPython's
// (../reference/bench/gc_costs.py, run in the same sitting):
// - a full collection of N unreachable two-object cycles (CPython: about
//   100-120 ns per object here);
// - a full collection of 1,000,000 live containers (CPython: about 65 ns).
// Figures are per object (items_per_second is objects collected or walked).
#include <vector>

#include <benchmark/benchmark.h>

#include "pyconc/runtime/interpreter.hpp"
#include "pyconc/runtime/types.hpp"

using namespace pyconc::runtime;

// class Node: __slots__ = ("peer",); a, b = Node(), Node(); a.peer = b; b.peer = a
static void make_cycles(const Ref<Class>& Node, std::int64_t n) {
    for (std::int64_t i = 0; i < n; ++i) {
        Ref<Instance> a = new_instance(Node);
        Ref<Instance> b = new_instance(Node);
        a->setattr("peer", b);
        b->setattr("peer", a);
    }
}

static void BM_CollectUnreachableCycles(benchmark::State& state) {
    Interpreter interpreter;
    Ref<Class> Node = make<Class>("Node");
    interpreter.gc().disable();
    std::size_t found = 0;
    for (auto _ : state) {
        state.PauseTiming();
        make_cycles(Node, state.range(0));
        state.ResumeTiming();
        found = interpreter.gc().collect();
    }
    if (found != static_cast<std::size_t>(2 * state.range(0)))
        state.SkipWithError("collect() found the wrong count");
    state.SetItemsProcessed(state.iterations() * 2 * state.range(0));
}
BENCHMARK(BM_CollectUnreachableCycles)->Arg(100'000)->Arg(1'000'000)->Unit(benchmark::kMillisecond);

// live = [[i] for i in range(1_000_000)]; gc.collect()
static void BM_CollectLiveContainers(benchmark::State& state) {
    Interpreter interpreter;
    interpreter.gc().disable();
    Ref<List> live = make<List>();
    for (std::int64_t i = 0; i < state.range(0); ++i) live->append(make<List>(Int::from(i)));
    interpreter.gc().collect();  // into the oldest generation, as CPython's would be by now
    for (auto _ : state) benchmark::DoNotOptimize(interpreter.gc().collect());
    state.SetItemsProcessed(state.iterations() * state.range(0));
}
BENCHMARK(BM_CollectLiveContainers)->Arg(100'000)->Arg(1'000'000)->Unit(benchmark::kMillisecond);
