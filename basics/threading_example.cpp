// basics/threading_example: several threads increment one global.
//
// Mirrors ../reference/basics/threading_example.py. `counter += 1` is four
// instructions (LOAD_GLOBAL, LOAD_CONST, BINARY_OP, STORE_GLOBAL). The GIL
// lets one thread run them at a time, but a switch between the load and the
// store loses an update. Where can a switch happen? At check points: after
// every instruction up to CPython 3.9, only at RESUME, JUMP_BACKWARD and
// CALL since 3.10. So the plain loop stopped losing updates in 3.10, a call
// between the read and the write brings the race back, and a Lock makes it
// exact either way. Without the GIL (--python 3.13t, 3.14t) nothing stops
// two threads running the four instructions at once: plain loses updates
// again, and only the Lock keeps the count.
//
// --python picks the version (its check points, or no GIL); --check-points
// both runs 3.9's and 3.10's side by side.
//
// Each run lasts a number of switch intervals (--intervals, default 40)
// rather than CPython's 200,000 increments: the model runs them inside one
// interval, where no thread is ever switched out. A run that CPython loses
// updates in but that got too few switches or too little CPU to show it
// says machine-busy instead of "no race".
//
// --explore runs two threads that each do one `counter += 1` under every
// possible order of their eight instructions (70 orders), through explicit
// schedules, and counts the orders each policy allows and the ones that
// lose the update.
#include <algorithm>
#include <bit>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "programs/workloads.hpp"
#include "pyconc/lesson/lesson.hpp"
#include "pyconc/lesson/measure.hpp"
#include "pyconc/runtime/interpreter.hpp"
#include "pyconc/runtime/schedule.hpp"
#include "pyconc/runtime/thread_state.hpp"
#include "pyconc/runtime/trace.hpp"
#include "pyconc/threading.hpp"

using namespace pyconc::runtime;
using pyconc::lesson::accepted_range;
using pyconc::lesson::accepted_words;
using pyconc::lesson::grouped;
using pyconc::programs::locked;
using pyconc::programs::plain;
using pyconc::programs::with_call;
using pyconc::threading::Thread;

namespace {

struct Settings {
    int threads = 4;
    int iterations = 0;  // 0: each run lasts `intervals` switch intervals instead
    int intervals = 40;  // how long a run lasts, in switch intervals, when iterations is 0
    double switch_interval_ms = 5.0;
    bool free_threaded = false;       // the modelled CPython has no GIL (a "t" build)
    std::uint64_t switch_every = 0;   // 0: not this schedule
    std::uint64_t switch_random = 0;  // 0: not this schedule
    std::uint64_t seed = 1;
    bool trace = false;  // --timeline or --svg

    [[nodiscard]] Schedule schedule() const {
        if (switch_every != 0) return Schedule::every(switch_every);
        if (switch_random != 0) return Schedule::seeded(seed, switch_random);
        return Schedule::timed();
    }
    [[nodiscard]] bool deterministic() const { return switch_every != 0 || switch_random != 0; }
    // Sized in time: each thread runs until the run's budget is spent.
    [[nodiscard]] bool timed_run() const { return iterations == 0; }
    [[nodiscard]] std::chrono::duration<double> budget() const {
        return std::chrono::duration<double>{intervals * switch_interval_ms / 1000.0};
    }
    [[nodiscard]] std::string describe_size() const {
        if (!timed_run()) return fmt::format("{} threads x {} increments", threads, grouped(iterations));
        return fmt::format("{} threads, each run {} switch intervals ({:.0f} ms) long", threads, intervals,
                           budget().count() * 1000.0);
    }
    [[nodiscard]] std::string describe_schedule() const {
        if (free_threaded) return "no GIL: the threads run at once, on the cores they get";
        if (switch_every != 0) {
            return fmt::format("deterministic: a switch at the first check point after {} instructions",
                               switch_every);
        }
        if (switch_random != 0) {
            return fmt::format(
                "deterministic: switches at seeded-random check points, every {} instructions "
                "on average (seed {})",
                switch_random, seed);
        }
        return fmt::format("switch interval {} ms", switch_interval_ms);
    }
};

using Program = pyconc::programs::CounterProgram;

struct Outcome {
    pyconc::programs::CounterRun run;
    std::uint64_t switches = 0;
    Trace::Timeline timeline;  // with --timeline or --svg
};

// def run(target): counter = 0; start THREADS threads; join them
Outcome run(Program target, CheckPoints policy, const Settings& settings) {
    Trace trace;
    Interpreter interpreter{settings.free_threaded ? GilMode::disabled : GilMode::enabled};
    interpreter.set_check_points(policy);
    interpreter.gil().set_switch_interval(
        std::chrono::microseconds{static_cast<std::int64_t>(settings.switch_interval_ms * 1000.0)});
    interpreter.set_schedule(settings.schedule());
    if (settings.trace) interpreter.set_trace(&trace);
    Outcome outcome;
    // The interpreter was made on this thread: its heap is current here.
    outcome.run = pyconc::programs::run_counter(interpreter, target, settings.threads, settings.iterations,
                                                settings.budget());
    outcome.switches = interpreter.switch_number();
    if (settings.trace) outcome.timeline = trace.timeline();
    return outcome;
}

// What CPython does with each program: the plain loop loses updates only
// where every instruction is a check point (3.9 and earlier) or where there
// is no GIL; a call between the read and the write loses them under all;
// the lock never does.
bool cpython_loses(Program program, CheckPoints policy, bool free_threaded) {
    if (program == locked) return false;
    return program == with_call || policy == CheckPoints::py39 || free_threaded;
}

// A timed run that CPython would lose updates in, and the model did not, is
// conclusive only when threads were switched out often enough: each switch
// of the plain py39 loop lands between its load and its store about 3 times
// in 5, so 16 switches that all miss would happen about once in 2 million
// runs. Fewer switches, or less than half a core for GIL-bound threads, and
// the machine took the time the run needed.
constexpr std::uint64_t conclusive_switches = 16;

// Without the GIL there are no switches to count: the threads must have
// had the cores at once, or (on one core) at least the one.
bool starved(const Outcome& outcome, const Settings& settings) {
    const double busy = pyconc::lesson::cores_busy(outcome.run.elapsed);
    if (settings.free_threaded) {
        const double cores = std::min<double>(settings.threads, pyconc::lesson::usable_cores());
        return pyconc::lesson::CpuShare{cores, busy}.starved();
    }
    return outcome.switches < conclusive_switches || pyconc::lesson::CpuShare{1.0, busy}.starved();
}

// --- the schedule explorer ---------------------------------------------------------

// One instruction as it ran, for the step-by-step listing.
struct Step {
    std::size_t thread;
    std::string instruction;
    std::string effect;
};

struct Explored {
    std::size_t orders = 0;    // every order of the two threads' instructions
    std::size_t possible = 0;  // orders the policy's check points allow
    std::size_t losing = 0;    // possible orders that lose the update
    std::vector<Step> first_losing;
};

constexpr std::size_t instructions_per_increment = 4;

// Two threads run `counter += 1` once each, in the order `owners` names
// (owners[i]: the thread that runs instruction i). Returns the steps as
// they ran, and the counter.
std::pair<std::vector<Step>, std::int64_t> run_order(CheckPoints policy,
                                                     const std::vector<std::size_t>& owners) {
    Interpreter interpreter;
    interpreter.set_check_points(policy);
    interpreter.set_schedule(Schedule::explicit_order(owners));
    interpreter.globals().set("counter", Int::from(0));
    std::vector<Step> steps;
    const auto describe = [&](std::size_t thread, ThreadState::Opcode op, const ThreadState& t) {
        const auto top = [&] { return static_cast<const Int&>(*t.top()).value(); };
        switch (op) {
            case ThreadState::Opcode::load_global:
                steps.push_back({thread, "LOAD_GLOBAL counter", fmt::format("reads {}", top())});
                break;
            case ThreadState::Opcode::load_const:
                steps.push_back({thread, "LOAD_CONST 1", ""});
                break;
            case ThreadState::Opcode::binary_add:
                steps.push_back({thread, "BINARY_OP +=", fmt::format("computes {}", top())});
                break;
            default: {
                const auto value = static_cast<const Int&>(*interpreter.globals().get("counter")).value();
                steps.push_back({thread, "STORE_GLOBAL counter", fmt::format("counter = {}", value)});
            }
        }
    };
    std::vector<std::unique_ptr<Thread>> threads;
    for (std::size_t i = 0; i < 2; ++i) {
        threads.push_back(
            std::make_unique<Thread>(interpreter, fmt::format("Thread-{}", i + 1), [&, i](ThreadState& t) {
                t.set_instruction_hook(
                    [&, i](const ThreadState& self, ThreadState::Opcode op) { describe(i, op, self); });
                t.load_global("counter");  // counter += 1
                t.load_const(1);
                t.binary_add();
                t.store_global("counter");
            }));
    }
    for (auto& thread : threads) thread->start();
    for (auto& thread : threads) thread->join();
    return {std::move(steps), static_cast<const Int&>(*interpreter.globals().get("counter")).value()};
}

// Every way to interleave two threads' four instructions: C(8, 4) = 70.
Explored explore(CheckPoints policy) {
    constexpr std::size_t length = 2 * instructions_per_increment;
    Explored explored;
    for (unsigned mask = 0; mask < (1U << length); ++mask) {
        if (std::popcount(mask) != static_cast<int>(instructions_per_increment)) continue;
        std::vector<std::size_t> owners(length);
        for (std::size_t i = 0; i < length; ++i) owners[i] = (mask >> (length - 1 - i)) & 1U;
        ++explored.orders;
        auto [steps, counter] = run_order(policy, owners);
        std::vector<std::size_t> ran;
        for (const Step& step : steps) ran.push_back(step.thread);
        if (ran != owners) continue;  // a switch the policy has no check point for
        ++explored.possible;
        if (counter == 2) continue;
        ++explored.losing;
        if (explored.first_losing.empty()) explored.first_losing = std::move(steps);
    }
    return explored;
}

int run_explorer(pyconc::lesson::Lesson& lesson,
                 const std::vector<std::pair<const char*, CheckPoints>>& policies) {
    lesson.heading("Every order of two threads' instructions for one counter += 1 each");
    lesson.say("Each thread runs LOAD_GLOBAL counter, LOAD_CONST 1, BINARY_OP +=, STORE_GLOBAL counter.");
    pyconc::lesson::Table table{{"check points", pyconc::lesson::Align::left},
                                {"orders", pyconc::lesson::Align::right},
                                {"possible", pyconc::lesson::Align::right},
                                {"lose the update", pyconc::lesson::Align::right}};
    std::size_t total_losing = 0;
    std::vector<Step> example;
    for (const auto& [name, policy] : policies) {
        Explored explored = explore(policy);
        total_losing += explored.losing;
        table.row({name, fmt::format("{}", explored.orders), fmt::format("{}", explored.possible),
                   fmt::format("{} of {}", explored.losing, explored.possible)});
        lesson.figure(fmt::format("{}_possible", name), explored.possible);
        lesson.figure(fmt::format("{}_losing", name), explored.losing);
        if (example.empty()) example = std::move(explored.first_losing);
    }
    lesson.print(table);
    if (policies.front().first == std::string_view{"no GIL"}) {
        lesson.note(
            "Without the GIL the two threads run at once: any order of their instructions can happen.");
    } else {
        lesson.note(
            "py39 can switch after any instruction; py310 only at RESUME, JUMP_BACKWARD and CALL, and");
        lesson.note(
            "`counter += 1` has none of them: only the two orders that run one increment whole can happen.");
    }
    if (!example.empty()) {
        lesson.heading("One order that loses the update, step by step");
        pyconc::lesson::Table steps{{"step", pyconc::lesson::Align::right},
                                    {"thread", pyconc::lesson::Align::left},
                                    {"instruction", pyconc::lesson::Align::left},
                                    {"what it does", pyconc::lesson::Align::left}};
        for (std::size_t i = 0; i < example.size(); ++i) {
            steps.row({fmt::format("{}", i + 1), fmt::format("Thread-{}", example[i].thread + 1),
                       example[i].instruction, example[i].effect});
        }
        lesson.print(steps);
    }
    if (total_losing > 0) {
        return lesson.finish("race", "some orders the check points allow lose the update");
    }
    return lesson.finish("no-race", "no order the check points allow loses the update");
}

// --- the lesson's parts --------------------------------------------------------------------

// What the flags choose beyond the run's size and schedule.
struct Choices {
    std::string variant = "all";
    std::string check_points;  // py39, py310, both; empty: the modelled version's
    bool timeline = false;
    std::string svg;
    bool explore = false;
};

void add_flags(pyconc::lesson::Lesson& lesson, Settings& settings, Choices& choices) {
    lesson.option("--threads", settings.threads, "How many threads increment the counter",
                  accepted_range(1, 64));
    lesson
        .option("--iterations", settings.iterations,
                "Increments per thread (default: none; each run lasts --intervals switch intervals, "
                "as the model is faster than CPython: CPython's 200,000 would end inside one interval)",
                accepted_range(1, 10'000'000))
        .no_default_shown();
    lesson
        .option("--intervals", settings.intervals,
                "How long each run lasts, in switch intervals (when --iterations is not given)",
                accepted_range(1, 1'000))
        .excludes("--iterations");
    lesson.option("--variant", choices.variant, "plain, call, locked or all",
                  accepted_words({"plain", "call", "locked", "all"}));
    lesson
        .option("--check-points", choices.check_points,
                "py39 (every instruction), py310 (RESUME, JUMP_BACKWARD, CALL) or both (default: the "
                "--python version's: py39 for 3.9, py310 from 3.10)",
                accepted_words({"py39", "py310", "both"}))
        .no_default_shown();
    lesson.option("--switch-interval-ms", settings.switch_interval_ms,
                  "sys.setswitchinterval, in milliseconds", accepted_range(0.001, 1000.0));
    lesson
        .option("--switch-every", settings.switch_every,
                "Deterministic scheduling: hand the GIL on at the first check point after K instructions, "
                "K from 1 to 1000000 (default: CPython's timed switching)",
                accepted_range<std::uint64_t>(1, 1'000'000))
        .value_name("K")
        .no_default_shown();
    lesson
        .option("--switch-random", settings.switch_random,
                "Deterministic scheduling: hand the GIL on at seeded-random check points, every K "
                "instructions on average, K from 1 to 1000000 (--seed picks the points)",
                accepted_range<std::uint64_t>(1, 1'000'000))
        .value_name("K")
        .no_default_shown()
        .excludes("--switch-every");
    lesson.flag("--timeline", choices.timeline, "Draw each run's GIL timeline in the terminal");
    lesson.option("--svg", choices.svg, "Write the runs' GIL timelines as an SVG picture to FILE",
                  pyconc::lesson::accepted_output_file());
    lesson
        .flag("--explore", choices.explore,
              "Run every order of two threads' instructions for one increment each, and count the orders "
              "that lose it (two threads, one increment each, every program: sizes do not apply)")
        .excludes("--threads")
        .excludes("--iterations")
        .excludes("--intervals")
        .excludes("--variant");
}

// Refuses a run of hours before it starts (Lesson::check_limits). Timed
// runs last what they say; counted ones are estimated at the uncontended
// rate, with a handoff of about 10 us each time a deterministic schedule
// switches.
std::optional<int> refuse_absurd_sizes(pyconc::lesson::Lesson& lesson, const Settings& settings,
                                       const Choices& choices) {
    const double runs = (choices.check_points == "both" ? 2.0 : 1.0) * (choices.variant == "all" ? 3.0 : 1.0);
    const double increments = static_cast<double>(settings.threads) * settings.iterations;
    const double switches =
        settings.deterministic()
            ? 12.0 * increments / static_cast<double>(std::max(settings.switch_every, settings.switch_random))
            : 0.0;
    const bool timed = settings.timed_run() && !settings.deterministic();
    const double seconds = timed
                               ? runs * settings.budget().count()
                               : runs * (increments * pyconc::programs::increment_seconds + switches * 10e-6);
    const std::string flags_given =
        timed ? fmt::format("--intervals {} --switch-interval-ms {}", settings.intervals,
                            settings.switch_interval_ms)
              : fmt::format("--threads {} --iterations {}", settings.threads, settings.iterations);
    return lesson.check_limits({seconds, 0}, flags_given);
}

// The modelled version's check points, or those --check-points names.
// Without the GIL a thread is never switched out at a check point: it runs
// beside the others, and an increment can be split between any two
// instructions, as py39's can (the explorer's "no GIL" row).
std::vector<std::pair<const char*, CheckPoints>> chosen_check_points(const Choices& choices,
                                                                     const Profile& python) {
    if (python.free_threaded) return {{"no GIL", CheckPoints::py39}};
    const std::string& chosen = !choices.check_points.empty()              ? choices.check_points
                                : python.check_points == CheckPoints::py39 ? "py39"
                                                                           : "py310";
    std::vector<std::pair<const char*, CheckPoints>> policies;
    if (chosen != "py310") policies.emplace_back("py39", CheckPoints::py39);
    if (chosen != "py39") policies.emplace_back("py310", CheckPoints::py310);
    return policies;
}

// What a version without the GIL has no use for: a flag about check points,
// GIL switches or the GIL's timeline. One line and exit 2.
std::optional<int> refuse_gil_flags(pyconc::lesson::Lesson& lesson, const Settings& settings,
                                    const Choices& choices) {
    if (!lesson.python().free_threaded) return std::nullopt;
    const char* flag = !choices.check_points.empty() ? "--check-points"
                       : settings.switch_every != 0  ? "--switch-every"
                       : settings.switch_random != 0 ? "--switch-random"
                       : choices.timeline            ? "--timeline"
                       : !choices.svg.empty()        ? "--svg"
                                                     : nullptr;
    if (flag == nullptr) return std::nullopt;
    return lesson.refuse(flag, fmt::format("it is about the GIL, and --python {} has none; use a version "
                                           "with the GIL (3.12, say)",
                                           lesson.python().version));
}

// One run of one program under one set of check points, and how to read it.
struct Run {
    const char* variant;
    const char* check_points;
    Outcome outcome;
    bool cpython_races;  // what CPython does with this program
    bool busy;           // no update lost where CPython loses some, too starved to show it
    [[nodiscard]] std::int64_t lost() const { return outcome.run.expected - outcome.run.counter; }
};

// for each set of check points: for each program: run(program)
std::vector<Run> run_every_variant(const Settings& settings, const Choices& choices, const Profile& python) {
    struct Variant {
        const char* name;
        Program program;
    };
    std::vector<Variant> variants;
    if (choices.variant == "plain" || choices.variant == "all") variants.push_back({"plain", plain});
    if (choices.variant == "call" || choices.variant == "all") variants.push_back({"with_call", with_call});
    if (choices.variant == "locked" || choices.variant == "all") variants.push_back({"locked", locked});
    std::vector<Run> runs;
    for (const auto& [policy_name, policy] : chosen_check_points(choices, python)) {
        for (const Variant& variant : variants) {
            Run r{variant.name, policy_name, run(variant.program, policy, settings),
                  cpython_loses(variant.program, policy, settings.free_threaded), false};
            r.busy =
                r.lost() == 0 && r.cpython_races && !settings.deterministic() && starved(r.outcome, settings);
            runs.push_back(std::move(r));
        }
    }
    return runs;
}

int busy_runs(const std::vector<Run>& runs) {
    return static_cast<int>(std::count_if(runs.begin(), runs.end(), [](const Run& r) { return r.busy; }));
}
std::int64_t total_lost(const std::vector<Run>& runs) {
    std::int64_t lost = 0;
    for (const Run& r : runs) lost += r.lost();
    return lost;
}

void show_runs(pyconc::lesson::Lesson& lesson, const Settings& settings, const std::vector<Run>& runs) {
    using pyconc::lesson::Align;
    lesson.heading("{}, {}", settings.describe_size(), settings.describe_schedule());
    pyconc::lesson::Table table{
        {"variant", Align::right},  {"check points", Align::left}, {"counter", Align::right},
        {"expected", Align::right}, {"lost", Align::right},        {"lost %", Align::right},
        {"switches", Align::right}, {"verdict", Align::left},      {"CPython", Align::left}};
    for (const Run& r : runs) {
        table.row({r.variant, r.check_points, grouped(r.outcome.run.counter), grouped(r.outcome.run.expected),
                   grouped(r.lost()),
                   fmt::format("{:.1f}%", 100.0 * static_cast<double>(r.lost()) /
                                              static_cast<double>(r.outcome.run.expected)),
                   grouped(r.outcome.switches),
                   r.lost() > 0 ? "RACE"
                   : r.busy     ? "machine busy"
                                : "no race",
                   r.cpython_races ? "RACE" : "no race"});
    }
    lesson.print(table);
    lesson.note_recorded_cpython([](const pyconc::lesson::Lesson::RecordedRun& cpython) {
        const auto share = [&](std::string_view variant) {
            char* end = nullptr;
            const std::string text = cpython.get(fmt::format("figure.{}_lost_share", variant));
            const double value = std::strtod(text.c_str(), &end);
            return end == text.c_str() ? std::string{"?"} : fmt::format("{:.1f}%", 100 * value);
        };
        return fmt::format(
            "4 threads, runs of {} intervals at 5 ms (as this lesson's default), lost {} in plain, {} in "
            "with_call, {} in locked",
            cpython.get("figure.intervals"), share("plain"), share("with_call"), share("locked"));
    });
    if (busy_runs(runs) > 0) {
        lesson.note(
            "machine busy: {} run(s) got fewer than {} switches or less than half a core, too little to "
            "show CPython's race; run it again on a quieter machine, or with more --intervals.",
            busy_runs(runs), conclusive_switches);
    }
}

// --timeline and --svg: each run's GIL timeline.
void show_timelines(pyconc::lesson::Lesson& lesson, const Settings& settings, std::vector<Run>& runs,
                    const Choices& choices) {
    if (!settings.trace) return;
    std::vector<pyconc::lesson::GilTimeline> timelines;
    // Timed switching: about 16 switch intervals, so that each is a few columns wide.
    const double window_ms = settings.deterministic() ? 0 : 16 * settings.switch_interval_ms;
    for (Run& r : runs) {
        timelines.emplace_back(fmt::format("{}, {} check points", r.variant, r.check_points),
                               std::move(r.outcome.timeline), window_ms);
    }
    if (choices.timeline) {
        for (const auto& picture : timelines) {
            lesson.say("");
            lesson.print(picture);
        }
    }
    if (!choices.svg.empty()) {
        lesson.write_file(choices.svg, pyconc::lesson::timelines_svg(timelines), "the GIL timelines");
    }
}

void record_figures(pyconc::lesson::Lesson& lesson, const Settings& settings, const std::vector<Run>& runs) {
    std::vector<pyconc::lesson::JsonObject> rows;
    for (const Run& r : runs) {
        pyconc::lesson::JsonObject figures;
        figures.set("variant", r.variant);
        figures.set("check_points", r.check_points);
        figures.set("counter", r.outcome.run.counter);
        figures.set("expected", r.outcome.run.expected);
        figures.set("lost", r.lost());
        figures.set("switches", r.outcome.switches);
        figures.set("seconds", r.outcome.run.elapsed.wall);
        figures.set("cores_busy", pyconc::lesson::cores_busy(r.outcome.run.elapsed));
        rows.push_back(std::move(figures));
    }
    lesson.figure("threads", settings.threads);
    lesson.figure("iterations", settings.iterations);
    lesson.figure("intervals", settings.timed_run() ? settings.intervals : 0);
    lesson.figure("switch_every", settings.switch_every);
    lesson.figure("runs", rows);
    lesson.figure("lost", total_lost(runs));
}

int verdict(pyconc::lesson::Lesson& lesson, const std::vector<Run>& runs) {
    if (busy_runs(runs) > 0) {
        return lesson.finish(
            "machine-busy",
            fmt::format("{} run(s) too starved of the CPU to show CPython's race", busy_runs(runs)));
    }
    if (total_lost(runs) > 0)
        return lesson.finish("race", fmt::format("{} updates lost", grouped(total_lost(runs))));
    return lesson.finish("no-race", "every increment landed");
}

}  // namespace

int main(int argc, char** argv) try {
    pyconc::lesson::Lesson lesson{
        "threading_example",
        "counter += 1 from several threads under the GIL: plain, with a call between the read and the "
        "write, and with a Lock; check points after every instruction (py39) or only at RESUME, "
        "JUMP_BACKWARD and CALL (py310).",
        {"race", "no-race", "machine-busy"}};
    Settings settings;
    Choices choices;
    add_flags(lesson, settings, choices);
    if (auto exit = lesson.parse(argc, argv)) return *exit;
    settings.seed = lesson.seed();
    settings.trace = choices.timeline || !choices.svg.empty();
    // Deterministic schedules count instructions, not time: a fixed size.
    if (settings.deterministic() && settings.timed_run()) settings.iterations = 200'000;
    settings.free_threaded = lesson.python().free_threaded;
    if (auto exit = refuse_gil_flags(lesson, settings, choices)) return *exit;
    if (auto exit = refuse_absurd_sizes(lesson, settings, choices)) return *exit;
    if (choices.explore) return run_explorer(lesson, chosen_check_points(choices, lesson.python()));

    std::vector<Run> runs = run_every_variant(settings, choices, lesson.python());
    show_runs(lesson, settings, runs);
    show_timelines(lesson, settings, runs, choices);
    record_figures(lesson, settings, runs);
    return verdict(lesson, runs);
} catch (...) {
    return pyconc::lesson::failed(argv[0]);  // one line and exit 3 (lesson/failure.hpp)
}
