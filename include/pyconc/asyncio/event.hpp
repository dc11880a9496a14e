#pragma once
// asyncio.Event: tasks wait until it is set.
//
// How this works (Lib/asyncio/locks.py, Event)
// - wait() returns at once if the flag is set; otherwise the task waits on
//   a future. set() sets the flag and wakes every waiter; clear() resets
//   the flag for later waits.
#include <memory>
#include <vector>

#include "pyconc/asyncio/event_loop.hpp"
#include "pyconc/asyncio/future.hpp"
#include "pyconc/asyncio/task.hpp"

namespace pyconc::asyncio {

class Event {
public:
    Event() = default;
    Event(const Event&) = delete;
    Event& operator=(const Event&) = delete;

    [[nodiscard]] bool is_set() const noexcept { return set_; }

    void set() {
        if (set_) return;
        set_ = true;
        for (const auto& waiter : waiters_) {
            if (!waiter->done()) waiter->set_result();
        }
        waiters_.clear();
    }
    void clear() noexcept { set_ = false; }

    Task<void> wait() {
        if (set_) co_return;
        auto waiter = make_future<void>(EventLoop::get_running_loop());
        waiters_.push_back(waiter);
        co_await waiter;
    }

private:
    bool set_ = false;
    std::vector<std::shared_ptr<Future<void>>> waiters_;
};

}  // namespace pyconc::asyncio
