#pragma once
// concurrent.futures.ThreadPoolExecutor, on model threads.
//
// How this works (Lib/concurrent/futures/thread.py)
// - Workers are model threads of one interpreter (threading.hpp): each
//   holds the GIL while it runs a work item, so CPU-bound items take turns
//   as Python's do, and blocking calls inside an item release it
//   (ThreadState::AllowThreads).
// - submit(fn) queues a work item and returns its Future. A worker is
//   started only when no worker is idle, up to max_workers (default
//   min(32, cpus + 4), as since 3.8): the pool grows with demand.
// - A worker waits for work with the GIL released, as queue.get() does.
//   It skips an item whose future was cancelled meanwhile; an exception
//   from the work goes into the future.
// - shutdown(wait, cancel_futures): no new work is accepted ("cannot
//   schedule new futures after shutdown"); with cancel_futures the queued
//   items are cancelled; with wait the workers finish what is queued and are
//   joined. Call it from a thread that does not hold the GIL, or pass the
//   caller's thread state so that it is released while joining (the
//   destructor does shutdown(true)).
#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <exception>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <type_traits>
#include <utility>
#include <vector>

#include <fmt/format.h>

#include "pyconc/concurrent/futures/errors.hpp"
#include "pyconc/concurrent/futures/future.hpp"
#include "pyconc/runtime/brief_watch.hpp"
#include "pyconc/runtime/interpreter.hpp"
#include "pyconc/runtime/thread_state.hpp"
#include "pyconc/threading.hpp"

namespace pyconc::concurrent::futures {

class ThreadPoolExecutor {
public:
    // min(32, os.cpu_count() + 4)
    [[nodiscard]] static std::size_t default_max_workers() {
        return std::min<std::size_t>(32, std::max(1U, std::thread::hardware_concurrency()) + 4);
    }

    explicit ThreadPoolExecutor(runtime::Interpreter& interpreter,
                                std::optional<std::size_t> max_workers = {},
                                std::string thread_name_prefix = "ThreadPoolExecutor")
        : ThreadPoolExecutor([&interpreter]() -> runtime::Interpreter& { return interpreter; }, max_workers,
                             std::move(thread_name_prefix)) {}
    ThreadPoolExecutor(const ThreadPoolExecutor&) = delete;
    ThreadPoolExecutor& operator=(const ThreadPoolExecutor&) = delete;
    ~ThreadPoolExecutor() { shutdown(true); }

    [[nodiscard]] std::size_t max_workers() const noexcept { return max_workers_; }
    [[nodiscard]] std::size_t workers_started() const {
        const std::lock_guard lock{mutex_};
        return workers_.size();
    }

    // executor.submit(fn): fn(ThreadState&) runs on a worker, with the GIL.
    template <class F>
    auto submit(F fn) -> std::shared_ptr<Future<std::invoke_result_t<F&, runtime::ThreadState&>>> {
        using R = std::invoke_result_t<F&, runtime::ThreadState&>;
        auto future = std::make_shared<Future<R>>();
        WorkItem item{[future, fn = std::move(fn)](runtime::ThreadState& t) mutable {
                          if (!future->set_running_or_notify_cancel()) return;
                          try {
                              if constexpr (std::is_void_v<R>) {
                                  fn(t);
                                  future->set_result();
                              } else {
                                  future->set_result(fn(t));
                              }
                          } catch (...) {
                              future->set_exception(std::current_exception());
                          }
                      },
                      [future] { future->cancel(); }};
        {
            const std::lock_guard lock{mutex_};
            if (shutdown_) throw RuntimeError("cannot schedule new futures after shutdown");
            queue_.push_back(std::move(item));
            queued_.fetch_add(1, std::memory_order_release);
            if (idle_ == 0 && workers_.size() < max_workers_) start_worker();
        }
        work_.notify_one();
        return future;
    }

    // executor.map(fn, items): the results in the order of the items.
    template <class F, class Item>
    auto map(F fn, const std::vector<Item>& items) {
        using R = std::invoke_result_t<F&, runtime::ThreadState&, const Item&>;
        std::vector<std::shared_ptr<Future<R>>> futures;
        futures.reserve(items.size());
        for (const Item& item : items)
            futures.push_back(submit([fn, item](runtime::ThreadState& t) { return fn(t, item); }));
        std::vector<R> results;
        results.reserve(items.size());
        for (auto& future : futures) results.push_back(future->result());
        return results;
    }

    void shutdown(bool wait = true, bool cancel_futures = false, runtime::ThreadState* caller = nullptr) {
        std::vector<WorkItem> cancelled;
        {
            const std::lock_guard lock{mutex_};
            shutdown_ = true;
            if (cancel_futures) {
                cancelled.assign(std::make_move_iterator(queue_.begin()),
                                 std::make_move_iterator(queue_.end()));
                queue_.clear();
            }
        }
        work_.notify_all();
        for (WorkItem& item : cancelled) item.cancel();
        if (!wait) return;
        std::optional<runtime::ThreadState::AllowThreads> released;
        if (caller != nullptr) released.emplace(*caller);
        for (auto& worker : workers_) worker->join();
    }

protected:
    // The interpreter a new worker runs in: the pool's, or one of its own
    // (InterpreterPoolExecutor, as CPython's WorkerContext makes one).
    using WorkerInterpreter = std::function<runtime::Interpreter&()>;
    ThreadPoolExecutor(WorkerInterpreter worker_interpreter, std::optional<std::size_t> max_workers,
                       std::string thread_name_prefix)
        : worker_interpreter_(std::move(worker_interpreter)),
          max_workers_(max_workers.value_or(default_max_workers())),
          prefix_(std::move(thread_name_prefix)) {
        if (max_workers_ == 0) throw std::invalid_argument("max_workers must be greater than 0");
    }

private:
    struct WorkItem {
        std::function<void(runtime::ThreadState&)> run;
        std::function<void()> cancel;
    };

    // Caller holds mutex_.
    void start_worker() {
        auto worker = std::make_unique<threading::Thread>(worker_interpreter_(),
                                                          fmt::format("{}_{}", prefix_, workers_.size()),
                                                          [this](runtime::ThreadState& t) { work(t); });
        worker->start();
        workers_.push_back(std::move(worker));
    }

    // _worker: take an item (the GIL released while waiting), run it, again.
    void work(runtime::ThreadState& t) {
        t.resume();
        while (true) {
            std::optional<WorkItem> item;
            {
                const runtime::ThreadState::AllowThreads waiting{t};
                await_work_briefly();
                std::unique_lock lock{mutex_};
                ++idle_;
                work_.wait(lock, [&] { return !queue_.empty() || shutdown_; });
                --idle_;
                if (queue_.empty()) return;  // shut down and drained
                item.emplace(std::move(queue_.front()));
                queue_.pop_front();
                queued_.fetch_sub(1, std::memory_order_relaxed);
            }
            item->run(t);
        }
    }

    // Before it sleeps, a worker that just finished watches the queue for a
    // moment (brief_watch.hpp): work submitted right after a
    // result then finds it awake, and a round trip costs no wake-up.
    void await_work_briefly() const {
        runtime::watch_briefly([this] { return queued_.load(std::memory_order_acquire) != 0; });
    }

    WorkerInterpreter worker_interpreter_;
    std::size_t max_workers_;
    std::string prefix_;
    mutable std::mutex mutex_;
    std::condition_variable work_;
    std::deque<WorkItem> queue_;
    std::atomic<std::size_t> queued_{0};  // queue_.size(), for await_work_briefly
    std::size_t idle_ = 0;
    bool shutdown_ = false;
    std::vector<std::unique_ptr<threading::Thread>> workers_;  // started under mutex_; joined by shutdown
};

}  // namespace pyconc::concurrent::futures
