#pragma once
// asyncio.gather(*coros): run them as tasks, concurrently, and give back
// their results in the order of the arguments.
//
// How this works (Lib/asyncio/tasks.py, gather)
// - Each coroutine becomes a task, scheduled in argument order, so they
//   start in that order on the next turn.
// - An outer future is done when every child is done: its result is the
//   children's results, in argument order, whatever order they finished in.
// - The first child to fail (or to be cancelled) fails the outer future at
//   once with its exception; the other children go on running, as in
//   asyncio. With `return_exceptions`, failures are results like any other.
// - The outer future is a _GatheringFuture: cancelling it (as cancelling
//   the task that awaits gather does) cancels every child instead of
//   itself, and returns whether any child could be cancelled. It ends when
//   the children have finished cancelling: with CancelledError once the
//   first child is cancelled, or, with return_exceptions, when they are all
//   done (bpo-26923: once every child is done, cancel() is refused).
#include <cstddef>
#include <exception>
#include <memory>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

#include "pyconc/asyncio/errors.hpp"
#include "pyconc/asyncio/event_loop.hpp"
#include "pyconc/asyncio/future.hpp"
#include "pyconc/asyncio/task.hpp"

namespace pyconc::asyncio {

// One child's outcome with return_exceptions: a value or an exception.
template <class T>
struct Outcome {
    std::optional<Stored<T>> value;
    std::exception_ptr error;  // set instead of value: what it raised (CancelledError if cancelled)
};

inline constexpr struct ReturnExceptions {
} return_exceptions{};

namespace detail {

// _GatheringFuture: gather's outer future.
class GatheringFuture final : public FutureBase {
public:
    GatheringFuture(EventLoop& loop, std::vector<std::shared_ptr<TaskBase>> children)
        : FutureBase(loop, "_GatheringFuture"), children_(std::move(children)) {}
    GatheringFuture(const GatheringFuture&) = delete;
    GatheringFuture& operator=(const GatheringFuture&) = delete;
    ~GatheringFuture() override { report_if_never_retrieved(); }

    // Cancels the children, not itself: false if none could be cancelled.
    bool cancel() override {
        if (done()) return false;
        bool any = false;
        for (const auto& child : children_) any = child->cancel() || any;
        cancel_requested_ = cancel_requested_ || any;
        return any;
    }
    // A cancel() reached a child: when they are all done, it ends cancelled.
    [[nodiscard]] bool cancel_requested() const noexcept { return cancel_requested_; }
    [[nodiscard]] const std::vector<std::shared_ptr<TaskBase>>& children() const noexcept {
        return children_;
    }

    void set_result() {
        check_settable();
        finish_with_result();
    }
    void result() { raise_unless_result(); }

private:
    std::vector<std::shared_ptr<TaskBase>> children_;
    bool cancel_requested_ = false;
};

// The shared state of one gather: the outer future, and one waiter per
// child, woken like a task when that child is done (no allocation per
// child). It keeps itself alive until every child has reported, since
// children may finish after gather itself has failed and gone.
class Gathering {
public:
    Gathering(EventLoop& loop, std::vector<std::shared_ptr<TaskBase>> children, bool collect_failures)
        : outer_(std::make_shared<GatheringFuture>(loop, std::move(children))),
          remaining_(outer_->children().size()),
          unreported_(remaining_),
          collect_failures_(collect_failures) {
        waiters_.reserve(remaining_);
        for (std::size_t i = 0; i < remaining_; ++i) waiters_.emplace_back(this, i);
    }
    Gathering(const Gathering&) = delete;
    Gathering& operator=(const Gathering&) = delete;
    ~Gathering() = default;

    static std::shared_ptr<Gathering> start(EventLoop& loop, std::vector<std::shared_ptr<TaskBase>> children,
                                            bool collect_failures) {
        auto gathering = std::make_shared<Gathering>(loop, std::move(children), collect_failures);
        const auto& children_started = gathering->outer_->children();
        if (children_started.empty()) {
            gathering->outer_->set_result();
            return gathering;
        }
        gathering->keep_ = gathering;
        for (std::size_t i = 0; i < children_started.size(); ++i) {
            children_started[i]->add_waiter(gathering->waiters_[i]);
        }
        return gathering;
    }

    [[nodiscard]] const std::shared_ptr<GatheringFuture>& outer() const noexcept { return outer_; }

private:
    struct ChildDone final : Runnable {
        ChildDone(Gathering* owner, std::size_t child) : gathering(owner), index(child) {}
        void run() override { gathering->child_done(index); }
        [[nodiscard]] std::string describe() const override { return "<gather: a child is done>"; }
        Gathering* gathering;
        std::size_t index;
    };

    // _done_callback in asyncio's gather.
    void child_done(std::size_t index) {
        TaskBase& child = *outer_->children()[index];
        if (outer_->done()) {
            if (!child.cancelled()) (void)child.exception();  // mark it retrieved, as asyncio does
        } else if (!collect_failures_ && child.cancelled()) {
            outer_->set_exception(std::make_exception_ptr(CancelledError()));
        } else if (std::exception_ptr error =
                       collect_failures_ || child.cancelled() ? nullptr : child.exception();
                   error) {
            outer_->set_exception(error);
        } else if (--remaining_ == 0) {
            if (outer_->cancel_requested()) {
                outer_->set_exception(std::make_exception_ptr(CancelledError()));
            } else {
                outer_->set_result();
            }
        }
        if (--unreported_ == 0) keep_.reset();  // may destroy this: the last thing done
    }

    std::vector<ChildDone> waiters_;
    std::shared_ptr<GatheringFuture> outer_;  // owns the children
    std::size_t remaining_;
    std::size_t unreported_;
    bool collect_failures_;
    std::shared_ptr<Gathering> keep_;
};

// Waits for `children` (tasks of any result type): returns when all are
// done, or raises the first failure unless `collect_failures`.
inline Task<void> wait_all(std::vector<std::shared_ptr<TaskBase>> children, bool collect_failures) {
    const auto gathering =
        Gathering::start(EventLoop::get_running_loop(), std::move(children), collect_failures);
    // A named awaiter: g++ 12 destroyed a temporary one in `co_await
    // FutureAwaiter<...>{...}` twice (one reference too few: a freed
    // future; seen here under ASan).
    FutureAwaiter<GatheringFuture> outer{gathering->outer()};
    co_await outer;
}

template <class T>
Outcome<T> outcome_of(const TaskHandle<T>& child) {
    Outcome<T> outcome;
    if (child.cancelled()) {
        outcome.error = std::make_exception_ptr(CancelledError());
    } else if (std::exception_ptr error = child.exception()) {
        outcome.error = error;
    } else if constexpr (std::is_void_v<T>) {
        outcome.value.emplace();
    } else {
        outcome.value.emplace(child.result());
    }
    return outcome;
}

template <class T>
Stored<T> result_of(const TaskHandle<T>& child) {
    if constexpr (std::is_void_v<T>) {
        child.result();
        return {};
    } else {
        return child.result();
    }
}

}  // namespace detail

// await asyncio.gather(*coros): the results in argument order.
template <class T>
Task<std::vector<Stored<T>>> gather(std::vector<Task<T>> coroutines) {
    std::vector<TaskHandle<T>> children;
    std::vector<std::shared_ptr<TaskBase>> waiting;
    children.reserve(coroutines.size());
    waiting.reserve(coroutines.size());
    for (Task<T>& coroutine : coroutines) {
        children.push_back(create_task(std::move(coroutine)));
        waiting.push_back(children.back().shared());
    }
    co_await detail::wait_all(std::move(waiting), false);
    std::vector<Stored<T>> results;
    results.reserve(children.size());
    for (const auto& child : children) results.push_back(detail::result_of(child));
    co_return results;
}

// await asyncio.gather(*coros, return_exceptions=True)
template <class T>
Task<std::vector<Outcome<T>>> gather(std::vector<Task<T>> coroutines, ReturnExceptions /*tag*/) {
    std::vector<TaskHandle<T>> children;
    std::vector<std::shared_ptr<TaskBase>> waiting;
    for (Task<T>& coroutine : coroutines) {
        children.push_back(create_task(std::move(coroutine)));
        waiting.push_back(children.back().shared());
    }
    co_await detail::wait_all(std::move(waiting), true);
    std::vector<Outcome<T>> outcomes;
    outcomes.reserve(children.size());
    for (const auto& child : children) outcomes.push_back(detail::outcome_of(child));
    co_return outcomes;
}

// await asyncio.gather(a(), b(), c()) with results of different types: a tuple.
template <class... T>
Task<std::tuple<Stored<T>...>> gather(Task<T>... coroutines) {
    std::tuple<TaskHandle<T>...> children{create_task(std::move(coroutines))...};
    std::vector<std::shared_ptr<TaskBase>> waiting;
    std::apply([&](const auto&... child) { (waiting.push_back(child.shared()), ...); }, children);
    co_await detail::wait_all(std::move(waiting), false);
    co_return std::apply([](const auto&... child) { return std::tuple{detail::result_of(child)...}; },
                         children);
}

}  // namespace pyconc::asyncio
