#pragma once
// How a thread state gets to run Python code: one of three ways, behind the
// one interface a thread state uses (as CPython 3.13 says a thread state
// "attaches" to its interpreter, with or without a GIL).
//
// How this works
// - An interpreter runs all its threads one way (Interpreter::way_of_running,
//   fixed before its first thread state is made):
//     OnTheGil        CPython's GIL (gil.hpp). A waiter asks the holder to
//                     drop it after a switch interval; that drop request is
//                     the eval breaker every thread's check points read.
//     InTurns         the GIL handed on in the turns a deterministic
//                     schedule decides (turns.hpp). The thread reports every
//                     instruction; time never decides, and the eval breaker
//                     is never set.
//     InTheWorld      no GIL (free threading, PEP 703): the thread attaches
//                     to the world (world.hpp) and runs beside the others.
//                     Its eval breaker is its own, set to stop the world for
//                     a collection or when others queued refcounts for it to
//                     merge (biased_refcount.hpp).
// - A thread's life is the same in all three: made (it joins, in creation
//   order), then begin(), then attach() and detach() alternating, starting
//   with attach() (a blocking call, a drop request: a detach() and an
//   attach()), and last detach() after end(). In turns, yield_turn() hands
//   the GIL on and takes it back in one call. Taking the GIL twice or
//   dropping it unheld is a fatal error in each.
// - The check point's fast path is the thread state's: one relaxed load of
//   eval_breaker(). Everything here runs only when it is set, or when the
//   thread attaches, detaches or (in turns) ends an instruction.
#include <atomic>
#include <memory>
#include <optional>

#include "pyconc/runtime/biased_refcount.hpp"
#include "pyconc/runtime/gil.hpp"
#include "pyconc/runtime/heap.hpp"
#include "pyconc/runtime/interpreter.hpp"
#include "pyconc/runtime/turns.hpp"
#include "pyconc/runtime/world.hpp"

namespace pyconc::runtime {

class Attachment {
public:
    using Holder = const void*;  // the thread state

    Attachment(const Attachment&) = delete;
    Attachment& operator=(const Attachment&) = delete;
    virtual ~Attachment() = default;

    // The OS thread starts running as this thread state, and stops for good.
    virtual void begin() {}
    virtual void end() {}
    // Blocks until the thread may run Python code; lets the others run.
    virtual void attach() = 0;
    virtual void detach() = 0;
    // Py_BEGIN_ALLOW_THREADS: about to detach to block (a lock, a sleep, I/O).
    virtual void before_blocking() {}

    // What a check point reads.
    [[nodiscard]] const std::atomic<bool>& eval_breaker() const noexcept { return *eval_breaker_; }
    // _Py_HandlePending, when eval_breaker() was set: does what is this way's
    // own, and says whether the thread must also let the others run (detach
    // and attach again), as the GIL's drop request asks.
    [[nodiscard]] virtual bool serve_eval_breaker() = 0;

    // In turns, the thread reports every instruction: turn_over() says
    // whether its turn is over, and yield_turn() hands the GIL on and waits
    // for the next turn.
    [[nodiscard]] bool reports_every_instruction() const noexcept { return reports_every_instruction_; }
    [[nodiscard]] virtual bool turn_over(bool /*at_check_point*/) { return false; }
    virtual void yield_turn() {}

protected:
    Attachment(const std::atomic<bool>& eval_breaker, bool reports_every_instruction) noexcept
        : eval_breaker_(&eval_breaker), reports_every_instruction_(reports_every_instruction) {}

private:
    const std::atomic<bool>* eval_breaker_;
    bool reports_every_instruction_;
};

class OnTheGil final : public Attachment {
public:
    OnTheGil(Gil& gil, Holder holder) noexcept
        : Attachment(gil.eval_breaker(), false), gil_(gil), holder_(holder) {}

    void attach() override { gil_.take(holder_); }
    void detach() override { gil_.drop(holder_); }
    [[nodiscard]] bool serve_eval_breaker() override { return true; }  // gil_drop_request: drop it

private:
    Gil& gil_;
    Holder holder_;
};

class InTurns final : public Attachment {
public:
    InTurns(Turns& turns, Holder holder) : Attachment(never_set, true), turns_(turns), holder_(holder) {
        turns_.register_thread(holder_);
    }
    ~InTurns() override { turns_.unregister_thread(holder_); }

    // Leaves the rotation before its last drop, so that the turn never goes
    // to a thread that will not come.
    void end() override { turns_.unregister_thread(holder_); }
    void attach() override { turns_.take(holder_); }
    void detach() override { turns_.drop(holder_); }
    void before_blocking() override { turns_.mark_blocked(holder_); }
    [[nodiscard]] bool serve_eval_breaker() override { return false; }
    [[nodiscard]] bool turn_over(bool at_check_point) override {
        return turns_.turn_over(holder_, at_check_point);
    }
    void yield_turn() override { turns_.yield_turn(holder_); }

private:
    static inline const std::atomic<bool> never_set{false};
    Turns& turns_;
    Holder holder_;
};

class InTheWorld final : public Attachment {
public:
    InTheWorld(World& world, Heap& heap) noexcept
        : Attachment(own_eval_breaker_, false), world_(world), heap_(heap) {}

    // Joins the world (its eval breaker is set when the world stops) and
    // takes a heap cache of its own: its freelist, its biased-count owner id.
    void begin() override {
        world_.add_thread(own_eval_breaker_);
        cache_.emplace(heap_, own_eval_breaker_);
    }
    // Merges what others queued for it; its freelist goes back.
    void end() override {
        cache_.reset();
        world_.remove_thread(own_eval_breaker_);
    }
    void attach() override { world_.attach(); }
    void detach() override { world_.detach(); }
    // Merges the refcounts others queued for it, and pauses while the world is stopped.
    [[nodiscard]] bool serve_eval_breaker() override {
        own_eval_breaker_.store(false, std::memory_order_relaxed);
        if (cache_) BiasedRefcounts::instance().merge_queued(cache_->owner());
        world_.pause();
        return false;
    }

private:
    World& world_;
    Heap& heap_;
    std::atomic<bool> own_eval_breaker_{false};  // CPython 3.13 keeps one per thread
    std::optional<Heap::ThreadCache> cache_;     // while the thread runs
};

// The interpreter's way of running, for the thread state `holder`.
[[nodiscard]] inline std::unique_ptr<Attachment> attachment_for(Interpreter& interpreter,
                                                                Attachment::Holder holder) {
    switch (interpreter.way_of_running()) {
        case WayOfRunning::on_the_gil:
            return std::make_unique<OnTheGil>(interpreter.gil(), holder);
        case WayOfRunning::in_turns:
            return std::make_unique<InTurns>(interpreter.turns(), holder);
        case WayOfRunning::in_the_world:
            break;
    }
    return std::make_unique<InTheWorld>(interpreter.world(), interpreter.heap());
}

}  // namespace pyconc::runtime
