#pragma once
// PyThread_type_lock: the OS lock under threading.Lock. On Linux CPython
// makes it a POSIX semaphore (Python/thread_pthread.h, USE_SEMAPHORES), and
// so does the model.
//
// How this works
// - `try_acquire` is sem_trywait, `acquire` is sem_wait (again after a
//   signal interrupts it), `release` is sem_post. Any thread may release
//   it, as any thread may release a Python lock; it is not a mutex.
// - Why not std::binary_semaphore: libstdc++ 12 (GCC 12.2, Debian 12's)
//   builds it on its atomic waits, whose release skips the wake-up when it
//   sees no sleeper (its own comment at bits/semaphore_base.h:257 says the
//   narrower wake-up was found not to wake a waiting thread, cause unknown;
//   GCC bug 104928). Under contention an acquire could sleep on while the
//   lock was free: the likely cause of the rare hangs of the locked counter
//   runs (threading_example, the tour). glibc's semaphore counts its
//   sleepers and wakes them.
#include <cerrno>
#include <semaphore.h>

#include "pyconc/runtime/fatal.hpp"

namespace pyconc::runtime {

class ThreadLock {
public:
    explicit ThreadLock(unsigned initial = 1) {
        if (sem_init(&semaphore_, 0, initial) != 0) fatal("PyThread_allocate_lock", "sem_init failed");
    }
    ThreadLock(const ThreadLock&) = delete;
    ThreadLock& operator=(const ThreadLock&) = delete;
    ~ThreadLock() { sem_destroy(&semaphore_); }

    [[nodiscard]] bool try_acquire() noexcept { return sem_trywait(&semaphore_) == 0; }
    void acquire() noexcept {
        while (sem_wait(&semaphore_) != 0) {
            if (errno != EINTR) fatal("PyThread_acquire_lock", "sem_wait failed");
        }
    }
    void release() noexcept {
        if (sem_post(&semaphore_) != 0) fatal("PyThread_release_lock", "sem_post failed");
    }

private:
    sem_t semaphore_{};
};

}  // namespace pyconc::runtime
