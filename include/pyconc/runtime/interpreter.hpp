#pragma once
// The interpreter (PyInterpreterState): what one Python process runs on.
//
// How this works
// - It owns the object heap (heap.hpp): the small-object allocator and the
//   cyclic collector. Constructing an Interpreter makes its heap current on
//   this thread, so `make<T>()` allocates there, and `gc()` is the gc module.
// - `shutdown()` is Py_FinalizeEx for the heap: a last full collection frees
//   the cycles still alive. It runs again, quietly, in the destructor.
// - Refs must not outlive their interpreter: declare the Interpreter before
//   the names that hold objects, so it is destroyed after them.
#include <cstddef>

#include "pyconc/runtime/gc.hpp"
#include "pyconc/runtime/heap.hpp"
#include "pyconc/runtime/obmalloc.hpp"

namespace pyconc::runtime {

class Interpreter {
public:
    Interpreter() = default;
    Interpreter(const Interpreter&) = delete;
    Interpreter& operator=(const Interpreter&) = delete;
    ~Interpreter() { heap_.shutdown(); }

    [[nodiscard]] Heap& heap() noexcept { return heap_; }
    [[nodiscard]] Gc& gc() noexcept { return heap_.gc(); }
    [[nodiscard]] Obmalloc& allocator() noexcept { return heap_.allocator(); }

    // The final collection; returns how many objects it found unreachable.
    std::size_t shutdown() { return heap_.shutdown(); }

private:
    Heap heap_;
};

}  // namespace pyconc::runtime
