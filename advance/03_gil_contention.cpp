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
#include <time.h>
#include <vector>

#include <sys/select.h>

#include "programs/workloads.hpp"
#include "pyconc/lesson/lesson.hpp"
#include "pyconc/lesson/measure.hpp"
#include "pyconc/runtime/interpreter.hpp"
#include "pyconc/runtime/thread_state.hpp"
#include "pyconc/runtime/trace.hpp"
#include "pyconc/threading.hpp"

using namespace pyconc::runtime;
using pyconc::lesson::accepted_range;
using pyconc::lesson::grouped;
using pyconc::programs::countdown;
using pyconc::threading::Thread;
using Clock = std::chrono::steady_clock;

namespace {

struct Split {
    double seconds = 0;
    double cores_busy = 0;  // CPU seconds per wall second: about 1 under the GIL
    std::uint64_t switches = 0;
};

// threads = [Thread(target=countdown, args=(N // k,)) for _ in range(k)]; start; join
Split countdown_in_threads(const Profile& python, std::int64_t n, int threads) {
    Interpreter interpreter{python};
    const pyconc::lesson::Stopwatch stopwatch;
    (void)pyconc::programs::run_threads(
        interpreter, threads, [n, threads](ThreadState& t) { countdown(t, n / threads); }, "countdown");
    const pyconc::lesson::Times elapsed = stopwatch.elapsed();
    return {elapsed.wall, pyconc::lesson::cores_busy(elapsed), interpreter.switch_number()};
}

// The median of some latencies, in ms (0 for none).
double median(std::vector<double> latencies) {
    if (latencies.empty()) return 0;
    std::sort(latencies.begin(), latencies.end());
    return latencies[latencies.size() / 2];
}

// What one io_latency run measured.
struct IoLatency {
    double median_ms = 0;  // over every blocking call: CPython's figure
    // Over the calls during which the CPU thread took the GIL. The convoy
    // needs it to: a CPU thread that the OS does not run in time (a busy
    // machine) leaves the GIL free for the I/O thread to take straight back.
    // CPython beside a busy loop on each core: spin ran in 51-80% of the
    // calls at 5 ms and 8-76% at 1 ms, and the overall median flipped.
    double median_after_cpu_ms = 0;
    int ops = 0;
    int cpu_thread_took = 0;
    // The share of its run that spin spent ready to run with no core free
    // (run_queue_wait_of_this_thread): other work's, not the GIL's. The
    // convoy needs spin to run the moment the GIL is free; a niced build on
    // both cores here once left it waiting a third of the time, and the
    // median lost its convoy while spin still took the GIL in most calls.
    double spin_waited_for_a_core = 0;

    // Enough calls met the CPU thread holding the GIL to say what happens
    // then, and the OS ran it when it could run.
    [[nodiscard]] bool conclusive() const {
        return cpu_thread_took >= std::max(1, ops / 20) && spin_waited_for_a_core <= 0.25;
    }
};

// time.sleep(0): a real system call with the GIL released, the one the
// version makes. Up to 3.10 that is select() with a zero timeout, which
// returns before a thread waiting for the GIL has woken, so the sleeper
// takes it straight back; from 3.11 it is clock_nanosleep until "now",
// which waits out the kernel's timer slack (about 50 us) first.
void time_sleep_zero(const Profile& python, ThreadState& t) {
    const ThreadState::AllowThreads blocking{t};
    if (python.sleep_uses_select) {
        timeval zero{};
        (void)select(0, nullptr, nullptr, nullptr, &zero);
        return;
    }
    timespec now{};
    clock_gettime(CLOCK_MONOTONIC, &now);
    clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &now, nullptr);
}

// def io_latency(with_cpu_thread, ops=200): the median wait, in ms, of a
// thread that makes a blocking call (time.sleep(0)) and takes the GIL back,
// alone or beside a thread that spins `while not stop: pass`.
IoLatency io_latency(const Profile& python, std::chrono::microseconds interval, bool with_cpu_thread, int ops,
                     Trace* trace = nullptr) {
    Interpreter interpreter{python};
    interpreter.gil().set_switch_interval(interval);
    interpreter.set_trace(trace);
    // The interpreter was made on this thread: its heap is current here.
    interpreter.globals().set("stop", Int::from(0));
    std::atomic<bool> spinner_running{false};
    double spin_waited_for_a_core = 0;
    Thread spinner(interpreter, "spin", [&](ThreadState& t) {
        const auto started = Clock::now();
        const auto waited_before = pyconc::lesson::run_queue_wait_of_this_thread();
        t.resume();
        spinner_running = true;
        while (true) {  // while not stop: pass
            t.load_global("stop");
            if (t.pop_jump_if_false()) break;  // stop is 1: leave
            t.jump_backward();
        }
        const auto waited_after = pyconc::lesson::run_queue_wait_of_this_thread();
        if (waited_before && waited_after) {
            spin_waited_for_a_core = std::chrono::duration<double>(*waited_after - *waited_before).count() /
                                     std::chrono::duration<double>(Clock::now() - started).count();
        }
    });
    std::vector<double> latencies;
    std::vector<double> latencies_after_cpu;
    IoLatency measured;
    measured.ops = ops;
    Thread io(interpreter, "io", [&](ThreadState& t) {
        t.resume();
        for (int i = 0; i < ops; ++i) {
            const std::uint64_t switches_before = interpreter.switch_number();
            const auto t1 = Clock::now();
            time_sleep_zero(python, t);
            const double latency = std::chrono::duration<double, std::milli>(Clock::now() - t1).count();
            latencies.push_back(latency);
            // To spin and back to io: two switches.
            if (interpreter.switch_number() >= switches_before + 2) latencies_after_cpu.push_back(latency);
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
    measured.median_ms = median(latencies);
    measured.median_after_cpu_ms = median(latencies_after_cpu);
    measured.spin_waited_for_a_core = spin_waited_for_a_core;
    measured.cpu_thread_took = static_cast<int>(latencies_after_cpu.size());
    return measured;
}

// (a) def countdown(n) split over 1, 2 and 4 threads: no faster, one core busy.
struct Splits {
    std::vector<double> seconds;     // 1, 2 and 4 threads
    std::vector<double> cores_busy;  // the same
};
Splits split_the_countdown(pyconc::lesson::Lesson& lesson, std::int64_t n, unsigned cores) {
    lesson.heading("CPU-bound: countdown({}) in 1, 2 and 4 threads, on {} core{}", grouped(n), cores,
                   cores == 1 ? "" : "s");
    pyconc::lesson::Table split_table{{"threads", pyconc::lesson::Align::right},
                                      {"time", pyconc::lesson::Align::right},
                                      {"speed-up", pyconc::lesson::Align::right},
                                      {"cores busy", pyconc::lesson::Align::right},
                                      {"GIL switches", pyconc::lesson::Align::right}};
    Splits splits;
    std::vector<double>& split_seconds = splits.seconds;
    bool one_thread_had_a_core = true;
    bool every_run_had_a_core = true;
    for (int threads : {1, 2, 4}) {
        const Split split = countdown_in_threads(lesson.python_with_the_gil(), n, threads);
        const bool had_a_core = pyconc::lesson::CpuShare{1.0, split.cores_busy}.full();
        if (threads == 1) one_thread_had_a_core = had_a_core;
        every_run_had_a_core = every_run_had_a_core && had_a_core;
        split_seconds.push_back(split.seconds);
        splits.cores_busy.push_back(split.cores_busy);
        const auto speedup = pyconc::lesson::speedup(split_seconds.front(), split.seconds, cores);
        split_table.row(
            {fmt::format("{}", threads), fmt::format("{:.3f}s", split.seconds),
             speedup && one_thread_had_a_core && had_a_core ? fmt::format("{:.2f}x", *speedup) : "(busy)",
             fmt::format("{:.2f}", split.cores_busy), grouped(split.switches)});
    }
    lesson.print(split_table);
    if (!every_run_had_a_core) {
        lesson.note(
            "(busy): a run got less than 0.8 of a core (other work had it), so its time is not compared: the "
            "cores-busy column still shows the threads never kept more than one busy.");
    }
    lesson.note(
        "Cores busy: CPU time over wall time; one at most, whatever the threads: only the GIL holder runs.");
    lesson.note_recorded_cpython([](const pyconc::lesson::Lesson::RecordedRun& cpython) {
        return fmt::format("countdown(4,000,000) 1 thread {}s, 2 threads {}s, {} cores busy",
                           cpython.get("figure.one_thread_s"), cpython.get("figure.two_threads_s"),
                           cpython.get("figure.two_threads_cores_busy"));
    });

    return splits;
}

// (b) An I/O thread's blocking calls, alone and beside a CPU thread, at two switch intervals.
struct Convoy {
    std::vector<double> alone_ms;
    std::vector<double> beside_ms;
    std::vector<double> after_cpu_ms;
    std::vector<double> spin_waited_for_a_core;  // per interval: IoLatency's share
    bool convoy = true;      // every return that found spin holding the GIL waited about an interval
    bool conclusive = true;  // spin got the GIL in enough of the calls to tell, and a core when it could run
};
Convoy io_beside_cpu(pyconc::lesson::Lesson& lesson, int ops) {
    Convoy c;
    lesson.heading("I/O beside CPU: the convoy effect");
    for (const auto interval : {std::chrono::microseconds{5000}, std::chrono::microseconds{1000}}) {
        const IoLatency alone = io_latency(lesson.python_with_the_gil(), interval, false, ops);
        const IoLatency beside = io_latency(lesson.python_with_the_gil(), interval, true, ops);
        c.alone_ms.push_back(alone.median_ms);
        c.beside_ms.push_back(beside.median_ms);
        c.after_cpu_ms.push_back(beside.median_after_cpu_ms);
        c.spin_waited_for_a_core.push_back(beside.spin_waited_for_a_core);
        const double interval_ms = static_cast<double>(interval.count()) / 1000.0;
        c.conclusive = c.conclusive && beside.conclusive();
        c.convoy = c.convoy && beside.median_after_cpu_ms >= 0.5 * interval_ms;
        lesson.say(
            "switch interval {:.0f} ms: I/O op median latency alone {:.3f} ms, beside a CPU thread {:.3f} ms",
            interval_ms, alone.median_ms, beside.median_ms);
        lesson.say("    in the {} of {} calls during which spin took the GIL: {:.3f} ms",
                   beside.cpu_thread_took, beside.ops, beside.median_after_cpu_ms);
    }
    if (lesson.python_with_the_gil().sleep_uses_select) {
        lesson.note(
            "CPython {}'s time.sleep(0) is select() with a zero timeout: it returns before spin has woken, "
            "so io "
            "takes the GIL straight back and no convoy forms. From 3.11 it is clock_nanosleep(), which waits "
            "out the kernel's timer slack (about 50 us) first: long enough for spin to take the GIL. Any "
            "call that really blocks makes the convoy on every version (--python 3.11 shows it).",
            lesson.python().version);
    } else {
        lesson.note(
            "On a busy machine the OS runs spin in fewer of the calls, in CPython as here, and the overall "
            "median can drop: the calls spin took still wait an interval.");
    }
    lesson.note_recorded_cpython([](const pyconc::lesson::Lesson::RecordedRun& cpython) {
        return fmt::format(
            "I/O op median latency beside a CPU thread {} ms (5 ms), {} ms (1 ms), 40 calls each",
            cpython.get("figure.io_beside_cpu_ms_at_5_ms"), cpython.get("figure.io_beside_cpu_ms_at_1_ms"));
    });

    return c;
}

// (c) The convoy on a GIL timeline: 6 blocking calls beside a CPU thread.
void draw_the_convoy(pyconc::lesson::Lesson& lesson, const std::string& svg) {
    lesson.heading(
        "The GIL timeline of the convoy: 6 blocking calls beside a CPU thread, switch interval 5 ms");
    Trace trace;
    (void)io_latency(lesson.python_with_the_gil(), std::chrono::microseconds{5000}, true, 6, &trace);
    const pyconc::lesson::GilTimeline timeline{
        "spin runs while not stop: pass; io calls time.sleep(0) 6 times", trace.timeline()};
    lesson.print(timeline);
    const auto& io = timeline.timeline().threads.at(1);
    lesson.note("io waited {:.1f} ms for the GIL and held it {:.2f} ms: {}", io.waiting_ms, io.holding_ms,
                lesson.python_with_the_gil().sleep_uses_select
                    ? "its select() returned before spin woke."
                    : "each return from a blocking call queues behind a whole interval of spin.");
    if (!svg.empty()) lesson.write_file(svg, pyconc::lesson::timelines_svg({timeline}), "the GIL timeline");
}

}  // namespace

int main(int argc, char** argv) try {
    pyconc::lesson::Lesson lesson{
        "03_gil_contention",
        "GIL contention: a CPU-bound countdown split over 2 or 4 threads is no faster than 1 thread, "
        "and an I/O thread beside a CPU thread waits about one switch interval every time it comes back "
        "from a blocking call (the convoy effect).",
        {"convoy", "no-convoy", "machine-busy"}};
    std::int64_t n = 0;  // 0: sized to run about 60 switch intervals in one thread
    int ops = 200;
    std::string svg;
    lesson
        .option("--n", n,
                "The countdown's start, split evenly over the threads (default: what one thread counts "
                "down in about 0.3 s here, measured at start: CPython's 20,000,000 takes 0.59 s there)",
                accepted_range<std::int64_t>(1, 1'000'000'000))
        .no_default_shown();
    lesson.option("--ops", ops, "Blocking calls the I/O thread makes per measurement",
                  accepted_range(1, 100'000));
    lesson.option("--svg", svg, "Also write the GIL timeline of part (c) as an SVG picture to FILE",
                  pyconc::lesson::accepted_output_file());
    if (auto exit = lesson.parse(argc, argv)) return *exit;
    // The countdowns (when sized by --n), and each blocking call beside the CPU thread waiting an interval.
    const double countdowns = 3.0 * static_cast<double>(n) * pyconc::programs::countdown_seconds_per_loop;
    if (auto exit = lesson.check_limits({countdowns + ops * (5e-3 + 1e-3) + 0.5, 0},
                                        fmt::format("--n {} --ops {}", n, ops)))
        return *exit;
    const unsigned cores = pyconc::lesson::usable_cores();
    // Sized in time, so that each run spans many switch intervals (and the
    // calibration runs are the warm-up).
    if (n == 0)
        n = pyconc::lesson::size_for(0.3, [&lesson](std::int64_t k) {
            return countdown_in_threads(lesson.python_with_the_gil(), k, 1).seconds;
        });

    const Splits splits = split_the_countdown(lesson, n, cores);
    const Convoy convoy = io_beside_cpu(lesson, ops);
    draw_the_convoy(lesson, svg);

    lesson.figure("n", n);
    lesson.figure("cores", cores);
    lesson.figure("countdown_seconds", splits.seconds);
    lesson.figure("cores_busy", splits.cores_busy);
    lesson.figure("io_alone_ms", convoy.alone_ms);
    lesson.figure("io_beside_cpu_ms", convoy.beside_ms);
    lesson.figure("io_after_cpu_took_gil_ms", convoy.after_cpu_ms);
    lesson.figure("spin_waited_for_a_core", convoy.spin_waited_for_a_core);
    if (!convoy.conclusive && lesson.python_with_the_gil().sleep_uses_select) {
        return lesson.finish("no-convoy",
                             fmt::format("CPython {}'s time.sleep(0) returned before the CPU thread "
                                         "woke, so the I/O thread took the GIL straight back",
                                         lesson.python().version));
    }
    if (!convoy.conclusive) {
        const double waited =
            *std::max_element(convoy.spin_waited_for_a_core.begin(), convoy.spin_waited_for_a_core.end());
        if (waited > 0.25) {
            return lesson.finish(
                "machine-busy",
                fmt::format("the CPU thread spent {:.0f}% of its run ready but without a core (other work "
                            "had them): the convoy needs it to run the moment the GIL is free; run it again",
                            100 * waited));
        }
        return lesson.finish(
            "machine-busy",
            "the CPU thread took the GIL in fewer than 1 in 20 blocking calls: the OS did not "
            "run it in time (a busy machine); run it again");
    }
    if (convoy.convoy) {
        return lesson.finish(
            "convoy",
            "beside a CPU thread, every return from a blocking call that found it holding the "
            "GIL waited about one switch interval");
    }
    return lesson.finish("no-convoy", "the I/O thread got the GIL back sooner than half an interval");
} catch (...) {
    return pyconc::lesson::failed(argv[0]);  // one line and exit 3 (lesson/failure.hpp)
}
