#pragma once
// The interpreter (PyInterpreterState): what one Python process runs on.
//
// How this works
// - For now it owns the object heap: constructing an Interpreter makes its
//   heap current on this thread, so `make<T>()` allocates there.
// - `shutdown()` is Py_FinalizeEx for the heap (see heap.hpp): whatever is
//   still alive (only cycles can be) is finalized and cleared. It runs
//   again, quietly, in the destructor if the program did not call it.
// - Refs must not outlive their interpreter: declare the Interpreter before
//   the names that hold objects, so it is destroyed after them.
#include <cstddef>

#include "pyconc/runtime/heap.hpp"
#include "pyconc/runtime/object.hpp"

namespace pyconc::runtime {

class Interpreter {
public:
    Interpreter() = default;
    Interpreter(const Interpreter&) = delete;
    Interpreter& operator=(const Interpreter&) = delete;
    ~Interpreter() { heap_.shutdown(); }

    [[nodiscard]] Heap& heap() noexcept { return heap_; }

    // Frees what is left on the heap; returns how many containers that was.
    std::size_t shutdown() { return heap_.shutdown(); }

private:
    Heap heap_;
};

}  // namespace pyconc::runtime
