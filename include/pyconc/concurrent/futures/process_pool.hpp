#pragma once
// concurrent.futures.ProcessPoolExecutor: work in other processes.
//
// How this works (Lib/concurrent/futures/process.py)
// - It stands on multiprocessing's worker processes
//   (multiprocessing/worker_pool.hpp), as concurrent.futures.process stands
//   on multiprocessing: spawned workers, one interpreter and one GIL each,
//   so CPU-bound work runs in parallel. max_workers defaults to the number
//   of CPUs.
// - submit<f>(args...) pickles the arguments; the function crosses by name
//   (Function<f>); the work item completes the future: the result, or the
//   worker's exception as its message, raised by result().
// - A worker that dies breaks the pool: every pending future fails with
//   BrokenExecutor ("A process in the process pool was terminated abruptly
//   ..."), and submit() raises it too.
// - shutdown(wait, cancel_futures) as for threads; the destructor does
//   shutdown(true): no child and no zombie is left behind.
#include <cstddef>
#include <exception>
#include <memory>
#include <optional>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include <sys/types.h>

#include "pyconc/concurrent/futures/errors.hpp"
#include "pyconc/concurrent/futures/future.hpp"
#include "pyconc/multiprocessing/pickle.hpp"
#include "pyconc/multiprocessing/spawn.hpp"
#include "pyconc/multiprocessing/start_method.hpp"
#include "pyconc/multiprocessing/worker_pool.hpp"

namespace pyconc::concurrent::futures {

class ProcessPoolExecutor {
public:
    [[nodiscard]] static std::size_t default_max_workers() {
        return multiprocessing::WorkerPool::default_workers();
    }

    // ProcessPoolExecutor(max_workers, mp_context): workers started by the
    // context's start method (multiprocessing's default without one).
    explicit ProcessPoolExecutor(std::optional<std::size_t> max_workers = {},
                                 std::optional<multiprocessing::Context> mp_context = {})
        : workers_(max_workers.value_or(default_max_workers()),
                   mp_context.value_or(multiprocessing::get_context()).start_method()) {}

    [[nodiscard]] multiprocessing::StartMethod start_method() const noexcept {
        return workers_.start_method();
    }

    [[nodiscard]] std::size_t max_workers() const noexcept { return workers_.max_workers(); }
    [[nodiscard]] std::vector<pid_t> worker_pids() const { return workers_.worker_pids(); }

    // executor.submit(f, args...): f(args...) in a worker process.
    template <auto F, class... Args>
    auto submit(Args&&... args) {
        using Function = multiprocessing::Function<F>;
        using R = typename Function::Result;
        (void)Function::registered;
        auto future = std::make_shared<Future<R>>();
        multiprocessing::WorkerPool::WorkItem item;
        item.function = Function::name();
        item.arguments = multiprocessing::dumps(typename Function::Arguments{std::forward<Args>(args)...});
        item.start = [future] { return future->set_running_or_notify_cancel(); };
        item.finish = [future](bool ok, const std::string& payload) {
            if (!ok) {
                future->set_exception(std::make_exception_ptr(std::runtime_error(payload)));
            } else if constexpr (std::is_void_v<R>) {
                future->set_result();
            } else {
                future->set_result(multiprocessing::loads<R>(payload));
            }
        };
        item.fail = [future](const std::string& why) {
            if (!future->done()) future->set_exception(std::make_exception_ptr(BrokenExecutor(why)));
        };
        item.cancel = [future] { future->cancel(); };
        switch (workers_.submit(std::move(item))) {
            case multiprocessing::WorkerPool::Refusal::broken:
                throw BrokenExecutor(workers_.broken_message());
            case multiprocessing::WorkerPool::Refusal::shut_down:
                throw RuntimeError("cannot schedule new futures after shutdown");
            case multiprocessing::WorkerPool::Refusal::accepted:
                break;
        }
        return future;
    }

    // executor.map(f, items): the results in the order of the items.
    template <auto F, class Item>
    auto map(const std::vector<Item>& items) {
        using R = typename multiprocessing::Function<F>::Result;
        std::vector<std::shared_ptr<Future<R>>> futures;
        futures.reserve(items.size());
        for (const Item& item : items) futures.push_back(submit<F>(item));
        std::vector<R> results;
        results.reserve(items.size());
        for (auto& future : futures) results.push_back(future->result());
        return results;
    }

    void shutdown(bool wait = true, bool cancel_futures = false) { workers_.shutdown(wait, cancel_futures); }

private:
    multiprocessing::WorkerPool workers_;
};

}  // namespace pyconc::concurrent::futures
