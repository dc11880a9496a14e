#pragma once
// Measuring a run honestly, so that what a lesson prints is what CPython
// would show and never what timing luck or a busy machine made of it.
//
// How this works
// - `usable_cores()` counts the cores this process may run on
//   (sched_getaffinity: what `taskset` and a container's cpuset leave it),
//   not the machine's (`hardware_concurrency()` ignores affinity). Every
//   "on N cores" and every speed-up bound uses it.
// - A `Stopwatch` reads wall time, this process's CPU time
//   (CLOCK_PROCESS_CPUTIME_ID: every thread of the process) and the CPU time
//   of the whole machine (/proc/stat) together. `cores_busy()` is how many
//   cores the run kept busy on average: about 1 for GIL-bound threads, up to
//   the core count without a GIL or with processes (add a pool's workers
//   with `with_children`). `others_busy()` is how many cores other work
//   took meanwhile. A run that needed one core and got much less was starved
//   by other work: the lesson says `machine-busy` instead of drawing a
//   conclusion from it (`CpuShare::starved`). The clocks can be replaced,
//   for tests.
// - `size_for()` calibrates a workload in time: it doubles a run until it
//   lasts long enough to time, then scales it to the target. The model's
//   eval loop is several times faster than CPython's, so a size copied from
//   a CPython program can end inside one switch interval.
// - `speedup()` refuses a figure physics forbids: more than the cores the
//   process may use (with 5% for clock noise) is a measuring error, such as
//   a cold first run taken as the baseline. `median_seconds()` times a short
//   run after a warm-up, as the median of a few repeats.
#include <algorithm>
#include <array>
#include <chrono>
#include <cstdint>
#include <fstream>
#include <functional>
#include <optional>
#include <sched.h>
#include <sstream>
#include <string>
#include <thread>
#include <time.h>
#include <utility>
#include <vector>

#include <sys/types.h>
#include <unistd.h>

#include <fmt/format.h>

namespace pyconc::lesson {

// The cores this process may run on (at least 1).
[[nodiscard]] inline unsigned usable_cores() {
    cpu_set_t set;
    CPU_ZERO(&set);
    if (sched_getaffinity(0, sizeof set, &set) == 0)
        return static_cast<unsigned>(std::max(1, CPU_COUNT(&set)));
    return std::max(1U, std::thread::hardware_concurrency());
}

// Wall time, this process's CPU time and the whole machine's, in seconds
// from an arbitrary start.
struct Times {
    double wall = 0;
    double cpu = 0;
    double machine_cpu = 0;  // every process's (0 where /proc/stat cannot be read)
};

// The CPU seconds every process on the machine has used since boot: the
// busy columns of /proc/stat's first line (all but idle and iowait).
[[nodiscard]] inline double machine_cpu_seconds() {
    std::ifstream stat{"/proc/stat"};
    std::string cpu;
    std::array<double, 8> ticks{};  // user nice system idle iowait irq softirq steal
    if (!(stat >> cpu) || cpu != "cpu") return 0;
    for (double& t : ticks) stat >> t;
    const double busy = ticks[0] + ticks[1] + ticks[2] + ticks[5] + ticks[6] + ticks[7];
    return busy / static_cast<double>(sysconf(_SC_CLK_TCK));
}

// The CPU seconds process `pid` has run: /proc/PID/schedstat (in ns), or
// where the kernel keeps no schedstat, /proc/PID/stat's utime and stime (in
// clock ticks); 0 if it is gone.
[[nodiscard]] inline double cpu_seconds_of(pid_t pid) {
    std::ifstream schedstat{fmt::format("/proc/{}/schedstat", pid)};
    double ns = 0;
    if (schedstat >> ns) return ns * 1e-9;
    std::ifstream stat{fmt::format("/proc/{}/stat", pid)};
    std::string line;
    if (!std::getline(stat, line)) return 0.0;
    // pid (comm) state ppid ...: the fields after the command's closing
    // parenthesis, where utime and stime are the 12th and 13th.
    std::istringstream fields{line.substr(line.rfind(')') + 2)};
    std::string field;
    double utime = 0;
    double stime = 0;
    for (int i = 1; i <= 13 && fields >> field; ++i) {
        if (i == 12) utime = std::stod(field);
        if (i == 13) stime = std::stod(field);
    }
    return (utime + stime) / static_cast<double>(sysconf(_SC_CLK_TCK));
}

[[nodiscard]] inline Times process_times() {
    timespec cpu{};
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &cpu);
    return {std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count(),
            static_cast<double>(cpu.tv_sec) + static_cast<double>(cpu.tv_nsec) * 1e-9, machine_cpu_seconds()};
}

// process_times() with the CPU time of some child processes (a pool's
// workers) counted as this process's.
[[nodiscard]] inline std::function<Times()> with_children(std::vector<pid_t> pids) {
    return [pids = std::move(pids)] {
        Times times = process_times();
        for (const pid_t pid : pids) times.cpu += cpu_seconds_of(pid);
        return times;
    };
}

// CPU seconds per wall second: how many cores a run kept busy on average.
[[nodiscard]] inline double cores_busy(Times elapsed) {
    return elapsed.wall > 0 ? elapsed.cpu / elapsed.wall : 0.0;
}
// How many cores other work kept busy meanwhile (0 without /proc/stat).
[[nodiscard]] inline double others_busy(Times elapsed) {
    if (elapsed.wall <= 0 || elapsed.machine_cpu <= 0) return 0.0;
    return std::max(0.0, elapsed.machine_cpu - elapsed.cpu) / elapsed.wall;
}

// How long this thread has waited, runnable, for a core since it started
// (the second figure of /proc/thread-self/schedstat: the kernel's
// run_delay, ns); none where the kernel does not say. Sleeping on a lock or
// a condition is not waiting for a core: a thread that waited here for long
// was ready to run and the machine had no core for it.
[[nodiscard]] inline std::optional<std::chrono::nanoseconds> run_queue_wait_of_this_thread() {
    std::ifstream schedstat{"/proc/thread-self/schedstat"};
    std::int64_t on_cpu = 0;
    std::int64_t waiting = 0;
    if (!(schedstat >> on_cpu >> waiting)) return std::nullopt;
    return std::chrono::nanoseconds{waiting};
}

class Stopwatch {
public:
    using Read = std::function<Times()>;
    explicit Stopwatch(Read read = process_times) : read_(std::move(read)), start_(read_()) {}

    // Wall and CPU seconds since the stopwatch was made (or restarted).
    [[nodiscard]] Times elapsed() const {
        const Times now = read_();
        return {now.wall - start_.wall, now.cpu - start_.cpu, now.machine_cpu - start_.machine_cpu};
    }
    void restart() { start_ = read_(); }

private:
    Read read_;
    Times start_;
};

// What a run needed of the CPU and what it got.
struct CpuShare {
    double needed = 1;  // cores the run keeps busy on an idle machine (1 for GIL-bound threads)
    double got = 0;     // cores_busy() of the run

    // Less than half of what it needed: other work had the cores, and the
    // run's outcome says more about the machine than about the model.
    [[nodiscard]] bool starved() const noexcept { return got < 0.5 * needed; }
    // Close to all of it: its wall time can be compared with another's.
    [[nodiscard]] bool full() const noexcept { return got >= 0.8 * needed; }
};

// The size of a workload that runs for about `target_seconds`. `run(n)` runs
// it at size n and returns the seconds it took. Sizes double from `start`
// until a run lasts at least a tenth of the target (long enough to time),
// and the last one is scaled; the result is at least `start`.
[[nodiscard]] inline std::int64_t size_for(double target_seconds,
                                           const std::function<double(std::int64_t)>& run,
                                           std::int64_t start = 1'000, std::int64_t largest = 4'000'000'000) {
    std::int64_t n = std::max<std::int64_t>(1, start);
    double seconds = run(n);
    while (seconds < target_seconds / 10 && n < largest / 2) {
        n *= 2;
        seconds = run(n);
    }
    if (seconds <= 0) return std::min(largest, n);
    const double scaled = static_cast<double>(n) * target_seconds / seconds;
    return std::clamp(static_cast<std::int64_t>(scaled), std::max<std::int64_t>(1, start), largest);
}

// The median of `repeats` timings of `run` (seconds), after one run that is
// thrown away (caches, page faults, the first thread's stack).
[[nodiscard]] inline double median_seconds(int repeats, const std::function<double()>& run) {
    (void)run();
    std::vector<double> seconds;
    for (int i = 0; i < std::max(1, repeats); ++i) seconds.push_back(run());
    std::sort(seconds.begin(), seconds.end());
    return seconds[seconds.size() / 2];
}

// baseline / run, or nothing when that would exceed the cores the process
// may use (with 5% for noise): such a figure is a measuring error.
[[nodiscard]] inline std::optional<double> speedup(double baseline_seconds, double run_seconds,
                                                   unsigned cores) {
    if (baseline_seconds <= 0 || run_seconds <= 0) return std::nullopt;
    const double value = baseline_seconds / run_seconds;
    if (value > 1.05 * static_cast<double>(std::max(1U, cores))) return std::nullopt;
    return value;
}

// The same as text for a table: "1.96x", or "n/a" for a figure physics forbids.
[[nodiscard]] inline std::string speedup_text(double baseline_seconds, double run_seconds, unsigned cores) {
    const auto value = speedup(baseline_seconds, run_seconds, cores);
    return value ? fmt::format("{:.2f}x", *value) : std::string{"n/a"};
}

}  // namespace pyconc::lesson
