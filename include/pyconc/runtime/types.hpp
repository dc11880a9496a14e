#pragma once
// The model's built-in types: object, int, str, tuple, list, dict, and
// classes with their instances.
//
// How this works
// - `Int` is immutable: `counter + 1` makes a new int, never changes the old
//   one. `Int::from(v)` returns the cached, immortal object for -5..256
//   (_PY_NSMALLNEGINTS, _PY_NSMALLPOSINTS in CPython) and a new object for
//   any other value. Ints and strs hold no references: not containers.
// - `Tuple`, `List`, `Dict` and `Instance` hold strong references and are
//   containers: traversable, clearable, tracked by the collector. As in
//   CPython, a dict is tracked only once it holds something that may be
//   tracked (MAINTAIN_TRACKING), and the collector stops tracking tuples
//   (and, in full collections, dicts) that hold no tracked container.
// - A `Class` may have a finalizer, Python's __del__, which runs when an
//   instance is about to be freed (see heap.hpp and gc.hpp for when).
// - Sizes follow CPython's on 64-bit: an int is 24 bytes here (28 there),
//   both in the 32-byte size class; a list is 64 bytes with its GC links,
//   as CPython's 56 are in the 64-byte class.
#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include "pyconc/runtime/critical_section.hpp"
#include "pyconc/runtime/heap.hpp"
#include "pyconc/runtime/object.hpp"

namespace pyconc::runtime {

class Int final : public Object {
public:
    static constexpr std::int64_t smallest_cached = -5;  // -_PY_NSMALLNEGINTS
    static constexpr std::int64_t largest_cached = 256;  // _PY_NSMALLPOSINTS - 1

    // PyLong_FromLongLong: the cached object for a small value, else a new one.
    // A small int is immortal: a reference to it changes no count (incref
    // would leave it alone), so none is taken, as 3.12's get_small_int.
    [[nodiscard]] static Ref<Int> from(std::int64_t value) {
        if (value >= smallest_cached && value <= largest_cached) {
            return Ref<Int>::steal(&small_ints()[static_cast<std::size_t>(value - smallest_cached)]);
        }
        return make<Int>(value);
    }

    [[nodiscard]] std::string_view type_name() const noexcept override { return "int"; }
    [[nodiscard]] std::int64_t value() const noexcept { return value_; }

private:
    friend class Heap;
    explicit Int(std::int64_t value) noexcept : value_(value) { set_kind(Kind::int_object); }
    Int(std::int64_t value, Immortal immortal) noexcept : Object(immortal), value_(value) {
        set_kind(Kind::int_object);
    }

    static constexpr std::size_t cache_size = static_cast<std::size_t>(largest_cached - smallest_cached + 1);
    using SmallInts = std::array<Int, cache_size>;

    // The small-int cache, shared by every interpreter as in CPython 3.12's
    // _PyRuntime. Its objects are immortal, in static storage, never freed;
    // made before main (no guard to test on every use).
    static SmallInts& small_ints() noexcept { return small_ints_; }
    static SmallInts small_ints_;
    template <std::size_t... I>
    static SmallInts make_small_ints(std::index_sequence<I...> /*values*/) noexcept {
        return SmallInts{Int(smallest_cached + static_cast<std::int64_t>(I), Immortal{})...};
    }

    std::int64_t value_;
};

static_assert(sizeof(Int) == Object::int_size, "Heap::free gives an int's block back by this size");
static_assert(std::is_trivially_destructible_v<std::int64_t>,
              "an Int's storage is reused without its destructor");

// NOLINTNEXTLINE(cert-err58-cpp): made by noexcept constructors
inline Int::SmallInts Int::small_ints_ = Int::make_small_ints(std::make_index_sequence<Int::cache_size>{});

// object(): the smallest object there is, a bare header (16 bytes, the
// first size class), as advance/04_memory_arenas allocates by the million.
class PlainObject final : public Object {
public:
    [[nodiscard]] std::string_view type_name() const noexcept override { return "object"; }

private:
    friend class Heap;
    PlainObject() noexcept = default;
};

// An object that holds a resource of this process only (a lock, an open
// file, a socket): `_thread.lock`, say. pickle refuses it ("cannot pickle
// '_thread.lock' object"), so it cannot cross to another interpreter or
// process.
class ProcessLocal final : public Object {
public:
    [[nodiscard]] std::string_view type_name() const noexcept override { return type_name_; }

private:
    friend class Heap;
    explicit ProcessLocal(std::string_view type_name) noexcept : type_name_(type_name) {}
    std::string_view type_name_;  // a literal: "_thread.lock"
};

class Str final : public Object {
public:
    [[nodiscard]] std::string_view type_name() const noexcept override { return "str"; }
    [[nodiscard]] const std::string& value() const noexcept { return value_; }

private:
    friend class Heap;
    explicit Str(std::string value) : value_(std::move(value)) { set_kind(Kind::str_object); }

    std::string value_;
};

namespace detail {

// tp_traverse and tp_clear for a container whose references are a vector
// of items (tuple, list). Clearing moves the items out first, so that a
// finalizer that runs during the decrefs sees an empty container, never a
// half-cleared one.
inline void traverse_items(const std::vector<Ref<Object>>& items, Visitor& visit) {
    for (const Ref<Object>& item : items) {
        if (item) visit.visit(*item);
    }
}
inline void clear_items(std::vector<Ref<Object>>& items) {
    std::vector<Ref<Object>> dropped = std::move(items);
    items.clear();
}

}  // namespace detail

// _PyObject_GC_MAY_BE_TRACKED: a container that is, or may become, tracked.
// An untracked tuple never becomes tracked again; any other container may.
[[nodiscard]] bool may_be_tracked(const Object* op) noexcept;

class Tuple final : public Container {
public:
    [[nodiscard]] std::string_view type_name() const noexcept override { return "tuple"; }
    [[nodiscard]] std::size_t size() const noexcept { return items_.size(); }
    [[nodiscard]] const Ref<Object>& operator[](std::size_t i) const { return items_.at(i); }

    void traverse(Visitor& visit) override { detail::traverse_items(items_, visit); }
    void clear() override {
        holds_no_containers();
        detail::clear_items(items_);
    }
    [[nodiscard]] bool may_untrack(bool /*full_collection*/) const noexcept override {
        for (const Ref<Object>& item : items_) {
            if (may_be_tracked(item.get())) return false;
        }
        return true;
    }

    // tuple(items): make<Tuple>(Tuple::FromItems{}, items), for a size known at run time.
    struct FromItems {};

private:
    friend class Heap;
    Tuple(FromItems /*tag*/, std::vector<Ref<Object>> items)
        : Container(MayUntrack{}), items_(std::move(items)) {
        holds_no_containers();
        for (const Ref<Object>& item : items_) holding(item.get());
    }
    template <class... Items>
    explicit Tuple(Items&&... items) : Container(MayUntrack{}) {
        holds_no_containers();
        items_.reserve(sizeof...(Items));
        (items_.push_back(std::forward<Items>(items)), ...);
        for (const Ref<Object>& item : items_) holding(item.get());
    }

    std::vector<Ref<Object>> items_;
};

class List final : public Container {
public:
    [[nodiscard]] std::string_view type_name() const noexcept override { return "list"; }

    void append(Ref<Object> item) {
        holding(item.get());
        items_.push_back(std::move(item));
    }
    [[nodiscard]] std::size_t size() const noexcept { return items_.size(); }
    [[nodiscard]] const Ref<Object>& operator[](std::size_t i) const { return items_.at(i); }
    // list[i] = value; the old item is released after the new one is stored.
    void set(std::size_t i, Ref<Object> value) {
        holding(value.get());
        items_.at(i) = std::move(value);
    }

    void traverse(Visitor& visit) override { detail::traverse_items(items_, visit); }
    void clear() override {  // list_clear
        holds_no_containers();
        detail::clear_items(items_);
    }

private:
    friend class Heap;
    template <class... Items>
    explicit List(Items&&... items) {
        holds_no_containers();
        items_.reserve(sizeof...(Items));
        (items_.push_back(std::forward<Items>(items)), ...);
        for (const Ref<Object>& item : items_) holding(item.get());
    }

    std::vector<Ref<Object>> items_;
};

// A dict with int or str keys, compared by value; entries in insertion order.
class Dict final : public Container {
public:
    static constexpr bool tracked_at_birth = false;  // until it holds a container

    [[nodiscard]] std::string_view type_name() const noexcept override { return "dict"; }
    [[nodiscard]] std::size_t size() const noexcept { return entries_.size(); }

    // d[key] = value
    void set(const Ref<Object>& key, Ref<Object> value) {
        check_key(key);
        maintain_tracking(key.get(), value.get());
        holding(key.get());
        holding(value.get());
        for (auto& [existing, slot] : entries_) {
            if (same_key(*existing, *key)) {
                slot = std::move(value);
                return;
            }
        }
        entries_.emplace_back(key, std::move(value));
        keys_version_ = new_keys_version();
    }
    // d[name] = value and d.get(name) for a str key, without making a str to
    // look it up: what LOAD_GLOBAL and STORE_GLOBAL do with a module's dict.
    void set(std::string_view name, Ref<Object> value) {
        for (auto& [existing, slot] : entries_) {
            if (is_str(*existing, name)) {
                maintain_tracking(nullptr, value.get());
                holding(value.get());
                slot = std::move(value);
                return;
            }
        }
        set(make<Str>(std::string(name)), std::move(value));
    }
    // dk_version: changes whenever a key is added or removed, so that an
    // index found once (LOAD_GLOBAL's inline cache, PEP 659) stays right
    // while the version is the same. Versions come from one counter, as
    // CPython's do, so no two dicts' versions are ever equal.
    [[nodiscard]] std::uint64_t keys_version() const noexcept { return keys_version_; }
    static constexpr std::size_t not_found = static_cast<std::size_t>(-1);
    [[nodiscard]] std::size_t index_of(std::string_view name) const noexcept {
        for (std::size_t i = 0; i < entries_.size(); ++i) {
            if (is_str(*entries_[i].first, name)) return i;
        }
        return not_found;
    }
    // The value at an index that index_of gave under the current keys_version.
    [[nodiscard]] Object* value_at(std::size_t index) const noexcept { return entries_[index].second.get(); }
    [[nodiscard]] const Object& key_at(std::size_t index) const noexcept { return *entries_[index].first; }
    // Stores `value` there and hands back the value it replaces.
    [[nodiscard]] Ref<Object> exchange_value_at(std::size_t index, Ref<Object> value) {
        maintain_tracking(nullptr, value.get());
        holding(value.get());
        return std::exchange(entries_[index].second, std::move(value));
    }

    // The per-object lock of the free-threaded build (ob_mutex): what
    // Py_BEGIN_CRITICAL_SECTION(dict) takes.
    [[nodiscard]] PyMutex& mutex() const noexcept { return mutex_; }

    [[nodiscard]] Object* get(std::string_view name) const noexcept {
        for (const auto& [existing, slot] : entries_) {
            if (is_str(*existing, name)) return slot.get();
        }
        return nullptr;
    }

    // d.get(key): a borrowed reference, null when absent.
    [[nodiscard]] Object* get(const Ref<Object>& key) const {
        check_key(key);
        for (const auto& [existing, slot] : entries_) {
            if (same_key(*existing, *key)) return slot.get();
        }
        return nullptr;
    }

    void traverse(Visitor& visit) override {
        for (auto& [key, value] : entries_) {
            visit.visit(*key);
            if (value) visit.visit(*value);
        }
    }
    void clear() override {
        holds_no_containers();
        auto entries = std::move(entries_);
        entries_.clear();
        keys_version_ = new_keys_version();
    }
    [[nodiscard]] bool may_untrack(bool full_collection) const noexcept override {
        if (!full_collection) return false;
        for (const auto& [key, value] : entries_) {
            if (may_be_tracked(key.get()) || may_be_tracked(value.get())) return false;
        }
        return true;
    }

private:
    friend class Heap;
    Dict() : Container(MayUntrack{}) { holds_no_containers(); }

    static void check_key(const Ref<Object>& key) {
        if (!key || (!key->is_int() && !key->is_str()))
            fatal("Dict", "the model's dict keys are ints or strs");
    }
    static bool is_str(const Object& key, std::string_view name) noexcept {
        return key.is_str() && static_cast<const Str&>(key).value() == name;
    }
    static bool same_key(const Object& a, const Object& b) noexcept {
        if (a.is_int())
            return b.is_int() && static_cast<const Int&>(a).value() == static_cast<const Int&>(b).value();
        return a.is_str() && b.is_str() &&
               static_cast<const Str&>(a).value() == static_cast<const Str&>(b).value();
    }
    void maintain_tracking(const Object* key, const Object* value) noexcept {
        if (!is_tracked() && (may_be_tracked(key) || may_be_tracked(value)))
            Heap::current().gc().track(*this);
    }

    std::vector<std::pair<Ref<Object>, Ref<Object>>> entries_;
    static std::uint64_t new_keys_version() noexcept {
        static std::atomic<std::uint64_t> next{1};
        return next.fetch_add(1, std::memory_order_relaxed);
    }

    std::uint64_t keys_version_ = new_keys_version();
    mutable PyMutex mutex_;
};

class Instance;

// A class: its name, its optional __del__, and the attribute names its
// instances have used, in order: CPython 3.12's shared keys, so that each
// instance stores only its values. Holds no references to other model
// objects, so it is not a container here.
class Class final : public Object {
public:
    using Finalizer = std::function<void(Instance& self)>;

    [[nodiscard]] std::string_view type_name() const noexcept override { return "type"; }
    [[nodiscard]] const std::string& name() const noexcept { return name_; }
    [[nodiscard]] const Finalizer& finalizer() const noexcept { return del_; }
    [[nodiscard]] bool has_finalizer() const noexcept { return has_del_; }

    // The slot of attribute `name` in every instance, or npos.
    static constexpr std::size_t npos = static_cast<std::size_t>(-1);
    [[nodiscard]] std::size_t slot_of(std::string_view name) const noexcept {
        for (std::size_t i = 0; i < keys_.size(); ++i) {
            if (keys_[i] == name) return i;
        }
        return npos;
    }
    std::size_t add_slot(std::string_view name) {
        keys_.emplace_back(name);
        return keys_.size() - 1;
    }

private:
    friend class Heap;
    explicit Class(std::string name, Finalizer del = {})
        : name_(std::move(name)), del_(std::move(del)), has_del_(static_cast<bool>(del_)) {}

    std::string name_;
    Finalizer del_;  // __del__, or empty
    bool has_del_;
    std::vector<std::string> keys_;  // shared attribute names
};

// An instance of a Class. Its attribute values sit in slots numbered by the
// class's shared keys: the first few inside the object, as CPython 3.12
// keeps an instance's values inline, the rest in an overflow vector. Under
// a profile of 3.10 or older (Heap::instance_dicts) they sit in a __dict__
// of the instance's own, made at its first setattr, and the first inline
// slot holds that dict (3.10's dict pointer at tp_dictoffset): one more
// container per instance, which a collection finds and counts with it.
class Instance final : public Container {
public:
    [[nodiscard]] std::string_view type_name() const noexcept override { return class_->name(); }
    [[nodiscard]] const Class& type() const noexcept { return *class_; }

    // setattr(self, name, value); an empty Ref stands for None.
    void setattr(std::string_view name, Ref<Object> value) {
        if (has_dict_layout()) {
            set_in_dict(name, std::move(value));
            return;
        }
        std::size_t slot = class_->slot_of(name);
        if (slot == Class::npos) slot = class_->add_slot(name);
        holding(value.get());
        value_at(slot) = std::move(value);  // the old value is released last
    }
    // getattr(self, name): a borrowed reference, null when unset or None.
    [[nodiscard]] Object* getattr(std::string_view name) const noexcept {
        if (has_dict_layout()) return inline_[0] ? dict()->get(name) : nullptr;
        const std::size_t slot = class_->slot_of(name);
        if (slot == Class::npos) return nullptr;
        if (slot < inline_slots) return inline_[slot].get();
        if (!overflow_ || slot - inline_slots >= overflow_->size()) return nullptr;
        return (*overflow_)[slot - inline_slots].get();
    }

    void traverse(Visitor& visit) override {
        visit.visit(*class_);
        for (const Ref<Object>& value : inline_) {
            if (value) visit.visit(*value);
        }
        if (!overflow_) return;
        for (const Ref<Object>& value : *overflow_) {
            if (value) visit.visit(*value);
        }
    }
    // subtype_clear: the attribute values go, the class stays. Each value
    // is moved out before its decref, so a finalizer never sees it twice.
    void clear() override {
        holds_no_containers();
        for (Ref<Object>& value : inline_) Ref<Object> dropped = std::move(value);
        auto overflow = std::move(overflow_);
    }

    [[nodiscard]] bool has_finalizer() const noexcept override { return class_->has_finalizer(); }
    void finalize() override { class_->finalizer()(*this); }

private:
    friend class Heap;
    static constexpr std::size_t inline_slots = 1;  // 64 bytes in all, a size class of its own

    explicit Instance(Ref<Class> cls) : class_(std::move(cls)) { holds_no_containers(); }

    Ref<Object>& value_at(std::size_t slot) {
        if (slot < inline_slots) return inline_[slot];
        if (!overflow_) overflow_ = std::make_unique<std::vector<Ref<Object>>>();
        if (slot - inline_slots >= overflow_->size()) overflow_->resize(slot - inline_slots + 1);
        return (*overflow_)[slot - inline_slots];
    }

    // The interpreter's layout, the same for all its instances.
    [[nodiscard]] static bool has_dict_layout() { return Heap::current().instance_dicts(); }
    [[nodiscard]] Dict* dict() const noexcept { return static_cast<Dict*>(inline_[0].get()); }
    // 3.10's __dict__: made untracked, as PyDict_New makes it; it is tracked
    // once it holds a container (MAINTAIN_TRACKING).
    void set_in_dict(std::string_view name, Ref<Object> value) {
        if (!inline_[0]) {
            inline_[0] = make<Dict>();
            holding(inline_[0].get());
        }
        dict()->set(name, std::move(value));
    }

    Ref<Class> class_;
    std::array<Ref<Object>, inline_slots> inline_;
    std::unique_ptr<std::vector<Ref<Object>>> overflow_;  // slots past the inline ones, rarely needed
};

// Calling a class: `Noisy()` without __init__; set the attributes after.
[[nodiscard]] inline Ref<Instance> new_instance(const Ref<Class>& cls) {
    return make<Instance>(cls);
}

inline bool may_be_tracked(const Object* op) noexcept {
    if (op == nullptr || !op->is_gc()) return false;
    const auto* container = static_cast<const Container*>(op);
    return container->is_tracked() || dynamic_cast<const Tuple*>(op) == nullptr;
}

}  // namespace pyconc::runtime
