#pragma once
// threading.Thread and threading.Lock for model threads (Lib/threading.py).
//
// How this works
// - A `Thread` owns a ThreadState, made when the Thread is (so the order
//   threads are made in is the order deterministic scheduling takes turns
//   in), and an OS thread, started by `start()`. The OS thread attaches to
//   the interpreter (its heap, the GIL) and runs `target` with the GIL held;
//   when the target returns it drops the GIL and leaves.
// - `join()` waits for the OS thread. Call it from a thread that does not
//   hold the GIL, or inside ThreadState::AllowThreads, as Python's join
//   releases the GIL while it waits. An exception the target let out (out
//   of memory, say) is kept and raised again by join(), so that the lesson
//   reports it in one line instead of std::terminate. (Python prints it
//   through threading.excepthook and join() returns; a lesson must not go
//   on as if the thread had done its work.)
// - `Lock` is CPython's thread lock, a POSIX semaphore (thread_lock.hpp).
//   `acquire` first tries without blocking;
//   when it has to wait, it releases the GIL for the wait
//   (Py_BEGIN_ALLOW_THREADS), so that the holder of the lock can run.
//   Any thread may release it, as in Python.
#include <exception>
#include <functional>
#include <string>
#include <thread>
#include <utility>

#include "pyconc/runtime/interpreter.hpp"
#include "pyconc/runtime/thread_lock.hpp"
#include "pyconc/runtime/thread_state.hpp"

namespace pyconc::threading {

class Thread {
public:
    using Target = std::function<void(runtime::ThreadState&)>;

    Thread(runtime::Interpreter& interpreter, std::string name, Target target)
        : tstate_(interpreter, std::move(name)), target_(std::move(target)) {}
    Thread(const Thread&) = delete;
    Thread& operator=(const Thread&) = delete;
    ~Thread() {
        if (os_thread_.joinable()) os_thread_.join();
    }

    void start() {
        os_thread_ = std::thread([this] {
            try {
                const runtime::ThreadState::Attached attached{tstate_};
                target_(tstate_);
            } catch (...) {
                error_ = std::current_exception();  // read by join(), after the thread ended
            }
        });
    }
    void join() {
        if (os_thread_.joinable()) os_thread_.join();
        if (error_) std::rethrow_exception(std::exchange(error_, nullptr));
    }

    [[nodiscard]] const runtime::ThreadState& state() const noexcept { return tstate_; }

private:
    runtime::ThreadState tstate_;
    Target target_;
    std::thread os_thread_;
    std::exception_ptr error_;  // what the target raised; written by the thread before it ends
};

class Lock {
public:
    Lock() = default;
    Lock(const Lock&) = delete;
    Lock& operator=(const Lock&) = delete;

    // lock.acquire(), by a thread that holds the GIL.
    void acquire(runtime::ThreadState& tstate) {
        if (semaphore_.try_acquire()) return;
        const runtime::ThreadState::AllowThreads released{tstate};
        semaphore_.acquire();
    }
    // lock.release()
    void release() { semaphore_.release(); }

private:
    runtime::ThreadLock semaphore_;
};

}  // namespace pyconc::threading
