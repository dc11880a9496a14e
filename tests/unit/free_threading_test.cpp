// The free-threaded mode (PEP 703): threads run at once, biased reference
// counts, per-object locks, stop-the-world collections. Every verdict here
// is certain by construction, not by timing.
#include <array>
#include <barrier>
#include <cstdint>
#include <memory>
#include <vector>

#include <gtest/gtest.h>

#include "programs/workloads.hpp"
#include "pyconc/runtime/biased_refcount.hpp"
#include "pyconc/runtime/interpreter.hpp"
#include "pyconc/runtime/thread_state.hpp"
#include "pyconc/threading.hpp"

using namespace pyconc::runtime;
using pyconc::programs::countdown;
using pyconc::threading::Lock;
using pyconc::threading::Thread;

namespace {

std::int64_t global_int(Interpreter& interpreter, std::string_view name) {
    return static_cast<const Int&>(*interpreter.globals().get(name)).value();
}

}  // namespace

TEST(FreeThreading, ThreadsRunTheirInstructionsAtOnceAndFreeWhatTheyMade) {
    Interpreter interpreter{GilMode::disabled};
    const std::size_t live_before = interpreter.heap().live_objects();
    std::vector<std::unique_ptr<Thread>> threads;
    for (int i = 0; i < 4; ++i) {
        threads.push_back(
            std::make_unique<Thread>(interpreter, "T", [](ThreadState& t) { countdown(t, 100'000); }));
    }
    for (auto& thread : threads) thread->start();
    for (auto& thread : threads) thread->join();
    for (auto& thread : threads) EXPECT_GT(thread->state().instructions(), 900'000U);
    EXPECT_EQ(interpreter.heap().live_objects(), live_before);  // every int freed, by its owner
}

TEST(FreeThreading, ALockMakesTheCounterExact) {
    Interpreter interpreter{GilMode::disabled};
    interpreter.globals().set("counter", Int::from(0));
    Lock lock;
    std::vector<std::unique_ptr<Thread>> threads;
    for (int i = 0; i < 4; ++i) {
        threads.push_back(std::make_unique<Thread>(interpreter, "T", [&lock](ThreadState& t) {
            t.resume();
            for (int k = 0; k < 20'000; ++k) {
                lock.acquire(t);
                t.load_global("counter");
                t.load_const(1);
                t.binary_add();
                t.store_global("counter");
                lock.release();
                t.jump_backward();
            }
        }));
    }
    for (auto& thread : threads) thread->start();
    for (auto& thread : threads) thread->join();
    EXPECT_EQ(global_int(interpreter, "counter"), 80'000);
}

TEST(FreeThreading, TwoReadsBeforeEitherWriteLoseAnUpdate) {
    // Both threads read counter (0) before either writes: certain by
    // construction, the barrier orders it. The dict's per-object lock keeps
    // the dict whole, and cannot make the read and the write one step.
    Interpreter interpreter{GilMode::disabled};
    interpreter.globals().set("counter", Int::from(1000));
    std::barrier both_read{2};
    std::vector<std::unique_ptr<Thread>> threads;
    for (int i = 0; i < 2; ++i) {
        threads.push_back(std::make_unique<Thread>(interpreter, "T", [&both_read](ThreadState& t) {
            t.load_global("counter");
            {
                const ThreadState::AllowThreads waiting{t};
                both_read.arrive_and_wait();
            }
            t.load_const(1);
            t.binary_add();
            t.store_global("counter");
        }));
    }
    for (auto& thread : threads) thread->start();
    for (auto& thread : threads) thread->join();
    EXPECT_EQ(global_int(interpreter, "counter"), 1001);  // not 1002
}

TEST(FreeThreading, AnIntMadeByOneThreadAndDroppedByAnotherIsFreedOnce) {
    // The writer makes a big int and stores it (its owner's local count
    // holds the dict's reference); the replacer loads it (shared +1), drops
    // it, and replaces it in the dict (shared -1 below 0: queued for the
    // owner, or merged at once if the owner has exited).
    Interpreter interpreter{GilMode::disabled};
    interpreter.globals().set("x", Int::from(0));
    // The dict and its key were made by this thread, which owns nothing: shared from birth.
    const std::size_t live_before = interpreter.heap().live_objects();
    const std::size_t shared_before = BiasedRefcounts::instance().shared_entries();
    std::barrier stored{2};
    std::barrier replaced{2};
    Thread writer{interpreter, "writer", [&](ThreadState& t) {
                      t.load_const(123'456);
                      t.store_global("x");
                      {
                          const ThreadState::AllowThreads waiting{t};
                          stored.arrive_and_wait();
                          replaced.arrive_and_wait();
                      }
                      t.jump_backward();  // a check point: merges what was queued for it
                  }};
    Thread replacer{interpreter, "replacer", [&](ThreadState& t) {
                        {
                            const ThreadState::AllowThreads waiting{t};
                            stored.arrive_and_wait();
                        }
                        t.load_global("x");
                        EXPECT_EQ(t.return_int(), 123'456);
                        t.load_const(7);
                        t.store_global("x");
                        const ThreadState::AllowThreads waiting{t};
                        replaced.arrive_and_wait();
                    }};
    writer.start();
    replacer.start();
    writer.join();
    replacer.join();
    EXPECT_EQ(global_int(interpreter, "x"), 7);
    EXPECT_EQ(interpreter.heap().live_objects(), live_before);  // 123456 is gone
    EXPECT_EQ(BiasedRefcounts::instance().shared_entries(), shared_before);
}

TEST(FreeThreading, ACollectionStopsTheWorld) {
    Interpreter interpreter{GilMode::disabled};
    std::atomic<bool> started{false};
    std::vector<std::unique_ptr<Thread>> threads;
    for (int i = 0; i < 2; ++i) {
        threads.push_back(std::make_unique<Thread>(interpreter, "T", [&started](ThreadState& t) {
            started = true;
            countdown(t, 300'000);
        }));
    }
    for (auto& thread : threads) thread->start();
    while (!started) std::this_thread::yield();
    {
        ThreadState main_thread{interpreter, "MainThread"};
        const ThreadState::Attached attached{main_thread};
        Ref<List> a = make<List>();
        Ref<List> b = make<List>();
        a->append(b);
        b->append(a);
        a.reset();
        b.reset();
        EXPECT_EQ(interpreter.gc().collect(), 2U);
    }
    for (auto& thread : threads) thread->join();
    EXPECT_EQ(interpreter.world().stops(), 1U);
    for (auto& thread : threads) EXPECT_GT(thread->state().instructions(), 2'000'000U);
}

TEST(FreeThreading, DeterministicSchedulesNeedAGil) {
    Interpreter interpreter{GilMode::disabled};
    EXPECT_DEATH(interpreter.set_schedule(Schedule::every(3)),
                 "deterministic schedule orders turns at the GIL");
}

namespace {

// Keeps 10,000 new lists alive with threshold0 at 100, and counts the
// automatic collections per generation the callbacks report.
std::array<std::size_t, 3> automatic_collections(GilMode mode) {
    Interpreter interpreter{mode};
    ThreadState main_thread{interpreter, "MainThread"};
    const ThreadState::Attached attached{main_thread};
    Gc& gc = interpreter.gc();
    gc.set_threshold(100, 10, 10);
    std::array<std::size_t, 3> per_generation{};
    gc.add_callback([&](Gc::Phase phase, const Gc::CallbackInfo& info) {
        if (phase == Gc::Phase::stop) per_generation.at(static_cast<std::size_t>(info.generation)) += 1;
    });
    Ref<List> keep = make<List>();
    for (int i = 0; i < 10'000; ++i) keep->append(make<List>());
    gc.clear_callbacks();
    return per_generation;
}

}  // namespace

// 3.13t's collector (Python/gc_free_threading.c) has no generations to
// choose between: every automatic collection is asked for as generation 0
// and visits the whole heap, and the next one waits until count[0] passes
// a quarter of the objects that survived (gc_should_collect). With the GIL
// the same allocations collect generation 1 every 11th time.
TEST(FreeThreading, AutomaticCollectionsAreWholeHeapOnesCountedAsGenerationZero) {
    const auto without_gil = automatic_collections(GilMode::disabled);
    EXPECT_EQ(without_gil[1], 0U);
    EXPECT_EQ(without_gil[2], 0U);
    // Every 101 allocations while the survivors are under 404, then every
    // quarter of them: 18 collections to reach 10,002 containers.
    EXPECT_EQ(without_gil[0], 18U);
    const auto with_gil = automatic_collections(GilMode::enabled);
    EXPECT_EQ(with_gil[0] + with_gil[1] + with_gil[2], 99U);
    EXPECT_GT(with_gil[1], 0U);
}
