// Deterministic schedules and the GIL trace: the same schedule gives the
// same interleaving every time; an explicit order runs as asked exactly
// where the policy has check points; the trace sees every transition.
#include "pyconc/runtime/schedule.hpp"

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include <fmt/format.h>

#include "pyconc/runtime/interpreter.hpp"
#include "pyconc/runtime/thread_state.hpp"
#include "pyconc/runtime/trace.hpp"
#include "pyconc/threading.hpp"

using namespace pyconc::runtime;
using pyconc::threading::Thread;

namespace {

struct Interleaving {
    std::int64_t counter = 0;
    std::vector<std::size_t> order;  // the thread that ran each instruction
};

// Two or more threads, each running `counter += 1` `increments` times with
// no loop around it (py310 then has no check point inside), under `schedule`.
Interleaving increments(CheckPoints policy, Schedule schedule, int threads = 2, int increments = 1,
                        Trace* trace = nullptr) {
    Interpreter interpreter;
    interpreter.set_check_points(policy);
    interpreter.set_schedule(std::move(schedule));
    interpreter.set_trace(trace);
    interpreter.globals().set("counter", Int::from(0));
    Interleaving run;
    std::vector<std::unique_ptr<Thread>> workers;
    for (int i = 0; i < threads; ++i) {
        const auto index = static_cast<std::size_t>(i);
        workers.push_back(
            std::make_unique<Thread>(interpreter, fmt::format("T{}", i), [&, index](ThreadState& t) {
                t.set_instruction_hook(
                    [&, index](const ThreadState&, ThreadState::Opcode) { run.order.push_back(index); });
                for (int n = 0; n < increments; ++n) {
                    t.load_global("counter");
                    t.load_const(1);
                    t.binary_add();
                    t.store_global("counter");
                }
            }));
    }
    for (auto& worker : workers) worker->start();
    for (auto& worker : workers) worker->join();
    run.counter = static_cast<const Int&>(*interpreter.globals().get("counter")).value();
    return run;
}

}  // namespace

TEST(Schedule, AnExplicitOrderRunsAsAskedWhereEveryInstructionIsACheckPoint) {
    const std::vector<std::size_t> interleaved{0, 1, 0, 1, 0, 1, 0, 1};
    const Interleaving run = increments(CheckPoints::py39, Schedule::explicit_order(interleaved));
    EXPECT_EQ(run.order, interleaved);
    EXPECT_EQ(run.counter, 1);  // both read 0: one update lost
}

TEST(Schedule, AnExplicitOrderCannotSplitAnIncrementThatHasNoCheckPoint) {
    const Interleaving run =
        increments(CheckPoints::py310, Schedule::explicit_order({1, 0, 1, 0, 1, 0, 1, 0}));
    EXPECT_EQ(run.order, (std::vector<std::size_t>{1, 1, 1, 1, 0, 0, 0, 0}));  // the first turn is still T1's
    EXPECT_EQ(run.counter, 2);
}

TEST(Schedule, EveryKHandsOverInRegistrationOrder) {
    const Interleaving run = increments(CheckPoints::py39, Schedule::every(2), 3, 1);
    EXPECT_EQ(run.order, (std::vector<std::size_t>{0, 0, 1, 1, 2, 2, 0, 0, 1, 1, 2, 2}));
    EXPECT_EQ(run.counter, 1);
}

TEST(Schedule, TheSameSeedGivesTheSameInterleavingEveryRun) {
    const Interleaving first = increments(CheckPoints::py39, Schedule::seeded(7, 3), 3, 200);
    EXPECT_LT(first.counter, 600);
    for (int i = 0; i < 5; ++i) {
        const Interleaving again = increments(CheckPoints::py39, Schedule::seeded(7, 3), 3, 200);
        EXPECT_EQ(again.order, first.order);
        EXPECT_EQ(again.counter, first.counter);
    }
    EXPECT_NE(increments(CheckPoints::py39, Schedule::seeded(8, 3), 3, 200).order, first.order);
}

TEST(Trace, RecordsEveryTransitionWithItsReason) {
    Trace trace;
    (void)increments(CheckPoints::py39, Schedule::every(4), 2, 2, &trace);
    const Trace::Timeline timeline = trace.timeline();
    ASSERT_EQ(timeline.threads.size(), 2U);
    // T0 runs 4, T1 runs 4, T0 runs its last 4 (the turn ends there too),
    // T1 runs its last 4, T0 takes the GIL back only to leave, then T1.
    for (const auto& thread : timeline.threads) {
        EXPECT_EQ(thread.drops_by_reason[static_cast<std::size_t>(DropReason::turn)], 2U) << thread.name;
        EXPECT_EQ(thread.drops_by_reason[static_cast<std::size_t>(DropReason::exit)], 1U) << thread.name;
        std::size_t holding = 0;
        for (const auto& span : thread.spans) holding += span.state == Trace::SpanState::holding ? 1 : 0;
        EXPECT_EQ(holding, 3U) << thread.name;
        EXPECT_GT(thread.holding_ms, 0.0);
    }
    // Never two holders at once.
    std::vector<Trace::Span> held;
    for (const auto& thread : timeline.threads) {
        for (const auto& span : thread.spans) {
            if (span.state == Trace::SpanState::holding) held.push_back(span);
        }
    }
    for (std::size_t i = 0; i < held.size(); ++i) {
        for (std::size_t j = i + 1; j < held.size(); ++j) {
            EXPECT_TRUE(held[i].to_ms <= held[j].from_ms || held[j].to_ms <= held[i].from_ms);
        }
    }
}

TEST(Trace, ABlockingCallIsRecordedAsOne) {
    Trace trace;
    Interpreter interpreter;
    interpreter.set_trace(&trace);
    Thread sleeper(interpreter, "sleeper", [](ThreadState& t) {
        t.resume();
        const ThreadState::AllowThreads blocking{t};
    });
    sleeper.start();
    sleeper.join();
    const auto timeline = trace.timeline();
    ASSERT_EQ(timeline.threads.size(), 1U);
    EXPECT_EQ(timeline.threads[0].drops_by_reason[static_cast<std::size_t>(DropReason::blocking_call)], 1U);
    EXPECT_EQ(timeline.threads[0].drops_by_reason[static_cast<std::size_t>(DropReason::exit)], 1U);
    EXPECT_EQ(sleeper.state().gil_acquisitions(), 2U);
}
