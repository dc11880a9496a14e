#pragma once
// concurrent.futures.InterpreterPoolExecutor (CPython 3.14,
// Lib/concurrent/futures/interpreter.py): a thread pool whose workers each
// run in an interpreter of their own.
//
// How this works
// - It is a ThreadPoolExecutor (as CPython's subclasses it) whose worker
//   context makes a new interpreter for each worker thread
//   (concurrent/interpreters): a GIL, heap and globals per worker, so
//   CPU-bound work items run at once, one per core, as in a process pool,
//   and a module global a work item sets stays in its worker's interpreter.
// - A work item crosses as 3.14's WorkerContext.run makes it cross: the
//   task is pickled (the callable by reference, its module and name), the
//   call runs in a thread state made for it in the worker's interpreter
//   and dropped after (_PyXI_Enter, _PyXI_Exit), and the result comes back
//   pickled. So a round trip costs more than a thread pool's, as CPython's
//   does. A work item returns a plain C++ value (through pickle when pickle
//   takes it) or, for a model object, XiData (crossinterp.hpp) that the
//   caller makes on its own heap; one that returns a Ref to a model object
//   does not compile, since that object belongs to the worker's interpreter.
// - shutdown() joins the workers; their interpreters are closed after them.
#include <cstddef>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "pyconc/concurrent/futures/thread_pool.hpp"
#include "pyconc/concurrent/interpreters/interpreter.hpp"
#include "pyconc/multiprocessing/pickle.hpp"
#include "pyconc/runtime/profile.hpp"

namespace pyconc::concurrent::futures {

namespace detail {
template <class T>
inline constexpr bool is_model_reference = false;
template <class T>
inline constexpr bool is_model_reference<runtime::Ref<T>> = true;
}  // namespace detail

class InterpreterPoolExecutor : public ThreadPoolExecutor {
public:
    // Workers that run the CPython version `profile` describes.
    explicit InterpreterPoolExecutor(const runtime::Profile& profile,
                                     std::optional<std::size_t> max_workers = {},
                                     std::string thread_name_prefix = "InterpreterPoolExecutor")
        : ThreadPoolExecutor([this]() -> runtime::Interpreter& { return new_worker_interpreter(); },
                             max_workers, std::move(thread_name_prefix)),
          profile_(profile) {}
    InterpreterPoolExecutor(const InterpreterPoolExecutor&) = delete;
    InterpreterPoolExecutor& operator=(const InterpreterPoolExecutor&) = delete;
    // The workers end before their interpreters are closed.
    ~InterpreterPoolExecutor() { shutdown(true); }

    // executor.submit(fn): fn(ThreadState&) runs in a worker's interpreter.
    template <class F>
    auto submit(F fn) {
        using R = std::invoke_result_t<F&, runtime::ThreadState&>;
        static_assert(!detail::is_model_reference<R>,
                      "a model object belongs to the worker's interpreter: return "
                      "interpreters::XiData::of(object) to send a copy back");
        return ThreadPoolExecutor::submit([fn = std::move(fn)](runtime::ThreadState& worker) mutable {
            return run_as_314_does(worker, fn);
        });
    }

    // The worker interpreters made so far (one per worker started).
    [[nodiscard]] std::size_t interpreters_made() const {
        const std::lock_guard lock{interpreters_mutex_};
        return interpreters_.size();
    }

private:
    // WorkerContext.run: the pickled task in, a thread state of its own for
    // the call, the pickled result out.
    template <class F>
    static auto run_as_314_does(runtime::ThreadState& worker, F& fn) {
        using R = std::invoke_result_t<F&, runtime::ThreadState&>;
        const std::string task = multiprocessing::dumps(std::string{"__main__.work_item"});
        const auto call = [&] {
            const runtime::ThreadState::AllowThreads released{worker};
            runtime::ThreadState per_call{worker.interpreter(), worker.name()};
            const runtime::ThreadState::Attached attached{per_call};
            (void)multiprocessing::loads<std::string>(task);  // unpickled in the worker's interpreter
            return fn(per_call);
        };
        if constexpr (std::is_void_v<R>) {
            call();
        } else if constexpr (multiprocessing::picklable<R>()) {
            return multiprocessing::loads<R>(multiprocessing::dumps(call()));
        } else {
            return call();
        }
    }

    // WorkerContext.initialize: a new interpreter for a new worker.
    runtime::Interpreter& new_worker_interpreter() {
        const std::lock_guard lock{interpreters_mutex_};
        interpreters_.push_back(interpreters::create(profile_));
        return interpreters_.back()->runtime();
    }

    runtime::Profile profile_;
    mutable std::mutex interpreters_mutex_;
    std::vector<std::unique_ptr<interpreters::Interpreter>> interpreters_;
};

}  // namespace pyconc::concurrent::futures
