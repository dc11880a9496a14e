// The eval loop, one thread, no contention: the countdown loop and the
// global `counter += 1` loop, per iteration. CPython's side of the
// comparison is ../shared/reference/bench/eval_costs.py.
#include <cstdint>

#include <benchmark/benchmark.h>

#include "pyconc/runtime/interpreter.hpp"
#include "pyconc/runtime/thread_state.hpp"

using namespace pyconc::runtime;

namespace {

// def countdown(n):
//     while n > 0: n -= 1
void countdown(ThreadState& t, std::int64_t n) {
    t.resume();
    t.load_const(n);
    t.store_fast(0);
    while (true) {
        t.load_const(0);
        t.load_fast(0);
        t.compare_lt();
        if (!t.pop_jump_if_false()) break;
        t.load_fast(0);
        t.load_const(1);
        t.binary_subtract();
        t.store_fast(0);
        t.jump_backward();
    }
}

// def increment(n):
//     global counter
//     for _ in range(n): counter += 1
void increment(ThreadState& t, std::int64_t n) {
    t.resume();
    for (std::int64_t i = 0; i < n; ++i) {
        t.load_global("counter");
        t.load_const(1);
        t.binary_add();
        t.store_global("counter");
        t.jump_backward();
    }
}

constexpr std::int64_t iterations_per_run = 1'000'000;

}  // namespace

static void BM_Countdown(benchmark::State& state) {
    Interpreter interpreter;
    ThreadState tstate{interpreter, "main"};
    const ThreadState::Attached attached{tstate};
    for (auto _ : state) countdown(tstate, iterations_per_run);
    state.SetItemsProcessed(state.iterations() * iterations_per_run);
    state.counters["ns_per_iteration"] =
        benchmark::Counter(static_cast<double>(state.iterations() * iterations_per_run),
                           benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
}
BENCHMARK(BM_Countdown)->Unit(benchmark::kMillisecond);

static void BM_GlobalCounterIncrement(benchmark::State& state) {
    Interpreter interpreter;
    interpreter.globals().set("counter", Int::from(0));
    ThreadState tstate{interpreter, "main"};
    const ThreadState::Attached attached{tstate};
    for (auto _ : state) increment(tstate, iterations_per_run);
    state.counters["ns_per_iteration"] =
        benchmark::Counter(static_cast<double>(state.iterations() * iterations_per_run),
                           benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
}
BENCHMARK(BM_GlobalCounterIncrement)->Unit(benchmark::kMillisecond);
