// Model threads under the GIL: which check points let a `counter += 1`
// lose updates, deterministically.
#include "pyconc/runtime/thread_state.hpp"

#include <cstdint>
#include <memory>
#include <new>
#include <vector>

#include <gtest/gtest.h>

#include "pyconc/threading.hpp"

using namespace pyconc::runtime;
using pyconc::threading::Lock;
using pyconc::threading::Thread;

namespace {

enum class Variant { plain, call, locked };

// for _ in range(iterations): counter += 1   (or the call / locked variant)
void increment(ThreadState& t, Variant variant, int iterations, Lock& lock) {
    t.resume();
    for (int i = 0; i < iterations; ++i) {
        if (variant == Variant::locked) lock.acquire(t);
        if (variant == Variant::call) {
            t.load_global("counter");  // tmp = counter
            t.store_fast(0);
            t.call([](ThreadState&) {});  // do_nothing()
            t.pop_top();
            t.load_fast(0);  // counter = tmp + 1
            t.load_const(1);
            t.binary_add();
            t.store_global("counter");
        } else {
            t.load_global("counter");  // counter += 1
            t.load_const(1);
            t.binary_add();
            t.store_global("counter");
        }
        if (variant == Variant::locked) lock.release();
        t.jump_backward();
    }
}

std::int64_t run(CheckPoints policy, Variant variant, std::uint64_t switch_every, int threads = 4,
                 int iterations = 1'000) {
    Interpreter interpreter;
    interpreter.set_check_points(policy);
    interpreter.set_schedule(switch_every != 0 ? Schedule::every(switch_every) : Schedule::timed());
    // The interpreter was made on this thread: its heap is current here.
    interpreter.globals().set("counter", Int::from(0));
    Lock lock;
    std::vector<std::unique_ptr<Thread>> workers;
    for (int i = 0; i < threads; ++i) {
        workers.push_back(std::make_unique<Thread>(interpreter, "T" + std::to_string(i), [&](ThreadState& t) {
            increment(t, variant, iterations, lock);
        }));
    }
    for (auto& worker : workers) worker->start();
    for (auto& worker : workers) worker->join();
    const auto* counter = dynamic_cast<const Int*>(interpreter.globals().get("counter"));
    return counter->value();
}

}  // namespace

TEST(ThreadState, Py39CheckPointsLetAPlainIncrementLoseUpdates) {
    EXPECT_LT(run(CheckPoints::py39, Variant::plain, 3), 4'000);
}

TEST(ThreadState, Py310CheckPointsNeverSplitAPlainIncrement) {
    for (std::uint64_t k : {1U, 2U, 3U, 7U})
        EXPECT_EQ(run(CheckPoints::py310, Variant::plain, k), 4'000) << k;
}

TEST(ThreadState, ACallBetweenTheReadAndTheWriteLosesUpdatesUnderBothPolicies) {
    // The CALL is the 3rd instruction of the loop body: with K <= 3 a turn
    // ends there, between the read and the write.
    EXPECT_LT(run(CheckPoints::py310, Variant::call, 3), 4'000);
    EXPECT_LT(run(CheckPoints::py39, Variant::call, 5), 4'000);
}

TEST(ThreadState, ALockMakesTheIncrementExactUnderBothPolicies) {
    EXPECT_EQ(run(CheckPoints::py39, Variant::locked, 3), 4'000);
    EXPECT_EQ(run(CheckPoints::py310, Variant::locked, 3), 4'000);
}

TEST(ThreadState, DeterministicSchedulingGivesTheSameCountEveryRun) {
    const std::int64_t first = run(CheckPoints::py39, Variant::plain, 3, 4, 300);
    EXPECT_LT(first, 1'200);
    for (int i = 0; i < 8; ++i) EXPECT_EQ(run(CheckPoints::py39, Variant::plain, 3, 4, 300), first);
    const std::int64_t call = run(CheckPoints::py310, Variant::call, 3, 4, 300);
    EXPECT_LT(call, 1'200);
    for (int i = 0; i < 8; ++i) EXPECT_EQ(run(CheckPoints::py310, Variant::call, 3, 4, 300), call);
}

TEST(ThreadState, TimedSwitchingRunsEveryThreadToTheEnd) {
    // CPython's own timing: the count is whatever it is, but every thread
    // ran all its instructions, and plain py310 loses nothing.
    EXPECT_EQ(run(CheckPoints::py310, Variant::plain, 0, 2, 200'000), 400'000);
}

TEST(ThreadState, GlobalsAreFoundAgainAfterTheModuleGainsAndLosesNames) {
    // LOAD_GLOBAL's inline cache keeps an index while the dict's keys stay
    // the same; a new key or a cleared dict must not make it read the wrong entry.
    Interpreter interpreter;
    ThreadState t{interpreter, "main"};
    const ThreadState::Attached attached{t};
    t.load_const(1000);
    t.store_global("a");  // a new global, through the slow path
    t.load_global("a");   // cached from here on
    EXPECT_EQ(t.return_int(), 1000);

    interpreter.globals().set("before_a", Int::from(7));  // the keys change
    t.load_const(2000);
    t.store_global("b");
    t.load_global("a");
    EXPECT_EQ(t.return_int(), 1000);
    t.load_global("b");
    EXPECT_EQ(t.return_int(), 2000);
    t.load_global("before_a");
    EXPECT_EQ(t.return_int(), 7);

    interpreter.globals().clear();  // every key gone: a new dict's worth of names
    interpreter.globals().set("b", Int::from(3));
    interpreter.globals().set("a", Int::from(4));  // at another index than before
    t.load_global("a");
    EXPECT_EQ(t.return_int(), 4);
    t.load_global("b");
    EXPECT_EQ(t.return_int(), 3);
}

// 3.14's LOAD_FAST_BORROW: the local on the stack without a reference of
// its own (sys.getrefcount(a) inside a function says 1, not 2), and one of
// its own once it leaves the stack for good.
TEST(ThreadState, ABorrowedLoadCountsNothingUntilItLeavesTheStack) {
    Interpreter interpreter;
    ThreadState t{interpreter, "main"};
    const ThreadState::Attached attached{t};
    const Ref<Object> object = make<List>();
    t.call_returning([&](ThreadState&) { return object; });  // a = [] (and our own reference)
    t.store_fast(0);
    ASSERT_EQ(refcount(object), 2);

    t.load_fast(0);
    EXPECT_EQ(refcount(*t.top()), 3) << "LOAD_FAST takes a reference for the stack";
    t.pop_top();
    EXPECT_EQ(refcount(object), 2);

    t.load_fast_borrow(0);
    EXPECT_EQ(refcount(*t.top()), 2) << "LOAD_FAST_BORROW takes none";
    t.pop_top();
    EXPECT_EQ(refcount(object), 2) << "and closing it releases none";

    t.load_fast_borrow(0);
    t.store_fast(1);  // b = a: the borrowed reference becomes b's own
    EXPECT_EQ(refcount(object), 3);
}

TEST(Thread, AnExceptionItsTargetLetsOutComesBackFromJoinNotTerminate) {
    Interpreter interpreter;
    Thread failing{interpreter, "Thread-1", [](ThreadState& t) {
                       t.resume();
                       throw std::bad_alloc();  // say, a model thread out of memory
                   }};
    failing.start();
    EXPECT_THROW(failing.join(), std::bad_alloc);
    EXPECT_FALSE(interpreter.gil().locked());  // it let the GIL go on its way out
    EXPECT_NO_THROW(failing.join());           // raised once
}

using ValueStackDeathTest = ::testing::Test;

// Runs `program` on a fresh interpreter's main thread.
template <class Program>
void run_on_main_thread(Program program) {
    Interpreter interpreter;
    ThreadState t{interpreter, "main"};
    const ThreadState::Attached attached{t};
    program(t);
}

// A model program that pops more than it pushed is a bug in the program, as
// a code object with a wrong co_stacksize would be: a debug build says so
// (CPython asserts there), a release build trusts the program.
TEST_F(ValueStackDeathTest, PoppingAnEmptyStackIsFatalInDebugBuilds) {
#ifdef NDEBUG
    GTEST_SKIP() << "the check is a debug-build check, as CPython's asserts";
#endif
    EXPECT_DEATH(run_on_main_thread([](ThreadState& t) { t.pop_top(); }), "pop from an empty value stack");
}

TEST_F(ValueStackDeathTest, PushingPastTheStacksCapacityIsFatalInDebugBuilds) {
#ifdef NDEBUG
    GTEST_SKIP() << "the check is a debug-build check, as CPython's asserts";
#endif
    EXPECT_DEATH(run_on_main_thread([](ThreadState& t) {
                     for (std::size_t i = 0; i <= ValueStack::capacity; ++i) t.load_const(1);
                 }),
                 "value stack overflow");
}
