#pragma once
// Memory and locks that processes share: what Value and Queue stand on.
//
// How this works
// - `Shared<T>` places a T in an anonymous shared mapping (mmap
//   MAP_SHARED): the process that makes it and every child it forks
//   afterwards see the same bytes.
// - `ProcessSharedMutex` is a pthread mutex made PTHREAD_PROCESS_SHARED, to
//   live inside such a T; `ProcessSharedMutex::Held` holds it for a scope.
//   It is recursive, as multiprocessing.RLock: the holder may take it again.
//   It is also PTHREAD_MUTEX_ROBUST: a process killed while it holds the
//   lock does not leave the others waiting forever. The next `lock()` gets
//   EOWNERDEAD, takes the lock over, marks it consistent and counts the
//   death (`owners_died()`), so that a lesson can say a child died holding
//   it. (CPython's multiprocessing.Lock is a POSIX semaphore, which stays
//   taken when its holder dies: there the others would hang.)
#include <cerrno>
#include <new>
#include <stdexcept>
#include <system_error>
#include <utility>

#include <pthread.h>
#include <sys/mman.h>

#include <fmt/format.h>

namespace pyconc::multiprocessing {

class ProcessSharedMutex {
public:
    ProcessSharedMutex() {
        pthread_mutexattr_t attributes;
        pthread_mutexattr_init(&attributes);
        pthread_mutexattr_setpshared(&attributes, PTHREAD_PROCESS_SHARED);
        pthread_mutexattr_setrobust(&attributes, PTHREAD_MUTEX_ROBUST);
        pthread_mutexattr_settype(&attributes, PTHREAD_MUTEX_RECURSIVE);  // an RLock, as a Value's
        pthread_mutex_init(&mutex_, &attributes);
        pthread_mutexattr_destroy(&attributes);
    }
    ProcessSharedMutex(const ProcessSharedMutex&) = delete;
    ProcessSharedMutex& operator=(const ProcessSharedMutex&) = delete;
    ~ProcessSharedMutex() { pthread_mutex_destroy(&mutex_); }

    void lock() {
        const int result = pthread_mutex_lock(&mutex_);
        if (result == EOWNERDEAD) {  // its holder died holding it: this process holds it now
            ++owners_died_;          // under the lock
            pthread_mutex_consistent(&mutex_);
        } else if (result != 0) {
            throw std::system_error(result, std::generic_category(), "a process-shared lock");
        }
    }
    void unlock() { pthread_mutex_unlock(&mutex_); }

    // How many holders died holding the lock (read it when no one holds it).
    [[nodiscard]] int owners_died() const noexcept { return owners_died_; }

    class [[nodiscard]] Held {
    public:
        explicit Held(ProcessSharedMutex& mutex) : mutex_(mutex) { mutex_.lock(); }
        Held(const Held&) = delete;
        Held& operator=(const Held&) = delete;
        ~Held() { mutex_.unlock(); }

    private:
        ProcessSharedMutex& mutex_;
    };

private:
    pthread_mutex_t mutex_{};
    int owners_died_ = 0;  // guarded by mutex_
};

// A T in memory shared with the children forked after it was made.
template <class T>
class Shared {
public:
    template <class... Args>
    explicit Shared(Args&&... args) {
        void* memory = ::mmap(nullptr, sizeof(T), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
        if (memory == MAP_FAILED) throw std::system_error(errno, std::generic_category(), "mmap");
        object_ = new (memory) T(std::forward<Args>(args)...);
    }
    Shared(const Shared&) = delete;
    Shared& operator=(const Shared&) = delete;
    ~Shared() {
        object_->~T();
        ::munmap(object_, sizeof(T));
    }

    T& operator*() const noexcept { return *object_; }
    T* operator->() const noexcept { return object_; }

private:
    T* object_ = nullptr;
};

}  // namespace pyconc::multiprocessing
