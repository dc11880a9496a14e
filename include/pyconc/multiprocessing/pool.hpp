#pragma once
// multiprocessing.Pool: map and imap over worker processes, in chunks.
//
// How this works (Lib/multiprocessing/pool.py)
// - The workers are a ProcessPoolExecutor's (spawned, one interpreter
//   each). map and imap cut the items into chunks; a chunk crosses as one
//   task (`run_chunk<f>` calls f on each item in the worker), which is what
//   makes many small items cheap. map's default chunk size is CPython's:
//   len(items) / (4 * processes), rounded up.
// - map blocks and returns every result in order; imap gives the results
//   in order as they become ready (a range-for blocks for each next chunk).
// - An exception in a worker is raised by map, or by imap when its turn
//   comes.
#include <cstddef>
#include <memory>
#include <optional>
#include <type_traits>
#include <vector>

#include "pyconc/concurrent/futures/process_pool.hpp"
#include "pyconc/multiprocessing/spawn.hpp"

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

class Pool {
public:
    explicit Pool(std::optional<std::size_t> processes = std::nullopt) : executor_(processes) {}

    [[nodiscard]] std::size_t processes() const noexcept { return executor_.max_workers(); }

    // In order, in chunks of `chunksize` (0: CPython's default).
    template <auto F, class Item>
    auto imap(const std::vector<Item>& items, std::size_t chunksize = 1) {
        using R = std::invoke_result_t<decltype(F), Item>;
        constexpr auto chunk_function = &detail::run_chunk<F, Item>;
        std::vector<std::shared_ptr<concurrent::futures::Future<std::vector<R>>>> chunks;
        const std::size_t size = chunksize == 0 ? default_chunksize(items.size()) : chunksize;
        for (std::size_t start = 0; start < items.size(); start += size) {
            const std::size_t end = std::min(items.size(), start + size);
            chunks.push_back(executor_.submit<chunk_function>(
                std::vector<Item>(items.begin() + static_cast<std::ptrdiff_t>(start),
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
    void close() { executor_.shutdown(false); }
    void join() { executor_.shutdown(true); }

    // The results of imap, in order: each chunk is waited for when its turn comes.
    template <class R>
    class Results {
    public:
        explicit Results(std::vector<std::shared_ptr<concurrent::futures::Future<std::vector<R>>>> chunks)
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
                    owner_->current_ = owner_->chunks_[owner_->next_chunk_++]->result();
                    index_ = 0;
                }
            }
            Results* owner_ = nullptr;
            std::size_t index_ = 0;
        };
        iterator begin() { return iterator{this}; }
        iterator end() { return iterator{}; }

    private:
        std::vector<std::shared_ptr<concurrent::futures::Future<std::vector<R>>>> chunks_;
        std::vector<R> current_;
        std::size_t next_chunk_ = 0;
    };

private:
    [[nodiscard]] std::size_t default_chunksize(std::size_t items) const {
        const std::size_t parts = 4 * processes();
        return items == 0 ? 1 : (items + parts - 1) / parts;
    }

    concurrent::futures::ProcessPoolExecutor executor_;
};

}  // namespace pyconc::multiprocessing
