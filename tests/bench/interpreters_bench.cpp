// concurrent.interpreters beside threads and processes, in one run: what
// starting each costs, a round trip through Interpreter.call and through
// each kind of pool, and the CPU-bound speed-up of 2 interpreters against 1
// (on 2 cores: the issue asks 1.8x). Processes by fork: this program has no
// freeze_support for spawned children.
#include <chrono>
#include <cstdint>
#include <memory>
#include <vector>

#include <benchmark/benchmark.h>

#include "programs/workloads.hpp"
#include "pyconc/concurrent/futures/interpreter_pool.hpp"
#include "pyconc/concurrent/futures/process_pool.hpp"
#include "pyconc/concurrent/futures/thread_pool.hpp"
#include "pyconc/concurrent/interpreters/interpreter.hpp"
#include "pyconc/multiprocessing/process.hpp"
#include "pyconc/runtime/interpreter.hpp"
#include "pyconc/threading.hpp"

using namespace pyconc::runtime;
namespace interpreters = pyconc::concurrent::interpreters;

namespace {
const Profile python314 = *profile_for("3.14");
}

static void BM_CreateAndCloseAnInterpreter(benchmark::State& state) {
    for (auto _ : state) {
        auto interp = interpreters::create(python314);
        interp->close();
    }
}
BENCHMARK(BM_CreateAndCloseAnInterpreter)->Unit(benchmark::kMicrosecond);

static void BM_StartAndJoinAThread(benchmark::State& state) {
    Interpreter interpreter{python314};
    for (auto _ : state) {
        pyconc::threading::Thread thread{interpreter, "Thread", [](ThreadState& t) { t.resume(); }};
        thread.start();
        thread.join();
    }
}
BENCHMARK(BM_StartAndJoinAThread)->Unit(benchmark::kMicrosecond);

static void BM_StartAndJoinAProcessByFork(benchmark::State& state) {
    const auto fork = pyconc::multiprocessing::get_context(pyconc::multiprocessing::StartMethod::fork);
    for (auto _ : state) {
        auto process = pyconc::multiprocessing::Process::call<pyconc::programs::ready>(fork, 0);
        process.start();
        process.join();
    }
}
BENCHMARK(BM_StartAndJoinAProcessByFork)->Unit(benchmark::kMicrosecond);

static void BM_InterpreterCallRoundTrip(benchmark::State& state) {
    Interpreter main_interpreter{python314};
    auto interp = interpreters::create(python314);
    for (auto _ : state) {
        const interpreters::XiData answer =
            interp->call([](ThreadState&) -> Ref<Object> { return Int::from(42); });
        benchmark::DoNotOptimize(answer.make());
    }
}
BENCHMARK(BM_InterpreterCallRoundTrip)->Unit(benchmark::kMicrosecond);

static void BM_ThreadPoolRoundTrip(benchmark::State& state) {
    Interpreter main_interpreter{python314};
    pyconc::concurrent::futures::ThreadPoolExecutor pool{main_interpreter, 1};
    for (auto _ : state) benchmark::DoNotOptimize(pool.submit([](ThreadState&) { return 42; })->result());
}
BENCHMARK(BM_ThreadPoolRoundTrip)->Unit(benchmark::kMicrosecond);

static void BM_InterpreterPoolRoundTrip(benchmark::State& state) {
    Interpreter main_interpreter{python314};
    pyconc::concurrent::futures::InterpreterPoolExecutor pool{python314, 1};
    for (auto _ : state) benchmark::DoNotOptimize(pool.submit([](ThreadState&) { return 42; })->result());
}
BENCHMARK(BM_InterpreterPoolRoundTrip)->Unit(benchmark::kMicrosecond);

static void BM_ProcessPoolRoundTrip(benchmark::State& state) {
    pyconc::concurrent::futures::ProcessPoolExecutor pool{
        1, pyconc::multiprocessing::get_context(pyconc::multiprocessing::StartMethod::fork)};
    for (auto _ : state) benchmark::DoNotOptimize(pool.submit<pyconc::programs::ready>(42)->result());
}
BENCHMARK(BM_ProcessPoolRoundTrip)->Unit(benchmark::kMicrosecond);

// countdown(4,000,000) split over Arg interpreters, a thread in each; the
// speed-up is BM_.../1's time over BM_.../2's.
static void BM_CountdownInInterpreters(benchmark::State& state) {
    const auto k = static_cast<int>(state.range(0));
    constexpr std::int64_t n = 4'000'000;
    for (auto _ : state) {
        std::vector<std::unique_ptr<interpreters::Interpreter>> interps;
        for (int i = 0; i < k; ++i) interps.push_back(interpreters::create(python314));
        std::vector<std::unique_ptr<pyconc::threading::Thread>> threads;
        for (auto& interp : interps)
            threads.push_back(
                interp->call_in_thread([k](ThreadState& t) { pyconc::programs::countdown(t, n / k); }));
        for (auto& thread : threads) thread->join();
    }
}
BENCHMARK(BM_CountdownInInterpreters)->Arg(1)->Arg(2)->Unit(benchmark::kMillisecond)->UseRealTime();
