#pragma once
// The worker processes under multiprocessing.Pool and
// concurrent.futures.ProcessPoolExecutor: workers started by a start
// method, a queue of pickled calls, a manager thread (Lib/multiprocessing/
// pool.py's workers, Lib/concurrent/futures/process.py's executor manager
// thread).
//
// How this works
// - Workers are processes, each with its own interpreter and its own GIL,
//   so CPU-bound work runs in parallel. They are started with the first
//   item, by the pool's start method (popen.hpp): forked copies of this
//   process (fork: they see its globals as they are then), fresh runs of
//   this program (spawn) or forks of the fork server (forkserver: globals
//   as at start-up). All are started before the manager thread, so a fork
//   copies no thread of the pool's own; a spawned worker that never says it
//   is up (no freeze_support) fails the submit with BootstrapError, and the
//   workers already started are stopped.
// - A WorkItem is a call by name (Function<f>) with pickled arguments, and
//   what to do with its outcome: start() (false: it was cancelled, skip
//   it), finish(ok, payload) with the pickled result or the error message,
//   fail(message) if the pool broke, cancel() if shutdown drops it. The
//   pools above (ProcessPoolExecutor, multiprocessing.Pool) put their own
//   result objects behind these.
// - The manager thread hands each idle worker the next item, reads results
//   as they come back and calls finish. A worker that dies (a crash,
//   abort(), SIGKILL) is seen as end-of-file on its connection: every item
//   in flight or queued fails with CPython's message naming the worker, the
//   other workers are stopped, and the pool refuses new work.
// - shutdown(wait, cancel_queued): the workers are told to stop and are
//   reaped, and the destructor does shutdown(true): no child and no zombie
//   is left behind. Children also die with this process
//   (PR_SET_PDEATHSIG), should it be killed.
#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <tuple>
#include <utility>
#include <vector>

#include <fcntl.h>
#include <poll.h>
#include <sys/prctl.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fmt/format.h>

#include "pyconc/multiprocessing/connection.hpp"
#include "pyconc/multiprocessing/pickle.hpp"
#include "pyconc/multiprocessing/popen.hpp"
#include "pyconc/multiprocessing/spawn.hpp"
#include "pyconc/multiprocessing/start_method.hpp"
#include "pyconc/runtime/brief_watch.hpp"

namespace pyconc::multiprocessing {

namespace detail {
// The messages: parent -> worker (id, function, arguments), id 0: stop;
// worker -> parent (id, ok, result or error message).
using TaskMessage = std::tuple<std::uint64_t, std::string, std::string>;
using ResultMessage = std::tuple<std::uint64_t, bool, std::string>;

// _process_worker: call what the parent sends until told to stop. Named
// pool-worker (ps, top), however it was started.
inline int process_worker_main(Connection& parent) {
    ::prctl(PR_SET_NAME, "pool-worker");
    while (true) {
        TaskMessage task;
        // The next task often follows the last result at once (brief_watch.hpp).
        runtime::watch_briefly([&parent] { return parent.poll(); });
        try {
            task = parent.recv<TaskMessage>();
        } catch (const EOFError&) {
            return 0;  // the parent went away
        }
        const auto& [id, function, arguments] = task;
        if (id == 0) return 0;
        ResultMessage result{id, true, {}};
        try {
            std::get<2>(result) = find_function(function)(arguments);
        } catch (const std::exception& error) {
            std::get<1>(result) = false;
            std::get<2>(result) = error.what();
        }
        parent.send(result);
    }
}
// NOLINTNEXTLINE(cert-err58-cpp): a program that cannot register at start-up should stop there
inline const bool process_worker_registered = register_child_main("pool", process_worker_main);
}  // namespace detail

class WorkerPool {
public:
    struct WorkItem {
        std::uint64_t id = 0;
        std::string function;         // Function<f>::name()
        std::string arguments;        // pickled
        std::function<bool()> start;  // false: it was cancelled, skip it
        std::function<void(bool ok, const std::string& payload)> finish;
        std::function<void(const std::string& why)> fail;  // the pool broke
        std::function<void()> cancel;                      // shutdown dropped it
    };
    // Why submit() refused: the pool broke (`why` says which worker died), or it is shut down.
    enum class Refusal : unsigned char { accepted, broken, shut_down };

    [[nodiscard]] static std::size_t default_workers() {
        return std::max(1U, std::thread::hardware_concurrency());
    }

    WorkerPool(std::size_t workers, StartMethod method) : max_workers_(workers), method_(method) {
        if (max_workers_ == 0) throw std::invalid_argument("max_workers must be greater than 0");
        int fds[2] = {-1, -1};
        if (::pipe2(fds, O_CLOEXEC | O_NONBLOCK) != 0) throw std::runtime_error("pipe2 failed");
        wakeup_read_ = fds[0];
        wakeup_write_ = fds[1];
    }
    WorkerPool(const WorkerPool&) = delete;
    WorkerPool& operator=(const WorkerPool&) = delete;
    ~WorkerPool() {
        shutdown(true);
        ::close(wakeup_read_);
        ::close(wakeup_write_);
    }

    [[nodiscard]] std::size_t max_workers() const noexcept { return max_workers_; }
    [[nodiscard]] StartMethod start_method() const noexcept { return method_; }
    [[nodiscard]] std::vector<pid_t> worker_pids() const {
        const std::lock_guard lock{mutex_};
        std::vector<pid_t> pids;
        for (const auto& worker : workers_) pids.push_back(worker.process.pid());
        return pids;
    }
    // Why the pool broke (empty while it has not).
    [[nodiscard]] std::string broken_message() const {
        const std::lock_guard lock{mutex_};
        return broken_message_;
    }

    // Queues `item` (the workers start with the first one); refused, and
    // untouched, if the pool broke or was shut down. Throws BootstrapError
    // if the workers could not start (nothing is left running then).
    Refusal submit(WorkItem item) {
        {
            const std::lock_guard lock{mutex_};
            if (broken_) return Refusal::broken;
            if (shutdown_) return Refusal::shut_down;
            if (workers_.empty()) start_workers();
            item.id = next_id_++;
            queue_.push_back(std::move(item));
        }
        wake();
        return Refusal::accepted;
    }

    void shutdown(bool wait = true, bool cancel_queued = false) {
        std::deque<WorkItem> cancelled;
        {
            const std::lock_guard lock{mutex_};
            shutdown_ = true;
            if (cancel_queued) std::swap(cancelled, queue_);
        }
        for (WorkItem& item : cancelled) item.cancel();
        wake();
        if (wait && manager_.joinable()) manager_.join();
    }

private:
    struct Worker {
        Popen process;
        Connection connection;
        std::optional<WorkItem> running;  // the manager's alone
    };

    // CPython's message, and which worker it was.
    [[nodiscard]] static std::string broken_message_for(pid_t dead_worker) {
        return fmt::format(
            "A process in the process pool was terminated abruptly while the future was running or "
            "pending (worker pid {}).",
            dead_worker);
    }

    // All the workers, then the manager thread. Caller holds mutex_.
    void start_workers() {
        try {
            for (std::size_t i = 0; i < max_workers_; ++i) {
                auto [mine, childs] = Pipe();
                workers_.push_back({Popen{method_, "pool", childs}, std::move(mine), std::nullopt});
            }
            for (const Worker& worker : workers_) worker.process.await_bootstrap(worker.connection);
        } catch (...) {
            for (Worker& worker : workers_) {
                worker.process.send_signal(SIGKILL);
                (void)worker.process.poll(true);
            }
            workers_.clear();
            throw;
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
                } catch (const EOFError&) {
                    worker.running = std::move(item);
                    break_pool(worker.process.pid());
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
            } catch (const EOFError&) {
                const std::lock_guard lock{mutex_};
                break_pool(worker.process.pid());
                return;
            }
        }
    }

    // A worker died: every item in flight or queued fails; the pool takes no more.
    // Caller holds mutex_.
    void break_pool(pid_t dead_worker) {
        broken_ = true;
        broken_message_ = broken_message_for(dead_worker);
        for (Worker& worker : workers_) {
            if (worker.running) worker.running->fail(broken_message_);
            worker.running.reset();
        }
        for (WorkItem& item : queue_) {
            if (item.start()) item.fail(broken_message_);
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
                worker.process.send_signal(SIGKILL);
                continue;
            }
            try {
                worker.connection.send(detail::TaskMessage{0, {}, {}});
            } catch (const EOFError&) {
                worker.process.send_signal(SIGKILL);
            }
        }
        for (Worker& worker : workers) (void)worker.process.poll(true);
    }

    std::size_t max_workers_;
    StartMethod method_;
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

}  // namespace pyconc::multiprocessing
