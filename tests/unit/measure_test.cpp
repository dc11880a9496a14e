// Measuring a run honestly (lesson/measure.hpp): busy-machine detection fed
// fake clocks, the calibration of a workload in time, the physics bound on a
// speed-up, and runs sized in rounds or in time (lesson/workloads.hpp).
#include "pyconc/lesson/measure.hpp"

#include <atomic>
#include <cmath>
#include <cstdint>
#include <vector>

#include <gtest/gtest.h>

#include "programs/workloads.hpp"
#include "pyconc/runtime/interpreter.hpp"

using namespace pyconc::lesson;
using namespace pyconc::programs;  // NOLINT(google-build-using-namespace): the programs under test

namespace {

// A clock the test moves by hand.
struct FakeClock {
    Times now;
    [[nodiscard]] Stopwatch::Read reader() {
        return [this] { return now; };
    }
};

}  // namespace

TEST(Stopwatch, MeasuresWallCpuAndOthersFromWhereItStarted) {
    FakeClock clock{{100.0, 50.0, 400.0}};
    const Stopwatch stopwatch{clock.reader()};
    clock.now = {102.0, 52.0, 404.0};  // 2 s: 2 CPU s of ours, 4 of the whole machine's
    const Times elapsed = stopwatch.elapsed();
    EXPECT_DOUBLE_EQ(elapsed.wall, 2.0);
    EXPECT_DOUBLE_EQ(cores_busy(elapsed), 1.0);
    EXPECT_DOUBLE_EQ(others_busy(elapsed), 1.0);
}

TEST(CpuShare, AGilBoundRunWithHalfACoreOrLessIsStarved) {
    FakeClock clock;
    const Stopwatch stopwatch{clock.reader()};
    clock.now = {1.0, 0.4, 2.0};  // a second of wall time, 0.4 s of CPU: other work had the core
    const CpuShare share{1.0, cores_busy(stopwatch.elapsed())};
    EXPECT_TRUE(share.starved());
    EXPECT_FALSE(share.full());
}

TEST(CpuShare, AGilBoundRunWithAWholeCoreIsNeitherStarvedNorShort) {
    const CpuShare share{1.0, 0.98};
    EXPECT_FALSE(share.starved());
    EXPECT_TRUE(share.full());
}

TEST(CpuShare, ARunThatNeededTwoCoresAndGotOneIsStarvedOfThemNotFull) {
    EXPECT_FALSE((CpuShare{2.0, 1.0}.starved()));
    EXPECT_FALSE((CpuShare{2.0, 1.0}.full()));
    EXPECT_TRUE((CpuShare{2.0, 0.9}.starved()));
}

TEST(Stopwatch, OthersAreNoneWithoutTheMachinesFigures) {
    EXPECT_DOUBLE_EQ(others_busy(Times{1.0, 1.0, 0.0}), 0.0);
    EXPECT_DOUBLE_EQ(cores_busy(Times{0.0, 1.0, 0.0}), 0.0);  // no time passed: no figure
}

TEST(Calibration, ScalesAWorkloadToTheTargetTime) {
    // A fake workload: 20 ns per unit.
    std::vector<std::int64_t> tried;
    const auto run = [&tried](std::int64_t n) {
        tried.push_back(n);
        return static_cast<double>(n) * 20e-9;
    };
    const std::int64_t n = size_for(0.3, run);
    EXPECT_NEAR(static_cast<double>(n), 0.3 / 20e-9, 1.0);
    // It doubled until a run lasted a tenth of the target, and went no further.
    ASSERT_GE(tried.size(), 2U);
    EXPECT_EQ(tried.front(), 1'000);
    EXPECT_GE(static_cast<double>(tried.back()) * 20e-9, 0.03);
    EXPECT_LT(static_cast<double>(tried.back()) * 20e-9, 0.06);
}

TEST(Calibration, AWorkloadSlowerThanTheTargetKeepsItsStartingSize) {
    const std::int64_t n = size_for(
        0.3, [](std::int64_t k) { return static_cast<double>(k) * 1.0; }, 1'000);
    EXPECT_EQ(n, 1'000);
}

TEST(Calibration, AWorkloadTooFastToTimeStopsAtTheLargestSize) {
    const std::int64_t n = size_for(
        0.3, [](std::int64_t) { return 0.0; }, 1'000, 64'000);
    EXPECT_LE(n, 64'000);
    EXPECT_GE(n, 32'000);
}

TEST(Speedup, AboveTheCoresThisProcessMayUseIsRefused) {
    EXPECT_FALSE(speedup(0.131, 0.047, 2).has_value());  // 2.78x on 2 cores: the cold baseline of issue 12
    EXPECT_EQ(speedup_text(0.131, 0.047, 2), "n/a");
    ASSERT_TRUE(speedup(0.120, 0.062, 2).has_value());
    EXPECT_NEAR(*speedup(0.120, 0.062, 2), 1.935, 0.001);
    EXPECT_EQ(speedup_text(0.120, 0.062, 2), "1.94x");
}

TEST(Speedup, NoiseWithinFivePercentOfTheBoundIsKept) {
    EXPECT_TRUE(speedup(1.03, 1.0, 1).has_value());
    EXPECT_FALSE(speedup(1.06, 1.0, 1).has_value());
    EXPECT_FALSE(speedup(1.0, 0.0, 4).has_value());
}

TEST(MedianSeconds, ThrowsAwayTheWarmUpAndTakesTheMiddleRun) {
    std::vector<double> timings{9.0, 3.0, 1.0, 2.0};  // a cold first run, then three
    std::size_t next = 0;
    const double median = median_seconds(3, [&] { return timings[next++]; });
    EXPECT_EQ(next, 4U);
    EXPECT_DOUBLE_EQ(median, 2.0);
}

TEST(UsableCores, CountsAtLeastOneAndNoMoreThanTheMachineHas) {
    const unsigned cores = usable_cores();
    EXPECT_GE(cores, 1U);
    EXPECT_LE(cores, std::max(1U, std::thread::hardware_concurrency()));
}

TEST(Rounds, ExactlyNRunsNTimesAndCountsThem) {
    Rounds rounds = Rounds::exactly(3);
    int ran = 0;
    while (rounds.next()) ++ran;
    EXPECT_EQ(ran, 3);
    EXPECT_EQ(rounds.done(), 3);
}

TEST(Rounds, UntilStopRunsUntilTheFlagIsSet) {
    std::atomic<bool> stop{false};
    Rounds rounds = Rounds::until(stop);
    for (int i = 0; i < 5; ++i) ASSERT_TRUE(rounds.next());
    stop = true;
    EXPECT_FALSE(rounds.next());
    EXPECT_EQ(rounds.done(), 5);
}

TEST(RunCounter, ATimedRunCountsWhatItsThreadsRanAndTheLockKeepsItExact) {
    pyconc::runtime::Interpreter interpreter;
    const CounterRun run = run_counter(interpreter, locked, 2, 0, std::chrono::milliseconds{20});
    EXPECT_GT(run.expected, 0);
    EXPECT_EQ(run.counter, run.expected);
    EXPECT_GE(run.elapsed.wall, 0.02);
}

TEST(RunCounter, AFixedRunRunsExactlyItsIterations) {
    pyconc::runtime::Interpreter interpreter;
    const CounterRun run = run_counter(interpreter, plain, 3, 1'000, std::chrono::seconds{0});
    EXPECT_EQ(run.expected, 3'000);
    EXPECT_EQ(run.counter, 3'000);  // py310 check points: the plain loop never loses one
}

TEST(CpuSecondsOf, CountsWhatThisProcessHasRunAndNothingForOneThatIsGone) {
    volatile double sink = 0;
    for (int i = 0; i < 20'000'000; ++i) sink = sink + 1.0;  // some CPU time to count
    EXPECT_GT(cpu_seconds_of(getpid()), 0.0);
    EXPECT_EQ(cpu_seconds_of(-1), 0.0);
}
