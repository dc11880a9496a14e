#pragma once
// asyncio.Semaphore: at most `value` tasks inside at once, FIFO.
//
// How this works (Lib/asyncio/locks.py, Semaphore in 3.11)
// - acquire() takes a unit at once if one is free and nobody waits;
//   otherwise the task queues a future. release() gives a unit back and
//   wakes the first waiter, which takes it when it runs.
#include <cstddef>
#include <stdexcept>

#include "pyconc/asyncio/errors.hpp"
#include "pyconc/asyncio/event_loop.hpp"
#include "pyconc/asyncio/future.hpp"
#include "pyconc/asyncio/task.hpp"
#include "pyconc/asyncio/waiters.hpp"

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
        const Waiters::Outcome outcome = co_await waiters_.wait();
        if (outcome != Waiters::Outcome::woken) {
            if (outcome == Waiters::Outcome::cancelled_after_wakeup) ++value_;  // the unit it was woken for
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
        while (value_ > 0 && waiters_.wake_first()) --value_;
    }

    std::size_t value_;
    Waiters waiters_;
};

}  // namespace pyconc::asyncio
