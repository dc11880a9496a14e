#pragma once
// asyncio.Semaphore: at most `value` tasks inside at once, FIFO.
//
// How this works (Lib/asyncio/locks.py, Semaphore in 3.11)
// - acquire() takes a unit at once if one is free and nobody waits;
//   otherwise the task queues a future. release() gives a unit back and
//   wakes the first waiter, which takes it when it runs.
#include <cstddef>
#include <deque>
#include <memory>
#include <stdexcept>

#include "pyconc/asyncio/errors.hpp"
#include "pyconc/asyncio/event_loop.hpp"
#include "pyconc/asyncio/future.hpp"
#include "pyconc/asyncio/task.hpp"

namespace pyconc::asyncio {

class Semaphore {
public:
    explicit Semaphore(std::size_t value = 1) : value_(value) {}
    Semaphore(const Semaphore&) = delete;
    Semaphore& operator=(const Semaphore&) = delete;

    [[nodiscard]] bool locked() const noexcept { return value_ == 0; }
    [[nodiscard]] std::size_t value() const noexcept { return value_; }

    Task<void> acquire() {
        if (value_ > 0 && waiters_.empty()) {
            --value_;
            co_return;
        }
        auto waiter = make_future<void>(EventLoop::get_running_loop());
        waiters_.push_back(waiter);
        bool cancelled = false;
        try {
            co_await waiter;
        } catch (const CancelledError&) {
            cancelled = true;
        }
        for (auto it = waiters_.begin(); it != waiters_.end(); ++it) {
            if (*it == waiter) {
                waiters_.erase(it);
                break;
            }
        }
        if (cancelled) {
            if (waiter->done() && !waiter->cancelled()) ++value_;  // woken, then cancelled: give the unit on
            wake_up_next();
            throw CancelledError();
        }
    }

    void release() {
        ++value_;
        wake_up_next();
    }

private:
    // A woken waiter owns the unit it was woken for.
    void wake_up_next() {
        for (const auto& waiter : waiters_) {
            if (value_ == 0) return;
            if (!waiter->done()) {
                --value_;
                waiter->set_result();
            }
        }
    }

    std::size_t value_;
    std::deque<std::shared_ptr<Future<void>>> waiters_;
};

}  // namespace pyconc::asyncio
