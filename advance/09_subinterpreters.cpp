// advance/09_subinterpreters: the fourth model, interpreters with a GIL each.
//
// Mirrors tests/fidelity/twins/09_subinterpreters.py (CPython 3.14's
// concurrent.interpreters, PEP 734; a GIL per interpreter since 3.12, PEP
// 684). (a) A CPU-bound countdown in 1, 2 and 4 threads of one interpreter
// against 1, 2 and 4 interpreters: the interpreters scale with the cores,
// the threads do not. (b) Isolation: a module global set in one interpreter
// is not in another; what crosses a queue arrives as a copy, cheap or
// pickled, and what pickle cannot take is refused. (c) What each model
// costs to start (a thread, an interpreter, a process by each start
// method) and to ask (a round trip through each kind of pool).
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "programs/workloads.hpp"
#include "pyconc/concurrent/futures/interpreter_pool.hpp"
#include "pyconc/concurrent/futures/process_pool.hpp"
#include "pyconc/concurrent/futures/thread_pool.hpp"
#include "pyconc/concurrent/interpreters/interpreter.hpp"
#include "pyconc/concurrent/interpreters/queue.hpp"
#include "pyconc/lesson/lesson.hpp"
#include "pyconc/lesson/measure.hpp"
#include "pyconc/multiprocessing/process.hpp"
#include "pyconc/multiprocessing/spawn.hpp"
#include "pyconc/multiprocessing/start_method.hpp"
#include "pyconc/runtime/interpreter.hpp"
#include "pyconc/runtime/thread_state.hpp"
#include "pyconc/threading.hpp"

using namespace pyconc::runtime;
namespace interpreters = pyconc::concurrent::interpreters;
namespace mp = pyconc::multiprocessing;
using pyconc::concurrent::futures::InterpreterPoolExecutor;
using pyconc::concurrent::futures::ProcessPoolExecutor;
using pyconc::concurrent::futures::ThreadPoolExecutor;
using pyconc::lesson::accepted_range;
using pyconc::lesson::Align;
using pyconc::lesson::grouped;
using pyconc::programs::countdown;
using pyconc::threading::Thread;
using Clock = std::chrono::steady_clock;

namespace {

// (a) countdown(n) split over k threads of one interpreter ...
double in_threads(const Profile& python, std::int64_t n, int k) {
    Interpreter interpreter{python};
    return pyconc::programs::run_threads(interpreter, k, [n, k](ThreadState& t) { countdown(t, n / k); });
}
// ... and over k interpreters, a thread in each (interp.call_in_thread).
double in_interpreters(const Profile& python, std::int64_t n, int k) {
    std::vector<std::unique_ptr<interpreters::Interpreter>> interps;
    for (int i = 0; i < k; ++i) interps.push_back(interpreters::create(python));
    const auto started = Clock::now();
    std::vector<std::unique_ptr<Thread>> threads;
    for (auto& interp : interps)
        threads.push_back(interp->call_in_thread([n, k](ThreadState& t) { countdown(t, n / k); }));
    for (auto& thread : threads) thread->join();
    return std::chrono::duration<double>(Clock::now() - started).count();
}

struct Scaling {
    std::vector<double> threads_seconds;
    std::vector<double> interpreters_seconds;
};
Scaling threads_against_interpreters(pyconc::lesson::Lesson& lesson, const Profile& python, std::int64_t n,
                                     unsigned cores) {
    lesson.heading(
        "CPU-bound: countdown({}) in threads of one interpreter, and in interpreters, on {} core{}",
        grouped(n), cores, cores == 1 ? "" : "s");
    pyconc::lesson::Table table{{"k", Align::right},
                                {"k threads", Align::right},
                                {"speed-up", Align::right},
                                {"k interpreters", Align::right},
                                {"speed-up", Align::right}};
    Scaling s;
    for (int k : {1, 2, 4}) {
        // The median of 3 runs each: one run's noise can make a speed-up above the cores.
        s.threads_seconds.push_back(
            pyconc::lesson::median_seconds(3, [&] { return in_threads(python, n, k); }));
        s.interpreters_seconds.push_back(
            pyconc::lesson::median_seconds(3, [&] { return in_interpreters(python, n, k); }));
        table.row({fmt::format("{}", k), fmt::format("{:.3f}s", s.threads_seconds.back()),
                   pyconc::lesson::speedup_text(s.threads_seconds.front(), s.threads_seconds.back(), cores),
                   fmt::format("{:.3f}s", s.interpreters_seconds.back()),
                   pyconc::lesson::speedup_text(s.interpreters_seconds.front(), s.interpreters_seconds.back(),
                                                cores)});
    }
    lesson.print(table);
    lesson.note(
        "Threads of one interpreter take turns at its GIL; each interpreter has a GIL of its own (PEP 684), "
        "so k interpreters run at once, up to the cores there are.");
    return s;
}

// (b) Isolation: globals of their own; copies through a queue; a refusal.
struct Isolation {
    bool global_stayed_home = false;
    bool copies_arrived = false;
    bool lock_refused = false;
};
Isolation isolation(pyconc::lesson::Lesson& lesson, const Profile& python, Interpreter& main_interpreter) {
    lesson.heading("Isolation: what one interpreter does, another does not see");
    auto a = interpreters::create(python);
    auto b = interpreters::create(python);
    Isolation result;

    // a.exec('SETTING = 1')
    a->exec([](ThreadState& t) {
        t.load_const(1);
        t.store_global("SETTING");
    });
    const auto has_setting = [](Interpreter& interp) { return interp.globals().get("SETTING") != nullptr; };
    lesson.say("a.exec('SETTING = 1'): SETTING in a: {}; in b: {}; in main: {}", has_setting(a->runtime()),
               has_setting(b->runtime()), has_setting(main_interpreter));
    result.global_stayed_home =
        has_setting(a->runtime()) && !has_setting(b->runtime()) && !has_setting(main_interpreter);

    // queue = interpreters.create_queue(); a puts, main gets.
    auto queue = interpreters::create_queue();
    std::vector<interpreters::Crossing> crossings;
    std::vector<const Object*> sent;
    a->exec([&](ThreadState&) {
        std::vector<Ref<Object>> objects;
        objects.push_back(Int::from(7));
        objects.push_back(Int::from(1'000'000));
        objects.push_back(make<Str>("spam"));
        objects.push_back(make<List>(Int::from(1), Int::from(2), Int::from(3)));
        for (const auto& object : objects) {
            sent.push_back(object.get());
            crossings.push_back(queue->put(object));
        }
    });
    pyconc::lesson::Table table{{"a puts", Align::left},
                                {"crossed as", Align::left},
                                {"main gets", Align::left},
                                {"the same object?", Align::left}};
    const std::vector<std::string> shown{"7", "1000000", "'spam'", "[1, 2, 3]"};
    bool copies_arrived = true;
    for (std::size_t i = 0; i < sent.size(); ++i) {
        const Ref<Object> got = queue->get_nowait();
        const bool same = got.get() == sent[i];
        // Only the small int is shared: it is immortal, one for every interpreter.
        copies_arrived = copies_arrived && (same == (i == 0));
        table.row({shown[i], crossings[i] == interpreters::Crossing::shared ? "a cheap copy" : "a pickle",
                   std::string(got->type_name()),
                   same ? "yes (immortal: shared by every interpreter)" : "no: a new object on main's heap"});
    }
    lesson.print(table);
    result.copies_arrived = copies_arrived;

    // queue.put(threading.Lock())
    try {
        a->exec([&](ThreadState&) { queue->put(make<ProcessLocal>("_thread.lock")); });
    } catch (const interpreters::NotShareableError& error) {
        result.lock_refused = queue->qsize() == 0;
        lesson.say("a: queue.put(threading.Lock()) -> NotShareableError: {}", error.what());
    }
    lesson.note(
        "Nothing is shared but the immortal objects: an object crosses as a copy, a few kinds field by "
        "field, "
        "most through pickle, and what pickle cannot take does not cross.");
    return result;
}

// (c) What starting each costs, and a round trip through each: a thread,
// an interpreter, a process by each start method; then one call through
// each kind of pool (its workers already started).
struct Cost {
    std::string what;
    double us;
    std::string key;  // the twin's figure for CPython's (tests/fidelity/twins/09_subinterpreters.py)
};
template <class Run>
double per_call_us(int repeats, const Run& run) {
    const auto started = Clock::now();
    for (int i = 0; i < repeats; ++i) run();
    return std::chrono::duration<double, std::micro>(Clock::now() - started).count() / repeats;
}

std::vector<Cost> starting_costs(const Profile& python, Interpreter& main_interpreter) {
    std::vector<Cost> costs;
    costs.push_back(
        {"start and join a thread",
         per_call_us(50,
                     [&] {
                         Thread thread{main_interpreter, "Thread", [](ThreadState& t) { t.resume(); }};
                         thread.start();
                         thread.join();
                     }),
         "thread_start_us"});
    costs.push_back({"create and close an interpreter",
                     per_call_us(50,
                                 [&] {
                                     auto interp = interpreters::create(python);
                                     interp->close();
                                 }),
                     "interpreter_start_us"});
    // Processes while this one has no other thread: fork copies only the caller.
    for (const mp::StartMethod method : mp::all_start_methods) {
        const mp::Context context = mp::get_context(method);
        const auto start_one = [&] {
            auto process = mp::Process::call<pyconc::programs::ready>(context, 0);
            process.start();
            process.join();
        };
        start_one();  // a fork server starts at first use: not counted
        costs.push_back({fmt::format("start and join a process ({})", mp::start_method_name(method)),
                         per_call_us(5, start_one),
                         fmt::format("process_{}_start_us", mp::start_method_name(method))});
    }
    return costs;
}

std::vector<Cost> round_trip_costs(const Profile& python, Interpreter& main_interpreter) {
    std::vector<Cost> costs;
    auto interp = interpreters::create(python);
    costs.push_back({"interp.call(f) returning 42",
                     per_call_us(50,
                                 [&] {
                                     const interpreters::XiData answer = interp->call(
                                         [](ThreadState&) -> Ref<Object> { return Int::from(42); });
                                     (void)answer.make();
                                 }),
                     "interp_call_us"});
    const auto pool_round_trip = [](auto& pool) {
        (void)pool.submit([](ThreadState&) { return 0; })->result();  // the worker started
        return per_call_us(50, [&] { (void)pool.submit([](ThreadState&) { return 42; })->result(); });
    };
    ThreadPoolExecutor threads{main_interpreter, 1};
    costs.push_back({"ThreadPoolExecutor: submit(f).result()", pool_round_trip(threads), "thread_pool_us"});
    InterpreterPoolExecutor interps{python, 1};
    costs.push_back(
        {"InterpreterPoolExecutor: submit(f).result()", pool_round_trip(interps), "interpreter_pool_us"});
    ProcessPoolExecutor processes{1};
    (void)processes.submit<pyconc::programs::ready>(0)->result();  // the worker started
    costs.push_back({"ProcessPoolExecutor: submit(f).result()",
                     per_call_us(50, [&] { (void)processes.submit<pyconc::programs::ready>(42)->result(); }),
                     "process_pool_us"});
    return costs;
}

// Two interpreters' threads handing an int back and forth through two
// queues: each get() that finds its queue empty sleeps 10 ms and looks again
// (3.14's polling), so one handoff costs about that. Half a round trip.
double queue_handoff_us(const Profile& python) {
    auto here = interpreters::create(python);
    auto there = interpreters::create(python);
    auto to_there = interpreters::create_queue();
    auto to_here = interpreters::create_queue();
    constexpr int round_trips = 5;
    auto echo = there->call_in_thread([&](ThreadState& t) {
        for (int i = 0; i < round_trips; ++i) to_here->put(to_there->get(t));
    });
    double seconds = 0;
    auto ping = here->call_in_thread([&](ThreadState& t) {
        const auto started = Clock::now();
        for (int i = 0; i < round_trips; ++i) {
            to_there->put(Int::from(1000 + i));
            (void)to_here->get(t);
        }
        seconds = std::chrono::duration<double>(Clock::now() - started).count();
    });
    ping->join();
    echo->join();
    return seconds * 1e6 / (2.0 * round_trips);
}

std::vector<double> costs(pyconc::lesson::Lesson& lesson, const Profile& python,
                          Interpreter& main_interpreter) {
    lesson.heading("What it costs: starting one, and a round trip through a pool");
    std::vector<Cost> all = starting_costs(python, main_interpreter);
    for (Cost& cost : round_trip_costs(python, main_interpreter)) all.push_back(std::move(cost));
    all.push_back(
        {"a handoff through queues between two interpreters' threads", queue_handoff_us(python), ""});
    // CPython's figures, from the same steps (the twin's), where recorded.
    const auto cpython = lesson.recorded_cpython(python.version);
    const auto duration = [](double us) {
        return us < 1000 ? fmt::format("{:.1f} us", us) : fmt::format("{:.2f} ms", us / 1000);
    };
    std::vector<pyconc::lesson::Table::Column> columns{{"", Align::left}, {"model", Align::right}};
    if (cpython) columns.push_back({fmt::format("CPython {}", cpython->get("cpython")), Align::right});
    pyconc::lesson::Table table{std::move(columns)};
    std::vector<double> us;
    for (const Cost& cost : all) {
        std::vector<std::string> cells{cost.what, duration(cost.us)};
        if (cpython) {
            const std::string recorded = cost.key.empty() ? "?" : cpython->get("figure." + cost.key);
            char* end = nullptr;
            const double recorded_us = std::strtod(recorded.c_str(), &end);
            cells.push_back(end == recorded.c_str() ? "-" : duration(recorded_us));
        }
        table.row(cells);
        us.push_back(cost.us);
    }
    lesson.print(table);
    if (cpython) {
        lesson.note("CPython's column: recorded {} ({}), the same steps and repeats (./workshop reference).",
                    cpython->get("recorded"), cpython->get("machine"));
    } else {
        lesson.note(
            "No CPython {} run recorded here to set beside these (./workshop reference {} records one).",
            python.version, python.version);
    }
    lesson.note(
        "A new interpreter makes on its own heap what a fresh CPython 3.14 one holds ({} modules, {} "
        "containers, {} blocks in all, counted in one here) but runs none of their code: it starts faster "
        "than CPython's, in the same order, after a thread and a forked process. A pool's result comes "
        "back directly; a thread waiting on a "
        "cross-interpreter queue looks every 10 ms (3.14's Queue.get polls: "
        "Lib/concurrent/interpreters/_queues.py), so queues suit batches, not ping-pong.",
        interpreters::Interpreter::fresh_modules.size(), grouped(interpreters::Interpreter::fresh_containers),
        grouped(interpreters::Interpreter::fresh_blocks));
    return us;
}

}  // namespace

int main(int argc, char** argv) try {
    mp::freeze_support(argc, argv);  // a spawned child does its work here and exits
    pyconc::lesson::Lesson lesson{
        "09_subinterpreters",
        "The fourth model: interpreters in one process, each with its own GIL, heap and globals (PEP 684, "
        "PEP 734): CPU-bound work scales with the cores as with processes, objects cross only as copies. "
        "Under --python 3.9 "
        "to 3.13 it models 3.14, the first with concurrent.interpreters, and says so.",
        {"isolated", "not-isolated"}};
    std::int64_t n = 0;  // 0: sized to about 0.2 s in one thread
    lesson
        .option("--n", n,
                "The countdown's start, split evenly over the threads or interpreters (default: what one "
                "thread counts down in about 0.2 s here, measured at start)",
                accepted_range<std::int64_t>(1, 1'000'000'000))
        .no_default_shown();
    if (auto exit = lesson.parse(argc, argv)) return *exit;
    const double countdowns =
        3.0 * 2.0 * 3.0 * static_cast<double>(n) * pyconc::programs::countdown_seconds_per_loop;
    if (auto exit = lesson.check_limits({countdowns + 1.0, 0}, fmt::format("--n {}", n))) return *exit;

    const Profile python = lesson.python_with_interpreters();
    Interpreter main_interpreter{python};
    const unsigned cores = pyconc::lesson::usable_cores();
    if (n == 0)
        n = pyconc::lesson::size_for(0.2, [&python](std::int64_t k) { return in_threads(python, k, 1); });

    const Scaling scaling = threads_against_interpreters(lesson, python, n, cores);
    const Isolation isolated = isolation(lesson, python, main_interpreter);
    const std::vector<double> costs_us = costs(lesson, python, main_interpreter);

    lesson.figure("n", n);
    lesson.figure("cores", cores);
    lesson.figure("threads_seconds", scaling.threads_seconds);
    lesson.figure("interpreters_seconds", scaling.interpreters_seconds);
    lesson.figure("global_stayed_home", isolated.global_stayed_home);
    lesson.figure("copies_arrived", isolated.copies_arrived);
    lesson.figure("lock_refused", isolated.lock_refused);
    lesson.figure("costs_us", costs_us);
    if (isolated.global_stayed_home && isolated.copies_arrived && isolated.lock_refused) {
        return lesson.finish(
            "isolated",
            "a global set in one interpreter stayed there, what crossed the queue arrived as a "
            "copy (the immortal small int excepted), and the lock was refused");
    }
    return lesson.finish("not-isolated", "something crossed between interpreters that should not have");
} catch (...) {
    return pyconc::lesson::failed(argv[0]);  // one line and exit 3 (lesson/failure.hpp)
}
