#pragma once
// The interpreter's object heap: where model objects are born and freed.
//
// How this works
// - The heap owns the interpreter's small-object allocator (obmalloc.hpp)
//   and its cyclic collector (gc.hpp). One heap is current per thread
//   (`Heap::current()`), as a thread state points at its interpreter;
//   allocating with none is a fatal error.
// - `make<T>(...)` is type(...) for the model: for a container it first
//   tells the collector (which may run an automatic collection), then
//   allocates the object through Object::operator new, from obmalloc, and
//   tracks it in generation 0 (a dict waits for its first container value).
//   An int is made in a block from the ints' freelist when one is kept
//   there, and its dealloc keeps the block (freelist.hpp, CPython 3.14).
// - `detail::dealloc` is what a decref to 0 calls (tp_dealloc): run the
//   finalizer once with the object alive again for the call
//   (PyObject_CallFinalizerFromDealloc); if the finalizer resurrected it,
//   stop; otherwise untrack it and delete it, whose destructor drops the
//   references it held and whose operator delete gives the block back.
// - `shutdown()` is Py_FinalizeEx's last collection: gc.unfreeze(), then a
//   full collection frees whatever cycles are left.
#include <cstddef>
#include <new>
#include <type_traits>
#include <utility>

#include <fmt/core.h>

#include "pyconc/runtime/fatal.hpp"
#include "pyconc/runtime/freelist.hpp"
#include "pyconc/runtime/gc.hpp"
#include "pyconc/runtime/object.hpp"
#include "pyconc/runtime/obmalloc.hpp"

namespace pyconc::runtime {

class Int;  // types.hpp

class Heap {
public:
    Heap() noexcept : previous_(current_) { current_ = this; }
    Heap(const Heap&) = delete;
    Heap& operator=(const Heap&) = delete;
    ~Heap() {
        ints_.drain(allocator_);
        if (live_ != 0) {
            fatal("~Heap",
                  fmt::format("{} object(s) outlived their interpreter: a Ref was kept past shutdown()",
                              live_));
        }
        current_ = previous_;
    }

    // Makes `heap` current on this OS thread for the guard's life: what a
    // model thread does when it attaches to its interpreter.
    class Attach {
    public:
        explicit Attach(Heap& heap) noexcept : saved_(current_) { current_ = &heap; }
        Attach(const Attach&) = delete;
        Attach& operator=(const Attach&) = delete;
        ~Attach() { current_ = saved_; }

    private:
        Heap* saved_;
    };

    // The heap of the interpreter this thread runs in.
    [[nodiscard]] static Heap& current() {
        if (!current_) {
            fatal("Heap::current",
                  "no interpreter on this thread: create a pyconc::runtime::Interpreter first");
        }
        return *current_;
    }

    // Allocates a T(args...) with refcount 1; a container is tracked unless
    // T says it starts untracked.
    template <class T, class... Args>
    [[nodiscard]] Ref<T> make(Args&&... args) {
        static_assert(std::is_base_of_v<Object, T>, "make<T> makes model objects");
        if constexpr (std::is_base_of_v<Container, T>) gc_.container_allocated();
        T* op = nullptr;
        if constexpr (std::is_same_v<T, Int>) {
            static_assert(sizeof(T) == Object::int_size);
            if (void* block = ints_.pop()) op = ::new (block) T(std::forward<Args>(args)...);
        }
        if (!op) op = new T(std::forward<Args>(args)...);
        ++live_;
        if constexpr (std::is_base_of_v<Container, T>) {
            if (T::tracked_at_birth) gc_.track(*op);
        }
        return Ref<T>::steal(op);
    }

    // Objects allocated and not yet freed (immortal ones are not counted).
    [[nodiscard]] std::size_t live_objects() const noexcept { return live_; }

    // Freed ints whose blocks wait on the freelist for the next ones.
    [[nodiscard]] std::size_t ints_kept() const noexcept { return ints_.size(); }

    [[nodiscard]] Gc& gc() noexcept { return gc_; }
    [[nodiscard]] Obmalloc& allocator() noexcept { return allocator_; }
    [[nodiscard]] const Obmalloc& allocator() const noexcept { return allocator_; }

    // Interpreter shutdown. Returns what the final collection found.
    std::size_t shutdown() {
        gc_.unfreeze();
        return gc_.collect();
    }

private:
    friend void detail::dealloc(Object&) noexcept;

    // int_dealloc: onto the ints' freelist, or straight back to pymalloc
    // when that is full. Int's destructor does nothing, so its storage may
    // simply be reused ([basic.life]). Small enough to inline into a decref.
    void free_int(Object& op) noexcept {
        --live_;
        if (!ints_.push(&op)) [[unlikely]]
            allocator_.free(&op, Object::int_size);
    }

    [[gnu::noinline]] void free(Object& op) noexcept {
        if (op.is_int()) {
            free_int(op);
            return;
        }
        --live_;
        if (op.is_gc()) {
            auto& container = static_cast<Container&>(op);
            gc_.untrack(container);
            gc_.container_freed();
        }
        delete &op;  // the virtual destructor, then Object::operator delete with the object's size
    }

    // Declared before gc_, so destroyed after it: blocks outlive the lists.
    Obmalloc allocator_;
    Gc gc_;
    // Py_ints_MAXFREELIST: the blocks of up to 100 freed ints (CPython 3.14).
    Freelist<Object::int_size, 100> ints_;
    std::size_t live_ = 0;
    Heap* previous_;  // the heap that was current before this one, restored at its end
    static inline thread_local Heap* current_ = nullptr;
};

namespace detail {

inline void dealloc(Object& op) noexcept {
    if (op.is_int()) {  // the eval loop's common case, inlined
        Heap::current().free_int(op);
        return;
    }
    if (op.is_gc()) {
        auto& container = static_cast<Container&>(op);
        if (container.has_finalizer() && !container.is_finalized()) {
            op.refcnt_ = 1;  // the finalizer runs on a live object
            Gc::finalize_once(container);
            if (--op.refcnt_ != 0) return;  // resurrected: the finalizer stored a reference
        }
    }
    Heap::current().free(op);
}

}  // namespace detail

inline void* Object::operator new(std::size_t size) {  // NOLINT(misc-new-delete-overloads)
    return Heap::current().allocator().allocate(size);
}

inline void Object::operator delete(void* block, std::size_t size) noexcept {
    Heap::current().allocator().free(block, size);
}

// Allocates a T(args...) on the current interpreter's heap.
template <class T, class... Args>
[[nodiscard]] Ref<T> make(Args&&... args) {
    return Heap::current().make<T>(std::forward<Args>(args)...);
}

}  // namespace pyconc::runtime
