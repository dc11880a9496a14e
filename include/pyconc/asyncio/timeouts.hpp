#pragma once
// asyncio.timeout(delay) and asyncio.timeout_at(when).
//
//   async with asyncio.timeout(1.0):     co_await asyncio::timeout(1.0, body);
//       ...
//   async with asyncio.timeout(1.0) as cm:   auto cm = asyncio::timeout(1.0);
//       ...                                  co_await asyncio::async_with(cm, body);
//   cm.expired()                             cm.expired()
//
// How this works (Lib/asyncio/timeouts.py, 3.12)
// - Entering (synchronously, at the start) records the task the body runs
//   in and how many cancel() requests it has (`cancelling()`), and
//   schedules a callback at the deadline; `None` (std::nullopt) is no
//   deadline.
// - At the deadline the callback cancels the task: CancelledError is
//   raised at the await the body is suspended in. On the way out, the
//   timeout takes its own request back (`uncancel()`); if no other request
//   is left beyond those there were at entry and the body let a
//   CancelledError out, that cancellation was the timeout's: it becomes
//   TimeoutError. A cancel() from outside during the body still
//   propagates as CancelledError.
// - `Timeout& cm` (the body may take it): when(), reschedule(when),
//   expired(), as asyncio.Timeout's. Deadlines are loop.time() seconds;
//   one in the past fires on the loop's next turn.
// - The body is a callable returning a Coroutine, taking the Timeout or
//   nothing; it is kept in async_with's frame (so a lambda's captures live
//   as long as it runs; with g++ 12, name one that captures by copy before
//   the co_await, coroutine.hpp). The caller keeps the Timeout, where it
//   was made.
#include <exception>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <type_traits>
#include <utility>

#include <fmt/format.h>

#include "pyconc/asyncio/coroutine.hpp"
#include "pyconc/asyncio/errors.hpp"
#include "pyconc/asyncio/event_loop.hpp"
#include "pyconc/asyncio/future.hpp"
#include "pyconc/asyncio/task.hpp"

namespace pyconc::asyncio {

class Timeout {
public:
    enum class State : unsigned char { created, entered, expiring, expired, exited };

    // asyncio.Timeout(when): `when` in loop.time() seconds, or no deadline.
    explicit Timeout(std::optional<double> when) noexcept : when_(when) {}
    // It stays where it was made: the callback at the deadline points to it.
    Timeout(const Timeout&) = delete;
    Timeout& operator=(const Timeout&) = delete;
    ~Timeout() { disarm(); }

    [[nodiscard]] std::optional<double> when() const noexcept { return when_; }
    [[nodiscard]] bool expired() const noexcept {
        return state_ == State::expiring || state_ == State::expired;
    }
    [[nodiscard]] State state() const noexcept { return state_; }

    // Moves the deadline (std::nullopt: none); only while entered.
    void reschedule(std::optional<double> when) {
        if (state_ != State::entered) {
            if (state_ == State::created) throw RuntimeError("Timeout has not been entered");
            throw RuntimeError(fmt::format("Cannot change state of {} Timeout", state_name()));
        }
        when_ = when;
        disarm();
        if (!when) return;
        EventLoop& loop = task_->loop();
        auto armed = std::make_shared<bool>(true);
        auto fire = [this, armed] {
            if (*armed) on_timeout();
        };
        if (*when <= EventLoop::time()) {
            loop.call_soon(std::move(fire));
        } else {
            timer_ = loop.call_at(*when, std::move(fire));
        }
        armed_ = std::move(armed);
    }

    // __aenter__
    void enter() {
        if (state_ != State::created) throw RuntimeError("Timeout has already been entered");
        task_ = TaskBase::current();
        if (task_ == nullptr) throw RuntimeError("Timeout should be used inside a task");
        state_ = State::entered;
        cancelling_at_entry_ = task_->cancelling();
        reschedule(when_);
    }

    // __aexit__: `error` is what the body raised (null if nothing); a
    // CancelledError that was this timeout's becomes TimeoutError, with
    // the CancelledError nested in it (`raise TimeoutError from exc`:
    // std::rethrow_if_nested gives the cause).
    void exit(std::exception_ptr& error) {
        disarm();
        if (state_ == State::expiring) {
            state_ = State::expired;
            if (task_->uncancel() <= cancelling_at_entry_ && holds<CancelledError>(error)) {
                error = timeout_error_from(error);
            }
        } else if (state_ == State::entered) {
            state_ = State::exited;
        }
    }

    // repr(cm): "<Timeout [active] when=12.345>", "<Timeout [expired]>"
    [[nodiscard]] std::string repr() const {
        if (state_ != State::entered) return fmt::format("<Timeout [{}]>", state_name());
        if (!when_) return "<Timeout [active] when=None>";
        return fmt::format("<Timeout [active] when={:.3f}>", *when_);
    }

private:
    void on_timeout() {
        armed_.reset();
        task_->cancel();
        state_ = State::expiring;
    }
    void disarm() noexcept {
        if (armed_) *armed_ = false;
        armed_.reset();
        timer_.cancel();
    }
    static std::exception_ptr timeout_error_from(const std::exception_ptr& cause) {
        try {
            try {
                std::rethrow_exception(cause);
            } catch (...) {
                std::throw_with_nested(TimeoutError());
            }
        } catch (...) {
            return std::current_exception();
        }
    }
    [[nodiscard]] const char* state_name() const noexcept {
        switch (state_) {
            case State::created:
                return "created";
            case State::entered:
                return "active";
            case State::expiring:
                return "expiring";
            case State::expired:
                return "expired";
            case State::exited:
                return "finished";
        }
        return "?";
    }

    std::optional<double> when_;
    State state_ = State::created;
    TaskBase* task_ = nullptr;
    int cancelling_at_entry_ = 0;
    std::shared_ptr<bool> armed_;  // the scheduled callback may still fire
    TimerHandle timer_;
};

namespace detail {
// body(cm) or body(), whichever it takes.
template <class Body, class Context>
auto call_body(Body& body, Context& context) {
    if constexpr (std::is_invocable_v<Body&, Context&>) {
        return std::invoke(body, context);
    } else {
        return std::invoke(body);
    }
}
template <class Body, class Context>
using body_result_t =
    typename decltype(call_body(std::declval<Body&>(), std::declval<Context&>()))::value_type;
}  // namespace detail

// asyncio.timeout_at(when): a Timeout to enter with async_with.
[[nodiscard]] inline Timeout timeout_at(std::optional<double> when) {
    return Timeout{when};
}
// asyncio.timeout(delay): the deadline is loop.time() + delay; std::nullopt, none.
[[nodiscard]] inline Timeout timeout(std::optional<double> delay) {
    return Timeout{delay ? std::optional<double>{EventLoop::time() + *delay} : std::nullopt};
}

// `async with cm: return await ...`: runs body(cm) (or body()) in the
// timeout `cm`, which the caller keeps (to ask cm.expired() afterwards).
template <class Body>
Coroutine<detail::body_result_t<Body, Timeout>> async_with(Timeout& cm, Body body) {
    using T = detail::body_result_t<Body, Timeout>;
    cm.enter();
    std::exception_ptr error;
    std::optional<Stored<T>> value;
    try {
        if constexpr (std::is_void_v<T>) {
            co_await detail::call_body(body, cm);
            value.emplace();
        } else {
            value.emplace(co_await detail::call_body(body, cm));
        }
    } catch (...) {
        error = std::current_exception();
    }
    cm.exit(error);
    if (error) std::rethrow_exception(error);
    if constexpr (!std::is_void_v<T>) co_return std::move(*value);
}

// `async with asyncio.timeout_at(when): ...` when nobody needs the Timeout afterwards.
template <class Body>
Coroutine<detail::body_result_t<Body, Timeout>> timeout_at(std::optional<double> when, Body body) {
    Timeout cm{when};
    co_return co_await async_with(cm, std::move(body));
}
// `async with asyncio.timeout(delay): ...`
template <class Body>
Coroutine<detail::body_result_t<Body, Timeout>> timeout(std::optional<double> delay, Body body) {
    Timeout cm = timeout(delay);
    co_return co_await async_with(cm, std::move(body));
}

}  // namespace pyconc::asyncio
