#pragma once
// asyncio.wait(fs, return_when=...) and asyncio.as_completed(fs): waiting
// for some of many tasks or futures.
//
// How this works (Lib/asyncio/tasks.py, _wait and as_completed in 3.12)
// - wait() puts a done callback on each; the callback counts them down and
//   sets one waiter future when the condition holds: the first done
//   (FIRST_COMPLETED), the first to fail, or all done (FIRST_EXCEPTION),
//   all done (ALL_COMPLETED), or the timeout ran out. It then splits them
//   into done and pending, in the order given (asyncio returns two sets).
//   Nothing pending is cancelled. Coroutines are refused (3.11+): wrap
//   them in tasks first.
// - as_completed() gives as many coroutines as there are awaitables; each
//   awaits a queue that the done callbacks fill, so the N-th one awaited
//   gives the result (or raises the exception) of the N-th to finish. At
//   the timeout, the ones still waiting raise TimeoutError.
// - A callback that runs after wait() has returned finds its waiter done
//   and does nothing (asyncio removes it instead).
#include <cstddef>
#include <memory>
#include <optional>
#include <type_traits>
#include <utility>
#include <vector>

#include "pyconc/asyncio/coroutine.hpp"
#include "pyconc/asyncio/ensure_future.hpp"
#include "pyconc/asyncio/errors.hpp"
#include "pyconc/asyncio/event_loop.hpp"
#include "pyconc/asyncio/future.hpp"
#include "pyconc/asyncio/queue.hpp"
#include "pyconc/asyncio/task.hpp"

namespace pyconc::asyncio {

enum class ReturnWhen : unsigned char { first_completed, first_exception, all_completed };
// As Python spells them: asyncio.FIRST_COMPLETED, ...
inline constexpr ReturnWhen FIRST_COMPLETED = ReturnWhen::first_completed;
inline constexpr ReturnWhen FIRST_EXCEPTION = ReturnWhen::first_exception;
inline constexpr ReturnWhen ALL_COMPLETED = ReturnWhen::all_completed;

// `done, pending = await asyncio.wait(fs)`
template <class F>
struct DoneAndPending {
    std::vector<F> done;
    std::vector<F> pending;
};

template <class F>
Coroutine<DoneAndPending<F>> wait(std::vector<F> fs, ReturnWhen return_when = ALL_COMPLETED,
                                  std::optional<double> timeout = std::nullopt) {
    static_assert(!std::is_same_v<F, Coroutine<result_of_t<F>>>,
                  "asyncio.wait: passing coroutines is forbidden, use tasks explicitly");
    if (fs.empty()) throw ValueError("Set of Tasks/Futures is empty.");
    EventLoop& loop = EventLoop::get_running_loop();
    auto waiter = make_future<void>(loop);
    TimerHandle timeout_handle;
    if (timeout) {
        timeout_handle = loop.call_later(*timeout, [waiter] {
            if (!waiter->done()) waiter->set_result();  // _release_waiter
        });
    }
    auto counter = std::make_shared<std::size_t>(fs.size());
    for (const F& f : fs) {
        const std::shared_ptr<FutureBase> base = detail::shared_base(f);
        base->add_done_callback([waiter, counter, return_when, timeout_handle, weak = std::weak_ptr{base}] {
            --*counter;
            const auto f_now = weak.lock();
            const bool failed = f_now && !f_now->cancelled() && f_now->exception() != nullptr;
            if (*counter == 0 || return_when == FIRST_COMPLETED ||
                (return_when == FIRST_EXCEPTION && failed)) {
                timeout_handle.cancel();
                if (!waiter->done()) waiter->set_result();
            }
        });
    }
    try {
        co_await waiter;
    } catch (const CancelledError&) {
        timeout_handle.cancel();
        throw;
    }
    timeout_handle.cancel();
    DoneAndPending<F> split;
    for (F& f : fs) (detail::shared_base(f)->done() ? split.done : split.pending).push_back(std::move(f));
    co_return split;
}

namespace detail {
// What the done callbacks of as_completed share: the order they finished in.
template <class F>
struct Completions {
    Queue<std::optional<F>> done;  // std::nullopt: the timeout came first
    std::vector<F> not_done;       // the ones still to finish
    TimerHandle timeout_handle;
};

template <class F>
Coroutine<result_of_t<F>> wait_for_one(std::shared_ptr<Completions<F>> completions) {
    const std::optional<F> f = co_await completions->done.get();
    if (!f) throw TimeoutError();
    if constexpr (std::is_void_v<result_of_t<F>>) {
        copy_result(*f);
    } else {
        co_return copy_result(*f);  // raises what it raised
    }
}
}  // namespace detail

// `for coro in asyncio.as_completed(aws): result = await coro`
template <class A>
std::vector<Coroutine<result_of_t<A>>> as_completed(std::vector<A> aws,
                                                    std::optional<double> timeout = std::nullopt) {
    using F = FutureOf<A>;
    auto completions = std::make_shared<detail::Completions<F>>();
    completions->not_done = detail::ensure_all(std::move(aws));
    const std::weak_ptr<detail::Completions<F>> weak = completions;
    for (const F& f : completions->not_done) {
        detail::shared_base(f)->add_done_callback([weak, f] {
            const auto shared = weak.lock();
            if (!shared || shared->not_done.empty()) return;  // the timeout was here first
            std::erase(shared->not_done, f);
            shared->done.put_nowait(f);
            if (shared->not_done.empty()) shared->timeout_handle.cancel();
        });
    }
    if (timeout && !completions->not_done.empty()) {
        completions->timeout_handle = EventLoop::get_running_loop().call_later(*timeout, [weak] {
            const auto shared = weak.lock();
            if (!shared) return;
            for (std::size_t i = 0; i < shared->not_done.size(); ++i) shared->done.put_nowait(std::nullopt);
            shared->not_done.clear();
        });
    }
    std::vector<Coroutine<result_of_t<A>>> coroutines;
    const std::size_t count = completions->not_done.size();
    coroutines.reserve(count);
    for (std::size_t i = 0; i < count; ++i) coroutines.push_back(detail::wait_for_one(completions));
    return coroutines;
}

}  // namespace pyconc::asyncio
