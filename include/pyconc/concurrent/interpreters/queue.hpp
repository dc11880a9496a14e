#pragma once
// concurrent.interpreters.Queue (Lib/concurrent/interpreters/_queues.py):
// a FIFO queue any interpreter may use, that carries copies.
//
// How this works
// - The queue belongs to no interpreter: it holds cross-interpreter data
//   (crossinterp.hpp), never a model object. `put(obj)` takes the object
//   apart in the sender (a cheap copy, or a pickle; NotShareableError, and
//   nothing queued, for what cannot cross); `get()` makes a new object on
//   the receiver's heap, the current one on the calling thread.
// - `get()` waits while the queue is empty; called with the caller's thread
//   state, it releases the caller's GIL while it waits, as queue.get() does.
//   `get_nowait()` raises QueueEmpty instead.
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <utility>

#include "pyconc/concurrent/interpreters/crossinterp.hpp"
#include "pyconc/runtime/thread_state.hpp"

namespace pyconc::concurrent::interpreters {

// concurrent.interpreters.QueueEmpty.
class QueueEmpty : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

class Queue {
public:
    // Queue.put(obj): how it crossed (cheap copy or pickle).
    Crossing put(const runtime::Object* object) {
        XiData data = XiData::of(object);  // may throw NotShareableError: nothing is queued then
        const Crossing crossing = data.crossing();
        {
            const std::lock_guard lock{mutex_};
            items_.push_back(std::move(data));
        }
        ready_.notify_one();
        return crossing;
    }
    Crossing put(const runtime::Ref<runtime::Object>& object) { return put(object.get()); }

    // Queue.get(): waits for an item, with the caller's GIL released.
    [[nodiscard]] runtime::Ref<runtime::Object> get(runtime::ThreadState& caller) {
        XiData data;
        {
            const runtime::ThreadState::AllowThreads released{caller};
            std::unique_lock lock{mutex_};
            ready_.wait(lock, [this] { return !items_.empty(); });
            data = std::move(items_.front());
            items_.pop_front();
        }
        return data.make();  // on the caller's heap, with its GIL held again
    }
    // Queue.get_nowait(), from a thread whose interpreter's heap is current.
    [[nodiscard]] runtime::Ref<runtime::Object> get_nowait() {
        XiData data;
        {
            const std::lock_guard lock{mutex_};
            if (items_.empty()) throw QueueEmpty("Queue.get_nowait(): the queue is empty");
            data = std::move(items_.front());
            items_.pop_front();
        }
        return data.make();
    }
    [[nodiscard]] std::size_t qsize() const {
        const std::lock_guard lock{mutex_};
        return items_.size();
    }

private:
    mutable std::mutex mutex_;
    std::condition_variable ready_;
    std::deque<XiData> items_;
};

// concurrent.interpreters.create_queue().
[[nodiscard]] inline std::shared_ptr<Queue> create_queue() {
    return std::make_shared<Queue>();
}

}  // namespace pyconc::concurrent::interpreters
