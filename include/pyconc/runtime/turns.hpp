#pragma once
// The GIL under a deterministic schedule (our own, for tests and the
// schedule explorer): whose turn it is decides who holds it, never the OS.
//
// How this works
// - Threads register in a fixed order (their index is their name in an
//   explicit schedule). The holder reports each instruction it runs
//   (`turn_over`); at a check point where the schedule (schedule.hpp) says
//   its turn is over, it hands the GIL over (`yield_turn`), naming the
//   thread allowed to take it next (`next_`), whether or not that thread has
//   asked yet: the schedule's choice, or else the next registered thread
//   that can run.
// - A thread that releases the GIL to block (a lock, a sleep) is skipped
//   until it asks again (`mark_blocked`); one that is done (`unregister`)
//   is skipped for good, so the turn never goes to a thread that will not
//   come.
// - The first turn is the schedule's first thread's. The same schedule
//   gives the same interleaving on every run.
// - Like the GIL (gil.hpp) it is a boolean, `locked_`, and its holder,
//   guarded by `mutex_`, with changes signalled on `cond_`; taking it twice
//   on one thread, or dropping it without holding it, is a fatal error.
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <utility>
#include <vector>

#include "pyconc/runtime/fatal.hpp"
#include "pyconc/runtime/schedule.hpp"

namespace pyconc::runtime {

class Turns {
public:
    using Holder = const void*;  // the PyThreadState* that holds it

    explicit Turns(Schedule schedule) : schedule_(std::move(schedule)) {
        if (!schedule_.deterministic()) fatal("Turns", "a timed schedule is the GIL's (gil.hpp), not turns");
    }
    Turns(const Turns&) = delete;
    Turns& operator=(const Turns&) = delete;

    // A model thread joins the rotation (in the order of these calls) and
    // leaves it when it is done running (before it drops the GIL for the
    // last time).
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
        turn_of(tstate).state = TurnState::blocked;
    }

    // Waits until the GIL is free and it is this thread's turn (or nobody's
    // in particular), then takes it.
    void take(Holder tstate) {
        std::unique_lock lock{mutex_};
        if (holder_ == tstate) fatal("take_gil", "this thread already holds the GIL");
        take_in_turn(lock, tstate);
    }
    // Releases the GIL; the next runnable thread in the rotation may take it.
    void drop(Holder tstate) {
        const std::lock_guard lock{mutex_};
        if (!locked_ || holder_ != tstate) fatal("drop_gil", "this thread does not hold the GIL");
        locked_ = false;
        holder_ = nullptr;
        next_ = next_runnable_after(tstate);
        cond_.notify_all();
    }

    // The holder reports each instruction it ran, and whether the policy
    // made it a check point. Returns true when its turn is over and another
    // thread can run: then it calls yield_turn.
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
        locked_ = false;
        holder_ = nullptr;
        next_ = std::exchange(handing_to_, nullptr);
        cond_.notify_all();
        take_in_turn(lock, tstate);
    }

    [[nodiscard]] bool locked() const {
        const std::lock_guard lock{mutex_};
        return locked_;
    }
    // The times the GIL went to a different thread than the one that held it last.
    [[nodiscard]] std::uint64_t switch_number() const {
        const std::lock_guard lock{mutex_};
        return switch_number_;
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
        fatal("Turns", "a thread that never registered for deterministic scheduling");
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

    // Caller holds mutex_ through `lock`.
    void take_in_turn(std::unique_lock<std::mutex>& lock, Holder tstate) {
        turn_of(tstate).state = TurnState::runnable;  // it is here and asking
        if (!started_) {                              // the very first turn is the schedule's choice
            started_ = true;
            const std::size_t first = schedule_.first_thread();
            if (first < rotation_.size()) next_ = rotation_[first].tstate;
        }
        cond_.wait(lock, [&] { return !locked_ && (next_ == nullptr || next_ == tstate); });
        locked_ = true;
        holder_ = tstate;
        next_ = nullptr;
        since_taken_ = 0;
        schedule_.on_take();
        if (last_holder_ != tstate) {
            last_holder_ = tstate;
            ++switch_number_;
        }
    }

    mutable std::mutex mutex_;  // guards everything below
    std::condition_variable cond_;
    bool locked_ = false;
    Holder holder_ = nullptr;       // who holds it now; null when unlocked
    Holder last_holder_ = nullptr;  // who held it last
    std::uint64_t switch_number_ = 0;
    Schedule schedule_;
    std::vector<Turn> rotation_;     // registered threads, in order
    Holder next_ = nullptr;          // the only thread that may take it; null: any
    Holder handing_to_ = nullptr;    // whom turn_over chose
    bool started_ = false;           // the first turn was given
    std::uint64_t steps_ = 0;        // instructions run by every thread
    std::uint64_t since_taken_ = 0;  // instructions the holder ran since it took the GIL
};

}  // namespace pyconc::runtime
