#pragma once
// multiprocessing.Queue: a queue between processes.
//
// How this works (Lib/multiprocessing/queues.py)
// - Items travel through a pipe (pickle.hpp, connection.hpp). Several
//   processes may put and get at once: a writer holds the writers' lock for
//   a whole message, a reader the readers' lock, so messages never
//   interleave. Both locks are process-shared mutexes in shared memory
//   (shared_memory.hpp).
// - Made before the fork, it is shared with the children forked after
//   (as the Queue a Process gets in Python's args).
// - get(timeout) raises Empty when nothing came in time. put() writes
//   straight into the pipe (CPython hands it to a feeder thread instead), so
//   a put can wait while the pipe is full and nobody reads.
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>

#include "pyconc/multiprocessing/connection.hpp"
#include "pyconc/multiprocessing/shared_memory.hpp"

namespace pyconc::multiprocessing {

class Empty : public std::runtime_error {
public:
    Empty() : std::runtime_error("Empty") {}
};

template <class T>
class Queue {
public:
    Queue() : Queue(Pipe()) {}
    Queue(const Queue&) = delete;
    Queue& operator=(const Queue&) = delete;
    ~Queue() = default;

    void put(const T& item) {
        const std::string bytes = dumps(item);
        const ProcessSharedMutex::Held held{locks_->writers};
        writer_.send_bytes(bytes);
    }

    // Waits for an item (at most `timeout` seconds: then Empty).
    T get(std::optional<double> timeout_seconds = std::nullopt) {
        const ProcessSharedMutex::Held held{locks_->readers};
        if (timeout_seconds && !reader_.poll(*timeout_seconds)) throw Empty();
        return loads<T>(reader_.recv_bytes());
    }
    // Approximate, as in Python: another process may get or put meanwhile.
    [[nodiscard]] bool empty() const { return !reader_.poll(0); }

private:
    explicit Queue(std::pair<Connection, Connection> ends)
        : reader_(std::move(ends.first)), writer_(std::move(ends.second)) {}

    struct Locks {
        ProcessSharedMutex readers;
        ProcessSharedMutex writers;
    };

    Connection reader_;
    Connection writer_;
    Shared<Locks> locks_;
};

}  // namespace pyconc::multiprocessing
