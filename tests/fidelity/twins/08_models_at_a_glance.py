"""advance/08_models_at_a_glance's twin: the memory-space column, and
"parallel?" for threads. A task's change to a global is seen by the code
that awaited it; a thread pool worker's is seen by the caller; a process
pool worker's is not (each worker has its own copy); CPU-bound jobs in a
thread pool keep one core busy, not more (the GIL). From 3.14, an
interpreter pool worker's change is not seen either. Compared as those
verdicts; the figures are the cores busy. (The command line is twin.py's.)
"""
import asyncio
import sys
import time
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor

from twin import Timed, main, yes

MODEL_ARGS = ["--requests", "4", "--wait-ms", "1", "--n", "20000"]
x = 0
measured = {}


def set_x():
    global x
    x = 1


def cpu_job(n):
    return sum(i * i % 7 for i in range(n))


def thread_pool_cores_busy():
    with ThreadPoolExecutor(4) as pool:
        wall, cpu = time.perf_counter(), time.process_time()
        list(pool.map(cpu_job, [300_000] * 4))
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    return cpu / wall


def seen_after(run):
    global x
    x = 0
    run()
    return x == 1


def in_a_task():
    async def change():
        set_x()

    asyncio.run(change())


def in_a_thread_pool():
    with ThreadPoolExecutor(2) as pool:
        pool.submit(set_x).result()


def in_a_process_pool():
    with ProcessPoolExecutor(2) as pool:
        pool.submit(set_x).result()


def in_an_interpreter_pool():
    from concurrent.futures import InterpreterPoolExecutor
    with InterpreterPoolExecutor(2) as pool:
        pool.submit(set_x).result()


def facts_from(shared, threads_cores_busy):
    facts = {
        "asyncio_task_change_seen": yes(shared[0]),
        "thread_worker_global_seen": yes(shared[1]),
        "process_worker_global_seen": yes(shared[2]),
        "threads_keep_one_core_busy": yes(threads_cores_busy < 1.3),
    }
    if len(shared) > 3:
        facts["interpreter_worker_global_seen"] = yes(shared[3])
    return facts


def cpython():
    shared = [seen_after(in_a_task), seen_after(in_a_thread_pool), seen_after(in_a_process_pool)]
    if sys.version_info >= (3, 14):
        shared.append(seen_after(in_an_interpreter_pool))
    busy = thread_pool_cores_busy()
    measured["threads_cores_busy"] = f"{busy:.2f}"
    return facts_from(shared, busy)


def figures():
    return measured


def model(figures):
    # The model always has the fourth row; a CPython before 3.14 has no such pool to compare with.
    shared = figures["shared_memory"][: 4 if sys.version_info >= (3, 14) else 3]
    return facts_from(shared, figures["cpu_cores_busy"][1])


if __name__ == "__main__":
    # Cores kept busy rests on timing; what a worker saw of a global does not.
    # The lesson says machine-busy when its processes could not keep two
    # cores busy (whenever another test runs beside it), which says nothing
    # of the one core its thread pool keeps busy, the fact compared here.
    main(cpython, model, MODEL_ARGS, figures,
         timed=Timed(["threads_keep_one_core_busy"], cores_needed=1, lesson_busy_starves=False), with_the_gil=True)
