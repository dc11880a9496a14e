#pragma once
// asyncio.Queue: a FIFO between tasks, with backpressure.
//
// How this works (Lib/asyncio/queues.py)
// - put(item) waits while the queue is full (maxsize > 0 and qsize() ==
//   maxsize); get() waits while it is empty. Each side queues a future and
//   is woken, first come first served, when the other side makes room or
//   brings an item.
// - put_nowait/get_nowait raise QueueFull/QueueEmpty instead of waiting.
// - Every put counts an unfinished task; task_done() counts one finished;
//   join() waits until none is unfinished.
#include <cstddef>
#include <deque>
#include <memory>
#include <stdexcept>
#include <utility>

#include "pyconc/asyncio/errors.hpp"
#include "pyconc/asyncio/event.hpp"
#include "pyconc/asyncio/event_loop.hpp"
#include "pyconc/asyncio/future.hpp"
#include "pyconc/asyncio/task.hpp"

namespace pyconc::asyncio {

class QueueFull : public std::runtime_error {
public:
    QueueFull() : std::runtime_error("QueueFull") {}
};
class QueueEmpty : public std::runtime_error {
public:
    QueueEmpty() : std::runtime_error("QueueEmpty") {}
};

template <class T>
class Queue {
public:
    explicit Queue(std::size_t maxsize = 0) : maxsize_(maxsize) { finished_.set(); }
    Queue(const Queue&) = delete;
    Queue& operator=(const Queue&) = delete;

    [[nodiscard]] std::size_t qsize() const noexcept { return items_.size(); }
    [[nodiscard]] std::size_t maxsize() const noexcept { return maxsize_; }
    [[nodiscard]] bool empty() const noexcept { return items_.empty(); }
    [[nodiscard]] bool full() const noexcept { return maxsize_ > 0 && items_.size() >= maxsize_; }

    Task<void> put(T item) {
        while (full()) co_await wait_in(putters_);
        put_nowait(std::move(item));
    }
    void put_nowait(T item) {
        if (full()) throw QueueFull();
        items_.push_back(std::move(item));
        ++unfinished_;
        finished_.clear();
        wake_first(getters_);
    }

    Task<T> get() {
        while (empty()) co_await wait_in(getters_);
        co_return get_nowait();
    }
    T get_nowait() {
        if (empty()) throw QueueEmpty();
        T item = std::move(items_.front());
        items_.pop_front();
        wake_first(putters_);
        return item;
    }

    void task_done() {
        if (unfinished_ == 0) throw std::logic_error("task_done() called too many times");
        if (--unfinished_ == 0) finished_.set();
    }
    Task<void> join() { co_await finished_.wait(); }

private:
    using Waiters = std::deque<std::shared_ptr<Future<void>>>;

    // Waits to be woken from `waiters`; a cancelled waiter passes its wakeup on.
    Task<void> wait_in(Waiters& waiters) {
        auto waiter = make_future<void>(EventLoop::get_running_loop());
        waiters.push_back(waiter);
        bool cancelled = false;
        try {
            co_await waiter;
        } catch (const CancelledError&) {
            cancelled = true;
        }
        for (auto it = waiters.begin(); it != waiters.end(); ++it) {
            if (*it == waiter) {
                waiters.erase(it);
                break;
            }
        }
        if (cancelled) {
            wake_first(waiters);
            throw CancelledError();
        }
    }
    static void wake_first(Waiters& waiters) {
        for (const auto& waiter : waiters) {
            if (!waiter->done()) {
                waiter->set_result();
                return;
            }
        }
    }

    std::size_t maxsize_;
    std::deque<T> items_;
    Waiters getters_;
    Waiters putters_;
    std::size_t unfinished_ = 0;
    Event finished_;
};

}  // namespace pyconc::asyncio
