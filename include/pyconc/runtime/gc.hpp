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
//                        (a full collection does both in one pass)
//     move_unreachable   gc_refs > 0 means referenced from outside: reachable,
//                        and so is everything it reaches; the rest is not.
//                        A tuple (and, in a full collection, a dict) that
//                        holds no tracked container is untracked on the way
//     survivors move one generation up
//     finalize_garbage   each unreachable object's __del__, at most once
//     handle_resurrected the same analysis again: what a finalizer made
//                        reachable survives, with all it reaches (skipped
//                        when no finalizer ran: nothing can have changed)
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
//   `collecting_` (gcstate->collecting) says a collection is under way; it
//   is taken first, before anything else, so that gc.collect() from a
//   finalizer, or from another thread meanwhile, returns 0 at once
//   (gc_collect_main: "Don't start a garbage collection if one is already
//   in progress").
// - In the free-threaded mode (`set_world`) a collection stops the world
//   (world.hpp) only while it reads the counts and rewires the lists, as
//   3.13t's gc_collect_internal does: the finalizers and clear() run with
//   the world started again ("to avoid potential deadlocks": a finalizer may
//   take a lock that another thread holds, start or join a thread, or
//   allocate enough to ask for a collection). Meanwhile the collector holds
//   a reference to each unreachable object, so that no other thread frees
//   one under it; the second analysis does not count that reference. The
//   heap keeps the lists and counts under its mutex whenever the world runs.
// - The free-threaded build's collector (3.13t's Python/gc_free_threading.c)
//   has no generations to choose between: an automatic collection is asked
//   for as generation 0 once count[0] passes threshold[0] and a quarter of
//   the objects that survived the last one (or at once when threshold[1] is
//   0), is counted as generation 0's in the stats and callbacks, and visits
//   the whole heap, as every collection there does. (CPython also adds its
//   threads' allocations to count[0] in batches of 512; the model adds them
//   one by one.) From 3.14 (gh-132917) it also waits for memory: unless
//   40 x threshold[0] containers were deferred since the last collection,
//   one runs only if the process's memory grew by a tenth (128 KiB at least)
//   since then; otherwise count[0] is added to the deferred ones and
//   cleared (`defer_until_memory_grows`: the interpreter says how much
//   memory its CPython would use).
#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <exception>
#include <functional>
#include <mutex>
#include <string_view>
#include <utility>
#include <vector>

#include <fmt/core.h>

#include "pyconc/runtime/detail/object.hpp"
#include "pyconc/runtime/fatal.hpp"
#include "pyconc/runtime/world.hpp"

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
        const Collecting collecting{collecting_};
        if (!collecting.taken()) return 0;
        return collect_with_callback(generation);
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
            for (GcHead* gc = generation.objects.first(); gc != generation.objects.end(); gc = gc->next) {
                gc->frozen = true;
            }
            permanent_.merge(generation.objects);
            generation.count = 0;
        }
    }
    // gc.unfreeze: the permanent generation goes back into the oldest one.
    void unfreeze() noexcept {
        for (GcHead* gc = permanent_.first(); gc != permanent_.end(); gc = gc->next) gc->frozen = false;
        generations_[generations - 1].objects.merge(permanent_);
    }
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
        if (note_container_allocated()) collect_automatically();
    }
    // Its two halves, for a heap that counts under a lock and collects
    // outside it: the count, and whether the thresholds now ask for a
    // collection ...
    [[nodiscard]] bool note_container_allocated() noexcept {
        generations_[0].count += 1;
#ifdef PYCONC_GC_STRESS
        return true;
#endif
        return generations_[0].count > static_cast<std::size_t>(std::max(generations_[0].threshold, 0)) &&
               enabled_ && generations_[0].threshold != 0;
    }
    // ... and the automatic collection (gc_collect_generations).
    void collect_automatically() {
        const Collecting collecting{collecting_};
        if (!collecting.taken()) return;
#ifdef PYCONC_GC_STRESS
        collect_with_callback(0);
#else
        if (whole_heap()) {
            collect_whole_heap_if_due();
        } else {
            collect_generations();
        }
#endif
    }

    // The free-threaded mode's: a collection stops the world (world.hpp)
    // while it reads counts and rewires the lists, and takes `lists` (the
    // heap's mutex, which other threads hold to track and untrack) for the
    // lists while the world runs. Null (the default): the GIL is enough.
    void set_world(World* world, std::mutex* lists) noexcept {
        world_ = world;
        lists_ = lists;
    }

    // gh-132917's check, for a free-threaded 3.14: `memory_kib` is what
    // get_process_mem_usage() would read (the interpreter's estimate).
    void defer_until_memory_grows(std::function<std::size_t()> memory_kib) {
        memory_kib_ = std::move(memory_kib);
        last_memory_kib_ = 0;  // as CPython's: the first check always passes
    }
    // Automatic collections deferred for want of memory growth (for lessons).
    [[nodiscard]] std::size_t deferred_checks() const noexcept {
        return deferred_checks_;
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

    // Taking `collecting_`: the first collection takes it, and any other
    // (a finalizer's, another thread's) finds it taken. acq_rel: a
    // collection that follows another sees what that one wrote.
    class Collecting {
    public:
        explicit Collecting(std::atomic<bool>& flag) noexcept
            : flag_(flag), taken_(!flag.exchange(true, std::memory_order_acq_rel)) {}
        Collecting(const Collecting&) = delete;
        Collecting& operator=(const Collecting&) = delete;
        ~Collecting() {
            if (taken_) flag_.store(false, std::memory_order_release);
        }
        [[nodiscard]] bool taken() const noexcept { return taken_; }

    private:
        std::atomic<bool>& flag_;
        bool taken_;
    };

    // Every collection visits the whole heap: the free-threaded build's.
    [[nodiscard]] bool whole_heap() const noexcept {
        return world_ != nullptr;
    }

    // gc_should_collect, free-threaded: past threshold[0], and past a quarter
    // of the long-lived objects unless threshold[1] is 0. (Read under the
    // lists' lock: other threads count their allocations meanwhile.)
    void collect_whole_heap_if_due() {
        bool due = false;
        {
            const std::lock_guard lock{*lists_};
            if (generations_[1].threshold == 0) {
                due = true;
            } else {
                due = generations_[0].count >= long_lived_total_ / 4 && memory_has_grown();
            }
        }
        if (due) collect_with_callback(0);
    }

    // gc_should_collect_mem_usage (3.14, free-threaded), under the lists'
    // lock. Without an estimate (3.13t's collector), always.
    bool memory_has_grown() {
        if (!memory_kib_) return true;
        const auto threshold = static_cast<std::size_t>(std::max(generations_[0].threshold, 0));
        if (deferred_ > threshold * 40) return true;  // "older versions ... every 70,000 new containers"
        const std::size_t now = memory_kib_();
        if (now > last_memory_kib_ + std::max<std::size_t>(last_memory_kib_ / 10, 128)) return true;
        deferred_ += generations_[0].count;  // not yet: defer, and look again 2000 containers on
        generations_[0].count = 0;
        deferred_checks_ += 1;
        return false;
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
        if (whole_heap()) return collect_main_free_threaded(generation);
        const auto g = static_cast<std::size_t>(generation);
        GcList& young = merge_younger_generations(g);
        GcList& old = g + 1 < generations ? generations_[g + 1].objects : young;
        const bool full = &young == &old;

        GcList unreachable;
        Garbage garbage;
        compute_gc_refs(young, full);
        const std::size_t survivors =
            move_unreachable(young, unreachable, full ? Untrack::tuples_and_dicts : Untrack::tuples, garbage);
        promote_survivors(young, old, g, survivors);

        if (garbage.finalizers_pending == 0) {
            // No finalizer will run, so nothing can be resurrected: the
            // second analysis would find exactly the same garbage.
            delete_garbage(unreachable, old);
            return garbage.count;
        }
        unmark(unreachable);
        finalize_garbage(unreachable);
        GcList still_unreachable;
        const std::size_t collected = handle_resurrected_objects(unreachable, still_unreachable, old);
        delete_garbage(still_unreachable, old);
        return collected;
    }

    // gc_collect_internal (Python/gc_free_threading.c): the same phases, with
    // the world stopped for the two analyses only. Between them, and after,
    // the world runs; the collector's reference to each unreachable object
    // (`held`) keeps every one of them alive until delete_held_garbage.
    std::size_t collect_main_free_threaded(int generation) {
        GcList unreachable;
        Garbage garbage;
        std::vector<Ref<Container>> held;
        {
            const World::Stopped stopped{world_};
            GcList& heap = merge_younger_generations(static_cast<std::size_t>(generation));
            compute_gc_refs(heap, true);
            const std::size_t survivors =
                move_unreachable(heap, unreachable, Untrack::tuples_and_dicts, garbage);
            promote_survivors(heap, heap, static_cast<std::size_t>(generation), survivors);
            for (GcHead* gc = unreachable.first(); gc != unreachable.end(); gc = gc->next)
                held.push_back(Ref<Container>::new_ref(container(gc)));
        }
        if (garbage.finalizers_pending == 0) {  // nothing can be resurrected
            delete_held_garbage(unreachable, held);
            note_memory_after_collection();
            return garbage.count;
        }
        unmark(unreachable);
        finalize_garbage(unreachable);  // the world runs: "to avoid potential deadlocks"
        GcList still_unreachable;
        std::size_t collected = 0;
        {
            const World::Stopped stopped{world_};
            collected = handle_resurrected_objects(unreachable, still_unreachable,
                                                   generations_[generations - 1].objects, held_by_collector);
        }
        delete_held_garbage(still_unreachable, held);
        note_memory_after_collection();
        return collected;
    }

    // What gc_collect_internal stores after breaking the cycles, and the
    // deferred count it clears with count[0].
    void note_memory_after_collection() {
        if (!memory_kib_) return;
        const std::lock_guard lock{*lists_};
        last_memory_kib_ = memory_kib_();
        deferred_ = 0;
    }

    // Collecting generation g: count[g + 1] += 1, count[0..g] = 0, and the
    // younger generations' objects join g's, which is returned.
    // The whole-heap collector counts as generation g's collection and
    // gathers every generation's objects (they stay in the oldest list).
    GcList& merge_younger_generations(std::size_t g) {
        if (g + 1 < generations) generations_[g + 1].count += 1;
        for (std::size_t i = 0; i <= g; ++i) generations_[i].count = 0;
        const std::size_t into = whole_heap() ? generations - 1 : g;
        for (std::size_t i = 0; i < into; ++i) generations_[into].objects.merge(generations_[i].objects);
        return generations_[into].objects;
    }

    // update_refs, then subtract_refs: gc_refs ends as the references from
    // outside the set (one pass for a full collection).
    static void compute_gc_refs(GcList& young, bool full) {
        if (full) {
            update_and_subtract_refs(young);
            return;
        }
        update_refs(young);
        subtract_refs(young);
    }

    // The survivors move one generation up (a full collection's stay), and
    // the long-lived counts that decide the next full collection follow.
    void promote_survivors(GcList& young, GcList& old, std::size_t g, std::size_t survivors) {
        if (&young == &old) {
            long_lived_pending_ = 0;
            long_lived_total_ = survivors;
            return;
        }
        if (g == generations - 2) long_lived_pending_ += survivors;
        old.merge(young);
    }

    // What move_unreachable may stop tracking as it goes: tuples always,
    // dicts only in full collections (untrack_tuples, untrack_dicts).
    enum class Untrack : unsigned char { nothing, tuples, tuples_and_dicts };

    // What move_unreachable found: how many objects are garbage, and how many
    // of them have a finalizer that has yet to run.
    struct Garbage {
        std::size_t count = 0;
        std::size_t finalizers_pending = 0;

        void add(const Container& op) noexcept {
            count += 1;
            if (!op.finalized && op.has_finalizer()) finalizers_pending += 1;
        }
        void remove(const Container& op) noexcept {
            count -= 1;
            if (!op.finalized && op.has_finalizer()) finalizers_pending -= 1;
        }
    };

    // update_refs, subtract_refs, move_unreachable: after it, `base` holds the
    // objects reachable from outside it and `unreachable` the rest, counted
    // in `garbage`. Returns how many stayed in `base`.
    static std::size_t deduce_unreachable(GcList& base, GcList& unreachable, Untrack untrack,
                                          Garbage& garbage, int held = 0) {
        update_refs(base, held);
        subtract_refs(base);
        return move_unreachable(base, unreachable, untrack, garbage);
    }

    // `held`: references the collector itself holds to each object, which
    // say nothing of what the program can reach.
    static void update_refs(GcList& base, int held = 0) {
        for (GcHead* gc = base.first(); gc != base.end(); gc = gc->next)
            start_counting(*gc, container(gc), held);
    }

    // visit_decref: a reference from inside the set explains one count.
    struct SubtractInternalReference final : Visitor {
        GcHead* referrer = nullptr;  // the object being traversed
        void visit(Object& referent) override {
            if (!referent.is_gc()) return;
            GcHead& gc = static_cast<Container&>(referent).gc_head();
            if (!gc.collecting) return;
            gc.gc_refs -= 1;
            referrer->refers_to_set = true;
        }
    };

    static void subtract_refs(GcList& base) {
        SubtractInternalReference visitor;
        for (GcHead* gc = base.first(); gc != base.end(); gc = gc->next) {
            Container& op = container(gc);
            visitor.referrer = gc;
            gc->refers_to_set = false;
            if (gc->may_hold_containers) op.traverse(visitor);
        }
    }

    // update_refs for one object: gc_refs starts at its reference count, and
    // it is marked as in the set being collected.
    static void start_counting(GcHead& gc, const Container& op, int held = 0) noexcept {
        if (op.refcount() - held <= 0) fatal("update_refs", "a tracked object has a reference count of 0");
        gc.gc_refs = static_cast<std::uint32_t>(op.refcount() - held);
        gc.collecting = true;
    }
    // update_refs and subtract_refs in one pass, for a full collection: then
    // every tracked container that is not frozen is in the set, so an object
    // can get its gc_refs the first time the pass meets it, as the object
    // walked or as a referent, and the separate update_refs walk (one more
    // trip through memory for every object) is not needed.
    struct SubtractInternalReferenceFull final : Visitor {
        GcHead* referrer = nullptr;  // the object being traversed
        void visit(Object& referent) override {
            if (!referent.is_gc()) return;
            auto& op = static_cast<Container&>(referent);
            GcHead& gc = op.gc_head();
            if (!op.is_tracked() || gc.frozen) return;
            if (!gc.collecting) start_counting(gc, op);
            gc.gc_refs -= 1;
            referrer->refers_to_set = true;
        }
    };
    static void update_and_subtract_refs(GcList& base) {
        SubtractInternalReferenceFull visitor;
        for (GcHead* gc = base.first(); gc != base.end(); gc = gc->next) {
            Container& op = container(gc);
            if (!gc->collecting) start_counting(*gc, op);
            visitor.referrer = gc;
            gc->refers_to_set = false;
            if (gc->may_hold_containers) op.traverse(visitor);
        }
    }

    // visit_reachable: what a reachable object refers to is reachable too.
    // An object already judged unreachable goes back to the end of `young`,
    // so that the scan reaches it again; one not scanned yet gets gc_refs 1,
    // so that the scan keeps it.
    struct MarkReachable final : Visitor {
        GcList& young;
        Garbage& garbage;
        MarkReachable(GcList& young_list, Garbage& found) : young(young_list), garbage(found) {}
        void visit(Object& referent) override {
            if (!referent.is_gc()) return;
            auto& op = static_cast<Container&>(referent);
            GcHead& gc = op.gc_head();
            if (!gc.collecting) return;  // outside the set, or already known reachable
            if (gc.unreachable) {
                gc.unreachable = false;
                GcList::move(gc, young);
                gc.gc_refs = 1;
                garbage.remove(op);
            } else if (gc.gc_refs == 0) {
                gc.gc_refs = 1;
            }
        }
    };

    // Reachable objects stay in `young` (a tuple or dict that holds no
    // tracked container leaves it: untracked, as untrack_tuples and
    // untrack_dicts do after this pass in CPython); the others move to
    // `unreachable`, marked, and are counted in `garbage`. Returns how many
    // stayed.
    static std::size_t move_unreachable(GcList& young, GcList& unreachable, Untrack untrack,
                                        Garbage& garbage) {
        MarkReachable mark_reachable{young, garbage};
        std::size_t reachable = 0;
        GcHead* gc = young.first();
        while (gc != young.end()) {
            if (gc->gc_refs > 0) {
                Container& op = container(gc);
                if (gc->refers_to_set)
                    op.traverse(mark_reachable);  // may append to young: read next after it
                gc->collecting = false;
                GcHead* const next = gc->next;
                if (untrack != Untrack::nothing && gc->may_untrack_kind &&
                    op.may_untrack(untrack == Untrack::tuples_and_dicts)) {
                    GcList::remove(*gc);
                } else {
                    ++reachable;
                }
                gc = next;
            } else {
                GcHead* const next = gc->next;
                GcList::move(*gc, unreachable);  // tentatively
                gc->unreachable = true;
                garbage.add(container(gc));
                gc = next;
            }
        }
        return reachable;
    }

    // The end of move_unreachable's marking, before finalizers run and the
    // analysis runs again (move_legacy_finalizers clears it in CPython).
    static void unmark(GcList& unreachable) noexcept {
        for (GcHead* gc = unreachable.first(); gc != unreachable.end(); gc = gc->next)
            gc->unreachable = false;
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
    // Returns how many objects are still garbage.
    static std::size_t handle_resurrected_objects(GcList& unreachable, GcList& still_unreachable, GcList& old,
                                                  int held = 0) {
        for (GcHead* gc = unreachable.first(); gc != unreachable.end(); gc = gc->next) gc->collecting = false;
        Garbage garbage;
        (void)deduce_unreachable(unreachable, still_unreachable, Untrack::nothing, garbage, held);
        old.merge(unreachable);  // the resurrected
        return garbage.count;
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
                gc->unreachable = false;
                GcList::move(*gc, old);
            }
        }
    }

    // delete_garbage, free-threaded, with the world running: clear() each
    // object (the collector's reference keeps each alive through all the
    // clears), give them all to the old generation (under the lists' lock:
    // other threads track and untrack meanwhile), then drop the collector's
    // references, which free them.
    void delete_held_garbage(GcList& collectable, std::vector<Ref<Container>>& held) {
        for (GcHead* gc = collectable.first(); gc != collectable.end(); gc = gc->next) container(gc).clear();
        {
            const std::lock_guard lock{*lists_};
            for (GcHead* gc = collectable.first(); gc != collectable.end(); gc = gc->next) {
                gc->collecting = false;
                gc->unreachable = false;
            }
            generations_[generations - 1].objects.merge(collectable);
        }
        held.clear();
    }

    static constexpr int held_by_collector = 1;  // collect_main_free_threaded's reference to each

    std::array<Generation, generations> generations_{
        Generation{{}, default_thresholds[0], 0},
        Generation{{}, default_thresholds[1], 0},
        Generation{{}, default_thresholds[2], 0},
    };
    GcList permanent_;
    std::array<GenerationStats, generations> stats_{};
    std::vector<Callback> callbacks_;
    std::size_t long_lived_total_ = 0;         // survivors of the last full collection
    std::size_t long_lived_pending_ = 0;       // survivors of middle collections since then
    std::function<std::size_t()> memory_kib_;  // gh-132917's estimate, or empty (no such check)
    std::size_t last_memory_kib_ = 0;          // after the last collection
    std::size_t deferred_ = 0;                 // containers counted since, in deferred checks
    std::size_t deferred_checks_ = 0;
    bool enabled_ = true;
    std::atomic<bool> collecting_{false};  // gcstate->collecting: see Collecting
    World* world_ = nullptr;               // the free-threaded mode's
    std::mutex* lists_ = nullptr;          // the free-threaded mode's: the heap's mutex
};

}  // namespace pyconc::runtime

// What a decref to 0 calls (detail::dealloc) is defined with the heap, which
// needs this header's body complete: so it comes after it.
#include "pyconc/runtime/heap.hpp"  // IWYU pragma: export
