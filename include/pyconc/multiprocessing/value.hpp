#pragma once
// multiprocessing.Value: a number in memory that processes share.
//
// How this works (Lib/multiprocessing/sharedctypes.py)
// - The value and its lock live in a shared mapping (shared_memory.hpp):
//   the parent and every child it forks afterwards see the same bytes.
//   (With spawn CPython passes the mapping along by pickling; here a Value
//   is for fork children.)
// - Value(..., lock=True), the default, is a Synchronized wrapper: its
//   `.value` getter and setter each take the Value's lock, a recursive one
//   (multiprocessing.RLock), for the one read or write. So `value()` and
//   `set()` lock, and `v.value += 1` (`add`) is a locked read, the lock
//   let go, and a locked write: between the two another process takes the
//   lock and writes, and updates get lost, exactly as the documentation
//   warns. Only `with v.get_lock(): v.value += 1` makes it exact, the
//   recursive lock held across both steps.
// - The lock's round trips are what make two processes' steps interleave
//   as CPython's do: without them the two children's loops hardly overlap
//   (a bare load and store is a nanosecond), and a run loses nothing.
#include <type_traits>

#include "pyconc/multiprocessing/shared_memory.hpp"

namespace pyconc::multiprocessing {

template <class T>
class Value {
    static_assert(std::is_arithmetic_v<T>, "a Value holds a number, as a ctypes Value does");

public:
    using Lock = ProcessSharedMutex;

    explicit Value(T initial = T{}) { shared_->value = initial; }

    // v.value: under the lock (Synchronized's getter).
    [[nodiscard]] T value() const {
        const Lock::Held held{shared_->lock};
        return shared_->value;
    }
    // v.value = value: under the lock (Synchronized's setter).
    void set(T value) {
        const Lock::Held held{shared_->lock};
        shared_->value = value;
    }
    // `v.value += delta` as Python runs it: the getter, then the setter,
    // each taking the lock on its own.
    void add(T delta) { set(value() + delta); }

    // v.get_lock(); `with v.get_lock():` is `const Value<T>::Lock::Held held{v.get_lock()};`
    [[nodiscard]] Lock& get_lock() noexcept { return shared_->lock; }

private:
    struct State {
        ProcessSharedMutex lock;
        T value{};
    };
    Shared<State> shared_;
};

}  // namespace pyconc::multiprocessing
