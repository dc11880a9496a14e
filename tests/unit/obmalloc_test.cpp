// pymalloc: size classes, pools, arenas, and the arena that one survivor
// keeps.
#include "pyconc/runtime/obmalloc.hpp"

#include <cstddef>
#include <cstring>
#include <vector>

#include <gtest/gtest.h>

using pyconc::runtime::Obmalloc;

namespace {

struct Block {
    void* pointer;
    std::size_t size;
};

}  // namespace

TEST(Obmalloc, HasCPythonsGeometry) {
    EXPECT_EQ(Obmalloc::size_classes, 32U);
    EXPECT_EQ(Obmalloc{}.pools_per_arena(), 64U);
    EXPECT_EQ(Obmalloc::block_size(0), 16U);
    EXPECT_EQ(Obmalloc::block_size(31), 512U);
    EXPECT_EQ(Obmalloc::size_class_of(1), 0U);
    EXPECT_EQ(Obmalloc::size_class_of(16), 0U);
    EXPECT_EQ(Obmalloc::size_class_of(17), 1U);
    EXPECT_EQ(Obmalloc::size_class_of(512), 31U);
    EXPECT_EQ(Obmalloc{}.blocks_per_pool(0), (16384U - 48U) / 16U);  // 1021
}

TEST(Obmalloc, EverySizeClassRoundTripsAlignedAndIntact) {
    Obmalloc allocator;
    std::vector<Block> blocks;
    for (std::size_t size = 1; size <= Obmalloc::small_request_threshold; ++size) {
        void* p = allocator.allocate(size);
        ASSERT_EQ(reinterpret_cast<std::uintptr_t>(p) % Obmalloc::alignment, 0U) << size;
        std::memset(p, static_cast<int>(size & 0xFFU), size);
        blocks.push_back({p, size});
    }
    EXPECT_EQ(allocator.stats().blocks_in_use, 512U);
    for (const Block& block : blocks) {
        const auto* bytes = static_cast<const unsigned char*>(block.pointer);
        for (std::size_t i = 0; i < block.size; ++i) ASSERT_EQ(bytes[i], block.size & 0xFFU);
        allocator.free(block.pointer, block.size);
    }
    const Obmalloc::Stats stats = allocator.stats();
    EXPECT_EQ(stats.blocks_in_use, 0U);
    EXPECT_EQ(stats.bytes_in_use, 0U);
    EXPECT_EQ(stats.pools_used + stats.pools_full, 0U);
}

TEST(Obmalloc, LargeRequestsGoToTheSystemAllocator) {
    Obmalloc allocator;
    void* p = allocator.allocate(513);
    EXPECT_EQ(allocator.stats().large_in_use, 1U);
    EXPECT_EQ(allocator.stats().arenas_held, 0U);
    allocator.free(p, 513);
    EXPECT_EQ(allocator.stats().large_in_use, 0U);
}

TEST(Obmalloc, AFreedBlockIsTheNextOneHandedOut) {
    Obmalloc allocator;
    void* a = allocator.allocate(32);
    void* b = allocator.allocate(32);
    allocator.free(a, 32);
    EXPECT_EQ(allocator.allocate(32), a);  // LIFO free list
    allocator.free(a, 32);
    allocator.free(b, 32);
}

TEST(Obmalloc, APoolFillsThenTheNextPoolIsUsed) {
    Obmalloc allocator;
    const std::size_t per_pool = Obmalloc{}.blocks_per_pool(0);
    std::vector<void*> blocks;
    for (std::size_t i = 0; i < per_pool; ++i) blocks.push_back(allocator.allocate(16));
    EXPECT_EQ(allocator.stats().pools_full, 1U);
    EXPECT_EQ(allocator.stats().pools_used, 0U);
    blocks.push_back(allocator.allocate(16));
    EXPECT_EQ(allocator.stats().pools_full, 1U);
    EXPECT_EQ(allocator.stats().pools_used, 1U);
    for (void* p : blocks) allocator.free(p, 16);
    EXPECT_EQ(allocator.stats().pools_empty, 2U);
}

TEST(Obmalloc, ScatteredSurvivorsKeepEveryArenaHeldAndFreeingThemReleasesAllButOne) {
    Obmalloc allocator;
    std::vector<void*> blocks;
    for (int i = 0; i < 200'000; ++i) blocks.push_back(allocator.allocate(16));
    const std::size_t held = allocator.stats().arenas_held;
    EXPECT_EQ(held, (200'000 + 1021 * 64 - 1) / (1021 * 64));  // 4 arenas of 65,344 blocks
    std::vector<void*> survivors;
    for (std::size_t i = 0; i < blocks.size(); ++i) {
        if (i % 2000 == 0) {
            survivors.push_back(blocks[i]);
        } else {
            allocator.free(blocks[i], 16);
        }
    }
    EXPECT_EQ(allocator.stats().arenas_held, held);  // 100 blocks hold 4 MiB
    EXPECT_EQ(allocator.stats().blocks_in_use, survivors.size());
    for (void* p : survivors) allocator.free(p, 16);
    // All empty now, and every arena but the last usable one goes back.
    EXPECT_EQ(allocator.stats().arenas_held, 1U);
    EXPECT_EQ(allocator.stats().arenas_released, held - 1);
}

TEST(Obmalloc, AllocationPrefersTheFullestArena) {
    Obmalloc allocator;
    std::vector<void*> first;
    std::vector<void*> second;
    const std::size_t per_arena = Obmalloc{}.blocks_per_pool(0) * Obmalloc{}.pools_per_arena();
    for (std::size_t i = 0; i < per_arena; ++i) first.push_back(allocator.allocate(16));
    for (std::size_t i = 0; i < per_arena; ++i) second.push_back(allocator.allocate(16));
    ASSERT_EQ(allocator.stats().arenas_held, 2U);
    // Empty 10 pools of the first arena and 1 pool of the second ...
    for (std::size_t i = 0; i < 10 * Obmalloc{}.blocks_per_pool(0); ++i) allocator.free(first[i], 16);
    for (std::size_t i = 0; i < Obmalloc{}.blocks_per_pool(0); ++i) allocator.free(second[i], 16);
    // ... the next pool comes from the second: it is the fuller one.
    void* next = allocator.allocate(16);
    const auto arena_of = [](void* p) {
        return reinterpret_cast<std::uintptr_t>(p) & ~(std::uintptr_t{Obmalloc::default_arena_size} - 1);
    };
    EXPECT_EQ(arena_of(next), arena_of(second.back()));
    allocator.free(next, 16);
    for (std::size_t i = 10 * Obmalloc{}.blocks_per_pool(0); i < first.size(); ++i)
        allocator.free(first[i], 16);
    for (std::size_t i = Obmalloc{}.blocks_per_pool(0); i < second.size(); ++i) allocator.free(second[i], 16);
}

TEST(Obmalloc, TheArenaMapShowsEachHeldArenasPools) {
    Obmalloc allocator;
    std::vector<void*> blocks;
    for (std::size_t i = 0; i < Obmalloc{}.blocks_per_pool(0) + 1; ++i)
        blocks.push_back(allocator.allocate(16));
    const auto map = allocator.arena_map();
    ASSERT_EQ(map.size(), 1U);
    EXPECT_EQ(map[0].pools_in_use, 2U);
    EXPECT_EQ(map[0].blocks_in_use, blocks.size());
    EXPECT_DOUBLE_EQ(map[0].pool_fill[0], 1.0);
    EXPECT_DOUBLE_EQ(map[0].pool_fill[1], 1.0 / static_cast<double>(Obmalloc{}.blocks_per_pool(0)));
    for (void* p : blocks) allocator.free(p, 16);
}
