// CPython 3.12's Lib/test/test_asyncio/test_tasks.py, the cancellation
// cases, one TEST per CPython test (named in the comment above it), in our
// own code.
//
// Expressed differently, with why:
// - `test_utils.run_briefly(loop)` (one turn of a loop driven from outside)
//   is `co_await asyncio::sleep(0)` inside the test's main task: the same
//   one turn, seen from a task on that loop.
// - `t._fut_waiter is fut` and `t._must_cancel` (private state) are checked
//   through what they imply: which future a cancel() cancels, and how the
//   task ends.
// - `loop.run_until_complete(t)` raising CancelledError is `co_await t`
//   raising it.
#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "pyconc/asyncio.hpp"

namespace asyncio = pyconc::asyncio;
using asyncio::Coroutine;
using Clock = std::chrono::steady_clock;

namespace {

asyncio::EventLoop& loop() {
    return asyncio::EventLoop::get_running_loop();
}

// t.cancel() from inside t: asyncio.current_task().cancel()
bool cancel_current_task() {
    return asyncio::TaskBase::current_or_fail("current_task").cancel();
}

// asyncio.sleep(s) as a coroutine of its own, for gather.
Coroutine<void> sleep_task(double seconds) {
    co_await asyncio::sleep(seconds);
}

}  // namespace

// test_cancel_yield: cancelled between two sleep(0)s, it ends cancelled.
TEST(TaskTests, CancelYield) {
    asyncio::run([]() -> Coroutine<void> {
        auto t = asyncio::create_task([]() -> Coroutine<int> {
            co_await asyncio::sleep(0);
            co_await asyncio::sleep(0);
            co_return 12;
        }());
        co_await asyncio::sleep(0);  // start coro
        t.cancel();
        EXPECT_THROW(co_await t, asyncio::CancelledError);
        EXPECT_TRUE(t.done());
        EXPECT_TRUE(t.cancelled());
        EXPECT_FALSE(t.cancel());
    }());
}

// test_cancel_inner_future: the future it awaits is cancelled: so is it.
TEST(TaskTests, CancelInnerFuture) {
    asyncio::run([]() -> Coroutine<void> {
        auto f = asyncio::make_future<void>(loop());
        auto t = asyncio::create_task([](std::shared_ptr<asyncio::Future<void>> inner) -> Coroutine<int> {
            co_await inner;
            co_return 12;
        }(f));
        co_await asyncio::sleep(0);  // start task
        f->cancel();
        EXPECT_THROW(co_await t, asyncio::CancelledError);
        EXPECT_TRUE(f->cancelled());
        EXPECT_TRUE(t.cancelled());
    }());
}

// test_cancel_both_task_and_inner_future
TEST(TaskTests, CancelBothTaskAndInnerFuture) {
    asyncio::run([]() -> Coroutine<void> {
        auto f = asyncio::make_future<void>(loop());
        auto t = asyncio::create_task([](std::shared_ptr<asyncio::Future<void>> inner) -> Coroutine<int> {
            co_await inner;
            co_return 12;
        }(f));
        co_await asyncio::sleep(0);
        f->cancel();
        t.cancel();
        EXPECT_THROW(co_await t, asyncio::CancelledError);
        EXPECT_TRUE(t.done());
        EXPECT_TRUE(f->cancelled());
        EXPECT_TRUE(t.cancelled());
    }());
}

// test_cancel_task_catching: cancel() cancels the future it waits on now
// (fut2); the task catches CancelledError and returns 42: not cancelled.
TEST(TaskTests, CancelTaskCatching) {
    asyncio::run([]() -> Coroutine<void> {
        auto fut1 = asyncio::make_future<void>(loop());
        auto fut2 = asyncio::make_future<void>(loop());
        auto t = asyncio::create_task([](std::shared_ptr<asyncio::Future<void>> f1,
                                         std::shared_ptr<asyncio::Future<void>> f2) -> Coroutine<int> {
            co_await f1;
            try {
                co_await f2;
            } catch (const asyncio::CancelledError&) {
                co_return 42;
            }
            co_return 0;
        }(fut1, fut2));
        co_await asyncio::sleep(0);
        fut1->set_result();
        co_await asyncio::sleep(0);
        t.cancel();
        EXPECT_TRUE(fut2->cancelled());
        EXPECT_EQ(co_await t, 42);
        EXPECT_FALSE(t.cancelled());
    }());
}

// test_cancel_task_ignoring: it swallows the cancellation and goes on to
// await fut3, which is not cancelled.
TEST(TaskTests, CancelTaskIgnoring) {
    asyncio::run([]() -> Coroutine<void> {
        auto fut1 = asyncio::make_future<void>(loop());
        auto fut2 = asyncio::make_future<void>(loop());
        auto fut3 = asyncio::make_future<int>(loop());
        auto t = asyncio::create_task([](std::shared_ptr<asyncio::Future<void>> f1,
                                         std::shared_ptr<asyncio::Future<void>> f2,
                                         std::shared_ptr<asyncio::Future<int>> f3) -> Coroutine<int> {
            co_await f1;
            try {
                co_await f2;
            } catch (const asyncio::CancelledError&) {  // pass
            }
            const int res = co_await f3;
            co_return res;
        }(fut1, fut2, fut3));
        co_await asyncio::sleep(0);
        fut1->set_result();
        co_await asyncio::sleep(0);
        t.cancel();
        EXPECT_TRUE(fut2->cancelled());
        co_await asyncio::sleep(0);
        fut3->set_result(42);
        EXPECT_EQ(co_await t, 42);
        EXPECT_FALSE(fut3->cancelled());
        EXPECT_FALSE(t.cancelled());
    }());
}

// test_cancel_current_task: a task that cancels itself and then sleeps 100 s
// is cancelled at once, not after 100 s.
TEST(TaskTests, CancelCurrentTask) {
    const auto started = Clock::now();
    asyncio::run([]() -> Coroutine<void> {
        auto t = asyncio::create_task([]() -> Coroutine<int> {
            EXPECT_TRUE(cancel_current_task());
            co_await asyncio::sleep(100);  // the sleep should be cancelled immediately
            co_return 12;
        }());
        EXPECT_FALSE(t.cancelled());
        EXPECT_THROW(co_await t, asyncio::CancelledError);
        EXPECT_TRUE(t.done());
        EXPECT_TRUE(t.cancelled());
        EXPECT_FALSE(t.cancel());
    }());
    EXPECT_LT(std::chrono::duration<double>(Clock::now() - started).count(), 10.0);
}

// test_cancel_at_end: a task that cancels itself and returns at once ends
// cancelled, not with its result.
TEST(TaskTests, CancelAtEnd) {
    asyncio::run([]() -> Coroutine<void> {
        auto t = asyncio::create_task([]() -> Coroutine<int> {
            EXPECT_TRUE(cancel_current_task());
            co_return 12;
        }());
        EXPECT_FALSE(t.cancelled());
        EXPECT_THROW(co_await t, asyncio::CancelledError);
        EXPECT_TRUE(t.done());
        EXPECT_TRUE(t.cancelled());
        EXPECT_FALSE(t.cancel());
    }());
}

// test_cancel_awaited_task (bpo-34872): a task that cancels itself and then
// awaits a nested task cancels the nested task, and what that one awaits.
TEST(TaskTests, CancelAwaitedTask) {
    asyncio::run([]() -> Coroutine<void> {
        auto fut = asyncio::make_future<void>(loop());
        std::optional<asyncio::Task<void>> nested_task;
        auto task = asyncio::create_task([](std::shared_ptr<asyncio::Future<void>> inner,
                                            std::optional<asyncio::Task<void>>& nested) -> Coroutine<void> {
            // Create a sub-task and wait for it to run.
            nested = asyncio::create_task(
                [](std::shared_ptr<asyncio::Future<void>> f) -> Coroutine<void> { co_await f; }(inner));
            co_await asyncio::sleep(0);
            cancel_current_task();  // request the current task to be cancelled
            co_await *nested;       // blocks on the nested task, which should be cancelled at once
        }(fut, nested_task));
        EXPECT_THROW(co_await task, asyncio::CancelledError);
        EXPECT_TRUE(task.cancelled());
        EXPECT_TRUE(nested_task->cancelled());
        EXPECT_TRUE(fut->cancelled());
    }());
}

// test_cancel_gather_2: a task awaiting gather(sleep(0.05),
// return_exceptions=True) in a loop, cancelled from outside: the
// cancellation reaches the caller of gather, even with return_exceptions.
TEST(TaskTests, CancelGather2) {
    EXPECT_THROW(asyncio::run([]() -> Coroutine<void> {
                     auto qwe = asyncio::create_task([]() -> Coroutine<void> {
                         double time = 0;
                         while (true) {
                             time += 0.05;
                             std::vector<Coroutine<void>> sleeps;
                             sleeps.push_back(sleep_task(0.05));
                             (void)co_await asyncio::gather(std::move(sleeps), asyncio::return_exceptions);
                             if (time > 1) co_return;
                         }
                     }());
                     co_await asyncio::sleep(0.2);
                     qwe.cancel();
                     co_await qwe;
                 }()),
                 asyncio::CancelledError);
}

// _GatheringFuture.cancel() (tasks.py): cancelling the task that awaits a
// gather cancels the children, and the task sees CancelledError only after
// they have finished cancelling (each ran its own handler first).
TEST(TaskTests, CancellingAGatherLetsTheChildrenFinishCancellingFirst) {
    std::vector<std::string> log;
    asyncio::run([](std::vector<std::string>& events) -> Coroutine<void> {
        auto child = [](std::vector<std::string>& out, std::string name) -> Coroutine<void> {
            try {
                co_await asyncio::sleep(10);
            } catch (const asyncio::CancelledError&) {
                out.push_back(name + " cancelled");
                throw;
            }
        };
        auto parent =
            asyncio::create_task([](std::vector<std::string>& out, auto make_child) -> Coroutine<void> {
                std::vector<Coroutine<void>> children;
                children.push_back(make_child(out, "a"));
                children.push_back(make_child(out, "b"));
                try {
                    co_await asyncio::gather(std::move(children));
                } catch (const asyncio::CancelledError&) {
                    out.emplace_back("parent cancelled");
                    throw;
                }
            }(events, child));
        co_await asyncio::sleep(0.01);
        EXPECT_TRUE(parent.cancel());
        EXPECT_THROW(co_await parent, asyncio::CancelledError);
        EXPECT_TRUE(parent.cancelled());
    }(log));
    ASSERT_EQ(log.size(), 3U);
    EXPECT_EQ(log.back(), "parent cancelled");
}
