#pragma once
// A brief watch before a sleep: our own, beside CPython's algorithms.
//
// How this works
// - Work handed from one thread to another (a GIL let go, a task for a pool
//   worker, a result for the event loop) often arrives within microseconds,
//   while a sleep on a futex or in poll() and the wake-up after it cost
//   5-20 us each on a small virtual machine. So a thread about to sleep
//   first watches for what it waits for, for about 20 us, yielding the core
//   between looks, and sleeps only if it has not come.
// - The watch decides nothing: the sleep that may follow rechecks under the
//   same lock as before. It only saves wake-ups, which is what the round
//   trips in tests/bench/pool_bench.cpp measure.
#include <chrono>
#include <thread>

namespace pyconc::runtime {

inline constexpr std::chrono::microseconds brief_watch_length{20};

// Looks at `arrived()` until it says true (returns true) or the watch is
// over (returns false).
template <class Arrived>
bool watch_briefly(Arrived arrived) {
    const auto until = std::chrono::steady_clock::now() + brief_watch_length;
    while (!arrived()) {
        if (std::chrono::steady_clock::now() >= until) return false;
        std::this_thread::yield();
    }
    return true;
}

}  // namespace pyconc::runtime
