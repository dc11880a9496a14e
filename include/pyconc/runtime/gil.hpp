#pragma once
// The global interpreter lock, as CPython 3.12's Python/ceval_gil.c has it.
//
// How this works (the "Notes about the implementation" of ceval_gil.c)
// - The GIL is a boolean, `locked_`, guarded by `mutex_`; its changes are
//   signalled on `cond_`. The mutex is held only for short moments.
// - A thread that wants the GIL while another holds it waits on `cond_` for
//   `interval_` (5 ms by default, sys.setswitchinterval). If the wait timed
//   out and `switch_number_` did not move meanwhile (nobody else got the GIL
//   either), it sets `drop_request_`: the holder's eval loop checks that flag
//   at its next check point and drops the GIL. So a CPU-bound holder keeps
//   the GIL for about one interval at a time, never less.
// - Forced switching (FORCE_SWITCHING): a thread that drops the GIL because
//   it was asked to waits on `switch_cond_` until another thread has taken
//   it (`last_holder_` changed). Without it, the dropper would often take
//   the GIL straight back, and the waiter would starve (bpo-7946's convoy is
//   the other half of that story).
// - `switch_number_` counts the times the GIL went to a different thread
//   than the one that held it last.
// - Threads are named by their thread state: any stable address does.
//   Taking the GIL twice on one thread, or dropping it without holding it,
//   is a fatal error, as in CPython.
// - Deterministic scheduling, for tests and the explorer, is another GIL
//   (turns.hpp): the interpreter runs its threads on one or the other.
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <stdexcept>

#include "pyconc/runtime/brief_watch.hpp"
#include "pyconc/runtime/fatal.hpp"

namespace pyconc::runtime {

class Gil {
public:
    using Holder = const void*;  // the PyThreadState* that holds it
    using Interval = std::chrono::microseconds;
    static constexpr Interval default_interval{5000};  // DEFAULT_INTERVAL: 5 ms

    Gil() = default;
    Gil(const Gil&) = delete;
    Gil& operator=(const Gil&) = delete;

    // sys.setswitchinterval(seconds). A value that is not strictly positive
    // raises, with CPython's message.
    void set_switch_interval(Interval interval) {
        if (interval.count() <= 0) throw std::invalid_argument("switch interval must be strictly positive");
        const std::lock_guard lock{mutex_};
        interval_ = interval;
    }
    [[nodiscard]] Interval switch_interval() const {
        const std::lock_guard lock{mutex_};
        return interval_;
    }

    // take_gil: blocks until `tstate` holds the GIL.
    void take(Holder tstate) {
        std::unique_lock lock{mutex_};
        if (holder_ == tstate) fatal("take_gil", "this thread already holds the GIL");
        if (locked_) watch_for_release(lock);
        while (locked_) {
            const std::uint64_t saved_switch_number = switch_number_;
            const bool timed_out = cond_.wait_for(lock, interval_) == std::cv_status::timeout;
            // Timed out, and nobody got the GIL meanwhile: ask the holder.
            if (timed_out && locked_ && switch_number_ == saved_switch_number) {
                // relaxed: a hint the holder polls; the handoff itself is
                // ordered by mutex_.
                drop_request_.store(true, std::memory_order_relaxed);
            }
        }
        {
            // switch_mutex_ before last_holder_ changes: see drop().
            const std::lock_guard switch_lock{switch_mutex_};
            set_locked(true);
            holder_ = tstate;
            if (last_holder_ != tstate) {
                last_holder_ = tstate;
                ++switch_number_;
            }
            switch_cond_.notify_one();
        }
        drop_request_.store(false, std::memory_order_relaxed);  // the request, if any, is served
    }

    // drop_gil: releases the GIL held by `tstate`. When a drop was
    // requested, waits until another thread has taken it (forced switching).
    void drop(Holder tstate) {
        {
            const std::lock_guard lock{mutex_};
            if (!locked_ || holder_ != tstate) fatal("drop_gil", "this thread does not hold the GIL");
            set_locked(false);
            holder_ = nullptr;
            cond_.notify_one();
        }
        if (drop_request_.load(std::memory_order_relaxed)) {
            std::unique_lock switch_lock{switch_mutex_};
            if (last_holder_ == tstate) {  // not switched yet: wait for it
                drop_request_.store(false, std::memory_order_relaxed);
                switch_cond_.wait(switch_lock, [&] { return last_holder_ != tstate; });
            }
        }
    }

    // The eval breaker's GIL bit: what a check point reads. One relaxed
    // load; it may be a moment stale, which only delays the drop.
    [[nodiscard]] const std::atomic<bool>& eval_breaker() const noexcept { return drop_request_; }
    [[nodiscard]] bool drop_requested() const noexcept {
        return drop_request_.load(std::memory_order_relaxed);
    }

    [[nodiscard]] bool locked() const {
        const std::lock_guard lock{mutex_};
        return locked_;
    }
    [[nodiscard]] std::uint64_t switch_number() const {
        const std::lock_guard lock{mutex_};
        return switch_number_;
    }
    [[nodiscard]] Holder last_holder() const {
        const std::lock_guard lock{switch_mutex_};
        return last_holder_;
    }

private:
    // locked_ and the lock-free hint watch_for_release reads change together.
    // Caller holds mutex_.
    void set_locked(bool locked) noexcept {
        locked_ = locked;
        released_.store(!locked, std::memory_order_relaxed);
    }

    // Our own, beside CPython's algorithm (brief_watch.hpp): a thread that
    // finds the GIL held watches for its release for a moment before it
    // sleeps on cond_. Between the event loop and a pool worker the GIL is
    // usually let go within microseconds. Who gets it is still decided under
    // mutex_, and the interval's timed wait starts after the watch.
    void watch_for_release(std::unique_lock<std::mutex>& lock) {
        lock.unlock();
        watch_briefly([this] { return released_.load(std::memory_order_relaxed); });
        lock.lock();
    }

    mutable std::mutex mutex_;  // guards everything below but last_holder_ and drop_request_
    std::condition_variable cond_;
    bool locked_ = false;
    Holder holder_ = nullptr;  // who holds it now; null when unlocked
    std::uint64_t switch_number_ = 0;
    Interval interval_ = default_interval;

    mutable std::mutex switch_mutex_;  // guards last_holder_ (FORCE_SWITCHING)
    std::condition_variable switch_cond_;
    Holder last_holder_ = nullptr;

    std::atomic<bool> drop_request_{false};  // gil_drop_request
    std::atomic<bool> released_{true};       // !locked_, for watch_for_release to poll without mutex_
};

}  // namespace pyconc::runtime
