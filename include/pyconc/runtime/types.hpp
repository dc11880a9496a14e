#pragma once
// The model's built-in types: int, str, list, and classes with their instances.
//
// How this works
// - `Int` is immutable: `counter + 1` makes a new int, never changes the old
//   one. `Int::from(v)` returns the cached, immortal object for -5..256
//   (_PY_NSMALLNEGINTS, _PY_NSMALLPOSINTS in CPython) and a new object for any
//   other value. Ints and strs hold no references: they are not tracked.
// - `List` holds strong references to its items; `Instance` holds strong
//   references to its attribute values and to its `Class`. Both are
//   containers: tracked from birth, traversable, clearable.
// - A `Class` may have a finalizer, Python's __del__, which runs when an
//   instance is about to be freed (see heap.hpp for when exactly).
#include <array>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "pyconc/runtime/object.hpp"

namespace pyconc::runtime {

class Int final : public Object {
public:
    static constexpr std::int64_t smallest_cached = -5;  // -_PY_NSMALLNEGINTS
    static constexpr std::int64_t largest_cached = 256;  // _PY_NSMALLPOSINTS - 1

    // PyLong_FromLongLong: the cached object for a small value, else a new one.
    [[nodiscard]] static Ref<Int> from(std::int64_t value) {
        if (value >= smallest_cached && value <= largest_cached) {
            return Ref<Int>::new_ref(small_ints()[static_cast<std::size_t>(value - smallest_cached)]);
        }
        return make<Int>(value);
    }

    [[nodiscard]] std::string_view type_name() const noexcept override { return "int"; }
    [[nodiscard]] std::int64_t value() const noexcept { return value_; }

private:
    friend class Heap;
    explicit Int(std::int64_t value) noexcept : Object(Layout::plain), value_(value) {}
    Int(std::int64_t value, Immortal immortal) noexcept : Object(Layout::plain, immortal), value_(value) {}

    // The small-int cache, shared by every interpreter as in CPython 3.12's
    // _PyRuntime. Its objects are immortal and live as long as the program.
    using SmallInts = std::array<Int, static_cast<std::size_t>(largest_cached - smallest_cached + 1)>;
    static SmallInts& small_ints() {
        static SmallInts cache = make_small_ints(
            std::make_index_sequence<static_cast<std::size_t>(largest_cached - smallest_cached + 1)>{});
        return cache;
    }
    template <std::size_t... I>
    static SmallInts make_small_ints(std::index_sequence<I...> /*values*/) {
        return SmallInts{Int(smallest_cached + static_cast<std::int64_t>(I), Immortal{})...};
    }

    std::int64_t value_;
};

class Str final : public Object {
public:
    [[nodiscard]] std::string_view type_name() const noexcept override { return "str"; }
    [[nodiscard]] const std::string& value() const noexcept { return value_; }

private:
    friend class Heap;
    explicit Str(std::string value) : Object(Layout::plain), value_(std::move(value)) {}

    std::string value_;
};

class List final : public Object {
public:
    [[nodiscard]] std::string_view type_name() const noexcept override { return "list"; }

    void append(Ref<Object> item) { items_.push_back(std::move(item)); }
    [[nodiscard]] std::size_t size() const noexcept { return items_.size(); }
    [[nodiscard]] const Ref<Object>& operator[](std::size_t i) const { return items_.at(i); }

    void traverse(Visitor& visit) override {
        for (const Ref<Object>& item : items_) {
            if (item) visit.visit(*item);
        }
    }
    // list_clear: the vector is moved out first, so that a finalizer that
    // runs during the decrefs sees an empty list, never a half-cleared one.
    void clear() override {
        std::vector<Ref<Object>> items = std::move(items_);
        items_.clear();
    }

private:
    friend class Heap;
    template <class... Items>
    explicit List(Items&&... items) : Object(Layout::container) {
        (items_.push_back(std::forward<Items>(items)), ...);
    }

    std::vector<Ref<Object>> items_;
};

class Instance;

// A class: its name and its optional __del__. Holds no references to other
// model objects, so it is not a container.
class Class final : public Object {
public:
    using Finalizer = std::function<void(Instance& self)>;

    [[nodiscard]] std::string_view type_name() const noexcept override { return "type"; }
    [[nodiscard]] const std::string& name() const noexcept { return name_; }
    [[nodiscard]] const Finalizer& finalizer() const noexcept { return del_; }

private:
    friend class Heap;
    explicit Class(std::string name, Finalizer del = {})
        : Object(Layout::plain), name_(std::move(name)), del_(std::move(del)) {}

    std::string name_;
    Finalizer del_;  // __del__, or empty
};

// An instance of a Class, with named attributes (its __dict__, kept inline).
class Instance final : public Object {
public:
    [[nodiscard]] std::string_view type_name() const noexcept override { return class_->name(); }
    [[nodiscard]] const Class& type() const noexcept { return *class_; }

    // setattr(self, name, value); an empty Ref stands for None.
    void setattr(std::string_view name, Ref<Object> value) {
        for (auto& [attribute, slot] : attributes_) {
            if (attribute == name) {
                slot = std::move(value);  // the old value is released last
                return;
            }
        }
        attributes_.emplace_back(std::string(name), std::move(value));
    }
    // getattr(self, name): a borrowed reference, null when unset or None.
    [[nodiscard]] Object* getattr(std::string_view name) const noexcept {
        for (const auto& [attribute, slot] : attributes_) {
            if (attribute == name) return slot.get();
        }
        return nullptr;
    }

    void traverse(Visitor& visit) override {
        visit.visit(*class_);
        for (auto& [attribute, slot] : attributes_) {
            if (slot) visit.visit(*slot);
        }
    }
    void clear() override {
        auto attributes = std::move(attributes_);
        attributes_.clear();
    }

    [[nodiscard]] bool has_finalizer() const noexcept override {
        return static_cast<bool>(class_->finalizer());
    }
    void finalize() override { class_->finalizer()(*this); }

private:
    friend class Heap;
    explicit Instance(Ref<Class> cls) : Object(Layout::container), class_(std::move(cls)) {}

    Ref<Class> class_;  // kept on clear(): the type outlives the instance's attributes
    std::vector<std::pair<std::string, Ref<Object>>> attributes_;
};

// Calling a class: `Noisy("a")` without __init__; set the attributes after.
[[nodiscard]] inline Ref<Instance> new_instance(const Ref<Class>& cls) {
    return make<Instance>(cls);
}

}  // namespace pyconc::runtime
