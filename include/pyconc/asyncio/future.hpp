#pragma once
// asyncio.Future: a result that is not there yet.
//
// How this works (Lib/asyncio/futures.py)
// - A future is pending, then exactly once either finished (a result or an
//   exception) or cancelled. Setting it twice raises InvalidStateError.
// - When it becomes done, its done callbacks are *scheduled* with
//   call_soon, in the order they were added, never called on the spot: the
//   task that awaits a future is woken on the loop's next turn. A task that
//   waits is registered without allocating (`add_waiter`).
// - `result()` raises what the future holds: CancelledError if it was
//   cancelled, InvalidStateError("Result is not set.") while pending, the
//   exception if it failed. A future that failed and whose exception nobody
//   asked for reports "Future exception was never retrieved" when it is
//   destroyed, as asyncio logs it when the future is collected.
// - Futures are shared: whoever awaits one holds a std::shared_ptr to it.
#include <exception>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

#include <fmt/format.h>

#include "pyconc/asyncio/errors.hpp"
#include "pyconc/asyncio/event_loop.hpp"

namespace pyconc::asyncio {

// What a Future<T> or Coroutine<T> stores: T, or std::monostate for void.
template <class T>
using Stored = std::conditional_t<std::is_void_v<T>, std::monostate, T>;

class FutureBase {
public:
    // `kind` names it in messages: "Future" or "Task".
    explicit FutureBase(EventLoop& loop, const char* kind = "Future") noexcept : loop_(&loop), kind_(kind) {}
    FutureBase(const FutureBase&) = delete;
    FutureBase& operator=(const FutureBase&) = delete;
    virtual ~FutureBase() = default;

    [[nodiscard]] EventLoop& loop() const noexcept { return *loop_; }
    [[nodiscard]] bool done() const noexcept { return state_ != State::pending; }
    [[nodiscard]] bool cancelled() const noexcept { return state_ == State::cancelled; }

    // Future.cancel(msg): false if it was done already.
    virtual bool cancel(std::string message = {}) {
        if (done()) return false;
        set_cancel_message(std::move(message));
        state_ = State::cancelled;
        schedule_callbacks();
        return true;
    }

    void set_exception(std::exception_ptr error) {
        check_settable();
        error_ = std::move(error);
        state_ = State::finished;
        schedule_callbacks();
    }

    // Future.exception(): the exception, or null if it finished with a
    // result. Raises CancelledError if cancelled, InvalidStateError if pending.
    [[nodiscard]] std::exception_ptr exception() {
        if (state_ == State::cancelled) throw CancelledError(cancel_message());
        if (state_ == State::pending) throw InvalidStateError("Exception is not set.");
        retrieved_ = true;
        return error_;
    }

    // Scheduled on the loop when the future is done (at once if it is).
    void add_done_callback(std::function<void()> callback) {
        if (done()) {
            loop_->call_soon(std::move(callback));
            return;
        }
        add({nullptr, std::move(callback)});
    }
    // A task to wake when the future is done (its step is scheduled).
    void add_waiter(Runnable& step) {
        if (done()) {
            loop_->call_soon(step);
            return;
        }
        add({&step, {}});
    }

protected:
    // Finishes with a result (the subclass stored it).
    void finish_with_result() {
        state_ = State::finished;
        schedule_callbacks();
    }
    void finish_cancelled(std::string message) {
        set_cancel_message(std::move(message));
        state_ = State::cancelled;
        schedule_callbacks();
    }
    // What result() raises, if anything.
    void raise_unless_result() {
        if (state_ == State::cancelled) throw CancelledError(cancel_message());
        if (state_ == State::pending) throw InvalidStateError("Result is not set.");
        retrieved_ = true;
        if (error_) std::rethrow_exception(error_);
    }
    void check_settable() const {
        if (done()) throw InvalidStateError(fmt::format("invalid state: the {} is done already", kind_));
    }

    // The message of cancel(msg), empty if none. A task keeps the message of
    // a cancel() that reaches it while it runs here too, until it ends.
    [[nodiscard]] const std::string& cancel_message() const noexcept {
        static const std::string none;
        return cancel_message_ ? *cancel_message_ : none;
    }
    void set_cancel_message(std::string message) {
        if (message.empty()) {
            cancel_message_.reset();
        } else {
            cancel_message_ = std::make_unique<std::string>(std::move(message));
        }
    }

    // What names it in messages, e.g. "Task name='Task-3'".
    [[nodiscard]] virtual std::string label() const { return kind_; }

    // The destructor of each final class calls this (label() is still its own there).
    void report_if_never_retrieved() const noexcept {
        if (state_ != State::finished || !error_ || retrieved_) return;
        try {
            std::rethrow_exception(error_);
        } catch (const std::exception& error) {
            report_error(fmt::format("{} exception was never retrieved\nfuture: <{} finished exception={}>",
                                     kind_, label(), error.what()));
        } catch (...) {
            report_error(fmt::format("{} exception was never retrieved", kind_));
        }
    }

private:
    enum class State : unsigned char { pending, finished, cancelled };
    struct Callback {
        Runnable* step;
        std::function<void()> function;
    };

    // Most futures have one waiter: it is kept inline, the rest in a vector.
    void add(Callback callback) {
        if (!has_first_) {
            first_ = std::move(callback);
            has_first_ = true;
        } else {
            more_.push_back(std::move(callback));
        }
    }
    void schedule_callbacks() {
        if (!has_first_) return;
        has_first_ = false;
        schedule(first_);
        for (Callback& callback : more_) schedule(callback);
        more_.clear();
    }
    void schedule(Callback& callback) {
        if (callback.step != nullptr) {
            loop_->call_soon(*callback.step);
        } else {
            loop_->call_soon(std::move(callback.function));
        }
    }

    EventLoop* loop_;
    const char* kind_;
    State state_ = State::pending;
    std::unique_ptr<std::string> cancel_message_;  // rare: a pointer, not 32 bytes in every future
    std::exception_ptr error_;
    bool retrieved_ = false;
    bool has_first_ = false;
    Callback first_{nullptr, {}};
    std::vector<Callback> more_;
};

template <class T>
class Future final : public FutureBase {
public:
    explicit Future(EventLoop& loop) : FutureBase(loop) {}
    Future(const Future&) = delete;
    Future& operator=(const Future&) = delete;
    ~Future() override { report_if_never_retrieved(); }

    template <class U = T>
    requires(!std::is_void_v<U>) void set_result(U value) {
        check_settable();
        value_.emplace(std::move(value));
        finish_with_result();
    }
    void set_result() requires std::is_void_v<T> {
        check_settable();
        value_.emplace();
        finish_with_result();
    }

    // Future.result()
    T result() {
        raise_unless_result();
        if constexpr (!std::is_void_v<T>) return *value_;
    }

private:
    std::optional<Stored<T>> value_;
};

// loop.create_future()
template <class T = void>
[[nodiscard]] std::shared_ptr<Future<T>> make_future(EventLoop& loop) {
    return std::make_shared<Future<T>>(loop);
}

}  // namespace pyconc::asyncio
