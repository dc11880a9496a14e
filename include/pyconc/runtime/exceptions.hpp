#pragma once
// Python's built-in exceptions that more than one module raises
// (Objects/exceptions.c): the modules above the runtime share these.
//
// - RuntimeError, ValueError, TimeoutError (asyncio.TimeoutError and
//   concurrent.futures.TimeoutError are this class since 3.11),
//   KeyboardInterrupt (Ctrl-C), and ExceptionGroup (PEP 654), whose str()
//   is the message and the count: "unhandled errors in a TaskGroup
//   (2 sub-exceptions)".
// - Each module's own exceptions stay in the module: asyncio.CancelledError
//   and concurrent.futures.CancelledError are two classes since 3.8
//   (bpo-32528), as are their InvalidStateErrors.
// - `holds<E>(error)` is `isinstance(exc, E)` for a std::exception_ptr.
#include <exception>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include <fmt/format.h>

namespace pyconc::runtime {

class RuntimeError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

class ValueError : public std::invalid_argument {
public:
    using std::invalid_argument::invalid_argument;
};

class TimeoutError : public std::runtime_error {
public:
    TimeoutError() : std::runtime_error("TimeoutError") {}
};

class KeyboardInterrupt : public std::runtime_error {
public:
    KeyboardInterrupt() : std::runtime_error("KeyboardInterrupt") {}
};

class ExceptionGroup : public std::runtime_error {
public:
    ExceptionGroup(const std::string& message, std::vector<std::exception_ptr> exceptions)
        : std::runtime_error(fmt::format("{} ({} sub-exception{})", message, exceptions.size(),
                                         exceptions.size() == 1 ? "" : "s")),
          message_(message),
          exceptions_(std::move(exceptions)) {}
    [[nodiscard]] const std::string& message() const noexcept { return message_; }
    [[nodiscard]] const std::vector<std::exception_ptr>& exceptions() const noexcept { return exceptions_; }

private:
    std::string message_;
    std::vector<std::exception_ptr> exceptions_;
};

// Whether `error` holds an E (`isinstance(exc, E)`); false for null.
template <class E>
[[nodiscard]] bool holds(const std::exception_ptr& error) {
    if (!error) return false;
    try {
        std::rethrow_exception(error);
    } catch (const E&) {
        return true;
    } catch (...) {
        return false;
    }
}

}  // namespace pyconc::runtime
