"""advance/09_subinterpreters's twin, for CPython 3.14 and later (PEP 734's
concurrent.interpreters): a global set in one interpreter is not in
another; a small int crosses a queue as the same (immortal) object, a
large int, a str and a list as new ones; a lock is refused. Compared as
those verdicts. No CPython here has the module yet (3.9-3.13): the
comparison skips them, and says so. (The command line is twin.py's.)
"""
import time

from twin import Figure, main, needs, yes

MODEL_ARGS = ["--n", "20000"]


# The lesson's cost table, row by row (its figure costs_us), against the
# same steps here; judged by order, not size: the model's workers start
# faster than CPython's (it runs no import system), and what the room must
# take away is which costs more.
COST_ROWS = ["thread_start_us", "interpreter_start_us", "process_fork_start_us", "process_spawn_start_us",
             "process_forkserver_start_us", "interp_call_us", "thread_pool_us", "interpreter_pool_us",
             "process_pool_us"]
FIGURES = [Figure(key, (lambda row: lambda f: f["costs_us"][row])(row), key) for row, key in enumerate(COST_ROWS)]
ORDERS = [
    ("a thread starts sooner than a forked process, and that sooner than an interpreter",
     ["thread_start_us", "process_fork_start_us", "interpreter_start_us"]),
    ("a round trip through a thread pool is cheaper than through an interpreter pool, and that than a process pool",
     ["thread_pool_us", "interpreter_pool_us", "process_pool_us"]),
]


def ready(value=42):
    return value


def per_call_us(repeats, run):
    """The mean, as the lesson's per_call_us: `repeats` runs, one clock."""
    started = time.perf_counter()
    for _ in range(repeats):
        run()
    return (time.perf_counter() - started) * 1e6 / repeats


def costs():
    """The lesson's (c), the same steps and repeats: starting each kind of
    worker, then one round trip through each (its worker started first).
    Keys as the lesson's cost table names its rows."""
    import multiprocessing
    import threading
    from concurrent import interpreters
    from concurrent.futures import InterpreterPoolExecutor, ProcessPoolExecutor, ThreadPoolExecutor

    def thread():
        t = threading.Thread(target=ready)
        t.start()
        t.join()

    def interpreter():
        interpreters.create().close()

    found = {"thread_start_us": per_call_us(50, thread),
             "interpreter_start_us": per_call_us(50, interpreter)}
    for method in ("fork", "spawn", "forkserver"):
        context = multiprocessing.get_context(method)

        def process():
            p = context.Process(target=ready)
            p.start()
            p.join()
        process()  # a fork server starts at first use: not counted
        found[f"process_{method}_start_us"] = per_call_us(5, process)
    interp = interpreters.create()
    found["interp_call_us"] = per_call_us(50, lambda: interp.call(ready))
    interp.close()
    for key, pool in (("thread_pool_us", ThreadPoolExecutor(1)),
                      ("interpreter_pool_us", InterpreterPoolExecutor(1)),
                      ("process_pool_us", ProcessPoolExecutor(1))):
        with pool:
            pool.submit(ready, 0).result()  # the worker started
            found[key] = per_call_us(50, lambda: pool.submit(ready).result())
    return {key: f"{us:.1f}" for key, us in found.items()}


def figures():
    return costs()


def can_run():
    needs((3, 14), "concurrent.interpreters")


def cpython():
    can_run()
    import threading
    from concurrent import interpreters

    a, b = interpreters.create(), interpreters.create()
    a.exec("SETTING = 1")

    def has_setting(interp):
        try:
            interp.exec("SETTING")
        except interpreters.ExecutionFailed:  # NameError in there
            return False
        return True

    in_a, in_b = has_setting(a), has_setting(b)
    queue = interpreters.create_queue()
    small, large = 7, 10 ** 6
    for obj in (small, large, "spam", [1, 2, 3]):
        queue.put(obj)
    got = [queue.get() for _ in range(4)]
    copies = got[0] is small and got[1] == large and got[3] == [1, 2, 3]
    try:
        queue.put(threading.Lock())
        refused = False
    except interpreters.NotShareableError:
        refused = queue.empty()
    return {
        "global_stays_in_its_interpreter": yes(in_a and not in_b and "SETTING" not in globals()),
        "objects_cross_as_copies": yes(copies),
        "a_lock_is_refused": yes(refused),
    }


def model(figures):
    return {
        "global_stays_in_its_interpreter": yes(figures["global_stayed_home"]),
        "objects_cross_as_copies": yes(figures["copies_arrived"]),
        "a_lock_is_refused": yes(figures["lock_refused"]),
    }


if __name__ == "__main__":
    main(cpython, model, MODEL_ARGS, figures, can_run=can_run)
