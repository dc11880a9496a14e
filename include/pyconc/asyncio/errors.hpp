#pragma once
// The exceptions asyncio raises, with asyncio's messages.
//
// - CancelledError: raised inside a task at the await where it was
//   cancelled (asyncio.CancelledError, a BaseException since 3.8: code that
//   catches every Exception must still let it through; here, catch
//   std::exception and rethrow what is a CancelledError).
// - TimeoutError: wait_for ran out of time (asyncio.TimeoutError is the
//   builtin TimeoutError since 3.11).
// - InvalidStateError: asking a pending future for its result, or setting
//   the result of one that is done.
// - RuntimeError: misuse, e.g. running a loop inside a running loop.
// - KeyboardInterrupt: asyncio::run was interrupted by Ctrl-C (SIGINT),
//   after it had cancelled the main task and the rest.
#include <stdexcept>
#include <string>

namespace pyconc::asyncio {

class CancelledError : public std::runtime_error {
public:
    CancelledError() : std::runtime_error("CancelledError") {}
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

class KeyboardInterrupt : public std::runtime_error {
public:
    KeyboardInterrupt() : std::runtime_error("KeyboardInterrupt") {}
};

}  // namespace pyconc::asyncio
