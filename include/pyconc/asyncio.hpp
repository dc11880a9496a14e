#pragma once
// The asyncio model: an event loop on C++20 coroutines with asyncio's
// semantics. See the "How this works" block of each header:
//   asyncio/event_loop.hpp  the loop: ready queue, timers, self-pipe, GIL, debug mode
//   asyncio/future.hpp      Future
//   asyncio/coroutine.hpp   Coroutine<T> (async def), invoke (lambdas with captures)
//   asyncio/task.hpp        Task<T>, create_task, current_task, run_until_complete
//   asyncio/ensure_future.hpp  ensure_future: coroutine, task or future
//   asyncio/sleep.hpp       sleep
//   asyncio/gather.hpp      gather
//   asyncio/shield.hpp      shield
//   asyncio/wait.hpp        wait (return_when), as_completed
//   asyncio/timeouts.hpp    timeout, timeout_at
//   asyncio/wait_for.hpp    wait_for
//   asyncio/task_group.hpp  TaskGroup (task_group)
//   asyncio/lock.hpp, event.hpp, condition.hpp, semaphore.hpp (and BoundedSemaphore),
//   asyncio/queue.hpp       on waiters.hpp
//   asyncio/run.hpp         run, with Ctrl-C
//   asyncio/executor.hpp    run_in_executor, to_thread (the bridge to concurrent.futures)
#include "pyconc/asyncio/condition.hpp"
#include "pyconc/asyncio/coroutine.hpp"
#include "pyconc/asyncio/ensure_future.hpp"
#include "pyconc/asyncio/errors.hpp"
#include "pyconc/asyncio/event.hpp"
#include "pyconc/asyncio/event_loop.hpp"
#include "pyconc/asyncio/executor.hpp"
#include "pyconc/asyncio/future.hpp"
#include "pyconc/asyncio/gather.hpp"
#include "pyconc/asyncio/lock.hpp"
#include "pyconc/asyncio/queue.hpp"
#include "pyconc/asyncio/run.hpp"
#include "pyconc/asyncio/semaphore.hpp"
#include "pyconc/asyncio/shield.hpp"
#include "pyconc/asyncio/sleep.hpp"
#include "pyconc/asyncio/task.hpp"
#include "pyconc/asyncio/task_group.hpp"
#include "pyconc/asyncio/timeouts.hpp"
#include "pyconc/asyncio/wait.hpp"
#include "pyconc/asyncio/wait_for.hpp"
#include "pyconc/asyncio/waiters.hpp"
