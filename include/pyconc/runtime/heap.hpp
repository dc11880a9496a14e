#pragma once
// The interpreter's object heap: where model objects are born and freed.
//
// How this works
// - `make<T>(...)` allocates a T with a count of 1 and, if it is a container,
//   tracks it: links it onto `tracked_`, as PyObject_GC_Track puts a new
//   container on generation 0's list. The list is what a collector walks
//   and what shutdown clears.
// - `detail::dealloc` is what a decref to 0 calls (tp_dealloc): run the
//   finalizer once with the object alive again for the call
//   (PyObject_CallFinalizerFromDealloc); if the finalizer resurrected it, stop;
//   otherwise untrack it and delete it, whose destructor drops the references
//   it held.
// - `shutdown()` is Py_FinalizeEx's last word on the heap: every container
//   still tracked is garbage by then (no name refers to it), so each one's
//   finalizer runs, then each is cleared, and the counts free them all. Only
//   cycles can still be there, since everything else was freed at its last
//   decref.
// - One heap is current per thread (`Heap::current()`), as a thread state
//   points at its interpreter; allocating with none is a fatal error.
#include <cstddef>
#include <exception>
#include <utility>
#include <vector>

#include <fmt/core.h>

#include "pyconc/runtime/fatal.hpp"
#include "pyconc/runtime/object.hpp"

namespace pyconc::runtime {

class Heap {
public:
    Heap() noexcept : previous_(current_) {
        tracked_.prev = tracked_.next = &tracked_;
        current_ = this;
    }
    Heap(const Heap&) = delete;
    Heap& operator=(const Heap&) = delete;
    ~Heap() {
        if (live_ != 0) {
            fatal("~Heap", fmt::format("{} object(s) outlived their interpreter: a Ref was kept "
                                       "past shutdown()",
                                       live_));
        }
        current_ = previous_;
    }

    // The heap of the interpreter this thread runs in.
    [[nodiscard]] static Heap& current() {
        if (!current_) {
            fatal("Heap::current",
                  "no interpreter on this thread: create a "
                  "pyconc::runtime::Interpreter first");
        }
        return *current_;
    }

    // Allocates a T(args...) with refcount 1, tracked if it is a container.
    template <class T, class... Args>
    [[nodiscard]] Ref<T> make(Args&&... args) {
        T* op = new T(std::forward<Args>(args)...);
        ++live_;
        if (op->is_container()) track(*op);
        return Ref<T>::steal(op);
    }

    // Objects allocated and not yet freed (immortal ones are not counted).
    [[nodiscard]] std::size_t live_objects() const noexcept { return live_; }
    // Containers on the tracked list.
    [[nodiscard]] std::size_t tracked_objects() const noexcept { return tracked_count_; }

    // Calls f(Object&) for each tracked container, oldest first. f must not
    // allocate or free containers.
    template <class F>
    void for_each_tracked(F&& f) const {
        for (detail::GcLinks* link = tracked_.next; link != &tracked_; link = link->next) {
            f(static_cast<Object&>(*link));
        }
    }

    // Interpreter shutdown: finalizes and clears every container still
    // tracked, which frees them and what they hold. Returns how many
    // containers it found, as gc.collect() counts.
    std::size_t shutdown() {
        std::vector<Ref<Object>> garbage;  // keeps each alive until the end
        garbage.reserve(tracked_count_);
        for_each_tracked([&](Object& op) { garbage.push_back(Ref<Object>::new_ref(op)); });
        for (const Ref<Object>& op : garbage) run_finalizer_once(*op);
        for (const Ref<Object>& op : garbage) op->clear();
        const std::size_t found = garbage.size();
        garbage.clear();
        return found;
    }

private:
    friend void detail::dealloc(Object&) noexcept;

    void track(Object& op) noexcept {
        detail::GcLinks& links = op;
        links.prev = tracked_.prev;
        links.next = &tracked_;
        tracked_.prev->next = &links;
        tracked_.prev = &links;
        ++tracked_count_;
    }

    void untrack(Object& op) noexcept {
        detail::GcLinks& links = op;
        links.prev->next = links.next;
        links.next->prev = links.prev;
        links.prev = links.next = nullptr;
        --tracked_count_;
    }

    // PEP 442: a finalizer runs at most once in an object's life. An
    // exception from it is reported and ignored, as CPython reports
    // "Exception ignored in: <function ...__del__>".
    static void run_finalizer_once(Object& op) noexcept {
        if (!op.has_finalizer() || op.finalized_) return;
        op.finalized_ = true;
        try {
            op.finalize();
        } catch (const std::exception& error) {
            fmt::print(stderr, "Exception ignored in: <{} finalizer>: {}\n", op.type_name(), error.what());
        }
    }

    void free(Object& op) noexcept {
        if (op.is_tracked()) untrack(op);
        --live_;
        delete &op;
    }

    detail::GcLinks tracked_;  // list head; tracked_.next is the oldest container
    std::size_t tracked_count_ = 0;
    std::size_t live_ = 0;
    Heap* previous_;  // the heap that was current before this one, restored at its end
    static inline thread_local Heap* current_ = nullptr;
};

namespace detail {

inline void dealloc(Object& op) noexcept {
    if (op.has_finalizer() && !op.finalized_) {
        op.refcnt_ = 1;  // the finalizer runs on a live object
        Heap::run_finalizer_once(op);
        if (--op.refcnt_ != 0) return;  // resurrected: the finalizer stored a reference
    }
    Heap::current().free(op);
}

}  // namespace detail

// Allocates a T(args...) on the current interpreter's heap.
template <class T, class... Args>
[[nodiscard]] Ref<T> make(Args&&... args) {
    return Heap::current().make<T>(std::forward<Args>(args)...);
}

}  // namespace pyconc::runtime
