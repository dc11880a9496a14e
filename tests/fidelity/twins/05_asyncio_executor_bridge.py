"""advance/05_asyncio_executor_bridge's twin: blocking calls sent to a
thread pool and CPU jobs sent to a process pool leave the event loop free
(a heartbeat every 20 ms keeps ticking, its gaps far below a blocking
call's 200 ms); one blocking call made on the loop itself stops the
heartbeat for its whole length, no tick meanwhile. Compared as those
verdicts; the times and gaps are figures. (The command line is twin.py's.)
"""
import asyncio
import time
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor

from twin import Timed, main, yes

BLOCKING_S = 0.2
CPU_N = 500_000
MODEL_ARGS = ["--n", "50000"]  # the facts are about gaps, not the jobs' length
FREE = 0.1  # a loop whose heartbeat never waited this long was free: five beats
measured = {}


def blocking_io(i):
    time.sleep(BLOCKING_S)  # releases the GIL
    return i


def cpu_bound(n):
    return sum(i * i % 7 for i in range(n))


async def heartbeat(stop, ticks):
    while not stop.is_set():
        ticks.append(time.perf_counter())
        await asyncio.sleep(0.02)


def max_gap(ticks):
    return max(b - a for a, b in zip(ticks, ticks[1:]))


async def measure(label, executor, fn, args):
    loop = asyncio.get_running_loop()
    stop, ticks = asyncio.Event(), []
    beat = asyncio.create_task(heartbeat(stop, ticks))
    started = time.perf_counter()
    await asyncio.gather(*(loop.run_in_executor(executor, fn, a) for a in args))
    measured[f"{label}_s"] = f"{time.perf_counter() - started:.2f}"
    stop.set()
    await beat
    measured[f"{label}_max_gap_ms"] = f"{max_gap(ticks) * 1e3:.0f}"
    return max_gap(ticks)


async def blocking_call_on_the_loop():
    stop, ticks = asyncio.Event(), []
    beat = asyncio.create_task(heartbeat(stop, ticks))
    await asyncio.sleep(0.05)  # the heartbeat is ticking
    froze = time.perf_counter()
    blocking_io(0)  # called on the loop: nothing else runs
    thawed = time.perf_counter()
    await asyncio.sleep(0.05)
    stop.set()
    await beat
    measured["frozen_ms"] = f"{(thawed - froze) * 1e3:.0f}"
    return (thawed - froze) * 1e3, sum(froze < t < thawed for t in ticks)


def facts_from(blocking_in_threads_gap_s, cpu_in_processes_gap_s, frozen_ms, ticks_while_frozen):
    return {
        "blocking_calls_in_threads_leave_the_loop_free": yes(blocking_in_threads_gap_s < FREE),
        "cpu_jobs_in_processes_leave_the_loop_free": yes(cpu_in_processes_gap_s < FREE),
        "a_blocking_call_on_the_loop_stops_it": yes(frozen_ms >= BLOCKING_S * 1e3 and ticks_while_frozen == 0),
    }


async def amain():
    with ThreadPoolExecutor(8) as threads, ProcessPoolExecutor(2) as processes:
        blocking = await measure("blocking_threads", threads, blocking_io, range(8))
        await measure("cpu_threads", threads, cpu_bound, [CPU_N] * 4)
        cpu = await measure("cpu_processes", processes, cpu_bound, [CPU_N] * 4)
        frozen_ms, ticks = await blocking_call_on_the_loop()
    return facts_from(blocking, cpu, frozen_ms, ticks)


def cpython():
    return asyncio.run(amain())


def figures():
    return measured


def model(figures):
    gaps = figures["max_gap_ms"]
    return facts_from(gaps[0] / 1e3, gaps[2] / 1e3, figures["frozen_ms"], figures["ticks_while_frozen"])


if __name__ == "__main__":
    # The loop needs a core to tick on time (the workers' cores are the twin's own).
    main(cpython, model, MODEL_ARGS, figures, timed=Timed(["blocking_calls_in_threads_leave_the_loop_free", "cpu_jobs_in_processes_leave_the_loop_free",
                 "a_blocking_call_on_the_loop_stops_it"], cores_needed=1), with_the_gil=True)
