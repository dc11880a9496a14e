#pragma once
// multiprocessing.Queue: a queue between processes.
//
// How this works (Lib/multiprocessing/queues.py)
// - Items travel through a pipe (pickle.hpp, connection.hpp). Several
//   processes may put and get at once: a writer holds the writers' lock for
//   a whole message, a reader the readers' lock, so messages never
//   interleave. Both locks are process-shared mutexes in shared memory.
// - Made before the fork, it is shared with the children forked after
//   (as the Queue a Process gets in Python's args).
// - get(timeout) raises Empty when nothing came in time. put() writes
//   straight into the pipe (CPython hands it to a feeder thread instead), so
//   a put can wait while the pipe is full and nobody reads.
#include <cerrno>
#include <new>
#include <optional>
#include <stdexcept>
#include <utility>

#include <pthread.h>
#include <sys/mman.h>

#include <fmt/format.h>

#include "pyconc/multiprocessing/connection.hpp"

namespace pyconc::multiprocessing {

class Empty : public std::runtime_error {
public:
    Empty() : std::runtime_error("Empty") {}
};

template <class T>
class Queue {
public:
    Queue() : Queue(Pipe()) {}

private:
    explicit Queue(std::pair<Connection, Connection> ends)
        : reader_(std::move(ends.first)), writer_(std::move(ends.second)) {
        void* memory =
            ::mmap(nullptr, sizeof(Locks), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
        if (memory == MAP_FAILED) throw std::runtime_error(fmt::format("mmap failed: errno {}", errno));
        locks_ = new (memory) Locks;
        pthread_mutexattr_t attributes;
        pthread_mutexattr_init(&attributes);
        pthread_mutexattr_setpshared(&attributes, PTHREAD_PROCESS_SHARED);
        pthread_mutex_init(&locks_->readers, &attributes);
        pthread_mutex_init(&locks_->writers, &attributes);
        pthread_mutexattr_destroy(&attributes);
    }

public:
    Queue(const Queue&) = delete;
    Queue& operator=(const Queue&) = delete;
    ~Queue() {
        pthread_mutex_destroy(&locks_->readers);
        pthread_mutex_destroy(&locks_->writers);
        locks_->~Locks();
        ::munmap(locks_, sizeof(Locks));
    }

    void put(const T& item) {
        const std::string bytes = dumps(item);
        const Held held{locks_->writers};
        writer_.send_bytes(bytes);
    }

    // Waits for an item (at most `timeout` seconds: then Empty).
    T get(std::optional<double> timeout_seconds = std::nullopt) {
        const Held held{locks_->readers};
        if (timeout_seconds && !reader_.poll(*timeout_seconds)) throw Empty();
        return loads<T>(reader_.recv_bytes());
    }
    // Approximate, as in Python: another process may get or put meanwhile.
    [[nodiscard]] bool empty() const { return !reader_.poll(0); }

private:
    struct Locks {
        pthread_mutex_t readers;
        pthread_mutex_t writers;
    };
    class Held {
    public:
        explicit Held(pthread_mutex_t& mutex) : mutex_(mutex) { pthread_mutex_lock(&mutex_); }
        Held(const Held&) = delete;
        Held& operator=(const Held&) = delete;
        ~Held() { pthread_mutex_unlock(&mutex_); }

    private:
        pthread_mutex_t& mutex_;
    };

    Connection reader_;
    Connection writer_;
    Locks* locks_ = nullptr;
};

}  // namespace pyconc::multiprocessing
