// The GIL: CPython's take/drop algorithm with real threads. Assertions are
// about order and about bounds that are certain by construction (a drop
// request can never come before one full interval), never about luck.
#include "pyconc/runtime/gil.hpp"

#include <atomic>
#include <chrono>
#include <mutex>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

using pyconc::runtime::Gil;
using namespace std::chrono_literals;

namespace {

// Two thread identities: any stable addresses do.
const int main_state = 0;
const int other_state = 0;
const Gil::Holder main_thread = &main_state;
const Gil::Holder other_thread = &other_state;

}  // namespace

TEST(Gil, AnUncontendedTakeAndDropNeverRequestsADrop) {
    Gil gil;
    gil.take(main_thread);
    EXPECT_TRUE(gil.locked());
    EXPECT_FALSE(gil.drop_requested());
    gil.drop(main_thread);
    EXPECT_FALSE(gil.locked());
    EXPECT_EQ(gil.switch_number(), 1U);
    gil.take(main_thread);  // the same thread again: not a switch
    gil.drop(main_thread);
    EXPECT_EQ(gil.switch_number(), 1U);
}

TEST(Gil, AWaiterAsksForADropOnlyAfterAWholeIntervalHasPassed) {
    Gil gil;
    gil.set_switch_interval(20ms);
    gil.take(main_thread);
    const auto asked = std::chrono::steady_clock::now();
    std::thread waiter([&] {
        gil.take(other_thread);
        gil.drop(other_thread);
    });
    // The holder never checks: the request must come, and not before 20 ms.
    while (!gil.drop_requested()) std::this_thread::sleep_for(100us);
    EXPECT_GE(std::chrono::steady_clock::now() - asked, 20ms);
    gil.drop(main_thread);  // forced switching: returns once the waiter has it
    EXPECT_EQ(gil.last_holder(), other_thread);
    waiter.join();
}

TEST(Gil, ForcedSwitchingHandsTheGilToTheWaiterBeforeTheDropperCanRetakeIt) {
    Gil gil;
    gil.set_switch_interval(1ms);
    std::mutex order_mutex;
    std::vector<Gil::Holder> order;  // who took the GIL, in order
    gil.take(main_thread);
    std::thread waiter([&] {
        gil.take(other_thread);
        {
            const std::lock_guard lock{order_mutex};
            order.push_back(other_thread);
        }
        gil.drop(other_thread);
    });
    while (!gil.drop_requested()) std::this_thread::yield();
    // A check point with a pending request: drop, then take again at once.
    gil.drop(main_thread);
    gil.take(main_thread);
    {
        const std::lock_guard lock{order_mutex};
        order.push_back(main_thread);
    }
    gil.drop(main_thread);
    waiter.join();
    EXPECT_EQ(order, (std::vector<Gil::Holder>{other_thread, main_thread}));
}

TEST(Gil, TwoThreadsSharingTheGilNeverHoldItTogether) {
    Gil gil;
    gil.set_switch_interval(100us);
    std::atomic<int> holders{0};
    std::atomic<bool> overlap{false};
    auto worker = [&](Gil::Holder self) {
        gil.take(self);
        for (int i = 0; i < 20'000; ++i) {
            if (holders.fetch_add(1) != 0) overlap = true;
            holders.fetch_sub(1);
            if (gil.drop_requested()) {  // a check point
                gil.drop(self);
                gil.take(self);
            }
        }
        gil.drop(self);
    };
    std::thread a(worker, main_thread);
    std::thread b(worker, other_thread);
    a.join();
    b.join();
    EXPECT_FALSE(overlap);
    EXPECT_FALSE(gil.locked());
}

TEST(Gil, ASwitchIntervalThatIsNotStrictlyPositiveIsRefusedWithCPythonsMessage) {
    Gil gil;
    EXPECT_EQ(gil.switch_interval(), 5000us);
    try {
        gil.set_switch_interval(0us);
        FAIL() << "accepted 0";
    } catch (const std::invalid_argument& error) {
        EXPECT_STREQ(error.what(), "switch interval must be strictly positive");
    }
    EXPECT_THROW(gil.set_switch_interval(-1us), std::invalid_argument);
    EXPECT_EQ(gil.switch_interval(), 5000us);
}

using GilDeathTest = ::testing::Test;

TEST_F(GilDeathTest, TakingTheGilTwiceOnOneThreadIsFatalAndSaysSo) {
    EXPECT_DEATH(
        {
            Gil gil;
            gil.take(main_thread);
            gil.take(main_thread);
        },
        "this thread already holds the GIL");
}

TEST_F(GilDeathTest, DroppingTheGilWithoutHoldingItIsFatalAndSaysSo) {
    EXPECT_DEATH(
        {
            Gil gil;
            gil.drop(main_thread);
        },
        "this thread does not hold the GIL");
}
