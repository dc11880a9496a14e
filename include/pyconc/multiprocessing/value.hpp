#pragma once
// multiprocessing.Value: a number in memory that processes share.
//
// How this works (Lib/multiprocessing/sharedctypes.py)
// - The value and its lock live in a shared mapping (shared_memory.hpp):
//   the parent and every child it forks afterwards see the same bytes.
//   (With spawn CPython passes the mapping along by pickling; here a Value
//   is for fork children.)
// - get_lock() gives the process-shared lock, enough for `with
//   v.get_lock(): ...`.
// - `value()` and `set()` are single reads and writes. `v.value += 1` is a
//   read and then a write, and between them another process can write:
//   updates get lost, exactly as the documentation warns; only the lock
//   makes it exact. The reads and writes are atomic (no torn values, no
//   undefined behaviour), which is not what makes the sum right.
#include <atomic>
#include <type_traits>

#include "pyconc/multiprocessing/shared_memory.hpp"

namespace pyconc::multiprocessing {

template <class T>
class Value {
    static_assert(std::is_arithmetic_v<T>, "a Value holds a number, as a ctypes Value does");

public:
    using Lock = ProcessSharedMutex;

    explicit Value(T initial = T{}) { shared_->value = initial; }

    [[nodiscard]] T value() const noexcept {
        return std::atomic_ref<T>(shared_->value).load(std::memory_order_relaxed);
    }
    void set(T value) noexcept { std::atomic_ref<T>(shared_->value).store(value, std::memory_order_relaxed); }
    // `v.value += delta` as Python runs it: a read, then a write.
    void add_unlocked(T delta) noexcept { set(value() + delta); }

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
