#pragma once
// The cyclic garbage collector, with the semantics of CPython 3.12's
// Modules/gcmodule.c (see also InternalDocs/garbage_collector.md).
//
// How this works
// - Reference counting frees everything except cycles. The collector finds
//   the containers that are only referenced from inside a group of
//   containers: nothing outside can reach them, so they are garbage.
// - Tracked containers live on one of three generation lists. New ones go to
//   generation 0; a container that survives a collection moves one
//   generation up. `gc.freeze()` moves everything to a permanent generation
//   that is never collected.
// - `count[0]` grows by one for each container allocated and shrinks by one
//   for each freed (never below 0). Once `count[0] > threshold[0]` (700), the
//   next allocation runs an automatic collection of the oldest generation i
//   with `count[i] > threshold[i]` (thresholds 700, 10, 10), except that
//   generation 2 is skipped while `long_lived_pending < long_lived_total / 4`
//   (a full collection only when a quarter of the long-lived objects are new
//   since the last one). Collecting generation i adds 1 to count[i + 1] and
//   zeroes count[0..i]. CPython 3.12 runs it at the next eval-breaker check
//   rather than inside the allocation; here it runs inside, before the new
//   container is tracked. `disable()` stops automatic collections only.
// - One collection, `collect_main(generation)`, reads as its phases:
//     merge younger generations into the one collected
//     update_refs        gc_refs = the reference count, for each object
//     subtract_refs      minus one for each reference from inside the set
//     move_unreachable   gc_refs > 0 means referenced from outside: reachable,
//                        and so is everything it reaches; the rest is not
//     survivors move one generation up
//     finalize_garbage   each unreachable object's __del__, at most once
//     handle_resurrected the same analysis again: what a finalizer made
//                        reachable survives, with all it reaches
//     delete_garbage     clear() each one, breaking the cycles; the
//                        reference counts then free them
//   and returns how many objects it found unreachable and freed, which is
//   what gc.collect() returns.
// - Compile-time switches: PYCONC_GC_TRACE prints one line per collection on
//   stderr (like gc.set_debug(gc.DEBUG_STATS)); PYCONC_GC_STRESS runs a
//   collection of generation 0 at every container allocation, whatever the
//   thresholds say (clox's DEBUG_STRESS_GC), to shake out a missing
//   reference or traverse.
// - Not thread-safe: like CPython's collector, it runs with the GIL held.
#include <algorithm>
#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <exception>
#include <functional>
#include <string_view>
#include <utility>
#include <vector>

#include <fmt/core.h>

#include "pyconc/runtime/fatal.hpp"
#include "pyconc/runtime/object.hpp"

namespace pyconc::runtime {

namespace detail {

// A list of containers: a circular doubly-linked ring through a sentinel.
class GcList {
public:
    GcList() noexcept { head_.next = head_.prev = &head_; }
    GcList(const GcList&) = delete;
    GcList& operator=(const GcList&) = delete;

    [[nodiscard]] bool empty() const noexcept { return head_.next == &head_; }
    [[nodiscard]] GcHead* first() noexcept { return head_.next; }
    [[nodiscard]] GcHead* end() noexcept { return &head_; }

    [[nodiscard]] std::size_t size() const noexcept {
        std::size_t n = 0;
        for (const GcHead* gc = head_.next; gc != &head_; gc = gc->next) ++n;
        return n;
    }

    void append(GcHead& gc) noexcept {
        gc.prev = head_.prev;
        gc.next = &head_;
        head_.prev->next = &gc;
        head_.prev = &gc;
    }

    static void remove(GcHead& gc) noexcept {
        gc.prev->next = gc.next;
        gc.next->prev = gc.prev;
        gc.next = gc.prev = nullptr;
    }

    // gc_list_move
    static void move(GcHead& gc, GcList& to) noexcept {
        gc.prev->next = gc.next;
        gc.next->prev = gc.prev;
        to.append(gc);
    }

    // gc_list_merge: appends all of `from` to this list, leaving `from` empty.
    void merge(GcList& from) noexcept {
        if (from.empty()) return;
        GcHead* const tail = head_.prev;
        tail->next = from.head_.next;
        tail->next->prev = tail;
        head_.prev = from.head_.prev;
        head_.prev->next = &head_;
        from.head_.next = from.head_.prev = &from.head_;
    }

private:
    GcHead head_;
};

}  // namespace detail

class Gc {
public:
    static constexpr int generations = 3;  // NUM_GENERATIONS
    static constexpr std::array<int, generations> default_thresholds{700, 10, 10};

    // One entry of gc.get_stats(), plus the pauses the model measures.
    struct GenerationStats {
        std::size_t collections = 0;
        std::size_t collected = 0;
        std::size_t uncollectable = 0;  // always 0: the model has no legacy tp_del
        std::chrono::nanoseconds total_pause{0};
        std::chrono::nanoseconds longest_pause{0};
    };

    // What gc.callbacks receive: phase "start" or "stop", and the info dict.
    enum class Phase : unsigned char { start, stop };
    struct CallbackInfo {
        int generation = 0;
        std::size_t collected = 0;
        std::size_t uncollectable = 0;
        std::chrono::nanoseconds pause{0};  // "stop" only: the model's measurement
    };
    using Callback = std::function<void(Phase, const CallbackInfo&)>;

    Gc() = default;
    Gc(const Gc&) = delete;
    Gc& operator=(const Gc&) = delete;

    // --- the gc module -------------------------------------------------------

    // gc.collect(generation): collects that generation and all younger ones;
    // returns the number of unreachable objects found (and freed). 0 when a
    // collection is already running, as CPython does.
    std::size_t collect(int generation = generations - 1) {
        if (generation < 0 || generation >= generations) {
            fatal("gc.collect", "invalid generation: expected 0, 1 or 2");
        }
        if (collecting_) return 0;
        collecting_ = true;
        const std::size_t found = collect_with_callback(generation);
        collecting_ = false;
        return found;
    }

    void enable() noexcept { enabled_ = true; }
    void disable() noexcept { enabled_ = false; }
    [[nodiscard]] bool is_enabled() const noexcept { return enabled_; }

    [[nodiscard]] std::array<std::size_t, generations> get_count() const noexcept {
        return {generations_[0].count, generations_[1].count, generations_[2].count};
    }
    [[nodiscard]] std::array<int, generations> get_threshold() const noexcept {
        return {generations_[0].threshold, generations_[1].threshold, generations_[2].threshold};
    }
    // gc.set_threshold: threshold0 of 0 disables automatic collection.
    void set_threshold(int threshold0, int threshold1, int threshold2) noexcept {
        generations_[0].threshold = threshold0;
        generations_[1].threshold = threshold1;
        generations_[2].threshold = threshold2;
    }

    [[nodiscard]] const std::array<GenerationStats, generations>& get_stats() const noexcept {
        return stats_;
    }

    // gc.callbacks.append / .clear
    void add_callback(Callback callback) { callbacks_.push_back(std::move(callback)); }
    void clear_callbacks() noexcept { callbacks_.clear(); }

    // gc.freeze: every tracked container moves to the permanent generation,
    // which collections ignore; the counts restart from 0.
    void freeze() noexcept {
        for (Generation& generation : generations_) {
            permanent_.merge(generation.objects);
            generation.count = 0;
        }
    }
    // gc.unfreeze: the permanent generation goes back into the oldest one.
    void unfreeze() noexcept { generations_[generations - 1].objects.merge(permanent_); }
    [[nodiscard]] std::size_t get_freeze_count() const noexcept { return permanent_.size(); }

    // How many containers each generation holds now (len(gc.get_objects(i))).
    [[nodiscard]] std::size_t objects_in(int generation) const {
        return generations_.at(static_cast<std::size_t>(generation)).objects.size();
    }

    // Every tracked container (gc.get_objects()), youngest generation first.
    template <class F>
    void for_each_tracked(F&& f) {
        for (Generation& generation : generations_) for_each_in(generation.objects, f);
        for_each_in(permanent_, f);
    }

    // --- what the heap calls -------------------------------------------------

    // _PyObject_GC_Link: a container is being allocated. May collect.
    void container_allocated() {
        generations_[0].count += 1;
#ifdef PYCONC_GC_STRESS
        if (!collecting_) {
            collecting_ = true;
            collect_with_callback(0);
            collecting_ = false;
        }
        return;
#endif
        if (generations_[0].count > static_cast<std::size_t>(std::max(generations_[0].threshold, 0)) &&
            enabled_ && generations_[0].threshold != 0 && !collecting_) {
            collecting_ = true;
            collect_generations();
            collecting_ = false;
        }
    }

    // PyObject_GC_Del: a container is being freed.
    void container_freed() noexcept {
        if (generations_[0].count > 0) generations_[0].count -= 1;
    }

    // PyObject_GC_Track / UnTrack.
    void track(Container& op) noexcept {
        if (op.is_tracked()) fatal("PyObject_GC_Track", "object already tracked by the garbage collector");
        generations_[0].objects.append(op.gc_head());
    }
    void untrack(Container& op) noexcept {
        if (op.is_tracked()) detail::GcList::remove(op.gc_head());
    }

    // Runs a container's finalizer if it has one and it has not run yet.
    // An exception from it is reported and ignored, as CPython prints
    // "Exception ignored in: <function ...__del__>".
    static void finalize_once(Container& op) noexcept {
        if (op.finalized || !op.has_finalizer()) return;
        op.finalized = true;
        try {
            op.finalize();
        } catch (const std::exception& error) {
            fmt::print(stderr, "Exception ignored in: <{} finalizer>: {}\n", op.type_name(), error.what());
        }
    }

private:
    using GcHead = detail::GcHead;
    using GcList = detail::GcList;

    struct Generation {
        GcList objects;
        int threshold = 0;
        std::size_t count = 0;
    };

    static Container& container(GcHead* gc) noexcept {
        return Container::from_gc_head(*gc);
    }

    template <class F>
    static void for_each_in(GcList& list, F& f) {
        for (GcHead* gc = list.first(); gc != list.end(); gc = gc->next) f(container(gc));
    }

    // gc_collect_generations: the automatic choice of generation.
    void collect_generations() {
        for (int i = generations - 1; i >= 0; --i) {
            const Generation& generation = generations_[static_cast<std::size_t>(i)];
            if (generation.count <= static_cast<std::size_t>(std::max(generation.threshold, 0))) continue;
            // Avoid quadratic behaviour: a full collection only when the
            // objects that survived a middle collection since the last full
            // one are at least 25% of the long-lived ones (bpo-4074).
            if (i == generations - 1 && long_lived_pending_ < long_lived_total_ / 4) continue;
            collect_with_callback(i);
            break;
        }
    }

    std::size_t collect_with_callback(int generation) {
        invoke_callbacks(Phase::start, CallbackInfo{generation, 0, 0, {}});
        const auto started = std::chrono::steady_clock::now();
        const std::size_t collected = collect_main(generation);
        const auto pause = std::chrono::steady_clock::now() - started;
        GenerationStats& stats = stats_[static_cast<std::size_t>(generation)];
        stats.collections += 1;
        stats.collected += collected;
        stats.total_pause += pause;
        stats.longest_pause = std::max<std::chrono::nanoseconds>(stats.longest_pause, pause);
#ifdef PYCONC_GC_TRACE
        fmt::print(stderr, "gc: generation {}: {} unreachable, counts {} {} {}, {:.3f} ms\n", generation,
                   collected, generations_[0].count, generations_[1].count, generations_[2].count,
                   std::chrono::duration<double, std::milli>(pause).count());
#endif
        invoke_callbacks(Phase::stop, CallbackInfo{generation, collected, 0, pause});
        return collected;
    }

    void invoke_callbacks(Phase phase, const CallbackInfo& info) {
        for (const Callback& callback : callbacks_) callback(phase, info);
    }

    // gc_collect_main: one collection, phase by phase.
    std::size_t collect_main(int generation) {
        const auto g = static_cast<std::size_t>(generation);
        if (g + 1 < generations) generations_[g + 1].count += 1;
        for (std::size_t i = 0; i <= g; ++i) generations_[i].count = 0;
        for (std::size_t i = 0; i < g; ++i) generations_[g].objects.merge(generations_[i].objects);
        GcList& young = generations_[g].objects;
        GcList& old = g + 1 < generations ? generations_[g + 1].objects : young;

        GcList unreachable;
        std::size_t survivors = deduce_unreachable(young, unreachable);
        survivors -= untrack_tuples_and_dicts(young, /*dicts too:*/ &young == &old);
        if (&young != &old) {
            if (g == generations - 2) long_lived_pending_ += survivors;
            old.merge(young);
        } else {
            long_lived_pending_ = 0;
            long_lived_total_ = survivors;
        }

        finalize_garbage(unreachable);
        GcList still_unreachable;
        handle_resurrected_objects(unreachable, still_unreachable, old);
        const std::size_t collected = still_unreachable.size();
        delete_garbage(still_unreachable, old);
        return collected;
    }

    // update_refs, subtract_refs, move_unreachable: after it, `base` holds the
    // objects reachable from outside it and `unreachable` the rest. Returns
    // how many stayed in `base`.
    static std::size_t deduce_unreachable(GcList& base, GcList& unreachable) {
        update_refs(base);
        subtract_refs(base);
        return move_unreachable(base, unreachable);
    }

    static void update_refs(GcList& base) {
        for (GcHead* gc = base.first(); gc != base.end(); gc = gc->next) {
            const Container& op = container(gc);
            if (op.refcount() == 0) fatal("update_refs", "a tracked object has a reference count of 0");
            gc->gc_refs = op.refcount();
            gc->collecting = true;
        }
    }

    // visit_decref: a reference from inside the set explains one count.
    struct SubtractInternalReference final : Visitor {
        void visit(Object& referent) override {
            if (!referent.is_gc()) return;
            GcHead& gc = static_cast<Container&>(referent).gc_head();
            if (gc.collecting) gc.gc_refs -= 1;
        }
    };

    static void subtract_refs(GcList& base) {
        SubtractInternalReference visitor;
        for (GcHead* gc = base.first(); gc != base.end(); gc = gc->next) container(gc).traverse(visitor);
    }

    // visit_reachable: what a reachable object refers to is reachable too.
    // An object already judged unreachable goes back to the end of `young`,
    // so that the scan reaches it again; one not scanned yet gets gc_refs 1,
    // so that the scan keeps it.
    struct MarkReachable final : Visitor {
        GcList& young;
        explicit MarkReachable(GcList& young_list) : young(young_list) {}
        void visit(Object& referent) override {
            if (!referent.is_gc()) return;
            GcHead& gc = static_cast<Container&>(referent).gc_head();
            if (!gc.collecting) return;  // outside the set, or already known reachable
            if (gc.unreachable) {
                gc.unreachable = false;
                GcList::move(gc, young);
                gc.gc_refs = 1;
            } else if (gc.gc_refs == 0) {
                gc.gc_refs = 1;
            }
        }
    };

    static std::size_t move_unreachable(GcList& young, GcList& unreachable) {
        MarkReachable mark_reachable{young};
        std::size_t reachable = 0;
        GcHead* gc = young.first();
        while (gc != young.end()) {
            if (gc->gc_refs > 0) {
                container(gc).traverse(mark_reachable);
                gc->collecting = false;
                ++reachable;
                gc = gc->next;
            } else {
                GcHead* const next = gc->next;
                GcList::move(*gc, unreachable);  // tentatively
                gc->unreachable = true;
                gc = next;
            }
        }
        for (gc = unreachable.first(); gc != unreachable.end(); gc = gc->next) gc->unreachable = false;
        return reachable;
    }

    // untrack_tuples / untrack_dicts: a tuple or dict that holds no tracked
    // container can never be part of a cycle; stop tracking it. Dicts only
    // in full collections, to avoid quadratic dict build-up (bpo-14775).
    // Returns how many it untracked.
    static std::size_t untrack_tuples_and_dicts(GcList& young, bool dicts) {
        std::size_t untracked = 0;
        GcHead* gc = young.first();
        while (gc != young.end()) {
            GcHead* const next = gc->next;
            Container& op = container(gc);
            if (op.may_untrack_kind_ && op.may_untrack(dicts)) {
                GcList::remove(*gc);
                ++untracked;
            }
            gc = next;
        }
        return untracked;
    }

    // finalize_garbage: each finalizer at most once. A finalizer may free
    // other objects of the list, so each object moves to `seen` before its
    // finalizer runs, and the loop always takes the list's first object.
    static void finalize_garbage(GcList& collectable) {
        GcList seen;
        while (!collectable.empty()) {
            GcHead* const gc = collectable.first();
            GcList::move(*gc, seen);
            Container& op = container(gc);
            if (!op.finalized && op.has_finalizer()) {
                const Ref<Container> alive = Ref<Container>::new_ref(op);
                finalize_once(op);
            }
        }
        collectable.merge(seen);
    }

    // handle_resurrected_objects: the finalizers may have stored references
    // to some of the garbage. Deduce again; what is reachable now survives.
    static void handle_resurrected_objects(GcList& unreachable, GcList& still_unreachable, GcList& old) {
        for (GcHead* gc = unreachable.first(); gc != unreachable.end(); gc = gc->next) gc->collecting = false;
        (void)deduce_unreachable(unreachable, still_unreachable);
        old.merge(unreachable);  // the resurrected
    }

    // delete_garbage: clear() breaks the cycles and the counts free the
    // objects. One that survives its clear() (something outside still holds
    // it) moves to the old generation.
    static void delete_garbage(GcList& collectable, GcList& old) {
        while (!collectable.empty()) {
            GcHead* const gc = collectable.first();
            Container& op = container(gc);
            {
                const Ref<Container> alive = Ref<Container>::new_ref(op);
                op.clear();
            }
            if (collectable.first() == gc) {  // still alive
                gc->collecting = false;
                GcList::move(*gc, old);
            }
        }
    }

    std::array<Generation, generations> generations_{
        Generation{{}, default_thresholds[0], 0},
        Generation{{}, default_thresholds[1], 0},
        Generation{{}, default_thresholds[2], 0},
    };
    GcList permanent_;
    std::array<GenerationStats, generations> stats_{};
    std::vector<Callback> callbacks_;
    std::size_t long_lived_total_ = 0;    // survivors of the last full collection
    std::size_t long_lived_pending_ = 0;  // survivors of middle collections since then
    bool enabled_ = true;
    bool collecting_ = false;
};

}  // namespace pyconc::runtime
