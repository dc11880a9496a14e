#pragma once
// Py_FatalError for the model: a broken invariant stops the program at once,
// with a message that names the invariant and the function that found it.
#include <cstdio>
#include <cstdlib>
#include <string_view>

#include <fmt/core.h>

namespace pyconc::runtime {

// Prints "pyconc fatal error: <where>: <what>" on stderr and aborts. Never
// returns: a model whose counts or locks are wrong must not go on printing
// figures that look right. What was printed before is flushed first.
[[noreturn]] inline void fatal(std::string_view where, std::string_view what) {
    std::fflush(stdout);
    fmt::print(stderr, "pyconc fatal error: {}: {}\n", where, what);
    std::fflush(stderr);
    std::abort();
}

}  // namespace pyconc::runtime
