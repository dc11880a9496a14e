#pragma once
// asyncio.ensure_future: whatever can be awaited, as a future.
//
// How this works (Lib/asyncio/tasks.py, ensure_future)
// - A coroutine becomes a Task, scheduled on the running loop; a Task or a
//   Future is used as it is. gather, shield, wait, as_completed and
//   wait_for take any of the three, as asyncio's do.
// - `FutureOf<A>` is what ensure_future(A) gives: Task<T> or
//   std::shared_ptr<Future<T>>, whose result type is `result_of_t<A>`.
// - `detail::shared_base` reaches the FutureBase under any of them (cancel,
//   done callbacks); `detail::copy_result` reads a done one's result.
//   gather's own future (GatherFuture, gather.hpp) is one more kind.
#include <memory>
#include <type_traits>
#include <utility>
#include <vector>

#include "pyconc/asyncio/coroutine.hpp"
#include "pyconc/asyncio/future.hpp"
#include "pyconc/asyncio/task.hpp"

namespace pyconc::asyncio {

template <class A>
struct AwaitableTraits;  // not a coroutine, task or future: nothing to await
template <class T>
struct AwaitableTraits<Coroutine<T>> {
    using result = T;
    using future = Task<T>;
};
template <class T>
struct AwaitableTraits<Task<T>> {
    using result = T;
    using future = Task<T>;
};
template <class T>
struct AwaitableTraits<std::shared_ptr<Future<T>>> {
    using result = T;
    using future = std::shared_ptr<Future<T>>;
};

template <class A>
using result_of_t = typename AwaitableTraits<std::remove_cvref_t<A>>::result;
template <class A>
using FutureOf = typename AwaitableTraits<std::remove_cvref_t<A>>::future;

template <class T>
[[nodiscard]] Task<T> ensure_future(Coroutine<T> coroutine) {
    return create_task(std::move(coroutine));
}
template <class T>
[[nodiscard]] Task<T> ensure_future(Task<T> task) noexcept {
    return task;
}
template <class T>
[[nodiscard]] std::shared_ptr<Future<T>> ensure_future(std::shared_ptr<Future<T>> future) noexcept {
    return future;
}

namespace detail {

// ensure_future of each, in order: coroutines become tasks now.
template <class A>
std::vector<FutureOf<A>> ensure_all(std::vector<A> aws) {
    std::vector<FutureOf<A>> futures;
    futures.reserve(aws.size());
    for (A& aw : aws) futures.push_back(ensure_future(std::move(aw)));
    return futures;
}

// The FutureBase under a future of any kind: a Task or a GatherFuture
// (.shared()), or a std::shared_ptr<Future<T>>.
template <class F>
[[nodiscard]] std::shared_ptr<FutureBase> shared_base(const F& future) {
    return future.shared();
}
template <class T>
[[nodiscard]] std::shared_ptr<FutureBase> shared_base(const std::shared_ptr<Future<T>>& future) {
    return future;
}

// The result of a done future of any kind, copied (std::monostate for
// void); raises what it raised.
template <class F>
Stored<result_of_t<F>> copy_result(const F& future) {
    if constexpr (std::is_void_v<result_of_t<F>>) {
        future.result();
        return {};
    } else {
        return future.result();
    }
}
template <class T>
Stored<T> copy_result(const std::shared_ptr<Future<T>>& future) {
    if constexpr (std::is_void_v<T>) {
        future->result();
        return {};
    } else {
        return future->result();
    }
}

}  // namespace detail
}  // namespace pyconc::asyncio
