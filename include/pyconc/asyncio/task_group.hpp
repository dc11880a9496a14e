#pragma once
// asyncio.TaskGroup.
//
//   async with asyncio.TaskGroup() as tg:   co_await asyncio::task_group(
//       tg.create_task(a())                     [&](asyncio::TaskGroup& tg) -> Coroutine<void> {
//                                                   tg.create_task(a());
//                                                   co_return;
//                                               });
//   (or: asyncio::TaskGroup tg; co_await asyncio::async_with(tg, body);)
//
// How this works (Lib/asyncio/taskgroups.py, 3.12)
// - The body creates tasks with tg.create_task(coro). When the body ends,
//   the group waits for every one of them to finish.
// - The first task to fail (not cancelled) aborts the group: the others
//   are cancelled, and so is the parent task (the one running the body),
//   once, so that the body stops at its current await. On the way out the
//   group takes that cancel() back (`uncancel()`): the parent is not left
//   cancelled by the group's own doing, and the code after the block runs.
// - What the block raises: a KeyboardInterrupt from a task or the body, as
//   it is; else CancelledError if the parent was cancelled from outside
//   (and nothing failed); else ExceptionGroup("unhandled errors in a
//   TaskGroup") with every task's failure, then the body's.
// - Cancelling the parent from outside while the group waits cancels the
//   tasks; the group still waits for them, then raises CancelledError.
// - The body is a callable taking the group; it is kept in this
//   coroutine's frame, so a lambda's captures live as long as it runs.
//   With g++ 12, a lambda written inside the co_await should capture by
//   reference; one that captures by copy is named first (coroutine.hpp).
#include <exception>
#include <functional>
#include <memory>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include <fmt/format.h>

#include "pyconc/asyncio/coroutine.hpp"
#include "pyconc/asyncio/errors.hpp"
#include "pyconc/asyncio/event_loop.hpp"
#include "pyconc/asyncio/future.hpp"
#include "pyconc/asyncio/task.hpp"

namespace pyconc::asyncio {

class TaskGroup {
public:
    TaskGroup() = default;
    TaskGroup(const TaskGroup&) = delete;
    TaskGroup& operator=(const TaskGroup&) = delete;
    ~TaskGroup() = default;

    // tg.create_task(coro): a task of the group, scheduled on the loop.
    // Refused (RuntimeError) before the group is entered, after it has
    // finished, or while it aborts; the coroutine is then left to the
    // caller, unstarted, as asyncio leaves it.
    template <class T>
    Task<T> create_task(Coroutine<T>&& coroutine, std::string name = {}) {
        if (!entered_) throw RuntimeError("TaskGroup has not been entered");
        if (exiting_ && tasks_.empty()) throw RuntimeError("TaskGroup is finished");
        if (aborting_) throw RuntimeError("TaskGroup is shutting down");
        Task<T> task = asyncio::create_task(*loop_, std::move(coroutine), std::move(name));
        tasks_.push_back(task.shared());
        TaskBase* const added = task.shared().get();
        task.add_done_callback([this, added] { on_task_done(*added); });
        return task;
    }

    // __aenter__
    void enter() {
        if (entered_) throw RuntimeError("TaskGroup has already been entered");
        loop_ = &EventLoop::get_running_loop();
        parent_ = TaskBase::current();
        if (parent_ == nullptr) throw RuntimeError("TaskGroup cannot determine the parent task");
        entered_ = true;
    }

    // __aexit__: waits for the tasks; raises what the block raises (see
    // above), or returns if it raises nothing. `error` is what the body raised.
    Coroutine<void> exit(std::exception_ptr error) {
        exiting_ = true;
        const bool body_cancelled = holds<CancelledError>(error);
        if (error && is_base_error(error) && !base_error_) base_error_ = error;
        std::exception_ptr propagate_cancellation = body_cancelled ? error : nullptr;
        // The group cancelled its parent: take that back; if nobody else
        // asked, the cancellation stops here.
        if (parent_cancel_requested_ && parent_->uncancel() == 0) propagate_cancellation = nullptr;
        if (error && !aborting_) abort();  // the body failed, or the parent is being cancelled

        while (!tasks_.empty()) {
            if (!on_completed_) on_completed_ = make_future<void>(*loop_);
            try {
                const std::shared_ptr<Future<void>> completed = on_completed_;
                co_await completed;
            } catch (const CancelledError&) {
                if (!aborting_) {  // the parent is cancelled from outside while the tasks run
                    propagate_cancellation = std::current_exception();
                    abort();
                }
            }
            on_completed_.reset();
        }

        if (base_error_) std::rethrow_exception(base_error_);
        if (propagate_cancellation && errors_.empty()) std::rethrow_exception(propagate_cancellation);
        if (error && !body_cancelled) errors_.push_back(error);
        if (!errors_.empty()) throw ExceptionGroup("unhandled errors in a TaskGroup", std::move(errors_));
    }

private:
    // SystemExit and KeyboardInterrupt pass through as they are.
    static bool is_base_error(const std::exception_ptr& error) { return holds<KeyboardInterrupt>(error); }

    void abort() {
        aborting_ = true;
        for (const auto& task : tasks_) {
            if (!task->done()) task->cancel();
        }
    }

    void on_task_done(TaskBase& task) {
        const std::shared_ptr<TaskBase> keep = remove(task);
        if (on_completed_ && tasks_.empty() && !on_completed_->done()) on_completed_->set_result();
        if (task.cancelled()) return;
        const std::exception_ptr error = task.exception();
        if (!error) return;
        errors_.push_back(error);
        if (is_base_error(error) && !base_error_) base_error_ = error;
        if (parent_->done()) {
            report_error(fmt::format("Task {} has errored out but its parent task {} is already completed",
                                     task.get_name(), parent_->get_name()));
            return;
        }
        if (!aborting_ && !parent_cancel_requested_) {
            // Stop the body where it awaits; __aexit__ takes the cancel back.
            abort();
            parent_cancel_requested_ = true;
            parent_->cancel();
        }
    }

    std::shared_ptr<TaskBase> remove(TaskBase& task) {
        for (auto it = tasks_.begin(); it != tasks_.end(); ++it) {
            if (it->get() == &task) {
                std::shared_ptr<TaskBase> removed = std::move(*it);
                tasks_.erase(it);
                return removed;
            }
        }
        return nullptr;
    }

    bool entered_ = false;
    bool exiting_ = false;
    bool aborting_ = false;
    bool parent_cancel_requested_ = false;
    EventLoop* loop_ = nullptr;
    TaskBase* parent_ = nullptr;
    std::vector<std::shared_ptr<TaskBase>> tasks_;  // not done yet
    std::vector<std::exception_ptr> errors_;
    std::exception_ptr base_error_;
    std::shared_ptr<Future<void>> on_completed_;
};

// `async with tg: ...`: runs body(tg) (or body()) in the group `tg`,
// which the caller keeps.
template <class Body>
Coroutine<void> async_with(TaskGroup& group, Body body) {
    group.enter();
    std::exception_ptr error;
    try {
        if constexpr (std::is_invocable_v<Body&, TaskGroup&>) {
            co_await std::invoke(body, group);
        } else {
            co_await std::invoke(body);
        }
    } catch (...) {
        error = std::current_exception();
    }
    co_await group.exit(error);  // raises, or the block's error is handled
}

// `async with asyncio.TaskGroup() as tg: ...`
template <class Body>
Coroutine<void> task_group(Body body) {
    TaskGroup group;
    co_await async_with(group, std::move(body));
}

}  // namespace pyconc::asyncio
