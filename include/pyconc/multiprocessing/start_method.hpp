#pragma once
// multiprocessing's start methods and contexts (Lib/multiprocessing/context.py).
//
// How this works
// - Three ways to start a child (popen.hpp starts them):
//     fork        a copy of the parent as it is at start(): its globals as
//                 the parent last set them, but only the thread that forked
//     spawn       a fresh run of this program (spawn.hpp): its globals as
//                 the program starts, whatever the parent changed since
//     forkserver  a server, a fresh run started at the first use and kept
//                 single-threaded, forks each child: globals as at start-up,
//                 as spawn, started about as fast as fork
// - The default is the platform's, and it changed with the version: fork
//   on Linux up to 3.13, forkserver from 3.14 (profile.hpp). A lesson says
//   which version it models with set_platform_default(); a program that
//   does not, gets fork, Linux's default for the versions most have.
// - set_start_method(m) fixes the default once, before it is used;
//   get_start_method() fixes it too (Python's allow_none=False), so a
//   later set_start_method() without force raises "context has already
//   been set", as in Python. get_context(m) names a method for one Process
//   or pool without touching the default.
// - The state is per process, as Python's is: a child starts with the
//   default of its program (spawn, forkserver) or of its parent (fork).
#include <array>
#include <optional>
#include <stdexcept>
#include <string_view>

#include "pyconc/runtime/profile.hpp"

namespace pyconc::multiprocessing {

using runtime::start_method_name;
using runtime::StartMethod;

// The words Python accepts, the platform's default first.
inline constexpr std::array all_start_methods{StartMethod::fork, StartMethod::spawn, StartMethod::forkserver};

[[nodiscard]] inline std::optional<StartMethod> start_method_named(std::string_view name) noexcept {
    for (const StartMethod method : all_start_methods) {
        if (start_method_name(method) == name) return method;
    }
    return std::nullopt;
}

namespace detail {
struct StartMethodState {
    StartMethod platform_default = StartMethod::fork;
    std::optional<StartMethod> fixed;  // set_start_method, or the first get_start_method
};
inline StartMethodState& start_method_state() {
    static StartMethodState state;
    return state;
}
}  // namespace detail

// The default of the CPython version modelled (profile.hpp), before any
// Process or pool uses it.
inline void set_platform_default(StartMethod method) noexcept {
    detail::start_method_state().platform_default = method;
}

// multiprocessing.get_start_method(): fixes the default if it was not yet.
[[nodiscard]] inline StartMethod get_start_method() {
    auto& state = detail::start_method_state();
    if (!state.fixed) state.fixed = state.platform_default;
    return *state.fixed;
}

// multiprocessing.set_start_method(method, force=False).
inline void set_start_method(StartMethod method, bool force = false) {
    auto& state = detail::start_method_state();
    if (state.fixed && !force) throw std::runtime_error("RuntimeError: context has already been set");
    state.fixed = method;
}

// What get_context() returns: a start method for the Process and pools made with it.
class Context {
public:
    explicit Context(StartMethod method) noexcept : method_(method) {}
    [[nodiscard]] StartMethod start_method() const noexcept { return method_; }
    [[nodiscard]] std::string_view name() const noexcept { return start_method_name(method_); }

private:
    StartMethod method_;
};

// multiprocessing.get_context(method): the default's context without one.
[[nodiscard]] inline Context get_context(std::optional<StartMethod> method = std::nullopt) {
    return Context{method.value_or(get_start_method())};
}

}  // namespace pyconc::multiprocessing
