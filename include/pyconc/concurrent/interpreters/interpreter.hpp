#pragma once
// concurrent.interpreters.Interpreter (PEP 734, CPython 3.14): another
// interpreter in this process, with a GIL of its own (PEP 684).
//
// How this works
// - `create(profile)` makes a runtime::Interpreter: its own heap (pymalloc
//   and collector), its own GIL, its own module globals. Nothing but the
//   immortal objects (small ints) is shared with another interpreter;
//   objects cross only as copies (crossinterp.hpp, queue.hpp).
// - `exec(code)` runs `code` in it on the calling OS thread, as CPython's
//   does: the thread takes this interpreter's GIL (and makes its heap
//   current) for the call, and leaves it after. Call it from a thread that
//   holds no other interpreter's GIL, or pass the caller's thread state,
//   whose GIL is then released meanwhile (CPython swaps the thread state).
// - `call(fn)` is exec that returns: fn's result crosses back as a copy.
//   `call_in_thread(fn)` runs fn in it on a new OS thread and returns that
//   thread, to join.
// - Its GIL is its own: threads of two interpreters run at once, on two
//   cores; threads of one interpreter take turns.
// - `close()` (and the destructor) finalizes it: its objects are freed on
//   its own heap. Closing one that is running raises InterpreterError
//   ("interpreter already running"), as CPython's does.
#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <stdexcept>
#include <string>
#include <utility>

#include <fmt/format.h>

#include "pyconc/concurrent/interpreters/crossinterp.hpp"
#include "pyconc/runtime/fatal.hpp"
#include "pyconc/runtime/heap.hpp"
#include "pyconc/runtime/interpreter.hpp"
#include "pyconc/runtime/profile.hpp"
#include "pyconc/runtime/thread_state.hpp"
#include "pyconc/threading.hpp"

namespace pyconc::concurrent::interpreters {

// concurrent.interpreters.InterpreterError.
class InterpreterError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

class Interpreter {
public:
    using Code = std::function<void(runtime::ThreadState&)>;
    using Function = std::function<runtime::Ref<runtime::Object>(runtime::ThreadState&)>;

    explicit Interpreter(const runtime::Profile& profile) : id_(next_id()) {
        const runtime::Heap::KeepCurrent keep;  // the caller's heap stays current
        runtime_ = std::make_unique<runtime::Interpreter>(profile);
    }
    Interpreter(const Interpreter&) = delete;
    Interpreter& operator=(const Interpreter&) = delete;
    // Join the threads call_in_thread started before: one still running in
    // it is a fatal error, said, rather than an interpreter freed under it.
    ~Interpreter() {
        if (running_ > 0) {
            runtime::fatal("~Interpreter",
                           fmt::format("interpreter {} was destroyed while a thread ran in it: join "
                                       "the threads call_in_thread returned first",
                                       id_));
        }
        if (runtime_) finalize();
    }

    // Interpreter.id: 1, 2, ... (0 is the main interpreter's).
    [[nodiscard]] std::int64_t id() const noexcept { return id_; }
    [[nodiscard]] bool is_running() const noexcept { return running_ > 0; }
    // The model's interpreter: its heap, GIL and globals.
    [[nodiscard]] runtime::Interpreter& runtime() {
        check_open("runtime");
        return *runtime_;
    }

    // Interpreter.exec(code), from a thread attached to no interpreter.
    void exec(const Code& code) {
        check_open("exec");
        const Running running{*this};
        runtime::ThreadState tstate{*runtime_, fmt::format("interp-{}", id_)};
        const runtime::ThreadState::Attached attached{tstate};
        code(tstate);
    }
    // ... from a thread of another interpreter, whose GIL it releases meanwhile.
    void exec(runtime::ThreadState& caller, const Code& code) {
        const runtime::ThreadState::AllowThreads released{caller};
        exec(code);
    }

    // Interpreter.call(fn): the result comes back as a copy made on the
    // caller's heap (which must be current on this thread when it is asked for).
    [[nodiscard]] XiData call(const Function& fn) {
        XiData result;
        exec([&](runtime::ThreadState& t) {
            const runtime::Ref<runtime::Object> value = fn(t);
            result = XiData::of(value.get());
        });
        return result;
    }

    // Interpreter.call_in_thread(fn): a new thread of this interpreter, started.
    [[nodiscard]] std::unique_ptr<threading::Thread> call_in_thread(Code code) {
        check_open("call_in_thread");
        auto thread =
            std::make_unique<threading::Thread>(*runtime_, fmt::format("interp-{}", id_),
                                                [this, code = std::move(code)](runtime::ThreadState& t) {
                                                    const Running running{*this};
                                                    code(t);
                                                });
        thread->start();
        return thread;
    }

    // Interpreter.close(): finalizes it; refused while it runs.
    void close() {
        if (running_ > 0)
            throw InterpreterError(
                fmt::format("interpreter {} is running: close() must wait until it is not", id_));
        if (runtime_) finalize();
    }

private:
    class Running {
    public:
        explicit Running(Interpreter& interp) noexcept : interp_(interp) { ++interp_.running_; }
        Running(const Running&) = delete;
        Running& operator=(const Running&) = delete;
        ~Running() { --interp_.running_; }

    private:
        Interpreter& interp_;
    };

    static std::int64_t next_id() noexcept {
        static std::atomic<std::int64_t> last{0};
        return ++last;
    }
    void check_open(const char* what) const {
        if (!runtime_) throw InterpreterError(fmt::format("{}: interpreter {} was closed", what, id_));
    }
    // Py_EndInterpreter: its objects are freed on its own heap.
    void finalize() {
        const runtime::Heap::Attach attach{runtime_->heap()};
        runtime_->shutdown();
        runtime_.reset();
    }

    std::int64_t id_;
    std::unique_ptr<runtime::Interpreter> runtime_;
    std::atomic<int> running_{0};
};

// concurrent.interpreters.create(): a new, idle interpreter of that version.
[[nodiscard]] inline std::unique_ptr<Interpreter> create(const runtime::Profile& profile) {
    return std::make_unique<Interpreter>(profile);
}

}  // namespace pyconc::concurrent::interpreters
