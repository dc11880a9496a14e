// advance/01_asyncio_race_condition: a race without threads.
//
// Mirrors ../reference/advance/01_asyncio_race_condition.py. Each task
// reads the counter, awaits (sleep(0): the loop runs every other task), and
// writes back what it read plus one. All the tasks read the same value
// before any of them writes, so each round of TASKS increments adds 1: the
// loss is exact and the same on every run, because the loop's FIFO order is
// deterministic. An asyncio.Lock around the read-await-write makes it exact.
#include <string>
#include <vector>

#include "pyconc/asyncio.hpp"
#include "pyconc/lesson/lesson.hpp"

namespace asyncio = pyconc::asyncio;
using asyncio::Coroutine;
using pyconc::lesson::accepted_range;

namespace {

// What the first few reads and writes were, to show that every task reads
// before any writes.
struct Trace {
    std::size_t limit;
    std::vector<std::string> lines;
    void add(std::string line) {
        if (lines.size() < limit) lines.push_back(std::move(line));
    }
};

struct Shared {
    int counter = 0;
    asyncio::Lock lock;
    Trace trace;
};

// async def unsafe():
//     for _ in range(N):
//         value = counter
//         await asyncio.sleep(0)     # suspension point inside read-modify-write
//         counter = value + 1
Coroutine<void> unsafe(Shared& shared, int iterations, int id) {
    for (int i = 0; i < iterations; ++i) {
        const int value = shared.counter;
        shared.trace.add(fmt::format("task {} reads  counter = {}", id, value));
        co_await asyncio::sleep(0);
        shared.counter = value + 1;
        shared.trace.add(fmt::format("task {} writes counter = {}", id, value + 1));
    }
}

// async def safe():
//     for _ in range(N):
//         async with lock:
//             value = counter; await asyncio.sleep(0); counter = value + 1
Coroutine<void> safe(Shared& shared, int iterations, int id) {
    for (int i = 0; i < iterations; ++i) {
        const auto held = co_await shared.lock.hold();
        const int value = shared.counter;
        shared.trace.add(fmt::format("task {} reads  counter = {}", id, value));
        co_await asyncio::sleep(0);
        shared.counter = value + 1;
        shared.trace.add(fmt::format("task {} writes counter = {}", id, value + 1));
    }
}

// async def run(use_lock): await asyncio.gather(*(task() for _ in range(TASKS))); return counter
Coroutine<int> run(Shared& shared, bool use_lock, int tasks, int iterations) {
    std::vector<Coroutine<void>> workers;
    for (int id = 1; id <= tasks; ++id) {
        workers.push_back(use_lock ? safe(shared, iterations, id) : unsafe(shared, iterations, id));
    }
    co_await asyncio::gather(std::move(workers));
    co_return shared.counter;
}

}  // namespace

int main(int argc, char** argv) try {
    pyconc::lesson::Lesson lesson{
        "01_asyncio_race_condition",
        "A race without threads: an await between the read and the write of a counter lets every other task "
        "read the same stale value. The loss is exact and repeatable; an asyncio.Lock removes it.",
        {"race", "no-race"}};
    int tasks = 5;
    int iterations = 1000;
    bool lock_only = false;
    lesson.option("--tasks", tasks, "How many tasks increment the counter", accepted_range(1, 1000));
    lesson.option("--iterations", iterations, "Increments per task", accepted_range(1, 1'000'000));
    lesson.flag("--lock", lock_only, "Only the run with an asyncio.Lock around the read-await-write");
    if (auto exit = lesson.parse(argc, argv)) return *exit;
    // Two runs, each increment an await or two: a few hundred ns of loop.
    if (auto exit = lesson.check_limits({2 * 300e-9 * tasks * static_cast<double>(iterations), 0},
                                        fmt::format("--tasks {} --iterations {}", tasks, iterations)))
        return *exit;

    const int expected = tasks * iterations;
    int total_lost = 0;
    std::vector<int> counters;
    try {
        for (const bool use_lock : {false, true}) {
            if (lock_only && !use_lock) continue;
            Shared shared;
            shared.trace.limit = static_cast<std::size_t>(2 * tasks < 12 ? 2 * tasks : 12);
            const int counter = asyncio::run(run(shared, use_lock, tasks, iterations));
            const int lost = expected - counter;
            total_lost += lost;
            counters.push_back(counter);
            lesson.heading("lock={}: the first steps", use_lock ? "True" : "False");
            for (const auto& line : shared.trace.lines) lesson.say("  {}", line);
            lesson.say("lock={}: counter={} expected={} lost={}", use_lock ? "True" : "False", counter,
                       expected, lost);
        }
    } catch (const asyncio::KeyboardInterrupt&) {
        return lesson.interrupted();
    }
    if (tasks == 5 && iterations == 1000) {  // the reference program's sizes
        lesson.note_recorded_cpython([](const pyconc::lesson::Lesson::RecordedRun& cpython) {
            return fmt::format("lock=False -> counter={}; lock=True -> counter={}",
                               cpython.get("counter_without_lock"), cpython.get("counter_with_lock"));
        });
    }

    lesson.figure("tasks", tasks);
    lesson.figure("iterations", iterations);
    lesson.figure("counters", counters);
    lesson.figure("lost", total_lost);
    if (total_lost > 0) {
        return lesson.finish(
            "race", fmt::format("without the lock every round of {} tasks added 1: {} updates lost", tasks,
                                total_lost));
    }
    return lesson.finish("no-race", "every increment landed");
} catch (...) {
    return pyconc::lesson::failed(argv[0]);  // one line and exit 3 (lesson/failure.hpp)
}
