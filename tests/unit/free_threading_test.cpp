// The free-threaded mode (PEP 703): threads run at once, biased reference
// counts, per-object locks, stop-the-world collections. Every verdict here
// is certain by construction, not by timing.
#include <array>
#include <atomic>
#include <barrier>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <future>
#include <memory>
#include <thread>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

#include "programs/workloads.hpp"
#include "pyconc/runtime/biased_refcount.hpp"
#include "pyconc/runtime/interpreter.hpp"
#include "pyconc/runtime/profile.hpp"
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

// 3.14t's collector also waits for memory (gh-132917): with the 3.14t
// profile's estimate (11,500 KiB at start), 10,000 small lists do not grow
// it by the tenth a collection needs, and each time count[0] passes 2000
// the collection is deferred; 200,000 more do, and collections run.
TEST(FreeThreading, A314tCollectionWaitsUntilMemoryGrewByATenth) {
    Interpreter interpreter{*profile_for("3.14t")};
    ThreadState main_thread{interpreter, "MainThread"};
    const ThreadState::Attached attached{main_thread};
    Gc& gc = interpreter.gc();
    (void)gc.collect();  // the memory the next check compares with
    std::size_t collections = 0;
    gc.add_callback(
        [&](Gc::Phase phase, const Gc::CallbackInfo&) { collections += phase == Gc::Phase::stop; });
    Ref<List> keep = make<List>();
    for (int i = 0; i < 10'000; ++i) keep->append(make<List>());
    EXPECT_EQ(collections, 0U);
    EXPECT_EQ(gc.deferred_checks(), 4U) << "count[0] passed 2000 four times in 10,001 containers";
    for (int i = 0; i < 200'000; ++i) keep->append(make<List>());
    EXPECT_GT(collections, 0U);
    gc.clear_callbacks();
}

// --- ways back into the collector while it runs -----------------------------
//
// CPython takes gcstate->collecting before it stops the world, and
// 3.13t's collector runs finalizers with the world started again
// (Python/gc_free_threading.c, gc_collect_internal: "to avoid potential
// deadlocks"). Each case below deadlocked when the model stopped the world
// first and kept it stopped through the finalizers: each runs under a
// watchdog, so that a deadlock fails with a message instead of a timeout.

namespace {

// Runs `body` on a thread of its own; a body not done within 20 s ends the
// test program with a message naming `what` (a deadlocked thread cannot be
// stopped any other way).
void returns_within_20_s(const char* what, const std::function<void()>& body) {
    std::promise<void> done;
    std::future<void> finished = done.get_future();
    std::thread runner{[&] {
        body();
        done.set_value();
    }};
    if (finished.wait_for(std::chrono::seconds(20)) != std::future_status::ready) {
        std::fprintf(stderr, "FAILED: %s did not return within 20 s: a deadlock\n", what);
        std::_Exit(1);
    }
    runner.join();
}

// Two instances of `cls` that point at each other, dropped: garbage for the
// collector, whose finalizers run in the collection.
void drop_a_cycle_of_two(const Ref<Class>& cls) {
    Ref<Instance> a = new_instance(cls);
    Ref<Instance> b = new_instance(cls);
    a->setattr("other", b);
    b->setattr("other", a);
}

// class A: def __del__(self): inner.append(gc.collect())
// a, b = A(), A(); a.other, b.other = b, a; del a, b; outer = gc.collect()
// (every CPython here: outer 2, inner 0 and 0; 3.9 says 4: instance dicts)
struct CollectFromFinalizer {
    std::size_t outer = 0;
    std::vector<std::size_t> inner;
    std::uint64_t stops = 0;
};

CollectFromFinalizer collect_from_a_finalizer(GilMode mode) {
    CollectFromFinalizer seen;
    Interpreter interpreter{mode};
    ThreadState main_thread{interpreter, "MainThread"};
    const ThreadState::Attached attached{main_thread};
    Ref<Class> A = make<Class>("A", [&](Instance&) { seen.inner.push_back(interpreter.gc().collect()); });
    drop_a_cycle_of_two(A);
    seen.outer = interpreter.gc().collect();
    seen.stops = interpreter.world().stops();
    return seen;
}

}  // namespace

TEST(FreeThreading, ACollectFromAFinalizerReturnsZeroWithoutTheGilAsWithIt) {
    for (const GilMode mode : {GilMode::enabled, GilMode::disabled}) {
        CollectFromFinalizer seen;
        returns_within_20_s("gc.collect() from a finalizer", [&] { seen = collect_from_a_finalizer(mode); });
        EXPECT_EQ(seen.outer, 2U);
        EXPECT_EQ(seen.inner, (std::vector<std::size_t>{0, 0}));
    }
}

TEST(FreeThreading, ACollectionWithFinalizersStopsTheWorldForEachAnalysisOnly) {
    // The analysis, then (after the finalizers ran in a running world) the
    // check for resurrected objects: two stops, as gc_collect_internal makes.
    EXPECT_EQ(collect_from_a_finalizer(GilMode::disabled).stops, 2U);
    EXPECT_EQ(collect_from_a_finalizer(GilMode::enabled).stops, 0U);  // the GIL is enough
}

TEST(FreeThreading, AFinalizerThatAllocatesPastTheThresholdStartsNoCollectionInsideOne) {
    std::array<std::size_t, 3> collections{};
    returns_within_20_s("a finalizer allocating 1,000 lists", [&] {
        Interpreter interpreter{GilMode::disabled};
        ThreadState main_thread{interpreter, "MainThread"};
        const ThreadState::Attached attached{main_thread};
        interpreter.gc().set_threshold(100, 10, 10);
        Ref<Class> A = make<Class>("A", [](Instance&) {
            Ref<List> made = make<List>();
            for (int i = 0; i < 1'000; ++i) made->append(make<List>());
        });
        drop_a_cycle_of_two(A);
        EXPECT_EQ(interpreter.gc().collect(), 2U);
        for (std::size_t g = 0; g < 3; ++g) collections[g] = interpreter.gc().get_stats()[g].collections;
    });
    EXPECT_EQ(collections, (std::array<std::size_t, 3>{0, 0, 1}));  // the outer collect() only
}

TEST(FreeThreading, AFinalizerMayStartAndJoinAThreadWhoseCollectReturnsZero) {
    std::size_t thread_collected = 99;
    std::uint64_t thread_instructions = 0;
    returns_within_20_s("a finalizer starting and joining a thread", [&] {
        Interpreter interpreter{GilMode::disabled};
        ThreadState main_thread{interpreter, "MainThread"};
        const ThreadState::Attached attached{main_thread};
        bool started = false;
        Ref<Class> A = make<Class>("A", [&](Instance&) {
            if (std::exchange(started, true)) return;  // one thread, from the first finalizer
            Thread helper{interpreter, "Thread-1", [&](ThreadState& t) {
                              countdown(t, 1'000);
                              thread_collected =
                                  interpreter.gc().collect();  // the finalizer's collection runs
                          }};
            helper.start();
            const ThreadState::AllowThreads waiting{main_thread};
            helper.join();
            thread_instructions = helper.state().instructions();
        });
        drop_a_cycle_of_two(A);
        EXPECT_EQ(interpreter.gc().collect(), 2U);
    });
    EXPECT_EQ(thread_collected, 0U);
    EXPECT_GT(thread_instructions, 1'000U);
}

TEST(FreeThreading, AFinalizerMayTakeALockThatAThreadStoppedByTheCollectionHolds) {
    returns_within_20_s("a finalizer waiting for a lock another thread holds", [] {
        Interpreter interpreter{GilMode::disabled};
        Lock lock;
        std::atomic<bool> holding{false};  // seq_cst: a test's hand-shake, not a hot path
        std::atomic<bool> wanted{false};
        Thread holder{interpreter, "holder", [&](ThreadState& t) {
                          lock.acquire(t);
                          holding = true;
                          while (!wanted) t.jump_backward();  // check points: stopped with the world
                          lock.release();
                      }};
        holder.start();
        while (!holding) std::this_thread::yield();
        {
            ThreadState main_thread{interpreter, "MainThread"};
            const ThreadState::Attached attached{main_thread};
            Ref<Class> A = make<Class>("A", [&](Instance&) {
                wanted = true;
                lock.acquire(main_thread);  // the holder runs again, and lets go
                lock.release();
            });
            drop_a_cycle_of_two(A);
            EXPECT_EQ(interpreter.gc().collect(), 2U);
        }
        holder.join();
    });
}
