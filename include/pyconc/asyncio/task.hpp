#pragma once
// Tasks: `asyncio.create_task(coro)` wraps a coroutine in a Task the loop
// runs step by step.
//
// How this works (Lib/asyncio/tasks.py)
// - `create_task(coro)` makes a TaskState: a future whose result is the
//   coroutine's, and a step the loop runs. Its first step is scheduled with
//   call_soon: it starts on the loop's next turn, not inside create_task.
//   A step resumes the coroutine where it last suspended (`resume_point_`)
//   and runs it until it awaits a future that is not done (the future will
//   schedule the next step: `add_waiter`), yields (`sleep(0)`: the step is
//   scheduled again, behind everything already ready), or finishes.
// - Cancellation (Task.cancel(msg)): a task waiting on a future cancels
//   that future, which wakes it; otherwise its next step is marked. Either
//   way CancelledError(msg) is raised inside the coroutine at the await
//   where it is suspended. A coroutine may catch it; if it lets it out, the
//   task ends cancelled. A task cancelled before it started never runs its
//   body. Every cancel() of a pending task counts a request
//   (`cancelling()`); `uncancel()` takes one back, as timeouts and task
//   groups do when the cancellation was theirs.
// - A pending task keeps itself alive (`self_`), so dropping the handle of
//   a running task does not destroy it; the loop lists the pending ones
//   (asyncio.all_tasks) for asyncio::run to cancel at the end.
// - `Task<T>` is what create_task returns: asyncio.Task's interface over
//   the shared state.
#include <coroutine>
#include <cstdint>
#include <exception>
#include <functional>
#include <memory>
#include <string>
#include <type_traits>
#include <utility>

#include <fmt/format.h>

#include "pyconc/asyncio/coroutine.hpp"
#include "pyconc/asyncio/errors.hpp"
#include "pyconc/asyncio/event_loop.hpp"
#include "pyconc/asyncio/future.hpp"
#include "pyconc/runtime/fatal.hpp"

namespace pyconc::asyncio {

// A scheduled task's machinery, whatever its result type.
class TaskBase : public FutureBase, public Runnable, public PendingTask {
public:
    // An empty name: "Task-N", numbered in creation order (formatted only when asked).
    TaskBase(EventLoop& loop, std::string name)
        : FutureBase(loop, "Task"), name_(std::move(name)), number_(name_.empty() ? ++tasks_made_ : 0) {}
    TaskBase(const TaskBase&) = delete;
    TaskBase& operator=(const TaskBase&) = delete;
    ~TaskBase() override { report_if_never_retrieved(); }

    // asyncio.current_task(): the task whose step is running, or null.
    [[nodiscard]] static TaskBase* current() noexcept { return current_; }
    [[nodiscard]] static TaskBase& current_or_fail(const char* what) {
        if (current_ == nullptr) throw RuntimeError(fmt::format("{} outside a task", what));
        return *current_;
    }

    [[nodiscard]] std::string get_name() const {
        return name_.empty() ? fmt::format("Task-{}", number_) : name_;
    }

    // Task.cancel(msg)
    bool cancel(std::string message = {}) override {
        if (done()) return false;
        ++cancel_requests_;
        if (waiting_on_ && waiting_on_->cancel(message))
            return true;      // waking it raises CancelledError there
        must_cancel_ = true;  // its next step raises it
        set_cancel_message(std::move(message));
        return true;
    }
    // Task.cancelling(): the cancel() requests not taken back.
    [[nodiscard]] int cancelling() const noexcept { return cancel_requests_; }
    // Task.uncancel(): takes one request back; returns those left.
    int uncancel() noexcept {
        if (cancel_requests_ > 0) --cancel_requests_;
        return cancel_requests_;
    }
    [[nodiscard]] bool done() const override { return FutureBase::done(); }
    [[nodiscard]] std::string describe() const override {
        const char* state = FutureBase::done() ? "finished" : cancel_requests_ > 0 ? "cancelling" : "pending";
        return fmt::format("<Task {} name='{}'>", state, get_name());
    }

    // --- for awaiters (sleep, futures) ---------------------------------------------
    // The coroutine that suspended, to resume at the next step.
    void suspend_at(std::coroutine_handle<> where) noexcept { resume_point_ = where; }
    void wait_on(std::shared_ptr<FutureBase> future) {
        waiting_on_ = std::move(future);
        waiting_on_->add_waiter(*this);
        // Cancelled while it ran (it cancelled itself, say): what it waits
        // on next is cancelled at once, as Task.__step does with
        // _must_cancel (a sleep(100) raises now; bpo-34872 for a task).
        if (must_cancel_ && waiting_on_->cancel(cancel_message())) must_cancel_ = false;
    }
    void stop_waiting() noexcept { waiting_on_.reset(); }
    // sleep(0): the next step goes to the back of the ready queue.
    void yield_turn() { loop().call_soon(*this); }
    // Raises CancelledError if this step was marked to (every await checks).
    void raise_if_cancelling() {
        if (cancelling_now_) {
            cancelling_now_ = false;
            throw CancelledError(cancel_message());
        }
    }

    // The loop runs this: one step.
    void run() override {
        if (FutureBase::done()) return;
        TaskBase* const previous = std::exchange(current_, this);
        if (must_cancel_) {
            must_cancel_ = false;
            if (!started_) {  // it never ran: it never will
                current_ = previous;
                finish(std::make_exception_ptr(CancelledError(cancel_message())));
                return;
            }
            cancelling_now_ = true;
        }
        started_ = true;
        resume_point_.resume();
        current_ = previous;
        if (!top_done()) return;
        if (must_cancel_ &&
            !top_error()) {  // cancelled right before its coroutine returned: it ends cancelled
            must_cancel_ = false;
            finish(std::make_exception_ptr(CancelledError(cancel_message())));
            return;
        }
        finish(top_error());
    }

protected:
    void start(std::coroutine_handle<> top, std::shared_ptr<TaskBase> self) {
        resume_point_ = top;
        self_ = std::move(self);
        loop().add_task(*this);
        loop().call_soon(*this);
    }

private:
    [[nodiscard]] virtual bool top_done() const noexcept = 0;
    [[nodiscard]] virtual std::exception_ptr top_error() const noexcept = 0;

    void finish(const std::exception_ptr& error) {
        const std::shared_ptr<TaskBase> keep = std::move(self_);  // dies when this step returns
        loop().remove_task(*this);
        waiting_on_.reset();
        if (!error) {
            finish_with_result();
            return;
        }
        try {
            std::rethrow_exception(error);
        } catch (const CancelledError& cancelled) {
            finish_cancelled(cancelled.message());
        } catch (...) {
            set_exception(error);
        }
    }

    [[nodiscard]] std::string label() const override { return fmt::format("Task name='{}'", get_name()); }

    std::string name_;
    std::uint64_t number_;
    std::coroutine_handle<> resume_point_;
    std::shared_ptr<FutureBase> waiting_on_;  // _fut_waiter
    std::shared_ptr<TaskBase> self_;          // while pending
    bool started_ = false;
    bool must_cancel_ = false;
    bool cancelling_now_ = false;
    int cancel_requests_ = 0;  // _num_cancels_requested
    static inline thread_local TaskBase* current_ = nullptr;
    static inline thread_local std::uint64_t tasks_made_ = 0;  // names only
};

template <class T>
class TaskState final : public TaskBase {
public:
    TaskState(EventLoop& loop, Coroutine<T> coroutine, std::string name)
        : TaskBase(loop, std::move(name)), top_(coroutine.release()) {}
    ~TaskState() override {
        if (top_) top_.destroy();
    }

    void start(const std::shared_ptr<TaskState>& self) { TaskBase::start(top_, self); }

    // Task.result()
    decltype(auto) result() {
        raise_unless_result();
        return top_.promise().peek();
    }

private:
    [[nodiscard]] bool top_done() const noexcept override { return top_.done(); }
    [[nodiscard]] std::exception_ptr top_error() const noexcept override { return top_.promise().error; }

    typename Coroutine<T>::Handle top_;
};

namespace detail {
// `await future`: a done future gives its result at once; otherwise the
// task waits on it and is woken when it is done.
template <class F>
struct FutureAwaiter {
    std::shared_ptr<F> future;
    TaskBase* task = nullptr;

    [[nodiscard]] bool await_ready() const noexcept { return future->done(); }
    void await_suspend(std::coroutine_handle<> suspended) {
        task = &TaskBase::current_or_fail("await");
        if (&future->loop() != &task->loop()) {
            throw RuntimeError(
                fmt::format("Task {} got Future attached to a different loop", task->get_name()));
        }
        task->suspend_at(suspended);
        task->wait_on(future);
    }
    decltype(auto) await_resume() {
        if (task != nullptr) {
            task->stop_waiting();
            task->raise_if_cancelling();
        }
        return future->result();
    }
};
}  // namespace detail

// `await future`
template <class T>
auto operator co_await(std::shared_ptr<Future<T>> future) {
    return detail::FutureAwaiter<Future<T>>{std::move(future)};
}

// What create_task returns: asyncio.Task's interface. Copies are the same
// task (==), as Python names are.
template <class T = void>
class Task {
public:
    Task() = default;
    explicit Task(std::shared_ptr<TaskState<T>> state) : state_(std::move(state)) {}

    [[nodiscard]] bool done() const { return state().done(); }
    [[nodiscard]] bool cancelled() const { return state().cancelled(); }
    // NOLINTNEXTLINE(modernize-use-nodiscard): called for its effect, as in Python
    bool cancel(std::string message = {}) const { return state().cancel(std::move(message)); }
    [[nodiscard]] int cancelling() const { return state().cancelling(); }
    // NOLINTNEXTLINE(modernize-use-nodiscard): called for its effect, as in Python
    int uncancel() const { return state().uncancel(); }
    // The result; raises what the task raised, CancelledError, or
    // InvalidStateError("Result is not set.") while it is pending.
    // NOLINTNEXTLINE(modernize-use-nodiscard): void for Coroutine<void>
    decltype(auto) result() const { return state().result(); }
    [[nodiscard]] std::exception_ptr exception() const { return state().exception(); }
    [[nodiscard]] std::string get_name() const { return state().get_name(); }
    // repr(task): "<Task pending name='Task-1'>" (cancelling, finished)
    [[nodiscard]] std::string repr() const { return state().describe(); }
    void add_done_callback(std::function<void()> callback) const {
        state().add_done_callback(std::move(callback));
    }
    [[nodiscard]] const std::shared_ptr<TaskState<T>>& shared() const noexcept { return state_; }

    auto operator co_await() const { return detail::FutureAwaiter<TaskState<T>>{state_}; }
    friend bool operator==(const Task& a, const Task& b) noexcept { return a.state_ == b.state_; }

private:
    [[nodiscard]] TaskState<T>& state() const {
        if (!state_) runtime::fatal("Task", "an empty task handle");
        return *state_;
    }
    std::shared_ptr<TaskState<T>> state_;
};

// asyncio.current_task(): the task whose step is running, or null.
[[nodiscard]] inline TaskBase* current_task() noexcept {
    return TaskBase::current();
}

// loop.create_task(coro): scheduled for the loop's next turn.
template <class T>
Task<T> create_task(EventLoop& loop, Coroutine<T> coroutine, std::string name = {}) {
    auto state = std::make_shared<TaskState<T>>(loop, std::move(coroutine), std::move(name));
    state->start(state);
    return Task<T>{std::move(state)};
}
// asyncio.create_task(coro): on the running loop.
template <class T>
Task<T> create_task(Coroutine<T> coroutine, std::string name = {}) {
    return create_task(EventLoop::get_running_loop(), std::move(coroutine), std::move(name));
}

// loop.run_until_complete(coro)
template <class T>
T run_until_complete(EventLoop& loop, Coroutine<T> coroutine) {
    Task<T> task = create_task(loop, std::move(coroutine));
    loop.run_until([&] { return task.done(); });
    if constexpr (std::is_void_v<T>) {
        task.result();
    } else {
        return T(task.result());
    }
}

}  // namespace pyconc::asyncio
