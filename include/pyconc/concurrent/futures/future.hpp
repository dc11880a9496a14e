#pragma once
// concurrent.futures.Future: a result computed on another thread (or
// process), waited for by blocking.
//
// How this works (Lib/concurrent/futures/_base.py)
// - States: pending, running, finished (a result or an exception),
//   cancelled. A mutex and a condition variable guard them: any thread may
//   wait, any thread may complete it.
// - cancel() succeeds only while pending: a future that runs cannot be
//   stopped. The executor calls set_running_or_notify_cancel() before it
//   runs the work, and skips work whose future was cancelled.
// - result(timeout) and exception(timeout) block until it is done, then
//   give back the result or raise; CancelledError if cancelled;
//   TimeoutError if the timeout passed first.
// - Done callbacks run in the thread that completes the future, or at once
//   in the caller's thread if it is done already, as in concurrent.futures.
//   The asyncio bridge (asyncio/executor.hpp) uses one to wake its loop.
#include <chrono>
#include <condition_variable>
#include <exception>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

#include <fmt/format.h>

#include "pyconc/concurrent/futures/errors.hpp"
#include "pyconc/runtime/brief_watch.hpp"

namespace pyconc::concurrent::futures {

template <class T>
class Future {
public:
    using Stored = std::conditional_t<std::is_void_v<T>, std::monostate, T>;
    using Callback = std::function<void(Future&)>;

    Future() = default;
    Future(const Future&) = delete;
    Future& operator=(const Future&) = delete;

    [[nodiscard]] bool done() const {
        const std::lock_guard lock{mutex_};
        return state_ == State::finished || state_ == State::cancelled;
    }
    [[nodiscard]] bool cancelled() const {
        const std::lock_guard lock{mutex_};
        return state_ == State::cancelled;
    }
    [[nodiscard]] bool running() const {
        const std::lock_guard lock{mutex_};
        return state_ == State::running;
    }

    // Only a pending future can be cancelled.
    bool cancel() {
        std::vector<Callback> to_call;
        {
            const std::lock_guard lock{mutex_};
            if (state_ == State::running || state_ == State::finished) return false;
            if (state_ == State::cancelled) return true;
            state_ = State::cancelled;
            to_call = std::move(callbacks_);
        }
        changed_.notify_all();
        for (auto& callback : to_call) callback(*this);
        return true;
    }

    // The executor's: false if the future was cancelled (skip the work).
    bool set_running_or_notify_cancel() {
        const std::lock_guard lock{mutex_};
        if (state_ == State::cancelled) return false;
        if (state_ != State::pending) throw InvalidStateError("Future in unexpected state");
        state_ = State::running;
        return true;
    }

    template <class U = T>
    requires(!std::is_void_v<U>) void set_result(U value) {
        complete([&] { value_.emplace(std::move(value)); });
    }
    void set_result() requires std::is_void_v<T> {
        complete([&] { value_.emplace(); });
    }
    void set_exception(std::exception_ptr error) {
        complete([&] { error_ = std::move(error); });
    }

    // Blocks until done (or the timeout: TimeoutError). Raises what the work raised.
    T result(std::optional<double> timeout_seconds = std::nullopt) {
        std::unique_lock lock{mutex_};
        wait(lock, timeout_seconds);
        if (state_ == State::cancelled) throw CancelledError();
        if (error_) std::rethrow_exception(error_);
        if constexpr (!std::is_void_v<T>) return *value_;
    }
    std::exception_ptr exception(std::optional<double> timeout_seconds = std::nullopt) {
        std::unique_lock lock{mutex_};
        wait(lock, timeout_seconds);
        if (state_ == State::cancelled) throw CancelledError();
        return error_;
    }

    void add_done_callback(Callback callback) {
        {
            const std::lock_guard lock{mutex_};
            if (state_ != State::finished && state_ != State::cancelled) {
                callbacks_.push_back(std::move(callback));
                return;
            }
        }
        callback(*this);
    }

private:
    enum class State : unsigned char { pending, running, finished, cancelled };

    template <class Store>
    void complete(Store store) {
        std::vector<Callback> to_call;
        {
            const std::lock_guard lock{mutex_};
            if (state_ == State::finished || state_ == State::cancelled) {
                throw InvalidStateError(fmt::format("the future is done already"));
            }
            store();
            state_ = State::finished;
            to_call = std::move(callbacks_);
        }
        changed_.notify_all();
        for (auto& callback : to_call) callback(*this);
    }

    void wait(std::unique_lock<std::mutex>& lock, std::optional<double> timeout_seconds) {
        const auto is_done = [&] { return state_ == State::finished || state_ == State::cancelled; };
        if (!timeout_seconds) {
            // A trivial task's result comes within microseconds: watch for it
            // before sleeping (brief_watch.hpp).
            if (!is_done()) {
                lock.unlock();
                runtime::watch_briefly([this] { return done(); });
                lock.lock();
            }
            changed_.wait(lock, is_done);
            return;
        }
        if (!changed_.wait_for(lock, std::chrono::duration<double>(*timeout_seconds), is_done))
            throw TimeoutError();
    }

    mutable std::mutex mutex_;
    std::condition_variable changed_;
    State state_ = State::pending;
    std::optional<Stored> value_;
    std::exception_ptr error_;
    std::vector<Callback> callbacks_;
};

}  // namespace pyconc::concurrent::futures
