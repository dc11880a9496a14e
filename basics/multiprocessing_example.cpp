// basics/multiprocessing_example: the same CPU-bound jobs, sequentially, in
// threads and in processes.
//
// Mirrors ../reference/basics/multiprocessing_example.py. Threads share one
// interpreter and so one GIL: only one of them runs instructions at a time,
// and four jobs in four threads take as long as four in a row. Processes
// have an interpreter and a GIL each: on a machine with two cores, two jobs
// run at once. Each process also has its own memory: a global a child
// changes is changed in the child only. What processes do share has to be
// made shared on purpose: a Value, and its lock to make `+= 1` exact.
//
// How a child starts decides what it sees of its parent: a forked child is
// a copy of the parent as it is when the pool starts, globals and all; a
// spawned one, or one forked by the fork server, starts from the program's
// own start-up state. The default start method is the --python version's:
// fork on Linux up to 3.13, forkserver from 3.14; --start-method picks one
// for the jobs' pool.
#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <limits>
#include <string>
#include <thread>
#include <vector>

#include "programs/workloads.hpp"
#include "pyconc/concurrent/futures/process_pool.hpp"
#include "pyconc/concurrent/futures/thread_pool.hpp"
#include "pyconc/lesson/lesson.hpp"
#include "pyconc/lesson/measure.hpp"
#include "pyconc/multiprocessing/process.hpp"
#include "pyconc/multiprocessing/shared_memory.hpp"
#include "pyconc/multiprocessing/value.hpp"
#include "pyconc/runtime/interpreter.hpp"
#include "pyconc/runtime/thread_state.hpp"

namespace mp = pyconc::multiprocessing;
using pyconc::concurrent::futures::ProcessPoolExecutor;
using pyconc::concurrent::futures::ThreadPoolExecutor;
using pyconc::lesson::accepted_range;
using pyconc::lesson::grouped;
using pyconc::programs::cpu_job;
using pyconc::programs::ready;
using pyconc::programs::seconds_since;
using pyconc::programs::touch;
using pyconc::programs::touched;
using pyconc::runtime::ThreadState;
using Clock = std::chrono::steady_clock;

namespace {

struct Settings {
    int jobs = 4;
    std::int64_t n = 1'000'000;
    int workers = 1;  // the cores this process may use, set in main
    int increments = 20'000;
    std::string start_method;  // empty: the --python version's default
};

void add_flags(pyconc::lesson::Lesson& lesson, Settings& settings) {
    lesson.option("--jobs", settings.jobs, "How many CPU-bound jobs", accepted_range(1, 64));
    lesson.option("--n", settings.n, "Each job's loop count (cpu_job(n))",
                  accepted_range<std::int64_t>(1, 100'000'000));
    lesson.option("--workers", settings.workers,
                  "Workers in each pool (default: the cores this process may use)", accepted_range(1, 64));
    lesson.option("--increments", settings.increments, "Increments of the shared Value per process",
                  accepted_range(1, 10'000'000));
    lesson
        .option("--start-method", settings.start_method,
                "How the jobs' process pool starts its workers: fork, spawn or forkserver (default: the "
                "--python version's: fork up to 3.13, forkserver from 3.14)",
                pyconc::lesson::accepted_words({"fork", "spawn", "forkserver"}))
        .no_default_shown();
}

// What the three ways of running the jobs measured.
struct Jobs {
    pyconc::lesson::Times sequential;
    pyconc::lesson::Times threads;
    pyconc::lesson::Times processes;
    std::vector<std::int64_t> expected;
    std::vector<std::int64_t> from_threads;
    std::vector<std::int64_t> from_processes;
    std::vector<int> children_saw;  // `touched`, as each child saw it
};

// expected = [cpu_job(n) for _ in range(jobs)]; then a thread pool and a
// process pool map cpu_job over the same jobs.
Jobs run_the_jobs(const Settings& settings) {
    Jobs jobs;
    const std::vector<std::int64_t> job_ns(static_cast<std::size_t>(settings.jobs), settings.n);
    pyconc::lesson::Stopwatch stopwatch;
    {
        pyconc::runtime::Interpreter interpreter;
        ThreadState main_thread{interpreter, "MainThread"};
        const ThreadState::Attached attached{main_thread};
        for (const std::int64_t job_n : job_ns) jobs.expected.push_back(cpu_job(main_thread, job_n));
    }
    jobs.sequential = stopwatch.elapsed();

    // with ThreadPoolExecutor(workers) as ex: ex.map(cpu_job, [n] * jobs)
    stopwatch.restart();
    {
        pyconc::runtime::Interpreter interpreter;
        ThreadPoolExecutor pool{interpreter, static_cast<std::size_t>(settings.workers)};
        jobs.from_threads =
            pool.map([](ThreadState& t, std::int64_t job_n) { return cpu_job(t, job_n); }, job_ns);
    }
    jobs.threads = stopwatch.elapsed();

    // with ProcessPoolExecutor(workers) as ex: ex.map(cpu_job, [n] * jobs); ex.map(touch, range(4))
    ProcessPoolExecutor pool{static_cast<std::size_t>(settings.workers)};  // the default start method
    // Every worker is up before the clock starts; their CPU time counts.
    (void)pool.map<ready>(std::vector<int>(static_cast<std::size_t>(settings.workers), 0));
    const pyconc::lesson::Stopwatch with_workers{pyconc::lesson::with_children(pool.worker_pids())};
    jobs.from_processes = pool.map<pyconc::programs::cpu_job_in_this_process>(job_ns);
    jobs.processes = with_workers.elapsed();
    jobs.children_saw = pool.map<touch>(std::vector<int>{0, 1, 2, 3});
    return jobs;
}

void show_jobs(pyconc::lesson::Lesson& lesson, const Jobs& jobs, unsigned cores) {
    pyconc::lesson::Table table{{"how", pyconc::lesson::Align::left},
                                {"time", pyconc::lesson::Align::right},
                                {"speed-up", pyconc::lesson::Align::right},
                                {"cores busy", pyconc::lesson::Align::right},
                                {"results", pyconc::lesson::Align::left}};
    const auto row = [&](const char* how, const pyconc::lesson::Times& run, bool equal) {
        table.row({how, fmt::format("{:.3f}s", run.wall),
                   pyconc::lesson::speedup_text(jobs.sequential.wall, run.wall, cores),
                   fmt::format("{:.2f}", pyconc::lesson::cores_busy(run)), equal ? "equal" : "DIFFERENT"});
    };
    row("sequential", jobs.sequential, true);
    row("threads", jobs.threads, jobs.from_threads == jobs.expected);
    row("processes", jobs.processes, jobs.from_processes == jobs.expected);
    lesson.print(table);
    pyconc::lesson::BarChart bars{"s"};
    bars.bar("sequential", jobs.sequential.wall)
        .bar("threads", jobs.threads.wall)
        .bar("processes", jobs.processes.wall);
    lesson.print(bars);
    const double others =
        std::max(pyconc::lesson::others_busy(jobs.sequential), pyconc::lesson::others_busy(jobs.processes));
    if (others >= 0.5) {
        lesson.note(
            "The machine was busy: other work kept {:.1f} of the {} cores busy meanwhile, so these times are "
            "slower, and the processes' speed-up smaller, than on an idle machine.",
            others, cores);
    }
    lesson.note_recorded_cpython([](const pyconc::lesson::Lesson::RecordedRun& cpython) {
        return fmt::format(
            "4 jobs of cpu_job(2,000,000) on {} cores: sequential {}s | threads {}s | processes {}s",
            cpython.get("figure.cores"), cpython.get("figure.sequential_seconds"),
            cpython.get("figure.threads_seconds"), cpython.get("figure.processes_seconds"));
    });

    lesson.heading("A global changed by the children");
    lesson.say("children saw touched = [{}]; parent still has touched = {}",
               fmt::join(jobs.children_saw, ", "), touched);
    lesson.note_recorded_cpython([](const pyconc::lesson::Lesson::RecordedRun& cpython) {
        return fmt::format("children saw touched = [{}]; parent still has touched = {}",
                           cpython.get("figure.children_saw_touched"), cpython.get("figure.parent_touched"));
    });
}

// What each start method's children see of a global the parent set:
//   SETTING = 1   (0 at import)
//   for method in ("fork", "spawn", "forkserver"):
//       with ProcessPoolExecutor(2, mp_context=get_context(method)) as ex:
//           print(method, list(ex.map(read_setting, range(2))))
std::vector<std::pair<mp::StartMethod, int>> what_children_see(pyconc::lesson::Lesson& lesson) {
    using pyconc::programs::setting;
    lesson.heading("What the start method changes: SETTING = 1 in the parent, 0 at import");
    setting = 1;
    std::vector<std::pair<mp::StartMethod, int>> seen;
    pyconc::lesson::Table table{{"start method", pyconc::lesson::Align::left},
                                {"children saw SETTING", pyconc::lesson::Align::right},
                                {"why", pyconc::lesson::Align::left}};
    for (const mp::StartMethod method : mp::all_start_methods) {
        ProcessPoolExecutor pool{2, mp::get_context(method)};
        const std::vector<int> values = pool.map<pyconc::programs::read_setting>(std::vector<int>{0, 1});
        seen.emplace_back(method, values.front());
        const bool is_default = method == lesson.python().default_start_method;
        table.row({fmt::format("{}{}", mp::start_method_name(method), is_default ? " (default)" : ""),
                   fmt::format("{}", fmt::join(values, ", ")),
                   method == mp::StartMethod::fork ? "a copy of the parent, as it was at the start"
                   : method == mp::StartMethod::spawn
                       ? "a fresh run of the program"
                       : "a fork of the fork server, a fresh run started before"});
    }
    setting = 0;
    lesson.print(table);
    lesson.note(
        "(default): CPython {}'s on Linux. A program that relies on fork's copy breaks where the default "
        "is another: macOS and Windows spawn, and Linux forkserver from 3.14.",
        lesson.python().version);
    return seen;
}

[[nodiscard]] bool as_cpython(const std::vector<std::pair<mp::StartMethod, int>>& seen) {
    for (const auto& [method, value] : seen) {
        if (value != (method == mp::StartMethod::fork ? 1 : 0)) return false;
    }
    return true;
}

// When each child ran its loop: steady_clock is the system's monotonic
// clock, the same in every process, so the parent can tell whether two
// children's loops ever ran at the same time.
struct LoopSpans {
    static constexpr std::size_t most = 64;  // --workers' largest
    std::array<std::atomic<std::int64_t>, most> started{};
    std::array<std::atomic<std::int64_t>, most> ended{};

    void run(std::size_t child, const std::function<void()>& loop) {
        started[child].store(now(), std::memory_order_relaxed);
        loop();
        ended[child].store(now(), std::memory_order_relaxed);
    }
    // Whether some instant had every child's loop running.
    [[nodiscard]] bool overlapped(std::size_t children) const {
        std::int64_t last_start = 0;
        std::int64_t first_end = std::numeric_limits<std::int64_t>::max();
        for (std::size_t i = 0; i < children; ++i) {
            last_start = std::max(last_start, started[i].load(std::memory_order_relaxed));
            first_end = std::min(first_end, ended[i].load(std::memory_order_relaxed));
        }
        return last_start < first_end;
    }
    [[nodiscard]] double seconds(std::size_t children) const {
        std::int64_t first_start = std::numeric_limits<std::int64_t>::max();
        std::int64_t last_end = 0;
        for (std::size_t i = 0; i < children; ++i) {
            first_start = std::min(first_start, started[i].load(std::memory_order_relaxed));
            last_end = std::max(last_end, ended[i].load(std::memory_order_relaxed));
        }
        return static_cast<double>(last_end - first_start) * 1e-9;
    }

private:
    static std::int64_t now() {
        return std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now().time_since_epoch()).count();
    }
};

struct ValueRuns {
    std::vector<long> counts;  // without the lock, with it
    int processes = 0;
    bool unlocked_overlapped = false;  // the unlocked run's loops ran at once at some instant
};

// A Value shared by forked children, incremented without and with its
// lock: the two final counts. Two children at least, on one core too: a
// race needs two, and a core switches between them as CPython's would.
ValueRuns share_a_value(pyconc::lesson::Lesson& lesson, const Settings& settings) {
    const int processes = std::max(settings.workers, 2);
    const int increments = settings.increments;
    lesson.heading("A shared Value, {} processes x {} increments", processes, grouped(increments));
    if (processes > settings.workers) lesson.note("(two processes, though --workers is 1: a race needs two)");
    ValueRuns runs;
    runs.processes = processes;
    std::vector<std::string> deaths;  // children that did not exit 0 (killed, say)
    for (const bool with_lock : {false, true}) {
        mp::Value<long> counter{0};
        mp::Shared<LoopSpans> spans;
        std::vector<mp::Process> children;
        children.reserve(static_cast<std::size_t>(processes));
        for (std::size_t child = 0; child < static_cast<std::size_t>(processes); ++child) {
            children.emplace_back([&counter, &spans, child, with_lock, increments] {
                spans->run(child, [&] {
                    for (int k = 0; k < increments; ++k) {
                        if (with_lock) {
                            const mp::Value<long>::Lock::Held held{counter.get_lock()};  // with v.get_lock():
                            counter.add(1);                                              //     v.value += 1
                        } else {
                            counter.add(1);  // v.value += 1: a locked read, then a locked write
                        }
                    }
                });
            });
        }
        for (auto& child : children) child.start();
        for (auto& child : children) child.join();
        for (auto& child : children) {
            if (child.exitcode().value_or(0) != 0) {
                deaths.push_back(fmt::format("a child ended with exit code {} ({} the lock{})",
                                             *child.exitcode(), with_lock ? "with" : "without",
                                             counter.get_lock().owners_died() > 0 ? ", holding it" : ""));
            }
        }
        runs.counts.push_back(counter.value());
        const long expected = static_cast<long>(processes) * increments;
        lesson.say("{:<16} value = {} of {}",
                   with_lock ? "with get_lock():" : "without a lock:", grouped(counter.value()),
                   grouped(expected));
        if (!with_lock) {
            runs.unlocked_overlapped = spans->overlapped(static_cast<std::size_t>(processes));
            if (counter.value() == expected && !runs.unlocked_overlapped) {
                lesson.note(
                    "  nothing lost, because the children never ran at once: each loop ({:.1f} ms in all) "
                    "ended "
                    "before the next began (a busy machine, or a fork slower than the loop). CPython's loop, "
                    "about 1 us an increment, is long enough to meet the other's; --increments 200000 makes "
                    "the model's too.",
                    spans->seconds(static_cast<std::size_t>(processes)) * 1e3);
            }
        }
    }
    if (!deaths.empty()) {
        // Its increments never all happened: the counts say nothing about the lock.
        throw pyconc::lesson::LessonFailure(fmt::format(
            "{}: the Value's counts are not the lesson's; run it again", fmt::join(deaths, "; ")));
    }

    return runs;
}

}  // namespace

int main(int argc, char** argv) try {
    mp::freeze_support(argc, argv);  // a spawned worker does its work here and exits
    pyconc::lesson::Lesson lesson{
        "multiprocessing_example",
        "The same CPU-bound jobs sequentially, in a thread pool (one GIL: no speed-up) and in a process pool "
        "(a GIL each: real parallelism); a global changed in a child stays unchanged in the parent; a shared "
        "Value with and without its lock.",
        {"consistent", "inconsistent"}};
    const unsigned cores = pyconc::lesson::usable_cores();
    Settings settings;
    settings.workers = static_cast<int>(cores);
    add_flags(lesson, settings);
    if (auto exit = lesson.parse(argc, argv)) return *exit;
    if (!settings.start_method.empty()) mp::set_start_method(*mp::start_method_named(settings.start_method));
    // Sequentially, in threads (no faster) and in processes.
    if (auto exit = lesson.check_limits(
            {(2.0 + 1.0 / settings.workers) * settings.jobs * static_cast<double>(settings.n) *
                 pyconc::programs::cpu_job_seconds_per_loop,
             0},
            fmt::format("--jobs {} --n {} --workers {}", settings.jobs, settings.n, settings.workers)))
        return *exit;

    lesson.heading("{} jobs of cpu_job({}), {} workers ({}), {} core{}", settings.jobs, grouped(settings.n),
                   settings.workers, mp::start_method_name(mp::get_start_method()), cores,
                   cores == 1 ? "" : "s");
    const Jobs jobs = run_the_jobs(settings);
    show_jobs(lesson, jobs, cores);
    const auto seen = what_children_see(lesson);
    const ValueRuns value_runs = share_a_value(lesson, settings);
    const std::vector<long>& counts = value_runs.counts;

    const bool results_equal = jobs.from_threads == jobs.expected && jobs.from_processes == jobs.expected &&
                               jobs.expected.front() == pyconc::programs::cpu_job_expected(settings.n);
    const bool locked_exact = counts[1] == static_cast<long>(value_runs.processes) * settings.increments;
    lesson.figure("cores", cores);
    lesson.figure("sequential_seconds", jobs.sequential.wall);
    lesson.figure("threads_seconds", jobs.threads.wall);
    lesson.figure("processes_seconds", jobs.processes.wall);
    lesson.figure("cores_busy", std::vector<double>{pyconc::lesson::cores_busy(jobs.sequential),
                                                    pyconc::lesson::cores_busy(jobs.threads),
                                                    pyconc::lesson::cores_busy(jobs.processes)});
    lesson.figure("parent_touched", touched);
    lesson.figure("value_counts", counts);
    lesson.figure("value_processes", value_runs.processes);
    lesson.figure("value_unlocked_children_overlapped", value_runs.unlocked_overlapped);
    lesson.figure("start_method", mp::start_method_name(mp::get_start_method()));
    pyconc::lesson::JsonObject children_saw;
    for (const auto& [method, value] : seen) children_saw.set(mp::start_method_name(method), value);
    lesson.figure("children_saw_setting", children_saw);
    if (results_equal && touched == 0 && locked_exact && as_cpython(seen)) {
        return lesson.finish(
            "consistent",
            "every way gave the same results, the parent's global is unchanged, only forked children saw "
            "its setting, and the locked Value is exact");
    }
    return lesson.finish("inconsistent",
                         "the results differ, the parent's global changed, a child saw what its start "
                         "method does not show, or the locked Value lost updates");
} catch (...) {
    return pyconc::lesson::failed(argv[0]);  // one line and exit 3 (lesson/failure.hpp)
}
