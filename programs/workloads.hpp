#pragma once
// The model programs the lessons run, each written as the Python it
// models (the Python is in the comment above it): countdown, the three
// counter loops, cpu_job, and the helpers that run them on threads.
//
// They belong to the lessons, not to the library: this folder is not
// installed, and a program that uses pyconc writes its own.
#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string_view>
#include <thread>
#include <vector>

#include <fmt/format.h>

#include "pyconc/lesson/measure.hpp"
#include "pyconc/runtime/interpreter.hpp"
#include "pyconc/runtime/thread_state.hpp"
#include "pyconc/threading.hpp"

namespace pyconc::programs {

// The lesson chrome times the runs (measure.hpp).
using lesson::Stopwatch;
using lesson::Times;

// What the programs below cost per loop in a release build here, for the
// estimates a lesson makes from its flags before it runs (check_limits):
// generous, so that a run of hours is refused and one of seconds is not.
inline constexpr double countdown_seconds_per_loop = 25e-9;
inline constexpr double cpu_job_seconds_per_loop = 80e-9;
inline constexpr double increment_seconds = 40e-9;

// def countdown(n):
//     while n > 0:
//         n -= 1
inline void countdown(runtime::ThreadState& t, std::int64_t n) {
    t.resume();
    t.load_const(n);  // the argument n
    t.store_fast(0);
    while (true) {
        t.load_const(0);  // while 0 < n
        t.load_fast(0);
        t.compare_lt();
        if (!t.pop_jump_if_false()) break;
        t.load_fast(0);  // n -= 1
        t.load_const(1);
        t.binary_subtract();
        t.store_fast(0);
        t.jump_backward();
    }
}

// How many times a loop runs: exactly n times (`for _ in range(n)`), or
// until another thread says stop (a run sized in switch intervals: the model
// is faster than CPython, so CPython's counts would end inside one interval).
// Either way it counts the rounds it ran. Plain C++ between instructions:
// no instruction, no check point.
class Rounds {
public:
    [[nodiscard]] static Rounds exactly(std::int64_t n) { return Rounds{n, nullptr}; }
    [[nodiscard]] static Rounds until(const std::atomic<bool>& stop) { return Rounds{0, &stop}; }

    // Whether the loop runs once more (and counts it if so).
    [[nodiscard]] bool next() noexcept {
        // relaxed: the flag only ends the loop; the counts are read after join.
        if (stop_ != nullptr ? stop_->load(std::memory_order_relaxed) : done_ == limit_) return false;
        ++done_;
        return true;
    }
    [[nodiscard]] std::int64_t done() const noexcept { return done_; }

private:
    Rounds(std::int64_t limit, const std::atomic<bool>* stop) : limit_(limit), stop_(stop) {}
    std::int64_t limit_;
    const std::atomic<bool>* stop_;  // null: run exactly limit_ rounds
    std::int64_t done_ = 0;
};

// The three ways threads add to the global `counter` (basics/threading_example,
// advance/06_free_threading); each takes the lock it may use and returns the
// rounds it ran (its own copy of `rounds` counts them).
// def nothing(): pass
inline void nothing(runtime::ThreadState& t) {
    t.resume();
    t.return_value();
}

// def plain():
//     for _ in range(N): counter += 1
inline std::int64_t plain(runtime::ThreadState& t, Rounds rounds, threading::Lock& /*lock*/) {
    t.resume();
    while (rounds.next()) {
        t.load_global("counter");   // LOAD_GLOBAL counter
        t.load_const(1);            // LOAD_CONST 1
        t.binary_add();             // BINARY_OP +=
        t.store_global("counter");  // STORE_GLOBAL counter
        t.jump_backward();          // JUMP_BACKWARD (a check point)
    }
    return rounds.done();
}

// def with_call():
//     for _ in range(N): v = counter; nothing(); counter = v + 1
inline std::int64_t with_call(runtime::ThreadState& t, Rounds rounds, threading::Lock& /*lock*/) {
    t.resume();
    while (rounds.next()) {
        t.load_global("counter");  // v = counter
        t.store_fast(0);
        t.call(nothing);  // nothing()   (CALL: a check point inside the window)
        t.pop_top();
        t.load_fast(0);  // counter = v + 1
        t.load_const(1);
        t.binary_add();
        t.store_global("counter");
        t.jump_backward();
    }
    return rounds.done();
}

// def locked():
//     for _ in range(N):
//         with lock: v = counter; nothing(); counter = v + 1
inline std::int64_t locked(runtime::ThreadState& t, Rounds rounds, threading::Lock& lock) {
    t.resume();
    while (rounds.next()) {
        lock.acquire(t);  // BEFORE_WITH calls lock.__enter__ (no check point)
        t.load_global("counter");
        t.store_fast(0);
        t.call(nothing);
        t.pop_top();
        t.load_fast(0);
        t.load_const(1);
        t.binary_add();
        t.store_global("counter");
        // CALL lock.__exit__: its check point comes after the release, so
        // that one never switches a thread out holding the lock.
        t.call([&lock](runtime::ThreadState&) { lock.release(); });
        t.pop_top();
        t.jump_backward();
    }
    return rounds.done();
}

// The signature the three share.
using CounterProgram = std::int64_t (*)(runtime::ThreadState&, Rounds, threading::Lock&);

struct CounterRun {
    std::int64_t counter = 0;   // what the global ended at
    std::int64_t expected = 0;  // the increments the threads ran
    Times elapsed;              // wall and CPU seconds, from the first start to the last join
};

// counter = 0; start `threads` threads running `program`, each exactly
// `iterations` rounds or, when iterations is 0, until `budget` has passed;
// join them all. The interpreter is set up by the caller (GIL or not, its
// check points, its schedule) on this thread.
inline CounterRun run_counter(runtime::Interpreter& interpreter, CounterProgram program, int threads,
                              std::int64_t iterations, std::chrono::duration<double> budget) {
    interpreter.globals().set("counter", runtime::Int::from(0));
    threading::Lock lock;
    std::atomic<bool> stop{false};
    const Rounds rounds = iterations == 0 ? Rounds::until(stop) : Rounds::exactly(iterations);
    std::vector<std::int64_t> done(static_cast<std::size_t>(threads));  // each thread's rounds
    std::vector<std::unique_ptr<threading::Thread>> started;
    started.reserve(done.size());
    for (std::int64_t& own : done) {
        started.push_back(std::make_unique<threading::Thread>(
            interpreter, fmt::format("Thread-{}", started.size() + 1),
            [&](runtime::ThreadState& t) { own = program(t, rounds, lock); }));
    }
    const Stopwatch stopwatch;
    for (auto& thread : started) thread->start();
    if (iterations == 0) {
        std::this_thread::sleep_for(budget);
        stop = true;
    }
    for (auto& thread : started) thread->join();
    CounterRun run;
    run.elapsed = stopwatch.elapsed();
    run.counter = static_cast<const runtime::Int&>(*interpreter.globals().get("counter")).value();
    for (const std::int64_t own : done) run.expected += own;
    return run;
}

// def cpu_job(n):
//     total = 0
//     for i in range(n):
//         total += i * i % 7
//     return total
inline std::int64_t cpu_job(runtime::ThreadState& t, std::int64_t n) {
    constexpr std::size_t total = 0;
    constexpr std::size_t i = 1;
    t.resume();
    t.load_const(0);
    t.store_fast(total);
    t.load_const(0);
    t.store_fast(i);
    while (true) {
        t.load_fast(i);  // for i in range(n)
        t.load_const(n);
        t.compare_lt();
        if (!t.pop_jump_if_false()) break;
        t.load_fast(total);  // total += i * i % 7
        t.load_fast(i);
        t.load_fast(i);
        t.binary_multiply();
        t.load_const(7);
        t.binary_modulo();
        t.binary_add();
        t.store_fast(total);
        t.load_fast(i);
        t.load_const(1);
        t.binary_add();
        t.store_fast(i);
        t.jump_backward();
    }
    t.load_fast(total);
    return t.return_int();
}

// cpu_job in a process of its own: a fresh interpreter with one thread
// (what a process pool's worker runs).
inline std::int64_t cpu_job_in_this_process(std::int64_t n) {
    runtime::Interpreter interpreter;
    runtime::ThreadState main_thread{interpreter, "MainThread"};
    const runtime::ThreadState::Attached attached{main_thread};
    return cpu_job(main_thread, n);
}

// The answer cpu_job must give, computed without the model.
[[nodiscard]] constexpr std::int64_t cpu_job_expected(std::int64_t n) noexcept {
    std::int64_t total = 0;
    for (std::int64_t i = 0; i < n; ++i) total += i * i % 7;
    return total;
}

// --- running them ---------------------------------------------------------------

// time.perf_counter() - t0
[[nodiscard]] inline double seconds_since(std::chrono::steady_clock::time_point start) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

// threads = [Thread(target=target) for _ in range(count)]; start them all,
// join them all. Returns the seconds from the first start to the last join.
template <class Target>
double run_threads(runtime::Interpreter& interpreter, int count, const Target& target,
                   std::string_view name = "Thread") {
    std::vector<std::unique_ptr<threading::Thread>> threads;
    threads.reserve(static_cast<std::size_t>(count));
    for (int i = 0; i < count; ++i) {
        threads.push_back(
            std::make_unique<threading::Thread>(interpreter, fmt::format("{}-{}", name, i + 1), target));
    }
    const auto started = std::chrono::steady_clock::now();
    for (auto& thread : threads) thread->start();
    for (auto& thread : threads) thread->join();
    return seconds_since(started);
}

// For process pools: a job that does nothing (to see every worker up
// before the clock starts) ...
inline int ready(int x) {
    return x;
}

// ... and one that changes a global of the process it runs in:
// touched = 0; def touch(_): global touched; touched += 1; return touched
inline int touched = 0;
inline int touch(int /*item*/) {
    touched += 1;
    return touched;
}

// ... and one that reads a global the parent sets before its pools start:
// SETTING = 0 at import; the parent sets SETTING = 1; def read_setting(_): return SETTING
inline int setting = 0;
inline int read_setting(int /*item*/) {
    return setting;
}

}  // namespace pyconc::programs
