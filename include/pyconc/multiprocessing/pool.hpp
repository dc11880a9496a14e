#pragma once
// multiprocessing.Pool: map and imap over worker processes, in chunks.
//
// How this works (Lib/multiprocessing/pool.py)
// - The workers are multiprocessing's worker processes (worker_pool.hpp:
//   spawned, one interpreter each), the ones ProcessPoolExecutor stands on
//   too. map and imap cut the items into chunks; a chunk crosses as one
//   task (`run_chunk<f>` calls f on each item in the worker), which is what
//   makes many small items cheap. map's default chunk size is CPython's:
//   len(items) / (4 * processes), rounded up.
// - map blocks and returns every result in order; imap gives the results
//   in order as they become ready (a range-for blocks for each next chunk).
// - Each chunk's outcome is an AsyncResult (pool.py's ApplyResult): get()
//   blocks until it is there. An exception in a worker is raised by map, or
//   by imap when its turn comes; so is a worker's death (BrokenPool, with
//   the worker's pid: CPython's Pool would wait forever instead).
#include <condition_variable>
#include <cstddef>
#include <exception>
#include <iterator>
#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "pyconc/multiprocessing/pickle.hpp"
#include "pyconc/multiprocessing/spawn.hpp"
#include "pyconc/multiprocessing/start_method.hpp"
#include "pyconc/multiprocessing/worker_pool.hpp"

namespace pyconc::multiprocessing {

namespace detail {
template <auto F, class Item>
auto run_chunk(std::vector<Item> items) {
    using R = std::invoke_result_t<decltype(F), Item>;
    std::vector<R> results;
    results.reserve(items.size());
    for (Item& item : items) results.push_back(F(std::move(item)));
    return results;
}
}  // namespace detail

// A worker of the pool died: the pool can run nothing more.
class BrokenPool : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

// pool.apply_async(...)'s ApplyResult: filled by the manager thread,
// waited for by get().
template <class T>
class AsyncResult {
public:
    [[nodiscard]] bool ready() const {
        const std::lock_guard lock{mutex_};
        return value_.has_value() || error_ != nullptr;
    }
    // The result, moved out (once); raises what the worker raised.
    T take() {
        std::unique_lock lock{mutex_};
        filled_.wait(lock, [this] { return value_.has_value() || error_ != nullptr; });
        if (error_) std::rethrow_exception(error_);
        return std::move(*value_);
    }
    void set(T value) {
        const std::lock_guard lock{mutex_};
        value_.emplace(std::move(value));
        filled_.notify_all();
    }
    void set_error(std::exception_ptr error) {
        const std::lock_guard lock{mutex_};
        if (!value_ && !error_) error_ = std::move(error);
        filled_.notify_all();
    }

private:
    mutable std::mutex mutex_;
    std::condition_variable filled_;
    std::optional<T> value_;
    std::exception_ptr error_;
};

class Pool {
public:
    // multiprocessing.Pool(processes), or context.Pool(processes): its
    // workers started by the context's start method (the default's without one).
    explicit Pool(std::optional<std::size_t> processes = std::nullopt,
                  std::optional<Context> context = std::nullopt)
        : workers_(processes.value_or(WorkerPool::default_workers()),
                   context.value_or(get_context()).start_method()) {}

    [[nodiscard]] StartMethod start_method() const noexcept { return workers_.start_method(); }

    [[nodiscard]] std::size_t processes() const noexcept { return workers_.max_workers(); }
    [[nodiscard]] std::vector<pid_t> worker_pids() const { return workers_.worker_pids(); }

    // In order, in chunks of `chunksize` (0: CPython's default).
    template <auto F, class Item>
    auto imap(const std::vector<Item>& items, std::size_t chunksize = 1) {
        using R = std::invoke_result_t<decltype(F), Item>;
        std::vector<std::shared_ptr<AsyncResult<std::vector<R>>>> chunks;
        const std::size_t size = chunksize == 0 ? default_chunksize(items.size()) : chunksize;
        for (std::size_t start = 0; start < items.size(); start += size) {
            const std::size_t end = std::min(items.size(), start + size);
            chunks.push_back(
                submit_chunk<F>(std::vector<Item>(items.begin() + static_cast<std::ptrdiff_t>(start),
                                                  items.begin() + static_cast<std::ptrdiff_t>(end))));
        }
        return Results<R>{std::move(chunks)};
    }

    template <auto F, class Item>
    auto map(const std::vector<Item>& items, std::size_t chunksize = 0) {
        using R = std::invoke_result_t<decltype(F), Item>;
        std::vector<R> all;
        all.reserve(items.size());
        for (R& result : imap<F>(items, chunksize == 0 ? default_chunksize(items.size()) : chunksize)) {
            all.push_back(std::move(result));
        }
        return all;
    }

    // pool.close(); pool.join()
    void close() { workers_.shutdown(false); }
    void join() { workers_.shutdown(true); }

    // The results of imap, in order: each chunk is waited for when its turn comes.
    template <class R>
    class Results {
    public:
        explicit Results(std::vector<std::shared_ptr<AsyncResult<std::vector<R>>>> chunks)
            : chunks_(std::move(chunks)) {}

        class iterator {  // NOLINT(readability-identifier-naming): the name range-for and <iterator> use
        public:
            using iterator_category = std::input_iterator_tag;
            using value_type = R;
            using difference_type = std::ptrdiff_t;
            iterator() = default;
            explicit iterator(Results* owner) : owner_(owner) { advance(); }
            R& operator*() { return owner_->current_[index_]; }
            iterator& operator++() {
                ++index_;
                advance();
                return *this;
            }
            bool operator==(const iterator& other) const { return owner_ == other.owner_; }

        private:
            void advance() {
                while (owner_ != nullptr && index_ >= owner_->current_.size()) {
                    if (owner_->next_chunk_ == owner_->chunks_.size()) {
                        owner_ = nullptr;
                        return;
                    }
                    owner_->current_ = owner_->chunks_[owner_->next_chunk_++]->take();
                    index_ = 0;
                }
            }
            Results* owner_ = nullptr;
            std::size_t index_ = 0;
        };
        iterator begin() { return iterator{this}; }
        iterator end() { return iterator{}; }

    private:
        std::vector<std::shared_ptr<AsyncResult<std::vector<R>>>> chunks_;
        std::vector<R> current_;
        std::size_t next_chunk_ = 0;
    };

private:
    // One chunk: run_chunk<F> over its items in a worker.
    template <auto F, class Item>
    auto submit_chunk(std::vector<Item> chunk) {
        using Chunk = Function<&detail::run_chunk<F, Item>>;  // crosses by name, as any function
        using R = typename Chunk::Result;
        (void)Chunk::registered;
        auto result = std::make_shared<AsyncResult<R>>();
        WorkerPool::WorkItem item;
        item.function = Chunk::name();
        item.arguments = dumps(typename Chunk::Arguments{std::move(chunk)});
        item.start = [] { return true; };  // a chunk is never cancelled
        item.finish = [result](bool ok, const std::string& payload) {
            if (ok) {
                result->set(loads<R>(payload));
            } else {
                result->set_error(std::make_exception_ptr(std::runtime_error(payload)));
            }
        };
        item.fail = [result](const std::string& why) {
            result->set_error(std::make_exception_ptr(BrokenPool(why)));
        };
        item.cancel = [result] {
            result->set_error(std::make_exception_ptr(std::runtime_error("Pool was closed")));
        };
        switch (workers_.submit(std::move(item))) {
            case WorkerPool::Refusal::broken:
                throw BrokenPool(workers_.broken_message());
            case WorkerPool::Refusal::shut_down:
                throw std::invalid_argument("Pool not running");
            case WorkerPool::Refusal::accepted:
                break;
        }
        return result;
    }

    [[nodiscard]] std::size_t default_chunksize(std::size_t items) const {
        const std::size_t parts = 4 * processes();
        return items == 0 ? 1 : (items + parts - 1) / parts;
    }

    WorkerPool workers_;
};

}  // namespace pyconc::multiprocessing
