#pragma once
// asyncio.Semaphore: at most `value` tasks inside at once, FIFO.
//
// How this works (Lib/asyncio/locks.py, Semaphore in 3.12)
// - locked() is true when no unit is free, or when a task that has not
//   given up is waiting (FIFO: a newcomer waits behind it even if a unit is
//   free). acquire() takes a unit at once unless locked(); otherwise the
//   task queues a future.
// - release() gives a unit back and wakes the first waiter not woken yet,
//   taking the unit for it (_wake_up_next). A waiter cancelled after it was
//   woken gives its unit back.
// - BoundedSemaphore: release() past the initial value raises ValueError.
// - However a wait ends, the waiter then wakes as many others as there are
//   free units: units freed while it waited go to the next in line
//   (test_acquire_fifo_order_2 hung without it).
#include <cstddef>
#include <optional>
#include <string>
#include <utility>

#include <fmt/format.h>

#include "pyconc/asyncio/errors.hpp"
#include "pyconc/asyncio/event_loop.hpp"
#include "pyconc/asyncio/future.hpp"
#include "pyconc/asyncio/held.hpp"
#include "pyconc/asyncio/task.hpp"
#include "pyconc/asyncio/waiters.hpp"

namespace pyconc::asyncio {

class Semaphore {
public:
    // asyncio.Semaphore(value): a negative value raises ValueError.
    explicit Semaphore(long long value = 1) : value_(checked(value)) {}
    Semaphore(const Semaphore&) = delete;
    Semaphore& operator=(const Semaphore&) = delete;

    [[nodiscard]] bool locked() const { return value_ == 0 || !waiters_.none_live(); }
    [[nodiscard]] std::size_t value() const noexcept { return value_; }
    // repr(sem): "<asyncio.locks.Semaphore object at 0x... [unlocked, value:1]>"
    [[nodiscard]] std::string repr() const {
        return waiters_.repr(bound_ ? "BoundedSemaphore" : "Semaphore", this,
                             locked() ? std::string("locked") : fmt::format("unlocked, value:{}", value_));
    }

    // `await sem.acquire()`: true once it holds a unit, as asyncio's.
    Coroutine<bool> acquire() {
        if (!locked()) {
            --value_;
            co_return true;
        }
        const Waiters::Outcome outcome = co_await waiters_.wait();
        if (outcome == Waiters::Outcome::cancelled_after_wakeup) ++value_;  // the unit it was woken for
        wake_up_next();  // units still free go to the next in line
        if (outcome != Waiters::Outcome::woken) throw CancelledError();
        co_return true;
    }

    // A BoundedSemaphore refuses a release beyond its initial value.
    void release() {
        if (bound_ && value_ >= *bound_) throw ValueError("BoundedSemaphore released too many times");
        ++value_;
        wake_up_next();
    }

    // `async with sem:`
    using Held = asyncio::Held<Semaphore>;
    Coroutine<Held> hold() {
        co_await acquire();
        co_return Held{*this};
    }

protected:
    struct Bounded {};
    Semaphore(long long value, Bounded /*tag*/) : value_(checked(value)), bound_(value_) {}

private:
    static std::size_t checked(long long value) {
        if (value < 0) throw ValueError("Semaphore initial value must be >= 0");
        return static_cast<std::size_t>(value);
    }
    // A woken waiter owns the unit it was woken for.
    void wake_up_next() {
        while (value_ > 0 && waiters_.wake_first()) --value_;
    }

    std::size_t value_;
    std::optional<std::size_t> bound_;  // BoundedSemaphore's initial value
    Waiters waiters_;
};

// asyncio.BoundedSemaphore: release() beyond the initial value raises
// ValueError instead of raising the bound.
class BoundedSemaphore : public Semaphore {
public:
    explicit BoundedSemaphore(long long value = 1) : Semaphore(value, Bounded{}) {}
};

}  // namespace pyconc::asyncio
