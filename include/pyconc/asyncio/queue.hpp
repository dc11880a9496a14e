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
#include <stdexcept>
#include <utility>

#include "pyconc/asyncio/errors.hpp"
#include "pyconc/asyncio/event.hpp"
#include "pyconc/asyncio/event_loop.hpp"
#include "pyconc/asyncio/future.hpp"
#include "pyconc/asyncio/task.hpp"
#include "pyconc/asyncio/waiters.hpp"

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

    Coroutine<void> put(T item) {
        while (full()) co_await wait_in(putters_, [this] { return !full(); });  // until a get makes room
        put_nowait(std::move(item));
    }
    void put_nowait(T item) {
        if (full()) throw QueueFull();
        items_.push_back(std::move(item));
        ++unfinished_;
        finished_.clear();
        getters_.wake_first();
    }

    Coroutine<T> get() {
        while (empty()) co_await wait_in(getters_, [this] { return !empty(); });
        co_return get_nowait();
    }
    T get_nowait() {
        if (empty()) throw QueueEmpty();
        T item = std::move(items_.front());
        items_.pop_front();
        putters_.wake_first();
        return item;
    }

    void task_done() {
        if (unfinished_ == 0) throw std::logic_error("task_done() called too many times");
        if (--unfinished_ == 0) finished_.set();
    }
    Coroutine<void> join() { co_await finished_.wait(); }

private:
    // Waits to be woken. A waiter cancelled after its wake-up passes it on
    // to the next in line, if what it was woken for is still there
    // (`can_go_on`: an item for a getter, room for a putter), as
    // queues.py's get() and put() do; one cancelled while waiting wakes
    // nobody.
    template <class CanGoOn>
    static Coroutine<void> wait_in(Waiters& waiters, CanGoOn can_go_on) {
        const Waiters::Outcome outcome = co_await waiters.wait();
        if (outcome == Waiters::Outcome::woken) co_return;
        if (outcome == Waiters::Outcome::cancelled_after_wakeup && can_go_on()) waiters.wake_first();
        throw CancelledError();
    }

    std::size_t maxsize_;
    std::deque<T> items_;
    Waiters getters_;
    Waiters putters_;
    std::size_t unfinished_ = 0;
    Event finished_;
};

}  // namespace pyconc::asyncio
