#pragma once
// Starting a fresh copy of this program as a child: the spawn start method.
//
// How this works (Lib/multiprocessing/spawn.py, popen_spawn_posix.py)
// - spawn runs the program again from the start, so the child has no
//   copy of the parent's threads, locks or heap: safe whatever the parent
//   was doing. The child is told on its command line
//   (`--pyconc-spawn MODE FD`) what it is for, and reads its work from a
//   connection on file descriptor FD.
// - Every program that spawns calls `freeze_support(argc, argv)` first
//   thing in main (the name is Python's, for frozen executables, where the
//   job is the same): in a spawned child it says so to its parent (the
//   bootstrap message), does the child's work and exits; in the parent it
//   returns at once. A child whose main does not call it never says so:
//   the parent raises BootstrapError with Python's advice, instead of a
//   pool that breaks later.
// - Functions cross by name, as pickle sends a function by its qualified
//   name: `Function<f>` registers f under a name made from its own
//   signature, when the program starts, in every process of this program.
// - Between fork and exec the child does only async-signal-safe things:
//   it asks to be killed when its parent dies (PR_SET_PDEATHSIG), moves its
//   connection to FD 3 and execs. So no child outlives its parent, even
//   one killed with SIGKILL.
#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <fstream>
#include <functional>
#include <map>
#include <stdexcept>
#include <string>
#include <string_view>
#include <system_error>
#include <tuple>
#include <type_traits>
#include <utility>

#include <fcntl.h>
#include <sys/prctl.h>
#include <sys/types.h>
#include <unistd.h>

#include <fmt/format.h>

#include "pyconc/multiprocessing/connection.hpp"
#include "pyconc/multiprocessing/pickle.hpp"

namespace pyconc::multiprocessing {

// Calls a registered function: pickled arguments in, pickled result out.
using Invoker = std::string (*)(std::string_view pickled_arguments);

namespace detail {
inline std::map<std::string, Invoker, std::less<>>& registry() {
    static std::map<std::string, Invoker, std::less<>> functions;
    return functions;
}

template <class Signature>
struct FunctionTraits;
template <class R, class... Args>
struct FunctionTraits<R (*)(Args...)> {
    using Result = R;
    using Arguments = std::tuple<std::decay_t<Args>...>;
};

// The name a function crosses by: unique in this program, the same in
// every process running it.
template <auto F>
const char* function_key() {
    return __PRETTY_FUNCTION__;  // names F
}
}  // namespace detail

// A free function that can run in another process.
template <auto F>
struct Function {
    using Traits = detail::FunctionTraits<decltype(F)>;
    using Result = typename Traits::Result;
    using Arguments = typename Traits::Arguments;
    static_assert(picklable<Arguments>(),
                  "a function's arguments must be picklable to cross (see pickle.hpp)");
    static_assert(std::is_void_v<Result> || picklable<Result>(),
                  "a function's result must be picklable to cross");

    static std::string invoke(std::string_view pickled) {
        auto arguments = loads<Arguments>(pickled);
        if constexpr (std::is_void_v<Result>) {
            std::apply(F, std::move(arguments));
            return {};
        } else {
            return dumps(std::apply(F, std::move(arguments)));
        }
    }
    static const char* name() { return detail::function_key<F>(); }
    // Registered at start-up in every process of this program, once used.
    // NOLINTNEXTLINE(cert-err58-cpp): a program that cannot register at start-up should stop there
    static inline const bool registered = [] {
        detail::registry().emplace(name(), &invoke);
        return true;
    }();
};

[[nodiscard]] inline Invoker find_function(std::string_view name) {
    const auto found = detail::registry().find(name);
    if (found == detail::registry().end()) {
        throw PickleError(fmt::format("Can't unpickle function {}: it is not in this program", name));
    }
    return found->second;
}

// What a spawned child does, by mode (process.hpp and process_pool.hpp
// register theirs). The function gets the connection to its parent and
// returns the exit status.
using ChildMain = int (*)(Connection& parent);
namespace detail {
inline std::map<std::string, ChildMain, std::less<>>& child_mains() {
    static std::map<std::string, ChildMain, std::less<>> mains;
    return mains;
}
}  // namespace detail
inline bool register_child_main(const std::string& mode, ChildMain main) {
    detail::child_mains().emplace(mode, main);
    return true;
}

inline constexpr const char* spawn_flag = "--pyconc-spawn";

// What a spawned child sends first, once freeze_support has it.
inline constexpr std::string_view bootstrap_message = "bootstrapped";

// A spawned child ended, or spoke, before its bootstrap.
class BootstrapError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

// Runs the child main of `mode` on `parent` and returns its exit status
// (1 if it threw). For spawned, forked and fork-server children alike.
inline int run_child_main(std::string_view mode, Connection& parent) {
    const auto found = detail::child_mains().find(mode);
    if (found == detail::child_mains().end()) {
        fmt::print(stderr, "child process: unknown mode {}\n", mode);
        return 2;
    }
    int status = 1;
    try {
        status = found->second(parent);
    } catch (const std::exception& error) {
        fmt::print(stderr, "Process: {}\n", error.what());
    }
    std::fflush(stdout);
    std::fflush(stderr);
    return status;
}

namespace detail {
inline bool bootstrapped = false;  // freeze_support took this spawned child over
}  // namespace detail

// A spawned child whose main started another process before calling
// freeze_support: Python's "bootstrapping phase" error, raised here so that
// such a program does not spawn itself again and again.
inline void check_not_bootstrapping() {
    static const bool spawned = [] {
        std::ifstream file{"/proc/self/cmdline", std::ios::binary};
        std::string program;
        std::string first;
        std::getline(file, program, '\0');
        std::getline(file, first, '\0');
        return first == spawn_flag;
    }();
    if (spawned && !detail::bootstrapped) {
        throw BootstrapError(
            "RuntimeError: An attempt has been made to start a new process before the current process has "
            "finished its bootstrapping phase: this spawned child's main did not call "
            "pyconc::multiprocessing::freeze_support(argc, argv) first");
    }
}

// In a spawned child: says it is up, does its work and exits. Elsewhere: returns.
inline void freeze_support(int argc, char** argv) {
    if (argc != 4 || std::string_view{argv[1]} != spawn_flag) return;
    detail::bootstrapped = true;
    Connection parent{std::atoi(argv[3])};
    try {
        parent.send_bytes(bootstrap_message);
    } catch (const std::exception&) {
        std::_Exit(1);  // the parent is gone
    }
    std::_Exit(run_child_main(argv[2], parent));
}

// The parent's side: waits for the child's bootstrap message.
inline void await_bootstrap(const Connection& child, pid_t pid) {
    std::string said;
    try {
        said = child.recv_bytes();
    } catch (const EOFError&) {
    }
    if (said != bootstrap_message) {
        throw BootstrapError(fmt::format(
            "RuntimeError: the spawned child (pid {}) ended before its bootstrap: a program that starts "
            "processes by spawn or forkserver must call pyconc::multiprocessing::freeze_support(argc, argv) "
            "first thing in main (Python's `if __name__ == '__main__':` idiom)",
            pid));
    }
}

// Asks the kernel to kill this process when its parent dies; exits if the
// parent is gone already. Async-signal-safe: for the child between fork
// and exec, and the fork start method's child.
inline void die_with_parent(pid_t parent) noexcept {
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent) ::_exit(1);
}

// fork + exec of this program as a child in `mode`, talking over `child_end`
// (which the child gets as FD 3). Returns the child's pid.
[[nodiscard]] inline pid_t spawn_child(const char* mode, const Connection& child_end) {
    check_not_bootstrapping();
    // Everything the child needs is made before the fork.
    static const std::string program = [] {
        char path[4096];
        const ssize_t length = ::readlink("/proc/self/exe", path, sizeof path - 1);
        return length > 0 ? std::string(path, static_cast<std::size_t>(length))
                          : std::string("/proc/self/exe");
    }();
    const std::string mode_text = mode;
    const std::string fd_text = "3";
    std::string flag = spawn_flag;
    char* const arguments[] = {const_cast<char*>(program.c_str()), flag.data(),
                               const_cast<char*>(mode_text.c_str()), const_cast<char*>(fd_text.c_str()),
                               nullptr};
    const pid_t parent = ::getpid();
    const int fd = child_end.fileno();
    const pid_t pid = ::fork();
    if (pid < 0) throw std::system_error(errno, std::generic_category(), "fork");
    if (pid == 0) {
        die_with_parent(parent);
        if (fd == 3) {
            ::fcntl(3, F_SETFD, 0);  // keep it across exec
        } else if (::dup2(fd, 3) < 0) {
            ::_exit(126);
        }
        ::execv(program.c_str(), arguments);
        ::_exit(127);
    }
    return pid;
}

}  // namespace pyconc::multiprocessing
