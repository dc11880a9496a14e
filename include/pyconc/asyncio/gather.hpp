#pragma once
// asyncio.gather(*aws): run them concurrently and give back their results
// in the order of the arguments.
//
// How this works (Lib/asyncio/tasks.py, gather, 3.12)
// - gather() is called, not awaited, to start: each coroutine becomes a
//   task there and then, scheduled in argument order (so they start in
//   that order on the next turn); tasks and futures are used as they are.
//   It returns the outer future at once, a _GatheringFuture
//   (`GatherFuture<R>` here): await it for the results.
// - The outer future is done when every child is done: its result is the
//   children's results, in argument order, whatever order they finished in.
// - The first child to fail (or to be cancelled) fails the outer future at
//   once with its exception; the other children go on running, as in
//   asyncio. With `return_exceptions`, failures are results like any other
//   (`Outcome<T>`: a value or an exception).
// - Cancelling the outer future (as cancelling the task that awaits it
//   does) cancels every child instead of itself, and returns whether any
//   child could be cancelled. It ends when the children have finished
//   cancelling: with CancelledError once the first child is cancelled, or,
//   with return_exceptions, when they are all done. Once every child is
//   done, cancel() is refused and the result stands (bpo-26923).
// - Left out: asyncio's gather passes the same future twice as one child
//   (arg_to_fut); here each argument is a child of its own.
#include <cstddef>
#include <exception>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

#include "pyconc/asyncio/coroutine.hpp"
#include "pyconc/asyncio/ensure_future.hpp"
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

// gather(..., return_exceptions=True)
inline constexpr struct ReturnExceptions {
} return_exceptions{};

namespace detail {

// _GatheringFuture: gather's outer future.
class GatheringFuture final : public FutureBase {
public:
    GatheringFuture(EventLoop& loop, std::vector<std::shared_ptr<FutureBase>> children)
        : FutureBase(loop, "_GatheringFuture"), children_(std::move(children)) {}
    GatheringFuture(const GatheringFuture&) = delete;
    GatheringFuture& operator=(const GatheringFuture&) = delete;
    ~GatheringFuture() override { report_if_never_retrieved(); }

    // Cancels the children, not itself: false if none could be cancelled.
    bool cancel(std::string message = {}) override {
        if (done()) return false;
        bool any = false;
        for (const auto& child : children_) any = child->cancel(message) || any;
        cancel_requested_ = cancel_requested_ || any;
        return any;
    }
    // A cancel() reached a child: when they are all done, it ends cancelled.
    [[nodiscard]] bool cancel_requested() const noexcept { return cancel_requested_; }
    [[nodiscard]] const std::vector<std::shared_ptr<FutureBase>>& children() const noexcept {
        return children_;
    }

    void set_result() {
        check_settable();
        finish_with_result();
    }
    void result() { raise_unless_result(); }

private:
    std::vector<std::shared_ptr<FutureBase>> children_;
    bool cancel_requested_ = false;
};

// fut._make_cancelled_error(): the CancelledError of a cancelled child, with its message.
inline std::exception_ptr cancelled_error_of(FutureBase& child) {
    try {
        (void)child.exception();
    } catch (const CancelledError&) {
        return std::current_exception();
    }
    return std::make_exception_ptr(CancelledError());
}

// The done callbacks of one gather: one waiter per child, woken like a
// task when that child is done (no allocation per child). They keep
// themselves alive until every child has reported, since children may
// finish after the outer future has failed and its awaiter has gone.
class GatherCallbacks {
public:
    GatherCallbacks(std::shared_ptr<GatheringFuture> outer, bool collect_failures)
        : outer_(std::move(outer)),
          remaining_(outer_->children().size()),
          unreported_(remaining_),
          collect_failures_(collect_failures) {
        waiters_.reserve(remaining_);
        for (std::size_t i = 0; i < remaining_; ++i) waiters_.emplace_back(this, i);
    }
    GatherCallbacks(const GatherCallbacks&) = delete;
    GatherCallbacks& operator=(const GatherCallbacks&) = delete;
    ~GatherCallbacks() = default;

    // Makes the outer future over `children` and watches them.
    static std::shared_ptr<GatheringFuture> start(EventLoop& loop,
                                                  std::vector<std::shared_ptr<FutureBase>> children,
                                                  bool collect_failures) {
        auto outer = std::make_shared<GatheringFuture>(loop, std::move(children));
        const auto& watched = outer->children();
        if (watched.empty()) {
            outer->set_result();
            return outer;
        }
        auto callbacks = std::make_shared<GatherCallbacks>(outer, collect_failures);
        callbacks->keep_ = callbacks;
        std::vector<std::size_t> done_already;
        for (std::size_t i = 0; i < watched.size(); ++i) {
            if (watched[i]->done()) {
                done_already.push_back(i);
            } else {
                watched[i]->add_waiter(callbacks->waiters_[i]);
            }
        }
        // Children done already report at once, after the outer future
        // exists, as asyncio's gather calls _done_callback for them.
        for (const std::size_t i : done_already) callbacks->child_done(i);
        return outer;
    }

private:
    struct ChildDone final : Runnable {
        ChildDone(GatherCallbacks* owner, std::size_t child) : callbacks(owner), index(child) {}
        void run() override { callbacks->child_done(index); }
        [[nodiscard]] std::string describe() const override { return "<gather: a child is done>"; }
        GatherCallbacks* callbacks;
        std::size_t index;
    };

    // _done_callback in asyncio's gather.
    void child_done(std::size_t index) {
        FutureBase& child = *outer_->children()[index];
        if (outer_->done()) {
            if (!child.cancelled()) (void)child.exception();  // mark it retrieved, as asyncio does
        } else if (!collect_failures_ && child.cancelled()) {
            outer_->set_exception(cancelled_error_of(child));
        } else if (std::exception_ptr error =
                       collect_failures_ || child.cancelled() ? nullptr : child.exception();
                   error) {
            outer_->set_exception(error);
        } else if (--remaining_ == 0) {
            if (outer_->cancel_requested()) {
                outer_->set_exception(cancelled_error_of(child));
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
    std::shared_ptr<GatherCallbacks> keep_;
};

template <class F>
Outcome<result_of_t<F>> outcome_of(const F& child) {
    using T = result_of_t<F>;
    Outcome<T> outcome;
    FutureBase& base = *shared_base(child);
    if (base.cancelled()) {
        outcome.error = cancelled_error_of(base);
    } else if (std::exception_ptr error = base.exception()) {
        outcome.error = error;
    } else {
        outcome.value.emplace(copy_result(child));
    }
    return outcome;
}

}  // namespace detail

// What gather() returns: its _GatheringFuture, to await (for a Result made
// from the children when they are all done) or cancel.
template <class Result>
class [[nodiscard]] GatherFuture {
public:
    GatherFuture(std::shared_ptr<detail::GatheringFuture> outer, std::function<Result()> collect)
        : outer_(std::move(outer)), collect_(std::move(collect)) {}

    [[nodiscard]] bool done() const noexcept { return outer_->done(); }
    [[nodiscard]] bool cancelled() const noexcept { return outer_->cancelled(); }
    // NOLINTNEXTLINE(modernize-use-nodiscard): called for its effect, as in Python
    bool cancel(std::string message = {}) const { return outer_->cancel(std::move(message)); }
    [[nodiscard]] Result result() const {
        outer_->result();
        return collect_();
    }
    [[nodiscard]] std::exception_ptr exception() const { return outer_->exception(); }
    void add_done_callback(std::function<void()> callback) const {
        outer_->add_done_callback(std::move(callback));
    }
    [[nodiscard]] const std::shared_ptr<detail::GatheringFuture>& shared() const noexcept { return outer_; }

    auto operator co_await() const {
        struct Awaiter {
            detail::FutureAwaiter<detail::GatheringFuture> outer;
            const GatherFuture* gathered;
            [[nodiscard]] bool await_ready() const noexcept { return outer.await_ready(); }
            void await_suspend(std::coroutine_handle<> suspended) { outer.await_suspend(suspended); }
            Result await_resume() {
                outer.await_resume();  // raises the first failure, or CancelledError
                return gathered->collect_();
            }
        };
        return Awaiter{{outer_}, this};
    }

private:
    std::shared_ptr<detail::GatheringFuture> outer_;
    std::function<Result()> collect_;
};

// gather's future is a future like the others: shield, wait and gather take it.
template <class Result>
struct AwaitableTraits<GatherFuture<Result>> {
    using result = Result;
    using future = GatherFuture<Result>;
};
template <class Result>
[[nodiscard]] GatherFuture<Result> ensure_future(GatherFuture<Result> gathered) noexcept {
    return gathered;
}

namespace detail {
// The outer future over `children` (a tuple or a vector of futures), and
// the Result `collect` makes of them once they are done.
template <class Result, class Children, class Collect>
GatherFuture<Result> start_gather(Children children, bool collect_failures, Collect collect) {
    std::vector<std::shared_ptr<FutureBase>> watched;
    if constexpr (requires { children.size(); }) {
        watched.reserve(children.size());
        for (const auto& child : children) watched.push_back(shared_base(child));
    } else {
        std::apply([&](const auto&... child) { (watched.push_back(shared_base(child)), ...); }, children);
    }
    auto outer = GatherCallbacks::start(EventLoop::get_running_loop(), std::move(watched), collect_failures);
    return GatherFuture<Result>{std::move(outer), [children = std::move(children), collect] {
                                    if constexpr (requires { children.size(); }) {
                                        return collect(children);
                                    } else {
                                        return std::apply(collect, children);
                                    }
                                }};
}
}  // namespace detail

// asyncio.gather(*aws) over a list of coroutines, tasks or futures of one
// type: the results in argument order.
template <class A>
GatherFuture<std::vector<Stored<result_of_t<A>>>> gather(std::vector<A> aws) {
    using T = result_of_t<A>;
    return detail::start_gather<std::vector<Stored<T>>>(detail::ensure_all(std::move(aws)), false,
                                                        [](const auto& done) {
                                                            std::vector<Stored<T>> results;
                                                            results.reserve(done.size());
                                                            for (const auto& child : done)
                                                                results.push_back(detail::copy_result(child));
                                                            return results;
                                                        });
}

// asyncio.gather(*aws, return_exceptions=True): an Outcome per child.
template <class A>
GatherFuture<std::vector<Outcome<result_of_t<A>>>> gather(std::vector<A> aws, ReturnExceptions /*tag*/) {
    using T = result_of_t<A>;
    return detail::start_gather<std::vector<Outcome<T>>>(
        detail::ensure_all(std::move(aws)), true, [](const auto& done) {
            std::vector<Outcome<T>> outcomes;
            outcomes.reserve(done.size());
            for (const auto& child : done) outcomes.push_back(detail::outcome_of(child));
            return outcomes;
        });
}

// asyncio.gather(a(), b(), task_c) with results of different types: a tuple.
template <class... A>
GatherFuture<std::tuple<Stored<result_of_t<A>>...>> gather(A... aws) {
    std::tuple<FutureOf<A>...> children{ensure_future(std::move(aws))...};
    return detail::start_gather<std::tuple<Stored<result_of_t<A>>...>>(
        std::move(children), false,
        [](const auto&... child) { return std::tuple{detail::copy_result(child)...}; });
}

// asyncio.gather(a(), b(), return_exceptions=True): a tuple of Outcomes.
template <class... A>
GatherFuture<std::tuple<Outcome<result_of_t<A>>...>> gather(ReturnExceptions /*tag*/, A... aws) {
    std::tuple<FutureOf<A>...> children{ensure_future(std::move(aws))...};
    return detail::start_gather<std::tuple<Outcome<result_of_t<A>>...>>(
        std::move(children), true,
        [](const auto&... child) { return std::tuple{detail::outcome_of(child)...}; });
}

}  // namespace pyconc::asyncio
