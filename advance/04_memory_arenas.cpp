// advance/04_memory_arenas: why a Python process can hold on to memory after
// its objects are gone.
//
// Mirrors ../reference/advance/04_memory_arenas.py. pymalloc keeps small
// objects in pools inside arenas (16 KiB and 1 MiB from 3.10, 4 KiB and 256
// KiB in 3.9: the --python version's), and gives an arena back to the
// system only when every pool in it is empty. Free all objects but one in
// 2,000, scattered as they were allocated, and every arena still holds a few
// survivors: the memory stays held. Free the survivors and it goes back.
#include <cstddef>
#include <string>
#include <vector>

#include "pyconc/lesson/lesson.hpp"
#include "pyconc/runtime/interpreter.hpp"
#include "pyconc/runtime/types.hpp"

using namespace pyconc::runtime;
using pyconc::lesson::accepted_range;
using pyconc::lesson::accepted_words;
using pyconc::lesson::grouped;

namespace {

// One line per arena, one character per pool: how full each pool is.
std::string pool_row(const Obmalloc::ArenaUsage& arena) {
    static constexpr const char* shades[] = {"·", "░", "▒", "▓", "█"};
    std::string row;
    for (const double fill : arena.pool_fill) {
        if (fill == 0.0) {
            row += " ";
        } else {
            row += shades[fill < 0.01 ? 0 : fill < 0.25 ? 1 : fill < 0.5 ? 2 : fill < 0.99 ? 3 : 4];
        }
    }
    return row;
}

void print_map(pyconc::lesson::Lesson& lesson, const Obmalloc& allocator, std::size_t max_rows) {
    const auto map = allocator.arena_map();
    lesson.note(
        "arena map: one row per {} KiB arena held, one column per {} KiB pool ('·' under 1% full, '█' full)",
        allocator.arena_size() / 1024, allocator.pool_size() / 1024);
    std::size_t shown = 0;
    for (const auto& arena : map) {
        if (shown++ == max_rows) {
            lesson.say("  ... {} arenas in all", map.size());
            break;
        }
        lesson.say("  arena {:>3} |{}| {:>2} pools in use, {:>6} blocks", arena.index, pool_row(arena),
                   arena.pools_in_use, grouped(arena.blocks_in_use));
    }
}

}  // namespace

// The version's pymalloc: its arena and pool sizes (3.9's 256 KiB and 4 KiB,
// 1 MiB and 16 KiB from 3.10). A free-threaded build has none: it says so.
void say_whose_arenas(pyconc::lesson::Lesson& lesson, const Obmalloc& allocator) {
    if (!lesson.python().pymalloc) {
        lesson.note(
            "CPython {} allocates with mimalloc: no arenas or pools. The model shows pymalloc's, as the "
            "builds with the GIL have them ({} KiB arenas of {} KiB pools).",
            lesson.python().version, allocator.arena_size() / 1024, allocator.pool_size() / 1024);
    } else {
        lesson.note("CPython {}'s pymalloc: {} KiB arenas of {} KiB pools.", lesson.python().version,
                    allocator.arena_size() / 1024, allocator.pool_size() / 1024);
    }
}

int main(int argc, char** argv) try {
    pyconc::lesson::Lesson lesson{
        "04_memory_arenas",
        "pymalloc's arenas: allocate many small objects, free all but a few scattered survivors, and the "
        "arenas stay held; free the survivors and they go back.",
        {"arenas-pinned", "arenas-released"}};
    std::size_t objects = 2'000'000;
    std::size_t keep_every = 2'000;
    std::string survivors_where = "scattered";
    std::size_t map_rows = 12;
    lesson.option("--objects", objects, "How many object() instances to allocate (16 bytes each)",
                  accepted_range<std::size_t>(1, 50'000'000));
    lesson.option("--keep-every", keep_every, "Keep one object in this many",
                  accepted_range<std::size_t>(1, 1'000'000'000));
    lesson.option("--survivors", survivors_where,
                  "scattered: every Nth object survives (as objs[::N]); together: the first ones do",
                  accepted_words({"scattered", "together"}));
    lesson.option("--map-rows", map_rows, "Arenas shown in each map (0: no map)",
                  accepted_range<std::size_t>(0, 10'000));
    if (auto exit = lesson.parse(argc, argv)) return *exit;
    // Each object: a 16-byte block, a slot in the list that keeps it, pool headers.
    if (auto exit = lesson.check_limits({0, 40.0 * static_cast<double>(objects)},
                                        fmt::format("--objects {}", objects)))
        return *exit;

    Interpreter interpreter{lesson.python_with_the_gil()};
    const Obmalloc& allocator = interpreter.allocator();
    say_whose_arenas(lesson, allocator);
    auto arenas = [&] { return allocator.stats().arenas_held; };

    lesson.heading("Allocate, then free all but 1 in {}", grouped(keep_every));
    // print("arenas at start:", arenas())
    const std::size_t at_start = arenas();
    lesson.say("arenas at start: {}", at_start);
    lesson.note_recorded_cpython([](const pyconc::lesson::Lesson::RecordedRun& cpython) {
        return fmt::format(
            "started with {} arenas (the interpreter's own objects; the model's heap starts empty)",
            cpython.get("figure.arenas_at_start"));
    });

    // objs = [object() for _ in range(2_000_000)]
    std::vector<Ref<PlainObject>> objs;
    objs.reserve(objects);
    for (std::size_t i = 0; i < objects; ++i) objs.push_back(make<PlainObject>());
    const std::size_t after_allocating = arenas();
    const Obmalloc::Stats full = allocator.stats();
    lesson.say("after {} objects: {} arenas ({} MiB held, {} MiB in blocks)", grouped(objects),
               after_allocating, full.bytes_held >> 20U, full.bytes_in_use >> 20U);

    // survivors = objs[::2000]; del objs
    std::vector<Ref<PlainObject>> survivors;
    const std::size_t keep = (objects + keep_every - 1) / keep_every;
    for (std::size_t i = 0; i < keep; ++i) {
        survivors.push_back(objs[survivors_where == "scattered" ? i * keep_every : i]);
    }
    objs = {};
    const std::size_t after_freeing = arenas();
    const Obmalloc::Stats pinned = allocator.stats();
    lesson.say("after freeing all but {} ({:.2f}%): {} arenas still held", grouped(survivors.size()),
               100.0 * static_cast<double>(survivors.size()) / static_cast<double>(objects), after_freeing);
    lesson.say("  {} KiB in live blocks hold {} MiB of arenas", pinned.bytes_in_use >> 10U,
               pinned.bytes_held >> 20U);
    if (map_rows > 0) print_map(lesson, allocator, map_rows);

    // del survivors
    survivors = {};
    const std::size_t after_survivors = arenas();
    lesson.say("after freeing the survivors: {}", after_survivors);
    if (objects == 2'000'000 && keep_every == 2000 && survivors_where == "scattered") {
        lesson.note_recorded_cpython([](const pyconc::lesson::Lesson::RecordedRun& cpython) {
            return fmt::format(
                "{} arenas more for the objects; every one still held by the survivors: {}; {} left "
                "after",
                cpython.get("figure.arenas_for_2000000_objects"), cpython.get("survivors_hold_every_arena"),
                cpython.get("arenas_left_after_all_freed"));
        });
    }
    lesson.note(
        "One empty arena stays for the next allocation (bpo-37257); the rest went back to the system.");

    lesson.figure("objects", objects);
    lesson.figure("keep_every", keep_every);
    lesson.figure("survivors", survivors_where);
    lesson.figure("arenas_at_start", at_start);
    lesson.figure("arenas_after_allocating", after_allocating);
    lesson.figure("arenas_after_freeing_all_but_survivors", after_freeing);
    lesson.figure("arenas_after_freeing_survivors", after_survivors);
    lesson.figure("bytes_in_use_pinned", pinned.bytes_in_use);
    lesson.figure("bytes_held_pinned", pinned.bytes_held);

    if (after_freeing == after_allocating) {
        return lesson.finish("arenas-pinned", fmt::format("{} of {} arenas still held for {} survivors",
                                                          after_freeing, after_allocating, grouped(keep)));
    }
    return lesson.finish("arenas-released", fmt::format("{} of {} arenas went back with the freed objects",
                                                        after_allocating - after_freeing, after_allocating));
} catch (...) {
    return pyconc::lesson::failed(argv[0]);  // one line and exit 3 (lesson/failure.hpp)
}
