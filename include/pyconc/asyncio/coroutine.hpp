#pragma once
// Coroutines: `async def f()` is a C++ function returning Coroutine<T>.
//
// How this works (Python's coroutine objects, PEP 492)
// - `Coroutine<T>` is lazy: calling the function makes the frame and runs
//   nothing, as calling an `async def` function makes a coroutine object.
//   `co_await f()` runs it in the awaiting task, as `await f()` does in
//   Python: no trip through the loop. create_task (task.hpp) makes it a
//   Task, scheduled on the loop.
// - Flat stacks (DESIGN.md, "Event loop"): awaiting a Coroutine<T> resumes
//   it from await_suspend, which returns bool. A child that finishes
//   without suspending returns there, and the parent goes on without
//   suspending at all: a loop that awaits a million such children never
//   grows the stack, in every build and with both compilers (symmetric
//   transfer alone needs the optimiser's tail call). A child that does
//   suspend resumes its parent from its final suspend when it finishes,
//   later, from the loop: the depth is the nesting of awaits, never their
//   number.
// - A function is a coroutine only if its body has a co_await or a
//   co_return. `async def f(): raise X` is `Coroutine<void> f() { throw
//   X(); co_return; }`: without the co_return, f() throws when it is
//   called, not when it runs.
// - g++ 12.2 (Debian 12's) miscompiles a co_await in the condition of an
//   if or a while: `if (co_await lock.acquire())` crashes or never goes on.
//   Bind the result first: `const bool got = co_await lock.acquire();
//   if (got) ...` (tests/lint/co_await_in_conditions.sh keeps it out of
//   this repository).
// - g++ 12.2 also destroys a lambda made inside a co_await expression one
//   time too many: `co_await asyncio::timeout(1.0, [task] {...})`
//   releases `task` twice. Captures by reference are harmless; name a
//   lambda that captures by copy first (tests/lint/co_await_temporaries.pl
//   keeps it out of this repository).
// - Lambdas: a coroutine lambda keeps its captures in the lambda object,
//   not in the coroutine's frame, and the lambda object of
//   `create_task([&]() -> Coroutine<void> {...}())` dies at the end of
//   that statement while the task still runs: undefined behaviour.
//   `asyncio::invoke(callable, args...)` moves the callable and its
//   arguments into a frame of its own first: use it for any lambda with
//   captures that outlives the statement that calls it.
#include <coroutine>
#include <exception>
#include <functional>
#include <optional>
#include <type_traits>
#include <utility>

#include "pyconc/runtime/fatal.hpp"

namespace pyconc::asyncio {

template <class T = void>
class Coroutine;

namespace detail {

struct PromiseBase {
    std::coroutine_handle<> continuation;  // the coroutine awaiting this one
    bool awaiter_suspended = false;        // it suspended: resume it at the end
    std::exception_ptr error;

    std::suspend_always initial_suspend() noexcept { return {}; }

    struct FinalAwaiter {
        [[nodiscard]] bool await_ready() const noexcept { return false; }
        template <class Promise>
        [[nodiscard]] std::coroutine_handle<> await_suspend(
            std::coroutine_handle<Promise> finished) const noexcept {
            PromiseBase& promise = finished.promise();
            // A parent that is still inside its await_suspend goes on by
            // itself; one that suspended is resumed here.
            if (promise.awaiter_suspended) return promise.continuation;
            return std::noop_coroutine();
        }
        void await_resume() const noexcept {}
    };
    FinalAwaiter final_suspend() noexcept { return {}; }
    void unhandled_exception() noexcept { error = std::current_exception(); }
};

template <class T>
struct Promise : PromiseBase {
    std::optional<T> value;
    Coroutine<T> get_return_object() noexcept;
    template <class U>
    void return_value(U&& result) {
        value.emplace(std::forward<U>(result));
    }
    T take() {
        if (error) std::rethrow_exception(error);
        return std::move(*value);
    }
    [[nodiscard]] const T& peek() const {
        if (error) std::rethrow_exception(error);
        return *value;
    }
};

template <>
struct Promise<void> : PromiseBase {
    Coroutine<void> get_return_object() noexcept;
    void return_void() noexcept {}
    void take() const {
        if (error) std::rethrow_exception(error);
    }
    void peek() const { take(); }
};

}  // namespace detail

// An `async def` function's coroutine. Await it (`co_await f()`) or hand
// it to create_task / gather / run. It owns its frame.
template <class T>
class [[nodiscard]] Coroutine {
public:
    using promise_type = detail::Promise<T>;
    using Handle = std::coroutine_handle<promise_type>;
    using value_type = T;

    Coroutine() = default;
    explicit Coroutine(Handle handle) noexcept : handle_(handle) {}
    Coroutine(Coroutine&& other) noexcept : handle_(std::exchange(other.handle_, {})) {}
    Coroutine& operator=(Coroutine&& other) noexcept {
        if (this != &other) {
            destroy();
            handle_ = std::exchange(other.handle_, {});
        }
        return *this;
    }
    Coroutine(const Coroutine&) = delete;
    Coroutine& operator=(const Coroutine&) = delete;
    ~Coroutine() { destroy(); }

    // `await coro`: runs it in the awaiting task.
    auto operator co_await() && noexcept {
        struct Awaiter {
            Handle child;
            [[nodiscard]] bool await_ready() const noexcept { return false; }
            [[nodiscard]] bool await_suspend(std::coroutine_handle<> parent) const {
                promise_type& promise = child.promise();
                promise.continuation = parent;
                child.resume();
                if (child.done()) return false;  // finished at once: go on without suspending
                promise.awaiter_suspended = true;
                return true;
            }
            // NOLINTNEXTLINE(modernize-use-nodiscard): T may be void
            T await_resume() const { return child.promise().take(); }
        };
        if (!handle_) runtime::fatal("Coroutine", "awaiting an empty coroutine (moved from?)");
        return Awaiter{handle_};
    }

    // For a task: hands the frame over.
    [[nodiscard]] Handle release() noexcept { return std::exchange(handle_, {}); }

private:
    void destroy() noexcept {
        if (handle_) handle_.destroy();
        handle_ = {};
    }
    Handle handle_;
};

namespace detail {
template <class T>
Coroutine<T> Promise<T>::get_return_object() noexcept {
    return Coroutine<T>{std::coroutine_handle<Promise<T>>::from_promise(*this)};
}
inline Coroutine<void> Promise<void>::get_return_object() noexcept {
    return Coroutine<void>{std::coroutine_handle<Promise<void>>::from_promise(*this)};
}
}  // namespace detail

// The result type of a coroutine function: U for a callable returning Coroutine<U>.
template <class Callable, class... Args>
using coroutine_result_t = typename std::invoke_result_t<Callable&, Args&...>::value_type;

// A coroutine that owns `callable` and `args` in its frame and awaits
// callable(args...): the safe way to run a lambda with captures as a task,
// `create_task(asyncio::invoke([&] () -> Coroutine<int> {...}))`.
template <class Callable, class... Args>
Coroutine<coroutine_result_t<Callable, Args...>> invoke(Callable callable, Args... args) {
    co_return co_await std::invoke(callable, args...);
}

}  // namespace pyconc::asyncio
