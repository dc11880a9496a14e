#pragma once
// The interpreter (PyInterpreterState): what one Python process runs on.
//
// How this works
// - It owns the object heap (heap.hpp): the small-object allocator and the
//   cyclic collector. Constructing an Interpreter makes its heap current on
//   this thread, so `make<T>()` allocates there, and `gc()` is the gc module.
// - It owns the GIL (gil.hpp), the module globals (a dict, as a module's
//   __dict__ is) and the check-point policy its threads run under (set it,
//   and the schedule, before the threads are made).
// - Its threads run one way (attachment.hpp), decided by the GIL mode and
//   the schedule; these are all the legal combinations:
//     GilMode::enabled,  Schedule::timed()   on the GIL (CPython's, the default)
//     GilMode::enabled,  deterministic       in turns (turns.hpp: tests, the explorer)
//     GilMode::disabled, Schedule::timed()   in the world (free threading)
//   A deterministic schedule orders turns at a GIL: set on an interpreter
//   without one, it is a fatal error.
// - It may carry a GIL trace (trace.hpp): set it before the threads are
//   made; they record their GIL transitions into it.
// - `shutdown()` is Py_FinalizeEx for the heap: the globals are cleared and
//   a last full collection frees the cycles still alive. It runs again,
//   quietly, in the destructor.
// - `GilMode::disabled` is the free-threaded build's interpreter (PEP 703,
//   CPython 3.13t with PYTHON_GIL=0): no GIL; threads attach to the World
//   (world.hpp) and run at once, objects are counted with biased reference
//   counts (biased_refcount.hpp), every collection stops the world, and the
//   module globals dict is used under its per-object lock.
// - `Interpreter{profile}` is the interpreter of one CPython version
//   (profile.hpp): its GIL mode, check points, collector thresholds,
//   instance layout and pymalloc's sizes.
//   `Interpreter{}` is 3.12's with the GIL.
// - Refs must not outlive their interpreter: declare the Interpreter before
//   the names that hold objects, so it is destroyed after them.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <utility>

#include "pyconc/runtime/fatal.hpp"
#include "pyconc/runtime/gc.hpp"
#include "pyconc/runtime/gil.hpp"
#include "pyconc/runtime/heap.hpp"
#include "pyconc/runtime/obmalloc.hpp"
#include "pyconc/runtime/profile.hpp"  // CheckPoints
#include "pyconc/runtime/schedule.hpp"
#include "pyconc/runtime/trace.hpp"
#include "pyconc/runtime/turns.hpp"
#include "pyconc/runtime/types.hpp"
#include "pyconc/runtime/world.hpp"

namespace pyconc::runtime {

// Whether the interpreter has a GIL (PYTHON_GIL=1 or 0 on a 3.13t build).
enum class GilMode : unsigned char { enabled, disabled };

// How its threads get to run (attachment.hpp).
enum class WayOfRunning : unsigned char { on_the_gil, in_turns, in_the_world };

class Interpreter {
public:
    explicit Interpreter(GilMode gil_mode = GilMode::enabled) : gil_mode_(gil_mode) {
        if (gil_mode_ == GilMode::disabled) {
            heap_.set_free_threaded(world_);
            (void)globals();  // made now, before threads can race to make it
        }
    }
    // The interpreter of the CPython version `profile` describes.
    explicit Interpreter(const Profile& profile)
        : Interpreter(profile.free_threaded ? GilMode::disabled : GilMode::enabled) {
        check_points_ = profile.check_points;
        heap_.set_instance_dicts(profile.instance_dicts);
        if (profile.pymalloc)
            allocator().set_sizes(profile.pymalloc->arena_bytes, profile.pymalloc->pool_bytes);
        const auto& [threshold0, threshold1, threshold2] = profile.gc_threshold;
        gc().set_threshold(threshold0, threshold1, threshold2);
        if (profile.gc_memory_check_start_kib != 0) {
            gc().defer_until_memory_grows([this, start = profile.gc_memory_check_start_kib] {
                return start + allocator().bytes_in_use() / 1024;
            });
        }
    }
    Interpreter(const Interpreter&) = delete;
    Interpreter& operator=(const Interpreter&) = delete;
    ~Interpreter() { shutdown(); }

    [[nodiscard]] Heap& heap() noexcept { return heap_; }
    [[nodiscard]] Gc& gc() noexcept { return heap_.gc(); }
    [[nodiscard]] Obmalloc& allocator() noexcept { return heap_.allocator(); }
    // The GIL (CPython's timed one): its switch interval and counters.
    [[nodiscard]] Gil& gil() noexcept { return gil_; }
    [[nodiscard]] GilMode gil_mode() const noexcept { return gil_mode_; }
    [[nodiscard]] bool free_threaded() const noexcept { return gil_mode_ == GilMode::disabled; }
    // The free-threaded mode's attached threads and stop-the-world pauses.
    [[nodiscard]] World& world() noexcept { return world_; }
    // The module's globals, made on first use.
    [[nodiscard]] Dict& globals() {
        if (!globals_) [[unlikely]]
            make_globals();
        return *globals_;
    }
    // Who runs next: Schedule::timed() (CPython, the default) or a
    // deterministic schedule, whose turns then hand the GIL on. Set it
    // before the threads are made.
    void set_schedule(Schedule schedule) {
        if (!schedule.deterministic()) {
            turns_.reset();
            return;
        }
        if (free_threaded()) {
            fatal("Interpreter::set_schedule",
                  "a deterministic schedule orders turns at the GIL: this interpreter has none");
        }
        turns_.emplace(std::move(schedule));
    }
    [[nodiscard]] WayOfRunning way_of_running() const noexcept {
        if (free_threaded()) return WayOfRunning::in_the_world;
        return turns_ ? WayOfRunning::in_turns : WayOfRunning::on_the_gil;
    }
    [[nodiscard]] bool deterministic() const noexcept { return turns_.has_value(); }
    // The deterministic schedule's GIL; only when deterministic().
    [[nodiscard]] Turns& turns() {
        if (!turns_) fatal("Interpreter::turns", "this interpreter runs no deterministic schedule");
        return *turns_;
    }
    // The times the GIL went to a different thread than the one that held
    // it last: the GIL's, or the turns' (0 in the world: there is no GIL).
    [[nodiscard]] std::uint64_t switch_number() const {
        return turns_ ? turns_->switch_number() : gil_.switch_number();
    }
    [[nodiscard]] CheckPoints check_points() const noexcept { return check_points_; }
    void set_check_points(CheckPoints policy) noexcept { check_points_ = policy; }
    // The GIL trace, or null (the default): not owned.
    [[nodiscard]] Trace* trace() const noexcept { return trace_; }
    void set_trace(Trace* trace) noexcept { trace_ = trace; }

    // The final collection; returns how many objects it found unreachable.
    std::size_t shutdown() {
        if (globals_) {
            globals_->clear();
            globals_.reset();
        }
        return heap_.shutdown();
    }

private:
    // Out of line: LOAD_GLOBAL and STORE_GLOBAL inline the test above. On
    // this interpreter's heap, whichever is current (another interpreter's
    // thread may be the first to ask: concurrent.interpreters).
    [[gnu::noinline]] void make_globals() {
        const Heap::Attach own{heap_};
        globals_ = make<Dict>();
    }

    Heap heap_;  // first: destroyed last, after every Ref below
    Ref<Dict> globals_;
    Gil gil_;
    std::optional<Turns> turns_;  // with a deterministic schedule
    World world_;
    GilMode gil_mode_;
    CheckPoints check_points_ = CheckPoints::py310;
    Trace* trace_ = nullptr;
};

}  // namespace pyconc::runtime
