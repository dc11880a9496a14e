// CPython 3.12's Lib/test/test_asyncio/test_timeouts.py, case by case: each
// TEST reproduces the scenario and the assertions of the CPython test named
// in the comment above it, in our own code.
//
// All 32 cases are here. Expressed differently, with why:
// - `async with asyncio.timeout(d) as cm: body` is `auto cm =
//   asyncio::timeout(d); co_await asyncio::async_with(cm, body)`.
// - `try: ... finally: <awaits>`: C++ cannot await in a catch block, so the
//   error is kept, the awaits run, and the error is raised again.
// - `exc.__cause__` is the exception nested in the TimeoutError
//   (std::rethrow_if_nested), as `raise TimeoutError from exc` chains it.
// - `await_without_task(cm.__aenter__())` enters the timeout from a plain
//   loop callback, where no task runs.
#include <chrono>
#include <exception>
#include <memory>
#include <regex>
#include <stdexcept>
#include <string>
#include <thread>

#include <gtest/gtest.h>

#include "support.hpp"

using namespace cpython_tests;  // NOLINT(google-build-using-namespace): the tests' vocabulary

namespace {

struct KeyError : std::runtime_error {
    KeyError() : std::runtime_error("KeyError") {}
};

Coroutine<void> sleep_10() {
    co_await asyncio::sleep(10);
}

// `with self.assertRaisesRegex(RuntimeError, pattern): call()`
template <class Call>
void expect_runtime_error(Call call, const std::string& pattern) {
    try {
        call();
        ADD_FAILURE() << "no RuntimeError";
    } catch (const asyncio::RuntimeError& error) {
        EXPECT_TRUE(std::regex_search(error.what(), std::regex(pattern))) << error.what();
    }
}

}  // namespace

// test_timeout_basic
TEST(TimeoutTests, TimeoutBasic) {
    run_test([]() -> Coroutine<void> {
        auto cm = asyncio::timeout(0.01);
        EXPECT_THROW(co_await asyncio::async_with(cm, sleep_10), asyncio::TimeoutError);
        EXPECT_TRUE(cm.expired());
    });
}

// test_timeout_at_basic
TEST(TimeoutTests, TimeoutAtBasic) {
    run_test([]() -> Coroutine<void> {
        const double deadline = asyncio::EventLoop::time() + 0.01;
        auto cm = asyncio::timeout_at(deadline);
        EXPECT_THROW(co_await asyncio::async_with(cm, sleep_10), asyncio::TimeoutError);
        EXPECT_TRUE(cm.expired());
        EXPECT_EQ(cm.when(), deadline);
    });
}

// test_nested_timeouts: only the outer one raises TimeoutError; the inner
// lets the CancelledError through.
TEST(TimeoutTests, NestedTimeouts) {
    run_test([]() -> Coroutine<void> {
        bool cancelled = false;
        const double deadline = asyncio::EventLoop::time() + 0.01;
        auto cm1 = asyncio::timeout_at(deadline);
        auto cm2 = asyncio::timeout_at(deadline);
        EXPECT_THROW(co_await asyncio::async_with(cm1,
                                                  [&]() -> Coroutine<void> {
                                                      try {
                                                          co_await asyncio::async_with(cm2, sleep_10);
                                                      } catch (const asyncio::CancelledError&) {
                                                          cancelled = true;
                                                          throw;
                                                      }
                                                  }),
                     asyncio::TimeoutError);
        EXPECT_TRUE(cancelled);
        EXPECT_TRUE(cm1.expired());
        EXPECT_TRUE(cm2.expired());
    });
}

// test_waiter_cancelled: the body sees CancelledError, the block raises TimeoutError.
TEST(TimeoutTests, WaiterCancelled) {
    run_test([]() -> Coroutine<void> {
        bool cancelled = false;
        EXPECT_THROW(co_await asyncio::timeout(0.01,
                                               [&]() -> Coroutine<void> {
                                                   try {
                                                       co_await asyncio::sleep(10);
                                                   } catch (const asyncio::CancelledError&) {
                                                       cancelled = true;
                                                       throw;
                                                   }
                                               }),
                     asyncio::TimeoutError);
        EXPECT_TRUE(cancelled);
    });
}

// test_timeout_not_called
TEST(TimeoutTests, TimeoutNotCalled) {
    run_test([]() -> Coroutine<void> {
        auto cm = asyncio::timeout(10);
        co_await asyncio::async_with(cm, [] { return sleep_task(0.01); });
        const double t1 = asyncio::EventLoop::time();
        EXPECT_FALSE(cm.expired());
        EXPECT_GT(*cm.when(), t1);
    });
}

// test_timeout_disabled
TEST(TimeoutTests, TimeoutDisabled) {
    run_test([]() -> Coroutine<void> {
        auto cm = asyncio::timeout(std::nullopt);
        co_await asyncio::async_with(cm, [] { return sleep_task(0.01); });
        EXPECT_FALSE(cm.expired());
        EXPECT_FALSE(cm.when().has_value());
    });
}

// test_timeout_at_disabled
TEST(TimeoutTests, TimeoutAtDisabled) {
    run_test([]() -> Coroutine<void> {
        auto cm = asyncio::timeout_at(std::nullopt);
        co_await asyncio::async_with(cm, [] { return sleep_task(0.01); });
        EXPECT_FALSE(cm.expired());
        EXPECT_FALSE(cm.when().has_value());
    });
}

// test_timeout_zero
TEST(TimeoutTests, TimeoutZero) {
    run_test([]() -> Coroutine<void> {
        const double t0 = asyncio::EventLoop::time();
        auto cm = asyncio::timeout(0);
        EXPECT_THROW(co_await asyncio::async_with(cm, sleep_10), asyncio::TimeoutError);
        const double t1 = asyncio::EventLoop::time();
        EXPECT_TRUE(cm.expired());
        EXPECT_LE(t0, *cm.when());
        EXPECT_LE(*cm.when(), t1);
    });
}

// test_timeout_zero_sleep_zero: a deadline due now interrupts even sleep(0).
TEST(TimeoutTests, TimeoutZeroSleepZero) {
    run_test([]() -> Coroutine<void> {
        const double t0 = asyncio::EventLoop::time();
        auto cm = asyncio::timeout(0);
        EXPECT_THROW(co_await asyncio::async_with(cm, [] { return sleep_task(0); }), asyncio::TimeoutError);
        const double t1 = asyncio::EventLoop::time();
        EXPECT_TRUE(cm.expired());
        EXPECT_LE(t0, *cm.when());
        EXPECT_LE(*cm.when(), t1);
    });
}

// test_timeout_in_the_past_sleep_zero
TEST(TimeoutTests, TimeoutInThePastSleepZero) {
    run_test([]() -> Coroutine<void> {
        const double t0 = asyncio::EventLoop::time();
        auto cm = asyncio::timeout(-11);
        EXPECT_THROW(co_await asyncio::async_with(cm, [] { return sleep_task(0); }), asyncio::TimeoutError);
        const double t1 = asyncio::EventLoop::time();
        EXPECT_TRUE(cm.expired());
        EXPECT_GE(t0, *cm.when());
        EXPECT_LE(*cm.when(), t1);
    });
}

// test_foreign_exception_passed
TEST(TimeoutTests, ForeignExceptionPassed) {
    run_test([]() -> Coroutine<void> {
        auto cm = asyncio::timeout(0.01);
        EXPECT_THROW(co_await asyncio::async_with(cm,
                                                  []() -> Coroutine<void> {
                                                      throw KeyError();
                                                      co_return;  // a coroutine, not a function that throws
                                                  }),
                     KeyError);
        EXPECT_FALSE(cm.expired());
    });
}

// test_foreign_exception_on_timeout: what the body raises while it is
// cancelled by the timeout wins over TimeoutError.
TEST(TimeoutTests, ForeignExceptionOnTimeout) {
    run_test([]() -> Coroutine<void> {
        const auto crash = []() -> Coroutine<void> {
            try {
                co_await asyncio::sleep(1);
            } catch (...) {  // finally: 1/0
            }
            throw ZeroDivisionError();
        };
        EXPECT_THROW(co_await asyncio::timeout(0.01, crash), ZeroDivisionError);
    });
}

// test_foreign_cancel_doesnt_timeout_if_not_expired
TEST(TimeoutTests, ForeignCancelDoesntTimeoutIfNotExpired) {
    run_test([]() -> Coroutine<void> {
        auto cm = asyncio::timeout(10);
        EXPECT_THROW(co_await asyncio::async_with(cm,
                                                  []() -> Coroutine<void> {
                                                      cancel_current_task();
                                                      co_await asyncio::sleep(10);
                                                  }),
                     asyncio::CancelledError);
        EXPECT_FALSE(cm.expired());
    });
}

// test_outer_task_is_not_cancelled
TEST(TimeoutTests, OuterTaskIsNotCancelled) {
    run_test([]() -> Coroutine<void> {
        auto task = asyncio::create_task([]() -> Coroutine<void> {
            EXPECT_THROW(co_await asyncio::timeout(0.001, sleep_10), asyncio::TimeoutError);
        }());
        co_await task;
        EXPECT_FALSE(task.cancelled());
        EXPECT_TRUE(task.done());
    });
}

// test_nested_timeouts_concurrent: the outer deadline passes during a
// blocking call, the inner's does not: the inner block lets the
// CancelledError through (its assertRaises(TimeoutError) lets a different
// exception go), the outer one raises TimeoutError.
TEST(TimeoutTests, NestedTimeoutsConcurrent) {
    run_test([]() -> Coroutine<void> {
        const auto inner = []() -> Coroutine<void> {
            co_await assert_raises<asyncio::TimeoutError>(asyncio::timeout(0.1, []() -> Coroutine<void> {
                std::this_thread::sleep_for(std::chrono::milliseconds(10));  // crunching numbers
                co_await asyncio::sleep(1);
            }));
        };
        EXPECT_THROW(co_await asyncio::timeout(0.002, inner), asyncio::TimeoutError);
    });
}

// test_nested_timeouts_loop_busy: the outer timeout stops the sleep after the inner one.
TEST(TimeoutTests, NestedTimeoutsLoopBusy) {
    run_test([]() -> Coroutine<void> {
        loop().set_slow_callback_duration(10);
        const double t0 = asyncio::EventLoop::time();
        const auto outer_body = []() -> Coroutine<void> {
            co_await assert_raises<asyncio::TimeoutError>(asyncio::timeout(0.01, []() -> Coroutine<void> {
                std::this_thread::sleep_for(std::chrono::milliseconds(100));  // the loop is busy
                co_await asyncio::sleep(1);
            }));
            co_await asyncio::sleep(10);  // interrupted by the outer timeout
        };
        EXPECT_THROW(co_await asyncio::timeout(0.1, outer_body), asyncio::TimeoutError);
        const double t1 = asyncio::EventLoop::time();
        EXPECT_LE(t0, t1);
        EXPECT_LE(t1, t0 + 1);
    });
}

// test_reschedule
TEST(TimeoutTests, Reschedule) {
    run_test([]() -> Coroutine<void> {
        auto fut = asyncio::make_future<asyncio::Timeout*>(loop());
        const double deadline1 = asyncio::EventLoop::time() + 10;
        const double deadline2 = deadline1 + 20;
        auto cm_owner = std::make_shared<std::unique_ptr<asyncio::Timeout>>();
        auto task = asyncio::create_task(asyncio::invoke([fut, deadline1, cm_owner]() -> Coroutine<void> {
            *cm_owner = std::make_unique<asyncio::Timeout>(deadline1);
            // Named, not made inside co_await: g++ 12 would release `fut` twice (tests/lint).
            const auto body = [fut](asyncio::Timeout& cm) -> Coroutine<void> {
                fut->set_result(&cm);
                co_await asyncio::sleep(50);
            };
            co_await asyncio::async_with(**cm_owner, body);
        }));
        asyncio::Timeout* const cm = co_await fut;
        EXPECT_EQ(cm->when(), deadline1);
        cm->reschedule(deadline2);
        EXPECT_EQ(cm->when(), deadline2);
        cm->reschedule(std::nullopt);
        EXPECT_FALSE(cm->when().has_value());
        task.cancel();
        EXPECT_THROW(co_await task, asyncio::CancelledError);
        EXPECT_FALSE(cm->expired());
    });
}

// test_repr_active
TEST(TimeoutTests, ReprActive) {
    run_test([]() -> Coroutine<void> {
        auto cm = asyncio::timeout(10);
        co_await asyncio::async_with(cm, [](asyncio::Timeout& entered) -> Coroutine<void> {
            EXPECT_TRUE(std::regex_match(entered.repr(), std::regex(R"(<Timeout \[active\] when=\d+\.\d*>)")))
                << entered.repr();
            co_return;
        });
    });
}

// test_repr_expired
TEST(TimeoutTests, ReprExpired) {
    run_test([]() -> Coroutine<void> {
        auto cm = asyncio::timeout(0.01);
        EXPECT_THROW(co_await asyncio::async_with(cm, sleep_10), asyncio::TimeoutError);
        EXPECT_EQ(cm.repr(), "<Timeout [expired]>");
    });
}

// test_repr_finished
TEST(TimeoutTests, ReprFinished) {
    run_test([]() -> Coroutine<void> {
        auto cm = asyncio::timeout(10);
        co_await asyncio::async_with(cm, [] { return sleep_task(0); });
        EXPECT_EQ(cm.repr(), "<Timeout [finished]>");
    });
}

// test_repr_disabled
TEST(TimeoutTests, ReprDisabled) {
    run_test([]() -> Coroutine<void> {
        auto cm = asyncio::timeout(std::nullopt);
        co_await asyncio::async_with(cm, [](asyncio::Timeout& entered) -> Coroutine<void> {
            EXPECT_EQ(entered.repr(), "<Timeout [active] when=None>");
            co_return;
        });
    });
}

// test_nested_timeout_in_finally
TEST(TimeoutTests, NestedTimeoutInFinally) {
    run_test([]() -> Coroutine<void> {
        EXPECT_THROW(co_await asyncio::timeout(0.01,
                                               []() -> Coroutine<void> {
                                                   std::exception_ptr error;
                                                   try {
                                                       co_await asyncio::sleep(1);
                                                   } catch (...) {
                                                       error = std::current_exception();
                                                   }
                                                   // finally:
                                                   EXPECT_THROW(co_await asyncio::timeout(0.01, sleep_10),
                                                                asyncio::TimeoutError);
                                                   if (error) std::rethrow_exception(error);
                                               }),
                     asyncio::TimeoutError);
    });
}

// test_timeout_after_cancellation: a timeout in the clean-up after a
// cancellation that was caught still works.
TEST(TimeoutTests, TimeoutAfterCancellation) {
    run_test([]() -> Coroutine<void> {
        try {
            cancel_current_task();
            co_await asyncio::sleep(1);  // work which will be cancelled
        } catch (const asyncio::CancelledError&) {
        }
        // finally:
        EXPECT_THROW(co_await asyncio::timeout(0.0, [] { return sleep_task(1); }), asyncio::TimeoutError);
    });
}

// test_cancel_in_timeout_after_cancellation
TEST(TimeoutTests, CancelInTimeoutAfterCancellation) {
    run_test([]() -> Coroutine<void> {
        try {
            cancel_current_task();
            co_await asyncio::sleep(1);
        } catch (const asyncio::CancelledError&) {
        }
        EXPECT_THROW(co_await asyncio::timeout(1.0,
                                               []() -> Coroutine<void> {
                                                   cancel_current_task();
                                                   co_await asyncio::sleep(2);
                                               }),
                     asyncio::CancelledError);
    });
}

// test_timeout_exception_cause: the TimeoutError's cause is the CancelledError.
TEST(TimeoutTests, TimeoutExceptionCause) {
    run_test([]() -> Coroutine<void> {
        try {
            co_await asyncio::timeout(0, [] { return sleep_task(1); });
            ADD_FAILURE() << "no TimeoutError";
        } catch (const asyncio::TimeoutError& error) {
            EXPECT_TRUE(holds<asyncio::CancelledError>(cause_of(error)));
        }
    });
}

// test_timeout_already_entered
TEST(TimeoutTests, TimeoutAlreadyEntered) {
    run_test([]() -> Coroutine<void> {
        auto cm = asyncio::timeout(0.01);
        co_await asyncio::async_with(cm, [](asyncio::Timeout& entered) -> Coroutine<void> {
            try {
                co_await asyncio::async_with(entered, []() -> Coroutine<void> { co_return; });
                ADD_FAILURE() << "entered twice";
            } catch (const asyncio::RuntimeError& error) {
                EXPECT_TRUE(std::string(error.what()).find("has already been entered") != std::string::npos);
            }
        });
    });
}

// test_timeout_double_enter
TEST(TimeoutTests, TimeoutDoubleEnter) {
    run_test([]() -> Coroutine<void> {
        auto cm = asyncio::timeout(0.01);
        co_await asyncio::async_with(cm, []() -> Coroutine<void> { co_return; });
        try {
            co_await asyncio::async_with(cm, []() -> Coroutine<void> { co_return; });
            ADD_FAILURE() << "entered twice";
        } catch (const asyncio::RuntimeError& error) {
            EXPECT_TRUE(std::string(error.what()).find("has already been entered") != std::string::npos);
        }
    });
}

// test_timeout_finished
TEST(TimeoutTests, TimeoutFinished) {
    run_test([]() -> Coroutine<void> {
        auto cm = asyncio::timeout(0.01);
        co_await asyncio::async_with(cm, []() -> Coroutine<void> { co_return; });
        expect_runtime_error([&] { cm.reschedule(0.02); }, "finished");
    });
}

// test_timeout_expired
TEST(TimeoutTests, TimeoutExpired) {
    run_test([]() -> Coroutine<void> {
        auto cm = asyncio::timeout(0.01);
        EXPECT_THROW(co_await asyncio::async_with(cm, [] { return sleep_task(1); }), asyncio::TimeoutError);
        expect_runtime_error([&] { cm.reschedule(0.02); }, "expired");
    });
}

// test_timeout_expiring: between the deadline and the way out, reschedule is refused.
TEST(TimeoutTests, TimeoutExpiring) {
    run_test([]() -> Coroutine<void> {
        auto cm = asyncio::timeout(0.01);
        co_await asyncio::async_with(cm, [](asyncio::Timeout& entered) -> Coroutine<void> {
            EXPECT_THROW(co_await asyncio::sleep(1), asyncio::CancelledError);
            expect_runtime_error([&] { entered.reschedule(0.02); }, "expiring");
        });
    });
}

// test_timeout_not_entered
TEST(TimeoutTests, TimeoutNotEntered) {
    run_test([]() -> Coroutine<void> {
        auto cm = asyncio::timeout(0.01);
        expect_runtime_error([&] { cm.reschedule(0.02); }, "has not been entered");
        co_return;
    });
}

// test_timeout_without_task: entered where no task runs, it refuses.
TEST(TimeoutTests, TimeoutWithoutTask) {
    run_test([]() -> Coroutine<void> {
        auto cm = asyncio::timeout(0.01);
        auto entered = asyncio::make_future<void>(loop());
        loop().call_soon([&cm, entered] {  // await_without_task(cm.__aenter__())
            expect_runtime_error([&] { cm.enter(); }, "task");
            entered->set_result();
        });
        co_await entered;
        expect_runtime_error([&] { cm.reschedule(0.02); }, "has not been entered");
    });
}
