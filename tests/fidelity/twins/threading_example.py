"""basics/threading_example's twin: which counter loops lose updates.

CPython's verdicts are certain in practice at a 0.1 ms switch interval
(about a hundred switches per run): the plain loop loses updates on 3.9
and none from 3.10 (by construction: no check point inside it); with a
call between the read and the write, every version loses some; with a
Lock, none. The model's are certain by construction: a deterministic
schedule (--switch-every 3) under the version's check points. A
free-threaded build (3.13t, 3.14t) has no GIL to schedule: there both sides
race threads that run at once, so the plain and the call loops' losses rest
on timing (two cores at once) and are decided from trials.

(The command line is twin.py's.)
"""
import sys
import sysconfig
import threading
import time

from twin import Figure, Timed, main, yes

THREADS, ITERATIONS = 4, 20_000
FREE_THREADED = sysconfig.get_config_var("Py_GIL_DISABLED") == 1
if FREE_THREADED:
    MODEL_ARGS = ["--threads", "4", "--iterations", str(ITERATIONS)]
    TIMED = Timed(["plain_loses", "with_call_loses"], cores_needed=2)
else:
    MODEL_ARGS = ["--threads", "4", "--iterations", "1000", "--switch-every", "3"]
    TIMED = None

counter = 0
lock = threading.Lock()


def do_nothing():
    pass


def plain(n):
    global counter
    for _ in range(n):
        counter += 1


def with_call(n):
    global counter
    for _ in range(n):
        tmp = counter
        do_nothing()
        counter = tmp + 1


def locked(n):
    global counter
    for _ in range(n):
        with lock:  # as the reference program: a call inside the lock too
            tmp = counter
            do_nothing()
            counter = tmp + 1


def run(target):
    global counter
    counter = 0
    threads = [threading.Thread(target=target, args=(ITERATIONS,)) for _ in range(THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return counter != THREADS * ITERATIONS


def loses(target, budget_seconds=1.0):
    """Whether runs of `target` lose updates: again and again for up to
    `budget_seconds`, stopping at the first that does, so that a busy machine
    that gave the threads few switches cannot hide a race. A loop that cannot
    lose (3.10+'s plain one, the locked one) never does, however often."""
    started = time.monotonic()
    while time.monotonic() - started < budget_seconds:
        if run(target):
            return True
    return False


def cpython():
    sys.setswitchinterval(0.0001)
    return {f"{target.__name__}_loses": yes(loses(target)) for target in (plain, with_call, locked)}


INTERVALS = 40  # the lesson's --intervals default: each run that many switch intervals long


def lost_share(variant):
    def read(figures):
        run = next(r for r in figures["runs"] if r["variant"] == variant)
        return run["lost"] / run["expected"]
    return read


# A lost share rests on where the switches fall: half to twice CPython's
# says the model loses as CPython does, in size, not only in kind.
FIGURES = [Figure("with_call lost share", lost_share("with_call"), "with_call_lost_share", 0.5, 2.0,
                  "lost share within 0.5x to 2x of CPython's at the same length")]


def figures():
    """The reference program at the lesson's size: 4 threads at CPython's
    5 ms switch interval, each run about 40 intervals long (the lesson's
    default length), its increments per thread sized from one thread's
    speed measured first; updates lost per loop, and their share."""
    global ITERATIONS
    interval = 0.005
    sys.setswitchinterval(interval)
    found = {"intervals": INTERVALS}
    for target in (plain, with_call, locked):
        ITERATIONS = 20_000
        started = time.perf_counter()
        target(ITERATIONS)  # one thread alone: its speed
        per_increment = (time.perf_counter() - started) / ITERATIONS
        ITERATIONS = max(1, int(INTERVALS * interval / (THREADS * per_increment)))
        started = time.perf_counter()
        run(target)
        expected = THREADS * ITERATIONS
        name = target.__name__
        found[f"{name}_iterations"] = ITERATIONS
        found[f"{name}_lost"] = expected - counter
        found[f"{name}_lost_share"] = f"{(expected - counter) / expected:.3f}"
        found[f"{name}_seconds"] = f"{time.perf_counter() - started:.2f}"
    return found


def model(figures):
    return {f"{run['variant']}_loses": yes(run["lost"] > 0) for run in figures["runs"]}


if __name__ == "__main__":
    main(cpython, model, MODEL_ARGS, figures, timed=TIMED)
