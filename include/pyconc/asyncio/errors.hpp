#pragma once
// The exceptions asyncio raises, with asyncio's messages.
//
// - CancelledError: raised inside a task at the await where it was
//   cancelled (asyncio.CancelledError, a BaseException since 3.8: code that
//   catches every Exception must still let it through; here, catch
//   std::exception and rethrow what is a CancelledError). It carries the
//   message given to cancel(msg), if any.
// - TimeoutError: wait_for ran out of time (asyncio.TimeoutError is the
//   builtin TimeoutError since 3.11).
// - ValueError: a BoundedSemaphore released more often than acquired.
// - ExceptionGroup: a TaskGroup's children failed (all their exceptions).
// - InvalidStateError: asking a pending future for its result, or setting
//   the result of one that is done.
// - RuntimeError: misuse, e.g. running a loop inside a running loop.
// - KeyboardInterrupt: asyncio::run was interrupted by Ctrl-C (SIGINT),
//   after it had cancelled the main task and the rest.
#include <exception>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include <fmt/format.h>

namespace pyconc::asyncio {

class CancelledError : public std::runtime_error {
public:
    CancelledError() : std::runtime_error("CancelledError") {}
    // CancelledError(msg): what() is the message, as str(error) is.
    explicit CancelledError(const std::string& message)
        : std::runtime_error(message.empty() ? "CancelledError" : message), message_(message) {}
    // The message given to cancel(msg); empty if none (error.args == ()).
    [[nodiscard]] const std::string& message() const noexcept { return message_; }

private:
    std::string message_;
};

class TimeoutError : public std::runtime_error {
public:
    TimeoutError() : std::runtime_error("TimeoutError") {}
};

class InvalidStateError : public std::logic_error {
public:
    using std::logic_error::logic_error;
};

class RuntimeError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

class ValueError : public std::invalid_argument {
public:
    using std::invalid_argument::invalid_argument;
};

// ExceptionGroup(message, exceptions): str() is the message and the count,
// "unhandled errors in a TaskGroup (2 sub-exceptions)".
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

class KeyboardInterrupt : public std::runtime_error {
public:
    KeyboardInterrupt() : std::runtime_error("KeyboardInterrupt") {}
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

}  // namespace pyconc::asyncio
