#pragma once
// concurrent.futures.wait and as_completed.
//
// How this works (Lib/concurrent/futures/_base.py)
// - Both register a waiter on every future (a done callback, which runs in
//   the thread that completes the future) and block on it.
// - wait(fs, timeout, return_when) returns (done, not_done) when the
//   condition holds: the first future done, the first one that raised, or
//   all of them; or when the timeout passes.
// - as_completed(fs) yields the futures in the order they finish, the ones
//   done already first; `for (auto& f : as_completed(fs))` blocks for each
//   next one, and a timeout that passes raises TimeoutError.
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <iterator>
#include <memory>
#include <mutex>
#include <optional>
#include <vector>

#include "pyconc/concurrent/futures/future.hpp"

namespace pyconc::concurrent::futures {

enum class ReturnWhen : unsigned char { first_completed, first_exception, all_completed };

namespace detail {
// Collects the indices of the futures as they finish.
struct Waiter {
    std::mutex mutex;
    std::condition_variable finished;
    std::vector<std::size_t> order;  // indices, in the order they finished
    bool any_exception = false;
};

template <class T>
std::shared_ptr<Waiter> install_waiter(const std::vector<std::shared_ptr<Future<T>>>& futures) {
    auto waiter = std::make_shared<Waiter>();
    for (std::size_t i = 0; i < futures.size(); ++i) {
        futures[i]->add_done_callback([waiter, i](Future<T>& done) {
            const bool raised = !done.cancelled() && done.exception() != nullptr;
            {
                const std::lock_guard lock{waiter->mutex};
                waiter->order.push_back(i);
                waiter->any_exception = waiter->any_exception || raised;
            }
            waiter->finished.notify_all();
        });
    }
    return waiter;
}
}  // namespace detail

template <class T>
struct DoneAndNotDone {
    std::vector<std::shared_ptr<Future<T>>> done;
    std::vector<std::shared_ptr<Future<T>>> not_done;
};

template <class T>
DoneAndNotDone<T> wait(const std::vector<std::shared_ptr<Future<T>>>& futures,
                       std::optional<double> timeout_seconds = std::nullopt,
                       ReturnWhen return_when = ReturnWhen::all_completed) {
    auto waiter = detail::install_waiter(futures);
    {
        std::unique_lock lock{waiter->mutex};
        const auto satisfied = [&] {
            if (waiter->order.size() == futures.size()) return true;
            if (return_when == ReturnWhen::first_completed) return !waiter->order.empty();
            if (return_when == ReturnWhen::first_exception) return waiter->any_exception;
            return false;
        };
        if (timeout_seconds) {
            waiter->finished.wait_for(lock, std::chrono::duration<double>(*timeout_seconds), satisfied);
        } else {
            waiter->finished.wait(lock, satisfied);
        }
    }
    DoneAndNotDone<T> result;
    for (const auto& future : futures) (future->done() ? result.done : result.not_done).push_back(future);
    return result;
}

// as_completed(fs): the futures in the order they finish.
template <class T>
class AsCompleted {
public:
    AsCompleted(std::vector<std::shared_ptr<Future<T>>> futures, std::optional<double> timeout_seconds)
        : futures_(std::move(futures)), waiter_(detail::install_waiter(futures_)) {
        if (timeout_seconds) {
            deadline_ = std::chrono::steady_clock::now() +
                        std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                            std::chrono::duration<double>(*timeout_seconds));
        }
    }

    // The next future to finish; null when all have been given out.
    std::shared_ptr<Future<T>> next() {
        if (given_ == futures_.size()) return nullptr;
        std::unique_lock lock{waiter_->mutex};
        const auto ready = [&] { return waiter_->order.size() > given_; };
        if (deadline_) {
            if (!waiter_->finished.wait_until(lock, *deadline_, ready)) throw TimeoutError();
        } else {
            waiter_->finished.wait(lock, ready);
        }
        return futures_[waiter_->order[given_++]];
    }

    class iterator {  // NOLINT(readability-identifier-naming): the name range-for and <iterator> use
    public:
        using iterator_category = std::input_iterator_tag;
        using value_type = std::shared_ptr<Future<T>>;
        using difference_type = std::ptrdiff_t;
        iterator() = default;
        explicit iterator(AsCompleted* owner) : owner_(owner) { ++*this; }
        const value_type& operator*() const { return current_; }
        iterator& operator++() {
            current_ = owner_->next();
            if (!current_) owner_ = nullptr;
            return *this;
        }
        bool operator==(const iterator& other) const { return owner_ == other.owner_; }

    private:
        AsCompleted* owner_ = nullptr;
        value_type current_;
    };
    iterator begin() { return iterator{this}; }
    iterator end() { return iterator{}; }

private:
    std::vector<std::shared_ptr<Future<T>>> futures_;
    std::shared_ptr<detail::Waiter> waiter_;
    std::optional<std::chrono::steady_clock::time_point> deadline_;
    std::size_t given_ = 0;
};

template <class T>
AsCompleted<T> as_completed(std::vector<std::shared_ptr<Future<T>>> futures,
                            std::optional<double> timeout_seconds = std::nullopt) {
    return AsCompleted<T>{std::move(futures), timeout_seconds};
}

}  // namespace pyconc::concurrent::futures
