// What the GIL costs: a check point with no drop request pending (one
// relaxed load), and the handoff from a drop to the other thread running.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <thread>
#include <vector>

#include <benchmark/benchmark.h>

#include "pyconc/runtime/gil.hpp"

using pyconc::runtime::Gil;
using Clock = std::chrono::steady_clock;

static void BM_CheckPointNoRequest(benchmark::State& state) {
    Gil gil;
    for (auto _ : state) benchmark::DoNotOptimize(gil.drop_requested());
}
BENCHMARK(BM_CheckPointNoRequest);

// Two CPU-bound threads share the GIL at a 100 us switch interval. Each
// holder polls its check point; when asked, it notes the time and drops.
// handoff_us is the median from that drop to the other thread holding it.
static void BM_GilHandoff(benchmark::State& state) {
    Gil gil;
    gil.set_switch_interval(std::chrono::microseconds{100});
    const int a_state = 0;
    const int b_state = 0;
    std::atomic<bool> stop{false};
    std::atomic<Clock::rep> dropped_at{0};
    std::vector<double> latencies_us;  // written by whoever holds the GIL
    auto take_and_measure = [&](Gil::Holder self) {
        gil.take(self);
        const Clock::rep at = dropped_at.exchange(0);
        if (at != 0) {
            latencies_us.push_back(std::chrono::duration<double, std::micro>(Clock::now().time_since_epoch() -
                                                                             Clock::duration{at})
                                       .count());
        }
    };
    auto run_until_asked = [&](Gil::Holder self) {
        while (!gil.drop_requested() && !stop.load()) {
        }
        dropped_at.store(Clock::now().time_since_epoch().count());
        gil.drop(self);
    };
    std::thread other([&] {
        while (!stop.load()) {
            take_and_measure(&b_state);
            run_until_asked(&b_state);
        }
    });
    for (auto _ : state) {
        take_and_measure(&a_state);
        run_until_asked(&a_state);
    }
    stop = true;
    other.join();
    std::sort(latencies_us.begin(), latencies_us.end());
    if (!latencies_us.empty()) state.counters["handoff_us"] = latencies_us[latencies_us.size() / 2];
}
BENCHMARK(BM_GilHandoff)->Iterations(2'000)->UseRealTime();
