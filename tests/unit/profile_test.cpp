// The version profiles (runtime/profile.hpp), pinned to the facts each row
// cites, and tied to the constants the model runs with today (3.12's).
#include "pyconc/runtime/profile.hpp"

#include <stdexcept>
#include <string_view>

#include <gtest/gtest.h>

#include "pyconc/runtime/gc.hpp"
#include "pyconc/runtime/object.hpp"
#include "pyconc/runtime/obmalloc.hpp"

using namespace pyconc::runtime;

namespace {

const Profile& row(std::string_view version) {
    static_assert(profiles.size() == 8);
    for (const Profile& profile : profiles) {
        if (profile.version == version) return profile;
    }
    throw std::invalid_argument("no profile");
}

}  // namespace

TEST(Profile, EveryVersionTheIssueNamesHasARowAndNothingElseDoes) {
    for (std::string_view version : {"3.9", "3.10", "3.11", "3.12", "3.13", "3.13t", "3.14", "3.14t"})
        EXPECT_TRUE(profile_for(version).has_value()) << version;
    for (std::string_view version : {"2.7", "3.8", "3.99", "banana", "", "3.12t", "3.9 "})
        EXPECT_FALSE(profile_for(version).has_value()) << version;
}

// 3.9 checks the eval breaker after every instruction; 3.10 (bpo-29988)
// only at function entry, backward jumps and calls.
TEST(Profile, OnlyThreeNineSwitchesAfterEveryInstruction) {
    for (const Profile& profile : profiles) {
        EXPECT_EQ(profile.check_points == CheckPoints::py39, profile.version == "3.9") << profile.version;
    }
}

// gc.get_threshold() on pyenv's 3.9.18 to 3.12.1: (700, 10, 10); 3.13.0: (2000, 10, 10).
TEST(Profile, TheCollectorsFirstThresholdIs700UpTo312And2000From313) {
    for (std::string_view version : {"3.9", "3.10", "3.11", "3.12"})
        EXPECT_EQ(row(version).gc_threshold, (std::array<int, 3>{700, 10, 10})) << version;
    EXPECT_EQ(row("3.13").gc_threshold, (std::array<int, 3>{2000, 10, 10}));
}

// sys.getrefcount(0): 501 on 3.9.18, 476 on 3.10.13, 1000000609 on 3.11.7
// (counted), 4294967295 on 3.12.1 and 3.13.0 (immortal, PEP 683).
TEST(Profile, SmallIntsAreImmortalFrom312) {
    for (std::string_view version : {"3.9", "3.10", "3.11"})
        EXPECT_FALSE(row(version).immortal_refcount) << version;
    for (std::string_view version : {"3.12", "3.13", "3.13t"})
        EXPECT_EQ(row(version).immortal_refcount, 4294967295U) << version;
    // 3.14's Include/refcount.h: _Py_IMMORTAL_INITIAL_REFCNT, 3 << 30 (not run here).
    for (std::string_view version : {"3.14", "3.14t"})
        EXPECT_EQ(row(version).immortal_refcount, 3221225472U) << version;
}

// A two-instance cycle is four objects to gc.collect() on 3.9.18 and
// 3.10.13 (each instance's __dict__), two from 3.11.7 on.
TEST(Profile, InstancesHaveDictsOfTheirOwnUpTo310) {
    for (const Profile& profile : profiles) {
        EXPECT_EQ(profile.instance_dicts, profile.version == "3.9" || profile.version == "3.10")
            << profile.version;
    }
}

// time.sleep(0) beside a thread spinning `while not stop: pass` returns in
// microseconds on 3.9.18 and 3.10.13 (select() with a zero timeout: the
// sleeper takes the GIL back before the spinner wakes) and after one switch
// interval from 3.11.7 (clock_nanosleep: the spinner takes the GIL meanwhile).
TEST(Profile, SleepWaitsInSelectUpTo310) {
    for (const Profile& profile : profiles) {
        EXPECT_EQ(profile.sleep_uses_select, profile.version == "3.9" || profile.version == "3.10")
            << profile.version;
    }
}

// sys.getrefcount() of a fresh local inside a function: 2 on 3.9.18 to
// 3.13.0 (the frame's reference and the argument's), 1 on 3.14.7 and
// 3.14.7t, whose LOAD_FAST_BORROW pushes the local without a reference.
TEST(Profile, LocalsLoadBorrowedFrom314) {
    for (const Profile& profile : profiles) {
        EXPECT_EQ(profile.borrowed_local_loads, profile.version == "3.14" || profile.version == "3.14t")
            << profile.version;
    }
}

// sys._debugmallocstats(): "262144 bytes/arena" and 4096-byte pools on
// 3.9.18; "1048576 bytes/arena" and 16384-byte pools on 3.10.13 and 3.13.0.
TEST(Profile, ArenasGrewFrom256KiBTo1MiBIn310) {
    EXPECT_EQ(row("3.9").pymalloc->arena_bytes, 262144U);
    EXPECT_EQ(row("3.9").pymalloc->pool_bytes, 4096U);
    for (std::string_view version : {"3.10", "3.11", "3.12", "3.13", "3.14"}) {
        EXPECT_EQ(row(version).pymalloc->arena_bytes, 1048576U) << version;
        EXPECT_EQ(row(version).pymalloc->pool_bytes, 16384U) << version;
    }
    for (std::string_view version : {"3.13t", "3.14t"}) EXPECT_FALSE(row(version).pymalloc) << version;
}

TEST(Profile, OnlyTheTBuildsRunWithoutTheGil) {
    for (const Profile& profile : profiles)
        EXPECT_EQ(profile.free_threaded, profile.version.ends_with('t')) << profile.version;
}

// multiprocessing.get_start_method() on Linux: fork on 3.9.18 to 3.13.0;
// forkserver from 3.14 (Doc/whatsnew/3.14.rst).
TEST(Profile, LinuxStartsProcessesByForkUpTo313AndByForkserverFrom314) {
    for (const Profile& profile : profiles) {
        const bool from_314 = profile.version.starts_with("3.14");
        EXPECT_EQ(profile.default_start_method, from_314 ? StartMethod::forkserver : StartMethod::fork)
            << profile.version;
    }
}

TEST(Profile, EveryRowSaysWhereItsFactsWereCheckedOrThatTheyWereNot) {
    for (const Profile& profile : profiles)
        EXPECT_FALSE(profile.checked.empty() && profile.unchecked.empty()) << profile.version;
}

// The model runs 3.12's numbers today: its own constants must be that row's.
TEST(Profile, TheModelsConstantsAreThe312Rows) {
    const Profile& py312 = row("3.12");
    EXPECT_EQ(Gc::default_thresholds, py312.gc_threshold);
    EXPECT_EQ(Obmalloc::default_arena_size, py312.pymalloc->arena_bytes);
    EXPECT_EQ(Obmalloc::default_pool_size, py312.pymalloc->pool_bytes);
    EXPECT_EQ(immortal_refcount, *py312.immortal_refcount);
}
