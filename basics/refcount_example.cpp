// basics/refcount_example: reference counting, and the one thing it cannot do.
//
// Mirrors ../reference/basics/refcount_example.py. Every name, list slot or
// attribute that points at an object is one reference; the object is freed
// the moment its count reaches 0, inside the `del` that dropped the last one.
// A reference cycle never reaches 0: every object in it is still pointed at
// by the one before it, so no `del` frees it; only the cyclic collector does.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "pyconc/lesson/lesson.hpp"
#include "pyconc/runtime/interpreter.hpp"
#include "pyconc/runtime/thread_state.hpp"
#include "pyconc/runtime/types.hpp"

using namespace pyconc::runtime;
using pyconc::lesson::accepted_range;
using pyconc::lesson::Lesson;

namespace {

std::string name_of(const Instance& self) {
    const auto* name = dynamic_cast<const Str*>(self.getattr("name"));
    return name ? name->value() : "?";
}

// The names the cycle's objects get: x; x, y; or x1 .. xN.
std::string cycle_name(std::size_t i, std::size_t size) {
    if (size == 1) return "x";
    if (size == 2) return i == 0 ? "x" : "y";
    return fmt::format("x{}", i + 1);
}

// "x", "x, y", or "x1 ... xN": the names as a del statement lists them.
std::string cycle_names(std::size_t size) {
    if (size <= 2) return size == 1 ? "x" : "x, y";
    return fmt::format("x1 ... x{}", size);
}

// The Python statement that closes the cycle.
std::string link_statement(std::size_t size) {
    if (size == 1) return "x.other = x";
    if (size == 2) return "x.other, y.other = y, x";
    return fmt::format("x1.other = x2 ... x{}.other = x1", size);
}

// class Noisy:
//     def __init__(self, name): self.name = name; self.other = None
//     def __del__(self): print(f"  freed {self.name}")
// Calling it makes an instance; it keeps the names of those freed, in order.
class Noisy {
public:
    explicit Noisy(Lesson& lesson)
        : class_(make<Class>("Noisy", [this, &lesson](Instance& self) {
              freed_.push_back(name_of(self));
              lesson.say("  freed {}", freed_.back());
          })) {}
    Noisy(const Noisy&) = delete;
    Noisy& operator=(const Noisy&) = delete;

    [[nodiscard]] Ref<Instance> operator()(const std::string& name) const {
        Ref<Instance> self = new_instance(class_);
        self->setattr("name", make<Str>(name));
        self->setattr("other", nullptr);
        return self;
    }
    [[nodiscard]] const std::vector<std::string>& freed() const noexcept { return freed_; }

private:
    std::vector<std::string> freed_;  // before class_: the finalizer writes it
    Ref<Class> class_;
};

struct Counts {
    std::int64_t at_birth = 0;
    std::int64_t after_bind = 0;
    std::int64_t after_box = 0;
    std::int64_t after_del = 0;
    bool a_freed_at_del = false;
    std::int64_t of_a_local_in_a_function = 0;  // sys.getrefcount(a) there
};

// Part 1: names bind, the count goes up; del, it goes down.
Counts names_bind_and_unbind(Lesson& lesson, const Noisy& noisy) {
    lesson.heading("Names bind, the count goes up; del, it goes down");
    Counts counts;
    // a = Noisy("a")
    Ref<Instance> a = noisy("a");
    counts.at_birth = refcount(a);
    lesson.say(
        "a = Noisy(\"a\")    -> refcount {}   (sys.getrefcount(a) = {}: one extra, the argument itself)",
        counts.at_birth, counts.at_birth + 1);
    // b = a
    Ref<Instance> b = a;
    counts.after_bind = refcount(a);
    lesson.say("after b = a      -> refcount {}", counts.after_bind);
    // box = [a]
    Ref<List> box = make<List>(a);
    counts.after_box = refcount(a);
    lesson.say("after box = [a]  -> refcount {}", counts.after_box);
    // del b, box
    b.reset();
    box.reset();
    counts.after_del = refcount(a);
    lesson.say("after del b, box -> refcount {}", counts.after_del);
    // del a: freed right here, deterministically
    lesson.say("del a:");
    a.reset();
    counts.a_freed_at_del = noisy.freed() == std::vector<std::string>{"a"};
    return counts;
}

// Part 1, again inside a function, where `a` is a local, not a global:
//     def a_local():
//         a = Noisy("a local")
//         return sys.getrefcount(a)
// run on the model's eval loop as the CPython of --python compiles it: up
// to 3.13 LOAD_FAST takes a reference for the argument, so the count is 2;
// 3.14's LOAD_FAST_BORROW takes none, and it is 1.
std::int64_t getrefcount_of_a_local(Lesson& lesson, Interpreter& interpreter, const Noisy& noisy) {
    const bool borrowed = lesson.python().borrowed_local_loads;
    std::int64_t count = 0;
    {
        ThreadState thread{interpreter, "MainThread"};
        const ThreadState::Attached attached{thread};
        thread.resume();
        thread.call_returning([&](ThreadState&) { return noisy("a local"); });  // Noisy("a local")
        thread.store_fast(0);                                                   // a = ...
        borrowed ? thread.load_fast_borrow(0) : thread.load_fast(0);            // a, the argument
        count = refcount(*thread.top());  // what sys.getrefcount(a) returns: the count as the call sees it
        thread.pop_top();
        lesson.say("inside a function: a = Noisy(\"a local\"); sys.getrefcount(a) = {}", count);
        if (borrowed) {
            lesson.say("  3.14's LOAD_FAST_BORROW pushes a local without a reference of its own:");
            lesson.say("  one less than at module level, where a is a global");
        } else {
            lesson.say("  LOAD_FAST takes a reference for the argument, as LOAD_NAME does at module level");
        }
    }  // the frame goes, and its local with it
    return count;
}

struct CycleOutcome {
    std::size_t freed_by_del = 0;
    std::size_t alive_after_del = 0;
    std::size_t collected = 0;
    std::size_t freed_by_collect = 0;
};

// Part 2: a cycle of `size` objects, which no del frees (unless
// `break_cycle` unlinks it first); gc.collect() does.
CycleOutcome a_cycle(Lesson& lesson, Interpreter& interpreter, const Noisy& noisy, std::size_t size,
                     bool break_cycle) {
    lesson.heading("A cycle of {} object(s), with the collector off", size);
    CycleOutcome outcome;
    // gc.disable()
    interpreter.gc().disable();
    // x, y = Noisy("x"), Noisy("y")
    std::vector<Ref<Instance>> cycle;
    for (std::size_t i = 0; i < size; ++i) cycle.push_back(noisy(cycle_name(i, size)));
    // x.other, y.other = y, x
    for (std::size_t i = 0; i < size; ++i) cycle[i]->setattr("other", cycle[(i + 1) % size]);
    lesson.say("{}: refcount({}) = {} (its name and the .other before it)", link_statement(size),
               cycle_name(0, size), refcount(cycle[0]));
    if (break_cycle) {
        // x.other = y.other = None
        for (const Ref<Instance>& node : cycle) node->setattr("other", nullptr);
        lesson.say("--break-cycle: every .other = None again");
    }
    // del x, y
    lesson.say("del {}:", cycle_names(size));
    const std::size_t freed_before_del = noisy.freed().size();
    cycle.clear();
    outcome.freed_by_del = noisy.freed().size() - freed_before_del;

    interpreter.gc().for_each_tracked([&](Container& op) {
        if (const auto* node = dynamic_cast<const Instance*>(&op)) {
            if (++outcome.alive_after_del <= 4) {
                lesson.say("  still alive: {} (refcount {}: no name refers to it)", name_of(*node),
                           refcount(*node));
            }
        }
    });
    if (outcome.alive_after_del > 4) lesson.say("  ... {} objects in all", outcome.alive_after_del);
    if (outcome.alive_after_del == 0) lesson.say("  every object freed at the del");

    // print("gc.collect():"); print("  gc.collect() returned", gc.collect())
    lesson.say("gc.collect():");
    const std::size_t freed_before_collect = noisy.freed().size();
    outcome.collected = interpreter.gc().collect();
    outcome.freed_by_collect = noisy.freed().size() - freed_before_collect;
    lesson.say("  gc.collect() returned {}", outcome.collected);
    if (lesson.python().instance_dicts && outcome.collected > outcome.freed_by_collect) {
        lesson.note(
            "  {} objects: each instance's __dict__ too, a dict of its own up to 3.10 (3.11 keeps the "
            "values in the instance)",
            outcome.collected);
    }
    return outcome;
}

void record_figures(Lesson& lesson, const Counts& counts, const CycleOutcome& cycle, std::size_t cycle_size,
                    bool break_cycle, const Noisy& noisy) {
    lesson.figure("refcount_at_birth", counts.at_birth);
    lesson.figure("getrefcount_at_birth", counts.at_birth + 1);
    lesson.figure("refcount_after_bind", counts.after_bind);
    lesson.figure("refcount_after_box", counts.after_box);
    lesson.figure("refcount_after_del", counts.after_del);
    lesson.figure("getrefcount_of_a_local_in_a_function", counts.of_a_local_in_a_function);
    lesson.figure("a_freed_at_del", counts.a_freed_at_del);
    lesson.figure("cycle_size", cycle_size);
    lesson.figure("break_cycle", break_cycle);
    lesson.figure("freed_by_del", cycle.freed_by_del);
    lesson.figure("alive_after_del", cycle.alive_after_del);
    lesson.figure("collect_returned", cycle.collected);
    lesson.figure("freed_by_collect", cycle.freed_by_collect);
    lesson.figure("freed_order", noisy.freed());
}

int verdict(Lesson& lesson, const CycleOutcome& cycle) {
    if (cycle.alive_after_del == 0) {
        return lesson.finish("refcount-freed-all",
                             "every object was freed at the del that dropped its last reference");
    }
    return lesson.finish("cycle-needs-gc",
                         fmt::format("a was freed at its del; the {}-object cycle outlived every del and "
                                     "only gc.collect() freed it",
                                     cycle.alive_after_del));
}

}  // namespace

int main(int argc, char** argv) try {
    Lesson lesson{"refcount_example",
                  "Reference counts as names bind and unbind, the free at the last del, and a "
                  "reference cycle that no del frees: only gc.collect() does.",
                  {"refcount-freed-all", "cycle-needs-gc"}};
    std::size_t cycle_size = 2;
    bool break_cycle = false;
    lesson.option("--cycle", cycle_size, "How many objects form the cycle (1: x.other = x)",
                  accepted_range<std::size_t>(1, 10'000));
    lesson.flag("--break-cycle", break_cycle,
                "Set each .other back to None before the del, as you would by hand");
    if (auto exit = lesson.parse(argc, argv)) return *exit;

    Interpreter interpreter{lesson.python()};
    Noisy noisy{lesson};  // not const: its finalizer records what it freed
    Counts counts = names_bind_and_unbind(lesson, noisy);
    counts.of_a_local_in_a_function = getrefcount_of_a_local(lesson, interpreter, noisy);
    const CycleOutcome cycle = a_cycle(lesson, interpreter, noisy, cycle_size, break_cycle);
    record_figures(lesson, counts, cycle, cycle_size, break_cycle, noisy);
    return verdict(lesson, cycle);
} catch (...) {
    return pyconc::lesson::failed(argv[0]);  // one line and exit 3 (lesson/failure.hpp)
}
