#pragma once
// Who runs next: CPython's timed switching, or one of the deterministic
// schedules that tests and the schedule explorer use.
//
// How this works
// - `Schedule::timed()` is CPython: the GIL's timed waits and drop requests
//   decide, so the OS's timing does too.
// - The deterministic schedules decide at each check point of the thread
//   that holds the GIL whether it hands the GIL on, and to whom. Nothing
//   they read depends on time: the instructions the holder has run since it
//   took the GIL, the instructions run in all, a seeded generator.
//   - `every(K)`: at the first check point after K instructions, to the next
//     thread in the rotation.
//   - `seeded(seed, K)`: after a number of instructions drawn from 1 to 2K-1
//     (K on average) by a generator seeded with `seed`; the same seed gives
//     the same points. The draw is our own arithmetic on std::mt19937_64,
//     whose output the standard fixes, so every machine agrees.
//   - `explicit_order(owners)`: owners[i] is the thread (by registration
//     index) that should run instruction i. At a check point the holder hands
//     the GIL to the owner of the next instruction if that is another
//     thread. Where the policy puts no check point the switch cannot happen,
//     and the order that runs differs from the one asked for: that is how
//     the explorer learns which schedules a policy allows.
// - A schedule is a value; a deterministic one is kept by Turns (turns.hpp),
//   which keeps the counters it reads.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <random>
#include <utility>
#include <vector>

namespace pyconc::runtime {

class Schedule {
public:
    enum class Kind : unsigned char { timed, every, seeded, explicit_order };

    // What a check point should do in a deterministic schedule.
    struct Decision {
        bool hand_over = false;
        std::optional<std::size_t> to;  // a thread by registration index; none: the next in the rotation
    };

    [[nodiscard]] static Schedule timed() { return Schedule{Kind::timed}; }
    [[nodiscard]] static Schedule every(std::uint64_t instructions) {
        Schedule schedule{Kind::every};
        schedule.quantum_ = instructions;
        return schedule;
    }
    [[nodiscard]] static Schedule seeded(std::uint64_t seed, std::uint64_t mean_instructions) {
        Schedule schedule{Kind::seeded};
        schedule.quantum_ = mean_instructions;
        schedule.generator_.seed(seed);
        return schedule;
    }
    [[nodiscard]] static Schedule explicit_order(std::vector<std::size_t> owners) {
        Schedule schedule{Kind::explicit_order};
        schedule.owners_ = std::move(owners);
        return schedule;
    }

    [[nodiscard]] Kind kind() const noexcept { return kind_; }
    [[nodiscard]] bool deterministic() const noexcept { return kind_ != Kind::timed; }

    // The thread that should take the GIL first (by registration index).
    [[nodiscard]] std::size_t first_thread() const noexcept {
        return kind_ == Kind::explicit_order && !owners_.empty() ? owners_.front() : 0;
    }

    // Called when a thread takes the GIL: draws its quantum, if seeded.
    void on_take() {
        if (kind_ == Kind::seeded) turn_length_ = 1 + generator_() % (2 * quantum_ - 1);
    }

    // At a check point of the thread `holder` (registration index), which
    // has run `since_taken` instructions since it took the GIL; `step` is
    // the number of instructions run in all, by every thread.
    [[nodiscard]] Decision at_check_point(std::size_t holder, std::uint64_t since_taken,
                                          std::uint64_t step) const {
        switch (kind_) {
            case Kind::timed:
                return {};
            case Kind::every:
                return {since_taken >= quantum_, std::nullopt};
            case Kind::seeded:
                return {since_taken >= turn_length_, std::nullopt};
            case Kind::explicit_order:
                if (step >= owners_.size() || owners_[step] == holder) return {};
                return {true, owners_[step]};
        }
        return {};
    }

private:
    explicit Schedule(Kind kind) : kind_(kind) {}

    Kind kind_;
    std::uint64_t quantum_ = 0;      // every: K; seeded: the mean
    std::uint64_t turn_length_ = 0;  // seeded: this turn's length
    std::mt19937_64 generator_;
    std::vector<std::size_t> owners_;  // explicit_order: who runs instruction i
};

}  // namespace pyconc::runtime
