// concurrent.interpreters (PEP 734): interpreters with a GIL each, isolated
// globals, queues that carry copies. Scenarios after CPython's
// Lib/test/test_interpreters/ (test_api.py, test_queues.py), in the model's
// terms; every verdict is certain by construction, none by timing.
#include <chrono>
#include <cstdint>
#include <latch>
#include <memory>
#include <thread>

#include <gtest/gtest.h>

#include "pyconc/asyncio.hpp"
#include "pyconc/concurrent/futures/interpreter_pool.hpp"
#include "pyconc/concurrent/interpreters/interpreter.hpp"
#include "pyconc/concurrent/interpreters/queue.hpp"
#include "pyconc/runtime/interpreter.hpp"
#include "pyconc/runtime/thread_state.hpp"
#include "pyconc/runtime/types.hpp"

using namespace pyconc::runtime;
namespace interpreters = pyconc::concurrent::interpreters;

namespace {

const Profile python314 = *profile_for("3.14");

std::int64_t int_value(const Object* object) {
    return static_cast<const Int&>(*object).value();
}

}  // namespace

// test_api.CreateTests: each interpreter is new, with an id of its own.
TEST(Interpreters, CreateGivesDistinctInterpretersWithTheirOwnHeaps) {
    Interpreter main_interpreter{python314};
    auto a = interpreters::create(python314);
    auto b = interpreters::create(python314);
    EXPECT_NE(a->id(), b->id());
    EXPECT_NE(&a->runtime().heap(), &b->runtime().heap());
    EXPECT_EQ(&Heap::current(), &main_interpreter.heap());  // creating one does not switch the caller's heap
}

// test_api.TestInterpreterExec: a module global set in one interpreter is
// not seen by another, nor by the main one.
TEST(Interpreters, ModuleGlobalsAreTheirOwn) {
    Interpreter main_interpreter{python314};
    auto a = interpreters::create(python314);
    auto b = interpreters::create(python314);
    a->exec([](ThreadState& t) {  // SETTING = 1
        t.load_const(1);
        t.store_global("SETTING");
    });
    EXPECT_NE(a->runtime().globals().get("SETTING"), nullptr);
    EXPECT_EQ(b->runtime().globals().get("SETTING"), nullptr);
    EXPECT_EQ(main_interpreter.globals().get("SETTING"), nullptr);
    EXPECT_EQ(int_value(a->runtime().globals().get("SETTING")), 1);
    EXPECT_EQ(&Heap::current(), &main_interpreter.heap());  // exec gave the caller's heap back
}

// test_queues.TestQueueOps.test_put_get_same_interpreter, across two: an
// int, a str and a tuple arrive as copies made on the receiver's heap,
// copied cheaply; a small int is the very same (immortal) object.
TEST(Interpreters, QueueCarriesCheapCopiesOfShareableObjects) {
    Interpreter main_interpreter{python314};
    auto a = interpreters::create(python314);
    auto queue = interpreters::create_queue();
    const Object* sent_small = nullptr;
    a->exec([&](ThreadState&) {
        Ref<Object> small = Int::from(7);
        sent_small = small.get();
        EXPECT_EQ(queue->put(small), interpreters::Crossing::shared);
        EXPECT_EQ(queue->put(Int::from(1'000'000)), interpreters::Crossing::shared);
        EXPECT_EQ(queue->put(make<Str>("spam")), interpreters::Crossing::shared);
        EXPECT_EQ(queue->put(make<Tuple>(Int::from(1), make<Str>("x"))), interpreters::Crossing::shared);
    });
    const std::size_t live_before = main_interpreter.heap().live_objects();
    const Ref<Object> small = queue->get_nowait();
    EXPECT_EQ(small.get(), sent_small);  // `is`: the small ints are one set for every interpreter
    const Ref<Object> large = queue->get_nowait();
    EXPECT_EQ(int_value(large.get()), 1'000'000);
    const Ref<Object> text = queue->get_nowait();
    EXPECT_EQ(static_cast<const Str&>(*text).value(), "spam");
    const Ref<Object> tuple = queue->get_nowait();
    EXPECT_EQ(static_cast<const Tuple&>(*tuple).size(), 2U);
    // 1,000,000, "spam", the tuple and its "x": made on the main heap.
    EXPECT_EQ(main_interpreter.heap().live_objects(), live_before + 4);
    EXPECT_THROW((void)queue->get_nowait(), interpreters::QueueEmpty);
}

// A list is not shareable: it crosses through pickle, and arrives as a new
// list equal to the one sent.
TEST(Interpreters, QueuePicklesAList) {
    Interpreter main_interpreter{python314};
    auto a = interpreters::create(python314);
    auto queue = interpreters::create_queue();
    a->exec([&](ThreadState&) {
        auto list = make<List>(Int::from(1), Int::from(2), make<Str>("three"));
        EXPECT_EQ(queue->put(list), interpreters::Crossing::pickled);
        list->append(Int::from(4));  // after put: the copy already left
    });
    const Ref<Object> got = queue->get_nowait();
    const auto& list = static_cast<const List&>(*got);
    ASSERT_EQ(list.size(), 3U);
    EXPECT_EQ(int_value(list[1].get()), 2);
    EXPECT_EQ(static_cast<const Str&>(*list[2]).value(), "three");
}

// What pickle cannot take (a lock) is refused, and nothing is queued; a
// list holding one is refused whole.
TEST(Interpreters, QueueRefusesWhatCannotCross) {
    Interpreter main_interpreter{python314};
    auto queue = interpreters::create_queue();
    const auto lock = make<ProcessLocal>("_thread.lock");
    EXPECT_THROW(queue->put(lock), interpreters::NotShareableError);
    try {
        queue->put(make<List>(Int::from(1), lock));
        ADD_FAILURE() << "a list holding a lock crossed";
    } catch (const interpreters::NotShareableError& error) {
        EXPECT_STREQ(error.what(), "cannot pickle '_thread.lock' object");
    }
    EXPECT_EQ(queue->qsize(), 0U);
}

// A list that holds itself is refused (the model's pickle keeps no memo),
// instead of recursing without end.
TEST(Interpreters, QueueRefusesAListThatHoldsItself) {
    Interpreter main_interpreter{python314};
    auto queue = interpreters::create_queue();
    auto list = make<List>(Int::from(1));
    list->append(Ref<Object>::new_ref(*list));
    EXPECT_THROW(queue->put(list), interpreters::NotShareableError);
    EXPECT_EQ(queue->qsize(), 0U);
    list->clear();  // the cycle broken, so that it is freed before the heap ends
}

// A dict crosses through pickle too, keys and values copied.
TEST(Interpreters, QueuePicklesADict) {
    Interpreter main_interpreter{python314};
    auto queue = interpreters::create_queue();
    auto dict = make<Dict>();
    dict->set("spam", Int::from(1'000'000));
    EXPECT_EQ(queue->put(dict), interpreters::Crossing::pickled);
    const Ref<Object> got = queue->get_nowait();
    ASSERT_NE(got.get(), dict.get());
    EXPECT_EQ(int_value(static_cast<const Dict&>(*got).get("spam")), 1'000'000);
}

// PEP 684: each interpreter has a GIL of its own. Two threads, one in each
// interpreter, both hold their GIL at the same moment: each waits at a latch
// for the other while holding it. Under one shared GIL they never could.
TEST(Interpreters, ThreadsOfTwoInterpretersHoldTheirGilsAtOnce) {
    auto a = interpreters::create(python314);
    auto b = interpreters::create(python314);
    std::latch both_hold_their_gil{2};
    const auto meet = [&](ThreadState& t) {
        t.resume();  // running Python code: this interpreter's GIL is held
        both_hold_their_gil.arrive_and_wait();
    };
    auto in_a = a->call_in_thread(meet);
    auto in_b = b->call_in_thread(meet);
    in_a->join();
    in_b->join();
    SUCCEED();
}

// test_api.TestInterpreterClose: closing a running interpreter is refused;
// using a closed one raises InterpreterError.
TEST(Interpreters, CloseIsRefusedWhileRunningAndAClosedOneCannotRun) {
    auto a = interpreters::create(python314);
    std::latch started{1};
    std::latch may_finish{1};
    auto thread = a->call_in_thread([&](ThreadState& t) {
        started.count_down();
        const ThreadState::AllowThreads waiting{t};
        may_finish.wait();
    });
    started.wait();
    EXPECT_TRUE(a->is_running());
    EXPECT_THROW(a->close(), interpreters::InterpreterError);
    may_finish.count_down();
    thread->join();
    a->close();
    EXPECT_THROW(a->exec([](ThreadState&) {}), interpreters::InterpreterError);
}

// Interpreter.call: the result comes back as a copy on the caller's heap,
// and the objects it made stay in (and are freed by) its own interpreter.
TEST(Interpreters, CallReturnsACopyAndCloseFreesItsObjects) {
    Interpreter main_interpreter{python314};
    auto a = interpreters::create(python314);
    const interpreters::XiData result = a->call([](ThreadState& t) -> Ref<Object> {
        t.load_const(40);
        t.load_const(2);
        t.binary_add();
        t.store_global("answer");
        return make<List>(Int::from(6), Int::from(7));
    });
    EXPECT_EQ(result.crossing(), interpreters::Crossing::pickled);
    EXPECT_GT(a->runtime().heap().live_objects(), 0U);  // its globals dict, at least
    const Ref<Object> copy = result.make();
    EXPECT_EQ(static_cast<const List&>(*copy).size(), 2U);
    a->close();  // frees them on its own heap: ~Heap would abort on any left
    EXPECT_EQ(&Heap::current(), &main_interpreter.heap());
}

// InterpreterPoolExecutor: each worker runs in an interpreter of its own. Two
// work items that meet at a latch while running hold two GILs at once (one
// shared GIL could not), and a global one sets is not in the other's.
TEST(InterpreterPoolExecutor, WorkersRunInInterpretersOfTheirOwn) {
    Interpreter main_interpreter{python314};
    pyconc::concurrent::futures::InterpreterPoolExecutor pool{python314, 2};
    std::latch both_running{2};
    const auto item = [&](ThreadState& t) -> std::int64_t {
        t.resume();
        both_running.arrive_and_wait();
        const bool seen_before = t.interpreter().globals().get("MINE") != nullptr;
        t.load_const(1);
        t.store_global("MINE");
        return seen_before ? 1 : 0;
    };
    auto first = pool.submit(item);
    auto second = pool.submit(item);
    EXPECT_EQ(first->result() + second->result(), 0);
    EXPECT_EQ(pool.interpreters_made(), 2U);
    EXPECT_EQ(main_interpreter.globals().get("MINE"), nullptr);
}

// A model object comes back as a copy made on the caller's heap.
TEST(InterpreterPoolExecutor, AModelObjectComesBackAsACopy) {
    Interpreter main_interpreter{python314};
    pyconc::concurrent::futures::InterpreterPoolExecutor pool{python314, 1};
    auto future = pool.submit([](ThreadState&) {
        return interpreters::XiData::of(make<List>(Int::from(1), make<Str>("two")).get());
    });
    const Ref<Object> copy = future->result().make();
    EXPECT_EQ(static_cast<const List&>(*copy).size(), 2U);
}

// await loop.run_in_executor(interpreter_pool, f): the loop awaits a work
// item that ran in a worker's interpreter.
TEST(InterpreterPoolExecutor, RunInExecutorAwaitsAWorkItemOfAnotherInterpreter) {
    Interpreter main_interpreter{python314};
    ThreadState loop_thread{main_interpreter, "loop"};
    const std::int64_t result = pyconc::asyncio::run(
        [&]() -> pyconc::asyncio::Coroutine<std::int64_t> {
            pyconc::concurrent::futures::InterpreterPoolExecutor pool{python314, 1};
            const std::int64_t got = co_await pyconc::asyncio::run_in_executor(pool, [](ThreadState& t) {
                t.load_const(40);
                t.load_const(2);
                t.binary_add();
                return t.return_int();
            });
            pool.shutdown(true, false, &loop_thread);
            co_return got;
        }(),
        {.thread = &loop_thread});
    EXPECT_EQ(result, 42);
}

// A debug build fails fast when an object crosses without a copy: freed on
// a heap that did not allocate it. (Release builds trust the program, as
// CPython does: the check is skipped there, and says so.)
TEST(InterpretersDeathTest, AnObjectFreedOnAnotherInterpretersHeapIsFatalInDebugBuilds) {
#ifdef NDEBUG
    GTEST_SKIP() << "a debug build's check (the arena registry): this is a release build";
#else
    GTEST_FLAG_SET(death_test_style, "threadsafe");
    EXPECT_DEATH(
        {
            Interpreter main_interpreter{python314};
            auto a = interpreters::create(python314);
            Ref<Object> smuggled;
            a->exec([&](ThreadState&) { smuggled = make<List>(Int::from(1)); });
            smuggled.reset();  // on main's heap: the list is a's
        },
        "a list of another interpreter's heap was freed on this one");
#endif
}
