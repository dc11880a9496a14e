#pragma once
// The event loop (asyncio's BaseEventLoop with a selector), on one thread.
//
// How this works (BaseEventLoop._run_once)
// - Work is *callbacks*: a ready queue in FIFO order, and a heap of timers
//   ordered by when they are due (ties: in the order they were made).
//   `call_soon` appends to the ready queue; `call_later`/`call_at` push a
//   timer. A task's next step is a callback too (task.hpp), scheduled
//   without allocating.
// - One turn of the loop: wait until there is something to do (not at all
//   if the ready queue has work; until the first timer is due; or until
//   woken), move the timers that are due to the ready queue, then run
//   exactly the callbacks that were ready when the turn began. What they
//   schedule runs on the next turn, so a task that yields goes to the back
//   of the line behind everyone who was already waiting.
// - The wait is a poll() on a self-pipe, as asyncio's selector waits on its
//   self-pipe: `call_soon_threadsafe` (any thread) queues its callback under
//   a mutex and writes a byte to wake the loop; so does the SIGINT handler
//   of asyncio::run (run.hpp), through `wakeup_fd()`.
// - On a model thread (`EventLoop{&thread_state}`) the loop holds the GIL
//   while it runs callbacks and releases it while it waits, as asyncio's
//   select() does: model threads run meanwhile, and a callback can run
//   model instructions on `thread_state()`.
// - Debug mode (`set_debug`) times every callback and reports one that ran
//   longer than `slow_callback_duration` (100 ms), as asyncio's debug mode
//   logs "Executing <Task ...> took 0.501 seconds".
// - Errors that have nowhere to go (an exception from a plain callback, a
//   task whose exception nobody retrieved) go to the exception handler:
//   stderr by default, as asyncio's default handler logs them.
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <deque>
#include <exception>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <queue>
#include <string>
#include <string_view>
#include <system_error>
#include <thread>
#include <utility>
#include <vector>

#include <fcntl.h>
#include <poll.h>
#include <unistd.h>

#include <fmt/format.h>

#include "pyconc/asyncio/errors.hpp"
#include "pyconc/runtime/brief_watch.hpp"
#include "pyconc/runtime/fatal.hpp"
#include "pyconc/runtime/thread_state.hpp"

namespace pyconc::asyncio {

// Where errors with nowhere to go are reported (asyncio's default
// exception handler logs them). Returns the previous handler.
using ExceptionHandler = std::function<void(std::string_view message)>;
namespace detail {
inline ExceptionHandler& exception_handler() {
    static ExceptionHandler handler = [](std::string_view message) {
        fmt::print(stderr, "{}\n", message);
        std::fflush(stderr);
    };
    return handler;
}
}  // namespace detail
inline ExceptionHandler set_exception_handler(ExceptionHandler handler) {
    return std::exchange(detail::exception_handler(), std::move(handler));
}
inline void report_error(std::string_view message) {
    detail::exception_handler()(message);
}

// What the ready queue can run without allocating: a task's next step.
// Whoever schedules one keeps it alive until it has run.
class Runnable {
public:
    virtual void run() = 0;
    [[nodiscard]] virtual std::string describe() const = 0;

protected:
    Runnable() = default;
    Runnable(const Runnable&) = default;
    Runnable& operator=(const Runnable&) = default;
    ~Runnable() = default;
};

// A task the loop knows about while it is pending (asyncio.all_tasks()).
class PendingTask {
public:
    // Task.cancel(msg): returns false if it was done already.
    virtual bool cancel(std::string message = {}) = 0;
    [[nodiscard]] virtual bool done() const = 0;
    [[nodiscard]] virtual std::string describe() const = 0;

protected:
    PendingTask() = default;
    PendingTask(const PendingTask&) = default;
    PendingTask& operator=(const PendingTask&) = default;
    virtual ~PendingTask() = default;

private:
    friend class EventLoop;
    std::size_t slot_ = 0;  // its index in the loop's list: removal is O(1)
};

// A timer that can be cancelled before it is due (asyncio.TimerHandle).
class TimerHandle {
public:
    TimerHandle() = default;
    void cancel() const {
        if (cancelled_) *cancelled_ = true;
    }

private:
    friend class EventLoop;
    explicit TimerHandle(std::shared_ptr<bool> cancelled) : cancelled_(std::move(cancelled)) {}
    std::shared_ptr<bool> cancelled_;
};

class EventLoop;

// The loop as other threads may hold it: safe to use after the loop is
// gone (the call is then dropped). Work running in executors wakes the loop
// through it.
class ThreadsafeHandle {
public:
    // loop.call_soon_threadsafe(callback); false if the loop is gone.
    bool call_soon_threadsafe(std::function<void()> callback);

private:
    friend class EventLoop;
    std::mutex mutex_;
    EventLoop* loop_ = nullptr;  // guarded by mutex_
};

class EventLoop {
public:
    using Clock = std::chrono::steady_clock;
    static constexpr double default_slow_callback_duration = 0.1;  // seconds, as asyncio's

    // A loop on this OS thread; with a thread state, a model thread that
    // holds the GIL while it runs callbacks.
    explicit EventLoop(runtime::ThreadState* thread = nullptr)
        : thread_(thread), handle_(std::make_shared<ThreadsafeHandle>()) {
        handle_->loop_ = this;
        int fds[2] = {-1, -1};
        if (::pipe2(fds, O_NONBLOCK | O_CLOEXEC) != 0) {
            throw std::system_error(errno, std::generic_category(), "the event loop's self-pipe");
        }
        wakeup_read_ = fds[0];
        wakeup_write_ = fds[1];
    }
    EventLoop(const EventLoop&) = delete;
    EventLoop& operator=(const EventLoop&) = delete;
    ~EventLoop() {
        default_executor_.reset();  // shutdown_default_executor(): its workers finish first
        {
            const std::lock_guard lock{handle_->mutex_};
            handle_->loop_ = nullptr;
        }
        ::close(wakeup_read_);
        ::close(wakeup_write_);
    }

    // For other threads: a handle that outlives the loop safely.
    [[nodiscard]] std::shared_ptr<ThreadsafeHandle> threadsafe_handle() const { return handle_; }
    // The default executor (asyncio/executor.hpp makes it on first use and
    // knows its type); destroyed, and so shut down, first when the loop is.
    [[nodiscard]] std::shared_ptr<void>& default_executor_slot() noexcept { return default_executor_; }

    // asyncio.get_running_loop(): the loop running on this thread, or null.
    [[nodiscard]] static EventLoop* running() noexcept { return running_; }
    // The running loop; raises as asyncio does when there is none.
    [[nodiscard]] static EventLoop& get_running_loop() {
        if (!running_) throw RuntimeError("no running event loop");
        return *running_;
    }

    [[nodiscard]] bool is_running() const noexcept { return running_here_; }
    // Callbacks waiting for the next turn.
    [[nodiscard]] bool has_ready() const noexcept { return !ready_.empty(); }
    [[nodiscard]] runtime::ThreadState* thread_state() const noexcept { return thread_; }

    // loop.time(): seconds on the monotonic clock.
    [[nodiscard]] static double time() {
        return std::chrono::duration<double>(Clock::now().time_since_epoch()).count();
    }

    // --- scheduling (the loop's own thread) -------------------------------------
    void call_soon(std::function<void()> callback) { ready_.push_back({nullptr, std::move(callback)}); }
    void call_soon(Runnable& step) { ready_.push_back({&step, {}}); }

    TimerHandle call_at(Clock::time_point when, std::function<void()> callback) {
        auto cancelled = std::make_shared<bool>(false);
        timers_.push({when, next_timer_++, std::move(callback), cancelled});
        return TimerHandle{std::move(cancelled)};
    }
    // loop.call_at(when): `when` in loop.time() seconds.
    TimerHandle call_at(double when, std::function<void()> callback) {
        const auto since_epoch =
            std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(when));
        return call_at(Clock::time_point{since_epoch}, std::move(callback));
    }
    TimerHandle call_later(double delay_seconds, std::function<void()> callback) {
        const auto delay =
            std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(delay_seconds));
        return call_at(Clock::now() + delay, std::move(callback));
    }

    // --- from any thread ----------------------------------------------------------
    // Queues `callback` for the loop's next turn and wakes the loop if it is
    // waiting.
    void call_soon_threadsafe(std::function<void()> callback) {
        {
            const std::lock_guard lock{threadsafe_mutex_};
            threadsafe_.push_back(std::move(callback));
            threadsafe_pending_.store(true, std::memory_order_release);
        }
        wake();
    }
    // Writes a byte to the self-pipe; async-signal-safe.
    void wake() const noexcept {
        const char byte = 0;
        [[maybe_unused]] const auto written =
            ::write(wakeup_write_, &byte, 1);  // a full pipe is awake already
    }
    [[nodiscard]] int wakeup_fd() const noexcept { return wakeup_write_; }

    // --- debug mode -------------------------------------------------------------
    void set_debug(bool enabled) noexcept { debug_ = enabled; }
    [[nodiscard]] bool debug() const noexcept { return debug_; }
    void set_slow_callback_duration(double seconds) noexcept { slow_callback_duration_ = seconds; }
    // Called for each slow callback in debug mode (default: report_error).
    void set_slow_callback_reporter(std::function<void(const std::string& what, double seconds)> reporter) {
        slow_reporter_ = std::move(reporter);
    }

    // --- pending tasks --------------------------------------------------------------
    void add_task(PendingTask& task) {
        task.slot_ = tasks_.size();
        tasks_.push_back(&task);
    }
    void remove_task(PendingTask& task) {
        if (task.slot_ >= tasks_.size() || tasks_[task.slot_] != &task) return;  // not listed
        PendingTask* const last = tasks_.back();
        tasks_[task.slot_] = last;
        last->slot_ = task.slot_;
        tasks_.pop_back();
    }
    // asyncio.all_tasks(): the tasks not done yet.
    [[nodiscard]] std::vector<PendingTask*> all_tasks() const { return tasks_; }

    // --- running ------------------------------------------------------------------
    // Runs turns until `finished()` is true after one. The heart of
    // run_until_complete (task.hpp) and asyncio::run (run.hpp).
    // `on_wakeup` runs after each wait (run.hpp checks for Ctrl-C there).
    void run_until(const std::function<bool()>& finished, const std::function<void()>& on_wakeup = {}) {
        if (running_here_) throw RuntimeError("This event loop is already running");
        if (running_ != nullptr)
            throw RuntimeError("Cannot run the event loop while another loop is running");
        std::optional<runtime::ThreadState::Attached> attached;
        if (thread_ != nullptr) attached.emplace(*thread_);
        running_ = this;
        running_here_ = true;
        struct Leave {
            EventLoop& loop;
            ~Leave() {
                loop.running_here_ = false;
                running_ = nullptr;
            }
        } leave{*this};
        while (!finished()) {
            run_once();
            if (on_wakeup) on_wakeup();
        }
    }

private:
    struct Callback {
        Runnable* step;  // or null: then `function`
        std::function<void()> function;
    };
    struct Timer {
        Clock::time_point when;
        std::uint64_t sequence;
        std::function<void()> callback;
        std::shared_ptr<bool> cancelled;
        bool operator>(const Timer& other) const {
            return when != other.when ? when > other.when : sequence > other.sequence;
        }
    };

    // One turn: wait, collect what is due, run what is ready.
    void run_once() {
        wait_for_work();
        take_threadsafe_callbacks();
        move_due_timers();
        run_ready();
    }

    // select(timeout): no wait with work ready, else until the first timer
    // or a wakeup. The GIL is released for the wait.
    void wait_for_work() {
        drop_cancelled_timers();
        int timeout_ms = -1;  // forever: only a wakeup ends it
        if (!ready_.empty()) {
            timeout_ms = 0;
        } else if (!timers_.empty()) {
            const auto until = timers_.top().when - Clock::now();
            const auto micros = std::chrono::duration_cast<std::chrono::microseconds>(until).count();
            timeout_ms =
                micros <= 0 ? 0 : static_cast<int>((micros + 999) / 1000);  // round up, as asyncio does
        }
        pollfd wakeup{wakeup_read_, POLLIN, 0};
        int ready = 0;
        if (timeout_ms == 0) {
            ready = ::poll(&wakeup, 1, 0);
        } else {
            std::optional<runtime::ThreadState::AllowThreads> released;
            if (thread_ != nullptr) released.emplace(*thread_);
            if (!threadsafe_soon()) ready = ::poll(&wakeup, 1, timeout_ms);
        }
        if (ready > 0) drain_wakeups();
    }

    // Work handed to an executor often comes back within microseconds: the
    // loop watches for a thread-safe callback for a moment (brief_watch.hpp)
    // before it sleeps in poll(), and saves the wake-up.
    [[nodiscard]] bool threadsafe_soon() const {
        return runtime::watch_briefly([this] { return threadsafe_pending_.load(std::memory_order_acquire); });
    }

    void drain_wakeups() const {
        char buffer[256];
        while (::read(wakeup_read_, buffer, sizeof buffer) > 0) {
        }
    }

    void take_threadsafe_callbacks() {
        const std::lock_guard lock{threadsafe_mutex_};
        threadsafe_pending_.store(false, std::memory_order_relaxed);
        while (!threadsafe_.empty()) {
            ready_.push_back({nullptr, std::move(threadsafe_.front())});
            threadsafe_.pop_front();
        }
    }

    void drop_cancelled_timers() {
        while (!timers_.empty() && *timers_.top().cancelled) timers_.pop();
    }

    void move_due_timers() {
        const Clock::time_point now = Clock::now();
        while (!timers_.empty() && timers_.top().when <= now) {
            Timer timer = timers_.top();
            timers_.pop();
            if (!*timer.cancelled) ready_.push_back({nullptr, std::move(timer.callback)});
        }
    }

    // Exactly the callbacks ready now; what they schedule waits a turn.
    void run_ready() {
        for (std::size_t ready_now = ready_.size(); ready_now != 0; --ready_now) {
            Callback callback = std::move(ready_.front());
            ready_.pop_front();
            if (debug_) {
                const auto started = Clock::now();
                run(callback);
                const double seconds = std::chrono::duration<double>(Clock::now() - started).count();
                if (seconds >= slow_callback_duration_) report_slow(callback, seconds);
            } else {
                run(callback);
            }
        }
    }

    static void run(Callback& callback) {
        if (callback.step != nullptr) {
            callback.step->run();  // a task's step catches what its coroutine throws
            return;
        }
        try {
            callback.function();
        } catch (const std::exception& error) {
            report_error(fmt::format("Exception in callback: {}", error.what()));
        }
    }

    void report_slow(const Callback& callback, double seconds) const {
        const std::string what = callback.step != nullptr ? callback.step->describe() : "<Handle>";
        if (slow_reporter_) {
            slow_reporter_(what, seconds);
        } else {
            report_error(fmt::format("Executing {} took {:.3f} seconds", what, seconds));
        }
    }

    runtime::ThreadState* thread_;
    int wakeup_read_ = -1;
    int wakeup_write_ = -1;
    std::deque<Callback> ready_;
    std::priority_queue<Timer, std::vector<Timer>, std::greater<>> timers_;
    std::uint64_t next_timer_ = 0;
    std::mutex threadsafe_mutex_;
    std::deque<std::function<void()>> threadsafe_;  // guarded by threadsafe_mutex_
    std::atomic<bool> threadsafe_pending_{false};   // threadsafe_ is not empty (set under the mutex)
    std::vector<PendingTask*> tasks_;
    bool debug_ = false;
    double slow_callback_duration_ = default_slow_callback_duration;
    std::function<void(const std::string&, double)> slow_reporter_;
    bool running_here_ = false;
    std::shared_ptr<ThreadsafeHandle> handle_;
    std::shared_ptr<void> default_executor_;
    static inline thread_local EventLoop* running_ = nullptr;
};

inline bool ThreadsafeHandle::call_soon_threadsafe(std::function<void()> callback) {
    const std::lock_guard lock{mutex_};
    if (loop_ == nullptr) return false;
    loop_->call_soon_threadsafe(std::move(callback));
    return true;
}

}  // namespace pyconc::asyncio
