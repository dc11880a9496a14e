// advance/03_gil_contention: what the GIL costs threads.
//
// Mirrors ../reference/advance/03_gil_contention.py. (a) A CPU-bound
// countdown split over 2 or 4 threads takes as long as 1 thread doing all of
// it: only the GIL holder runs. (b) The convoy effect (bpo-7946): a thread
// that comes back from a blocking call must wait for the GIL, and beside a
// CPU-bound thread that wait is a whole switch interval, every time.
// (c) The GIL timeline of (b): who held the GIL, who waited, and when.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "pyconc/lesson/lesson.hpp"
#include "pyconc/lesson/workloads.hpp"
#include "pyconc/runtime/interpreter.hpp"
#include "pyconc/runtime/thread_state.hpp"
#include "pyconc/runtime/trace.hpp"
#include "pyconc/threading.hpp"

using namespace pyconc::runtime;
using pyconc::lesson::accepted_range;
using pyconc::lesson::countdown;
using pyconc::lesson::grouped;
using pyconc::threading::Thread;
using Clock = std::chrono::steady_clock;

namespace {

struct Split {
    double seconds = 0;
    std::uint64_t switches = 0;
};

// threads = [Thread(target=countdown, args=(N // k,)) for _ in range(k)]; start; join
Split countdown_in_threads(std::int64_t n, int threads) {
    Interpreter interpreter;
    const double seconds = pyconc::lesson::run_threads(
        interpreter, threads, [n, threads](ThreadState& t) { countdown(t, n / threads); }, "countdown");
    return {seconds, interpreter.gil().switch_number()};
}

// def io_latency(with_cpu_thread, ops=200): the median wait, in ms, of a
// thread that makes a blocking call (time.sleep(0)) and takes the GIL back,
// alone or beside a thread that spins `while not stop: pass`.
double io_latency_ms(std::chrono::microseconds interval, bool with_cpu_thread, int ops,
                     Trace* trace = nullptr) {
    Interpreter interpreter;
    interpreter.gil().set_switch_interval(interval);
    interpreter.set_trace(trace);
    // The interpreter was made on this thread: its heap is current here.
    interpreter.globals().set("stop", Int::from(0));
    std::atomic<bool> spinner_running{false};
    Thread spinner(interpreter, "spin", [&](ThreadState& t) {
        t.resume();
        spinner_running = true;
        while (true) {  // while not stop: pass
            t.load_global("stop");
            if (t.pop_jump_if_false()) break;  // stop is 1: leave
            t.jump_backward();
        }
    });
    std::vector<double> latencies;
    Thread io(interpreter, "io", [&](ThreadState& t) {
        t.resume();
        for (int i = 0; i < ops; ++i) {
            const auto t1 = Clock::now();
            {
                // time.sleep(0): a real system call, with the GIL released.
                // nanosleep waits out the kernel's timer slack (about 50 us).
                const ThreadState::AllowThreads blocking{t};
                std::this_thread::sleep_for(std::chrono::nanoseconds{1});
            }
            latencies.push_back(std::chrono::duration<double, std::milli>(Clock::now() - t1).count());
        }
        t.load_const(1);  // stop = True
        t.store_global("stop");
    });
    if (with_cpu_thread) {
        spinner.start();
        while (!spinner_running) std::this_thread::yield();  // the CPU thread holds the GIL first
    }
    io.start();
    io.join();
    if (with_cpu_thread) spinner.join();
    std::sort(latencies.begin(), latencies.end());
    return latencies[latencies.size() / 2];
}

}  // namespace

int main(int argc, char** argv) {
    pyconc::lesson::Lesson lesson{
        "03_gil_contention",
        "GIL contention: a CPU-bound countdown split over 2 or 4 threads is no faster than 1 thread, "
        "and an I/O thread beside a CPU thread waits about one switch interval every time it comes back "
        "from a blocking call (the convoy effect).",
        {"convoy", "no-convoy"}};
    std::int64_t n = 2'000'000;
    int ops = 200;
    lesson.option("--n", n, "The countdown's start (split evenly over the threads)",
                  accepted_range<std::int64_t>(1, 1'000'000'000));
    lesson.option("--ops", ops, "Blocking calls the I/O thread makes per measurement",
                  accepted_range(1, 100'000));
    std::string svg;
    lesson.option("--svg", svg, "Also write the GIL timeline of part (c) as an SVG picture to FILE",
                  pyconc::lesson::accepted_output_file());
    if (auto exit = lesson.parse(argc, argv)) return *exit;

    lesson.heading("CPU-bound: countdown({}) in 1, 2 and 4 threads", grouped(n));
    pyconc::lesson::Table split_table{{"threads", pyconc::lesson::Align::right},
                                      {"time", pyconc::lesson::Align::right},
                                      {"speed-up", pyconc::lesson::Align::right},
                                      {"GIL switches", pyconc::lesson::Align::right}};
    std::vector<double> split_seconds;
    double one = 0;
    for (int threads : {1, 2, 4}) {
        const Split split = countdown_in_threads(n, threads);
        if (threads == 1) one = split.seconds;
        split_seconds.push_back(split.seconds);
        split_table.row({fmt::format("{}", threads), fmt::format("{:.2f}s", split.seconds),
                         fmt::format("{:.2f}x", one / split.seconds), grouped(split.switches)});
    }
    lesson.print(split_table);
    lesson.note("CPython 3.11 here: countdown(20,000,000) 1 thread 0.59s, 2 threads 0.59s (0.99x).");

    lesson.heading("I/O beside CPU: the convoy effect");
    std::vector<double> alone_ms;
    std::vector<double> beside_ms;
    bool convoy = true;
    for (const auto interval : {std::chrono::microseconds{5000}, std::chrono::microseconds{1000}}) {
        const double alone = io_latency_ms(interval, false, ops);
        const double beside = io_latency_ms(interval, true, ops);
        alone_ms.push_back(alone);
        beside_ms.push_back(beside);
        const double interval_ms = static_cast<double>(interval.count()) / 1000.0;
        convoy = convoy && beside >= 0.5 * interval_ms;
        lesson.say(
            "switch interval {:.0f} ms: I/O op median latency alone {:.3f} ms, beside a CPU thread {:.3f} ms",
            interval_ms, alone, beside);
    }
    lesson.note(
        "CPython 3.11 here: alone 0.056 ms; beside a CPU thread 5.139 ms (5 ms) and 1.125 ms (1 ms).");

    lesson.heading(
        "The GIL timeline of the convoy: 6 blocking calls beside a CPU thread, switch interval 5 ms");
    Trace trace;
    (void)io_latency_ms(std::chrono::microseconds{5000}, true, 6, &trace);
    const pyconc::lesson::GilTimeline timeline{
        "spin runs while not stop: pass; io calls time.sleep(0) 6 times", trace.timeline()};
    lesson.print(timeline);
    const auto& io = timeline.timeline().threads.at(1);
    lesson.note(
        "io waited {:.1f} ms for the GIL and held it {:.2f} ms: each return from a blocking call queues "
        "behind a whole interval of spin.",
        io.waiting_ms, io.holding_ms);
    if (!svg.empty()) lesson.write_file(svg, pyconc::lesson::timelines_svg({timeline}), "the GIL timeline");

    lesson.figure("n", n);
    lesson.figure("countdown_seconds", split_seconds);
    lesson.figure("io_alone_ms", alone_ms);
    lesson.figure("io_beside_cpu_ms", beside_ms);
    if (convoy) {
        return lesson.finish("convoy",
                             "beside a CPU thread, every return from a blocking call waited about one "
                             "switch interval for the GIL");
    }
    return lesson.finish("no-convoy", "the I/O thread got the GIL back sooner than half an interval");
}
