#pragma once
// asyncio.sleep(seconds).
//
// How this works (Lib/asyncio/tasks.py, sleep and __sleep0)
// - sleep(0) (or less) is a bare yield: the task's next step is scheduled
//   with call_soon, so it goes to the back of the ready queue, behind every
//   task already ready. No future, no timer, no allocation.
// - sleep(d) makes a future and a timer that sets it after d seconds, and
//   waits on the future. Cancelling the task cancels the future (which
//   raises CancelledError at the await) and the timer with it.
#include <coroutine>
#include <memory>
#include <optional>

#include "pyconc/asyncio/event_loop.hpp"
#include "pyconc/asyncio/future.hpp"
#include "pyconc/asyncio/task.hpp"

namespace pyconc::asyncio {

class Sleep {
public:
    explicit Sleep(double seconds) noexcept : seconds_(seconds) {}

    [[nodiscard]] bool await_ready() const noexcept { return false; }
    void await_suspend(std::coroutine_handle<> suspended) {
        task_ = &TaskBase::current_or_fail("sleep()");
        task_->suspend_at(suspended);
        if (seconds_ <= 0) {
            task_->yield_turn();
            return;
        }
        auto done = make_future<void>(task_->loop());
        timer_ = task_->loop().call_later(seconds_, [done] {
            if (!done->done()) done->set_result();  // _set_result_unless_cancelled
        });
        future_ = done;
        task_->wait_on(std::move(done));
    }
    void await_resume() {
        timer_.cancel();
        if (future_) {
            task_->stop_waiting();
            task_->raise_if_cancelling();
            future_->result();  // raises CancelledError if the sleep was cancelled
            return;
        }
        task_->raise_if_cancelling();
    }

private:
    double seconds_;
    TaskBase* task_ = nullptr;
    std::shared_ptr<Future<void>> future_;
    TimerHandle timer_;
};

// `await asyncio.sleep(seconds)`
[[nodiscard]] inline Sleep sleep(double seconds) noexcept {
    return Sleep{seconds};
}

}  // namespace pyconc::asyncio
