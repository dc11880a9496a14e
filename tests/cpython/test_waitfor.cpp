// CPython 3.12's Lib/test/test_asyncio/test_waitfor.py, case by case: each
// TEST reproduces the scenario and the assertions of the CPython test named
// in the comment above it, in our own code.
//
// All 19 cases are here (test_wait_for_timeout_less_then_0_or_0's two
// subtests are one TEST looping over them). Expressed differently, with why:
// - `except CancelledError: await ...; raise`: C++ cannot await in a catch
//   block, so the handler notes it, the await follows, then the rethrow.
// - `cm.exception.__context__` is the exception nested in the TimeoutError
//   (std::rethrow_if_nested): wait_for raises it `from` the CancelledError.
#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "support.hpp"

using namespace cpython_tests;  // NOLINT(google-build-using-namespace): the tests' vocabulary

namespace {

constexpr double epsilon = 0.0001;      // passes "timeout > 0", costs nothing
constexpr double long_timeout = 300.0;  // support.LONG_TIMEOUT

// class SlowTask: runs for task_timeout seconds, ignoring cancel requests.
struct SlowTask {
    static constexpr double task_timeout = 0.2;
    bool exited = false;

    Coroutine<void> run() {
        const double exit_at = asyncio::EventLoop::time() + task_timeout;
        for (;;) {
            const double to_sleep = exit_at - asyncio::EventLoop::time();
            if (to_sleep <= 0) break;
            try {
                co_await asyncio::sleep(to_sleep);
            } catch (const asyncio::CancelledError&) {
            }
        }
        exited = true;
    }
};

struct FooException : std::runtime_error {
    FooException() : std::runtime_error("FooException") {}
};

}  // namespace

// --- AsyncioWaitForTest ------------------------------------------------------------------

// test_asyncio_wait_for_cancelled: cancelling wait_for waits for the task it runs.
TEST(AsyncioWaitForTest, AsyncioWaitForCancelled) {
    run_test([]() -> Coroutine<void> {
        SlowTask t;
        auto wait_for_task = asyncio::create_task(asyncio::wait_for(t.run(), SlowTask::task_timeout * 2));
        co_await asyncio::sleep(0);
        wait_for_task.cancel();
        // A named vector: g++ 12 fails on a braced list inside co_await ("array used as initializer").
        const std::vector<asyncio::Task<void>> waiting{wait_for_task};
        co_await asyncio::wait(waiting);
        EXPECT_TRUE(t.exited);
    });
}

// test_asyncio_wait_for_timeout
TEST(AsyncioWaitForTest, AsyncioWaitForTimeout) {
    run_test([]() -> Coroutine<void> {
        SlowTask t;
        try {
            co_await asyncio::wait_for(t.run(), SlowTask::task_timeout / 2);
        } catch (const asyncio::TimeoutError&) {
        }
        EXPECT_TRUE(t.exited);
    });
}

// test_wait_for_timeout_less_then_0_or_0_future_done
TEST(AsyncioWaitForTest, WaitForTimeoutLessThen0Or0FutureDone) {
    run_test([]() -> Coroutine<void> {
        auto fut = asyncio::make_future<std::string>(loop());
        fut->set_result("done");
        const std::string ret = co_await asyncio::wait_for(fut, 0);
        EXPECT_EQ(ret, "done");
        EXPECT_TRUE(fut->done());
    });
}

// test_wait_for_timeout_less_then_0_or_0_coroutine_do_not_started
TEST(AsyncioWaitForTest, WaitForTimeoutLessThen0Or0CoroutineDoNotStarted) {
    run_test([]() -> Coroutine<void> {
        bool foo_started = false;
        const auto foo = [](bool& started) -> Coroutine<void> {
            started = true;
            co_return;
        };
        EXPECT_THROW(co_await asyncio::wait_for(foo(foo_started), 0), asyncio::TimeoutError);
        EXPECT_FALSE(foo_started);
    });
}

// test_wait_for_timeout_less_then_0_or_0 (subtests timeout=0 and timeout=-1)
TEST(AsyncioWaitForTest, WaitForTimeoutLessThen0Or0) {
    run_test([]() -> Coroutine<void> {
        for (const double timeout : {0.0, -1.0}) {
            SCOPED_TRACE(timeout);
            bool foo_running = false;
            auto started = asyncio::make_future<void>(loop());
            const auto foo = [](bool& running,
                                std::shared_ptr<asyncio::Future<void>> go) -> Coroutine<std::string> {
                running = true;
                go->set_result();
                try {
                    co_await asyncio::sleep(10);
                } catch (...) {
                    running = false;  // finally
                    throw;
                }
                running = false;
                co_return "done";
            };
            auto fut = asyncio::create_task(foo(foo_running, started));
            co_await started;
            EXPECT_THROW(co_await asyncio::wait_for(fut, timeout), asyncio::TimeoutError);
            EXPECT_TRUE(fut.done());
            EXPECT_TRUE(fut.cancelled());  // cancelled by the timeout
            EXPECT_FALSE(foo_running);
        }
    });
}

// test_wait_for: the task awaited is cancelled at the timeout.
TEST(AsyncioWaitForTest, WaitFor) {
    run_test([]() -> Coroutine<void> {
        bool foo_running = false;
        const auto foo = [](bool& running) -> Coroutine<std::string> {
            running = true;
            try {
                co_await asyncio::sleep(long_timeout);
            } catch (...) {
                running = false;
                throw;
            }
            running = false;
            co_return "done";
        };
        auto fut = asyncio::create_task(foo(foo_running));
        EXPECT_THROW(co_await asyncio::wait_for(fut, 0.1), asyncio::TimeoutError);
        EXPECT_TRUE(fut.done());
        EXPECT_TRUE(fut.cancelled());
        EXPECT_FALSE(foo_running);
    });
}

// test_wait_for_blocking: timeout=None waits as long as it takes.
TEST(AsyncioWaitForTest, WaitForBlocking) {
    run_test([]() -> Coroutine<void> {
        const auto coro = []() -> Coroutine<std::string> { co_return "done"; };
        EXPECT_EQ(co_await asyncio::wait_for(coro(), std::nullopt), "done");
    });
}

// test_wait_for_race_condition: the future is set by a callback scheduled
// before wait_for starts.
TEST(AsyncioWaitForTest, WaitForRaceCondition) {
    run_test([]() -> Coroutine<void> {
        auto fut = asyncio::make_future<std::string>(loop());
        auto task = asyncio::wait_for(fut, 0.2);
        loop().call_soon([fut] { fut->set_result("ok"); });
        EXPECT_EQ(co_await std::move(task), "ok");
    });
}

// test_wait_for_cancellation_race_condition: the coroutine catches the
// timeout's cancellation and returns: its result is wait_for's.
TEST(AsyncioWaitForTest, WaitForCancellationRaceCondition) {
    run_test([]() -> Coroutine<void> {
        const auto inner = []() -> Coroutine<int> {
            EXPECT_THROW(co_await asyncio::sleep(1), asyncio::CancelledError);
            co_return 1;
        };
        EXPECT_EQ(co_await asyncio::wait_for(inner(), 0.01), 1);
    });
}

namespace {
// inner() of the two tests below: takes a moment to finish cancelling.
Coroutine<void> slow_to_cancel(bool& task_done) {
    bool cancelled = false;
    try {
        co_await asyncio::sleep(10);
    } catch (const asyncio::CancelledError&) {
        cancelled = true;
    }
    if (cancelled) {
        try {
            co_await asyncio::sleep(epsilon);
        } catch (...) {
            task_done = true;
            throw;
        }
        task_done = true;
        throw asyncio::CancelledError();
    }
    task_done = true;
}
}  // namespace

// test_wait_for_waits_for_task_cancellation
TEST(AsyncioWaitForTest, WaitForWaitsForTaskCancellation) {
    run_test([]() -> Coroutine<void> {
        bool task_done = false;
        auto inner_task = asyncio::create_task(slow_to_cancel(task_done));
        try {
            co_await asyncio::wait_for(inner_task, epsilon);
            ADD_FAILURE() << "no TimeoutError";
        } catch (const asyncio::TimeoutError& error) {
            EXPECT_TRUE(holds<asyncio::CancelledError>(cause_of(error)));
        }
        EXPECT_TRUE(task_done);
    });
}

// test_wait_for_waits_for_task_cancellation_w_timeout_0
TEST(AsyncioWaitForTest, WaitForWaitsForTaskCancellationWTimeout0) {
    run_test([]() -> Coroutine<void> {
        bool task_done = false;
        const auto foo = [](bool& done) -> Coroutine<void> {
            auto inner_task = asyncio::create_task(slow_to_cancel(done));
            co_await asyncio::sleep(epsilon);
            co_await asyncio::wait_for(inner_task, 0);
        };
        try {
            co_await foo(task_done);
            ADD_FAILURE() << "no TimeoutError";
        } catch (const asyncio::TimeoutError& error) {
            EXPECT_TRUE(holds<asyncio::CancelledError>(cause_of(error)));
        }
        EXPECT_TRUE(task_done);
    });
}

// test_wait_for_reraises_exception_during_cancellation
TEST(AsyncioWaitForTest, WaitForReraisesExceptionDuringCancellation) {
    run_test([]() -> Coroutine<void> {
        const auto foo = []() -> Coroutine<void> {
            auto inner_task = asyncio::create_task([]() -> Coroutine<void> {
                try {
                    co_await asyncio::sleep(0.2);
                } catch (...) {
                }
                throw FooException();  // finally: raise FooException
            }());
            co_await asyncio::wait_for(inner_task, epsilon);
        };
        EXPECT_THROW(co_await foo(), FooException);
    });
}

namespace {
// _test_cancel_wait_for: cancelling the wait must also cancel the task (bpo-23219).
Coroutine<void> cancel_wait_for(std::optional<double> timeout) {
    auto blocked = asyncio::make_future<void>(loop());  // never set
    auto task = asyncio::create_task(
        [](std::shared_ptr<asyncio::Future<void>> fut) -> Coroutine<void> { co_await fut; }(blocked));
    auto wait = asyncio::create_task(asyncio::wait_for(task, timeout));
    loop().call_soon([wait] { wait.cancel(); });
    EXPECT_THROW(co_await wait, asyncio::CancelledError);
    EXPECT_TRUE(task.cancelled());
}
}  // namespace

// test_cancel_blocking_wait_for
TEST(AsyncioWaitForTest, CancelBlockingWaitFor) {
    run_test([]() -> Coroutine<void> { co_await cancel_wait_for(std::nullopt); });
}

// test_cancel_wait_for
TEST(AsyncioWaitForTest, CancelWaitFor) {
    run_test([]() -> Coroutine<void> { co_await cancel_wait_for(60.0); });
}

// test_wait_for_cancel_suppressed (GH-86296): a coroutine that swallows the
// cancellation and returns a value: wait_for returns it.
TEST(AsyncioWaitForTest, WaitForCancelSuppressed) {
    run_test([]() -> Coroutine<void> {
        const auto return_42 = []() -> Coroutine<int> {
            try {
                co_await asyncio::sleep(10);
            } catch (const asyncio::CancelledError&) {
                co_return 42;
            }
            co_return 0;
        };
        EXPECT_EQ(co_await asyncio::wait_for(return_42(), 0.1), 42);
    });
}

// test_wait_for_issue86296: a cancel() that arrives as the inner task
// completes still cancels the task that awaits wait_for.
TEST(AsyncioWaitForTest, WaitForIssue86296) {
    run_test([]() -> Coroutine<void> {
        auto inner_task = asyncio::create_task([]() -> Coroutine<std::string> { co_return "done"; }());
        bool reached_end = false;
        auto task = asyncio::create_task(asyncio::invoke(
            [inner_task](bool& reached) -> Coroutine<void> {
                co_await asyncio::wait_for(inner_task, 100);
                co_await asyncio::sleep(1);
                reached = true;
            },
            std::ref(reached_end)));
        EXPECT_FALSE(task.done());
        co_await asyncio::sleep(0);  // run the task
        task.cancel();
        EXPECT_THROW(co_await task, asyncio::CancelledError);
        EXPECT_TRUE(inner_task.done());
        EXPECT_EQ(co_await inner_task, "done");
        EXPECT_FALSE(reached_end);
    });
}

// --- WaitForShieldTests -------------------------------------------------------------------

namespace {
Coroutine<std::string> sleep_then_done(double seconds) {
    co_await asyncio::sleep(seconds);
    co_return "done";
}
}  // namespace

// test_zero_timeout: the shield's outer future is cancelled at once; the task runs on.
TEST(WaitForShieldTests, ZeroTimeout) {
    run_test([]() -> Coroutine<void> {
        auto task = asyncio::create_task(sleep_then_done(0.01));
        auto shielded_task = asyncio::shield(task);
        EXPECT_THROW(co_await asyncio::wait_for(shielded_task, 0), asyncio::TimeoutError);
        EXPECT_FALSE(task.done());
        EXPECT_FALSE(task.cancelled());
        EXPECT_TRUE(shielded_task->cancelled());
        co_await asyncio::sleep(0.1);
        EXPECT_TRUE(task.done());
    });
}

// test_none_timeout
TEST(WaitForShieldTests, NoneTimeout) {
    run_test([]() -> Coroutine<void> {
        auto task = asyncio::create_task(sleep_then_done(0.1));
        co_await asyncio::wait_for(asyncio::shield(task), std::nullopt);
        EXPECT_TRUE(task.done());
        EXPECT_EQ(co_await task, "done");
    });
}

// test_shielded_timeout: shield keeps the timeout's cancellation from the task.
TEST(WaitForShieldTests, ShieldedTimeout) {
    run_test([]() -> Coroutine<void> {
        auto task = asyncio::create_task(sleep_then_done(0.1));
        EXPECT_THROW(co_await asyncio::wait_for(asyncio::shield(task), 0.01), asyncio::TimeoutError);
        EXPECT_FALSE(task.done());
        EXPECT_FALSE(task.cancelled());
        EXPECT_EQ(co_await task, "done");
    });
}
