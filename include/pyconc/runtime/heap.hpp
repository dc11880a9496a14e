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
// - Free-threaded mode (`set_free_threaded`, before any thread runs): many
//   threads allocate at once. The allocator and the collector's lists are
//   then used under the heap's mutex (CPython 3.13t gives each thread its
//   own mimalloc heap instead), each thread frees ints onto its own
//   freelist (`ThreadCache`, as 3.13t's freelists are per thread), and a
//   new object is owned by the thread that made it (biased_refcount.hpp).
#include <array>
#include <atomic>
#include <cstddef>
#include <functional>
#include <mutex>
#include <new>
#include <type_traits>
#include <utility>

#include <fmt/core.h>

#include "pyconc/runtime/biased_refcount.hpp"
#include "pyconc/runtime/detail/object.hpp"
#include "pyconc/runtime/fatal.hpp"
#include "pyconc/runtime/freelist.hpp"
#include "pyconc/runtime/gc.hpp"
#include "pyconc/runtime/obmalloc.hpp"

namespace pyconc::runtime {

class Int;  // types.hpp

class Heap {
public:
    // Py_ints_MAXFREELIST: the blocks of up to 100 freed ints (CPython 3.14).
    using IntFreelist = Freelist<Object::int_size, 100>;

    Heap() noexcept : previous_(current_) { current_ = this; }
    Heap(const Heap&) = delete;
    Heap& operator=(const Heap&) = delete;
    ~Heap() {
        ints_.drain(allocator_);
        if (live_objects() != 0) {
            fatal("~Heap",
                  fmt::format("{} object(s) outlived their interpreter: a Ref was kept past shutdown()",
                              live_objects()));
        }
        current_ = previous_;
    }

    // Keeps this OS thread's current heap current for the guard's life: a
    // heap made inside it (a subinterpreter's) does not become current.
    class KeepCurrent {
    public:
        KeepCurrent() noexcept : saved_(current_) {}
        KeepCurrent(const KeepCurrent&) = delete;
        KeepCurrent& operator=(const KeepCurrent&) = delete;
        ~KeepCurrent() { current_ = saved_; }

    private:
        Heap* saved_;
    };

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

    // The free-threaded mode's per-thread state: this thread's ints
    // freelist and its owner id for biased counting. A model thread holds
    // one while it runs free-threaded; the freelist goes back at its end.
    class ThreadCache {
    public:
        ThreadCache(Heap& heap, std::atomic<bool>& eval_breaker)
            : heap_(heap),
              owner_(BiasedRefcounts::instance().register_owner(eval_breaker)),
              saved_ints_(std::exchange(thread_ints_, &ints_)),
              saved_live_(std::exchange(thread_live_, &live_change_)),
              saved_owner_(std::exchange(detail::this_thread_owner, owner_)) {
            take_blocks_of_its_own();
        }
        ThreadCache(const ThreadCache&) = delete;
        ThreadCache& operator=(const ThreadCache&) = delete;
        ~ThreadCache() {
            BiasedRefcounts::instance().unregister_owner(owner_);
            detail::this_thread_owner = saved_owner_;
            thread_ints_ = saved_ints_;
            thread_live_ = saved_live_;
            heap_.live_.fetch_add(static_cast<std::size_t>(live_change_), std::memory_order_relaxed);
            const std::lock_guard lock{heap_.mutex_};
            ints_.drain(heap_.allocator_);
        }
        [[nodiscard]] detail::OwnerId owner() const noexcept { return owner_; }

    private:
        // A run of neighbouring blocks for this thread's ints, as mimalloc
        // gives each thread pages of its own: two threads whose ints shared
        // a cache line would slow each other down on every refcount write
        // (false sharing). The run's middle blocks go on top of the
        // freelist, so the ones a loop reuses have no other thread's block
        // beside them.
        void take_blocks_of_its_own() {
            constexpr std::size_t run = 16;
            constexpr std::size_t edge = 4;  // 4 x 32 bytes: two cache lines at each end
            std::array<void*, run> blocks{};
            {
                const std::lock_guard lock{heap_.mutex_};
                for (void*& block : blocks) block = heap_.allocator_.allocate(Object::int_size);
            }
            const auto keep = [&](void* block) {
                if (!ints_.push(static_cast<Object*>(block))) heap_.deallocate(block, Object::int_size);
            };
            for (std::size_t i = 0; i < edge; ++i) keep(blocks[i]);
            for (std::size_t i = run - edge; i < run; ++i) keep(blocks[i]);
            for (std::size_t i = edge; i < run - edge; ++i) keep(blocks[i]);
        }

        Heap& heap_;
        detail::OwnerId owner_;
        IntFreelist ints_;
        // Objects made minus objects freed by this thread: added to live_ at its end.
        std::ptrdiff_t live_change_ = 0;
        IntFreelist* saved_ints_;
        std::ptrdiff_t* saved_live_;
        detail::OwnerId saved_owner_;
    };

    // Before any model thread runs: from now on, many threads may allocate.
    // Its collector stops `world` to collect, and takes the heap's mutex
    // for its lists while the world runs.
    void set_free_threaded(World& world) noexcept {
        free_threaded_ = true;
        gc_.set_world(&world, &mutex_);
    }

    // Up to CPython 3.10 an instance keeps its attributes in a __dict__ of
    // its own, a dict made at its first setattr; 3.11 keeps the values in
    // the instance (types.hpp's Instance asks).
    void set_instance_dicts(bool separate) noexcept { instance_dicts_ = separate; }
    [[nodiscard]] bool instance_dicts() const noexcept { return instance_dicts_; }

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
        if constexpr (std::is_base_of_v<Container, T>) {
            // Counted under the lock; a collection it calls for runs outside it.
            if (locked([&] { return gc_.note_container_allocated(); })) gc_.collect_automatically();
        }
        T* op = nullptr;
        if constexpr (std::is_same_v<T, Int>) {
            static_assert(sizeof(T) == Object::int_size);
            IntFreelist* ints = int_freelist();
            if (void* block = ints != nullptr ? ints->pop() : nullptr) {
                op = ::new (block) T(std::forward<Args>(args)...);
            }
        }
        if (!op) op = new T(std::forward<Args>(args)...);
        count_live(+1);
        if (free_threaded_) adopt(*op);
        if constexpr (std::is_base_of_v<Container, T>) {
            if (T::tracked_at_birth) locked([&] { gc_.track(*op); });
        }
        return Ref<T>::steal(op);
    }

    // PyObject_Malloc and PyObject_Free for Object's operator new and delete.
    [[nodiscard]] void* allocate(std::size_t bytes) {
        return locked([&] { return allocator_.allocate(bytes); });
    }
    void deallocate(void* block, std::size_t bytes) noexcept {
        locked([&] { allocator_.free(block, bytes); });
    }

    // Objects allocated and not yet freed (immortal ones are not counted;
    // in the free-threaded mode, exact once the threads have finished).
    [[nodiscard]] std::size_t live_objects() const noexcept { return live_.load(std::memory_order_relaxed); }

    // Freed ints whose blocks wait on the freelist for the next ones (this
    // thread's, in the free-threaded mode).
    [[nodiscard]] std::size_t ints_kept() noexcept {
        const IntFreelist* ints = int_freelist();
        return ints != nullptr ? ints->size() : 0;
    }

    [[nodiscard]] Gc& gc() noexcept { return gc_; }
    [[nodiscard]] Obmalloc& allocator() noexcept { return allocator_; }
    [[nodiscard]] const Obmalloc& allocator() const noexcept { return allocator_; }

    // Interpreter shutdown. Returns what the final collection found.
    std::size_t shutdown() {
        locked([&] { gc_.unfreeze(); });
        return gc_.collect();
    }

private:
    friend void detail::dealloc(Object&) noexcept;
    friend void detail::dealloc_other(Object&) noexcept;

    // int_dealloc: onto the ints' freelist, or straight back to pymalloc
    // when that is full. Int's destructor does nothing, so its storage may
    // simply be reused ([basic.life]). Small enough to inline into a decref.
    void free_int(Object& op) noexcept {
        count_live(-1);
        IntFreelist* ints = int_freelist();
        if (ints == nullptr || !ints->push(&op)) [[unlikely]]
            deallocate(&op, Object::int_size);
    }

    [[gnu::noinline]] void free(Object& op) noexcept {
        if (op.is_int()) {
            free_int(op);
            return;
        }
        check_ours(op);
        count_live(-1);
        if (op.is_gc()) {
            auto& container = static_cast<Container&>(op);
            locked([&] {
                gc_.untrack(container);
                gc_.container_freed();
            });
        }
        delete &op;  // the virtual destructor, then Object::operator delete with the object's size
    }

    // Debug builds: an object another heap allocated is not freed here (its
    // collector's lists and its pools are the other heap's). Release builds
    // trust the program, as CPython does. An int is not checked on the eval
    // loop's path (free_int): its block is, when it goes back to the pools.
    void check_ours(const Object& op) const noexcept {
#ifndef NDEBUG
        if (allocator_.holds_anothers(&op)) {
            fatal("Heap::free",
                  fmt::format("a {} of another interpreter's heap was freed on this one: objects "
                              "cross between interpreters only as copies (concurrent.interpreters)",
                              op.type_name()));
        }
#else
        (void)op;
#endif
    }

    // With the GIL only one thread runs; without it, the heap's mutex.
    template <class F>
    std::invoke_result_t<F&> locked(F&& f) {
        if (!free_threaded_) return f();
        const std::lock_guard lock{mutex_};
        return f();
    }
    // The GIL mode's count is a plain add (no lock prefix). Without the
    // GIL each thread keeps its own change and adds it at its end; a thread
    // with no ThreadCache adds atomically.
    void count_live(int delta) noexcept {
        const auto change = static_cast<std::size_t>(static_cast<std::ptrdiff_t>(delta));
        if (!free_threaded_) {
            live_.store(live_.load(std::memory_order_relaxed) + change, std::memory_order_relaxed);
        } else if (thread_live_ != nullptr) {
            *thread_live_ += delta;
        } else {
            live_.fetch_add(change, std::memory_order_relaxed);
        }
    }
    // The heap's freelist; in the free-threaded mode this thread's, or
    // null for a thread with no ThreadCache (its ints go back to pymalloc).
    IntFreelist* int_freelist() noexcept {
        return free_threaded_ ? thread_ints_ : &ints_;
    }
    // A new object belongs to the thread that made it.
    void adopt(Object& op) {
        if (op.is_immortal()) return;
        if (detail::this_thread_owner == detail::unowned) {
            BiasedRefcounts::instance().born_shared(op);
        } else {
            op.owner_.store(detail::this_thread_owner, std::memory_order_relaxed);
        }
    }

    // Declared before gc_, so destroyed after it: blocks outlive the lists.
    Obmalloc allocator_;
    Gc gc_;
    IntFreelist ints_;
    std::atomic<std::size_t> live_{0};
    bool free_threaded_ = false;
    bool instance_dicts_ = false;
    std::mutex mutex_;  // the free-threaded mode's: allocator_, gc_'s lists and counts
    static inline thread_local IntFreelist* thread_ints_ = nullptr;
    static inline thread_local std::ptrdiff_t* thread_live_ = nullptr;
    Heap* previous_;  // the heap that was current before this one, restored at its end
    static inline thread_local Heap* current_ = nullptr;
};

namespace detail {

[[gnu::always_inline]] inline void dealloc(Object& op) noexcept {
    if (op.is_int()) [[likely]] {  // the eval loop's common case, inlined
        Heap::current().free_int(op);
        return;
    }
    dealloc_other(op);
}

[[gnu::noinline]] inline void dealloc_other(Object& op) noexcept {
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
    return Heap::current().allocate(size);
}

inline void Object::operator delete(void* block, std::size_t size) noexcept {
    Heap::current().deallocate(block, size);
}

// Allocates a T(args...) on the current interpreter's heap.
template <class T, class... Args>
[[nodiscard]] Ref<T> make(Args&&... args) {
    return Heap::current().make<T>(std::forward<Args>(args)...);
}

}  // namespace pyconc::runtime
