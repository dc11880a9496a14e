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
// - `get()` waits while the queue is empty as CPython 3.14's does: it
//   polls, sleeping 10 ms (`time.sleep(_delay)`, the GIL released) between
//   looks (Lib/concurrent/interpreters/_queues.py). So an item put while the
//   receiver sleeps waits up to 10 ms: a handoff between two interpreters'
//   threads through queues costs milliseconds, a pool's round trip (the
//   result handed back directly) microseconds. `get_nowait()` raises
//   QueueEmpty instead of waiting.
#include <chrono>
#include <cstddef>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <thread>
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
        const std::lock_guard lock{mutex_};
        items_.push_back(std::move(data));
        return crossing;
    }
    Crossing put(const runtime::Ref<runtime::Object>& object) { return put(object.get()); }

    // 3.14's Queue.get(_delay=10 / 1000): polls until an item is there.
    static constexpr std::chrono::milliseconds poll_delay{10};

    // Queue.get(): the next item, made on the caller's heap; while there is
    // none, time.sleep(0.010) with the caller's GIL released, and look again.
    [[nodiscard]] runtime::Ref<runtime::Object> get(runtime::ThreadState& caller) {
        while (true) {
            if (std::optional<XiData> data = take()) return data->make();
            const runtime::ThreadState::AllowThreads sleeping{caller};
            std::this_thread::sleep_for(poll_delay);
        }
    }
    // Queue.get_nowait(), from a thread whose interpreter's heap is current.
    [[nodiscard]] runtime::Ref<runtime::Object> get_nowait() {
        std::optional<XiData> data = take();
        if (!data) throw QueueEmpty("Queue.get_nowait(): the queue is empty");
        return data->make();
    }
    [[nodiscard]] std::size_t qsize() const {
        const std::lock_guard lock{mutex_};
        return items_.size();
    }

private:
    // _queues.get: the first item, or none.
    std::optional<XiData> take() {
        const std::lock_guard lock{mutex_};
        if (items_.empty()) return std::nullopt;
        std::optional<XiData> data{std::move(items_.front())};
        items_.pop_front();
        return data;
    }

    mutable std::mutex mutex_;
    std::deque<XiData> items_;
};

// concurrent.interpreters.create_queue().
[[nodiscard]] inline std::shared_ptr<Queue> create_queue() {
    return std::make_shared<Queue>();
}

}  // namespace pyconc::concurrent::interpreters
