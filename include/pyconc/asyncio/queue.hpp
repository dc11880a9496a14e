#pragma once
// asyncio.Queue (FIFO), LifoQueue and PriorityQueue: items between tasks,
// with backpressure.
//
// How this works (Lib/asyncio/queues.py)
// - put(item) waits while the queue is full (maxsize > 0 and qsize() ==
//   maxsize); get() waits while it is empty. Each side queues a future and
//   is woken, first come first served, when the other side makes room or
//   brings an item.
// - put_nowait/get_nowait raise QueueFull/QueueEmpty instead of waiting.
// - Every put counts an unfinished task; task_done() counts one finished
//   (ValueError if none is left); join() waits until none is unfinished.
// - The three queues differ only in which item get() takes: the oldest,
//   the newest, or the smallest (queues.py's _put/_get, here the `Items`
//   policy).
#include <algorithm>
#include <cstddef>
#include <deque>
#include <functional>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include <fmt/format.h>
#include <fmt/ranges.h>

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

namespace detail {
// The items of a Queue (get() takes the oldest) or of a LifoQueue (the
// newest): a deque, taken from the front or the back.
template <class T, bool newest_first>
class SequenceItems {
public:
    void push(T item) { items_.push_back(std::move(item)); }
    T pop() {
        T item = std::move(newest_first ? items_.back() : items_.front());
        if constexpr (newest_first) {
            items_.pop_back();
        } else {
            items_.pop_front();
        }
        return item;
    }
    [[nodiscard]] std::size_t size() const noexcept { return items_.size(); }
    // In the order _queue lists them, for repr.
    [[nodiscard]] const std::deque<T>& listed() const noexcept { return items_; }

private:
    std::deque<T> items_;
};
template <class T>
using FifoItems = SequenceItems<T, false>;
template <class T>
using LifoItems = SequenceItems<T, true>;

// The items of a PriorityQueue: get() takes the smallest (a binary heap, as heapq).
template <class T>
class PriorityItems {
public:
    void push(T item) {
        items_.push_back(std::move(item));
        std::push_heap(items_.begin(), items_.end(), std::greater<>{});
    }
    T pop() {
        std::pop_heap(items_.begin(), items_.end(), std::greater<>{});
        T item = std::move(items_.back());
        items_.pop_back();
        return item;
    }
    [[nodiscard]] std::size_t size() const noexcept { return items_.size(); }
    [[nodiscard]] const std::vector<T>& listed() const noexcept { return items_; }

private:
    std::vector<T> items_;
};
}  // namespace detail

template <class T, template <class> class Items = detail::FifoItems>
class Queue {
public:
    explicit Queue(std::size_t maxsize = 0) : maxsize_(maxsize) { finished_.set(); }
    Queue(const Queue&) = delete;
    Queue& operator=(const Queue&) = delete;

    [[nodiscard]] std::size_t qsize() const noexcept { return items_.size(); }
    [[nodiscard]] std::size_t maxsize() const noexcept { return maxsize_; }
    [[nodiscard]] bool empty() const noexcept { return items_.size() == 0; }
    [[nodiscard]] bool full() const noexcept { return maxsize_ > 0 && items_.size() >= maxsize_; }

    Coroutine<void> put(T item) {
        while (full()) co_await wait_in(putters_, [this] { return !full(); });  // until a get makes room
        put_nowait(std::move(item));
    }
    void put_nowait(T item) {
        if (full()) throw QueueFull();
        items_.push(std::move(item));
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
        T item = items_.pop();
        putters_.wake_first();
        return item;
    }

    void task_done() {
        if (unfinished_ == 0) throw ValueError("task_done() called too many times");
        if (--unfinished_ == 0) finished_.set();
    }
    Coroutine<void> join() { co_await finished_.wait(); }

    // repr(q): "<Queue at 0x... maxsize=0 _getters[1]>"; str(q) without the address.
    [[nodiscard]] std::string repr() const {
        return fmt::format("<{} at {} {}>", name(), static_cast<const void*>(this), format());
    }
    [[nodiscard]] std::string str() const { return fmt::format("<{} {}>", name(), format()); }
    // Queue._format(): "maxsize=1 _queue=[1] _putters[1] tasks=1"
    [[nodiscard]] std::string format() const {
        std::string result = fmt::format("maxsize={}", maxsize_);
        if constexpr (fmt::is_formattable<T>::value) {
            if (items_.size() != 0) result += fmt::format(" _queue=[{}]", fmt::join(items_.listed(), ", "));
        }
        if (!getters_.empty()) result += fmt::format(" _getters[{}]", getters_.size());
        if (!putters_.empty()) result += fmt::format(" _putters[{}]", putters_.size());
        if (unfinished_ != 0) result += fmt::format(" tasks={}", unfinished_);
        return result;
    }

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

    [[nodiscard]] static const char* name() noexcept {
        if constexpr (std::is_same_v<Items<T>, detail::LifoItems<T>>) return "LifoQueue";
        if constexpr (std::is_same_v<Items<T>, detail::PriorityItems<T>>) return "PriorityQueue";
        return "Queue";
    }

    std::size_t maxsize_;
    Items<T> items_;
    Waiters getters_;
    Waiters putters_;
    std::size_t unfinished_ = 0;
    Event finished_;
};

// asyncio.LifoQueue: get() takes the item put last.
template <class T>
using LifoQueue = Queue<T, detail::LifoItems>;
// asyncio.PriorityQueue: get() takes the smallest item.
template <class T>
using PriorityQueue = Queue<T, detail::PriorityItems>;

}  // namespace pyconc::asyncio
