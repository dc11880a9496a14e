#pragma once
// asyncio.run(main()): a new loop, main as its first task, then shutdown.
//
// How this works (Lib/asyncio/runners.py, Runner in 3.11)
// - Makes a loop (on a model thread if `thread` is given), runs `main` as a
//   task until it is done, cancels every task still pending and runs the
//   loop until they have finished cancelling, then closes the loop. Returns
//   main's result or raises its exception.
// - Ctrl-C: while run() runs, SIGINT cancels the main task instead of
//   killing the process (the handler only sets a flag and writes to the
//   loop's self-pipe, which is async-signal-safe). Once main has finished
//   cancelling and the rest are cancelled too, run() raises
//   KeyboardInterrupt: lessons exit 130. A second Ctrl-C gets the default
//   action (the handler is gone by then), as in asyncio.
// - Called while a loop runs on this thread, it raises RuntimeError with
//   asyncio's message.
#include <atomic>
#include <csignal>
#include <type_traits>
#include <utility>

#include "pyconc/asyncio/errors.hpp"
#include "pyconc/asyncio/event_loop.hpp"
#include "pyconc/asyncio/task.hpp"
#include "pyconc/runtime/thread_state.hpp"

namespace pyconc::asyncio {

struct RunOptions {
    bool debug = false;                      // asyncio.run(main, debug=True)
    runtime::ThreadState* thread = nullptr;  // the model thread the loop runs as, if any
    bool handle_interrupt = true;            // Ctrl-C cancels main (false: SIGINT as before)
};

namespace detail {

inline std::atomic<bool> interrupt_requested{false};
inline std::atomic<int> interrupt_wakeup_fd{-1};

extern "C" inline void on_sigint(int /*signal*/) {
    interrupt_requested.store(true);
    const int fd = interrupt_wakeup_fd.load();
    if (fd >= 0) {
        const char byte = 0;
        [[maybe_unused]] const auto written = ::write(fd, &byte, 1);
    }
    ::signal(SIGINT, SIG_DFL);  // a second Ctrl-C: the default action
}

// Installs the handler for run()'s life and restores the previous one.
class InterruptHandler {
public:
    InterruptHandler(const EventLoop& loop, bool enabled) : enabled_(enabled) {
        if (!enabled_) return;
        interrupt_requested.store(false);
        interrupt_wakeup_fd.store(loop.wakeup_fd());
        struct sigaction action {};
        action.sa_handler = on_sigint;
        sigemptyset(&action.sa_mask);
        ::sigaction(SIGINT, &action, &previous_);
    }
    InterruptHandler(const InterruptHandler&) = delete;
    InterruptHandler& operator=(const InterruptHandler&) = delete;
    ~InterruptHandler() {
        if (!enabled_) return;
        ::sigaction(SIGINT, &previous_, nullptr);
        interrupt_wakeup_fd.store(-1);
    }
    [[nodiscard]] bool requested() const noexcept { return enabled_ && interrupt_requested.load(); }

private:
    bool enabled_;
    struct sigaction previous_ {};
};

// Runner._cancel_all_tasks, then the callbacks the last steps scheduled
// (done callbacks, gather's bookkeeping) get their turn, a bounded number
// of turns, before the loop closes: what they hold is released.
inline void cancel_all_tasks(EventLoop& loop) {
    const std::vector<PendingTask*> pending = loop.all_tasks();
    for (PendingTask* task : pending) task->cancel();
    if (!pending.empty()) loop.run_until([&] { return loop.all_tasks().empty(); });
    int turns = 0;
    loop.run_until([&] { return !loop.has_ready() || ++turns > 100; });
}

}  // namespace detail

template <class T>
T run(Coroutine<T> main, RunOptions options = {}) {
    if (EventLoop::running() != nullptr) {
        throw RuntimeError("asyncio.run() cannot be called from a running event loop");
    }
    EventLoop loop{options.thread};
    loop.set_debug(options.debug);
    const detail::InterruptHandler interrupt{loop, options.handle_interrupt};
    Task<T> main_task = create_task(loop, std::move(main), "main");
    bool interrupted = false;
    loop.run_until([&] { return main_task.done(); },
                   [&] {
                       if (interrupt.requested() && !interrupted) {
                           interrupted = true;
                           main_task.cancel();
                       }
                   });
    detail::cancel_all_tasks(loop);
    if (interrupted) {
        if (main_task.cancelled()) throw KeyboardInterrupt();
        (void)main_task.exception();  // whatever main did instead, Ctrl-C wins
        throw KeyboardInterrupt();
    }
    if constexpr (std::is_void_v<T>) {
        main_task.result();
    } else {
        return T(main_task.result());
    }
}

}  // namespace pyconc::asyncio
