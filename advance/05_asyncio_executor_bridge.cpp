// advance/05_asyncio_executor_bridge: async code and pools together.
//
// Mirrors ../reference/advance/05_asyncio_executor_bridge.py. A heartbeat
// task ticks every 20 ms while the loop waits on work it handed to pools:
// blocking calls go to a thread pool (they release the GIL while they
// block, so eight of them take one call's time), CPU-bound jobs to a process
// pool (a GIL each). CPU-bound jobs in the thread pool hold the GIL, which
// the loop's own thread needs to run the heartbeat: its gaps widen. And one
// blocking call made on the loop itself freezes everything for its length.
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <functional>
#include <numeric>
#include <string>
#include <thread>
#include <vector>

#include "programs/workloads.hpp"
#include "pyconc/asyncio.hpp"
#include "pyconc/concurrent/futures/process_pool.hpp"
#include "pyconc/concurrent/futures/thread_pool.hpp"
#include "pyconc/lesson/lesson.hpp"
#include "pyconc/multiprocessing/spawn.hpp"
#include "pyconc/runtime/interpreter.hpp"
#include "pyconc/runtime/thread_state.hpp"

namespace asyncio = pyconc::asyncio;
using asyncio::Coroutine;
using pyconc::concurrent::futures::ProcessPoolExecutor;
using pyconc::concurrent::futures::ThreadPoolExecutor;
using pyconc::lesson::accepted_range;
using pyconc::runtime::ThreadState;
using Clock = std::chrono::steady_clock;

namespace {

// def blocking_io(i): time.sleep(0.2); return i     (the sleep releases the GIL)
std::int64_t blocking_io(ThreadState& t, std::int64_t i, double milliseconds) {
    const ThreadState::AllowThreads blocking{t};
    std::this_thread::sleep_for(std::chrono::duration<double, std::milli>(milliseconds));
    return i;
}

struct Row {
    std::string label;
    double seconds;
    double max_gap_ms;
    bool results_right;
};

// async def heartbeat(stop, gaps): while not stop.is_set(): await asyncio.sleep(0.02); gaps.append(...)
Coroutine<void> heartbeat(asyncio::Event& stop, std::vector<double>& gaps,
                          std::vector<Clock::time_point>& ticks) {
    auto last = Clock::now();
    while (!stop.is_set()) {
        co_await asyncio::sleep(0.02);
        const auto now = Clock::now();
        gaps.push_back(std::chrono::duration<double, std::milli>(now - last).count());
        ticks.push_back(now);
        last = now;
    }
}

// async def measure(label, executor, fn, args):
//     heartbeat running; await asyncio.gather(*(loop.run_in_executor(executor, fn, a) for a in args))
Coroutine<Row> measure(std::string label, std::vector<Coroutine<std::int64_t>> calls,
                       std::int64_t expected_sum) {
    asyncio::Event stop;
    std::vector<double> gaps;
    std::vector<Clock::time_point> ticks;
    auto beat = asyncio::create_task(heartbeat(stop, gaps, ticks));
    const auto started = Clock::now();
    const std::vector<std::int64_t> results = co_await asyncio::gather(std::move(calls));
    const double seconds = std::chrono::duration<double>(Clock::now() - started).count();
    stop.set();
    co_await beat;
    const double max_gap = gaps.empty() ? 0 : *std::max_element(gaps.begin(), gaps.end());
    co_return Row{std::move(label), seconds, max_gap,
                  std::accumulate(results.begin(), results.end(), std::int64_t{0}) == expected_sum};
}

struct Outcome {
    std::vector<Row> rows;
    double frozen_ms = 0;
    int ticks_while_frozen = 0;
};

Coroutine<Outcome> amain(ThreadPoolExecutor& threads, ProcessPoolExecutor& processes, std::int64_t n,
                         int jobs, double blocking_ms) {
    Outcome outcome;
    const std::int64_t job_result = pyconc::programs::cpu_job_expected(n);

    std::vector<Coroutine<std::int64_t>> blocking;
    for (std::int64_t i = 0; i < 8; ++i) {
        blocking.push_back(asyncio::run_in_executor(
            threads, [i, blocking_ms](ThreadState& t) { return blocking_io(t, i, blocking_ms); }));
    }
    outcome.rows.push_back(co_await measure("8 blocking calls, threads", std::move(blocking), 28));

    std::vector<Coroutine<std::int64_t>> cpu_in_threads;
    cpu_in_threads.reserve(static_cast<std::size_t>(jobs));
    for (int i = 0; i < jobs; ++i) {
        cpu_in_threads.push_back(asyncio::run_in_executor(
            threads, [n](ThreadState& t) { return pyconc::programs::cpu_job(t, n); }));
    }
    outcome.rows.push_back(co_await measure(fmt::format("{} CPU jobs, threads", jobs),
                                            std::move(cpu_in_threads), job_result * jobs));

    std::vector<Coroutine<std::int64_t>> cpu_in_processes;
    cpu_in_processes.reserve(static_cast<std::size_t>(jobs));
    for (int i = 0; i < jobs; ++i) {
        cpu_in_processes.push_back(
            asyncio::run_in_executor<pyconc::programs::cpu_job_in_this_process>(processes, n));
    }
    outcome.rows.push_back(co_await measure(fmt::format("{} CPU jobs, processes", jobs),
                                            std::move(cpu_in_processes), job_result * jobs));

    // t0 = time.perf_counter(); blocking_io(0)   # called on the loop: nothing else runs
    asyncio::Event stop;
    std::vector<double> gaps;
    std::vector<Clock::time_point> ticks;
    auto beat = asyncio::create_task(heartbeat(stop, gaps, ticks));
    co_await asyncio::sleep(0.05);  // the heartbeat is ticking
    const auto froze = Clock::now();
    (void)blocking_io(*asyncio::EventLoop::get_running_loop().thread_state(), 0, blocking_ms);
    const auto thawed = Clock::now();
    outcome.frozen_ms = std::chrono::duration<double, std::milli>(thawed - froze).count();
    outcome.ticks_while_frozen = static_cast<int>(std::count_if(
        ticks.begin(), ticks.end(), [&](Clock::time_point t) { return t > froze && t < thawed; }));
    co_await asyncio::sleep(0.05);
    stop.set();
    co_await beat;
    co_return outcome;
}

}  // namespace

int main(int argc, char** argv) try {
    pyconc::multiprocessing::freeze_support(argc, argv);  // a spawned worker does its work here and exits
    pyconc::lesson::Lesson lesson{"05_asyncio_executor_bridge",
                                  "Async code with pools: blocking calls in a thread pool and CPU-bound jobs "
                                  "in a process pool keep the "
                                  "event loop responsive; CPU-bound jobs in threads hold the GIL the loop "
                                  "needs; a blocking call on the "
                                  "loop itself freezes it.",
                                  {"blocking-call-freezes", "no-freeze"}};
    std::int64_t n = 1'000'000;
    int jobs = 4;
    double blocking_ms = 200;
    lesson.option("--n", n, "Each CPU job's loop count (cpu_job(n))",
                  accepted_range<std::int64_t>(1, 100'000'000));
    lesson.option("--jobs", jobs, "How many CPU jobs", accepted_range(1, 64));
    lesson.option("--blocking-ms", blocking_ms, "How long each blocking call blocks",
                  accepted_range(1.0, 10'000.0));
    if (auto exit = lesson.parse(argc, argv)) return *exit;
    // The jobs in threads (no faster than one after another) and in processes; three rounds of blocking
    // calls.
    if (auto exit = lesson.check_limits(
            {2.0 * jobs * static_cast<double>(n) * pyconc::programs::cpu_job_seconds_per_loop +
                 3 * blocking_ms / 1000.0,
             0},
            fmt::format("--jobs {} --n {} --blocking-ms {}", jobs, n, blocking_ms)))
        return *exit;

    pyconc::runtime::Interpreter interpreter{lesson.python_with_the_gil()};
    ThreadState main_thread{interpreter, "MainThread"};
    Outcome outcome;
    try {
        // with ThreadPoolExecutor(8) as threads, ProcessPoolExecutor(2) as procs:
        ThreadPoolExecutor threads{interpreter, 8};
        ProcessPoolExecutor processes{2};
        outcome = asyncio::run(amain(threads, processes, n, jobs, blocking_ms), {.thread = &main_thread});
    } catch (const asyncio::KeyboardInterrupt&) {
        return lesson.interrupted();
    }

    lesson.heading("A heartbeat every 20 ms while the pools work");
    pyconc::lesson::Table table{{"", pyconc::lesson::Align::left},
                                {"elapsed", pyconc::lesson::Align::right},
                                {"heartbeat max gap", pyconc::lesson::Align::right},
                                {"results", pyconc::lesson::Align::left}};
    bool results_right = true;
    for (const Row& row : outcome.rows) {
        table.row({row.label, fmt::format("{:.3f}s", row.seconds), fmt::format("{:.0f} ms", row.max_gap_ms),
                   row.results_right ? "right" : "WRONG"});
        results_right = results_right && row.results_right;
    }
    lesson.print(table);
    lesson.say("1 blocking call on the loop froze it for {:.0f} ms: {} heartbeat ticks meanwhile",
               outcome.frozen_ms, outcome.ticks_while_frozen);
    lesson.note_recorded_cpython([](const pyconc::lesson::Lesson::RecordedRun& cpython) {
        return fmt::format(
            "elapsed / heartbeat max gap, CPU jobs of cpu_bound(500,000): 8 blocking calls, threads {}s / {} "
            "ms; "
            "4 CPU jobs, threads {}s / {} ms; processes {}s / {} ms; froze it for {} ms",
            cpython.get("figure.blocking_threads_s"), cpython.get("figure.blocking_threads_max_gap_ms"),
            cpython.get("figure.cpu_threads_s"), cpython.get("figure.cpu_threads_max_gap_ms"),
            cpython.get("figure.cpu_processes_s"), cpython.get("figure.cpu_processes_max_gap_ms"),
            cpython.get("figure.frozen_ms"));
    });

    std::vector<double> gaps;
    for (const Row& row : outcome.rows) gaps.push_back(row.max_gap_ms);
    lesson.figure("max_gap_ms", gaps);
    lesson.figure("frozen_ms", outcome.frozen_ms);
    lesson.figure("ticks_while_frozen", outcome.ticks_while_frozen);
    if (!results_right) return lesson.finish("no-freeze", "a pool gave a wrong result");
    if (outcome.ticks_while_frozen == 0) {
        return lesson.finish("blocking-call-freezes",
                             "the pools kept the loop free; the one blocking call on the loop stopped the "
                             "heartbeat for its whole length");
    }
    return lesson.finish("no-freeze", "the heartbeat ticked during a blocking call on the loop");
} catch (...) {
    return pyconc::lesson::failed(argv[0]);  // one line and exit 3 (lesson/failure.hpp)
}
