#pragma once
// The object header and the owning reference, as in CPython's Include/object.h.
//
// How this works
// - Every model object derives from `Object`, whose header holds `refcnt_`
//   (ob_refcnt) and, for containers, the links that keep it on its
//   interpreter's list of tracked objects (PyGC_Head). The C++ type stands in
//   for ob_type: `type_name()`, `traverse()` (tp_traverse), `clear()`
//   (tp_clear), `finalize()` (tp_finalize, Python's __del__).
// - `Ref<T>` is an owning reference. Copying it is Py_INCREF, destroying or
//   resetting it is Py_DECREF; a borrowed reference is a plain `T&`/`T*`.
//   `make<T>(...)` allocates an object with a count of 1 held by the Ref it
//   returns.
// - When the count reaches 0 the object is freed at once, inside that very
//   decref: the finalizer runs (at most once, PEP 442), then the destructor,
//   which drops the references the object held. This is the deterministic
//   free the lessons show. A cycle never reaches 0: only a collector frees it.
// - Immortal objects (small ints; PEP 683, CPython 3.12) ignore incref and
//   decref, and report a count of 4294967295 as 3.12 does.
// - `refcount(obj)` is the true count. Python's sys.getrefcount() shows one
//   more, because its own argument is a reference for the duration of the call.
// - Not thread-safe by itself: like CPython's plain counts, they rely on the
//   GIL (or, without it, on biased counting).
#include <cstdint>
#include <string_view>
#include <type_traits>
#include <utility>

#include "pyconc/runtime/fatal.hpp"

namespace pyconc::runtime {

// What `refcount()` reports for an immortal object: _Py_IMMORTAL_REFCNT on a
// 64-bit CPython 3.12 (UINT_MAX), as sys.getrefcount(0) shows there.
inline constexpr std::int64_t immortal_refcount = 4294967295;

class Object;

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

// PyGC_Head: links a container into one list of its interpreter's heap. Both
// null: not tracked. The list heads are bare GcLinks that no object owns.
struct GcLinks {
    GcLinks* prev = nullptr;
    GcLinks* next = nullptr;
};

void incref(Object& op) noexcept;
void decref(Object& op) noexcept;
void dealloc(Object& op) noexcept;  // defined in heap.hpp

}  // namespace detail

class Object : private detail::GcLinks {
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

    // tp_finalize (Python's __del__). Runs at most once per object, with the
    // object still intact; it may store a new reference to the object
    // (resurrection), in which case the object is not freed.
    [[nodiscard]] virtual bool has_finalizer() const noexcept { return false; }
    virtual void finalize() {}

    // A container can hold references and so be part of a cycle: it is
    // tracked on its heap's list from birth to death (gc.is_tracked).
    [[nodiscard]] bool is_container() const noexcept { return layout_ == Layout::container; }
    [[nodiscard]] bool is_tracked() const noexcept { return next != nullptr; }
    [[nodiscard]] bool is_immortal() const noexcept { return refcnt_ == immortal_refcount; }
    [[nodiscard]] bool is_finalized() const noexcept { return finalized_; }
    [[nodiscard]] std::int64_t refcount() const noexcept { return refcnt_; }

protected:
    enum class Layout : std::uint8_t {
        plain,      // holds no references (int)
        container,  // may hold references (list, dict, instance)
    };
    explicit Object(Layout layout) noexcept : layout_(layout) {}

    // Small ints are born immortal; nothing else becomes so.
    struct Immortal {};
    Object(Layout layout, Immortal) noexcept : refcnt_(immortal_refcount), layout_(layout) {}

private:
    friend void detail::incref(Object&) noexcept;
    friend void detail::decref(Object&) noexcept;
    friend void detail::dealloc(Object&) noexcept;
    friend class Heap;

    // ob_refcnt. 1 at birth: the reference that make() hands out. 0 only
    // while the object is being freed; immortal_refcount for immortal objects.
    std::int64_t refcnt_ = 1;
    Layout layout_;
    // Set just before the finalizer runs, so that it never runs twice.
    bool finalized_ = false;
};

namespace detail {

inline void incref(Object& op) noexcept {
    if (op.is_immortal()) return;
    ++op.refcnt_;
}

inline void decref(Object& op) noexcept {
    if (op.is_immortal()) return;
    if (op.refcnt_ <= 0) {
        fatal("Py_DECREF", "reference count of a freed or freeing object went below zero");
    }
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

#include "pyconc/runtime/heap.hpp"  // Heap and dealloc, which need Object complete
