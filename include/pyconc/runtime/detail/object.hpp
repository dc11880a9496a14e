#pragma once
// The object header and the owning reference, as in CPython's Include/object.h.
// Include pyconc/runtime/object.hpp: this part declares what a decref to 0
// calls (dealloc), and heap.hpp, which it needs, defines it (a folder
// detail/ holds the parts of a header, not headers to use alone).
//
// How this works
// - Every model object derives from `Object`: 16 bytes, as a PyObject is. Its
//   vtable pointer plays ob_type (`type_name()`, `traverse()` = tp_traverse,
//   `clear()` = tp_clear, `finalize()` = tp_finalize, Python's __del__) and
//   `refcnt_` is ob_refcnt, 32 bits wide as in 64-bit CPython 3.12.
// - A `Container` is an object that can hold references and so be part of a
//   cycle (Py_TPFLAGS_HAVE_GC). It adds the collector's links, PyGC_Head:
//   `next`/`prev` put it on one generation's list while it is tracked, and
//   during a collection `gc_refs` holds the part of its count that references
//   from inside the generation do not explain.
// - `Ref<T>` is an owning reference. Copying it is Py_INCREF, destroying or
//   resetting it is Py_DECREF; a borrowed reference is a plain `T&`/`T*`.
//   `make<T>(...)` (heap.hpp) returns a new object with a count of 1.
// - When the count reaches 0 the object is freed at once, inside that very
//   decref: the finalizer runs (at most once, PEP 442), then the destructor,
//   which drops the references the object held. This is the deterministic
//   free the lessons show. A cycle never reaches 0: only the collector
//   (gc.hpp) frees it.
// - Immortal objects (small ints; PEP 683, CPython 3.12) have the count
//   4294967295, which incref and decref leave alone. 3.12 saturates the
//   32-bit count the same way: a count that reaches it stays there.
// - `refcount(obj)` is the true count. Python's sys.getrefcount() shows one
//   more, because its own argument is a reference for the duration of the call.
// - Memory comes from the interpreter's small-object allocator (obmalloc.hpp)
//   through Object's own operator new/delete, sized by the C++ type as
//   tp_basicsize sizes a CPython object.
// - Not thread-safe by itself: like CPython's plain counts, they rely on the
//   GIL. Without it (the free-threaded mode, PEP 703) an object born there
//   has an owner thread: `owner_` names it, `refcnt_` becomes the owner's
//   local count (ob_ref_local, plain) and other threads count in a shared
//   count kept beside the heap (biased_refcount.hpp). Objects of the GIL
//   mode have no owner, and the one extra compare is all they pay.
// - dealloc and operator new/delete are defined in heap.hpp: what a decref
//   to 0 does needs the heap and its collector, and they need the object.
//   Each header of that cycle (object.hpp, biased_refcount.hpp, gc.hpp,
//   freelist.hpp)
//   includes heap.hpp after its own body, so any one of them links alone.
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <string_view>
#include <type_traits>
#include <utility>

#include "pyconc/runtime/fatal.hpp"

namespace pyconc::runtime {

// _Py_IMMORTAL_REFCNT on a 64-bit CPython 3.12 (UINT_MAX), what
// sys.getrefcount(0) shows there.
inline constexpr std::uint32_t immortal_refcount = 4294967295U;

// The count a freed object's memory shows in debug builds: four dead bytes.
inline constexpr std::uint32_t dead_refcount = 0xDDDDDDDDU;

class Object;
class Container;

// tp_traverse's visitproc: `traverse` calls `visit` once for every object the
// traversed object holds a strong reference to.
class Visitor {
public:
    virtual void visit(Object& referent) = 0;

protected:
    Visitor() = default;
    Visitor(const Visitor&) = default;
    Visitor& operator=(const Visitor&) = default;
    ~Visitor() = default;
};

namespace detail {

void incref(Object& op) noexcept;
void decref(Object& op) noexcept;
void dealloc(Object& op) noexcept;        // tp_dealloc, defined in heap.hpp
void dealloc_other(Object& op) noexcept;  // its path for all but ints

// Biased reference counting (biased_refcount.hpp): the owner field's values.
using OwnerId = std::uint16_t;
inline constexpr OwnerId unowned = 0;      // the GIL mode's objects: refcnt_ is the count
inline constexpr OwnerId merged = 0x7FFF;  // no owner any more: the shared count is the count
inline constexpr OwnerId largest_owner = merged - 1;
inline constexpr OwnerId owner_mask = 0x7FFF;
// The top bit: another thread has counted it (it has a shared count), so
// the owner's local count reaching 0 must look there before freeing.
inline constexpr OwnerId shared_flag = 0x8000;
// This OS thread's owner id while it runs free-threaded model code; else unowned.
inline thread_local OwnerId this_thread_owner = unowned;
void shared_incref(Object& op) noexcept;  // a thread that does not own op
void shared_decref(Object& op) noexcept;
void merge_zero_local(Object& op) noexcept;  // the owner's local count reached 0
void biased_incref(Object& op) noexcept;
void biased_decref(Object& op) noexcept;
std::int64_t biased_total(const Object& op) noexcept;

// PyGC_Head. A container is on exactly one list while it is tracked (`next`
// not null): a generation's, or one of a collection's working lists. List
// heads are bare GcHeads that no container owns.
struct GcHead {
    GcHead* next = nullptr;
    GcHead* prev = nullptr;
    // Only meaningful while `collecting` is set: the references to this object
    // that come from outside the objects being collected. A count is 32 bits.
    std::uint32_t gc_refs = 0;
    // Set by update_refs for every object being collected; cleared when the
    // object is found reachable (PREV_MASK_COLLECTING).
    bool collecting : 1 = false;
    // On move_unreachable's tentatively-unreachable list (NEXT_MASK_UNREACHABLE).
    bool unreachable : 1 = false;
    // Its finalizer has run (_PyGC_PREV_MASK_FINALIZED): never again.
    bool finalized : 1 = false;
    // In the permanent generation (gc.freeze()): no collection looks at it.
    bool frozen : 1 = false;
    // subtract_refs met a reference from it to an object being collected.
    // When it did not, move_unreachable has nothing to mark through it and
    // skips its traverse (a list of ints is never walked twice). Our own.
    bool refers_to_set : 1 = false;
    // A tuple or dict: the collector asks it whether it may be untracked
    // (the type check CPython's untrack_tuples makes, without a virtual call).
    bool may_untrack_kind : 1 = false;
    // It may refer to another container. False only when its type keeps
    // count (see Container::holding): then the collector need not traverse
    // it at all, and never touches the ints and strs it holds. Our own.
    bool may_hold_containers : 1 = true;
};

}  // namespace detail

class Object {
public:
    Object(const Object&) = delete;
    Object& operator=(const Object&) = delete;
    Object(Object&&) = delete;
    Object& operator=(Object&&) = delete;
    virtual ~Object() = default;

    // The Python type name: "int", "list", or a class's own name.
    [[nodiscard]] virtual std::string_view type_name() const noexcept = 0;

    // tp_traverse: visit every object this one holds a strong reference to.
    // Only containers hold references, so only they override it.
    virtual void traverse(Visitor& /*visit*/) {}

    // tp_clear: drop every reference this object holds, which breaks any
    // cycle running through it. The object stays valid (and empty).
    virtual void clear() {}

    // PyObject_IS_GC: a container, which the collector may track.
    [[nodiscard]] bool is_gc() const noexcept { return is_gc_; }
    // PyLong_CheckExact, PyUnicode_CheckExact: the eval loop's fast type
    // checks, a byte compare rather than a dynamic_cast.
    [[nodiscard]] bool is_int() const noexcept { return kind_ == Kind::int_object; }
    [[nodiscard]] bool is_str() const noexcept { return kind_ == Kind::str_object; }
    // sizeof(Int) (types.hpp checks it): what int_dealloc gives back.
    static constexpr std::size_t int_size = 24;
    [[nodiscard]] bool is_immortal() const noexcept { return refcnt_ == immortal_refcount; }
    // The whole count: the plain one, or under biased counting local + shared.
    [[nodiscard]] std::int64_t refcount() const noexcept {
        return owner() == detail::unowned ? refcnt_ : detail::biased_total(*this);
    }
    // A freed block's header in debug builds: obmalloc.hpp fills it with
    // 0xDD. The test reads the owner field, which any thread may read.
    [[nodiscard]] bool looks_freed() const noexcept {
        return owner_.load(std::memory_order_relaxed) == freed_owner_bits;
    }
    static constexpr detail::OwnerId freed_owner_bits = 0xDDDD;

    // ob_tid: the owning thread under biased counting (relaxed: a thread
    // compares it with its own id; ownership is given up under a lock).
    [[nodiscard]] detail::OwnerId owner() const noexcept {
        return owner_.load(std::memory_order_relaxed) & detail::owner_mask;
    }

    // Objects live in the interpreter's small-object allocator (heap.hpp),
    // which needs the size back: only the sized delete exists.
    static void* operator new(std::size_t size);  // NOLINT(misc-new-delete-overloads)
    static void operator delete(void* block, std::size_t size) noexcept;

protected:
    Object() noexcept = default;

    // What the exact type checks look at (Py_TPFLAGS_LONG_SUBCLASS and
    // friends); set by the constructors of Int and Str.
    enum class Kind : std::uint8_t { other, int_object, str_object };
    void set_kind(Kind kind) noexcept { kind_ = kind; }

    // Small ints are born immortal; nothing else starts so.
    struct Immortal {};
    explicit Object(Immortal /*tag*/) noexcept : refcnt_(immortal_refcount) {}

private:
    friend class Container;
    friend class Gc;
    friend void detail::incref(Object&) noexcept;
    friend void detail::biased_incref(Object&) noexcept;
    friend void detail::biased_decref(Object&) noexcept;
    friend void detail::decref(Object&) noexcept;
    friend void detail::dealloc(Object&) noexcept;
    friend void detail::dealloc_other(Object&) noexcept;
    friend class Heap;
    friend class BiasedRefcounts;

    // ob_refcnt (ob_ref_local under biased counting). 1 at birth: the
    // reference make() hands out. 0 only while the object is being freed;
    // immortal_refcount for immortal objects.
    std::uint32_t refcnt_ = 1;
    bool is_gc_ = false;
    Kind kind_ = Kind::other;
    std::atomic<detail::OwnerId> owner_{detail::unowned};  // ob_tid; fits the header's last two bytes
};
static_assert(sizeof(std::atomic<std::uint16_t>) == 2);

// An object that can hold references (Py_TPFLAGS_HAVE_GC): list, tuple, dict,
// instance. The heap tracks it from birth (dicts: from their first container
// value), and the collector walks it.
class Container : public Object, private detail::GcHead {
public:
    // make<T> tracks a new container at once, unless T says otherwise
    // (dicts start untracked, as in CPython).
    static constexpr bool tracked_at_birth = true;

    // gc.is_tracked
    [[nodiscard]] bool is_tracked() const noexcept { return next != nullptr; }
    // gc.is_finalized
    [[nodiscard]] bool is_finalized() const noexcept { return finalized; }

    // tp_finalize (Python's __del__). Runs at most once per object, with the
    // object still intact; it may store a new reference to the object
    // (resurrection), in which case the object is not freed.
    [[nodiscard]] virtual bool has_finalizer() const noexcept { return false; }
    virtual void finalize() {}

    // _PyTuple_MaybeUntrack / _PyDict_MaybeUntrack: true when this container
    // holds no tracked container and so can never be part of a cycle. Only
    // tuples (any collection) and dicts (full collections) say yes.
    [[nodiscard]] virtual bool may_untrack(bool full_collection) const noexcept {
        (void)full_collection;
        return false;
    }

protected:
    Container() noexcept { is_gc_ = true; }
    // For tuple and dict, whose may_untrack() can say yes.
    struct MayUntrack {};
    explicit Container(MayUntrack /*tag*/) noexcept : Container() { may_untrack_kind = true; }

    // A type that keeps count of whether it holds containers says so at
    // birth and after clear() with holds_no_containers(), and passes every
    // reference it stores to holding(). Types that do not are always
    // traversed, which is never wrong, only slower.
    void holds_no_containers() noexcept { may_hold_containers = false; }
    void holding(const Object* op) noexcept {
        if (op != nullptr && op->is_gc()) may_hold_containers = true;
    }

private:
    friend class Gc;
    friend class Heap;
    friend void detail::dealloc(Object&) noexcept;
    friend void detail::dealloc_other(Object&) noexcept;

    [[nodiscard]] detail::GcHead& gc_head() noexcept { return *this; }
    [[nodiscard]] static Container& from_gc_head(detail::GcHead& head) noexcept {
        return static_cast<Container&>(head);
    }
};

namespace detail {

// Under biased counting (an object with an owner): out of line, so that
// the GIL mode's inlined incref and decref stay small.
[[gnu::noinline]] inline void biased_incref(Object& op) noexcept {
    if (op.owner() != this_thread_owner) {
        shared_incref(op);
        return;
    }
    ++op.refcnt_;
}
[[gnu::noinline]] inline void biased_decref(Object& op) noexcept {
    if (op.owner() != this_thread_owner) {
        shared_decref(op);
        return;
    }
    if (--op.refcnt_ == 0) merge_zero_local(op);  // the owner's part is gone: the shared part decides
}

// The owner test comes first: an owned object is never immortal, and a
// thread that does not own it must not read its local count (the owner
// writes it with plain stores).
inline void incref(Object& op) noexcept {
    if (op.owner() != unowned) [[unlikely]] {
        biased_incref(op);
        return;
    }
    if (op.is_immortal()) return;
    ++op.refcnt_;
}

inline void decref(Object& op) noexcept {
    if (op.owner() != unowned) [[unlikely]] {
        biased_decref(op);
        return;
    }
    if (op.is_immortal()) return;
#ifndef NDEBUG
    // Py_REF_DEBUG's check: debug builds only, as in CPython.
    if (op.refcnt_ == 0) {
        fatal("Py_DECREF", "reference count of a freed or freeing object went below zero");
    }
#endif
    if (--op.refcnt_ == 0) dealloc(op);
}

}  // namespace detail

// An owning reference to a T (or to nothing, as a NULL PyObject*).
template <class T>
class Ref {
    static_assert(std::is_base_of_v<Object, T>, "Ref<T> needs a model object type");

public:
    constexpr Ref() noexcept = default;
    constexpr Ref(std::nullptr_t) noexcept {}  // NOLINT(google-explicit-constructor)

    // Takes over a reference the caller already owns (no incref).
    [[nodiscard]] static Ref steal(T* owned) noexcept {
        Ref ref;
        ref.object_ = owned;
        return ref;
    }
    // Py_NewRef: a new strong reference to a borrowed object.
    [[nodiscard]] static Ref new_ref(T& borrowed) noexcept {
        detail::incref(borrowed);
        return steal(&borrowed);
    }

    Ref(const Ref& other) noexcept : object_(other.object_) {
        if (object_) detail::incref(*object_);
    }
    Ref(Ref&& other) noexcept : object_(std::exchange(other.object_, nullptr)) {}
    template <class U>
    requires std::is_convertible_v<U*, T*> Ref(const Ref<U>& other)
    noexcept : object_(other.get()) {  // NOLINT(google-explicit-constructor)
        if (object_) detail::incref(*object_);
    }
    template <class U>
    requires std::is_convertible_v<U*, T*> Ref(Ref<U>&& other)
    noexcept : object_(other.release()) {}  // NOLINT(google-explicit-constructor)

    // Copy-and-swap: the old referent is released last, after this Ref
    // already holds the new one, as Py_SETREF does.
    Ref& operator=(Ref other) noexcept {
        std::swap(object_, other.object_);
        return *this;
    }
    ~Ref() { reset(); }

    // `del name`: drop this reference. The pointer is cleared before the
    // decref, because the decref may run a finalizer that looks at this Ref
    // (the reason for Py_CLEAR).
    void reset() noexcept {
        if (T* old = std::exchange(object_, nullptr)) detail::decref(*old);
    }
    // Hands the reference to the caller, who must steal() it back.
    [[nodiscard]] T* release() noexcept { return std::exchange(object_, nullptr); }

    [[nodiscard]] T* get() const noexcept { return object_; }
    T& operator*() const { return checked(); }
    T* operator->() const { return &checked(); }
    explicit operator bool() const noexcept { return object_ != nullptr; }

    // Python's `is`: the same object.
    template <class U>
    bool operator==(const Ref<U>& other) const noexcept {
        return static_cast<const Object*>(object_) == static_cast<const Object*>(other.get());
    }

private:
    [[nodiscard]] T& checked() const {
        if (!object_) fatal("Ref", "dereferenced an empty reference (a NULL PyObject*)");
#ifndef NDEBUG
        // _PyObject_IsFreed: a freed block is filled with dead bytes (obmalloc.hpp).
        if (object_->looks_freed()) fatal("Ref", "use of a freed object (its memory holds 0xDD)");
#endif
        return *object_;
    }

    T* object_ = nullptr;
};

// The true reference count: what sys.getrefcount() shows, minus its argument.
[[nodiscard]] inline std::int64_t refcount(const Object& op) noexcept {
    return op.refcount();
}
template <class T>
[[nodiscard]] std::int64_t refcount(const Ref<T>& ref) {
    return refcount(*ref);
}

}  // namespace pyconc::runtime
