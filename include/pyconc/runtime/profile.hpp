#pragma once
// What differs between the CPython versions the model can stand for: one row
// per version, each fact with where it was checked (issue 16's profiles).
//
// How this works
// - `profiles` is the table; `profile_for("3.12")` finds a row. A lesson's
//   --python picks one (lesson/which_python.hpp) and `Interpreter{profile}`
//   runs it: check points, GIL or none, collector thresholds, instance
//   layout, pymalloc's sizes; multiprocessing takes its default start
//   method; 03_gil_contention asks what time.sleep(0) does
//   (`sleep_uses_select`). tests/fidelity compares every row whose interpreter is
//   installed with what that interpreter reports, and
//   tests/unit/profile_test.cpp pins each row to its cited facts.
// - Not applied yet: `immortal_refcount` (the model's small ints are
//   immortal under every profile; no lesson prints their count).
// - A fact that could not be checked on a real interpreter here says so in
//   `unchecked`, with where it comes from instead.
// - Sizes are pymalloc's; a free-threaded build allocates with mimalloc and
//   has no arenas or pools (`pymalloc` empty).
#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

namespace pyconc::runtime {

// Where the eval loop may switch threads (see thread_state.hpp).
enum class CheckPoints : unsigned char {
    py39,   // after every instruction: CPython 3.9 and earlier
    py310,  // at RESUME, JUMP_BACKWARD and CALL only: CPython 3.10 to 3.13
};

// multiprocessing's start methods.
enum class StartMethod : unsigned char { fork, spawn, forkserver };

struct Pymalloc {
    std::size_t arena_bytes;  // ARENA_SIZE
    std::size_t pool_bytes;   // POOL_SIZE
};

struct Profile {
    std::string_view version;         // "3.9", "3.13t"
    CheckPoints check_points;         // where a thread may be switched out
    std::array<int, 3> gc_threshold;  // gc.get_threshold()
    std::optional<std::uint64_t>
        immortal_refcount;             // sys.getrefcount(0), when small ints are immortal (PEP 683)
    std::optional<Pymalloc> pymalloc;  // none: mimalloc (free-threaded builds)
    bool free_threaded;                // a "t" build, run without the GIL
    StartMethod default_start_method;  // multiprocessing.get_start_method() on Linux
    std::string_view checked;          // where the facts were checked
    std::string_view unchecked;        // facts not checked on a real interpreter here, and their source
    bool instance_dicts = false;       // an instance's attributes in a __dict__ of its own (up to 3.10)
    // time.sleep() waits in select() up to 3.10, so time.sleep(0) returns at
    // once; 3.11 waits in clock_nanosleep() (bpo-21302, What's New in 3.11),
    // which waits out the kernel's timer slack (about 50 us) even for 0.
    bool sleep_uses_select = false;
    // 3.14's compiler loads a local with LOAD_FAST_BORROW, which takes no
    // reference of its own, where the frame's reference outlives the one on
    // the stack (gh-130704; What's New in 3.14, "the interpreter now avoids
    // some reference count modifications"): inside a function,
    // sys.getrefcount(a) says one less than 3.13 does. At module level a
    // name is a global (LOAD_NAME, a new reference), and the count is as before.
    bool borrowed_local_loads = false;
    // 3.14t's collector runs an automatic collection only once the process's
    // memory grew by a tenth since the last one (gh-132917). The model's
    // estimate of that memory: what a fresh process of this CPython holds
    // (its resident set at start, KiB), plus the bytes the model's heap
    // hands out. 0: no such check.
    std::size_t gc_memory_check_start_kib = 0;
};

inline constexpr Pymalloc small_arenas{256 * 1024, 4 * 1024};        // up to 3.9
inline constexpr Pymalloc large_arenas{1024 * 1024, 16 * 1024};      // 3.10+ (bpo-37448's radix tree)
inline constexpr std::uint64_t immortal_refcount_312 = 4294967295U;  // _Py_IMMORTAL_REFCNT, 64-bit 3.12
inline constexpr std::uint64_t immortal_refcount_314 = 3U << 30U;    // _Py_IMMORTAL_INITIAL_REFCNT, 3.14

inline constexpr std::array profiles{
    Profile{"3.9",
            CheckPoints::py39,
            {700, 10, 10},
            std::nullopt,
            small_arenas,
            false,
            StartMethod::fork,
            "pyenv 3.9.18 here: gc.get_threshold(), sys._debugmallocstats(), "
            "multiprocessing.get_start_method(), a two-instance cycle's gc.collect() (4: two __dict__s), "
            "time.sleep(0) beside a spinning thread (returns in microseconds: select())",
            "",
            /*instance_dicts=*/true,
            /*sleep_uses_select=*/true},
    Profile{"3.10",
            CheckPoints::py310,
            {700, 10, 10},
            std::nullopt,
            large_arenas,
            false,
            StartMethod::fork,
            "pyenv 3.10.13 here",
            "",
            /*instance_dicts=*/true,
            /*sleep_uses_select=*/true},
    Profile{"3.11",
            CheckPoints::py310,
            {700, 10, 10},
            std::nullopt,
            large_arenas,
            false,
            StartMethod::fork,
            "pyenv 3.11.7 here (small ints are static there, counted from about 10^9: not immortal; "
            "instance values inline, no __dict__ until asked for)",
            ""},
    Profile{"3.12",
            CheckPoints::py310,
            {700, 10, 10},
            immortal_refcount_312,
            large_arenas,
            false,
            StartMethod::fork,
            "pyenv 3.12.1 here",
            ""},
    Profile{"3.13",
            CheckPoints::py310,
            {2000, 10, 10},
            immortal_refcount_312,
            large_arenas,
            false,
            StartMethod::fork,
            "pyenv 3.13.0 here",
            ""},
    Profile{"3.13t",
            CheckPoints::py310,
            {2000, 10, 10},
            immortal_refcount_312,
            std::nullopt,
            true,
            StartMethod::fork,
            "",
            "no 3.13t build here: the threshold and immortal count are 3.13's (Include/object.h's "
            "free-threaded Py_REFCNT reports _Py_IMMORTAL_REFCNT, UINT_MAX), mimalloc from PEP 703; the "
            "collector (Python/gc_free_threading.c) has no generations"},
    Profile{
        "3.14",
        CheckPoints::py310,
        {2000, 10, 10},
        immortal_refcount_314,
        large_arenas,
        false,
        StartMethod::forkserver,
        "3.14.7 built here (tools/build_cpython): gc.get_threshold(), sys.getrefcount(0) "
        "(Include/refcount.h's "
        "_Py_IMMORTAL_INITIAL_REFCNT, 3 << 30), sys._debugmallocstats(), multiprocessing.get_start_method() "
        "(What's New in 3.14, cpython PR 125750), a fresh local's sys.getrefcount() (1: LOAD_FAST_BORROW). "
        "The thresholds are 3.13's: 3.14.5 went back to the generational collector (3.14.0-3.14.4 shipped an "
        "incremental one, gc.get_threshold() (2000, 10, 0); cpython issue 144960)",
        "",
        /*instance_dicts=*/false,
        /*sleep_uses_select=*/false,
        /*borrowed_local_loads=*/true},
    Profile{
        "3.14t",
        CheckPoints::py310,
        {2000, 10, 10},
        immortal_refcount_314,
        std::nullopt,
        true,
        StartMethod::forkserver,
        "3.14.7t built here (tools/build_cpython --disable-gil): as 3.14, and no pymalloc arenas "
        "(mimalloc, PEP 703); the free-threaded collector (Python/gc_free_threading.c) has no generations, "
        "and defers an automatic collection until memory grew 10% (gh-132917; a fresh process here holds "
        "11,500 KiB: /proc/self/statm after import gc, time)",
        "",
        /*instance_dicts=*/false,
        /*sleep_uses_select=*/false,
        /*borrowed_local_loads=*/true,
        /*gc_memory_check_start_kib=*/11'500},
};

[[nodiscard]] constexpr std::optional<Profile> profile_for(std::string_view version) noexcept {
    for (const Profile& profile : profiles) {
        if (profile.version == version) return profile;
    }
    return std::nullopt;
}

[[nodiscard]] constexpr std::string_view start_method_name(StartMethod method) noexcept {
    switch (method) {
        case StartMethod::fork:
            return "fork";
        case StartMethod::spawn:
            return "spawn";
        case StartMethod::forkserver:
            return "forkserver";
    }
    return "?";
}

}  // namespace pyconc::runtime
