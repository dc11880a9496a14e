// The OS lock under threading.Lock (runtime/thread_lock.hpp).
#include "pyconc/runtime/thread_lock.hpp"

#include <cstdint>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

using pyconc::runtime::ThreadLock;

TEST(ThreadLock, TryAcquireFailsWhileItIsHeldAndSucceedsOnceReleased) {
    ThreadLock lock;
    EXPECT_TRUE(lock.try_acquire());
    EXPECT_FALSE(lock.try_acquire());
    lock.release();
    EXPECT_TRUE(lock.try_acquire());
    lock.release();
}

// A Python lock is not a mutex: another thread may release it.
TEST(ThreadLock, AnotherThreadMayReleaseIt) {
    ThreadLock lock;
    lock.acquire();
    std::thread other([&] { lock.release(); });
    lock.acquire();  // returns only once the other thread released it
    other.join();
    lock.release();
}

// Four threads contending for it: every increment made under it counts,
// and no acquire is left asleep while the lock is free (the run ends).
TEST(ThreadLock, FourContendingThreadsLoseNoIncrementAndAllFinish) {
    constexpr int threads = 4;
    constexpr std::int64_t rounds = 100'000;
    ThreadLock lock;
    std::int64_t counter = 0;
    std::vector<std::thread> workers;
    for (int t = 0; t < threads; ++t) {
        workers.emplace_back([&] {
            for (std::int64_t i = 0; i < rounds; ++i) {
                lock.acquire();
                ++counter;
                lock.release();
            }
        });
    }
    for (std::thread& worker : workers) worker.join();
    EXPECT_EQ(counter, threads * rounds);
}
