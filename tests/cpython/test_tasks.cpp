// CPython 3.12's Lib/test/test_asyncio/test_tasks.py: its cancellation
// and ordering cases, and the cases of the API they use (wait,
// as_completed, shield, gather, current_task), one TEST per CPython test
// (named in the comment above it; a few TESTs cover two, and say so), in
// our own code. 58 CPython cases in 56 TESTs.
//
// Not ported: test_tasks.py's other ~110 cases are about what the model
// does not have (contextvars, the C/Python Task classes, get_stack and
// tracebacks, repr of coroutine objects, generators and other awaitables,
// debug-mode logging, run_coroutine_threadsafe, the deprecated global loop,
// several loops at once), or pass invalid arguments Python checks at run
// time and C++ refuses to compile (test_wait_errors' return_when=-1).
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
// - Tests on `new_test_loop(gen)` (a fake clock) check loop.time() after
//   each wait; here the clock is real and only the outcomes are asserted.
// - `exc.args == ('my message',)` is CancelledError::message(); non-string
//   messages (cancel(5)) cannot be written: cancel() takes a string.
// - `raise X from exc` is std::throw_with_nested; the cause is read back
//   with std::rethrow_if_nested.
// - asyncio's sets of done/pending tasks are vectors in the order given.
#include <algorithm>
#include <chrono>
#include <exception>
#include <memory>
#include <optional>
#include <set>
#include <stdexcept>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include <gtest/gtest.h>

#include "support.hpp"

using namespace cpython_tests;  // NOLINT(google-build-using-namespace): the tests' vocabulary
using Clock = std::chrono::steady_clock;

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

// --- cancelling(), uncancel(), cancel(msg) --------------------------------------------------

namespace {
// asyncio.sleep(delay, result)
template <class T>
Coroutine<T> sleep_then_return(double seconds, T result) {
    co_await asyncio::sleep(seconds);
    co_return result;
}
Coroutine<int> await_future(std::shared_ptr<asyncio::Future<int>> future) {
    co_return co_await future;
}
// [a, b]: a list of tasks or futures. A braced list inside a co_await
// expression does not compile with g++ 12 ("array used as initializer").
template <class F, class... More>
std::vector<F> listed(F first, More... more) {
    return std::vector<F>{std::move(first), std::move(more)...};
}
}  // namespace

// test_cancelling: every cancel() counts; repr says "cancelling".
TEST(TaskTests, Cancelling) {
    run_test([]() -> Coroutine<void> {
        auto t = asyncio::create_task(sleep_task(10));
        EXPECT_EQ(t.cancelling(), 0);
        EXPECT_FALSE(contains(t.repr(), " cancelling "));
        EXPECT_TRUE(t.cancel());
        EXPECT_TRUE(t.cancelling() != 0);
        EXPECT_TRUE(contains(t.repr(), " cancelling "));
        EXPECT_TRUE(t.cancel());  // a second request is counted too (3.12)
        EXPECT_THROW(co_await t, asyncio::CancelledError);
    });
}

// test_uncancel_basic: a task that takes the cancellation back goes on.
TEST(TaskTests, UncancelBasic) {
    run_test([]() -> Coroutine<void> {
        auto t = asyncio::create_task([]() -> Coroutine<void> {
            bool cancelled = false;
            try {
                co_await asyncio::sleep(10);
            } catch (const asyncio::CancelledError&) {
                cancelled = true;
            }
            if (cancelled) {
                current_task().uncancel();
                co_await asyncio::sleep(10);
            }
        }());
        co_await asyncio::sleep(0.01);
        EXPECT_TRUE(t.cancel());  // cancel the first sleep
        EXPECT_TRUE(contains(t.repr(), " cancelling "));
        EXPECT_EQ(t.cancelling(), 1);
        EXPECT_FALSE(t.cancelled());
        co_await asyncio::sleep(0.01);
        EXPECT_FALSE(contains(t.repr(), " cancelling "));  // after uncancel()
        EXPECT_EQ(t.cancelling(), 0);
        EXPECT_FALSE(t.cancelled());
        EXPECT_TRUE(t.cancel());  // cancel the second sleep
        EXPECT_EQ(t.cancelling(), 1);
        EXPECT_FALSE(t.cancelled());
        EXPECT_THROW(co_await t, asyncio::CancelledError);
        EXPECT_TRUE(t.cancelled());
        EXPECT_TRUE(t.done());
        t.uncancel();  // no effect once done
        EXPECT_TRUE(t.cancelled());
        EXPECT_TRUE(t.done());
    });
}

namespace {
struct RequestOutcome {
    bool timed_out = false;
    bool structured_block_finished = false;
    bool outer_code_reached = false;
};
// make_request_with_timeout: a hand-made timeout with call_later, cancel()
// and uncancel(), following the five rules of the CPython test.
Coroutine<RequestOutcome> make_request_with_timeout(double sleep, double timeout) {
    asyncio::TaskBase& task = current_task();
    RequestOutcome outcome;
    const asyncio::TimerHandle timeout_handle = task.loop().call_later(timeout, [&outcome, &task] {
        outcome.timed_out = true;
        task.cancel();
    });
    try {
        std::exception_ptr error;
        try {
            co_await asyncio::sleep(sleep);  // the structured block
            outcome.structured_block_finished = true;
        } catch (...) {
            error = std::current_exception();
        }
        timeout_handle.cancel();  // finally:
        if (outcome.timed_out && task.uncancel() == 0 && holds<asyncio::CancelledError>(error)) {
            throw asyncio::TimeoutError();
        }
        if (error) std::rethrow_exception(error);
    } catch (const asyncio::TimeoutError&) {
        EXPECT_TRUE(outcome.timed_out);
    }
    outcome.outer_code_reached = true;  // outer code, not affected by the timeout
    co_await asyncio::sleep(0);
    co_return outcome;
}
}  // namespace

// test_uncancel_structured_blocks
TEST(TaskTests, UncancelStructuredBlocks) {
    run_test([]() -> Coroutine<void> {
        auto t1 = asyncio::create_task(make_request_with_timeout(10.0, 0.1));
        const RequestOutcome timed = co_await t1;
        EXPECT_TRUE(timed.timed_out);
        EXPECT_FALSE(timed.structured_block_finished);  // it was cancelled
        EXPECT_TRUE(timed.outer_code_reached);          // uncancelled after the block
        EXPECT_EQ(t1.cancelling(), 0);
        auto t2 = asyncio::create_task(make_request_with_timeout(0, 10.0));
        const RequestOutcome in_time = co_await t2;
        EXPECT_FALSE(in_time.timed_out);
        EXPECT_TRUE(in_time.structured_block_finished);
        EXPECT_TRUE(in_time.outer_code_reached);
        EXPECT_EQ(t2.cancelling(), 0);
    });
}

// test_cancel: cancelled by a callback while it sleeps.
TEST(TaskTests, Cancel) {
    run_test([]() -> Coroutine<void> {
        auto t = asyncio::create_task(sleep_then_return(10.0, 12));
        loop().call_soon([t] { t.cancel(); });
        EXPECT_THROW(co_await t, asyncio::CancelledError);
        EXPECT_TRUE(t.done());
        EXPECT_TRUE(t.cancelled());
        EXPECT_FALSE(t.cancel());
    });
}

// test_cancel_with_message_then_future_result and
// test_cancel_with_message_then_future_exception: the message reaches
// whoever asks the cancelled task for its result or its exception.
TEST(TaskTests, CancelWithMessageThenFutureResultAndException) {
    for (const std::string message : {"", "my message"}) {
        for (const bool ask_exception : {false, true}) {
            SCOPED_TRACE(message + (ask_exception ? " exception()" : " result()"));
            try {
                run_test([&]() -> Coroutine<void> {
                    auto task = asyncio::create_task(sleep_task(10));
                    co_await asyncio::sleep(0);
                    task.cancel(message);
                    const std::vector<asyncio::Task<void>> waiting{task};
                    co_await asyncio::wait(waiting);
                    if (ask_exception) {
                        (void)task.exception();
                    } else {
                        task.result();
                    }
                });
                ADD_FAILURE() << "no CancelledError";
            } catch (const asyncio::CancelledError& error) {
                EXPECT_EQ(error.message(), message);
            }
        }
    }
}

// test_cancellation_exception_context: cancel(msg) from a callback; the
// ValueError raised from the CancelledError carries it as its cause.
TEST(TaskTests, CancellationExceptionContext) {
    try {
        run_test([]() -> Coroutine<void> {
            auto fut = asyncio::make_future<void>(loop());
            auto inner_task =
                asyncio::create_task([](std::shared_ptr<asyncio::Future<void>> started) -> Coroutine<void> {
                    started->set_result();
                    co_await asyncio::sleep(10);
                }(fut));
            co_await fut;
            loop().call_soon([inner_task] { inner_task.cancel("msg"); });
            try {
                co_await inner_task;
            } catch (const asyncio::CancelledError&) {
                std::throw_with_nested(asyncio::ValueError("cancelled"));  // raise ValueError(...) from ex
            }
        });
        ADD_FAILURE() << "no ValueError";
    } catch (const asyncio::ValueError& error) {
        EXPECT_STREQ(error.what(), "cancelled");
        try {
            std::rethrow_if_nested(error);
            ADD_FAILURE() << "no cause";
        } catch (const asyncio::CancelledError& cause) {
            EXPECT_EQ(cause.message(), "msg");
        }
    }
}

// test_cancel_with_message_before_starting_task
TEST(TaskTests, CancelWithMessageBeforeStartingTask) {
    try {
        run_test([]() -> Coroutine<void> {
            auto task = asyncio::create_task(sleep_task(10));
            task.cancel("my message");  // no sleep(0) first: it never starts
            const std::vector<asyncio::Task<void>> waiting{task};
            co_await asyncio::wait(waiting);
            (void)task.exception();
        });
        ADD_FAILURE() << "no CancelledError";
    } catch (const asyncio::CancelledError& error) {
        EXPECT_EQ(error.message(), "my message");
    }
}

// test_cancel_gather_1 (bpo-26923): a gather whose children are all done
// refuses cancel(), and its result stands. (ensure_future(gather_future)
// is the gathering future itself.)
TEST(TaskTests, CancelGather1) {
    run_test([]() -> Coroutine<void> {
        auto fut = asyncio::make_future<int>(loop());
        std::vector<Coroutine<int>> children;
        children.push_back(await_future(fut));  // fut -> child_coro: the gather ends after fut
        auto gather_task = asyncio::gather(std::move(children));
        co_await asyncio::sleep(0);
        std::optional<bool> cancel_result;
        fut->add_done_callback([&] { cancel_result = gather_task.cancel(); });
        fut->set_result(42);  // the callback runs once fut is done
        const std::vector<int> result = co_await gather_task;
        EXPECT_EQ(cancel_result, std::optional<bool>{false});
        EXPECT_FALSE(gather_task.cancelled());
        EXPECT_EQ(result, std::vector<int>{42});
    });
}

// --- wait -----------------------------------------------------------------------------------
// The CPython tests run these on a loop with a fake clock and check
// loop.time() after each; here the clock is real and only the outcomes are
// asserted (timing is for benchmarks).

// test_wait
TEST(TaskTests, Wait) {
    run_test([]() -> Coroutine<void> {
        auto a = asyncio::create_task(sleep_task(0.1));
        auto b = asyncio::create_task(sleep_task(0.15));
        const auto foo = [](std::vector<asyncio::Task<void>> fs) -> Coroutine<int> {
            const auto [done, pending] = co_await asyncio::wait(std::move(fs));
            EXPECT_EQ(done.size(), 2U);
            EXPECT_TRUE(pending.empty());
            co_return 42;
        };
        EXPECT_EQ(co_await asyncio::create_task(foo(listed(b, a))), 42);
        EXPECT_EQ(co_await asyncio::create_task(foo(listed(b, a))), 42);  // again: a different path, no wait
    });
}

// test_wait_duplicate_coroutines: the same task twice.
TEST(TaskTests, WaitDuplicateCoroutines) {
    run_test([]() -> Coroutine<void> {
        auto c = asyncio::create_task(sleep_then_return<std::string>(0, "test"));
        auto spam = asyncio::create_task(sleep_then_return<std::string>(0, "spam"));
        const std::vector<asyncio::Task<std::string>> fs{c, c, spam};
        const auto [done, pending] = co_await asyncio::wait(fs);
        EXPECT_TRUE(pending.empty());
        std::set<std::string> results;
        for (const auto& f : done) results.insert(f.result());
        EXPECT_EQ(results, (std::set<std::string>{"test", "spam"}));
    });
}

// test_wait_errors: an empty set is a ValueError (return_when=-1 cannot be written in C++).
TEST(TaskTests, WaitErrors) {
    run_test([]() -> Coroutine<void> {
        EXPECT_THROW(co_await asyncio::wait(std::vector<asyncio::Task<void>>{}), asyncio::ValueError);
    });
}

// test_wait_first_completed
TEST(TaskTests, WaitFirstCompleted) {
    run_test([]() -> Coroutine<void> {
        auto a = asyncio::create_task(sleep_task(10.0));
        auto b = asyncio::create_task(sleep_task(0.1));
        const auto [done, pending] = co_await asyncio::wait(listed(b, a), asyncio::FIRST_COMPLETED);
        EXPECT_EQ(done, listed(b));
        EXPECT_EQ(pending, listed(a));
        EXPECT_FALSE(a.done());
        EXPECT_TRUE(b.done());
        a.cancel();
    });
}

// test_wait_really_done: tasks done by the time wait() looks are done,
// even if their callbacks have not run yet.
TEST(TaskTests, WaitReallyDone) {
    run_test([]() -> Coroutine<void> {
        auto a = asyncio::create_task(sleep_task(0));
        auto b = asyncio::create_task([]() -> Coroutine<void> {
            co_await asyncio::sleep(0);
            co_await asyncio::sleep(0);
        }());
        const auto [done, pending] = co_await asyncio::wait(listed(b, a), asyncio::FIRST_COMPLETED);
        EXPECT_EQ(done.size(), 2U);
        EXPECT_TRUE(pending.empty());
        EXPECT_TRUE(a.done());
        EXPECT_TRUE(b.done());
    });
}

// test_wait_first_exception: a task that has failed already ends the wait.
TEST(TaskTests, WaitFirstException) {
    run_test([]() -> Coroutine<void> {
        auto a = asyncio::create_task(sleep_task(10.0));
        auto b = asyncio::create_task([]() -> Coroutine<void> {
            throw ZeroDivisionError();
            co_return;
        }());
        const auto [done, pending] = co_await asyncio::wait(listed(b, a), asyncio::FIRST_EXCEPTION);
        EXPECT_EQ(done, listed(b));
        EXPECT_EQ(pending, listed(a));
        a.cancel();
    });
}

// test_wait_first_exception_in_wait: one that fails while waited for ends it.
TEST(TaskTests, WaitFirstExceptionInWait) {
    run_test([]() -> Coroutine<void> {
        auto a = asyncio::create_task(sleep_task(10.0));
        auto b = asyncio::create_task([]() -> Coroutine<void> {
            co_await asyncio::sleep(0.01);
            throw ZeroDivisionError();
        }());
        const auto [done, pending] = co_await asyncio::wait(listed(b, a), asyncio::FIRST_EXCEPTION);
        EXPECT_EQ(done, listed(b));
        EXPECT_EQ(pending, listed(a));
        a.cancel();
    });
}

// test_wait_with_exception: ALL_COMPLETED waits for the rest after a failure.
TEST(TaskTests, WaitWithException) {
    run_test([]() -> Coroutine<void> {
        auto a = asyncio::create_task(sleep_task(0.1));
        auto b = asyncio::create_task([]() -> Coroutine<void> {
            co_await asyncio::sleep(0.15);
            throw ZeroDivisionError();
        }());
        for (int round = 0; round < 2; ++round) {
            const auto [done, pending] = co_await asyncio::wait(listed(b, a));
            EXPECT_EQ(done.size(), 2U);
            EXPECT_TRUE(pending.empty());
            EXPECT_EQ(std::count_if(done.begin(), done.end(),
                                    [](const auto& f) { return f.exception() != nullptr; }),
                      1);
        }
    });
}

// test_wait_with_timeout and test_wait_concurrent_complete: the timeout
// ends the wait with what is done by then.
TEST(TaskTests, WaitWithTimeout) {
    run_test([]() -> Coroutine<void> {
        auto a = asyncio::create_task(sleep_task(0.1));
        auto b = asyncio::create_task(sleep_task(0.15));
        const auto [done, pending] = co_await asyncio::wait(listed(b, a), asyncio::ALL_COMPLETED, 0.11);
        EXPECT_EQ(done, listed(a));
        EXPECT_EQ(pending, listed(b));
        co_await asyncio::wait(listed(a, b));
    });
}

// test_wait_generator: ten tasks, all completed.
TEST(TaskTests, WaitGenerator) {
    run_test([]() -> Coroutine<void> {
        std::vector<asyncio::Task<int>> tasks;
        for (int i = 0; i < 10; ++i) tasks.push_back(asyncio::create_task(sleep_then_return(0, i)));
        const auto [done, pending] = co_await asyncio::wait(tasks, asyncio::ALL_COMPLETED);
        EXPECT_EQ(done.size(), 10U);
        EXPECT_TRUE(pending.empty());
    });
}

// --- as_completed ---------------------------------------------------------------------------

// test_as_completed: results in the order they finish.
TEST(TaskTests, AsCompleted) {
    run_test([]() -> Coroutine<void> {
        std::vector<Coroutine<std::string>> fs;
        fs.push_back(sleep_then_return<std::string>(0.01, "b"));
        fs.push_back(sleep_then_return<std::string>(0.15, "c"));
        fs.push_back(sleep_then_return<std::string>(0.01, "a"));
        std::vector<std::string> values;
        for (auto& f : asyncio::as_completed(std::move(fs))) values.push_back(co_await std::move(f));
        EXPECT_EQ(values.size(), 3U);
        if (values.size() != 3) co_return;
        EXPECT_TRUE(values[0] == "a" || values[1] == "a");
        EXPECT_TRUE(values[0] == "b" || values[1] == "b");
        EXPECT_EQ(values[2], "c");
    });
}

// test_as_completed_with_timeout: the one not done at the timeout raises TimeoutError.
TEST(TaskTests, AsCompletedWithTimeout) {
    run_test([]() -> Coroutine<void> {
        auto a = asyncio::create_task(sleep_then_return<std::string>(0.1, "a"));
        auto b = asyncio::create_task(sleep_then_return<std::string>(0.15, "b"));
        std::vector<std::string> values;
        int timeouts = 0;
        for (auto& f : asyncio::as_completed(listed(a, b), 0.12)) {
            try {
                values.push_back(co_await std::move(f));
            } catch (const asyncio::TimeoutError&) {
                ++timeouts;
            }
        }
        EXPECT_EQ(values, std::vector<std::string>{"a"});
        EXPECT_EQ(timeouts, 1);
        co_await asyncio::wait(listed(a, b));
    });
}

// test_as_completed_with_unused_timeout
TEST(TaskTests, AsCompletedWithUnusedTimeout) {
    run_test([]() -> Coroutine<void> {
        std::vector<Coroutine<std::string>> fs;
        fs.push_back(sleep_then_return<std::string>(0.01, "a"));
        for (auto& f : asyncio::as_completed(std::move(fs), 1)) EXPECT_EQ(co_await std::move(f), "a");
    });
}

// test_as_completed_reverse_wait: the second coroutine awaited first still
// gives the first result to finish.
TEST(TaskTests, AsCompletedReverseWait) {
    run_test([]() -> Coroutine<void> {
        std::vector<Coroutine<std::string>> fs;
        fs.push_back(sleep_then_return<std::string>(0.05, "a"));
        fs.push_back(sleep_then_return<std::string>(0.10, "b"));
        auto futs = asyncio::as_completed(std::move(fs));
        EXPECT_EQ(futs.size(), 2U);
        if (futs.size() != 2) co_return;
        EXPECT_EQ(co_await std::move(futs[1]), "a");
        EXPECT_EQ(co_await std::move(futs[0]), "b");
    });
}

// test_as_completed_concurrent: its coroutines can run as tasks at once.
TEST(TaskTests, AsCompletedConcurrent) {
    run_test([]() -> Coroutine<void> {
        std::vector<Coroutine<std::string>> fs;
        fs.push_back(sleep_then_return<std::string>(0.05, "a"));
        fs.push_back(sleep_then_return<std::string>(0.05, "b"));
        std::vector<asyncio::Task<std::string>> tasks;
        for (auto& f : asyncio::as_completed(std::move(fs)))
            tasks.push_back(asyncio::ensure_future(std::move(f)));
        const auto [done, pending] = co_await asyncio::wait(tasks);
        std::set<std::string> results;
        for (const auto& f : done) results.insert(f.result());
        EXPECT_EQ(results, (std::set<std::string>{"a", "b"}));
    });
}

// --- sleep, current_task, cancellation through awaits ---------------------------------------

// test_task_cancel_sleeping_task
TEST(TaskTests, TaskCancelSleepingTask) {
    run_test([]() -> Coroutine<void> {
        auto sleeper = asyncio::create_task(sleep_task(5000));
        loop().call_later(0.1, [sleeper] { sleeper.cancel(); });
        std::string outcome = "slept in";
        try {
            co_await sleeper;
        } catch (const asyncio::CancelledError&) {
            outcome = "cancelled";
        }
        EXPECT_EQ(outcome, "cancelled");
    });
}

// test_task_cancel_waiter_future: cancelling the task cancels the future it waits on.
TEST(TaskTests, TaskCancelWaiterFuture) {
    run_test([]() -> Coroutine<void> {
        auto fut = asyncio::make_future<int>(loop());
        auto task = asyncio::create_task(await_future(fut));
        co_await asyncio::sleep(0);
        task.cancel();
        co_await asyncio::sleep(0);
        EXPECT_THROW(co_await task, asyncio::CancelledError);
        EXPECT_TRUE(fut->cancelled());
    });
}

// test_current_task
TEST(TaskTests, CurrentTask) {
    EXPECT_EQ(asyncio::current_task(), nullptr);
    run_test([]() -> Coroutine<void> {
        asyncio::TaskBase* const outer = asyncio::current_task();
        EXPECT_NE(outer, nullptr);
        asyncio::TaskBase* seen = nullptr;
        auto task = asyncio::create_task(asyncio::invoke([&seen]() -> Coroutine<void> {
            seen = asyncio::current_task();
            co_return;
        }));
        co_await task;
        EXPECT_EQ(seen, task.shared().get());
        EXPECT_EQ(asyncio::current_task(), outer);
    });
    EXPECT_EQ(asyncio::current_task(), nullptr);
}

// test_current_task_with_interleaving_tasks
TEST(TaskTests, CurrentTaskWithInterleavingTasks) {
    run_test([]() -> Coroutine<void> {
        auto fut1 = asyncio::make_future<void>(loop());
        auto fut2 = asyncio::make_future<void>(loop());
        asyncio::TaskBase* task1_state = nullptr;
        asyncio::TaskBase* task2_state = nullptr;
        auto task1 = asyncio::create_task(asyncio::invoke([&]() -> Coroutine<void> {
            EXPECT_EQ(asyncio::current_task(), task1_state);
            co_await fut1;
            EXPECT_EQ(asyncio::current_task(), task1_state);
            fut2->set_result();
        }));
        auto task2 = asyncio::create_task(asyncio::invoke([&]() -> Coroutine<void> {
            EXPECT_EQ(asyncio::current_task(), task2_state);
            fut1->set_result();
            co_await fut2;
            EXPECT_EQ(asyncio::current_task(), task2_state);
        }));
        task1_state = task1.shared().get();
        task2_state = task2.shared().get();
        co_await asyncio::wait(listed(task1, task2));
    });
}

// test_yield_future_passes_cancel: cancelling outer() cancels inner() cancels the waiter.
TEST(TaskTests, YieldFuturePassesCancel) {
    run_test([]() -> Coroutine<void> {
        int proof = 0;
        auto waiter = asyncio::make_future<void>(loop());
        auto f = asyncio::create_task(asyncio::invoke([&]() -> Coroutine<void> {
            try {
                co_await asyncio::invoke([&]() -> Coroutine<void> {  // inner()
                    try {
                        co_await waiter;
                    } catch (const asyncio::CancelledError&) {
                        proof += 1;
                        throw;
                    }
                    ADD_FAILURE() << "got past the waiter in inner()";
                });
                proof += 10;
            } catch (const asyncio::CancelledError&) {
                proof += 100;  // expect this path
            }
        }));
        co_await asyncio::sleep(0);
        f.cancel();
        co_await f;
        EXPECT_EQ(proof, 101);
        EXPECT_TRUE(waiter->cancelled());
    });
}

// test_yield_wait_does_not_shield_cancel: cancelling outer() ends its
// wait() early and leaves inner() running.
TEST(TaskTests, YieldWaitDoesNotShieldCancel) {
    run_test([]() -> Coroutine<void> {
        int proof = 0;
        auto waiter = asyncio::make_future<void>(loop());
        auto f = asyncio::create_task(asyncio::invoke([&]() -> Coroutine<void> {
            auto inner = asyncio::create_task(asyncio::invoke([&]() -> Coroutine<void> {
                co_await waiter;
                proof += 1;
            }));
            co_await asyncio::wait(listed(inner));
            proof += 100;
        }));
        co_await asyncio::sleep(0);
        f.cancel();
        EXPECT_THROW(co_await f, asyncio::CancelledError);
        waiter->set_result();
        co_await asyncio::sleep(0);
        EXPECT_EQ(proof, 1);
    });
}

// --- shield ---------------------------------------------------------------------------------

// test_shield_result
TEST(TaskTests, ShieldResult) {
    run_test([]() -> Coroutine<void> {
        auto inner = asyncio::make_future<int>(loop());
        auto outer = asyncio::shield(inner);
        inner->set_result(42);
        EXPECT_EQ(co_await outer, 42);
    });
}

// test_shield_exception
TEST(TaskTests, ShieldException) {
    run_test([]() -> Coroutine<void> {
        auto inner = asyncio::make_future<int>(loop());
        auto outer = asyncio::shield(inner);
        co_await asyncio::sleep(0);
        const auto exc = std::make_exception_ptr(asyncio::RuntimeError("expected"));
        inner->set_exception(exc);
        co_await asyncio::sleep(0);
        EXPECT_EQ(outer->exception(), exc);
    });
}

// test_shield_cancel_inner
TEST(TaskTests, ShieldCancelInner) {
    run_test([]() -> Coroutine<void> {
        auto inner = asyncio::make_future<int>(loop());
        auto outer = asyncio::shield(inner);
        co_await asyncio::sleep(0);
        inner->cancel();
        co_await asyncio::sleep(0);
        EXPECT_TRUE(outer->cancelled());
    });
}

// test_shield_cancel_outer: the inner future is not touched.
TEST(TaskTests, ShieldCancelOuter) {
    run_test([]() -> Coroutine<void> {
        auto inner = asyncio::make_future<int>(loop());
        auto outer = asyncio::shield(inner);
        co_await asyncio::sleep(0);
        outer->cancel();
        co_await asyncio::sleep(0);
        EXPECT_TRUE(outer->cancelled());
        EXPECT_FALSE(inner->done());
        inner->cancel();  // nobody else will
    });
}

// test_shield_shortcut: a future done already.
TEST(TaskTests, ShieldShortcut) {
    run_test([]() -> Coroutine<void> {
        auto fut = asyncio::make_future<int>(loop());
        fut->set_result(42);
        EXPECT_EQ(co_await asyncio::shield(fut), 42);
    });
}

// test_shield_effect: cancelling outer() does not affect inner().
TEST(TaskTests, ShieldEffect) {
    run_test([]() -> Coroutine<void> {
        int proof = 0;
        auto waiter = asyncio::make_future<void>(loop());
        auto f = asyncio::create_task(asyncio::invoke([&]() -> Coroutine<void> {
            co_await asyncio::shield(asyncio::invoke([&]() -> Coroutine<void> {  // inner()
                co_await waiter;
                proof += 1;
            }));
            proof += 100;
        }));
        co_await asyncio::sleep(0);
        f.cancel();
        EXPECT_THROW(co_await f, asyncio::CancelledError);
        waiter->set_result();
        co_await asyncio::sleep(0);
        EXPECT_EQ(proof, 1);
    });
}

// test_shield_gather: shielding a gather keeps its children running.
TEST(TaskTests, ShieldGather) {
    run_test([]() -> Coroutine<void> {
        auto child1 = asyncio::make_future<int>(loop());
        auto child2 = asyncio::make_future<int>(loop());
        auto parent = asyncio::gather(listed(child1, child2));
        auto outer = asyncio::shield(parent);
        co_await asyncio::sleep(0);
        outer->cancel();
        co_await asyncio::sleep(0);
        EXPECT_TRUE(outer->cancelled());
        child1->set_result(1);
        child2->set_result(2);
        co_await asyncio::sleep(0);
        EXPECT_EQ(parent.result(), (std::vector<int>{1, 2}));
    });
}

// test_gather_shield: cancelling the gather cancels the shields, not the children.
TEST(TaskTests, GatherShield) {
    run_test([]() -> Coroutine<void> {
        auto child1 = asyncio::make_future<int>(loop());
        auto child2 = asyncio::make_future<int>(loop());
        auto inner1 = asyncio::shield(child1);
        auto inner2 = asyncio::shield(child2);
        auto parent = asyncio::gather(listed(inner1, inner2));
        co_await asyncio::sleep(0);
        parent.cancel();
        co_await asyncio::sleep(0);
        EXPECT_TRUE(holds<asyncio::CancelledError>(parent.exception()));
        EXPECT_TRUE(inner1->cancelled());
        EXPECT_TRUE(inner2->cancelled());
        EXPECT_FALSE(child1->done());
        child1->set_result(1);
        child2->set_result(2);
        co_await asyncio::sleep(0);
    });
}

// --- GatherTests (FutureGatherTests and CoroutineGatherTests) -------------------------------

// _check_success: the results in argument order, whatever order they finished in.
TEST(GatherTests, Success) {
    for (const bool collect_failures : {false, true}) {
        run_test([collect_failures]() -> Coroutine<void> {
            auto a = asyncio::make_future<int>(loop());
            auto b = asyncio::make_future<int>(loop());
            auto c = asyncio::make_future<int>(loop());
            int called = 0;
            std::vector<int> results;
            const auto check = [&](auto fut) -> Coroutine<void> {
                fut.add_done_callback([&called] { ++called; });
                b->set_result(1);
                a->set_result(2);
                co_await asyncio::sleep(0);
                EXPECT_EQ(called, 0);
                EXPECT_FALSE(fut.done());
                c->set_result(3);
                co_await asyncio::sleep(0);
                co_await asyncio::sleep(0);
                EXPECT_EQ(called, 1);
                if constexpr (std::is_same_v<decltype(fut.result()), std::vector<int>>) {
                    results = fut.result();
                } else {
                    for (const auto& outcome : fut.result()) results.push_back(*outcome.value);
                }
            };
            if (collect_failures) {
                co_await check(asyncio::gather(listed(a, b, c), asyncio::return_exceptions));
            } else {
                co_await check(asyncio::gather(listed(a, b, c)));
            }
            EXPECT_EQ(results, (std::vector<int>{2, 1, 3}));
        });
    }
}

// test_one_exception: the first failure is the gather's; the rest change nothing.
TEST(GatherTests, OneException) {
    run_test([]() -> Coroutine<void> {
        std::vector<std::shared_ptr<asyncio::Future<int>>> f;
        for (int i = 0; i < 5; ++i) f.push_back(asyncio::make_future<int>(loop()));
        auto fut = asyncio::gather(f);
        int called = 0;
        fut.add_done_callback([&called] { ++called; });
        const auto exc = std::make_exception_ptr(ZeroDivisionError());
        f[0]->set_result(1);
        f[1]->set_exception(exc);
        co_await asyncio::sleep(0);
        co_await asyncio::sleep(0);
        EXPECT_TRUE(fut.done());
        EXPECT_EQ(called, 1);
        EXPECT_EQ(fut.exception(), exc);
        f[2]->set_result(3);  // does nothing
        f[3]->cancel();
        f[4]->set_exception(std::make_exception_ptr(asyncio::RuntimeError("")));
        (void)f[4]->exception();
    });
}

// test_return_exceptions: failures are results, in argument order.
TEST(GatherTests, ReturnExceptions) {
    run_test([]() -> Coroutine<void> {
        std::vector<std::shared_ptr<asyncio::Future<int>>> f;
        for (int i = 0; i < 4; ++i) f.push_back(asyncio::make_future<int>(loop()));
        auto fut = asyncio::gather(f, asyncio::return_exceptions);
        const auto exc = std::make_exception_ptr(ZeroDivisionError());
        const auto exc2 = std::make_exception_ptr(asyncio::RuntimeError(""));
        f[1]->set_result(1);
        f[2]->set_exception(exc);
        f[0]->set_result(3);
        co_await asyncio::sleep(0);
        EXPECT_FALSE(fut.done());
        f[3]->set_exception(exc2);
        co_await asyncio::sleep(0);
        EXPECT_TRUE(fut.done());
        const auto res = fut.result();
        EXPECT_EQ(res[0].value, 3);
        EXPECT_EQ(res[1].value, 1);
        EXPECT_EQ(res[2].error, exc);
        EXPECT_EQ(res[3].error, exc2);
    });
}

// test_one_cancellation: a cancelled child fails the gather with CancelledError; it is not cancelled itself.
TEST(GatherTests, OneCancellation) {
    run_test([]() -> Coroutine<void> {
        std::vector<std::shared_ptr<asyncio::Future<int>>> f;
        for (int i = 0; i < 5; ++i) f.push_back(asyncio::make_future<int>(loop()));
        auto fut = asyncio::gather(f);
        f[0]->set_result(1);
        f[1]->cancel();
        co_await asyncio::sleep(0);
        EXPECT_TRUE(fut.done());
        EXPECT_FALSE(fut.cancelled());
        EXPECT_TRUE(holds<asyncio::CancelledError>(fut.exception()));
        f[2]->set_result(3);  // does nothing
        f[3]->cancel();
        f[4]->set_exception(std::make_exception_ptr(asyncio::RuntimeError("")));
        (void)f[4]->exception();
    });
}

// test_result_exception_one_cancellation: with return_exceptions, cancelled children are CancelledError
// results.
TEST(GatherTests, ResultExceptionOneCancellation) {
    run_test([]() -> Coroutine<void> {
        std::vector<std::shared_ptr<asyncio::Future<int>>> f;
        for (int i = 0; i < 6; ++i) f.push_back(asyncio::make_future<int>(loop()));
        auto fut = asyncio::gather(f, asyncio::return_exceptions);
        f[0]->set_result(1);
        const auto zde = std::make_exception_ptr(ZeroDivisionError());
        f[1]->set_exception(zde);
        f[2]->cancel();
        co_await asyncio::sleep(0);
        EXPECT_FALSE(fut.done());
        f[3]->set_result(3);
        f[4]->cancel();
        const auto rte = std::make_exception_ptr(asyncio::RuntimeError(""));
        f[5]->set_exception(rte);
        const auto res = co_await fut;
        EXPECT_EQ(res[0].value, 1);
        EXPECT_EQ(res[1].error, zde);
        EXPECT_TRUE(holds<asyncio::CancelledError>(res[2].error));
        EXPECT_EQ(res[3].value, 3);
        EXPECT_TRUE(holds<asyncio::CancelledError>(res[4].error));
        EXPECT_EQ(res[5].error, rte);
    });
}

// test_constructor_use_running_loop (CoroutineGatherTests): gather() over
// coroutines makes their tasks at once, on the running loop.
TEST(GatherTests, ConstructorUseRunningLoop) {
    run_test([]() -> Coroutine<void> {
        auto fut = asyncio::gather(sleep_then_return<std::string>(0, "abc"),
                                   sleep_then_return<std::string>(0, "abc"));
        const auto [first, second] = co_await fut;
        EXPECT_EQ(first, "abc");
        EXPECT_EQ(second, "abc");
    });
}

// test_constructor_without_loop: no running loop, no gather.
TEST(GatherTests, ConstructorWithoutLoop) {
    std::vector<Coroutine<int>> coros;
    coros.push_back(sleep_then_return(0, 1));
    EXPECT_THROW((void)asyncio::gather(std::move(coros)), asyncio::RuntimeError);
}

// test_cancellation_broadcast: cancelling outer() cancels every child.
TEST(GatherTests, CancellationBroadcast) {
    run_test([]() -> Coroutine<void> {
        int proof = 0;
        auto waiter = asyncio::make_future<void>(loop());
        const auto inner = [&]() -> Coroutine<void> {
            co_await waiter;
            proof += 1;
        };
        auto child1 = asyncio::create_task(asyncio::invoke(inner));
        auto child2 = asyncio::create_task(asyncio::invoke(inner));
        std::optional<asyncio::GatherFuture<std::vector<std::monostate>>> gatherer;
        auto f = asyncio::create_task(asyncio::invoke([&]() -> Coroutine<void> {
            gatherer.emplace(asyncio::gather(listed(child1, child2)));
            co_await *gatherer;
            proof += 100;
        }));
        co_await asyncio::sleep(0);
        EXPECT_TRUE(f.cancel());
        EXPECT_THROW(co_await f, asyncio::CancelledError);
        EXPECT_FALSE(gatherer->cancel());
        EXPECT_TRUE(waiter->cancelled());
        EXPECT_TRUE(child1.cancelled());
        EXPECT_TRUE(child2.cancelled());
        co_await asyncio::sleep(0);
        EXPECT_EQ(proof, 0);
    });
}

// test_exception_marking: the second failure is marked retrieved (nothing
// reports "exception was never retrieved"), the first is outer()'s.
TEST(GatherTests, ExceptionMarking) {
    std::vector<std::string> reported;
    const auto previous =
        asyncio::set_exception_handler([&](std::string_view m) { reported.emplace_back(m); });
    run_test([]() -> Coroutine<void> {
        auto a = asyncio::make_future<void>(loop());
        auto b = asyncio::make_future<void>(loop());
        const auto inner = [](std::shared_ptr<asyncio::Future<void>> fut) -> Coroutine<void> {
            co_await fut;
            throw asyncio::RuntimeError("should not be ignored");
        };
        auto f = asyncio::create_task(
            asyncio::invoke([&]() -> Coroutine<void> { co_await asyncio::gather(inner(a), inner(b)); }));
        co_await asyncio::sleep(0);
        a->set_result();
        co_await asyncio::sleep(0);
        b->set_result();
        co_await asyncio::sleep(0);
        co_await asyncio::sleep(0);
        EXPECT_TRUE(holds<asyncio::RuntimeError>(f.exception()));
    });
    asyncio::set_exception_handler(previous);
    EXPECT_TRUE(reported.empty()) << reported.front();
}
