// basics/asyncio_example: tasks on one event loop share a counter.
//
// Mirrors ../reference/basics/asyncio_example.py. Each task increments the
// counter, then awaits a sleep. There is no await between the read and the
// write, so no other task can run in between: the counter is exact. The
// loop runs the tasks in FIFO order (A, B, C, then A, B, C again), and
// their sleeps overlap: the whole run takes about one sleep per step, not
// one per task per step.
#include <chrono>
#include <string>
#include <vector>

#include "pyconc/asyncio.hpp"
#include "pyconc/lesson/lesson.hpp"

namespace asyncio = pyconc::asyncio;
using asyncio::Coroutine;
using pyconc::lesson::accepted_range;
using Clock = std::chrono::steady_clock;

namespace {

int counter = 0;
std::vector<std::string> order;  // who incremented, in order

// async def worker(name, times, delay):
//     for i in range(times):
//         counter += 1      # no await between read and write: safe
//         print(...)
//         await asyncio.sleep(delay)
//     return f"{name} done"
Coroutine<std::string> worker(pyconc::lesson::Lesson& lesson, std::string name, int times, double delay) {
    for (int i = 0; i < times; ++i) {
        counter += 1;
        order.push_back(name);
        lesson.say("{}: step {} counter={}", name, i, counter);
        co_await asyncio::sleep(delay);
    }
    co_return name + " done";
}

// async def main(): results = await asyncio.gather(worker("A", ...), worker("B", ...), ...)
Coroutine<double> amain(pyconc::lesson::Lesson& lesson, int tasks, int steps, double delay) {
    const auto started = Clock::now();
    std::vector<Coroutine<std::string>> workers;
    workers.reserve(static_cast<std::size_t>(tasks));
    for (int i = 0; i < tasks; ++i)
        workers.push_back(worker(lesson, std::string(1, char('A' + i)), steps, delay));
    const std::vector<std::string> results = co_await asyncio::gather(std::move(workers));
    const double elapsed = std::chrono::duration<double>(Clock::now() - started).count();
    std::string listed;
    for (const auto& result : results) listed += (listed.empty() ? "'" : ", '") + result + "'";
    lesson.say("[{}]", listed);
    co_return elapsed;
}

}  // namespace

int main(int argc, char** argv) try {
    pyconc::lesson::Lesson lesson{
        "asyncio_example",
        "Tasks on one event loop share a counter: they run in FIFO order, the counter is exact (no await "
        "between its read and its write), and their sleeps overlap.",
        {"interleaved", "not-interleaved"}};
    int tasks = 3;
    int steps = 3;
    double delay_ms = 100;
    lesson.option("--tasks", tasks, "How many tasks (named A, B, C, ...)", accepted_range(1, 26));
    lesson.option("--steps", steps, "Increments per task", accepted_range(1, 10'000));
    lesson.option("--delay-ms", delay_ms, "Each task's sleep after each increment, in milliseconds",
                  accepted_range(0.0, 10'000.0));
    if (auto exit = lesson.parse(argc, argv)) return *exit;
    // The sleeps of the tasks overlap: about one sleep per step.
    if (auto exit = lesson.check_limits({steps * delay_ms / 1000.0, 0},
                                        fmt::format("--steps {} --delay-ms {}", steps, delay_ms)))
        return *exit;

    lesson.heading("{} tasks x {} steps, sleeping {} ms after each", tasks, steps, delay_ms);
    double elapsed = 0;
    try {
        elapsed = asyncio::run(amain(lesson, tasks, steps, delay_ms / 1000.0));
    } catch (const asyncio::KeyboardInterrupt&) {
        return lesson.interrupted();
    }
    const int expected = tasks * steps;
    const double one_sleep_per_step = steps * delay_ms / 1000.0;
    lesson.say("counter={} expected={} elapsed={:.2f}s (sleeps overlap: ~{:.2f}s, not {:.2f}s)", counter,
               expected, elapsed, one_sleep_per_step, one_sleep_per_step * tasks);
    if (tasks == 3 && steps == 3 && delay_ms == 100) {  // the reference program's sizes
        lesson.note_recorded_cpython([](const pyconc::lesson::Lesson::RecordedRun& cpython) {
            return fmt::format("order {}, counter={} expected=9 elapsed={}s", cpython.get("order"),
                               cpython.get("counter"), cpython.get("figure.elapsed_seconds"));
        });
    }

    // Round-robin: step i is A, B, C, ... in that order.
    bool round_robin = static_cast<int>(order.size()) == expected;
    for (std::size_t i = 0; round_robin && i < order.size(); ++i) {
        round_robin = order[i] == std::string(1, char('A' + static_cast<int>(i) % tasks));
    }
    lesson.figure("order", fmt::format("{}", fmt::join(order, "")));
    lesson.figure("counter", counter);
    lesson.figure("expected", expected);
    lesson.figure("elapsed_seconds", elapsed);
    if (round_robin && counter == expected) {
        return lesson.finish("interleaved",
                             "every step ran the tasks in FIFO order and the counter is exact");
    }
    return lesson.finish("not-interleaved", "the tasks did not take turns in order");
} catch (...) {
    return pyconc::lesson::failed(argv[0]);  // one line and exit 3 (lesson/failure.hpp)
}
