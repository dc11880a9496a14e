#pragma once
// The bridge from the event loop to executors: loop.run_in_executor and
// asyncio.to_thread.
//
// How this works (Lib/asyncio/base_events.py run_in_executor,
// futures.wrap_future, threads.to_thread)
// - The function is submitted to the executor; its concurrent future gets
//   a done callback, which runs in the worker and hands the outcome to the
//   loop with call_soon_threadsafe (through a handle that is safe even if
//   the loop is gone by then). On the loop, an asyncio future takes the
//   result or the exception, and the awaiting task wakes.
// - Cancelling the awaiting task cancels the asyncio future, and that
//   cancels the concurrent one if it has not started (a running function
//   cannot be stopped, as in Python).
// - to_thread uses the loop's default executor, a ThreadPoolExecutor of the
//   loop's interpreter made on first use and shut down with the loop; so
//   the loop must run as a model thread (asyncio::run(main, {.thread = ...})).
#include <memory>
#include <type_traits>
#include <utility>

#include "pyconc/asyncio/errors.hpp"
#include "pyconc/asyncio/event_loop.hpp"
#include "pyconc/asyncio/future.hpp"
#include "pyconc/asyncio/task.hpp"
#include "pyconc/concurrent/futures/process_pool.hpp"
#include "pyconc/concurrent/futures/thread_pool.hpp"

namespace pyconc::asyncio {

namespace detail {
template <class R, class Work>
Coroutine<R> await_work(std::shared_ptr<Work> work) {
    EventLoop& loop = EventLoop::get_running_loop();
    auto done = make_future<R>(loop);
    // wrap_future: the worker's outcome is copied over on the loop's thread.
    work->add_done_callback([done, work, link = loop.threadsafe_handle()](auto& /*finished*/) {
        link->call_soon_threadsafe([done, work] {
            if (done->done()) return;  // cancelled meanwhile
            try {
                if constexpr (std::is_void_v<R>) {
                    work->result();
                    done->set_result();
                } else {
                    done->set_result(work->result());
                }
            } catch (
                const concurrent::futures::CancelledError&) {  // wrap_future: cancelled there, cancelled here
                done->cancel();
            } catch (...) {
                done->set_exception(std::current_exception());
            }
        });
    });
    done->add_done_callback([done, work] {
        if (done->cancelled()) work->cancel();
    });
    if constexpr (std::is_void_v<R>) {
        co_await done;
    } else {
        co_return co_await done;
    }
}
}  // namespace detail

// await loop.run_in_executor(executor, fn): fn(ThreadState&) runs on a
// worker; it is submitted at once, as run_in_executor does.
template <class Executor, class F>
auto run_in_executor(Executor& executor, F fn) {
    using R = std::invoke_result_t<F&, runtime::ThreadState&>;
    return detail::await_work<R>(executor.submit(std::move(fn)));
}

// await loop.run_in_executor(process_pool, f, args...): f(args...) in a
// worker process (f crosses by name, its arguments pickled).
template <auto F, class... Args>
auto run_in_executor(concurrent::futures::ProcessPoolExecutor& executor, Args&&... args) {
    using R = typename multiprocessing::Function<F>::Result;
    return detail::await_work<R>(executor.submit<F>(std::forward<Args>(args)...));
}

// The loop's default executor, made on first use.
inline concurrent::futures::ThreadPoolExecutor& default_executor(EventLoop& loop) {
    std::shared_ptr<void>& slot = loop.default_executor_slot();
    if (!slot) {
        if (loop.thread_state() == nullptr) {
            throw RuntimeError(
                "the default executor needs a loop that runs as a model thread "
                "(asyncio::run(main, {.thread = &thread_state}))");
        }
        slot = std::make_shared<concurrent::futures::ThreadPoolExecutor>(loop.thread_state()->interpreter(),
                                                                         std::nullopt, "asyncio");
    }
    return *static_cast<concurrent::futures::ThreadPoolExecutor*>(slot.get());
}

// await asyncio.to_thread(fn): fn(ThreadState&) in the default executor.
template <class F>
auto to_thread(F fn) {
    return run_in_executor(default_executor(EventLoop::get_running_loop()), std::move(fn));
}

}  // namespace pyconc::asyncio
