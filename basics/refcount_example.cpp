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
#include "pyconc/runtime/types.hpp"

using namespace pyconc::runtime;
using pyconc::lesson::accepted_range;

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

}  // namespace

int main(int argc, char** argv) try {
    pyconc::lesson::Lesson lesson{
        "refcount_example",
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

    Interpreter interpreter;
    std::vector<std::string> freed;  // names, in the order their objects were freed

    // class Noisy:
    //     def __init__(self, name): self.name = name; self.other = None
    //     def __del__(self): print(f"  freed {self.name}")
    const Ref<Class> Noisy = make<Class>("Noisy", [&](Instance& self) {
        freed.push_back(name_of(self));
        lesson.say("  freed {}", freed.back());
    });
    auto new_noisy = [&](const std::string& name) {
        Ref<Instance> self = new_instance(Noisy);
        self->setattr("name", make<Str>(name));
        self->setattr("other", nullptr);
        return self;
    };

    lesson.heading("Names bind, the count goes up; del, it goes down");
    // a = Noisy("a")
    Ref<Instance> a = new_noisy("a");
    const std::int64_t at_birth = refcount(a);
    lesson.say(
        "a = Noisy(\"a\")    -> refcount {}   (sys.getrefcount(a) = {}: one extra, the argument itself)",
        at_birth, at_birth + 1);
    // b = a
    Ref<Instance> b = a;
    const std::int64_t after_bind = refcount(a);
    lesson.say("after b = a      -> refcount {}", after_bind);
    // box = [a]
    Ref<List> box = make<List>(a);
    const std::int64_t after_box = refcount(a);
    lesson.say("after box = [a]  -> refcount {}", after_box);
    // del b, box
    b.reset();
    box.reset();
    const std::int64_t after_del = refcount(a);
    lesson.say("after del b, box -> refcount {}", after_del);
    // del a: freed right here, deterministically
    lesson.say("del a:");
    a.reset();
    const bool a_freed_at_del = freed == std::vector<std::string>{"a"};

    lesson.heading("A cycle of {} object(s), with the collector off", cycle_size);
    // gc.disable()
    interpreter.gc().disable();
    // x, y = Noisy("x"), Noisy("y")
    std::vector<Ref<Instance>> cycle;
    for (std::size_t i = 0; i < cycle_size; ++i) cycle.push_back(new_noisy(cycle_name(i, cycle_size)));
    // x.other, y.other = y, x
    for (std::size_t i = 0; i < cycle_size; ++i) cycle[i]->setattr("other", cycle[(i + 1) % cycle_size]);
    lesson.say("{}: refcount({}) = {} (its name and the .other before it)", link_statement(cycle_size),
               cycle_name(0, cycle_size), refcount(cycle[0]));
    if (break_cycle) {
        // x.other = y.other = None
        for (const Ref<Instance>& node : cycle) node->setattr("other", nullptr);
        lesson.say("--break-cycle: every .other = None again");
    }
    // del x, y
    lesson.say("del {}:", cycle_names(cycle_size));
    const std::size_t freed_before_del = freed.size();
    cycle.clear();
    const std::size_t freed_by_del = freed.size() - freed_before_del;

    std::size_t alive_after_del = 0;
    interpreter.gc().for_each_tracked([&](Container& op) {
        if (const auto* node = dynamic_cast<const Instance*>(&op)) {
            if (++alive_after_del <= 4) {
                lesson.say("  still alive: {} (refcount {}: no name refers to it)", name_of(*node),
                           refcount(*node));
            }
        }
    });
    if (alive_after_del > 4) lesson.say("  ... {} objects in all", alive_after_del);
    if (alive_after_del == 0) lesson.say("  every object freed at the del");

    // print("gc.collect():"); print("  gc.collect() returned", gc.collect())
    lesson.say("gc.collect():");
    const std::size_t freed_before_collect = freed.size();
    const std::size_t collected = interpreter.gc().collect();
    const std::size_t freed_by_collect = freed.size() - freed_before_collect;
    lesson.say("  gc.collect() returned {}", collected);

    lesson.figure("refcount_at_birth", at_birth);
    lesson.figure("getrefcount_at_birth", at_birth + 1);
    lesson.figure("refcount_after_bind", after_bind);
    lesson.figure("refcount_after_box", after_box);
    lesson.figure("refcount_after_del", after_del);
    lesson.figure("a_freed_at_del", a_freed_at_del);
    lesson.figure("cycle_size", cycle_size);
    lesson.figure("break_cycle", break_cycle);
    lesson.figure("freed_by_del", freed_by_del);
    lesson.figure("alive_after_del", alive_after_del);
    lesson.figure("collect_returned", collected);
    lesson.figure("freed_by_collect", freed_by_collect);
    lesson.figure("freed_order", freed);

    if (alive_after_del == 0) {
        return lesson.finish("refcount-freed-all",
                             "every object was freed at the del that dropped its last reference");
    }
    return lesson.finish("cycle-needs-gc",
                         fmt::format("a was freed at its del; the {}-object cycle outlived every del and "
                                     "only gc.collect() freed it",
                                     alive_after_del));
} catch (...) {
    return pyconc::lesson::failed(argv[0]);  // one line and exit 3 (lesson/failure.hpp)
}
