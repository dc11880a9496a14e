#pragma once
// A type's freelist (CPython 3.14's _Py_freelist, Include/internal/
// pycore_freelist_state.h): the blocks of the last objects of one type that
// were freed, kept for the next ones made, up to a limit.
//
// How this works
// - `push` keeps a freed object's block (linked through its first word)
//   while fewer than `limit` are kept; otherwise the caller gives the block
//   back to pymalloc as before.
// - `pop` hands out the most recently freed block, if any, to build the
//   next object in. An
//   int that dies and is born again every iteration of a loop (`n -= 1`)
//   never goes through the allocator at all: what makes CPython 3.14's
//   `PyLong` arithmetic cheaper than 3.12's.
// - Blocks on the list are still allocated as far as pymalloc knows (as in
//   CPython); `drain` gives them all back, when the heap closes.
// - A kept block is dead: debug builds mark its refcount as freed, and
//   ASan poisons all of it past the link, so a use after free still trips.
#include <cstddef>
#include <cstring>

#include "pyconc/runtime/detail/object.hpp"
#include "pyconc/runtime/obmalloc.hpp"

namespace pyconc::runtime {

template <std::size_t BlockSize, std::size_t Limit>
class Freelist {
public:
    static constexpr std::size_t limit = Limit;

    Freelist() = default;
    Freelist(const Freelist&) = delete;
    Freelist& operator=(const Freelist&) = delete;
    ~Freelist() = default;  // drain() first: the blocks belong to pymalloc

    // Keeps `dead`'s block. False when the list is full.
    [[nodiscard]] bool push(Object* dead) noexcept {
        if (size_ == Limit) return false;
        auto* link = reinterpret_cast<Link*>(
            dead);  // NOLINT(cppcoreguidelines-pro-type-reinterpret-cast): the dead object's storage
        link->next = head_;
        head_ = link;
        ++size_;
        mark_dead(link);
        return true;
    }

    // The most recently freed block, for a new object of the same type to
    // be built in; null when none is kept.
    [[nodiscard]] void* pop() noexcept {
        if (head_ == nullptr) return nullptr;
        Link* link = head_;
        head_ = link->next;
        --size_;
#ifdef PYCONC_ASAN
        ASAN_UNPOISON_MEMORY_REGION(link, BlockSize);
#endif
        return link;
    }

    // Gives every kept block back to `allocator`.
    void drain(Obmalloc& allocator) noexcept {
        while (head_ != nullptr) {
            Link* link = head_;
            head_ = link->next;
#ifdef PYCONC_ASAN
            ASAN_UNPOISON_MEMORY_REGION(link, BlockSize);
#endif
            allocator.free(link, BlockSize);
        }
        size_ = 0;
    }

    [[nodiscard]] std::size_t size() const noexcept {
        return size_;
    }

private:
    struct Link {
        Link* next;
    };
    static_assert(sizeof(Link) <= BlockSize);

    // As pymalloc marks a freed block: past the link, dead bytes in debug
    // builds (an Int's refcount then reads as dead_refcount), poison under ASan.
    static void mark_dead(Link* link) noexcept {
        std::byte* rest = reinterpret_cast<std::byte*>(link) +
                          sizeof(Link);  // NOLINT(cppcoreguidelines-pro-type-reinterpret-cast)
#ifndef NDEBUG
        std::memset(rest, dead_byte, BlockSize - sizeof(Link));
#endif
#ifdef PYCONC_ASAN
        ASAN_POISON_MEMORY_REGION(rest, BlockSize - sizeof(Link));
#endif
        (void)rest;
    }

    Link* head_ = nullptr;
    std::size_t size_ = 0;
};

}  // namespace pyconc::runtime

// What a decref to 0 calls (detail::dealloc) is defined with the heap, which
// needs this header's body complete: so it comes after it.
#include "pyconc/runtime/heap.hpp"  // IWYU pragma: export
