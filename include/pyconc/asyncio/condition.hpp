#pragma once
// asyncio.Condition: tasks wait, holding a lock, until notified.
//
// How this works (Lib/asyncio/locks.py, Condition in 3.12)
// - A Condition owns a Lock (or shares one given to it); acquire, release,
//   locked and hold() are the lock's.
// - wait() must be called with the lock held: it releases the lock, queues
//   a future, and waits to be notified; then it takes the lock again
//   before it returns, even when it was cancelled (it keeps trying until it
//   has it, and raises CancelledError after). So code after `await
//   cond.wait()` always runs with the lock held.
// - notify(n) wakes the first n waiters not woken yet; notify_all() all.
//   Both need the lock held (RuntimeError otherwise), as do wait() and
//   wait_for(predicate), which waits until predicate() is true.
#include <cstddef>
#include <limits>
#include <memory>
#include <string>

#include "pyconc/asyncio/coroutine.hpp"
#include "pyconc/asyncio/errors.hpp"
#include "pyconc/asyncio/lock.hpp"
#include "pyconc/asyncio/waiters.hpp"

namespace pyconc::asyncio {

class Condition {
public:
    Condition() : own_lock_(std::make_unique<Lock>()), lock_(own_lock_.get()) {}
    // asyncio.Condition(lock): shares `lock`, which must outlive it.
    explicit Condition(Lock& lock) : lock_(&lock) {}
    Condition(const Condition&) = delete;
    Condition& operator=(const Condition&) = delete;

    [[nodiscard]] bool locked() const noexcept { return lock_->locked(); }
    // repr(cond): "<asyncio.locks.Condition object at 0x... [locked, waiters:2]>"
    [[nodiscard]] std::string repr() const {
        return waiters_.repr("Condition", this, locked() ? "locked" : "unlocked");
    }
    Coroutine<bool> acquire() { return lock_->acquire(); }
    void release() { lock_->release(); }
    Coroutine<Lock::Held> hold() { return lock_->hold(); }

    // `await cond.wait()`: true when notified; the lock is held again on return.
    Coroutine<bool> wait() {
        if (!locked()) throw RuntimeError("cannot wait on un-acquired lock");
        release();
        const Waiters::Outcome outcome = co_await waiters_.wait();
        bool cancelled = outcome != Waiters::Outcome::woken;
        for (;;) {  // must take the lock again, even if cancelled
            try {
                co_await acquire();
                break;
            } catch (const CancelledError&) {
                cancelled = true;
            }
        }
        if (cancelled) throw CancelledError();
        co_return true;
    }

    // `await cond.wait_for(predicate)`: until predicate() is true; returns its last value.
    template <class Predicate>
    Coroutine<bool> wait_for(Predicate predicate) {
        bool result = predicate();
        while (!result) {
            co_await wait();
            result = predicate();
        }
        co_return result;
    }

    void notify(std::size_t n = 1) {
        if (!locked()) throw RuntimeError("cannot notify on un-acquired lock");
        for (std::size_t woken = 0; woken < n && waiters_.wake_first(); ++woken) {
        }
    }
    void notify_all() {
        if (!locked()) throw RuntimeError("cannot notify on un-acquired lock");
        waiters_.wake_all();
    }

private:
    std::unique_ptr<Lock> own_lock_;
    Lock* lock_;
    Waiters waiters_;
};

}  // namespace pyconc::asyncio
