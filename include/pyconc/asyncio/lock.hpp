#pragma once
// asyncio.Lock: mutual exclusion between tasks of one loop, FIFO-fair.
//
// How this works (Lib/asyncio/locks.py, Lock in 3.11)
// - acquire(): free and nobody waiting, it is taken at once, no yield.
//   Otherwise the task queues a future and waits on it. Waiters are woken
//   in the order they came ("fair": a task that arrives while others wait
//   waits too, even if the lock happens to be free at that moment).
// - release() marks it free and wakes the head of the queue, which takes
//   it when it runs. Releasing a lock that is not held raises RuntimeError.
// - A waiter cancelled while queued, or after it was woken but before it
//   ran, leaves the queue; if the lock is free, the head of the queue is
//   woken unless it is woken already. Only the head, ever: waking "the
//   first not woken" would let two tasks hold the lock (bpo-32734; CPython
//   3.12's _wake_up_first, test_cancel_release_race).
// - `co_await lock.hold()` is `async with lock:` - the guard it returns
//   releases the lock when it goes out of scope.
#include <string>
#include <utility>

#include "pyconc/asyncio/errors.hpp"
#include "pyconc/asyncio/event_loop.hpp"
#include "pyconc/asyncio/future.hpp"
#include "pyconc/asyncio/held.hpp"
#include "pyconc/asyncio/task.hpp"
#include "pyconc/asyncio/waiters.hpp"

namespace pyconc::asyncio {

class Lock {
public:
    Lock() = default;
    Lock(const Lock&) = delete;
    Lock& operator=(const Lock&) = delete;

    [[nodiscard]] bool locked() const noexcept { return locked_; }
    // repr(lock): "<asyncio.locks.Lock object at 0x... [unlocked]>"
    [[nodiscard]] std::string repr() const {
        return waiters_.repr("Lock", this, locked_ ? "locked" : "unlocked");
    }

    // `await lock.acquire()`: true once it holds the lock, as asyncio's.
    Coroutine<bool> acquire() {
        if (!locked_ && waiters_.none_live()) {
            locked_ = true;
            co_return true;
        }
        const Waiters::Outcome outcome = co_await waiters_.wait();
        if (outcome != Waiters::Outcome::woken) {
            if (!locked_) waiters_.wake_head();  // a free lock goes to the head of the line
            throw CancelledError();
        }
        locked_ = true;
        co_return true;
    }

    void release() {
        if (!locked_) throw RuntimeError("Lock is not acquired.");
        locked_ = false;
        waiters_.wake_head();
    }

    // `async with lock:`
    using Held = asyncio::Held<Lock>;
    Coroutine<Held> hold() {
        co_await acquire();
        co_return Held{*this};
    }

private:
    bool locked_ = false;
    Waiters waiters_;
};

}  // namespace pyconc::asyncio
