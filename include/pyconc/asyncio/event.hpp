#pragma once
// asyncio.Event: tasks wait until it is set.
//
// How this works (Lib/asyncio/locks.py, Event)
// - wait() returns at once if the flag is set; otherwise the task waits on
//   a future. set() sets the flag and wakes every waiter; clear() resets
//   the flag for later waits.
#include <string>

#include "pyconc/asyncio/errors.hpp"
#include "pyconc/asyncio/event_loop.hpp"
#include "pyconc/asyncio/future.hpp"
#include "pyconc/asyncio/task.hpp"
#include "pyconc/asyncio/waiters.hpp"

namespace pyconc::asyncio {

class Event {
public:
    Event() = default;
    Event(const Event&) = delete;
    Event& operator=(const Event&) = delete;

    [[nodiscard]] bool is_set() const noexcept { return set_; }
    // repr(event): "<asyncio.locks.Event object at 0x... [unset, waiters:1]>"
    [[nodiscard]] std::string repr() const { return waiters_.repr("Event", this, set_ ? "set" : "unset"); }

    void set() {
        if (set_) return;
        set_ = true;
        waiters_.wake_all();
    }
    void clear() noexcept { set_ = false; }

    // `await event.wait()`: true once the flag is set, as asyncio's.
    Coroutine<bool> wait() {
        if (set_) co_return true;
        const Waiters::Outcome outcome = co_await waiters_.wait();
        if (outcome != Waiters::Outcome::woken) throw CancelledError();
        co_return true;
    }

private:
    bool set_ = false;
    Waiters waiters_;
};

}  // namespace pyconc::asyncio
