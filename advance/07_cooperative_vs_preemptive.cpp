// advance/07_cooperative_vs_preemptive: who decides when a task gives way.
//
// Mirrors ../reference/advance/07_cooperative_vs_preemptive.py. A heartbeat
// ticks every 50 ms beside a CPU-bound hog that runs model instructions for
// 500 ms. (a) On the event loop the hog never awaits: the loop runs one
// step at a time and the hog's step lasts 500 ms, so the heartbeat cannot
// tick at all meanwhile (debug mode reports the slow step). (b) The same
// hog awaiting sleep(0) every 10 ms: the heartbeat gets its turns. (c) The
// hog in a thread: the GIL's switch interval takes the GIL from it every
// 5 ms when the heartbeat thread asks, so the heartbeat keeps its beat
// without the hog's cooperation.
#include <algorithm>
#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "pyconc/asyncio.hpp"
#include "pyconc/lesson/lesson.hpp"
#include "pyconc/runtime/interpreter.hpp"
#include "pyconc/runtime/thread_state.hpp"
#include "pyconc/threading.hpp"

namespace asyncio = pyconc::asyncio;
using asyncio::Coroutine;
using pyconc::lesson::accepted_range;
using pyconc::runtime::ThreadState;
using Clock = std::chrono::steady_clock;
using Seconds = std::chrono::duration<double>;

namespace {

struct Settings {
    double hog_seconds = 0.5;
    double beat_seconds = 0.05;
    double yield_every_seconds = 0.01;
    double switch_interval_ms = 5;
};

// What one case measured, in seconds since the case began.
struct Case {
    std::string name;
    std::vector<double> ticks;
    double hog_from = 0;
    double hog_to = 0;
    double length = 0;

    [[nodiscard]] double max_gap() const {
        double gap = 0;
        for (std::size_t i = 1; i < ticks.size(); ++i) gap = std::max(gap, ticks[i] - ticks[i - 1]);
        return gap;
    }
    [[nodiscard]] int ticks_during_hog() const {
        return static_cast<int>(
            std::count_if(ticks.begin(), ticks.end(), [&](double t) { return t > hog_from && t < hog_to; }));
    }
};

double since(Clock::time_point start) {
    return Seconds(Clock::now() - start).count();
}

// def burn(seconds):
//     end = time.perf_counter() + seconds
//     while time.perf_counter() < end: pass
void burn(ThreadState& t, double seconds) {
    const auto end = Clock::now() + std::chrono::duration_cast<Clock::duration>(Seconds(seconds));
    t.resume();
    while (true) {
        t.call([](ThreadState& f) {  // time.perf_counter(): a call, so a check point
            f.resume();
            f.return_value();
        });
        t.pop_top();
        if (Clock::now() >= end) break;
        t.jump_backward();
    }
}

// --- (a) and (b): the hog is a task on the loop ---------------------------------------

// async def heartbeat(): while elapsed < HOG + 0.3: ticks.append(now); await asyncio.sleep(0.05)
Coroutine<void> heartbeat(Case& result, Clock::time_point start, const Settings& settings) {
    while (since(start) < settings.hog_seconds + 0.3) {
        result.ticks.push_back(since(start));
        co_await asyncio::sleep(settings.beat_seconds);
    }
}

// async def hog(): await asyncio.sleep(0.1); burn(HOG)  (or burn(0.01); await asyncio.sleep(0) until HOG)
Coroutine<void> hog(Case& result, Clock::time_point start, const Settings& settings, bool yields) {
    co_await asyncio::sleep(0.1);
    ThreadState& t = *asyncio::EventLoop::get_running_loop().thread_state();
    result.hog_from = since(start);
    if (!yields) {
        burn(t, settings.hog_seconds);
    } else {
        while (since(start) - result.hog_from < settings.hog_seconds) {
            burn(t, settings.yield_every_seconds);
            co_await asyncio::sleep(0);
        }
    }
    result.hog_to = since(start);
}

Case on_the_loop(pyconc::lesson::Lesson& lesson, const Settings& settings, bool yields) {
    Case result;
    result.name = yields ? fmt::format("hog awaits every {:g} ms", settings.yield_every_seconds * 1000)
                         : "hog never awaits";
    pyconc::runtime::Interpreter interpreter{lesson.python_with_the_gil()};
    ThreadState loop_thread{interpreter, "loop"};
    const auto start = Clock::now();
    // async def coop(): await asyncio.gather(heartbeat(), hog())  (named, for debug mode's report)
    const auto coop = [&]() -> Coroutine<void> {
        auto& loop = asyncio::EventLoop::get_running_loop();
        loop.set_slow_callback_reporter([&](const std::string& what, double seconds) {
            lesson.note("  asyncio debug mode: Executing {} took {:.3f} seconds", what, seconds);
        });
        auto beat = asyncio::create_task(heartbeat(result, start, settings), "heartbeat");
        auto hogging = asyncio::create_task(hog(result, start, settings, yields), "hog");
        co_await beat;
        co_await hogging;
    };
    asyncio::run(coop(), {.debug = true, .thread = &loop_thread});
    result.length = since(start);
    return result;
}

// --- (c): the hog is a thread --------------------------------------------------------

Case in_threads(pyconc::lesson::Lesson& lesson, const Settings& settings) {
    Case result;
    result.name = "hog in a thread";
    pyconc::runtime::Interpreter interpreter{lesson.python_with_the_gil()};
    interpreter.gil().set_switch_interval(
        std::chrono::microseconds{static_cast<std::int64_t>(settings.switch_interval_ms * 1000)});
    const auto start = Clock::now();
    const auto sleep = [](ThreadState& t, double seconds) {  // time.sleep: the GIL is released
        const ThreadState::AllowThreads blocking{t};
        std::this_thread::sleep_for(Seconds(seconds));
    };
    // def heartbeat(): while elapsed < HOG + 0.3: ticks.append(now); time.sleep(0.05)
    pyconc::threading::Thread beat(interpreter, "heartbeat", [&](ThreadState& t) {
        t.resume();
        while (since(start) < settings.hog_seconds + 0.3) {
            result.ticks.push_back(since(start));
            sleep(t, settings.beat_seconds);
            t.jump_backward();
        }
    });
    // def hog(): time.sleep(0.1); burn(HOG)
    pyconc::threading::Thread hogging(interpreter, "hog", [&](ThreadState& t) {
        t.resume();
        sleep(t, 0.1);
        result.hog_from = since(start);
        burn(t, settings.hog_seconds);
        result.hog_to = since(start);
    });
    beat.start();
    hogging.start();
    beat.join();
    hogging.join();
    result.length = since(start);
    return result;
}

// One row per case: ticks (•) over the time the hog ran (▓).
void print_timeline(pyconc::lesson::Lesson& lesson, const std::vector<Case>& cases) {
    constexpr std::size_t columns = 64;
    double length = 0;
    std::size_t name_width = 0;
    for (const Case& c : cases) {
        length = std::max(length, c.length);
        name_width = std::max(name_width, c.name.size());
    }
    lesson.say("{:{}}  0 ms{:>{}}", "", name_width, fmt::format("{:.0f} ms", length * 1000), columns - 4 + 1);
    for (const Case& c : cases) {
        std::string row;
        for (std::size_t column = 0; column < columns; ++column) {
            const double from = length * static_cast<double>(column) / columns;
            const double to = length * static_cast<double>(column + 1) / columns;
            const bool tick =
                std::any_of(c.ticks.begin(), c.ticks.end(), [&](double t) { return t >= from && t < to; });
            const bool hogging = c.hog_from < to && c.hog_to > from;
            row += tick ? "•" : hogging ? "▓" : " ";
        }
        lesson.say("{:{}}  │{}│ max gap {:.0f} ms", c.name, name_width, row, c.max_gap() * 1000);
    }
    lesson.note("{:{}}  • a heartbeat tick   ▓ the hog running", "", name_width);
}

}  // namespace

int main(int argc, char** argv) try {
    pyconc::lesson::Lesson lesson{
        "07_cooperative_vs_preemptive",
        "Cooperative against pre-emptive scheduling: a CPU-bound task that never awaits freezes every other "
        "task on the loop; awaiting sleep(0) now and then lets them run; a CPU-bound thread is pre-empted at "
        "the GIL's switch interval without asking.",
        {"cooperative-freezes", "no-freeze"}};
    Settings settings;
    double hog_ms = 500;
    double beat_ms = 50;
    double yield_every_ms = 10;
    lesson.option("--hog-ms", hog_ms, "How long the hog runs model instructions",
                  accepted_range(50.0, 5000.0));
    lesson.option("--beat-ms", beat_ms, "The heartbeat's period", accepted_range(5.0, 1000.0));
    lesson.option("--yield-every-ms", yield_every_ms, "Case (b): the hog awaits sleep(0) this often",
                  accepted_range(1.0, 1000.0));
    lesson.option("--switch-interval-ms", settings.switch_interval_ms,
                  "Case (c): sys.setswitchinterval, in ms", accepted_range(0.1, 100.0));
    if (auto exit = lesson.parse(argc, argv)) return *exit;
    settings.hog_seconds = hog_ms / 1000;
    settings.beat_seconds = beat_ms / 1000;
    settings.yield_every_seconds = yield_every_ms / 1000;

    std::vector<Case> cases;
    try {
        lesson.heading("A heartbeat every {:g} ms beside a hog that runs {:g} ms of instructions", beat_ms,
                       hog_ms);
        lesson.say("(a) asyncio, the hog never awaits:");
        cases.push_back(on_the_loop(lesson, settings, false));
        lesson.say("(b) asyncio, the hog awaits sleep(0) every {:g} ms:", yield_every_ms);
        cases.push_back(on_the_loop(lesson, settings, true));
    } catch (const asyncio::KeyboardInterrupt&) {
        return lesson.interrupted();
    }
    lesson.say("(c) threads, the hog is pre-empted every {:g} ms:", settings.switch_interval_ms);
    cases.push_back(in_threads(lesson, settings));

    lesson.heading("Heartbeat ticks");
    print_timeline(lesson, cases);
    for (const Case& c : cases) {
        lesson.say("{}: heartbeat max gap {:.0f} ms, {} ticks during the hog", c.name, c.max_gap() * 1000,
                   c.ticks_during_hog());
    }
    if (hog_ms == 500 && beat_ms == 50 && yield_every_ms == 10) {  // the reference program's
        lesson.note_recorded_cpython([](const pyconc::lesson::Lesson::RecordedRun& cpython) {
            return fmt::format(
                "heartbeat max gap: never awaits {} ms; awaits every 10 ms {} ms; thread pre-empted {} ms",
                cpython.get("figure.max_gap_ms_never_awaits"),
                cpython.get("figure.max_gap_ms_awaits_every_10_ms"), cpython.get("figure.max_gap_ms_thread"));
        });
    }

    std::vector<double> gaps;
    std::vector<int> during;
    for (const Case& c : cases) {
        gaps.push_back(c.max_gap() * 1000);
        during.push_back(c.ticks_during_hog());
    }
    lesson.figure("max_gap_ms", gaps);
    lesson.figure("ticks_during_hog", during);
    if (cases[0].ticks_during_hog() == 0 && cases[2].ticks_during_hog() > 0) {
        return lesson.finish(
            "cooperative-freezes",
            "the hog that never awaited froze the loop (no tick while it ran); the thread was "
            "pre-empted and the heartbeat thread kept ticking");
    }
    return lesson.finish("no-freeze",
                         "the heartbeat ticked during the non-yielding hog, or not beside the thread");
} catch (...) {
    return pyconc::lesson::failed(argv[0]);  // one line and exit 3 (lesson/failure.hpp)
}
