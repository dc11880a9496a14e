#pragma once
// multiprocessing.Value: a number in memory that processes share.
//
// How this works (Lib/multiprocessing/sharedctypes.py)
// - The value and a lock live in a shared mapping (mmap MAP_SHARED): the
//   parent and every child it forks afterwards see the same bytes. (With
//   spawn CPython passes the mapping along by pickling; here a Value is for
//   fork children.)
// - The lock is a process-shared pthread mutex: get_lock() is
//   multiprocessing's RLock-less Lock, enough for `with v.get_lock(): ...`.
// - `value()` and `set()` are single reads and writes. `v.value += 1` is a
//   read and then a write, and between them another process can write:
//   updates get lost, exactly as the documentation warns; only the lock
//   makes it exact. The reads and writes are atomic (no torn values, no
//   undefined behaviour), which is not what makes the sum right.
#include <atomic>
#include <cerrno>
#include <new>
#include <stdexcept>
#include <type_traits>

#include <pthread.h>
#include <sys/mman.h>

#include <fmt/format.h>

namespace pyconc::multiprocessing {

template <class T>
class Value {
    static_assert(std::is_arithmetic_v<T>, "a Value holds a number, as a ctypes Value does");

public:
    explicit Value(T initial = T{}) {
        void* memory =
            ::mmap(nullptr, sizeof(Shared), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
        if (memory == MAP_FAILED) throw std::runtime_error(fmt::format("mmap failed: errno {}", errno));
        shared_ = new (memory) Shared;
        pthread_mutexattr_t attributes;
        pthread_mutexattr_init(&attributes);
        pthread_mutexattr_setpshared(&attributes, PTHREAD_PROCESS_SHARED);
        pthread_mutex_init(&shared_->mutex, &attributes);
        pthread_mutexattr_destroy(&attributes);
        shared_->value = initial;
    }
    Value(const Value&) = delete;
    Value& operator=(const Value&) = delete;
    ~Value() {
        pthread_mutex_destroy(&shared_->mutex);
        shared_->~Shared();
        ::munmap(shared_, sizeof(Shared));
    }

    [[nodiscard]] T value() const noexcept {
        return std::atomic_ref<T>(shared_->value).load(std::memory_order_relaxed);
    }
    void set(T value) noexcept { std::atomic_ref<T>(shared_->value).store(value, std::memory_order_relaxed); }
    // `v.value += delta` as Python runs it: a read, then a write.
    void add_unlocked(T delta) noexcept { set(value() + delta); }

    class Lock {
    public:
        void acquire() { pthread_mutex_lock(mutex_); }
        void release() { pthread_mutex_unlock(mutex_); }
        // `with v.get_lock():`
        class [[nodiscard]] Held {
        public:
            explicit Held(Lock lock) : lock_(lock) { lock_.acquire(); }
            Held(const Held&) = delete;
            Held& operator=(const Held&) = delete;
            ~Held() { lock_.release(); }

        private:
            Lock lock_;
        };

    private:
        friend class Value;
        explicit Lock(pthread_mutex_t* mutex) noexcept : mutex_(mutex) {}
        pthread_mutex_t* mutex_;
    };
    [[nodiscard]] Lock get_lock() noexcept { return Lock{&shared_->mutex}; }

private:
    struct Shared {
        pthread_mutex_t mutex;
        T value;
    };
    Shared* shared_;
};

}  // namespace pyconc::multiprocessing
