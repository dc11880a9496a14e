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


def model(figures):
    facts = {"default_start_method": figures["start_method"]}
    for method, value in figures["children_saw_setting"].items():
        facts[f"{method}_children_saw"] = f"{value},{value}"
    return facts


if __name__ == "__main__":
    main(cpython, model, MODEL_ARGS)
