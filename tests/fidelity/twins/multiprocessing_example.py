"""basics/multiprocessing_example's twin: what each start method's children
see of a global the parent set before the pool started, and the default
start method. (The command line is twin.py's.)
"""
import multiprocessing
from concurrent.futures import ProcessPoolExecutor

from twin import main

MODEL_ARGS = ["--jobs", "1", "--n", "1000", "--workers", "1", "--increments", "10"]
SETTING = 0


def read_setting(_):
    return SETTING


def cpython():
    global SETTING
    facts = {"default_start_method": multiprocessing.get_start_method()}
    SETTING = 1
    for method in ("fork", "spawn", "forkserver"):
        with ProcessPoolExecutor(2, mp_context=multiprocessing.get_context(method)) as pool:
            facts[f"{method}_children_saw"] = ",".join(str(v) for v in pool.map(read_setting, range(2)))
    return facts


touched = 0


def touch(_):
    global touched
    touched += 1
    return touched


def cpu_job(n):
    total = 0
    for i in range(n):
        total += i * i % 7
    return total


def figures():
    """The reference program's timings: 4 jobs of cpu_job(2,000,000)
    sequentially, in a thread pool and in a process pool (a worker per core)."""
    import os
    import time
    from concurrent.futures import ThreadPoolExecutor
    jobs, n, workers = 4, 2_000_000, os.cpu_count()
    found = {"cores": workers}
    started = time.perf_counter()
    expected = [cpu_job(n) for _ in range(jobs)]
    found["sequential_seconds"] = f"{time.perf_counter() - started:.2f}"
    with ThreadPoolExecutor(workers) as pool:
        started = time.perf_counter()
        assert list(pool.map(cpu_job, [n] * jobs)) == expected
        found["threads_seconds"] = f"{time.perf_counter() - started:.2f}"
    with ProcessPoolExecutor(workers) as pool:
        started = time.perf_counter()
        assert list(pool.map(cpu_job, [n] * jobs)) == expected
        found["processes_seconds"] = f"{time.perf_counter() - started:.2f}"
        found["children_saw_touched"] = ", ".join(str(t) for t in pool.map(touch, range(4)))
    found["parent_touched"] = touched
    return found


def model(figures):
    facts = {"default_start_method": figures["start_method"]}
    for method, value in figures["children_saw_setting"].items():
        facts[f"{method}_children_saw"] = f"{value},{value}"
    return facts


if __name__ == "__main__":
    main(cpython, model, MODEL_ARGS, figures)
