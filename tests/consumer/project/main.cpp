// Uses pyconc's runtime through the installed (or added) target.
#include <pyconc/runtime/interpreter.hpp>
#include <pyconc/runtime/types.hpp>

#include <fmt/core.h>

int main() {
    using namespace pyconc::runtime;
    Interpreter interpreter;
    Ref<List> box = make<List>();
    box->append(box);  // box.append(box): a cycle of one
    const auto count = refcount(box);
    box.reset();
    fmt::print("consumer: refcount {}, freed {} object\n", count, interpreter.shutdown());
}
