// Uses pyconc's model and its lesson chrome through the installed (or added)
// targets.
#include <pyconc/lesson/command_line.hpp>
#include <pyconc/runtime/interpreter.hpp>
#include <pyconc/runtime/types.hpp>

#include <fmt/core.h>

int main(int argc, char** argv) {
    using namespace pyconc::runtime;
    pyconc::lesson::CommandLine command_line{"consumer", "Makes a cycle of one and collects it."};
    int cycles = 1;
    command_line.option("--cycles", cycles, "How many", pyconc::lesson::accepted_range(1, 1));
    if (auto exit = command_line.parse(argc, argv)) return *exit;

    Interpreter interpreter;
    Ref<List> box = make<List>();
    box->append(box);  // box.append(box): a cycle of one
    const auto count = refcount(box);
    box.reset();
    fmt::print("consumer: refcount {}, freed {} object\n", count, interpreter.shutdown());
}
