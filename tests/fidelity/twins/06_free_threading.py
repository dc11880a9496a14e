"""advance/06_free_threading's twin, for a free-threaded CPython (3.13t or
3.14t) running without the GIL: two CPU-bound threads keep more than one
core busy; `counter += 1` on a global from 4 threads loses updates, with a
call between read and write too; with a threading.Lock none is lost.
Compared as those verdicts. No such CPython is installed here: the
comparison skips every version, and says so. (The command line is twin.py's.)
"""
import sys
import threading
import time

from twin import SKIP, Timed, main, yes

THREADS, RUN_S = 4, 0.1
MODEL_ARGS = ["--n", "3000000", "--run-ms", "100"]
measured = {}
counter = 0


def needs_free_threading():
    if getattr(sys, "_is_gil_enabled", lambda: True)():  # 3.13+: False on a t build run without the GIL
        print("skipped: needs a free-threaded CPython running without the GIL (3.13t, 3.14t)")
        sys.exit(SKIP)


def countdown(n):
    while n > 0:
        n -= 1


def cores_busy_of_two_threads(n=3_000_000):
    threads = [threading.Thread(target=countdown, args=(n // 2,)) for _ in range(2)]
    wall, cpu = time.perf_counter(), time.process_time()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return (time.process_time() - cpu) / (time.perf_counter() - wall)


def nothing():
    pass


def lost_updates(body):
    """Runs `body` in THREADS threads for RUN_S; the updates lost."""
    global counter
    counter = 0
    stop = time.perf_counter() + RUN_S
    done = [0] * THREADS

    def worker(i):
        while time.perf_counter() < stop:
            body()
            done[i] += 1

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return sum(done) - counter


def plain():
    global counter
    counter += 1


def with_call():
    global counter
    value = counter
    nothing()
    counter = value + 1


lock = threading.Lock()


def locked():
    global counter
    with lock:
        counter += 1


def facts_from(cores_busy, lost):
    plain_lost, with_call_lost, locked_lost = lost
    return {
        "two_threads_keep_more_than_one_core_busy": yes(cores_busy > 1.3),
        "plain_loses_updates": yes(plain_lost > 0),
        "with_call_loses_updates": yes(with_call_lost > 0),
        "locked_loses_none": yes(locked_lost == 0),
    }


def cpython():
    needs_free_threading()
    busy = cores_busy_of_two_threads()
    lost = [lost_updates(body) for body in (plain, with_call, locked)]
    measured.update({"cores_busy": f"{busy:.2f}", "lost": " ".join(map(str, lost))})
    return facts_from(busy, lost)


def figures():
    return measured


def model(figures):
    without_gil = {run["program"]: run["lost"] for run in figures["counter_runs"] if not run["gil"]}
    return facts_from(figures["countdown_cores_busy_free_threaded"][1],
                      [without_gil["plain"], without_gil["with_call"], without_gil["locked"]])


if __name__ == "__main__":
    # Cores busy and the lost updates of a parallel race need both threads on a
    # core at once; the locked counter's exactness rests on no timing.
    main(cpython, model, MODEL_ARGS, figures, can_run=needs_free_threading,
         timed=Timed(["two_threads_keep_more_than_one_core_busy", "plain_loses_updates",
                      "with_call_loses_updates"], cores_needed=2))
