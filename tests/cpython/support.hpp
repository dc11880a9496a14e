#pragma once
// What the ported CPython tests share: the helpers CPython's
// Lib/test/test_asyncio/utils.py and the test classes give them.
//
// - Each CPython test in an IsolatedAsyncioTestCase runs as a task on a
//   fresh loop: here, `asyncio::run(asyncio::invoke([&]() -> Coroutine<void> {...}))`.
// - `test_utils.run_briefly(loop)` (one turn of a loop driven from outside)
//   is `co_await asyncio::sleep(0)` inside the test's task: the same one
//   turn, seen from a task on that loop.
#include <exception>
#include <string>
#include <utility>

#include <gtest/gtest.h>

#include "pyconc/asyncio.hpp"

namespace cpython_tests {

namespace asyncio = pyconc::asyncio;
using asyncio::Coroutine;

inline asyncio::EventLoop& loop() {
    return asyncio::EventLoop::get_running_loop();
}

// asyncio.current_task(), which the test knows is there.
inline asyncio::TaskBase& current_task() {
    return asyncio::TaskBase::current_or_fail("current_task");
}

// asyncio.current_task().cancel()
inline bool cancel_current_task() {
    return current_task().cancel();
}

// asyncio.sleep(s) as a coroutine of its own, for gather and create_task.
inline Coroutine<void> sleep_task(double seconds) {
    co_await asyncio::sleep(seconds);
}

// `with self.assertRaises(E) as cm: ...; cm.exception.__cause__`: the
// exception nested in `error` (raise ... from cause), or null.
template <class E>
std::exception_ptr cause_of(const E& error) {
    try {
        std::rethrow_if_nested(error);
    } catch (...) {
        return std::current_exception();
    }
    return nullptr;
}

// The type of what `error` holds, for assertions: "CancelledError", ...
template <class E>
bool holds(const std::exception_ptr& error) {
    if (!error) return false;
    try {
        std::rethrow_exception(error);
    } catch (const E&) {
        return true;
    } catch (...) {
        return false;
    }
}

// `with self.assertRaises(E): await aw`: fails only if nothing is raised;
// an exception of another type goes through, as assertRaises lets it go.
template <class E, class A>
Coroutine<void> assert_raises(A awaitable) {
    try {
        co_await std::move(awaitable);
    } catch (const E&) {
        co_return;
    }
    ADD_FAILURE() << "the expected exception was not raised";
}

}  // namespace cpython_tests
