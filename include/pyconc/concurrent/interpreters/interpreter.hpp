#pragma once
// concurrent.interpreters.Interpreter (PEP 734, CPython 3.14): another
// interpreter in this process, with a GIL of its own (PEP 684).
//
// How this works
// - `create(profile)` makes a runtime::Interpreter: its own heap (pymalloc
//   and collector), its own GIL, its own module globals. Nothing but the
//   immortal objects (small ints) is shared with another interpreter;
//   objects cross only as copies (crossinterp.hpp, queue.hpp).
// - And it does on that heap what Py_NewInterpreterFromConfig does before
//   the first line runs: it makes the modules a new 3.14 interpreter holds
//   (builtins, sys, __main__, the import system and what site imports: 31
//   modules) with as many objects as CPython's has (`bootstrap_modules`),
//   so that an interpreter costs to start, and to close, in CPython's order:
//   more than a thread or a forked process.
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
#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
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
        const runtime::Heap::Attach attach{runtime_->heap()};
        modules_ = bootstrap_modules();
    }

    // What a fresh CPython 3.14.7 interpreter holds here (its sys.modules,
    // sys.getallocatedblocks() and len(gc.get_objects()) read inside it).
    static constexpr std::array<std::string_view, 31> fresh_modules{"__main__",
                                                                    "_abc",
                                                                    "_codecs",
                                                                    "_collections_abc",
                                                                    "_frozen_importlib",
                                                                    "_frozen_importlib_external",
                                                                    "_imp",
                                                                    "_io",
                                                                    "_sitebuiltins",
                                                                    "_stat",
                                                                    "_thread",
                                                                    "_warnings",
                                                                    "_weakref",
                                                                    "abc",
                                                                    "builtins",
                                                                    "codecs",
                                                                    "encodings",
                                                                    "encodings.aliases",
                                                                    "encodings.utf_8",
                                                                    "errno",
                                                                    "genericpath",
                                                                    "marshal",
                                                                    "os",
                                                                    "os.path",
                                                                    "posix",
                                                                    "posixpath",
                                                                    "site",
                                                                    "stat",
                                                                    "sys",
                                                                    "time",
                                                                    "zipimport"};
    static constexpr std::size_t fresh_containers = 5'916;
    static constexpr std::size_t fresh_blocks = 41'457;

    // sys.modules, as the model made it.
    [[nodiscard]] const runtime::Dict& modules() const { return *modules_; }
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
    // The modules, each a namespace holding its functions, classes and
    // constants: a container per gc-tracked object CPython's has, holding
    // the rest of its blocks as names and docstrings, split evenly over the
    // modules (the model does not run their code, only makes what it
    // leaves). The members sit in a list: the model's dict looks a key up
    // by scanning, and 190 names each would make the start quadratic.
    static runtime::Ref<runtime::Dict> bootstrap_modules() {
        using runtime::make;
        auto modules = make<runtime::Dict>();
        constexpr std::size_t members_each = fresh_containers / fresh_modules.size() - 2;  // less dict, list
        constexpr std::size_t strings_each =
            (fresh_blocks - fresh_containers) / fresh_modules.size() / members_each;
        for (std::string_view name : fresh_modules) {
            auto members = make<runtime::List>();
            for (std::size_t i = 0; i < members_each; ++i) {
                auto member = make<runtime::List>();
                for (std::size_t k = 0; k < strings_each; ++k)
                    member->append(make<runtime::Str>(std::string(name)));
                members->append(std::move(member));
            }
            auto names = make<runtime::Dict>();
            names->set("__name__", make<runtime::Str>(std::string(name)));
            names->set("__members__", std::move(members));
            modules->set(name, std::move(names));
        }
        return modules;
    }

    // Py_EndInterpreter: its objects are freed on its own heap.
    void finalize() {
        const runtime::Heap::Attach attach{runtime_->heap()};
        modules_.reset();
        runtime_->shutdown();
        runtime_.reset();
    }

    std::int64_t id_;
    std::unique_ptr<runtime::Interpreter> runtime_;
    runtime::Ref<runtime::Dict> modules_;  // sys.modules, on runtime_'s heap
    std::atomic<int> running_{0};
};

// concurrent.interpreters.create(): a new, idle interpreter of that version.
[[nodiscard]] inline std::unique_ptr<Interpreter> create(const runtime::Profile& profile) {
    return std::make_unique<Interpreter>(profile);
}

}  // namespace pyconc::concurrent::interpreters
