#pragma once
// asyncio.wait_for(coro, timeout).
//
// How this works (Lib/asyncio/tasks.py, wait_for in 3.11)
// - The coroutine runs as a task; a one-shot future is set by whichever
//   comes first, the task finishing or a timer.
// - The task first: its result (or exception) is wait_for's.
// - The timer first: the task is cancelled, wait_for waits until it has
//   finished cancelling (it gets CancelledError at its current await), and
//   raises TimeoutError.
// - Cancelling the task that awaits wait_for cancels the inner task too.
#include <memory>
#include <type_traits>

#include "pyconc/asyncio/errors.hpp"
#include "pyconc/asyncio/event_loop.hpp"
#include "pyconc/asyncio/future.hpp"
#include "pyconc/asyncio/task.hpp"

namespace pyconc::asyncio {

template <class T>
Task<T> wait_for(Task<T> coroutine, double timeout_seconds) {
    EventLoop& loop = EventLoop::get_running_loop();
    TaskHandle<T> inner = create_task(std::move(coroutine));
    auto first = make_future<void>(loop);
    const auto settle = [first] {
        if (!first->done()) first->set_result();
    };
    inner.add_done_callback(settle);
    const TimerHandle timer = loop.call_later(timeout_seconds, settle);
    try {
        co_await first;
    } catch (const CancelledError&) {
        timer.cancel();
        inner.cancel();
        throw;
    }
    timer.cancel();
    if (!inner.done()) {
        inner.cancel();
        try {
            co_await inner;  // until it has finished cancelling
        } catch (const CancelledError&) {
        }
        throw TimeoutError();
    }
    if constexpr (std::is_void_v<T>) {
        inner.result();
    } else {
        co_return T(inner.result());
    }
}

}  // namespace pyconc::asyncio
