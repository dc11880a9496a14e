#pragma once
// Per-object locks of the free-threaded build (PEP 703): PyMutex and
// Py_BEGIN_CRITICAL_SECTION / Py_END_CRITICAL_SECTION.
//
// How this works
// - A PyMutex is one byte: 0 unlocked, 1 locked. Taking it is one
//   compare-and-swap when it is free; a thread that finds it taken spins
//   for a moment and then yields the core until it is free (CPython parks
//   the thread after a short spin; the model's critical sections are a few
//   instructions long, so yielding is enough).
// - A CriticalSection holds an object's mutex for one operation on it
//   (a dict lookup, a store), so the container itself is never corrupted.
//   It does not make a sequence of operations atomic: `counter += 1` is a
//   load and a store, two critical sections, with room between them.
// - With the GIL the critical section does nothing (the macros expand to
//   nothing in the default build), so the GIL mode pays only a test.
#include <atomic>
#include <cstdint>
#include <thread>

namespace pyconc::runtime {

class PyMutex {
public:
    PyMutex() = default;
    PyMutex(const PyMutex&) = delete;
    PyMutex& operator=(const PyMutex&) = delete;

    void lock() noexcept {
        for (int spins = 0;; ++spins) {
            std::uint8_t unlocked = 0;
            if (bits_.compare_exchange_weak(unlocked, 1, std::memory_order_acquire,
                                            std::memory_order_relaxed)) {
                return;
            }
            if (spins > spin_limit) std::this_thread::yield();
        }
    }
    void unlock() noexcept { bits_.store(0, std::memory_order_release); }

private:
    static constexpr int spin_limit = 40;
    std::atomic<std::uint8_t> bits_{0};
};
static_assert(sizeof(PyMutex) == 1, "a PyMutex is one byte, as in CPython");

class CriticalSection {
public:
    // Takes `mutex` when `needed` (no GIL); otherwise nothing.
    CriticalSection(PyMutex& mutex, bool needed) noexcept : mutex_(needed ? &mutex : nullptr) {
        if (mutex_ != nullptr) mutex_->lock();
    }
    CriticalSection(const CriticalSection&) = delete;
    CriticalSection& operator=(const CriticalSection&) = delete;
    ~CriticalSection() {
        if (mutex_ != nullptr) mutex_->unlock();
    }

private:
    PyMutex* mutex_;
};

}  // namespace pyconc::runtime
