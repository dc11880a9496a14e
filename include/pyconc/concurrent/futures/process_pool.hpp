#pragma once
// concurrent.futures.ProcessPoolExecutor: work in other processes.
//
// How this works (Lib/concurrent/futures/process.py)
// - Workers are spawned processes (spawn.hpp): fresh runs of this program,
//   each with its own interpreter and its own GIL, so CPU-bound work runs in
//   parallel. (Spawned, not forked: the parent has threads, and a forked
//   copy of a process with threads can inherit a lock held forever.)
//   max_workers defaults to the number of CPUs.
// - submit<f>(args...) pickles the arguments; the function crosses by name
//   (Function<f>). A manager thread (CPython's executor manager thread)
//   hands each idle worker the next item, reads results as they come back
//   and completes the futures; an exception in the worker comes back as
//   its message and is raised by result().
// - A worker that dies (a crash, abort(), SIGKILL) is seen as end-of-file
//   on its connection: every pending future fails with BrokenExecutor ("A
//   process in the process pool was terminated abruptly ..."), the other
//   workers are stopped, and the pool refuses new work.
// - shutdown(wait, cancel_futures) as for threads; the workers are told to
//   stop and are reaped, and the destructor does shutdown(true): no child
//   and no zombie is left behind. Children also die with this process
//   (PR_SET_PDEATHSIG), should it be killed.
#include <algorithm>
#include <cerrno>
#include <condition_variable>
#include <csignal>
#include <cstdint>
#include <deque>
#include <exception>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

#include <poll.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fmt/format.h>

#include "pyconc/concurrent/futures/errors.hpp"
#include "pyconc/concurrent/futures/future.hpp"
#include "pyconc/multiprocessing/connection.hpp"
#include "pyconc/multiprocessing/pickle.hpp"
#include "pyconc/multiprocessing/spawn.hpp"
#include "pyconc/runtime/brief_watch.hpp"

namespace pyconc::concurrent::futures {

namespace detail {
// The messages: parent -> worker (id, function, arguments), id 0: stop;
// worker -> parent (id, ok, result or error message).
using TaskMessage = std::tuple<std::uint64_t, std::string, std::string>;
using ResultMessage = std::tuple<std::uint64_t, bool, std::string>;

// _process_worker: call what the parent sends until told to stop.
inline int process_worker_main(multiprocessing::Connection& parent) {
    while (true) {
        TaskMessage task;
        // The next task often follows the last result at once (brief_watch.hpp).
        runtime::watch_briefly([&parent] { return parent.poll(); });
        try {
            task = parent.recv<TaskMessage>();
        } catch (const multiprocessing::EOFError&) {
            return 0;  // the parent went away
        }
        const auto& [id, function, arguments] = task;
        if (id == 0) return 0;
        ResultMessage result{id, true, {}};
        try {
            std::get<2>(result) = multiprocessing::find_function(function)(arguments);
        } catch (const std::exception& error) {
            std::get<1>(result) = false;
            std::get<2>(result) = error.what();
        }
        parent.send(result);
    }
}
// NOLINTNEXTLINE(cert-err58-cpp): a program that cannot register at start-up should stop there
inline const bool process_worker_registered =
    multiprocessing::register_child_main("pool", process_worker_main);
}  // namespace detail

class ProcessPoolExecutor {
public:
    [[nodiscard]] static std::size_t default_max_workers() {
        return std::max(1U, std::thread::hardware_concurrency());
    }

    explicit ProcessPoolExecutor(std::optional<std::size_t> max_workers = {})
        : max_workers_(max_workers.value_or(default_max_workers())) {
        if (max_workers_ == 0) throw std::invalid_argument("max_workers must be greater than 0");
        int fds[2] = {-1, -1};
        if (::pipe2(fds, O_CLOEXEC | O_NONBLOCK) != 0) throw std::runtime_error("pipe2 failed");
        wakeup_read_ = fds[0];
        wakeup_write_ = fds[1];
    }
    ProcessPoolExecutor(const ProcessPoolExecutor&) = delete;
    ProcessPoolExecutor& operator=(const ProcessPoolExecutor&) = delete;
    ~ProcessPoolExecutor() {
        shutdown(true);
        ::close(wakeup_read_);
        ::close(wakeup_write_);
    }

    [[nodiscard]] std::size_t max_workers() const noexcept { return max_workers_; }
    [[nodiscard]] std::vector<pid_t> worker_pids() const {
        const std::lock_guard lock{mutex_};
        std::vector<pid_t> pids;
        for (const auto& worker : workers_) pids.push_back(worker.pid);
        return pids;
    }

    // executor.submit(f, args...): f(args...) in a worker process.
    template <auto F, class... Args>
    auto submit(Args&&... args) {
        using Function = multiprocessing::Function<F>;
        using R = typename Function::Result;
        (void)Function::registered;
        auto future = std::make_shared<Future<R>>();
        WorkItem item;
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
        item.fail = [future](const std::exception_ptr& error) {
            if (!future->done()) future->set_exception(error);
        };
        item.cancel = [future] { future->cancel(); };
        {
            const std::lock_guard lock{mutex_};
            if (broken_) throw BrokenExecutor(broken_message_);
            if (shutdown_) throw RuntimeError("cannot schedule new futures after shutdown");
            item.id = next_id_++;
            queue_.push_back(std::move(item));
            if (workers_.empty()) start_workers();
        }
        wake();
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

    void shutdown(bool wait = true, bool cancel_futures = false) {
        std::deque<WorkItem> cancelled;
        {
            const std::lock_guard lock{mutex_};
            shutdown_ = true;
            if (cancel_futures) std::swap(cancelled, queue_);
        }
        for (WorkItem& item : cancelled) item.cancel();
        wake();
        if (wait && manager_.joinable()) manager_.join();
    }

private:
    struct WorkItem {
        std::uint64_t id = 0;
        std::string function;
        std::string arguments;
        std::function<bool()> start;  // false: it was cancelled, skip it
        std::function<void(bool, const std::string&)> finish;
        std::function<void(const std::exception_ptr&)> fail;
        std::function<void()> cancel;
    };
    struct Worker {
        pid_t pid;
        multiprocessing::Connection connection;
        std::optional<WorkItem> running;  // the manager's alone
    };

    // CPython's message, and which worker it was.
    [[nodiscard]] static std::string broken_message(pid_t dead_worker) {
        return fmt::format(
            "A process in the process pool was terminated abruptly while the future was running or "
            "pending (worker pid {}).",
            dead_worker);
    }

    // Caller holds mutex_.
    void start_workers() {
        for (std::size_t i = 0; i < max_workers_; ++i) {
            auto [mine, childs] = multiprocessing::Pipe();
            const pid_t pid = multiprocessing::spawn_child("pool", childs);
            workers_.push_back({pid, std::move(mine), std::nullopt});
        }
        manager_ = std::thread([this] { manage(); });
    }

    void wake() const noexcept {
        const char byte = 0;
        [[maybe_unused]] const auto written = ::write(wakeup_write_, &byte, 1);
    }

    // The executor manager thread: dispatch, collect, notice deaths, stop.
    void manage() {
        while (true) {
            dispatch();
            if (finished()) break;
            wait_for_events();
        }
        stop_workers();
    }

    // Hands queued items to idle workers.
    void dispatch() {
        const std::lock_guard lock{mutex_};
        if (broken_) return;
        for (Worker& worker : workers_) {
            while (!worker.running && !queue_.empty()) {
                WorkItem item = std::move(queue_.front());
                queue_.pop_front();
                if (!item.start()) continue;  // cancelled while queued
                try {
                    worker.connection.send(detail::TaskMessage{item.id, item.function, item.arguments});
                } catch (const multiprocessing::EOFError&) {
                    worker.running = std::move(item);
                    break_pool(worker.pid);
                    return;
                }
                worker.running = std::move(item);
            }
        }
    }

    [[nodiscard]] bool finished() {
        const std::lock_guard lock{mutex_};
        if (broken_) return true;
        if (!shutdown_ || !queue_.empty()) return false;
        return std::none_of(workers_.begin(), workers_.end(),
                            [](const Worker& w) { return w.running.has_value(); });
    }

    // poll() on the workers' connections and the wakeup pipe.
    void wait_for_events() {
        std::vector<pollfd> fds;
        fds.push_back({wakeup_read_, POLLIN, 0});
        for (const Worker& worker : workers_) fds.push_back({worker.connection.fileno(), POLLIN, 0});
        // A result or a submission often comes within microseconds of the
        // last one: look without sleeping for a moment first (brief_watch.hpp).
        int ready = 0;
        runtime::watch_briefly([&] {
            ready = ::poll(fds.data(), fds.size(), 0);
            return ready > 0;
        });
        while (ready <= 0) {
            ready = ::poll(fds.data(), fds.size(), -1);
            if (ready < 0 && errno != EINTR) break;
        }
        if (fds[0].revents != 0) {
            char buffer[256];
            while (::read(wakeup_read_, buffer, sizeof buffer) > 0) {
            }
        }
        for (std::size_t i = 1; i < fds.size(); ++i) {
            if (fds[i].revents == 0) continue;
            Worker& worker = workers_[i - 1];
            try {
                const auto [id, ok, payload] = worker.connection.recv<detail::ResultMessage>();
                std::optional<WorkItem> item;
                {
                    const std::lock_guard lock{mutex_};
                    item = std::exchange(worker.running, std::nullopt);
                }
                if (item && item->id == id) item->finish(ok, payload);
            } catch (const multiprocessing::EOFError&) {
                const std::lock_guard lock{mutex_};
                break_pool(worker.pid);
                return;
            }
        }
    }

    // A worker died: every pending future fails; the pool takes no more.
    // Caller holds mutex_.
    void break_pool(pid_t dead_worker) {
        broken_ = true;
        broken_message_ = broken_message(dead_worker);
        const auto error = std::make_exception_ptr(BrokenExecutor(broken_message_));
        for (Worker& worker : workers_) {
            if (worker.running) worker.running->fail(error);
            worker.running.reset();
        }
        for (WorkItem& item : queue_) {
            if (item.start()) item.fail(error);
        }
        queue_.clear();
    }

    // Tells the workers to stop (or kills them, if the pool broke) and reaps them.
    void stop_workers() {
        std::vector<Worker> workers;
        bool broken = false;
        {
            const std::lock_guard lock{mutex_};
            broken = broken_;
            shutdown_ = true;
            workers = std::move(workers_);
            workers_.clear();
        }
        for (Worker& worker : workers) {
            if (broken) {
                ::kill(worker.pid, SIGKILL);
                continue;
            }
            try {
                worker.connection.send(detail::TaskMessage{0, {}, {}});
            } catch (const multiprocessing::EOFError&) {
                ::kill(worker.pid, SIGKILL);
            }
        }
        for (Worker& worker : workers) {
            int status = 0;
            while (::waitpid(worker.pid, &status, 0) < 0 && errno == EINTR) {
            }
        }
    }

    std::size_t max_workers_;
    mutable std::mutex mutex_;
    std::deque<WorkItem> queue_;
    std::vector<Worker> workers_;
    std::uint64_t next_id_ = 1;
    bool shutdown_ = false;
    bool broken_ = false;
    std::string broken_message_;  // set with broken_: which worker died
    std::thread manager_;
    int wakeup_read_ = -1;
    int wakeup_write_ = -1;
};

}  // namespace pyconc::concurrent::futures
