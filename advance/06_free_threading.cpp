// advance/06_free_threading: the same programs with the GIL and without it.
//
// There is no reference program: free threading needs a free-threaded
// CPython (3.13t, 3.14t; PEP 703). Without the GIL (a) CPU-bound threads run
// at once and the countdown scales with the cores; (b) `counter += 1` loses
// updates even in the plain loop that never lost one under the GIL, because
// per-object locks keep the dict whole but cannot make a read and a write
// one step, and a threading.Lock still makes it exact; (c) the race, made
// certain: two threads both read before either writes; (d) what reference
// counting costs per operation: the GIL build's plain count, a biased count
// by its owner and by another thread, and counts that are atomic always;
// (e) the collector stops the world.
#include <atomic>
#include <barrier>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "programs/workloads.hpp"
#include "pyconc/lesson/lesson.hpp"
#include "pyconc/runtime/interpreter.hpp"
#include "pyconc/runtime/thread_state.hpp"
#include "pyconc/threading.hpp"

using namespace pyconc::runtime;
using pyconc::lesson::accepted_range;
using pyconc::lesson::Align;
using pyconc::lesson::grouped;
using pyconc::programs::countdown;
using pyconc::programs::Rounds;
using pyconc::programs::run_threads;
using pyconc::threading::Lock;
using pyconc::threading::Thread;
using Clock = std::chrono::steady_clock;

namespace {

// (a) countdown(n) split over `threads` threads: wall seconds and cores busy,
// the median of 3 runs after a warm-up.
struct Countdown {
    double seconds = 0;
    double cores_busy = 0;
};
Countdown countdown_seconds(GilMode mode, std::int64_t n, int threads) {
    std::vector<pyconc::lesson::Times> runs;
    const double seconds = pyconc::lesson::median_seconds(3, [&] {
        Interpreter interpreter{mode};
        const pyconc::lesson::Stopwatch stopwatch;
        (void)run_threads(interpreter, threads, [n, threads](ThreadState& t) { countdown(t, n / threads); });
        runs.push_back(stopwatch.elapsed());
        return runs.back().wall;
    });
    for (const pyconc::lesson::Times& run : runs) {
        if (run.wall == seconds) return {seconds, pyconc::lesson::cores_busy(run)};
    }
    return {seconds, 0};
}

// (b) one of threading_example's programs from `threads` threads, for
// `iterations` rounds each or (0) for `budget`.
pyconc::programs::CounterRun counter_after(GilMode mode, pyconc::programs::CounterProgram program,
                                           int threads, int iterations,
                                           std::chrono::duration<double> budget) {
    Interpreter interpreter{mode};
    return pyconc::programs::run_counter(interpreter, program, threads, iterations, budget);
}

// (c) Two threads each do `counter += 1`, and both read before either
// writes (a barrier between LOAD_GLOBAL and the rest): certain to lose one.
std::int64_t both_read_before_either_writes() {
    Interpreter interpreter{GilMode::disabled};
    interpreter.globals().set("counter", Int::from(0));
    std::barrier both_read{2};
    (void)run_threads(interpreter, 2, [&both_read](ThreadState& t) {
        t.load_global("counter");
        {
            const ThreadState::AllowThreads waiting{t};
            both_read.arrive_and_wait();
        }
        t.load_const(1);
        t.binary_add();
        t.store_global("counter");
    });
    return static_cast<const Int&>(*interpreter.globals().get("counter")).value();
}

// (d) The cost of one incref and one decref.
constexpr int pairs = 2'000'000;

// Keeps the compiler from merging an incref with the decref after it.
inline void opaque(const void* pointer) {
    asm volatile("" : : "r"(pointer) : "memory");
}

double ns_per_pair(Clock::duration elapsed) {
    return std::chrono::duration<double, std::nano>(elapsed).count() / pairs;
}

// y = x; del y, `pairs` times, on an int `x` made by `owner_thread`, by the
// thread `runner`.
double refcount_pair_ns(GilMode mode, bool by_another_thread) {
    Interpreter interpreter{mode};
    ThreadState main_thread{interpreter, "MainThread"};
    const ThreadState::Attached attached{main_thread};
    const Ref<Int> x = Int::from(1'000'000);  // owned by MainThread without the GIL
    const auto loop = [&x] {
        const auto started = Clock::now();
        for (int i = 0; i < pairs; ++i) {
            // NOLINTNEXTLINE(performance-unnecessary-copy-initialization): the copy is the incref measured
            Ref<Int> y = x;  // Py_INCREF
            opaque(y.get());
        }  // Py_DECREF
        return Clock::now() - started;
    };
    if (!by_another_thread) return ns_per_pair(loop());
    Clock::duration elapsed{};
    {
        const ThreadState::AllowThreads waiting{main_thread};
        Thread other{interpreter, "Thread-1", [&](ThreadState&) { elapsed = loop(); }};
        other.start();
        other.join();
    }
    return ns_per_pair(elapsed);
}

// The same with a count that is atomic always, from `threads` threads at once.
double atomic_pair_ns(int threads) {
    std::atomic<std::int64_t> count{1};
    std::vector<Clock::duration> elapsed(static_cast<std::size_t>(threads));
    std::vector<std::thread> runners;
    runners.reserve(static_cast<std::size_t>(threads));
    std::barrier go{threads};
    for (int r = 0; r < threads; ++r) {
        runners.emplace_back([&, r] {
            go.arrive_and_wait();
            const auto started = Clock::now();
            for (int i = 0; i < pairs; ++i) {
                count.fetch_add(1);
                opaque(&count);
                count.fetch_sub(1);
            }
            elapsed[static_cast<std::size_t>(r)] = Clock::now() - started;
        });
    }
    for (auto& runner : runners) runner.join();
    Clock::duration slowest{};
    for (const auto& e : elapsed) slowest = std::max(slowest, e);
    return ns_per_pair(slowest);
}

// (e) gc.collect() from the main thread while two threads count down.
struct Pauses {
    std::uint64_t stops = 0;
    double pause_ms = 0;
    std::size_t found = 0;
};
Pauses collect_while_threads_run(std::int64_t n, int collections) {
    Interpreter interpreter{GilMode::disabled};
    std::atomic<int> running{0};
    std::vector<std::unique_ptr<Thread>> threads;
    threads.reserve(2);
    for (int i = 0; i < 2; ++i) {
        threads.push_back(std::make_unique<Thread>(interpreter, fmt::format("Thread-{}", i + 1),
                                                   [&running, n](ThreadState& t) {
                                                       ++running;
                                                       countdown(t, n);
                                                   }));
    }
    for (auto& thread : threads) thread->start();
    while (running < 2) std::this_thread::yield();
    Pauses pauses;
    {
        ThreadState main_thread{interpreter, "MainThread"};
        const ThreadState::Attached attached{main_thread};
        for (int c = 0; c < collections; ++c) {
            Ref<List> a = make<List>();  // a = []; b = [a]; a.append(b); del a, b
            Ref<List> b = make<List>(a);
            a->append(b);
            a.reset();
            b.reset();
            pauses.found += interpreter.gc().collect();
        }
    }
    for (auto& thread : threads) thread->join();
    pauses.stops = interpreter.world().stops();
    pauses.pause_ms = std::chrono::duration<double, std::milli>(interpreter.world().total_pause()).count();
    return pauses;
}

// --- the lesson's parts --------------------------------------------------------------------

struct Settings {
    std::int64_t n = 3'000'000;
    int threads = 4;
    int iterations = 0;  // 0: each run lasts `budget_ms`
    int budget_ms = 100;
};

void add_flags(pyconc::lesson::Lesson& lesson, Settings& settings) {
    lesson.option("--n", settings.n, "The countdown's start (split evenly over the threads)",
                  accepted_range<std::int64_t>(1'000, 1'000'000'000));
    lesson.option("--threads", settings.threads, "Threads that increment the counter", accepted_range(2, 64));
    lesson
        .option("--iterations", settings.iterations,
                "Increments per thread (default: none; each counter run lasts --run-ms instead)",
                accepted_range(1, 10'000'000))
        .no_default_shown();
    lesson
        .option("--run-ms", settings.budget_ms,
                "How long each counter run lasts, when --iterations is not given", accepted_range(1, 10'000))
        .excludes("--iterations");
}

// Refuses a run of hours before it starts: (a) 3 thread counts x 2 modes x
// 4 runs; (b) 6 runs; (e) 2 threads of countdown(n).
std::optional<int> refuse_absurd_sizes(pyconc::lesson::Lesson& lesson, const Settings& settings) {
    const double countdowns =
        26.0 * static_cast<double>(settings.n) * pyconc::programs::countdown_seconds_per_loop;
    const double counters = settings.iterations != 0 ? 6.0 * settings.threads * settings.iterations *
                                                           pyconc::programs::increment_seconds * 10
                                                     : 6.0 * settings.budget_ms / 1000.0;
    return lesson.check_limits({countdowns + counters, 0},
                               fmt::format("--n {} --threads {} --iterations {} --run-ms {}", settings.n,
                                           settings.threads, settings.iterations, settings.budget_ms));
}

struct CpuFigures {
    std::vector<double> gil_seconds;
    std::vector<double> free_seconds;
    std::vector<double> free_cores_busy;
};

// (a) def countdown(n) in 1, 2 and 4 threads, with the GIL and without.
CpuFigures cpu_bound_threads(pyconc::lesson::Lesson& lesson, std::int64_t n, unsigned cores) {
    lesson.heading("(a) CPU-bound: countdown({}) in 1, 2 and 4 threads, on {} core{} (median of 3 runs)",
                   grouped(n), cores, cores == 1 ? "" : "s");
    pyconc::lesson::Table cpu_table{{"threads", Align::right},  {"with the GIL", Align::right},
                                    {"speed-up", Align::right}, {"without", Align::right},
                                    {"speed-up", Align::right}, {"cores busy", Align::right}};
    std::vector<double> gil_seconds;
    std::vector<double> free_seconds;
    std::vector<double> free_cores_busy;
    bool impossible = false;  // a speed-up above the cores was refused
    for (const int k : {1, 2, 4}) {
        gil_seconds.push_back(countdown_seconds(GilMode::enabled, n, k).seconds);
        const Countdown free = countdown_seconds(GilMode::disabled, n, k);
        free_seconds.push_back(free.seconds);
        free_cores_busy.push_back(free.cores_busy);
        const std::string with_gil =
            pyconc::lesson::speedup_text(gil_seconds.front(), gil_seconds.back(), cores);
        const std::string without =
            pyconc::lesson::speedup_text(free_seconds.front(), free_seconds.back(), cores);
        impossible = impossible || with_gil == "n/a" || without == "n/a";
        cpu_table.row({fmt::format("{}", k), fmt::format("{:.3f}s", gil_seconds.back()), with_gil,
                       fmt::format("{:.3f}s", free_seconds.back()), without,
                       fmt::format("{:.2f}", free.cores_busy)});
    }
    lesson.print(cpu_table);
    if (impossible) {
        lesson.note(
            "n/a: a speed-up above the {} core(s) this process may use is a measuring error (a run "
            "slowed by other work taken as the baseline); run it again.",
            cores);
    }
    lesson.note(
        "Without the GIL the threads run at once: the speed-up approaches the number of cores, and so do the "
        "cores busy (CPU time over wall time). One thread is {:.0f}% slower without it: biased counts and "
        "per-thread state cost a little on every step.",
        100.0 * (free_seconds.front() / gil_seconds.front() - 1.0));

    return {gil_seconds, free_seconds, free_cores_busy};
}

struct CounterFigures {
    bool locked_exact = true;
    std::vector<pyconc::lesson::JsonObject> runs;
};

// (b) counter += 1: plain, with a call, with a Lock; with the GIL and without.
CounterFigures counter_races(pyconc::lesson::Lesson& lesson, const Settings& settings) {
    const int threads = settings.threads;
    const int iterations = settings.iterations;
    const int budget_ms = settings.budget_ms;
    const std::chrono::duration<double> budget{budget_ms / 1000.0};
    CounterFigures figures;
    lesson.heading("(b) counter += 1 from {} threads, {} (py310 check points, 5 ms)", threads,
                   iterations != 0 ? fmt::format("{} increments each", grouped(iterations))
                                   : fmt::format("each run {} ms long", budget_ms));
    pyconc::lesson::Table counter_table{{"program", Align::left},  {"GIL", Align::left},
                                        {"counter", Align::right}, {"expected", Align::right},
                                        {"lost", Align::right},    {"", Align::left}};
    struct Program {
        const char* name;
        pyconc::programs::CounterProgram run;
    };
    for (const Program program :
         {Program{"plain", pyconc::programs::plain}, Program{"with_call", pyconc::programs::with_call},
          Program{"locked", pyconc::programs::locked}}) {
        for (const GilMode mode : {GilMode::enabled, GilMode::disabled}) {
            const pyconc::programs::CounterRun run =
                counter_after(mode, program.run, threads, iterations, budget);
            if (program.run == pyconc::programs::locked)
                figures.locked_exact = figures.locked_exact && run.counter == run.expected;
            const std::int64_t lost = run.expected - run.counter;
            counter_table.row(
                {program.name, mode == GilMode::enabled ? "on" : "off", grouped(run.counter),
                 grouped(run.expected), grouped(lost),
                 lost > 0 ? fmt::format("race ({:.0f}% lost)",
                                        100.0 * static_cast<double>(lost) / static_cast<double>(run.expected))
                          : "no race"});
            pyconc::lesson::JsonObject row;
            row.set("program", program.name);
            row.set("gil", mode == GilMode::enabled);
            row.set("counter", run.counter);
            row.set("expected", run.expected);
            row.set("lost", lost);
            figures.runs.push_back(std::move(row));
        }
    }
    lesson.print(counter_table);
    lesson.note(
        "The plain loop that never lost an update under the GIL (no check point between its load and its "
        "store) loses them without it: nothing stops two threads running those instructions at once. "
        "CPython 3.13t loses about half.");

    return figures;
}

// (c) Two threads both load counter before either stores: an update lost, certainly.
std::int64_t certain_race(pyconc::lesson::Lesson& lesson) {
    lesson.heading("(c) The race, made certain: two threads both read counter before either writes");
    const std::int64_t certain = both_read_before_either_writes();
    lesson.say("counter = 0; two threads each run counter += 1; both LOAD_GLOBAL before either STORE_GLOBAL");
    lesson.say(
        "counter is {} ({} update lost): each wrote 0 + 1. The dict's lock kept the dict whole; it "
        "cannot join a load and a store into one step.",
        certain, 2 - certain);

    return certain;
}

// (d) y = x; del y: what an incref + decref costs, plain, biased and atomic.
std::vector<double> refcount_costs(pyconc::lesson::Lesson& lesson) {
    lesson.heading("(d) What a reference count costs: y = x; del y ({} times), ns per incref + decref",
                   grouped(pairs));
    const double plain_ns = refcount_pair_ns(GilMode::enabled, false);
    const double owner_ns = refcount_pair_ns(GilMode::disabled, false);
    const double other_ns = refcount_pair_ns(GilMode::disabled, true);
    const double atomic_ns = atomic_pair_ns(1);
    const double contended_ns = atomic_pair_ns(2);
    pyconc::lesson::Table cost_table{
        {"count", Align::left}, {"ns", Align::right}, {"vs plain", Align::right}};
    const auto cost_row = [&](const char* what, double ns) {
        cost_table.row({what, fmt::format("{:.2f}", ns), fmt::format("{:.1f}x", ns / plain_ns)});
    };
    cost_row("plain (the GIL build's ob_refcnt)", plain_ns);
    cost_row("biased, by the owner thread (ob_ref_local)", owner_ns);
    cost_row("biased, by another thread (ob_ref_shared)", other_ns);
    cost_row("atomic always, one thread", atomic_ns);
    cost_row("atomic always, two threads on one object", contended_ns);
    lesson.print(cost_table);
    lesson.note(
        "Most objects are only ever touched by the thread that made them, and for those the owner's count "
        "costs {:.1f}x the plain one (a test of the owner, out of line); a count that is atomic always "
        "costs {:.1f}x. Another thread pays {:.1f}x: the model keeps shared counts in a locked table beside "
        "the heap, "
        "where CPython keeps them in the header and changes them with one atomic add.",
        owner_ns / plain_ns, atomic_ns / plain_ns, other_ns / plain_ns);

    return {plain_ns, owner_ns, other_ns, atomic_ns, contended_ns};
}

// (e) gc.collect() while two threads count down: the world stops.
Pauses stop_the_world(pyconc::lesson::Lesson& lesson, std::int64_t n) {
    lesson.heading("(e) gc.collect() 3 times while two threads count down");
    const Pauses pauses = collect_while_threads_run(n, 3);
    lesson.say("the world stopped {} times, {:.2f} ms in all; the collections found {} unreachable objects",
               pauses.stops, pauses.pause_ms, pauses.found);
    lesson.note(
        "Each collection waits until every other thread has paused at a check point (or is blocked), "
        "and lets them go on when it is done.");

    return pauses;
}

}  // namespace

int main(int argc, char** argv) try {
    pyconc::lesson::Lesson lesson{
        "06_free_threading",
        "The same programs with the GIL and without it (PEP 703): CPU-bound threads scale with the cores, "
        "counter += 1 loses updates even in the plain loop, a Lock still makes it exact, reference counts "
        "become biased, and the collector stops the world.",
        {"race-without-lock", "no-race"}};
    Settings settings;
    add_flags(lesson, settings);
    if (auto exit = lesson.parse(argc, argv)) return *exit;
    if (auto exit = refuse_absurd_sizes(lesson, settings)) return *exit;
    const unsigned cores = pyconc::lesson::usable_cores();

    const CpuFigures cpu = cpu_bound_threads(lesson, settings.n, cores);
    const CounterFigures counters = counter_races(lesson, settings);
    const std::int64_t certain = certain_race(lesson);
    const std::vector<double> refcount_ns = refcount_costs(lesson);
    const Pauses pauses = stop_the_world(lesson, settings.n);

    lesson.figure("cores", cores);
    lesson.figure("countdown_seconds_gil", cpu.gil_seconds);
    lesson.figure("countdown_seconds_free_threaded", cpu.free_seconds);
    lesson.figure("countdown_cores_busy_free_threaded", cpu.free_cores_busy);
    lesson.figure("counter_runs", counters.runs);
    lesson.figure("certain_race_counter", certain);
    lesson.figure("refcount_ns", refcount_ns);
    lesson.figure("world_stops", pauses.stops);
    if (certain == 1 && counters.locked_exact) {
        return lesson.finish(
            "race-without-lock",
            "without the GIL two reads before two writes lose an update; the Lock kept every "
            "count exact");
    }
    return lesson.finish("no-race", "no update was lost where one had to be, or the lock failed");
} catch (...) {
    return pyconc::lesson::failed(argv[0]);  // one line and exit 3 (lesson/failure.hpp)
}
