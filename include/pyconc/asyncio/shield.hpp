#pragma once
// asyncio.shield(aw): await it without letting a cancellation reach it.
//
// How this works (Lib/asyncio/tasks.py, shield)
// - The awaitable runs as a task (a task or future: as it is); shield
//   returns a new outer future that follows it: its result, its exception,
//   or cancelled when it is cancelled.
// - Cancelling the task that awaits the outer future cancels only the
//   outer one: the inner goes on running, and its outcome is then dropped
//   (its exception marked retrieved, as asyncio does).
// - An inner that is done already gives an outer future done the same way.
#include <memory>
#include <type_traits>
#include <utility>

#include "pyconc/asyncio/ensure_future.hpp"
#include "pyconc/asyncio/event_loop.hpp"
#include "pyconc/asyncio/future.hpp"

namespace pyconc::asyncio {

namespace detail {
// `outer` ends as `inner` did (_inner_done_callback).
template <class T, class F>
void follow(Future<T>& outer, const F& inner) {
    FutureBase& base = *shared_base(inner);
    if (base.cancelled()) {
        outer.cancel();
    } else if (std::exception_ptr error = base.exception()) {
        outer.set_exception(error);
    } else if constexpr (std::is_void_v<T>) {
        outer.set_result();
    } else {
        outer.set_result(copy_result(inner));
    }
}
}  // namespace detail

template <class A>
std::shared_ptr<Future<result_of_t<A>>> shield(A aw) {
    auto inner = ensure_future(std::move(aw));
    const std::shared_ptr<FutureBase> inner_base = detail::shared_base(inner);
    auto outer = make_future<result_of_t<A>>(inner_base->loop());
    if (inner_base->done()) {
        detail::follow(*outer, inner);
        return outer;
    }
    inner_base->add_done_callback([inner, weak_outer = std::weak_ptr{outer}] {
        const auto outer_now = weak_outer.lock();
        if (!outer_now || outer_now->cancelled()) {
            FutureBase& base = *detail::shared_base(inner);
            if (!base.cancelled()) (void)base.exception();  // retrieved: nobody will ask
            return;
        }
        detail::follow(*outer_now, inner);
    });
    return outer;
}

}  // namespace pyconc::asyncio
