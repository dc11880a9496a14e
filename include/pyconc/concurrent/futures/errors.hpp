#pragma once
// The exceptions concurrent.futures raises (Lib/concurrent/futures/_base.py).
//
// - CancelledError: result() of a cancelled future. Its own class, not
//   asyncio's: Python 3.8 separated them (bpo-32528). The asyncio bridge
//   (asyncio/executor.hpp) turns this one into a cancelled asyncio future.
// - InvalidStateError: completing a future twice.
// - BrokenExecutor (BrokenProcessPool, BrokenThreadPool): the pool can no
//   longer run work.
// - TimeoutError is the builtin since 3.11, RuntimeError too
//   (runtime/exceptions.hpp).
#include <stdexcept>

#include "pyconc/runtime/exceptions.hpp"

namespace pyconc::concurrent::futures {

class CancelledError : public std::runtime_error {
public:
    CancelledError() : std::runtime_error("CancelledError") {}
};

class InvalidStateError : public std::logic_error {
public:
    using std::logic_error::logic_error;
};

class BrokenExecutor : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

using runtime::RuntimeError;
using runtime::TimeoutError;

}  // namespace pyconc::concurrent::futures
