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
#include <stdexcept>
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

// isinstance(exc, E) for an exception_ptr.
using asyncio::holds;

// Runs `test` as the test's main task on a fresh loop, as
// IsolatedAsyncioTestCase runs each test.
template <class Test>
void run_test(Test test) {
    asyncio::run(asyncio::invoke(std::move(test)));
}

inline bool contains(const std::string& text, const std::string& part) {
    return text.find(part) != std::string::npos;
}

// The Python exceptions the tests raise that asyncio has no class for.
struct ZeroDivisionError : std::runtime_error {
    ZeroDivisionError() : std::runtime_error("division by zero") {}
};

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
