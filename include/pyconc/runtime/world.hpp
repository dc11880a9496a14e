#pragma once
// The free-threaded mode's thread states and stop-the-world pauses (CPython
// 3.13t's _PyThreadState_Attach/Detach and _PyEval_StopTheWorld).
//
// How this works
// - With no GIL, a thread that runs model code is *attached*; one that
//   blocks (a sleep, a lock wait: AllowThreads) is *detached* and touches no
//   model object meanwhile. `attach` and `detach` replace taking and
//   dropping the GIL: any number of threads may be attached at once.
// - Some work needs every other thread still: the cyclic collector reads
//   every object's counts and rewires references. `stop()` sets every
//   attached thread's eval breaker and waits until it is the only attached
//   thread: each other thread, at its next check point, detaches (pauses)
//   and waits. A thread that tries to attach while the world is stopped
//   waits too. `start()` lets them all go on.
// - Two threads that both want to stop the world take turns: the second
//   pauses like any other thread until the first has started it again.
// - Each pause is counted and timed, for the lesson.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <vector>

#include "pyconc/runtime/fatal.hpp"

namespace pyconc::runtime {

class World {
public:
    using Breaker = std::atomic<bool>;  // a thread's eval breaker

    World() = default;
    World(const World&) = delete;
    World& operator=(const World&) = delete;

    // A thread joins (its eval breaker will be set when the world stops) or leaves.
    void add_thread(Breaker& breaker) {
        const std::lock_guard lock{mutex_};
        breakers_.push_back(&breaker);
        if (stopped_) breaker.store(true, std::memory_order_relaxed);
    }
    void remove_thread(Breaker& breaker) {
        const std::lock_guard lock{mutex_};
        breakers_.erase(std::remove(breakers_.begin(), breakers_.end(), &breaker), breakers_.end());
    }

    void attach() {
        std::unique_lock lock{mutex_};
        changed_.wait(lock, [&] { return !stopped_; });
        ++attached_;
        attached_here_ = true;
    }
    void detach() {
        {
            const std::lock_guard lock{mutex_};
            if (attached_ == 0) fatal("World::detach", "no thread is attached");
            --attached_;
            attached_here_ = false;
        }
        changed_.notify_all();
    }
    // At a check point whose eval breaker is set: pause while the world is stopped.
    void pause() {
        detach();
        attach();
    }

    // _PyEval_StopTheWorld: returns when no other thread is attached.
    void stop() {
        const Clock::time_point asked = Clock::now();
        std::unique_lock lock{mutex_};
        const bool attached = attached_here_;
        while (stopped_) {  // another thread is stopping it: pause for it
            if (attached) --attached_;
            changed_.notify_all();
            changed_.wait(lock, [&] { return !stopped_; });
            if (attached) ++attached_;
        }
        stopped_ = true;
        for (Breaker* breaker : breakers_) breaker->store(true, std::memory_order_relaxed);
        const std::size_t alone = attached ? 1 : 0;
        changed_.wait(lock, [&] { return attached_ == alone; });
        stopped_at_ = asked;  // the pause counts from the request: the others stop as they reach check points
        ++stops_;
    }
    // _PyEval_StartTheWorld.
    void start() {
        {
            const std::lock_guard lock{mutex_};
            if (!stopped_) fatal("World::start", "the world is not stopped");
            stopped_ = false;
            total_pause_ += Clock::now() - stopped_at_;
        }
        changed_.notify_all();
    }

    // Stops `world` for the guard's life; does nothing when there is no
    // world to stop (an interpreter with a GIL).
    class Stopped {
    public:
        explicit Stopped(World* world) : world_(world) {
            if (world_ != nullptr) world_->stop();
        }
        Stopped(const Stopped&) = delete;
        Stopped& operator=(const Stopped&) = delete;
        ~Stopped() {
            if (world_ != nullptr) world_->start();
        }

    private:
        World* world_;
    };

    [[nodiscard]] std::uint64_t stops() const {
        const std::lock_guard lock{mutex_};
        return stops_;
    }
    [[nodiscard]] std::chrono::nanoseconds total_pause() const {
        const std::lock_guard lock{mutex_};
        return total_pause_;
    }

private:
    using Clock = std::chrono::steady_clock;

    mutable std::mutex mutex_;
    std::condition_variable changed_;
    std::vector<Breaker*> breakers_;
    std::size_t attached_ = 0;
    bool stopped_ = false;
    Clock::time_point stopped_at_{};
    std::uint64_t stops_ = 0;
    std::chrono::nanoseconds total_pause_{0};
    static inline thread_local bool attached_here_ = false;  // this OS thread is attached (to some world)
};

}  // namespace pyconc::runtime
