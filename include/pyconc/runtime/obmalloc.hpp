#pragma once
// The small-object allocator, pymalloc, as in CPython 3.12's Objects/obmalloc.c
// on a 64-bit machine.
//
// How this works
// - Requests of 1..512 bytes (`small_request_threshold`) are rounded up to a
//   multiple of 16 (`alignment`): 32 size classes, class i holding blocks of
//   16 * (i + 1) bytes. Larger requests go to the system allocator.
// - Blocks are carved from 16 KiB pools (`pool_size()`); each pool serves one
//   size class and starts with a 48-byte `PoolHeader` (POOL_OVERHEAD): how
//   many blocks are in use, the head of its free-block list (threaded through
//   the free blocks themselves), and how far its never-used tail begins.
// - Pools are carved from 1 MiB arenas (`arena_size()`), 64 pools each, taken
//   from the system aligned to their size. Those are 3.10's sizes; 3.9's
//   were 4 KiB pools in 256 KiB arenas (`set_sizes`, before the first arena:
//   the interpreter of a version's profile sets them).
// - A pool is *used* (some blocks taken, on `usedpools_[class]`), *full* (on
//   no list) or *empty* (on its arena's `freepools` list, ready for any size
//   class). Allocation takes a block from the first used pool of its class;
//   with none, it takes an empty pool from `usable_arenas_`, the arenas with
//   a free pool, which is kept sorted fullest first so that allocation packs
//   the fullest arenas and the emptiest ones get a chance to drain.
// - An arena goes back to the system only when every one of its pools is
//   empty, and (since 3.9, bpo-37257) not if it is the last usable arena: one
//   empty arena is kept for the next allocation. So one live block keeps its
//   whole megabyte held: what advance/04_memory_arenas shows.
// - `stats()` and `arena_map()` read the allocator's own state: nothing is
//   estimated.
// - A freed block is filled with 0xDD in debug builds (PYMEM_DEADBYTE, as
//   CPython's debug allocator does), so that a use of a freed object is
//   caught (see Ref); under AddressSanitizer it is also poisoned, all but the
//   free-list link in its first 8 bytes, so ASan reports any touch of it.
// - Not thread-safe: like pymalloc, it is used only with the GIL held (or by
//   one interpreter's thread).
// - Debug builds keep a registry of every allocator's arenas (`owner_of`):
//   a heap that frees an object another heap allocated (one that crossed
//   between interpreters without a copy) then fails at once, by name.
#include <algorithm>
#include <array>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <map>
#include <mutex>
#include <new>
#include <vector>

#include "pyconc/runtime/fatal.hpp"

#if defined(__SANITIZE_ADDRESS__)
#define PYCONC_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define PYCONC_ASAN 1
#endif
#endif
#ifdef PYCONC_ASAN
#include <sanitizer/asan_interface.h>
#endif

namespace pyconc::runtime {

class Obmalloc;

#ifndef NDEBUG
namespace detail {
// Debug builds: which allocator holds each arena (every interpreter's, in
// this process).
class ArenaRegistry {
public:
    static void add(const std::byte* base, std::size_t size, const Obmalloc* owner) {
        const std::lock_guard lock{mutex_};
        arenas_[reinterpret_cast<std::uintptr_t>(base)] = {size, owner};  // NOLINT: an address as a key
    }
    static void remove(const std::byte* base) {
        const std::lock_guard lock{mutex_};
        arenas_.erase(reinterpret_cast<std::uintptr_t>(base));  // NOLINT: an address as a key
    }
    // The allocator whose arena holds `p`, or null (a large block, or not pymalloc's).
    [[nodiscard]] static const Obmalloc* owner_of(const void* p) {
        const auto address = reinterpret_cast<std::uintptr_t>(p);  // NOLINT: an address compared
        const std::lock_guard lock{mutex_};
        auto next = arenas_.upper_bound(address);
        if (next == arenas_.begin()) return nullptr;
        const auto& [base, arena] = *std::prev(next);
        return address - base < arena.first ? arena.second : nullptr;
    }

private:
    static inline std::mutex mutex_;
    static inline std::map<std::uintptr_t, std::pair<std::size_t, const Obmalloc*>> arenas_;
};
}  // namespace detail
#endif

// PYMEM_DEADBYTE: what a freed block holds in debug builds.
inline constexpr unsigned char dead_byte = 0xDD;

class Obmalloc {
public:
    static constexpr std::size_t alignment = 16;                 // ALIGNMENT
    static constexpr std::size_t small_request_threshold = 512;  // SMALL_REQUEST_THRESHOLD
    static constexpr std::size_t size_classes = small_request_threshold / alignment;
    // 3.10's POOL_SIZE (POOL_BITS 14) and ARENA_SIZE (ARENA_BITS 20), the
    // default; 3.9's are 4 KiB and 256 KiB (set_sizes, before the first arena).
    static constexpr std::size_t default_pool_size = std::size_t{16} * 1024;
    static constexpr std::size_t default_arena_size = std::size_t{1024} * 1024;
    static constexpr std::size_t pool_overhead = 48;  // sizeof(struct pool_header)

    // The size of the blocks of size class i.
    [[nodiscard]] static constexpr std::size_t block_size(std::size_t size_class) noexcept {
        return (size_class + 1) * alignment;
    }
    // The size class of an n-byte request, 1 <= n <= 512.
    [[nodiscard]] static constexpr std::size_t size_class_of(std::size_t bytes) noexcept {
        return (bytes - 1) / alignment;
    }
    Obmalloc() = default;

    // The version's pool and arena sizes (powers of two, the pool's at least
    // 4 KiB): only before the first arena is taken.
    void set_sizes(std::size_t arena_bytes, std::size_t pool_bytes) {
        if (arenas_allocated_ != 0) fatal("Obmalloc::set_sizes", "the allocator already holds arenas");
        if (!std::has_single_bit(pool_bytes) || !std::has_single_bit(arena_bytes) || pool_bytes < 4096 ||
            arena_bytes < pool_bytes) {
            fatal("Obmalloc::set_sizes",
                  "pool and arena sizes must be powers of two, pool >= 4 KiB, arena >= pool");
        }
        pool_size_ = pool_bytes;
        arena_size_ = arena_bytes;
    }
    [[nodiscard]] std::size_t pool_size() const noexcept { return pool_size_; }
    [[nodiscard]] std::size_t arena_size() const noexcept { return arena_size_; }
    [[nodiscard]] std::size_t pools_per_arena() const noexcept { return arena_size_ / pool_size_; }
    // Blocks of size class i that fit in one pool.
    [[nodiscard]] std::size_t blocks_per_pool(std::size_t size_class) const noexcept {
        return (pool_size_ - pool_overhead) / block_size(size_class);
    }

    Obmalloc(const Obmalloc&) = delete;
    Obmalloc& operator=(const Obmalloc&) = delete;
    ~Obmalloc() {
        for (ArenaObject& arena : arenas_) {
            if (arena.address) free_arena_memory(arena.address);
        }
    }

    // Debug builds: whether `p` lies in an arena of another allocator (another
    // interpreter's heap). Release builds do not keep the registry: false.
    [[nodiscard]] bool holds_anothers(const void* p) const {
#ifndef NDEBUG
        const Obmalloc* owner = detail::ArenaRegistry::owner_of(p);
        return owner != nullptr && owner != this;
#else
        (void)p;
        return false;
#endif
    }

    // PyObject_Malloc. Never returns null: out of memory, it throws
    // std::bad_alloc (CPython's MemoryError), which a lesson reports in one line.
    [[nodiscard]] void* allocate(std::size_t bytes) {
        if (bytes == 0 || bytes > small_request_threshold) return allocate_large(bytes);
        const std::size_t size_class = size_class_of(bytes);
        PoolHeader* pool = usedpools_[size_class];
        std::byte* block = pool ? take_block(*pool) : allocate_from_new_pool(size_class);
        blocks_in_use_ += 1;
        bytes_in_use_ += block_size(size_class);
#ifdef PYCONC_ASAN
        ASAN_UNPOISON_MEMORY_REGION(block, block_size(size_class));
#endif
        return block;
    }

    // PyObject_Free. `bytes` must be what was asked of allocate().
    void free(void* pointer, std::size_t bytes) noexcept {
        if (pointer == nullptr) return;
        if (holds_anothers(pointer)) {
            fatal("Obmalloc::free",
                  "a block of another interpreter's heap: objects cross between interpreters only as copies");
        }
        if (bytes == 0 || bytes > small_request_threshold) {
            free_large(pointer, bytes);
            return;
        }
        auto* block = static_cast<std::byte*>(pointer);
        PoolHeader& pool = pool_of(block);
        if (pool.size_class != size_class_of(bytes)) {
            fatal("Obmalloc::free", "the block's pool serves another size class: wrong size or not ours");
        }
        blocks_in_use_ -= 1;
        bytes_in_use_ -= block_size(pool.size_class);
        mark_dead(block, block_size(pool.size_class));
        return_block(pool, block);
    }

    struct Stats {
        std::size_t arenas_held = 0;       // "# arenas allocated current"
        std::size_t arenas_allocated = 0;  // "# arenas allocated total"
        std::size_t arenas_released = 0;   // "# arenas reclaimed"
        std::size_t arenas_highwater = 0;  // "# arenas highwater mark"
        std::size_t pools_used = 0;        // some blocks taken
        std::size_t pools_full = 0;        // every block taken
        std::size_t pools_empty = 0;       // on an arena's free list
        std::size_t pools_untouched = 0;   // never carved from their arena yet
        std::size_t blocks_in_use = 0;
        std::size_t bytes_in_use = 0;  // in blocks, rounded up to the size class
        std::size_t bytes_held = 0;    // arenas_held * arena_size
        std::size_t large_in_use = 0;  // requests passed to the system allocator
        std::size_t large_bytes_in_use = 0;
    };

    // Bytes handed out now, small and large (cheap: two counters).
    [[nodiscard]] std::size_t bytes_in_use() const noexcept {
        return bytes_in_use_ + large_bytes_in_use_;
    }

    [[nodiscard]] Stats stats() const {
        Stats stats;
        stats.arenas_allocated = arenas_allocated_;
        stats.arenas_released = arenas_released_;
        stats.arenas_highwater = arenas_highwater_;
        for (const ArenaObject& arena : arenas_) {
            if (!arena.address) continue;
            stats.arenas_held += 1;
            for_each_carved_pool(arena, [&](const PoolHeader& pool, PoolState state) {
                (void)pool;
                if (state == PoolState::empty) stats.pools_empty += 1;
                if (state == PoolState::used) stats.pools_used += 1;
                if (state == PoolState::full) stats.pools_full += 1;
            });
            stats.pools_untouched += untouched_pools(arena);
        }
        stats.blocks_in_use = blocks_in_use_;
        stats.bytes_in_use = bytes_in_use_;
        stats.bytes_held = stats.arenas_held * arena_size_;
        stats.large_in_use = large_in_use_;
        stats.large_bytes_in_use = large_bytes_in_use_;
        return stats;
    }

    // One held arena, as the fragmentation map draws it.
    struct ArenaUsage {
        std::size_t index = 0;         // the arena's slot
        std::size_t pools_in_use = 0;  // used or full
        std::size_t blocks_in_use = 0;
        std::size_t bytes_in_use = 0;
        std::vector<double> pool_fill;  // per pool: fraction of its blocks in use
    };

    // Every held arena, in slot order.
    [[nodiscard]] std::vector<ArenaUsage> arena_map() const {
        std::vector<ArenaUsage> map;
        for (std::size_t index = 0; index < arenas_.size(); ++index) {
            const ArenaObject& arena = arenas_[index];
            if (!arena.address) continue;
            ArenaUsage usage;
            usage.index = index;
            usage.pool_fill.assign(pools_per_arena(), 0.0);
            for_each_carved_pool(arena, [&](const PoolHeader& pool, PoolState state) {
                if (state == PoolState::empty) return;
                const std::size_t slot =
                    static_cast<std::size_t>(reinterpret_cast<const std::byte*>(&pool) - arena.address) /
                    pool_size_;
                usage.pools_in_use += 1;
                usage.blocks_in_use += pool.count;
                usage.bytes_in_use += pool.count * block_size(pool.size_class);
                usage.pool_fill.at(slot) =
                    static_cast<double>(pool.count) / static_cast<double>(blocks_per_pool(pool.size_class));
            });
            map.push_back(usage);
        }
        return map;
    }

private:
    // struct pool_header: the first 48 bytes of every pool.
    struct PoolHeader {
        std::uint32_t count = 0;  // blocks in use (ref.count)
        std::uint32_t unused = 0;
        std::byte* freeblock = nullptr;   // first free block, or null: take from the tail
        PoolHeader* nextpool = nullptr;   // usedpools_ list, or the arena's freepools list
        PoolHeader* prevpool = nullptr;   // usedpools_ list only
        std::uint32_t arena_index = 0;    // arenaindex: its arena's slot in arenas_
        std::uint32_t size_class = 0;     // szidx
        std::uint32_t nextoffset = 0;     // where the never-used tail begins
        std::uint32_t maxnextoffset = 0;  // the last offset a whole block fits at
    };
    static_assert(sizeof(PoolHeader) == pool_overhead, "struct pool_header is 48 bytes on 64-bit");

    // struct arena_object: the bookkeeping for one arena (or an unused slot).
    struct ArenaObject {
        std::byte* address = nullptr;       // null: no arena in this slot
        std::byte* pool_address = nullptr;  // the next pool never carved
        std::size_t nfreepools = 0;         // empty pools, carved or not
        std::size_t ntotalpools = 0;
        PoolHeader* freepools = nullptr;   // carved pools that are empty again
        ArenaObject* nextarena = nullptr;  // usable_arenas_, sorted by nfreepools
        ArenaObject* prevarena = nullptr;
    };

    enum class PoolState : unsigned char { used, full, empty };

    // --- blocks ------------------------------------------------------------
    // A free block holds the address of the next free block in its first
    // bytes; memcpy, because the block holds no object of pointer type.
    static std::byte* next_free(std::byte* block) noexcept {
        std::byte* next = nullptr;
        std::memcpy(&next, block, sizeof next);
        return next;
    }
    static void set_next_free(std::byte* block, std::byte* next) noexcept {
        std::memcpy(block, &next, sizeof next);
    }
    [[nodiscard]] PoolHeader& pool_of(std::byte* block) const noexcept {
        const auto address = reinterpret_cast<std::uintptr_t>(block) & ~(std::uintptr_t{pool_size_} - 1);
        // POOL_ADDR: a pool is aligned to its size, so the address of a block
        // rounded down is its pool's header.
        return *std::launder(reinterpret_cast<PoolHeader*>(address));  // NOLINT(performance-no-int-to-ptr)
    }

    // Past the free-list link: dead bytes in debug builds, poisoned under ASan.
    static void mark_dead(std::byte* block, std::size_t size) noexcept {
        constexpr std::size_t link = sizeof(std::byte*);
#ifndef NDEBUG
        std::memset(block + link, dead_byte, size - link);
#endif
#ifdef PYCONC_ASAN
        ASAN_POISON_MEMORY_REGION(block + link, size - link);
#endif
        (void)block;
        (void)size;
        (void)link;
    }

    // The fast path: the first free block of a used pool (pymalloc_alloc).
    std::byte* take_block(PoolHeader& pool) noexcept {
        pool.count += 1;
        std::byte* block = pool.freeblock;
        pool.freeblock = next_free(block);
        if (pool.freeblock == nullptr) extend_or_unlink(pool);
        return block;
    }

    // pymalloc_pool_extend: the free list ran out; thread the next block of
    // the never-used tail, or, with none left, the pool is full.
    void extend_or_unlink(PoolHeader& pool) noexcept {
        if (pool.nextoffset <= pool.maxnextoffset) {
            pool.freeblock = reinterpret_cast<std::byte*>(&pool) + pool.nextoffset;
            pool.nextoffset += static_cast<std::uint32_t>(block_size(pool.size_class));
            set_next_free(pool.freeblock, nullptr);
            return;
        }
        unlink_used(pool);  // full: on no list until a block comes back
    }

    // pymalloc_free, then insert_to_usedpool / insert_to_freepool.
    void return_block(PoolHeader& pool, std::byte* block) noexcept {
        const bool was_full = pool.freeblock == nullptr;
        set_next_free(block, pool.freeblock);
        pool.freeblock = block;
        pool.count -= 1;
        if (was_full) {
            link_used(pool);  // it has a free block again
            return;
        }
        if (pool.count == 0) pool_became_empty(pool);
    }

    // --- pools -------------------------------------------------------------
    void link_used(PoolHeader& pool) noexcept {
        PoolHeader*& head = usedpools_[pool.size_class];
        pool.prevpool = nullptr;
        pool.nextpool = head;
        if (head) head->prevpool = &pool;
        head = &pool;
    }

    void unlink_used(PoolHeader& pool) noexcept {
        if (pool.prevpool) {
            pool.prevpool->nextpool = pool.nextpool;
        } else {
            usedpools_[pool.size_class] = pool.nextpool;
        }
        if (pool.nextpool) pool.nextpool->prevpool = pool.prevpool;
        pool.nextpool = pool.prevpool = nullptr;
    }

    // allocate_from_new_pool: an empty pool from the fullest usable arena,
    // set up for `size_class`, and its first block.
    std::byte* allocate_from_new_pool(std::size_t size_class) {
        if (usable_arenas_ == nullptr) new_arena();
        ArenaObject& arena = *usable_arenas_;
        PoolHeader* pool = arena.freepools;
        if (pool) {
            arena.freepools = pool->nextpool;
        } else {
            pool = new (arena.pool_address) PoolHeader{};
            pool->arena_index = arena_index_of(arena);
            arena.pool_address += pool_size_;
        }
        arena.nfreepools -= 1;
        if (arena.nfreepools == 0) unlink_usable(arena);  // its last pool: full arena
        // Taking a pool keeps the list sorted: the head had the fewest free pools.

        const auto size = static_cast<std::uint32_t>(block_size(size_class));
#ifdef PYCONC_ASAN
        // An empty pool may have served another size class: its old dead
        // blocks do not line up with the new ones.
        ASAN_UNPOISON_MEMORY_REGION(reinterpret_cast<std::byte*>(pool) + pool_overhead,
                                    pool_size_ - pool_overhead);
#endif
        pool->size_class = static_cast<std::uint32_t>(size_class);
        pool->count = 1;
        std::byte* const first = reinterpret_cast<std::byte*>(pool) + pool_overhead;
        pool->nextoffset = static_cast<std::uint32_t>(pool_overhead) + 2 * size;
        pool->maxnextoffset = static_cast<std::uint32_t>(pool_size_) - size;
        pool->freeblock = first + size;
        set_next_free(pool->freeblock, nullptr);
        link_used(*pool);
        return first;
    }

    // insert_to_freepool: the pool's last block came back.
    void pool_became_empty(PoolHeader& pool) noexcept {
        unlink_used(pool);
        ArenaObject& arena = arenas_[pool.arena_index];
        pool.nextpool = arena.freepools;
        arena.freepools = &pool;
        arena.nfreepools += 1;

        if (arena.nfreepools == arena.ntotalpools && arena.nextarena != nullptr) {
            unlink_usable(arena);  // all empty, and not the last usable arena
            release_arena(arena);
        } else if (arena.nfreepools == 1) {
            link_usable_first(arena);  // was full: now has the fewest free pools
        } else {
            keep_usable_sorted(arena);
        }
    }

    // Calls f(pool, state) for every pool carved from `arena` so far.
    template <class F>
    void for_each_carved_pool(const ArenaObject& arena, F&& f) const {
        for (const std::byte* at = arena.address; at < arena.pool_address; at += pool_size_) {
            const auto& pool = *std::launder(reinterpret_cast<const PoolHeader*>(at));
            PoolState state = PoolState::used;
            if (pool.count == 0) {
                state = PoolState::empty;
            } else if (pool.freeblock == nullptr) {
                state = PoolState::full;
            }
            f(pool, state);
        }
    }
    [[nodiscard]] std::size_t untouched_pools(const ArenaObject& arena) const noexcept {
        return static_cast<std::size_t>(arena.address + arena_size_ - arena.pool_address) / pool_size_;
    }

    // --- arenas ------------------------------------------------------------
    [[nodiscard]] std::uint32_t arena_index_of(const ArenaObject& arena) const noexcept {
        for (std::size_t i = 0; i < arenas_.size(); ++i) {
            if (&arenas_[i] == &arena) return static_cast<std::uint32_t>(i);
        }
        fatal("Obmalloc", "an arena object that is not in arenas_");
    }

    // new_arena: a fresh megabyte, in a free slot or a new one; it becomes
    // the only usable arena (new_arena runs only when there is none).
    void new_arena() {
        ArenaObject* slot = nullptr;
        for (ArenaObject& arena : arenas_) {
            if (!arena.address) {
                slot = &arena;
                break;
            }
        }
        if (!slot) slot = &arenas_.emplace_back();  // deque: the other slots stay put
        void* memory = std::aligned_alloc(arena_size_, arena_size_);
        if (!memory) throw std::bad_alloc();  // the empty slot stays free for a later arena
        *slot = ArenaObject{};
        slot->address = static_cast<std::byte*>(memory);
#ifndef NDEBUG
        detail::ArenaRegistry::add(slot->address, arena_size_, this);
#endif
        slot->pool_address = slot->address;
        slot->nfreepools = slot->ntotalpools = pools_per_arena();
        usable_arenas_ = slot;
        arenas_allocated_ += 1;
        arenas_held_ += 1;
        arenas_highwater_ = std::max(arenas_highwater_, arenas_held_);
    }

    static void free_arena_memory(std::byte* address) noexcept {
#ifndef NDEBUG
        detail::ArenaRegistry::remove(address);
#endif
        std::free(address);
    }

    void release_arena(ArenaObject& arena) noexcept {
        free_arena_memory(arena.address);
        arena = ArenaObject{};
        arenas_released_ += 1;
        arenas_held_ -= 1;
    }

    void unlink_usable(ArenaObject& arena) noexcept {
        if (arena.prevarena) {
            arena.prevarena->nextarena = arena.nextarena;
        } else {
            usable_arenas_ = arena.nextarena;
        }
        if (arena.nextarena) arena.nextarena->prevarena = arena.prevarena;
        arena.nextarena = arena.prevarena = nullptr;
    }

    void link_usable_first(ArenaObject& arena) noexcept {
        arena.prevarena = nullptr;
        arena.nextarena = usable_arenas_;
        if (usable_arenas_) usable_arenas_->prevarena = &arena;
        usable_arenas_ = &arena;
    }

    // Its nfreepools just grew by one: move it back past the arenas that now
    // have fewer free pools. (CPython finds the spot in O(1) with nfp2lasta;
    // the walk is the same order, and there are few arenas.)
    void keep_usable_sorted(ArenaObject& arena) noexcept {
        ArenaObject* after = arena.nextarena;
        if (!after || after->nfreepools >= arena.nfreepools) return;
        while (after->nextarena && after->nextarena->nfreepools < arena.nfreepools) after = after->nextarena;
        unlink_usable(arena);
        arena.prevarena = after;
        arena.nextarena = after->nextarena;
        if (after->nextarena) after->nextarena->prevarena = &arena;
        after->nextarena = &arena;
    }

    // --- large requests ----------------------------------------------------
    void* allocate_large(std::size_t bytes) {
        void* memory = std::malloc(bytes == 0 ? 1 : bytes);
        if (!memory) throw std::bad_alloc();
        large_in_use_ += 1;
        large_bytes_in_use_ += bytes;
        return memory;
    }
    void free_large(void* pointer, std::size_t bytes) noexcept {
        std::free(pointer);
        large_in_use_ -= 1;
        large_bytes_in_use_ -= bytes;
    }

    std::array<PoolHeader*, size_classes> usedpools_{};  // per class: pools with a free block
    std::size_t pool_size_ = default_pool_size;
    std::size_t arena_size_ = default_arena_size;
    std::deque<ArenaObject> arenas_;        // slots; an arena's index never changes
    ArenaObject* usable_arenas_ = nullptr;  // arenas with an empty pool, fullest first
    std::size_t arenas_held_ = 0;
    std::size_t arenas_allocated_ = 0;
    std::size_t arenas_released_ = 0;
    std::size_t arenas_highwater_ = 0;
    std::size_t blocks_in_use_ = 0;
    std::size_t bytes_in_use_ = 0;
    std::size_t large_in_use_ = 0;
    std::size_t large_bytes_in_use_ = 0;
};

}  // namespace pyconc::runtime
