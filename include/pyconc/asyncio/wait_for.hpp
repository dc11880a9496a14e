#pragma once
// asyncio.wait_for(aw, timeout).
//
// How this works (Lib/asyncio/tasks.py, wait_for in 3.12)
// - wait_for is `async with timeout(t): return await aw` (timeouts.hpp): a
//   coroutine runs in the awaiting task itself, as `await coro` does; a
//   task or future is awaited. At the deadline the awaiting task is
//   cancelled, so what it awaits is cancelled too; once that has finished
//   cancelling, TimeoutError is raised. A cancel() from outside cancels it
//   the same way and propagates as CancelledError.
// - A timeout <= 0 does not wait: a future done already gives its result;
//   otherwise it is cancelled, waited for until it has finished cancelling,
//   and then TimeoutError is raised, unless it finished with a result
//   after all (_cancel_and_wait).
// - std::nullopt is no timeout. (3.11 and earlier ran a coroutine as a
//   task of its own; 3.12 runs it inline, as here.)
#include <exception>
#include <memory>
#include <optional>
#include <type_traits>
#include <utility>

#include "pyconc/asyncio/coroutine.hpp"
#include "pyconc/asyncio/ensure_future.hpp"
#include "pyconc/asyncio/errors.hpp"
#include "pyconc/asyncio/event_loop.hpp"
#include "pyconc/asyncio/future.hpp"
#include "pyconc/asyncio/task.hpp"
#include "pyconc/asyncio/timeouts.hpp"

namespace pyconc::asyncio {

namespace detail {
// _cancel_and_wait(fut): cancels it and waits until it is done.
inline Coroutine<void> cancel_and_wait(std::shared_ptr<FutureBase> future) {
    auto waiter = make_future<void>(future->loop());
    future->add_done_callback([waiter] {
        if (!waiter->done()) waiter->set_result();
    });
    future->cancel();
    co_await waiter;
}
}  // namespace detail

template <class A>
Coroutine<result_of_t<A>> wait_for(A aw, std::optional<double> timeout_seconds) {
    using T = result_of_t<A>;
    if (timeout_seconds && *timeout_seconds <= 0) {
        auto future = ensure_future(std::move(aw));
        if (!detail::shared_base(future)->done())
            co_await detail::cancel_and_wait(detail::shared_base(future));
        try {
            if constexpr (std::is_void_v<T>) {
                detail::copy_result(future);
                co_return;
            } else {
                co_return detail::copy_result(future);
            }
        } catch (const CancelledError&) {
            std::throw_with_nested(TimeoutError());  // raise TimeoutError from exc
        }
    }
    co_return co_await timeout(timeout_seconds,
                               [&aw]() -> Coroutine<T> { co_return co_await std::move(aw); });
}

}  // namespace pyconc::asyncio
