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
// - Deterministic scheduling (our own, for tests and the explorer): with a
//   deterministic `Schedule` (schedule.hpp), OS timing never decides who
//   runs. Threads register in a fixed order (their index is their name in
//   an explicit schedule). The holder reports each instruction it runs
//   (`turn_over`); at a check point where the schedule says its turn is
//   over, it hands the GIL over (`yield_turn`), naming the thread allowed to
//   take it next (`next_`), whether or not that thread has asked yet: the
//   schedule's choice, or else the next registered thread that can run. A
//   thread that releases the GIL to block (a lock, a sleep) is skipped until
//   it asks again. The first turn is the schedule's first thread's. The
//   same schedule gives the same interleaving on every run.
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <utility>
#include <vector>

#include "pyconc/runtime/brief_watch.hpp"
#include "pyconc/runtime/fatal.hpp"
#include "pyconc/runtime/schedule.hpp"

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
        if (schedule_.deterministic()) {
            take_deterministic(lock, tstate);
            return;
        }
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
            if (schedule_.deterministic()) {
                next_ = next_runnable_after(tstate);
                cond_.notify_all();
                return;
            }
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

    // --- deterministic scheduling ----------------------------------------------

    // The schedule: Schedule::timed() (CPython's, the default) or a
    // deterministic one. Set it before any thread runs.
    void set_schedule(Schedule schedule) {
        const std::lock_guard lock{mutex_};
        schedule_ = std::move(schedule);
    }
    [[nodiscard]] bool deterministic() const {
        const std::lock_guard lock{mutex_};
        return schedule_.deterministic();
    }

    // A model thread joins the rotation (in the order of these calls) and
    // leaves it when it is done running (before it drops the GIL for the
    // last time, so that the turn never goes to a thread that will not come).
    void register_thread(Holder tstate) {
        const std::lock_guard lock{mutex_};
        rotation_.push_back({tstate, TurnState::runnable});
    }
    void unregister_thread(Holder tstate) {
        const std::lock_guard lock{mutex_};
        turn_of(tstate).state = TurnState::done;
        if (next_ == tstate) next_ = next_runnable_after(tstate);
        cond_.notify_all();
    }
    // A thread about to block outside the GIL (it must not hold it): skipped
    // by the rotation until it takes the GIL again.
    void mark_blocked(Holder tstate) {
        const std::lock_guard lock{mutex_};
        if (schedule_.deterministic()) turn_of(tstate).state = TurnState::blocked;
    }

    // Deterministic schedules: the holder reports each instruction it ran,
    // and whether the policy made it a check point. Returns true when its
    // turn is over and another thread can run: then it calls yield_turn.
    [[nodiscard]] bool turn_over(Holder tstate, bool at_check_point) {
        const std::lock_guard lock{mutex_};
        if (!locked_ || holder_ != tstate) fatal("turn_over", "this thread does not hold the GIL");
        ++since_taken_;
        const std::uint64_t step = steps_++;
        if (!at_check_point) return false;
        const Schedule::Decision decision =
            schedule_.at_check_point(index_of(tstate), since_taken_, step + 1);
        if (!decision.hand_over) return false;
        if (decision.to) {
            const Turn* chosen = *decision.to < rotation_.size() ? &rotation_[*decision.to] : nullptr;
            handing_to_ = chosen && chosen->state == TurnState::runnable ? chosen->tstate : nullptr;
        } else {
            handing_to_ = next_runnable_after(tstate);
        }
        return handing_to_ != nullptr;
    }

    // Hands the GIL to the thread turn_over chose, and waits for this
    // thread's turn to come back.
    void yield_turn(Holder tstate) {
        std::unique_lock lock{mutex_};
        if (!locked_ || holder_ != tstate || handing_to_ == nullptr) {
            fatal("yield_turn", "the turn is not over, or this thread does not hold the GIL");
        }
        set_locked(false);
        holder_ = nullptr;
        next_ = std::exchange(handing_to_, nullptr);
        cond_.notify_all();
        take_deterministic(lock, tstate);
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
    enum class TurnState : unsigned char { runnable, blocked, done };
    struct Turn {
        Holder tstate;
        TurnState state;
    };

    Turn& turn_of(Holder tstate) { return rotation_[index_of(tstate)]; }
    std::size_t index_of(Holder tstate) const {
        for (std::size_t i = 0; i < rotation_.size(); ++i) {
            if (rotation_[i].tstate == tstate) return i;
        }
        fatal("Gil", "a thread that never registered for deterministic scheduling");
    }

    // The first runnable thread after `tstate` in the rotation, wrapping
    // around, `tstate` itself excluded; null if there is none. Caller holds
    // mutex_.
    Holder next_runnable_after(Holder tstate) const {
        std::size_t start = 0;
        for (std::size_t i = 0; i < rotation_.size(); ++i) {
            if (rotation_[i].tstate == tstate) start = i + 1;
        }
        for (std::size_t step = 0; step < rotation_.size(); ++step) {
            const Turn& turn = rotation_[(start + step) % rotation_.size()];
            if (turn.tstate != tstate && turn.state == TurnState::runnable) return turn.tstate;
        }
        return nullptr;
    }

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

    // Waits until the GIL is free and it is this thread's turn (or nobody's),
    // then takes it. Caller holds mutex_ through `lock`.
    void take_deterministic(std::unique_lock<std::mutex>& lock, Holder tstate) {
        turn_of(tstate).state = TurnState::runnable;  // it is here and asking
        if (!started_) {                              // the very first turn is the schedule's choice
            started_ = true;
            const std::size_t first = schedule_.first_thread();
            if (first < rotation_.size()) next_ = rotation_[first].tstate;
        }
        cond_.wait(lock, [&] { return !locked_ && (next_ == nullptr || next_ == tstate); });
        set_locked(true);
        holder_ = tstate;
        next_ = nullptr;
        since_taken_ = 0;
        schedule_.on_take();
        if (last_holder_ != tstate) {
            const std::lock_guard switch_lock{switch_mutex_};
            last_holder_ = tstate;
            ++switch_number_;
        }
    }

    mutable std::mutex mutex_;  // guards everything below but last_holder_ and drop_request_
    std::condition_variable cond_;
    bool locked_ = false;
    Holder holder_ = nullptr;  // who holds it now; null when unlocked
    std::uint64_t switch_number_ = 0;
    Interval interval_ = default_interval;
    Schedule schedule_ = Schedule::timed();
    std::vector<Turn> rotation_;     // registered threads, in order
    Holder next_ = nullptr;          // deterministic: the only thread that may take it; null: any
    Holder handing_to_ = nullptr;    // deterministic: whom turn_over chose
    bool started_ = false;           // deterministic: the first turn was given
    std::uint64_t steps_ = 0;        // deterministic: instructions run by every thread
    std::uint64_t since_taken_ = 0;  // deterministic: instructions the holder ran since it took the GIL

    mutable std::mutex switch_mutex_;  // guards last_holder_ (FORCE_SWITCHING)
    std::condition_variable switch_cond_;
    Holder last_holder_ = nullptr;

    std::atomic<bool> drop_request_{false};  // gil_drop_request
    std::atomic<bool> released_{true};       // !locked_, for watch_for_release to poll without mutex_
};

}  // namespace pyconc::runtime
