#pragma once
// The tasks waiting their turn at a Lock, Semaphore, Event or Queue: a FIFO
// of futures, as asyncio's primitives keep in their `_waiters` deque.
//
// How this works (Lib/asyncio/locks.py, queues.py)
// - wait() queues a future and awaits it; wake_first() sets the first one
//   not done yet, so tasks are woken in the order they came (Semaphore's
//   _wake_up_next, Queue's _wakeup_next); wake_head() sets the head of the
//   queue only, and only if it is not done yet (Lock's _wake_up_first: a
//   lock is taken by one task at a time, so once the head is woken nobody
//   else may be, bpo-32734); wake_all() sets every one.
// - A waiter always leaves the queue, however its wait ended, and says how:
//   woken; cancelled while waiting; or cancelled after it was woken but
//   before it ran (then it owes its wake-up to the next in line: a lock
//   that is free again, a semaphore unit). The primitive decides what to
//   pass on, and then raises CancelledError.
// - Keep the outcome in a variable before testing it: g++ 12 miscompiles a
//   co_await in an if condition (coroutine.hpp).
#include <cstddef>
#include <deque>
#include <memory>
#include <string>

#include <fmt/format.h>

#include "pyconc/asyncio/errors.hpp"
#include "pyconc/asyncio/event_loop.hpp"
#include "pyconc/asyncio/future.hpp"
#include "pyconc/asyncio/task.hpp"

namespace pyconc::asyncio {

class Waiters {
public:
    enum class Outcome : unsigned char { woken, cancelled, cancelled_after_wakeup };

    Coroutine<Outcome> wait() {
        auto waiter = make_future<void>(EventLoop::get_running_loop());
        waiters_.push_back(waiter);
        Outcome outcome = Outcome::woken;
        try {
            co_await waiter;
        } catch (const CancelledError&) {
            outcome =
                waiter->done() && !waiter->cancelled() ? Outcome::cancelled_after_wakeup : Outcome::cancelled;
        }
        remove(waiter);
        co_return outcome;
    }

    // Wakes the first waiter not woken yet; false if there is none.
    bool wake_first() {
        for (const auto& waiter : waiters_) {
            if (!waiter->done()) {
                waiter->set_result();
                return true;
            }
        }
        return false;
    }
    // Wakes the head of the queue if it is not woken (or cancelled) yet.
    void wake_head() {
        if (!waiters_.empty() && !waiters_.front()->done()) waiters_.front()->set_result();
    }
    void wake_all() {
        for (const auto& waiter : waiters_) {
            if (!waiter->done()) waiter->set_result();
        }
    }

    [[nodiscard]] bool empty() const noexcept { return waiters_.empty(); }
    // len(_waiters): every waiter still queued, woken or not.
    [[nodiscard]] std::size_t size() const noexcept { return waiters_.size(); }
    // Nobody is waiting who has not given up (asyncio.Lock's fast-path test).
    [[nodiscard]] bool none_live() const {
        for (const auto& waiter : waiters_) {
            if (!waiter->cancelled()) return false;
        }
        return true;
    }

    // The repr of a primitive that keeps these waiters, as asyncio's
    // locks.py writes it: "<asyncio.locks.Lock object at 0x... [locked, waiters:1]>".
    [[nodiscard]] std::string repr(const char* cls, const void* self, const std::string& state) const {
        const std::string extra =
            waiters_.empty() ? state : fmt::format("{}, waiters:{}", state, waiters_.size());
        return fmt::format("<asyncio.locks.{} object at {} [{}]>", cls, self, extra);
    }

private:
    void remove(const std::shared_ptr<Future<void>>& waiter) {
        for (auto it = waiters_.begin(); it != waiters_.end(); ++it) {
            if (*it == waiter) {
                waiters_.erase(it);
                return;
            }
        }
    }

    std::deque<std::shared_ptr<Future<void>>> waiters_;
};

}  // namespace pyconc::asyncio
