// The event loop's costs: a task switch (await sleep(0)), creating and
// running a task through gather, and the memory of a pending task.
// CPython's side: ../shared/reference/bench/asyncio_costs.py.
#include <cstddef>
#include <malloc.h>
#include <vector>

#include <benchmark/benchmark.h>

#include "pyconc/asyncio.hpp"

namespace asyncio = pyconc::asyncio;
using asyncio::Coroutine;

namespace {

Coroutine<void> spin(int n) {
    for (int i = 0; i < n; ++i) co_await asyncio::sleep(0);
}

Coroutine<void> switches(int tasks, int n) {
    std::vector<Coroutine<void>> spinners;
    spinners.reserve(static_cast<std::size_t>(tasks));
    for (int i = 0; i < tasks; ++i) spinners.push_back(spin(n));
    co_await asyncio::gather(std::move(spinners));
}

Coroutine<void> nop() {
    co_return;
}

Coroutine<void> creations(int tasks) {
    std::vector<Coroutine<void>> nops;
    nops.reserve(static_cast<std::size_t>(tasks));
    for (int i = 0; i < tasks; ++i) nops.push_back(nop());
    co_await asyncio::gather(std::move(nops));
}

Coroutine<void> wait_for_event(asyncio::Event& event) {
    co_await event.wait();
}

}  // namespace

// 1,000 tasks x 200 sleep(0): per switch (as asyncio_costs.py).
static void BM_TaskSwitchSleepZero(benchmark::State& state) {
    constexpr int tasks = 1000;
    constexpr int n = 200;
    for (auto _ : state) asyncio::run(switches(tasks, n), {.handle_interrupt = false});
    state.counters["ns_per_switch"] =
        benchmark::Counter(static_cast<double>(state.iterations()) * tasks * n,
                           benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
}
BENCHMARK(BM_TaskSwitchSleepZero)->Unit(benchmark::kMillisecond);

// 100,000 tasks that return at once, through gather: per task.
static void BM_CreateAndRunTaskViaGather(benchmark::State& state) {
    constexpr int tasks = 100'000;
    for (auto _ : state) asyncio::run(creations(tasks), {.handle_interrupt = false});
    state.counters["ns_per_task"] =
        benchmark::Counter(static_cast<double>(state.iterations()) * tasks,
                           benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
}
BENCHMARK(BM_CreateAndRunTaskViaGather)->Unit(benchmark::kMillisecond);

// 100,000 tasks pending at once, each waiting on an event: heap bytes per
// task (coroutine frame, task state, its future), measured by mallinfo2.
static void BM_MemoryPerPendingTask(benchmark::State& state) {
    constexpr int tasks = 100'000;
    double bytes_per_task = 0;
    for (auto _ : state) {
        asyncio::run(
            [&]() -> Coroutine<void> {
                asyncio::Event event;
                std::vector<asyncio::Task<void>> handles;
                handles.reserve(tasks);
                const std::size_t before = mallinfo2().uordblks;
                for (int i = 0; i < tasks; ++i)
                    handles.push_back(asyncio::create_task(wait_for_event(event)));
                co_await asyncio::sleep(0);  // every task has started and waits
                const std::size_t after = mallinfo2().uordblks;
                bytes_per_task = static_cast<double>(after - before) / tasks;
                event.set();
                for (auto& handle : handles) co_await handle;
            }(),
            {.handle_interrupt = false});
    }
    state.counters["bytes_per_task"] = bytes_per_task;
}
BENCHMARK(BM_MemoryPerPendingTask)->Unit(benchmark::kMillisecond)->Iterations(3);
