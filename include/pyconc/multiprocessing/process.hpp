#pragma once
// multiprocessing.Process: a real child process.
//
// How this works (Lib/multiprocessing/process.py, popen_fork.py, popen_spawn_posix.py)
// - Start method `fork` (CPython's default on Linux through 3.13): the
//   child is a copy of the parent at the moment of start(): its memory, its
//   globals, but only the thread that called fork. It runs the target (any
//   callable) and exits with 0, or 1 if the target raised. Changes it makes
//   to its copy of the parent's memory stay in the child. A lock another
//   thread held at the fork stays locked in the child forever: CPython 3.12
//   warns about forking a process with threads, and 3.14 stopped defaulting
//   to fork on Linux for that reason. A model thread in the child needs an
//   Interpreter of its own (as CPython re-initialises the GIL after fork).
// - Start method `spawn`: a fresh run of this program (spawn.hpp), which
//   calls a registered function with pickled arguments. Safe from a parent
//   with threads. `forkserver`: a fork of the fork server (popen.hpp),
//   which calls it the same way. `Process::call<F>(context, args...)` runs
//   a registered function by any of the three.
// - join(timeout) reaps the child; exitcode is its status, or minus the
//   signal that killed it (-15 after terminate(), -9 after kill()), as in
//   Python. A Process destroyed while its child runs terminates and reaps
//   it: no zombie, and no child left behind.
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <functional>
#include <optional>
#include <stdexcept>
#include <string>
#include <system_error>
#include <thread>
#include <tuple>
#include <utility>

#include <sys/prctl.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fmt/format.h>

#include "pyconc/multiprocessing/connection.hpp"
#include "pyconc/multiprocessing/pickle.hpp"
#include "pyconc/multiprocessing/popen.hpp"
#include "pyconc/multiprocessing/spawn.hpp"
#include "pyconc/multiprocessing/start_method.hpp"

namespace pyconc::multiprocessing {

class Process {
public:
    // fork: the child runs `target` in a copy of this process.
    explicit Process(std::function<void()> target, std::string name = {})
        : method_(StartMethod::fork), target_(std::move(target)), name_(std::move(name)) {
        if (name_.empty()) name_ = fmt::format("Process-{}", ++made_);
    }

    // context.Process(target=F, args=...): the child, started by the
    // context's method, calls F(args...).
    template <auto F, class... Args>
    [[nodiscard]] static Process call(Context context, Args&&... args) {
        (void)Function<F>::registered;
        Process process{context.start_method()};
        process.function_ = Function<F>::name();
        process.arguments_ = dumps(typename Function<F>::Arguments{std::forward<Args>(args)...});
        return process;
    }
    // spawn: the child, a fresh run of this program, calls F(args...).
    template <auto F, class... Args>
    [[nodiscard]] static Process spawn(Args&&... args) {
        return call<F>(Context{StartMethod::spawn}, std::forward<Args>(args)...);
    }

    Process(Process&& other) noexcept
        : method_(other.method_),
          target_(std::move(other.target_)),
          name_(std::move(other.name_)),
          function_(std::move(other.function_)),
          arguments_(std::move(other.arguments_)),
          popen_(std::move(other.popen_)),
          pid_(std::exchange(other.pid_, -1)),
          exitcode_(other.exitcode_) {}
    Process& operator=(Process&&) = delete;
    Process(const Process&) = delete;
    Process& operator=(const Process&) = delete;
    ~Process() {
        if (pid_ > 0 && !exitcode_) {
            terminate();
            join();
        }
    }

    [[nodiscard]] StartMethod start_method() const noexcept { return method_; }
    [[nodiscard]] pid_t pid() const noexcept { return pid_; }

    void start() {
        if (pid_ > 0) throw std::logic_error("cannot start a process twice");
        if (target_) {
            start_fork();
        } else {
            start_registered();
        }
    }

    // Waits for the child (at most `timeout` seconds) and reaps it.
    void join(std::optional<double> timeout_seconds = std::nullopt) {
        if (pid_ <= 0) throw std::logic_error("can only join a started process");
        if (exitcode_) return;
        if (!timeout_seconds) {
            reap(0);
            return;
        }
        const auto deadline =
            std::chrono::steady_clock::now() + std::chrono::duration<double>(*timeout_seconds);
        while (!reap(WNOHANG) && std::chrono::steady_clock::now() < deadline) {
            std::this_thread::sleep_for(std::chrono::milliseconds{1});
        }
    }
    [[nodiscard]] bool is_alive() {
        if (pid_ <= 0 || exitcode_) return false;
        return !reap(WNOHANG);
    }
    // None while it runs; its exit status; minus the signal that killed it.
    [[nodiscard]] std::optional<int> exitcode() {
        if (pid_ > 0 && !exitcode_) (void)reap(WNOHANG);
        return exitcode_;
    }
    void terminate() const { signal(SIGTERM); }
    void kill() const { signal(SIGKILL); }

private:
    explicit Process(StartMethod method) : method_(method), name_(fmt::format("Process-{}", ++made_)) {}

    void start_fork() {
        pid_ = detail::fork_running([this] {
            ::prctl(PR_SET_NAME, name_.c_str());  // ps and top show the Process's name
            try {
                target_();
                return 0;
            } catch (const std::exception& error) {
                fmt::print(stderr, "Process {}: {}\n", name_, error.what());
                return 1;
            }
        });
    }

    // A registered function, by any start method (popen.hpp).
    void start_registered() {
        auto [mine, childs] = Pipe();
        popen_.emplace(method_, "process", childs);
        childs.close();
        popen_->await_bootstrap(mine);
        mine.send(std::tuple{function_, arguments_, name_});
        pid_ = popen_->pid();
    }

    void signal(int number) const {
        if (pid_ > 0 && !exitcode_) ::kill(pid_, number);
    }

    // waitpid (or the fork server's word); true once the child is reaped.
    bool reap(int options) {
        if (popen_) {
            exitcode_ = popen_->poll(options == 0);
            return exitcode_.has_value();
        }
        int status = 0;
        pid_t reaped = 0;
        do {
            reaped = ::waitpid(pid_, &status, options);
        } while (reaped < 0 && errno == EINTR);
        if (reaped != pid_) return false;
        exitcode_ = WIFSIGNALED(status) ? -WTERMSIG(status) : WEXITSTATUS(status);
        return true;
    }

    StartMethod method_;
    std::function<void()> target_;
    std::string name_;
    std::string function_;        // spawn: the registered function's name
    std::string arguments_;       // spawn: its pickled arguments
    std::optional<Popen> popen_;  // a registered function's child
    pid_t pid_ = -1;
    std::optional<int> exitcode_;
    static inline int made_ = 0;  // for names only
};

namespace detail {
// A Process running a registered function (spawn, forkserver or fork):
// call the function its parent named, then exit.
inline int spawned_process_main(Connection& parent) {
    const auto [function, arguments, name] = parent.recv<std::tuple<std::string, std::string, std::string>>();
    ::prctl(PR_SET_NAME, name.c_str());  // ps and top show the Process's name
    (void)find_function(function)(arguments);
    return 0;
}
// NOLINTNEXTLINE(cert-err58-cpp): a program that cannot register at start-up should stop there
inline const bool spawned_process_registered = register_child_main("process", spawned_process_main);
}  // namespace detail

}  // namespace pyconc::multiprocessing
