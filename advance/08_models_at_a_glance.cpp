// advance/08_models_at_a_glance: the hand-out's table, measured.
//
// There is no reference program: this lesson regenerates the hand-out's
// "Concurrency Models at a Glance" from the workloads of the others. An
// I/O-bound workload (many short blocking waits) and a CPU-bound one
// (cpu_job, model instructions) run sequentially, with asyncio, in a thread
// pool, in a process pool and in an interpreter pool (3.14's fourth model);
// the cost of one switch is measured for each model (an await, an OS thread
// handoff, a process round trip, a swap into another interpreter), and whether a change made by the worker is
// seen by the caller (the memory space). The table then prints each claim beside what was measured.
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <string>
#include <thread>
#include <vector>

#include "programs/workloads.hpp"
#include "pyconc/asyncio.hpp"
#include "pyconc/concurrent/futures/interpreter_pool.hpp"
#include "pyconc/concurrent/futures/process_pool.hpp"
#include "pyconc/concurrent/futures/thread_pool.hpp"
#include "pyconc/concurrent/interpreters/interpreter.hpp"
#include "pyconc/concurrent/interpreters/queue.hpp"
#include "pyconc/lesson/lesson.hpp"
#include "pyconc/lesson/measure.hpp"
#include "pyconc/multiprocessing/connection.hpp"
#include "pyconc/multiprocessing/process.hpp"
#include "pyconc/multiprocessing/spawn.hpp"
#include "pyconc/runtime/interpreter.hpp"
#include "pyconc/runtime/thread_lock.hpp"
#include "pyconc/runtime/thread_state.hpp"

namespace asyncio = pyconc::asyncio;
namespace mp = pyconc::multiprocessing;
using asyncio::Coroutine;
using pyconc::concurrent::futures::InterpreterPoolExecutor;
using pyconc::concurrent::futures::ProcessPoolExecutor;
using pyconc::concurrent::futures::ThreadPoolExecutor;
using pyconc::lesson::accepted_range;
using pyconc::lesson::Align;
using pyconc::lesson::grouped;
using pyconc::programs::cpu_job;
using pyconc::programs::ready;
using pyconc::programs::seconds_since;
using pyconc::programs::touch;
using pyconc::programs::touched;
using pyconc::runtime::Interpreter;
using pyconc::runtime::ThreadState;
using Clock = std::chrono::steady_clock;

namespace {

// --- the workloads ---------------------------------------------------------------

struct IoWork {
    int requests = 24;
    int waits = 2;         // blocking waits per request
    double wait_ms = 5.0;  // each
};

// def request(i): for _ in range(WAITS): time.sleep(WAIT); return i
// (the sleep releases the GIL)
std::int64_t request(ThreadState& t, std::int64_t i, const IoWork& io) {
    for (int w = 0; w < io.waits; ++w) {
        const ThreadState::AllowThreads blocking{t};
        std::this_thread::sleep_for(std::chrono::duration<double, std::milli>(io.wait_ms));
    }
    return i;
}

// The same in a worker process (a process of its own: its own interpreter).
std::int64_t request_in_this_process(std::int64_t i, int waits, double wait_ms) {
    for (int w = 0; w < waits; ++w)
        std::this_thread::sleep_for(std::chrono::duration<double, std::milli>(wait_ms));
    return i;
}

// async def arequest(i): for _ in range(WAITS): await asyncio.sleep(WAIT); return i
Coroutine<std::int64_t> arequest(std::int64_t i, IoWork io) {
    for (int w = 0; w < io.waits; ++w) co_await asyncio::sleep(io.wait_ms / 1000.0);
    co_return i;
}

// async def run_all(coros): return await asyncio.gather(*coros)
Coroutine<std::vector<std::int64_t>> gather_all(std::vector<Coroutine<std::int64_t>> coroutines) {
    co_return co_await asyncio::gather(std::move(coroutines));
}

// async def cpu_jobs(): return [cpu_job(n) for _ in range(jobs)]   (no await: the loop runs one at a time)
Coroutine<std::int64_t> acpu_job(ThreadState& t, std::int64_t n) {
    co_return cpu_job(t, n);
}

struct Times {
    double sequential = 0;
    double asyncio = 0;
    double threads = 0;
    double processes = 0;
    double interpreters = 0;
    bool results_right = true;
};

// "Parallel?", measured: how many cores each model kept busy on the CPU-bound
// work (CPU seconds, a process pool's workers' included, over wall seconds).
// Under one GIL it is 1 at most; more than that is two jobs running at once.
struct CoresBusy {
    double asyncio = 0;
    double threads = 0;
    double processes = 0;
    double interpreters = 0;
    double others = 0;  // cores other work on the machine kept busy while the processes or interpreters ran

    static constexpr double parallel = 1.3;  // clearly more than one core at once
};

// --- one switch, for each model ------------------------------------------------

constexpr int switches = 20'000;

// Two tasks that take turns: await asyncio.sleep(0), back and forth.
double await_switch_ns(const pyconc::runtime::Profile& python) {
    Interpreter interpreter{python};
    ThreadState main_thread{interpreter, "MainThread"};
    const auto ping = []() -> Coroutine<void> {
        for (int i = 0; i < switches / 2; ++i) co_await asyncio::sleep(0);
    };
    const auto both = [&ping]() -> Coroutine<void> {
        std::vector<Coroutine<void>> two;
        two.push_back(ping());
        two.push_back(ping());
        co_await asyncio::gather(std::move(two));
    };
    const auto started = Clock::now();
    asyncio::run(both(), {.thread = &main_thread, .handle_interrupt = false});
    return seconds_since(started) * 1e9 / switches;
}

// Two OS threads that hand a token back and forth through semaphores (the
// OS locks under threading.Lock: see thread_lock.hpp for why not std's).
double thread_switch_ns() {
    pyconc::runtime::ThreadLock to_other{0};
    pyconc::runtime::ThreadLock to_main{0};
    std::thread other([&] {
        for (int i = 0; i < switches / 2; ++i) {
            to_other.acquire();
            to_main.release();
        }
    });
    const auto started = Clock::now();
    for (int i = 0; i < switches / 2; ++i) {
        to_other.release();
        to_main.acquire();
    }
    const double seconds = seconds_since(started);
    other.join();
    return seconds * 1e9 / switches;
}

// Two processes that hand a message back and forth through a pipe.
double process_switch_ns() {
    auto pipe = mp::Pipe();
    mp::Connection& here = pipe.first;
    mp::Connection& there = pipe.second;
    mp::Process child{[&here, &there] {
        here.close();
        try {
            while (true) there.send(there.recv<std::int64_t>());
        } catch (const mp::EOFError&) {
        }
    }};
    child.start();
    there.close();
    constexpr int round_trips = switches / 10;  // processes are slower: fewer of them
    here.send(std::int64_t{0});
    (void)here.recv<std::int64_t>();  // the child is up
    const auto started = Clock::now();
    for (std::int64_t i = 0; i < round_trips; ++i) {
        here.send(i);
        (void)here.recv<std::int64_t>();
    }
    const double seconds = seconds_since(started);
    here.close();
    child.join();
    return seconds * 1e9 / (2.0 * round_trips);
}

// This thread switching into another interpreter and back, as
// interp.call(f) does (PyThreadState_Swap: its GIL taken, then given back);
// half a round trip. (Two interpreters' threads handing items through
// queues pay 3.14's 10 ms polling instead: 09_subinterpreters shows it.)
double interpreter_switch_ns(const pyconc::runtime::Profile& python) {
    namespace interpreters = pyconc::concurrent::interpreters;
    auto other = interpreters::create(python);
    other->exec([](ThreadState& t) { t.resume(); });  // made its globals and state once
    const auto started = Clock::now();
    for (int i = 0; i < switches / 2; ++i) other->exec([](ThreadState& t) { t.resume(); });
    return seconds_since(started) * 1e9 / switches;
}

std::string duration_text(double ns) {
    if (ns < 1'000) return fmt::format("{:.0f} ns", ns);
    return fmt::format("{:.1f} us", ns / 1'000);
}

// --- the workloads, the same under each model ------------------------------------------

struct Settings {
    IoWork io;
    int jobs = 4;
    std::int64_t n = 1'000'000;
};

// What the lesson measured: the times and cores of each model, whether
// each shares the caller's memory, and what one switch costs.
struct Measured {
    unsigned cores = 1;
    Times io;
    Times cpu;
    CoresBusy busy;
    bool shared_asyncio = false;
    bool shared_threads = false;
    bool shared_processes = true;
    bool shared_interpreters = true;
    double await_ns = 0;
    double thread_ns = 0;
    double process_ns = 0;
    double interpreter_ns = 0;
};

// The inputs and the check of the outputs, shared by every model.
struct Workload {
    explicit Workload(const Settings& settings)
        : request_ids(static_cast<std::size_t>(settings.io.requests)),
          job_ns(static_cast<std::size_t>(settings.jobs), settings.n),
          job_result(pyconc::programs::cpu_job_expected(settings.n)) {
        for (std::size_t i = 0; i < request_ids.size(); ++i) request_ids[i] = static_cast<std::int64_t>(i);
    }
    [[nodiscard]] bool all_jobs_right(const std::vector<std::int64_t>& results) const {
        return std::all_of(results.begin(), results.end(), [&](std::int64_t r) { return r == job_result; });
    }
    std::vector<std::int64_t> request_ids;
    std::vector<std::int64_t> job_ns;
    std::int64_t job_result;
};

// Sequentially, on this thread: the baseline.
void measure_sequential(ThreadState& main_thread, const Settings& settings, const Workload& work,
                        Measured& m) {
    const ThreadState::Attached attached{main_thread};
    auto started = Clock::now();
    for (const std::int64_t id : work.request_ids)
        m.io.results_right &= request(main_thread, id, settings.io) == id;
    m.io.sequential = seconds_since(started);

    (void)cpu_job(main_thread, settings.n);  // a warm-up: the baseline must not be a cold run
    started = Clock::now();
    std::vector<std::int64_t> results;
    results.reserve(work.job_ns.size());
    for (const std::int64_t job_n : work.job_ns) results.push_back(cpu_job(main_thread, job_n));
    m.cpu.sequential = seconds_since(started);
    m.cpu.results_right &= work.all_jobs_right(results);
}

// asyncio: asyncio.run(gather(*coros)) on this thread.
void measure_asyncio(ThreadState& main_thread, const Settings& settings, const Workload& work, Measured& m) {
    const asyncio::RunOptions on_main{.thread = &main_thread, .handle_interrupt = false};
    std::vector<Coroutine<std::int64_t>> requests;
    requests.reserve(work.request_ids.size());
    for (const std::int64_t id : work.request_ids) requests.push_back(arequest(id, settings.io));
    const auto started = Clock::now();
    const auto results = asyncio::run(gather_all(std::move(requests)), on_main);
    m.io.asyncio = seconds_since(started);
    m.io.results_right &= results == work.request_ids;

    std::vector<Coroutine<std::int64_t>> cpu;
    cpu.reserve(work.job_ns.size());
    for (const std::int64_t job_n : work.job_ns) cpu.push_back(acpu_job(main_thread, job_n));
    const pyconc::lesson::Stopwatch stopwatch;
    const auto cpu_results = asyncio::run(gather_all(std::move(cpu)), on_main);
    const pyconc::lesson::Times elapsed = stopwatch.elapsed();
    m.cpu.asyncio = elapsed.wall;
    m.busy.asyncio = pyconc::lesson::cores_busy(elapsed);
    m.cpu.results_right &= work.all_jobs_right(cpu_results);

    // A task's change to a module global, seen by the code that awaited it.
    int seen = 0;
    const auto change = [&seen]() -> Coroutine<void> {
        seen = 1;
        co_return;
    };
    asyncio::run(change(), on_main);
    m.shared_asyncio = seen == 1;
}

// What one pool of model threads measured: ThreadPoolExecutor's workers
// share the caller's interpreter, InterpreterPoolExecutor's each have one.
struct PoolRun {
    double io_seconds = 0;
    double cpu_seconds = 0;
    double cores_busy = 0;
    double others_busy = 0;  // cores other work kept busy meanwhile
    bool worker_global_seen = false;
};

// pool.map(request, ...), pool.map(cpu_job, ...), and a worker setting the global x.
template <class Pool>
PoolRun measure_pool(Interpreter& interpreter, Pool& pool, const Settings& settings, const Workload& work,
                     Measured& m) {
    PoolRun run;
    const auto started = Clock::now();
    const auto from_workers =
        pool.map([&settings](ThreadState& t, std::int64_t id) { return request(t, id, settings.io); },
                 work.request_ids);
    run.io_seconds = seconds_since(started);
    m.io.results_right &= from_workers == work.request_ids;

    const pyconc::lesson::Stopwatch stopwatch;
    m.cpu.results_right &= work.all_jobs_right(
        pool.map([](ThreadState& t, std::int64_t job_n) { return cpu_job(t, job_n); }, work.job_ns));
    const pyconc::lesson::Times elapsed = stopwatch.elapsed();
    run.cpu_seconds = elapsed.wall;
    run.cores_busy = pyconc::lesson::cores_busy(elapsed);
    run.others_busy = pyconc::lesson::others_busy(elapsed);

    // A worker sets the global x (in its interpreter); the caller reads its own.
    interpreter.globals().set("x", pyconc::runtime::Int::from(0));
    pool.submit([](ThreadState& t) {
            t.load_const(1);
            t.store_global("x");
        })
        ->result();
    run.worker_global_seen =
        static_cast<const pyconc::runtime::Int&>(*interpreter.globals().get("x")).value() == 1;
    return run;
}

// threading: ThreadPoolExecutor().map(...)
void measure_threading(Interpreter& interpreter, ThreadPoolExecutor& pool, const Settings& settings,
                       const Workload& work, Measured& m) {
    const PoolRun run = measure_pool(interpreter, pool, settings, work, m);
    m.io.threads = run.io_seconds;
    m.cpu.threads = run.cpu_seconds;
    m.busy.threads = run.cores_busy;
    m.shared_threads = run.worker_global_seen;
}

// subinterpreters: InterpreterPoolExecutor().map(...), a worker in an interpreter of its own
void measure_interpreters(Interpreter& interpreter, InterpreterPoolExecutor& pool, const Settings& settings,
                          const Workload& work, Measured& m) {
    const PoolRun run = measure_pool(interpreter, pool, settings, work, m);
    m.io.interpreters = run.io_seconds;
    m.cpu.interpreters = run.cpu_seconds;
    m.busy.interpreters = run.cores_busy;
    m.busy.others = std::max(m.busy.others, run.others_busy);
    m.shared_interpreters = run.worker_global_seen;
}

// multiprocessing: ProcessPoolExecutor().submit(...) and map(...)
void measure_multiprocessing(ProcessPoolExecutor& pool, const Settings& settings, const Workload& work,
                             Measured& m) {
    std::vector<std::shared_ptr<pyconc::concurrent::futures::Future<std::int64_t>>> futures;
    futures.reserve(work.request_ids.size());
    const auto started = Clock::now();
    for (const std::int64_t id : work.request_ids) {
        futures.push_back(pool.submit<request_in_this_process>(id, settings.io.waits, settings.io.wait_ms));
    }
    for (std::size_t i = 0; i < futures.size(); ++i)
        m.io.results_right &= futures[i]->result() == work.request_ids[i];
    m.io.processes = seconds_since(started);

    const pyconc::lesson::Stopwatch stopwatch{pyconc::lesson::with_children(pool.worker_pids())};
    m.cpu.results_right &=
        work.all_jobs_right(pool.map<pyconc::programs::cpu_job_in_this_process>(work.job_ns));
    const pyconc::lesson::Times elapsed = stopwatch.elapsed();
    m.cpu.processes = elapsed.wall;
    m.busy.processes = pyconc::lesson::cores_busy(elapsed);
    m.busy.others = pyconc::lesson::others_busy(elapsed);

    // Each worker process increments its own `touched`; this one's stays 0.
    (void)pool.map<touch>(std::vector<int>{0, 1, 2, 3});
    m.shared_processes = touched != 0;
}

Measured measure_all_models(pyconc::lesson::Lesson& lesson, const Settings& settings) {
    Measured m;
    m.cores = pyconc::lesson::usable_cores();
    // Measured first, while this process has no threads: it forks.
    m.process_ns = process_switch_ns();
    m.thread_ns = thread_switch_ns();
    m.await_ns = await_switch_ns(lesson.python_with_the_gil());
    m.interpreter_ns = interpreter_switch_ns(lesson.python_with_interpreters());

    const Workload work{settings};
    Interpreter interpreter{lesson.python_with_the_gil()};
    ThreadState main_thread{interpreter, "MainThread"};
    ThreadPoolExecutor thread_pool{interpreter};  // min(32, cpus + 4) workers, as Python's default
    ProcessPoolExecutor process_pool{m.cores};    // cpus workers
    (void)process_pool.map<ready>(std::vector<int>(m.cores, 0));
    (void)thread_pool.map([](ThreadState&, int x) { return x; }, std::vector<int>(8, 0));
    InterpreterPoolExecutor interpreter_pool{lesson.python_with_interpreters()};  // Python's default workers
    (void)interpreter_pool.map([](ThreadState&, int x) { return x; }, std::vector<int>(8, 0));

    measure_sequential(main_thread, settings, work, m);
    measure_asyncio(main_thread, settings, work, m);
    measure_threading(interpreter, thread_pool, settings, work, m);
    measure_multiprocessing(process_pool, settings, work, m);
    measure_interpreters(interpreter, interpreter_pool, settings, work, m);
    return m;
}

// --- what the lesson shows ----------------------------------------------------------------

// CPU-bound work can go no faster than the cores allow; waits that
// overlap can (24 requests waiting at once), so only CPU figures are bounded.
pyconc::lesson::Table times_table(const Times& times, bool cpu_bound, unsigned cores) {
    pyconc::lesson::Table table{
        {"model", Align::left}, {"time", Align::right}, {"vs sequential", Align::right}};
    const auto row = [&](const char* model, double seconds) {
        table.row({model, fmt::format("{:.3f}s", seconds),
                   cpu_bound ? pyconc::lesson::speedup_text(times.sequential, seconds, cores)
                             : fmt::format("{:.2f}x", times.sequential / seconds)});
    };
    row("sequential", times.sequential);
    row("asyncio", times.asyncio);
    row("threading (pool)", times.threads);
    row("multiprocessing (pool)", times.processes);
    row("subinterpreters (pool)", times.interpreters);
    return table;
}

const char* winner(const Times& times) {
    const double best = std::min({times.asyncio, times.threads, times.processes, times.interpreters});
    if (best == times.asyncio) return "asyncio";
    if (best == times.threads) return "threading";
    if (best == times.processes) return "multiprocessing";
    return "subinterpreters";
}

// The processes or the interpreters could not run at once because other work had the cores.
bool machine_was_busy(const Measured& m) {
    return m.cores >= 2 && std::min(m.busy.processes, m.busy.interpreters) < CoresBusy::parallel &&
           m.busy.others >= 0.5;
}

void show_times(pyconc::lesson::Lesson& lesson, const Settings& settings, const Measured& m) {
    lesson.heading("I/O-bound: {} requests of {} blocking waits of {} ms", settings.io.requests,
                   settings.io.waits, settings.io.wait_ms);
    lesson.print(times_table(m.io, false, m.cores));
    lesson.heading("CPU-bound: {} jobs of cpu_job({}), on {} cores", settings.jobs, grouped(settings.n),
                   m.cores);
    lesson.print(times_table(m.cpu, true, m.cores));
}

void show_glance(pyconc::lesson::Lesson& lesson, const Measured& m) {
    const auto parallel = [](double cores_busy) {
        return fmt::format("{} ({:.2f} cores busy)", cores_busy >= CoresBusy::parallel ? "yes" : "no",
                           cores_busy);
    };
    const auto space = [](bool shared, const char* how) {
        return fmt::format("{} ({})", shared ? "shared" : "separate", how);
    };
    lesson.heading("The hand-out's table, measured on this machine");
    pyconc::lesson::Table glance{{"model", Align::left},
                                 {"parallel?", Align::left},
                                 {"memory space", Align::left},
                                 {"context switch", Align::left},
                                 {"best for", Align::left}};
    glance.row({"asyncio", parallel(m.busy.asyncio), space(m.shared_asyncio, "a task's change seen"),
                fmt::format("await: {}", duration_text(m.await_ns)), "high I/O, many connections"});
    glance.row({"threading", parallel(m.busy.threads), space(m.shared_threads, "a worker's global seen"),
                fmt::format("OS thread: {}", duration_text(m.thread_ns)), "mixed I/O, blocking libraries"});
    glance.row({"multiprocessing",
                machine_was_busy(m) ? fmt::format("? (the machine was busy: {:.2f} cores)", m.busy.processes)
                                    : parallel(m.busy.processes),
                space(m.shared_processes, "a child's global not seen"),
                fmt::format("OS process: {}", duration_text(m.process_ns)), "CPU-bound, true parallelism"});
    glance.row({"subinterpreters",
                machine_was_busy(m)
                    ? fmt::format("? (the machine was busy: {:.2f} cores)", m.busy.interpreters)
                    : parallel(m.busy.interpreters),
                space(m.shared_interpreters, "a worker's global not seen"),
                fmt::format("interpreter swap: {}", duration_text(m.interpreter_ns)),
                "CPU-bound in one process, state kept apart (3.14)"});
    lesson.print(glance);
    lesson.note(
        "Measured now, on {} cores: parallel? is how many cores the CPU-bound jobs kept busy (CPU time over "
        "wall time; one GIL allows 1). The switch costs are one await of asyncio.sleep(0) between two "
        "tasks, one handoff between two OS threads, half a round trip through a pipe between two "
        "processes, and this thread swapping into another interpreter (half of interp.call's round trip).",
        m.cores);
    if (machine_was_busy(m)) {
        lesson.note("The machine was busy: other work kept {:.1f} cores busy while the processes ran.",
                    m.busy.others);
    }
    lesson.say("I/O-bound winner: {}. CPU-bound winner: {}.", winner(m.io), winner(m.cpu));
    lesson.say(
        "Rule of thumb: I/O-bound? Start with asyncio; move to threads if blocking libraries are "
        "unavoidable. CPU-bound? Reach for multiprocessing (or native extensions) to escape the GIL; on "
        "3.14, interpreters do it in one process when the work takes and gives copies.");
}

void record_figures(pyconc::lesson::Lesson& lesson, const Measured& m) {
    lesson.figure("cores", m.cores);
    lesson.figure("io_seconds", std::vector<double>{m.io.sequential, m.io.asyncio, m.io.threads,
                                                    m.io.processes, m.io.interpreters});
    lesson.figure("cpu_seconds", std::vector<double>{m.cpu.sequential, m.cpu.asyncio, m.cpu.threads,
                                                     m.cpu.processes, m.cpu.interpreters});
    lesson.figure("cpu_cores_busy",
                  std::vector<double>{m.busy.asyncio, m.busy.threads, m.busy.processes, m.busy.interpreters});
    lesson.figure("switch_ns", std::vector<double>{m.await_ns, m.thread_ns, m.process_ns, m.interpreter_ns});
    lesson.figure("shared_memory", std::vector<bool>{m.shared_asyncio, m.shared_threads, m.shared_processes,
                                                     m.shared_interpreters});
}

int verdict(pyconc::lesson::Lesson& lesson, const Measured& m) {
    const bool io_holds = m.io.asyncio < m.io.sequential && m.io.threads < m.io.sequential;
    const bool one_at_a_time = m.busy.asyncio < CoresBusy::parallel && m.busy.threads < CoresBusy::parallel;
    const bool cpu_holds =
        one_at_a_time &&
        (m.cores < 2 || (m.busy.processes >= CoresBusy::parallel && m.cpu.processes < m.cpu.threads &&
                         m.busy.interpreters >= CoresBusy::parallel && m.cpu.interpreters < m.cpu.threads));
    const bool memory_holds =
        m.shared_asyncio && m.shared_threads && !m.shared_processes && !m.shared_interpreters;
    if (!m.io.results_right || !m.cpu.results_right) {
        return lesson.finish("handout-differs", "a workload gave a wrong result");
    }
    if (!cpu_holds && one_at_a_time && machine_was_busy(m)) {
        return lesson.finish(
            "machine-busy",
            fmt::format("other work kept {:.1f} cores busy, so the processes or the interpreters could not "
                        "run at once; run it again",
                        m.busy.others));
    }
    if (io_holds && cpu_holds && memory_holds) {
        return lesson.finish(
            "handout-holds",
            "asyncio and threads beat sequential on I/O; processes and interpreters beat threads on CPU; "
            "only processes and interpreters have memory of their own");
    }
    return lesson.finish("handout-differs",
                         fmt::format("I/O {}, CPU {}, memory {}", io_holds ? "holds" : "differs",
                                     cpu_holds ? "holds" : "differs", memory_holds ? "holds" : "differs"));
}

}  // namespace

int main(int argc, char** argv) try {
    mp::freeze_support(argc, argv);  // a spawned worker does its work here and exits
    pyconc::lesson::Lesson lesson{
        "08_models_at_a_glance",
        "The hand-out's table of asyncio, threading and multiprocessing, and 3.14's subinterpreters, "
        "measured on this machine: an I/O-bound and a CPU-bound workload under each model, the cost of one "
        "switch, and whether the workers share the caller's memory.",
        {"handout-holds", "handout-differs", "machine-busy"}};
    Settings settings;
    lesson.option("--requests", settings.io.requests, "I/O-bound: requests, each a few short blocking waits",
                  accepted_range(1, 10'000));
    lesson.option("--wait-ms", settings.io.wait_ms, "I/O-bound: the length of one wait, in ms",
                  accepted_range(0.1, 1'000.0));
    lesson.option("--jobs", settings.jobs, "CPU-bound: jobs of cpu_job(n)", accepted_range(1, 64));
    lesson.option("--n", settings.n, "CPU-bound: each job's loop count",
                  accepted_range<std::int64_t>(1, 100'000'000));
    if (auto exit = lesson.parse(argc, argv)) return *exit;
    // Sequentially, then overlapped; the CPU jobs about 4.5 times (sequential, asyncio, threads, processes,
    // interpreters).
    const double waits_seconds = settings.io.requests * settings.io.waits * settings.io.wait_ms / 1000.0;
    const double jobs_seconds =
        settings.jobs * static_cast<double>(settings.n) * pyconc::programs::cpu_job_seconds_per_loop;
    if (auto exit = lesson.check_limits(
            {1.8 * waits_seconds + 4.5 * jobs_seconds, 0},
            fmt::format("--requests {} --wait-ms {} --jobs {} --n {}", settings.io.requests,
                        settings.io.wait_ms, settings.jobs, settings.n)))
        return *exit;

    const Measured measured = measure_all_models(lesson, settings);
    show_times(lesson, settings, measured);
    show_glance(lesson, measured);
    record_figures(lesson, measured);
    return verdict(lesson, measured);
} catch (...) {
    return pyconc::lesson::failed(argv[0]);  // one line and exit 3 (lesson/failure.hpp)
}
