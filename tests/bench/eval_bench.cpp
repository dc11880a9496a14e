// The eval loop, one thread, no contention: the countdown loop and the
// global `counter += 1` loop, per iteration. CPython's side of the
// comparison is ../shared/reference/bench/eval_costs.py.
#include <atomic>
#include <chrono>
#include <cstdint>
#include <thread>

#include <benchmark/benchmark.h>

#include "programs/workloads.hpp"
#include "pyconc/runtime/interpreter.hpp"
#include "pyconc/runtime/thread_state.hpp"
#include "pyconc/threading.hpp"

using namespace pyconc::runtime;
using pyconc::programs::countdown;

namespace {

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

// Arg 0: with the GIL; 1: the free-threaded mode (one thread: its single-
// threaded overhead, which PEP 703 puts at 5-10% for CPython 3.13t).
static GilMode gil_mode_of(const benchmark::State& state) {
    return state.range(0) == 0 ? GilMode::enabled : GilMode::disabled;
}

static void BM_Countdown(benchmark::State& state) {
    Interpreter interpreter{gil_mode_of(state)};
    ThreadState tstate{interpreter, "main"};
    const ThreadState::Attached attached{tstate};
    for (auto _ : state) countdown(tstate, iterations_per_run);
    state.SetItemsProcessed(state.iterations() * iterations_per_run);
    state.counters["ns_per_iteration"] =
        benchmark::Counter(static_cast<double>(state.iterations() * iterations_per_run),
                           benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
}
BENCHMARK(BM_Countdown)->ArgName("free_threaded")->Arg(0)->Arg(1)->Unit(benchmark::kMillisecond);

static void BM_GlobalCounterIncrement(benchmark::State& state) {
    Interpreter interpreter{gil_mode_of(state)};
    interpreter.globals().set("counter", Int::from(0));
    ThreadState tstate{interpreter, "main"};
    const ThreadState::Attached attached{tstate};
    for (auto _ : state) increment(tstate, iterations_per_run);
    state.counters["ns_per_iteration"] =
        benchmark::Counter(static_cast<double>(state.iterations() * iterations_per_run),
                           benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
}
BENCHMARK(BM_GlobalCounterIncrement)->ArgName("free_threaded")->Arg(0)->Arg(1)->Unit(benchmark::kMillisecond);

// threading_example's plain program, one thread, sized in rounds (Arg 0:
// `for _ in range(n)`) or until a stop flag another thread sets after
// 20 ms (Arg 1: a run sized in switch intervals): what each way of ending
// the loop costs per iteration.
static void BM_PlainProgramRounds(benchmark::State& state) {
    Interpreter interpreter;
    interpreter.globals().set("counter", Int::from(0));
    ThreadState tstate{interpreter, "main"};
    const ThreadState::Attached attached{tstate};
    pyconc::threading::Lock lock;
    std::int64_t done = 0;
    for (auto _ : state) {
        if (state.range(0) == 0) {
            done +=
                pyconc::programs::plain(tstate, pyconc::programs::Rounds::exactly(iterations_per_run), lock);
        } else {
            std::atomic<bool> stop{false};
            const std::jthread timer{[&stop] {
                std::this_thread::sleep_for(std::chrono::milliseconds{20});
                stop = true;
            }};
            done += pyconc::programs::plain(tstate, pyconc::programs::Rounds::until(stop), lock);
        }
    }
    state.counters["ns_per_iteration"] = benchmark::Counter(
        static_cast<double>(done), benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
}
BENCHMARK(BM_PlainProgramRounds)->ArgName("until_stop")->Arg(0)->Arg(1)->Unit(benchmark::kMillisecond);
