#pragma once
// The one error path of the lessons and the tour: whatever stops a lesson
// (a dead worker, no memory, no threads or processes left, a file it cannot
// write) ends as one line on stderr and exit status 3, after what it had
// printed so far is flushed.
//
// How this works
// - Every lesson's `main` is a function-try-block whose handler returns
//   `failed(argv[0])`:
//       int main(int argc, char** argv) try {
//           ...
//       } catch (...) {
//           return pyconc::lesson::failed(argv[0]);
//       }
// - `failed` flushes stdout (so a piped run keeps its output), names the
//   program, and says what went wrong in words a user can act on:
//   std::bad_alloc is "out of memory", a std::system_error from starting a
//   thread or a process names the resource limit, anything else gives its
//   own message (BrokenExecutor's is CPython's "A process in the process
//   pool was terminated abruptly ...").
// - The chrome's own misuse (a table row with a cell too many, a verdict
//   the lesson did not declare) is a std::invalid_argument that names the
//   call: it ends here too, one line and exit 3. `runtime::fatal` stays for
//   broken invariants of the model itself: those abort, as Py_FatalError
//   does.
#include <cerrno>
#include <cstdio>
#include <exception>
#include <new>
#include <stdexcept>
#include <string>
#include <string_view>
#include <system_error>

#include <fmt/format.h>

namespace pyconc::lesson {

inline constexpr int exit_failed = 3;  // something the lesson needed failed

// A failure of the lesson's own making (a file it cannot write, a child that
// died): the message is what the user reads.
class LessonFailure : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

namespace detail {

[[nodiscard]] inline std::string_view program_name(std::string_view argv0) {
    const auto slash = argv0.rfind('/');
    return slash == std::string_view::npos ? argv0 : argv0.substr(slash + 1);
}

// What the exception in flight means, in words a user can act on.
[[nodiscard]] inline std::string describe_current_exception() {
    try {
        throw;
    } catch (const std::bad_alloc&) {
        return "out of memory (a memory limit such as ulimit -v, or sizes too large for this machine): "
               "try smaller sizes";
    } catch (const std::system_error& error) {
        // error.what() is "what: the system's words", e.g. "fork: Resource temporarily unavailable".
        const int code = error.code().value();
        if (code == EAGAIN || code == ENOMEM) {
            return fmt::format(
                "could not start a thread or a process: {} (a limit such as ulimit -u, or too "
                "little memory)",
                error.what());
        }
        if (code == EMFILE || code == ENFILE) {
            return fmt::format("out of file descriptors: {} (raise ulimit -n)", error.what());
        }
        if (code == ENOSPC || code == EPIPE || code == EIO || code == EBADF) {
            return fmt::format("could not write the output: {}", error.what());
        }
        return error.what();
    } catch (const std::exception& error) {
        return error.what();
    } catch (...) {
        return "an unknown error";
    }
}

}  // namespace detail

// Call from a catch handler: flushes stdout, prints "PROGRAM: WHAT" on
// stderr and returns exit_failed.
[[nodiscard]] inline int failed(std::string_view argv0) noexcept {
    std::fflush(stdout);
    try {
        fmt::print(stderr, "{}: {}\n", detail::program_name(argv0), detail::describe_current_exception());
    } catch (...) {
        std::fputs("pyconc: a lesson failed, and so did reporting why\n", stderr);
    }
    std::fflush(stderr);
    return exit_failed;
}

}  // namespace pyconc::lesson
