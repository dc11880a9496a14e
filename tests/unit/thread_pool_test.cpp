// concurrent.futures on model threads, and the bridge from the event loop.
#include "pyconc/concurrent/futures/thread_pool.hpp"

#include <atomic>
#include <chrono>
#include <stdexcept>
#include <thread>
#include <type_traits>
#include <vector>

#include <gtest/gtest.h>

#include "pyconc/asyncio.hpp"
#include "pyconc/concurrent/futures/wait.hpp"
#include "pyconc/runtime/interpreter.hpp"
#include "pyconc/runtime/thread_state.hpp"

namespace asyncio = pyconc::asyncio;
namespace futures = pyconc::concurrent::futures;
using pyconc::runtime::Interpreter;
using pyconc::runtime::ThreadState;
using Clock = std::chrono::steady_clock;

namespace {
void blocking_sleep(ThreadState& t, std::chrono::milliseconds how_long) {
    const ThreadState::AllowThreads released{t};  // time.sleep releases the GIL
    std::this_thread::sleep_for(how_long);
}
}  // namespace

TEST(Future, CancelSucceedsOnlyWhilePending) {
    futures::Future<int> pending;
    EXPECT_TRUE(pending.cancel());
    EXPECT_THROW((void)pending.result(), futures::CancelledError);
    futures::Future<int> running;
    EXPECT_TRUE(running.set_running_or_notify_cancel());
    EXPECT_FALSE(running.cancel());
    running.set_result(3);
    EXPECT_EQ(running.result(), 3);
}

TEST(Future, ResultTimesOut) {
    futures::Future<int> never;
    EXPECT_THROW((void)never.result(0.01), futures::TimeoutError);
}

TEST(ThreadPool, DefaultWorkersAreMin32CpusPlus4) {
    Interpreter interpreter;
    const futures::ThreadPoolExecutor pool{interpreter};
    EXPECT_EQ(pool.max_workers(), std::min<std::size_t>(32, std::thread::hardware_concurrency() + 4));
}

TEST(ThreadPool, MapGivesResultsInOrderAndSubmitDeliversExceptions) {
    Interpreter interpreter;
    futures::ThreadPoolExecutor pool{interpreter, 4};
    const std::vector<int> items{5, 1, 4, 2, 3};
    const auto squares = pool.map(
        [](ThreadState& t, int n) {
            blocking_sleep(t, std::chrono::milliseconds{n * 2});
            return n * n;
        },
        items);
    EXPECT_EQ(squares, (std::vector<int>{25, 1, 16, 4, 9}));
    auto failing = pool.submit([](ThreadState&) -> int { throw std::runtime_error("in the worker"); });
    EXPECT_THROW((void)failing->result(), std::runtime_error);
}

TEST(ThreadPool, BlockingWorkOverlapsBecauseSleepReleasesTheGil) {
    Interpreter interpreter;
    futures::ThreadPoolExecutor pool{interpreter, 8};
    const auto started = Clock::now();
    std::vector<std::shared_ptr<futures::Future<void>>> done;
    for (int i = 0; i < 8; ++i) {
        done.push_back(
            pool.submit([](ThreadState& t) { blocking_sleep(t, std::chrono::milliseconds{100}); }));
    }
    for (auto& future : done) future->result();
    EXPECT_LT(Clock::now() - started, std::chrono::milliseconds{700});  // 8 x 100 ms would be 800
}

TEST(ThreadPool, ShutdownRefusesNewWorkAndCancelFuturesCancelsTheQueue) {
    Interpreter interpreter;
    futures::ThreadPoolExecutor pool{interpreter, 1};
    std::atomic<bool> release{false};
    auto busy = pool.submit([&](ThreadState& t) {
        const ThreadState::AllowThreads released{t};
        while (!release) std::this_thread::sleep_for(std::chrono::milliseconds{1});
    });
    while (!busy->running()) std::this_thread::sleep_for(std::chrono::milliseconds{1});
    auto queued = pool.submit([](ThreadState&) { return 1; });  // waits behind busy: the only worker
    pool.shutdown(false, true);
    EXPECT_TRUE(queued->cancelled());
    try {
        (void)pool.submit([](ThreadState&) { return 2; });
        FAIL();
    } catch (const futures::RuntimeError& error) {
        EXPECT_STREQ(error.what(), "cannot schedule new futures after shutdown");
    }
    release = true;
    busy->result();
}

TEST(Bridge, RunInExecutorKeepsTheLoopFreeWhileTheWorkBlocks) {
    Interpreter interpreter;
    ThreadState loop_thread{interpreter, "loop"};
    int ticks = 0;
    const int result = asyncio::run(
        [&]() -> asyncio::Coroutine<int> {
            futures::ThreadPoolExecutor pool{interpreter, 2};
            auto ticker = [&]() -> asyncio::Coroutine<void> {
                for (int i = 0; i < 5; ++i) {
                    ++ticks;
                    co_await asyncio::sleep(0.01);
                }
            };
            auto beat = asyncio::create_task(ticker());
            const int got = co_await asyncio::run_in_executor(pool, [](ThreadState& t) {
                blocking_sleep(t, std::chrono::milliseconds{100});
                return 42;
            });
            co_await beat;
            pool.shutdown(true, false, &loop_thread);
            co_return got;
        }(),
        {.thread = &loop_thread});
    EXPECT_EQ(result, 42);
    EXPECT_EQ(ticks, 5);
}

// concurrent.futures.CancelledError and asyncio.CancelledError are two
// classes (bpo-32528): a work item cancelled in the pool reaches the
// awaiting task as asyncio's, as wrap_future hands it over.
TEST(Bridge, WorkCancelledInThePoolIsCancelledForTheAwaitingTask) {
    Interpreter interpreter;
    ThreadState loop_thread{interpreter, "loop"};
    static_assert(!std::is_base_of_v<asyncio::CancelledError, futures::CancelledError> &&
                  !std::is_base_of_v<futures::CancelledError, asyncio::CancelledError>);
    asyncio::run(
        [&]() -> asyncio::Coroutine<void> {
            futures::ThreadPoolExecutor pool{interpreter, 1};
            std::atomic<bool> release{false};
            auto busy = pool.submit([&](ThreadState& t) {
                const ThreadState::AllowThreads released{t};
                while (!release) std::this_thread::sleep_for(std::chrono::milliseconds{1});
            });
            const auto queued = [](ThreadState&) { return 1; };  // behind busy: the only worker
            auto waiting = asyncio::create_task(asyncio::run_in_executor(pool, queued));
            co_await asyncio::sleep(0);  // submitted
            pool.shutdown(false, true);  // cancel_futures: the queued item is cancelled in the pool
            EXPECT_THROW(co_await waiting, asyncio::CancelledError);
            release = true;
            pool.shutdown(true, false, &loop_thread);
        }(),
        {.thread = &loop_thread});
}

TEST(Bridge, ToThreadUsesTheDefaultExecutorAndCarriesExceptions) {
    Interpreter interpreter;
    ThreadState loop_thread{interpreter, "loop"};
    asyncio::run(
        []() -> asyncio::Coroutine<void> {
            EXPECT_EQ(co_await asyncio::to_thread([](ThreadState&) { return 7; }), 7);
            EXPECT_THROW(
                co_await asyncio::to_thread([](ThreadState&) -> int { throw std::logic_error("x"); }),
                std::logic_error);
        }(),
        {.thread = &loop_thread});
}

TEST(Bridge, ToThreadNeedsALoopOnAModelThread) {
    asyncio::run([]() -> asyncio::Coroutine<void> {
        EXPECT_THROW((void)asyncio::to_thread([](ThreadState&) { return 1; }), asyncio::RuntimeError);
        co_return;
    }());
}

TEST(Wait, AsCompletedGivesFuturesInTheOrderTheyFinish) {
    Interpreter interpreter;
    futures::ThreadPoolExecutor pool{interpreter, 3};
    std::vector<std::shared_ptr<futures::Future<int>>> submitted;
    for (const int ms : {60, 10, 35}) {
        submitted.push_back(pool.submit([ms](ThreadState& t) {
            blocking_sleep(t, std::chrono::milliseconds{ms});
            return ms;
        }));
    }
    std::vector<int> order;
    for (const auto& future : futures::as_completed(submitted)) order.push_back(future->result());
    EXPECT_EQ(order, (std::vector<int>{10, 35, 60}));
}

TEST(Wait, FirstCompletedReturnsBeforeTheRest) {
    Interpreter interpreter;
    futures::ThreadPoolExecutor pool{interpreter, 2};
    std::atomic<bool> release{false};
    auto quick = pool.submit([](ThreadState&) { return 1; });
    auto slow = pool.submit([&](ThreadState& t) {
        const ThreadState::AllowThreads released{t};
        while (!release) std::this_thread::sleep_for(std::chrono::milliseconds{1});
        return 2;
    });
    const auto [done, not_done] =
        futures::wait<int>({quick, slow}, std::nullopt, futures::ReturnWhen::first_completed);
    EXPECT_EQ(done.size(), 1U);
    EXPECT_EQ(not_done.size(), 1U);
    EXPECT_THROW((void)futures::as_completed<int>({slow}, 0.01).next(), futures::TimeoutError);
    release = true;
    EXPECT_EQ(slow->result(), 2);
}
