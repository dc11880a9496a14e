// Pools and processes: the round trip of a trivial task through a thread
// pool, a process pool and run_in_executor; the start and join of a forked
// process; the process pool's speed-up on CPU-bound work.
// CPython's side: ../shared/reference/bench/pool_roundtrip.py.
#include <chrono>
#include <cstdint>
#include <thread>
#include <vector>

#include <benchmark/benchmark.h>

#include "programs/workloads.hpp"
#include "pyconc/asyncio.hpp"
#include "pyconc/concurrent/futures/process_pool.hpp"
#include "pyconc/concurrent/futures/thread_pool.hpp"
#include "pyconc/multiprocessing/process.hpp"
#include "pyconc/runtime/interpreter.hpp"
#include "pyconc/runtime/thread_state.hpp"

namespace asyncio = pyconc::asyncio;
namespace futures = pyconc::concurrent::futures;
namespace mp = pyconc::multiprocessing;
using pyconc::runtime::Interpreter;
using pyconc::runtime::ThreadState;

namespace {
constexpr std::int64_t cpu_job_n = 1'000'000;
int nop(int x) {
    return x;
}
}  // namespace

// ex.submit(nop, i).result(), 2 worker threads.
static void BM_ThreadPoolRoundTrip(benchmark::State& state) {
    Interpreter interpreter;
    futures::ThreadPoolExecutor pool{interpreter, 2};
    (void)pool.submit([](ThreadState&) { return 0; })->result();
    int i = 0;
    for (auto _ : state) benchmark::DoNotOptimize(pool.submit([i](ThreadState&) { return i; })->result());
}
BENCHMARK(BM_ThreadPoolRoundTrip)->Unit(benchmark::kMicrosecond);

// ex.submit(nop, i).result(), 2 worker processes.
static void BM_ProcessPoolRoundTrip(benchmark::State& state) {
    futures::ProcessPoolExecutor pool{2};
    (void)pool.submit<nop>(0)->result();
    int i = 0;
    for (auto _ : state) benchmark::DoNotOptimize(pool.submit<nop>(++i)->result());
}
BENCHMARK(BM_ProcessPoolRoundTrip)->Unit(benchmark::kMicrosecond);

// await loop.run_in_executor(ex, nop, i), 2 worker threads, the loop a model thread.
static void BM_RunInExecutorRoundTrip(benchmark::State& state) {
    Interpreter interpreter;
    ThreadState main_thread{interpreter, "MainThread"};
    futures::ThreadPoolExecutor pool{interpreter, 2};
    asyncio::run(
        [&]() -> asyncio::Coroutine<void> {
            int i = 0;
            for (auto _ : state) {
                // Named: g++ 12 destroys a capturing lambda made inside co_await twice (tests/lint).
                const auto job = [i](ThreadState&) { return i; };
                benchmark::DoNotOptimize(co_await asyncio::run_in_executor(pool, job));
                ++i;
            }
        }(),
        {.thread = &main_thread, .handle_interrupt = false});
    pool.shutdown();
}
BENCHMARK(BM_RunInExecutorRoundTrip)->Unit(benchmark::kMicrosecond);

// p = Process(target=nop); p.start(); p.join()   (fork)
static void BM_ForkStartJoin(benchmark::State& state) {
    for (auto _ : state) {
        mp::Process child{[] {}};
        child.start();
        child.join();
    }
}
BENCHMARK(BM_ForkStartJoin)->Unit(benchmark::kMillisecond);

// 4 CPU jobs: sequential against a process pool of 2 (the speed-up is the ratio).
static void BM_CpuJobsSequential(benchmark::State& state) {
    for (auto _ : state) {
        for (int job = 0; job < 4; ++job)
            benchmark::DoNotOptimize(pyconc::programs::cpu_job_in_this_process(cpu_job_n));
    }
}
BENCHMARK(BM_CpuJobsSequential)->Unit(benchmark::kMillisecond)->UseRealTime();

static void BM_CpuJobsProcessPool(benchmark::State& state) {
    futures::ProcessPoolExecutor pool{2};
    (void)pool.submit<nop>(0)->result();
    for (auto _ : state) {
        benchmark::DoNotOptimize(
            pool.map<pyconc::programs::cpu_job_in_this_process>(std::vector<std::int64_t>(4, cpu_job_n)));
    }
}
BENCHMARK(BM_CpuJobsProcessPool)->Unit(benchmark::kMillisecond)->UseRealTime();

int main(int argc, char** argv) {
    mp::freeze_support(argc, argv);  // the pool's spawned workers do their work here
    benchmark::Initialize(&argc, argv);
    benchmark::RunSpecifiedBenchmarks();
    benchmark::Shutdown();
    return 0;
}
