#pragma once
// The exceptions asyncio raises, with asyncio's messages.
//
// - CancelledError: raised inside a task at the await where it was
//   cancelled (asyncio.CancelledError, a BaseException since 3.8: code that
//   catches every Exception must still let it through; here, catch
//   std::exception and rethrow what is a CancelledError). It carries the
//   message given to cancel(msg), if any. A class of asyncio's own:
//   concurrent.futures.CancelledError is another (bpo-32528).
// - InvalidStateError: asking a pending future for its result, or setting
//   the result of one that is done.
// - The built-in ones asyncio raises (runtime/exceptions.hpp), under the
//   names asyncio code uses: TimeoutError (asyncio.TimeoutError is the
//   builtin since 3.11: wait_for and timeout ran out of time), RuntimeError
//   (misuse, e.g. running a loop inside a running loop), ValueError (a
//   BoundedSemaphore released too often), KeyboardInterrupt (asyncio::run
//   was interrupted by Ctrl-C, after it had cancelled the main task and the
//   rest), ExceptionGroup (a TaskGroup's children failed).
#include <stdexcept>
#include <string>

#include "pyconc/runtime/exceptions.hpp"

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

class InvalidStateError : public std::logic_error {
public:
    using std::logic_error::logic_error;
};

using runtime::ExceptionGroup;
using runtime::holds;
using runtime::KeyboardInterrupt;
using runtime::RuntimeError;
using runtime::TimeoutError;
using runtime::ValueError;

}  // namespace pyconc::asyncio
