// The asyncio model against asyncio's documented semantics: ordering,
// fairness, timers, cancellation at every kind of await, timeouts, locks,
// queues, exceptions, thread-safe wakeups, flat stacks, misuse.
#include "pyconc/asyncio.hpp"

#include <atomic>
#include <chrono>
#include <csignal>
#include <stdexcept>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

#include <gtest/gtest.h>

#include "pyconc/runtime/interpreter.hpp"
#include "pyconc/runtime/thread_state.hpp"
#include "pyconc/threading.hpp"

namespace asyncio = pyconc::asyncio;
using asyncio::Coroutine;
using Clock = std::chrono::steady_clock;

namespace {

// Collects what the exception handler reports, for the test's life.
class CapturedErrors {
public:
    CapturedErrors()
        : previous_(
              asyncio::set_exception_handler([this](std::string_view m) { messages.emplace_back(m); })) {}
    CapturedErrors(const CapturedErrors&) = delete;
    CapturedErrors& operator=(const CapturedErrors&) = delete;
    ~CapturedErrors() { asyncio::set_exception_handler(previous_); }
    std::vector<std::string> messages;

private:
    asyncio::ExceptionHandler previous_;
};

Coroutine<void> append_after_yields(std::vector<std::string>& log, std::string name, int yields) {
    for (int i = 0; i < yields; ++i) {
        log.push_back(name + std::to_string(i));
        co_await asyncio::sleep(0);
    }
}

}  // namespace

// --- ordering ------------------------------------------------------------------------

TEST(EventLoop, CallSoonRunsCallbacksInTheOrderTheyWereScheduled) {
    std::vector<int> order;
    asyncio::run([&]() -> Coroutine<void> {
        auto& loop = asyncio::EventLoop::get_running_loop();
        for (int i = 0; i < 5; ++i) loop.call_soon([&order, i] { order.push_back(i); });
        co_await asyncio::sleep(0);
        co_await asyncio::sleep(0);
    }());
    EXPECT_EQ(order, (std::vector<int>{0, 1, 2, 3, 4}));
}

TEST(EventLoop, CreateTaskStartsTheTaskOnTheNextTurnNotAtOnce) {
    std::vector<std::string> log;
    asyncio::run([&]() -> Coroutine<void> {
        // A coroutine lambda's captures live in the lambda, not in the frame:
        // name it, so that it outlives the task.
        auto body = [&]() -> Coroutine<void> {
            log.emplace_back("child runs");
            co_return;
        };
        auto child = asyncio::create_task(body());
        log.emplace_back("created");
        co_await asyncio::sleep(0);
        log.emplace_back("after one yield");
        co_await child;
    }());
    EXPECT_EQ(log, (std::vector<std::string>{"created", "child runs", "after one yield"}));
}

TEST(EventLoop, SleepZeroGoesToTheBackOfTheQueue) {
    std::vector<std::string> log;
    asyncio::run([&]() -> Coroutine<void> {
        std::vector<Coroutine<void>> tasks;
        tasks.push_back(append_after_yields(log, "A", 3));
        tasks.push_back(append_after_yields(log, "B", 3));
        tasks.push_back(append_after_yields(log, "C", 3));
        co_await asyncio::gather(std::move(tasks));
    }());
    EXPECT_EQ(log, (std::vector<std::string>{"A0", "B0", "C0", "A1", "B1", "C1", "A2", "B2", "C2"}));
}

TEST(EventLoop, GatherGivesResultsInArgumentOrderWhateverOrderTheyFinishIn) {
    std::vector<int> finished;
    const auto results = asyncio::run([&]() -> Coroutine<std::vector<int>> {
        auto after = [&](int value, double seconds) -> Coroutine<int> {
            co_await asyncio::sleep(seconds);
            finished.push_back(value);
            co_return value;
        };
        std::vector<Coroutine<int>> tasks;
        tasks.push_back(after(1, 0.03));
        tasks.push_back(after(2, 0.02));
        tasks.push_back(after(3, 0.01));
        co_return co_await asyncio::gather(std::move(tasks));
    }());
    EXPECT_EQ(finished, (std::vector<int>{3, 2, 1}));
    EXPECT_EQ(results, (std::vector<int>{1, 2, 3}));
}

TEST(EventLoop, GatherOfDifferentTypesGivesATuple) {
    const auto [number, text] = asyncio::run([]() -> Coroutine<std::tuple<int, std::string>> {
        co_return co_await asyncio::gather([]() -> Coroutine<int> { co_return 7; }(),
                                           []() -> Coroutine<std::string> { co_return "seven"; }());
    }());
    EXPECT_EQ(number, 7);
    EXPECT_EQ(text, "seven");
}

// --- timers -------------------------------------------------------------------------

TEST(EventLoop, TimersFireInOrderOfTheirTimeAndTiesInOrderOfScheduling) {
    std::vector<int> order;
    asyncio::run([&]() -> Coroutine<void> {
        auto& loop = asyncio::EventLoop::get_running_loop();
        loop.call_later(0.03, [&] { order.push_back(3); });
        loop.call_later(0.01, [&] { order.push_back(1); });
        const auto when = Clock::now() + std::chrono::milliseconds{20};
        loop.call_at(when, [&] { order.push_back(2); });
        loop.call_at(when, [&] { order.push_back(22); });
        loop.call_later(0.015, [&] { order.push_back(99); }).cancel();
        co_await asyncio::sleep(0.05);
    }());
    EXPECT_EQ(order, (std::vector<int>{1, 2, 22, 3}));
}

TEST(EventLoop, SleepsOverlap) {
    const auto started = Clock::now();
    asyncio::run([]() -> Coroutine<void> {
        std::vector<Coroutine<void>> sleepers;
        for (int i = 0; i < 10; ++i)
            sleepers.push_back([]() -> Coroutine<void> { co_await asyncio::sleep(0.05); }());
        co_await asyncio::gather(std::move(sleepers));
    }());
    // Ten sleeps of 50 ms take about 50 ms, not 500: generous for loaded machines.
    EXPECT_LT(Clock::now() - started, std::chrono::milliseconds{400});
}

// --- cancellation ---------------------------------------------------------------------

TEST(Cancellation, RaisesAtSleepZero) {
    std::string seen;
    asyncio::run([&]() -> Coroutine<void> {
        auto body = [&]() -> Coroutine<void> {
            try {
                while (true) co_await asyncio::sleep(0);
            } catch (const asyncio::CancelledError&) {
                seen = "cancelled at sleep(0)";
                throw;
            }
        };
        auto task = asyncio::create_task(body());
        co_await asyncio::sleep(0);
        co_await asyncio::sleep(0);
        EXPECT_TRUE(task.cancel());
        EXPECT_THROW(co_await task, asyncio::CancelledError);
        EXPECT_TRUE(task.cancelled());
    }());
    EXPECT_EQ(seen, "cancelled at sleep(0)");
}

TEST(Cancellation, RaisesAtATimedSleepAndCancelsItsTimer) {
    const auto started = Clock::now();
    asyncio::run([&]() -> Coroutine<void> {
        auto task = asyncio::create_task([]() -> Coroutine<void> { co_await asyncio::sleep(10); }());
        co_await asyncio::sleep(0.01);
        task.cancel();
        EXPECT_THROW(co_await task, asyncio::CancelledError);
    }());
    EXPECT_LT(Clock::now() - started, std::chrono::seconds{2});  // the 10 s timer did not hold the loop
}

TEST(Cancellation, RaisesAtAnAwaitedFuture) {
    asyncio::run([]() -> Coroutine<void> {
        auto future = asyncio::make_future<int>(asyncio::EventLoop::get_running_loop());
        auto task = asyncio::create_task(
            [](std::shared_ptr<asyncio::Future<int>> f) -> Coroutine<int> { co_return co_await f; }(future));
        co_await asyncio::sleep(0);
        task.cancel();
        EXPECT_THROW(co_await task, asyncio::CancelledError);
        EXPECT_TRUE(future->cancelled());  // cancelling a waiting task cancels what it waits on
    }());
}

TEST(Cancellation, OfATaskAwaitingATaskCancelsTheInnerTask) {
    asyncio::run([]() -> Coroutine<void> {
        auto inner = asyncio::create_task([]() -> Coroutine<void> { co_await asyncio::sleep(10); }());
        auto outer =
            asyncio::create_task([](asyncio::Task<void> i) -> Coroutine<void> { co_await i; }(inner));
        co_await asyncio::sleep(0.01);
        outer.cancel();
        EXPECT_THROW(co_await outer, asyncio::CancelledError);
        EXPECT_TRUE(inner.cancelled());
    }());
}

TEST(Cancellation, BeforeTheFirstStepTheBodyNeverRuns) {
    bool ran = false;
    asyncio::run([&]() -> Coroutine<void> {
        auto body = [&]() -> Coroutine<void> {
            ran = true;
            co_return;
        };
        auto task = asyncio::create_task(body());
        task.cancel();
        EXPECT_THROW(co_await task, asyncio::CancelledError);
    }());
    EXPECT_FALSE(ran);
}

TEST(Cancellation, ACoroutineMayCatchItAndFinish) {
    const int result = asyncio::run([]() -> Coroutine<int> {
        auto task = asyncio::create_task([]() -> Coroutine<int> {
            try {
                co_await asyncio::sleep(10);
            } catch (const asyncio::CancelledError&) {
                co_return 42;  // swallowed: the task finishes normally
            }
            co_return 0;
        }());
        co_await asyncio::sleep(0);
        task.cancel();
        co_return co_await task;
    }());
    EXPECT_EQ(result, 42);
}

TEST(Cancellation, RaisesInAWaitingLockAcquireAndInAQueueGet) {
    asyncio::run([]() -> Coroutine<void> {
        asyncio::Lock lock;
        co_await lock.acquire();
        auto waiter = asyncio::create_task(lock.acquire());
        asyncio::Queue<int> queue;
        auto getter = asyncio::create_task(queue.get());
        co_await asyncio::sleep(0);
        waiter.cancel();
        getter.cancel();
        EXPECT_THROW(co_await waiter, asyncio::CancelledError);
        EXPECT_THROW(co_await getter, asyncio::CancelledError);
        lock.release();
        EXPECT_FALSE(lock.locked());
        co_await lock.acquire();  // nobody is left waiting: taken at once
        EXPECT_TRUE(lock.locked());
    }());
}

// --- wait_for -------------------------------------------------------------------------

TEST(WaitFor, TimesOutCancelsTheInnerTaskAndRaisesTimeoutError) {
    bool inner_cancelled = false;
    asyncio::run([&]() -> Coroutine<void> {
        auto slow = [&]() -> Coroutine<int> {
            try {
                co_await asyncio::sleep(10);
            } catch (const asyncio::CancelledError&) {
                inner_cancelled = true;
                throw;
            }
            co_return 1;
        };
        EXPECT_THROW(co_await asyncio::wait_for(slow(), 0.02), asyncio::TimeoutError);
    }());
    EXPECT_TRUE(inner_cancelled);
}

TEST(WaitFor, GivesTheResultWhenInTime) {
    EXPECT_EQ(asyncio::run([]() -> Coroutine<int> {
                  co_return co_await asyncio::wait_for(
                      []() -> Coroutine<int> {
                          co_await asyncio::sleep(0.001);
                          co_return 5;
                      }(),
                      5.0);
              }()),
              5);
}

// --- synchronisation ------------------------------------------------------------------

TEST(Lock, WaitersAcquireInTheOrderTheyArrived) {
    std::vector<int> order;
    asyncio::run([&]() -> Coroutine<void> {
        asyncio::Lock lock;
        co_await lock.acquire();
        std::vector<Coroutine<void>> waiters;
        for (int i = 0; i < 5; ++i) {
            waiters.push_back([](asyncio::Lock& l, std::vector<int>& o, int id) -> Coroutine<void> {
                const auto held = co_await l.hold();
                o.push_back(id);
                co_await asyncio::sleep(0);
            }(lock, order, i));
        }
        auto all = asyncio::gather(std::move(waiters));
        co_await asyncio::sleep(0);
        lock.release();
        co_await all;
    }());
    EXPECT_EQ(order, (std::vector<int>{0, 1, 2, 3, 4}));
}

TEST(Lock, ReleasingAnUnheldLockRaisesWithAsyncioMessage) {
    asyncio::Lock lock;
    try {
        lock.release();
        FAIL();
    } catch (const asyncio::RuntimeError& error) {
        EXPECT_STREQ(error.what(), "Lock is not acquired.");
    }
}

TEST(Event, WakesEveryWaiter) {
    int woken = 0;
    asyncio::run([&]() -> Coroutine<void> {
        asyncio::Event event;
        std::vector<Coroutine<void>> waiters;
        for (int i = 0; i < 3; ++i) {
            waiters.push_back([](asyncio::Event& e, int& w) -> Coroutine<void> {
                co_await e.wait();
                ++w;
            }(event, woken));
        }
        auto all = asyncio::gather(std::move(waiters));
        co_await asyncio::sleep(0);
        EXPECT_EQ(woken, 0);
        event.set();
        co_await all;
    }());
    EXPECT_EQ(woken, 3);
}

TEST(Semaphore, LetsAtMostValueTasksIn) {
    int inside = 0;
    int most = 0;
    asyncio::run([&]() -> Coroutine<void> {
        asyncio::Semaphore semaphore{2};
        auto worker = [&]() -> Coroutine<void> {
            co_await semaphore.acquire();
            most = std::max(most, ++inside);
            co_await asyncio::sleep(0.001);
            --inside;
            semaphore.release();
        };
        std::vector<Coroutine<void>> workers;
        for (int i = 0; i < 6; ++i) workers.push_back(worker());
        co_await asyncio::gather(std::move(workers));
    }());
    EXPECT_EQ(most, 2);
}

TEST(Queue, AFullQueueMakesThePutterWait) {
    std::vector<std::string> log;
    asyncio::run([&]() -> Coroutine<void> {
        asyncio::Queue<int> queue{2};
        auto produce = [&]() -> Coroutine<void> {
            for (int i = 0; i < 4; ++i) {
                co_await queue.put(i);
                log.push_back("put " + std::to_string(i));
            }
        };
        auto producer = asyncio::create_task(produce());
        co_await asyncio::sleep(0);
        co_await asyncio::sleep(0);
        EXPECT_EQ(queue.qsize(), 2U);  // the third put waits
        log.emplace_back("consumer starts");
        for (int i = 0; i < 4; ++i) {
            EXPECT_EQ(co_await queue.get(), i);
            queue.task_done();
        }
        co_await producer;
        co_await queue.join();
        EXPECT_THROW(queue.get_nowait(), asyncio::QueueEmpty);
    }());
    ASSERT_GE(log.size(), 3U);
    EXPECT_EQ(log[0], "put 0");
    EXPECT_EQ(log[1], "put 1");
    EXPECT_EQ(log[2], "consumer starts");
}

// --- exceptions -------------------------------------------------------------------------

TEST(Exceptions, TheFirstFailurePropagatesThroughGather) {
    asyncio::run([]() -> Coroutine<void> {
        std::vector<Coroutine<int>> tasks;
        tasks.push_back([]() -> Coroutine<int> {
            co_await asyncio::sleep(0.02);
            throw std::runtime_error("second");
        }());
        tasks.push_back([]() -> Coroutine<int> {
            co_await asyncio::sleep(0.001);
            throw std::runtime_error("first");
        }());
        try {
            co_await asyncio::gather(std::move(tasks));
            ADD_FAILURE() << "gather did not raise";
        } catch (const std::runtime_error& error) {
            EXPECT_STREQ(error.what(), "first");
        }
        co_await asyncio::sleep(0.03);  // the other child still runs to its end, as in asyncio
    }());
}

TEST(Exceptions, ReturnExceptionsCollectsThemInOrder) {
    const auto outcomes = asyncio::run([]() -> Coroutine<std::vector<asyncio::Outcome<int>>> {
        std::vector<Coroutine<int>> tasks;
        tasks.push_back([]() -> Coroutine<int> { co_return 1; }());
        tasks.push_back([]() -> Coroutine<int> {
            throw std::runtime_error("two");
            co_return 2;  // (makes it a coroutine: the raise happens when it runs)
        }());
        co_return co_await asyncio::gather(std::move(tasks), asyncio::return_exceptions);
    }());
    ASSERT_EQ(outcomes.size(), 2U);
    EXPECT_EQ(*outcomes[0].value, 1);
    EXPECT_FALSE(outcomes[1].value);
    EXPECT_THROW(std::rethrow_exception(outcomes[1].error), std::runtime_error);
}

TEST(Exceptions, ReturnExceptionsOverResultsOfDifferentTypesGivesATupleOfOutcomes) {
    const auto [number, text] =
        asyncio::run([]() -> Coroutine<std::tuple<asyncio::Outcome<int>, asyncio::Outcome<std::string>>> {
            auto failing = []() -> Coroutine<std::string> {
                throw std::runtime_error("no text");
                co_return "";  // a coroutine: it raises when it runs
            };
            co_return co_await asyncio::gather(
                asyncio::return_exceptions, []() -> Coroutine<int> { co_return 7; }(), failing());
        }());
    EXPECT_EQ(number.value, 7);
    EXPECT_FALSE(text.value);
    EXPECT_TRUE(asyncio::holds<std::runtime_error>(text.error));
}

// asyncio::invoke keeps a lambda and its captures in a frame of its own:
// the task outlives the statement that made it, and the lambda object, and
// still reads its captures (ASan would see a use after free otherwise).
TEST(Invoke, ALambdaWithCapturesOutlivesTheStatementThatMadeIt) {
    const int sum = asyncio::run([]() -> Coroutine<int> {
        int base = 40;
        asyncio::Task<int> task;
        {
            std::string label = "answer";
            task = asyncio::create_task(asyncio::invoke(
                [&base, label](int add) -> Coroutine<int> {
                    co_await asyncio::sleep(0);  // runs after the block has ended
                    co_return base + add + static_cast<int>(label.size()) - 6;
                },
                2));
        }
        co_return co_await task;
    }());
    EXPECT_EQ(sum, 42);
}

TEST(Exceptions, AFailedTaskNobodyAskedIsReportedAsNeverRetrieved) {
    CapturedErrors errors;
    asyncio::run([]() -> Coroutine<void> {
        (void)asyncio::create_task(
            []() -> Coroutine<void> {
                throw std::runtime_error("boom");
                co_return;
            }(),
            "doomed");
        co_await asyncio::sleep(0);
        co_await asyncio::sleep(0);
    }());
    ASSERT_EQ(errors.messages.size(), 1U);
    EXPECT_EQ(errors.messages[0],
              "Task exception was never retrieved\nfuture: <Task name='doomed' finished exception=boom>");
}

TEST(Exceptions, MainsExceptionComesOutOfRun) {
    EXPECT_THROW(asyncio::run([]() -> Coroutine<void> {
                     throw std::invalid_argument("bad");
                     co_return;  // a coroutine: raises when it runs
                 }()),
                 std::invalid_argument);
}

// --- misuse ---------------------------------------------------------------------------

TEST(Misuse, TheResultOfAPendingTaskIsNotSet) {
    asyncio::run([]() -> Coroutine<void> {
        auto task = asyncio::create_task([]() -> Coroutine<int> { co_return 1; }());
        try {
            (void)task.result();
            ADD_FAILURE();
        } catch (const asyncio::InvalidStateError& error) {
            EXPECT_STREQ(error.what(), "Result is not set.");
        }
        co_await task;
    }());
}

TEST(Misuse, RunInsideARunningLoopRaisesWithAsyncioMessage) {
    asyncio::run([]() -> Coroutine<void> {
        try {
            asyncio::run([]() -> Coroutine<void> { co_return; }());
            ADD_FAILURE();
        } catch (const asyncio::RuntimeError& error) {
            EXPECT_STREQ(error.what(), "asyncio.run() cannot be called from a running event loop");
        }
        co_return;
    }());
}

TEST(Misuse, AwaitingAFutureOfAnotherLoopRaises) {
    asyncio::EventLoop other;
    auto foreign = asyncio::make_future<int>(other);
    asyncio::run([&]() -> Coroutine<void> {
        try {
            (void)co_await foreign;
            ADD_FAILURE();
        } catch (const asyncio::RuntimeError& error) {
            EXPECT_NE(std::string(error.what()).find("got Future attached to a different loop"),
                      std::string::npos);
        }
    }());
}

// --- threads, stacks, signals -------------------------------------------------------------

TEST(EventLoop, CallSoonThreadsafeWakesASleepingLoop) {
    const auto started = Clock::now();
    const int value = asyncio::run([]() -> Coroutine<int> {
        auto& loop = asyncio::EventLoop::get_running_loop();
        auto future = asyncio::make_future<int>(loop);
        loop.call_later(30, [] {});  // without a wakeup the loop would sleep 30 s
        std::thread other([&loop, future] {
            std::this_thread::sleep_for(std::chrono::milliseconds{20});
            loop.call_soon_threadsafe([future] { future->set_result(7); });
        });
        const int got = co_await future;
        other.join();
        co_return got;
    }());
    EXPECT_EQ(value, 7);
    EXPECT_LT(Clock::now() - started, std::chrono::seconds{5});
}

namespace {
Coroutine<int> one() {
    co_return 1;
}
Coroutine<long> sum_of_synchronous_children(long n) {
    long total = 0;
    for (long i = 0; i < n; ++i) total += co_await one();
    co_return total;
}
}  // namespace

TEST(EventLoop, AMillionSynchronousAwaitsKeepTheStackFlat) {
    // Overflows an 8 MiB stack at -O0 and under ASan if each await nested a frame.
    EXPECT_EQ(asyncio::run(sum_of_synchronous_children(1'000'000)), 1'000'000);
}

TEST(EventLoop, CtrlCCancelsMainAndRunRaisesKeyboardInterrupt) {
    bool main_saw_cancel = false;
    EXPECT_THROW(asyncio::run([&]() -> Coroutine<void> {
                     ::raise(SIGINT);  // as if typed at the terminal
                     try {
                         co_await asyncio::sleep(10);
                     } catch (const asyncio::CancelledError&) {
                         main_saw_cancel = true;
                         throw;
                     }
                 }()),
                 asyncio::KeyboardInterrupt);
    EXPECT_TRUE(main_saw_cancel);
    struct sigaction now {};
    ::sigaction(SIGINT, nullptr, &now);
    EXPECT_EQ(now.sa_handler, SIG_DFL);  // restored
}

TEST(EventLoop, OnAModelThreadItReleasesTheGilWhileItWaits) {
    pyconc::runtime::Interpreter interpreter;
    pyconc::runtime::ThreadState loop_thread{interpreter, "loop"};
    std::atomic<int> ran{0};
    pyconc::threading::Thread worker(interpreter, "worker", [&](pyconc::runtime::ThreadState& t) {
        t.resume();
        ran = 1;
    });
    asyncio::run(
        [&]() -> Coroutine<void> {
            worker.start();
            co_await asyncio::sleep(0.05);  // the worker needs the GIL: it gets it while the loop sleeps
            EXPECT_EQ(ran.load(), 1);
        }(),
        {.thread = &loop_thread});
    worker.join();
}

TEST(EventLoop, DebugModeReportsASlowStep) {
    std::vector<std::string> slow;
    asyncio::run(
        [&]() -> Coroutine<void> {
            auto& loop = asyncio::EventLoop::get_running_loop();
            loop.set_slow_callback_duration(0.02);
            loop.set_slow_callback_reporter([&](const std::string& what, double) { slow.push_back(what); });
            co_await asyncio::create_task(
                []() -> Coroutine<void> {
                    std::this_thread::sleep_for(std::chrono::milliseconds{40});  // blocks the loop
                    co_return;
                }(),
                "hog");
        }(),
        {.debug = true});
    ASSERT_EQ(slow.size(), 1U);
    EXPECT_EQ(slow[0], "<Task finished name='hog'>");
}
