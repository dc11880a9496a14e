// advance/02_gc_generations: the cyclic collector's generations, its
// automatic collections, and the pause a full collection costs.
//
// Mirrors ../reference/advance/02_gc_generations.py. Three generations with
// thresholds (700, 10, 10) up to 3.12 and (2000, 10, 10) from 3.13 (the
// --python version's); allocating containers minus freeing them drives
// count[0], and past its threshold the next allocation collects the young
// generation. The free-threaded builds (3.13t, 3.14t) have no generations
// to choose between: every collection visits the whole heap. gc.disable() stops those automatic collections,
// not gc.collect(). A full collection walks every tracked container, so its pause grows with the heap.
#include <array>
#include <chrono>
#include <cstddef>
#include <string>
#include <vector>

#include "pyconc/lesson/lesson.hpp"
#include "pyconc/runtime/interpreter.hpp"
#include "pyconc/runtime/types.hpp"

using namespace pyconc::runtime;
using pyconc::lesson::accepted_range;
using pyconc::lesson::grouped;

namespace {

std::string tuple_text(const std::array<std::size_t, 3>& values) {
    return fmt::format("({}, {}, {})", values[0], values[1], values[2]);
}

// class Node: def __init__(self): self.peer = None
// def cycles(n): for _ in range(n): a, b = Node(), Node(); a.peer, b.peer = b, a
void cycles(const Ref<Class>& Node, std::size_t n) {
    for (std::size_t i = 0; i < n; ++i) {
        Ref<Instance> a = new_instance(Node);
        Ref<Instance> b = new_instance(Node);
        a->setattr("peer", b);
        b->setattr("peer", a);
    }
}

struct Settings {
    int threshold = -1;  // -1: the modelled version's threshold0
    std::size_t lists = 10'000;
    std::size_t max_cycles = 1'000'000;
    bool disable = false;
    bool freeze = false;
};

void add_flags(pyconc::lesson::Lesson& lesson, Settings& settings) {
    lesson
        .option("--threshold", settings.threshold,
                "threshold0: containers allocated (net) before a young collection; 0 turns automatic "
                "collection off (default: the --python version's: 700 up to 3.12, 2000 from 3.13)",
                accepted_range(0, 1'000'000))
        .no_default_shown();
    lesson.option("--lists", settings.lists, "How many lists to make while counting automatic collections",
                  accepted_range<std::size_t>(1, 1'000'000));
    lesson.option("--max-cycles", settings.max_cycles,
                  "Largest heap for the pause table: 10,000, 100,000, ... cycles up to this",
                  accepted_range<std::size_t>(10'000, 2'000'000));
    lesson.flag("--disable", settings.disable, "gc.disable() before making the lists");
    lesson.flag("--freeze", settings.freeze, "gc.freeze() the 500 kept lists before making the others");
}

// What the lesson records as it goes (--json).
struct Figures {
    std::array<int, 3> thresholds{};
    std::array<std::size_t, 3> after_collect{};
    std::array<std::size_t, 3> after_500{};
    std::array<std::size_t, 3> collections{};  // automatic ones, per generation
    std::vector<std::size_t> sizes;
    std::vector<std::size_t> found_per_size;
    std::vector<double> pause_ms;
};

// print(gc.get_threshold()); gc.collect(); keep = [[] for _ in range(500)]
Ref<List> thresholds_and_counts(pyconc::lesson::Lesson& lesson, Gc& gc, const Settings& settings,
                                Figures& figures) {
    lesson.heading("Thresholds and counts");
    // print("thresholds", gc.get_threshold())
    const auto thresholds = gc.get_threshold();
    figures.thresholds = thresholds;
    lesson.say("thresholds ({}, {}, {})", thresholds[0], thresholds[1], thresholds[2]);
    // gc.collect(); print("count after collect", gc.get_count())
    gc.collect();
    const auto after_collect = gc.get_count();
    figures.after_collect = after_collect;
    lesson.say("count after collect {}", tuple_text(after_collect));
    // keep = [[] for _ in range(500)]
    Ref<List> keep = make<List>();
    for (int i = 0; i < 500; ++i) keep->append(make<List>());
    const auto after_500 = gc.get_count();
    figures.after_500 = after_500;
    lesson.say("after 500 new lists {}", tuple_text(after_500));
    lesson.note("500 lists and the list that keeps them: the model counts nothing else.");
    lesson.note_recorded_cpython([](const pyconc::lesson::Lesson::RecordedRun& cpython) {
        return fmt::format(
            "after 500 new lists ({}): what the interpreter and the program's bookkeeping made counts too",
            cpython.get("figure.count_after_500_lists"));
    });
    if (settings.freeze) {
        gc.freeze();
        lesson.say("gc.freeze(): {} containers moved to the permanent generation; count {}",
                   gc.get_freeze_count(), tuple_text(gc.get_count()));
    }

    return keep;
}

// junk = [[] for _ in range(lists)], counting the collections it triggers.
void automatic_collections(pyconc::lesson::Lesson& lesson, Gc& gc, const Settings& settings,
                           Figures& figures) {
    const std::size_t lists = settings.lists;
    std::array<std::size_t, 3>& collections = figures.collections;
    lesson.heading("Automatic collections while making {} lists", grouped(lists));
    // events = []; gc.callbacks.append(lambda phase, info: events.append(...))
    gc.add_callback([&](Gc::Phase phase, const Gc::CallbackInfo& info) {
        if (phase == Gc::Phase::stop) collections[static_cast<std::size_t>(info.generation)] += 1;
    });
    if (settings.disable) gc.disable();
    // junk = [[] for _ in range(10_000)]
    Ref<List> junk = make<List>();
    for (std::size_t i = 0; i < lists; ++i) junk->append(make<List>());
    gc.clear_callbacks();
    gc.enable();
    lesson.say("collections while making {} lists: {{0: {}, 1: {}, 2: {}}}", grouped(lists), collections[0],
               collections[1], collections[2]);
    lesson.say("count now {}; objects per generation: {}, {}, {}", tuple_text(gc.get_count()),
               gc.objects_in(0), gc.objects_in(1), gc.objects_in(2));
    if (settings.disable) lesson.note("gc.disable(): allocations never trigger a collection.");
    if (!settings.disable && settings.threshold > 0) {
        if (lesson.python().free_threaded) {
            lesson.note(
                "Free-threaded {}: each collection, asked for as generation 0, visited the whole heap, "
                "once count[0] passed {} and a quarter of the objects that survived the last one.",
                lesson.python().version, settings.threshold);
            if (gc.deferred_checks() > 0) {
                const std::size_t ran = collections[0] + collections[1] + collections[2];
                lesson.note(
                    "{} of the {} times count[0] passed {}, {} deferred the collection: it also waits until "
                    "the process's memory grew by a tenth since the last one (gh-132917; the model's "
                    "estimate: "
                    "{} KiB, a fresh {} here, plus its heap's bytes).",
                    gc.deferred_checks(), gc.deferred_checks() + ran, settings.threshold,
                    lesson.python().version, grouped(lesson.python().gc_memory_check_start_kib),
                    lesson.python().version);
            }
        } else {
            lesson.note(
                "A young collection each time count[0] passed {}; every 11th of them (count[1] > 10) "
                "collected generation 1 instead.",
                settings.threshold);
        }
        // CPython's figures are for its defaults only.
        const bool defaults =
            settings.threshold == lesson.python().gc_threshold[0] && lists == 10'000 && !settings.freeze;
        if (defaults) {
            lesson.note_recorded_cpython([](const pyconc::lesson::Lesson::RecordedRun& cpython) {
                return fmt::format(
                    "collections per generation while making them: {} (counted from gc.get_stats(): a "
                    "callback would allocate, and count too)",
                    cpython.get("automatic_collections"));
            });
        }
    }
}

// With gc.disable(), cycles pile up; gc.collect() finds them, and its pause grows with the heap.
void collect_by_hand(pyconc::lesson::Lesson& lesson, Gc& gc, const Settings& settings, Figures& figures) {
    lesson.heading("gc.disable() stops automatic collections, not gc.collect()");
    gc.collect();
    // class Node: ...
    const Ref<Class> Node = make<Class>("Node");
    // gc.disable()
    gc.disable();
    for (std::size_t n = 10'000; n <= settings.max_cycles; n *= 10) figures.sizes.push_back(n);
    pyconc::lesson::Table table{{"cycles", pyconc::lesson::Align::right},
                                {"gc.collect() found", pyconc::lesson::Align::right},
                                {"pause", pyconc::lesson::Align::right},
                                {"per object", pyconc::lesson::Align::right}};
    pyconc::lesson::BarChart chart{"ms"};
    for (std::size_t n : figures.sizes) {
        // cycles(n); t0 = time.perf_counter(); found = gc.collect(); dt = ...
        cycles(Node, n);
        const std::size_t automatic_before = gc.get_stats()[0].collections + gc.get_stats()[1].collections;
        const auto started = std::chrono::steady_clock::now();
        const std::size_t found = gc.collect();
        const std::chrono::duration<double, std::milli> pause = std::chrono::steady_clock::now() - started;
        if (gc.get_stats()[0].collections + gc.get_stats()[1].collections != automatic_before) {
            pyconc::runtime::fatal("02_gc_generations", "an automatic collection ran while disabled");
        }
        figures.found_per_size.push_back(found);
        figures.pause_ms.push_back(pause.count());
        table.row({grouped(n), grouped(found), fmt::format("{:.1f} ms", pause.count()),
                   fmt::format("{:.0f} ns", pause.count() * 1e6 / static_cast<double>(found))});
        chart.bar(fmt::format("{} cycles", grouped(n)), pause.count());
    }
    gc.enable();
    lesson.print(table);
    lesson.say("");
    lesson.print(chart);
    lesson.note(
        "No automatic collection ran while the cycles piled up; each gc.collect() found both objects "
        "of every cycle. The pause grows with the heap: every tracked container is visited.");
}

}  // namespace

int main(int argc, char** argv) try {
    pyconc::lesson::Lesson lesson{
        "02_gc_generations",
        "The cyclic collector's three generations: thresholds and counts, the automatic "
        "collections that allocations trigger, gc.disable(), and the pause of a full "
        "collection as the heap grows.",
        {"automatic", "manual-only"}};
    Settings settings;
    add_flags(lesson, settings);
    if (auto exit = lesson.parse(argc, argv)) return *exit;

    Interpreter interpreter{lesson.python()};
    Gc& gc = interpreter.gc();
    const auto& [threshold0, threshold1, threshold2] = lesson.python().gc_threshold;
    if (settings.threshold < 0) settings.threshold = threshold0;
    gc.set_threshold(settings.threshold, threshold1, threshold2);
    Figures figures;
    const Ref<List> keep = thresholds_and_counts(lesson, gc, settings, figures);
    automatic_collections(lesson, gc, settings, figures);
    collect_by_hand(lesson, gc, settings, figures);

    lesson.heading("Statistics");
    // print("stats per generation:", [s["collections"] for s in gc.get_stats()])
    const auto& stats = gc.get_stats();
    lesson.say("stats per generation: [{}, {}, {}]", stats[0].collections, stats[1].collections,
               stats[2].collections);
    lesson.say("collected per generation: [{}, {}, {}]", stats[0].collected, stats[1].collected,
               stats[2].collected);

    const auto& collections = figures.collections;
    lesson.figure("thresholds", std::vector<int>(figures.thresholds.begin(), figures.thresholds.end()));
    lesson.figure("count_after_collect",
                  std::vector<std::size_t>(figures.after_collect.begin(), figures.after_collect.end()));
    lesson.figure("count_after_500_lists",
                  std::vector<std::size_t>(figures.after_500.begin(), figures.after_500.end()));
    lesson.figure("automatic_collections", std::vector<std::size_t>(collections.begin(), collections.end()));
    lesson.figure("cycles", figures.sizes);
    lesson.figure("found", figures.found_per_size);
    lesson.figure("pause_ms", figures.pause_ms);
    lesson.figure("stats_collections",
                  std::vector<std::size_t>{stats[0].collections, stats[1].collections, stats[2].collections});
    lesson.figure("disabled", settings.disable);
    lesson.figure("frozen", settings.freeze);

    const std::size_t automatic = collections[0] + collections[1] + collections[2];
    if (automatic == 0) {
        return lesson.finish("manual-only", fmt::format("no automatic collection ran while making {} lists",
                                                        grouped(settings.lists)));
    }
    return lesson.finish(
        "automatic",
        fmt::format("{} automatic collections ran while making {} lists: {} young, {} middle, {} full",
                    automatic, grouped(settings.lists), collections[0], collections[1], collections[2]));
} catch (...) {
    return pyconc::lesson::failed(argv[0]);  // one line and exit 3 (lesson/failure.hpp)
}
