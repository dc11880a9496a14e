"""basics/asyncio_example's twin: three tasks on one event loop take turns
in FIFO order (A, B, C at every step), the counter is exact, and the sleeps
overlap. (The command line is twin.py's.)
"""
import asyncio
import time

from twin import main

MODEL_ARGS = ["--delay-ms", "10"]  # the order and the count do not depend on the sleep's length
counter = 0
order = []


async def worker(name, times, delay):
    global counter
    for _ in range(times):
        counter += 1
        order.append(name)
        await asyncio.sleep(delay)
    return f"{name} done"


async def gather_three(delay):
    started = time.perf_counter()
    await asyncio.gather(worker("A", 3, delay), worker("B", 3, delay), worker("C", 3, delay))
    return time.perf_counter() - started


def cpython():
    asyncio.run(gather_three(0.01))
    return {"order": "".join(order), "counter": counter}


def figures():
    global counter
    counter = 0
    order.clear()
    return {"elapsed_seconds": f"{asyncio.run(gather_three(0.1)):.2f}"}


def model(figures):
    return {"order": figures["order"], "counter": figures["counter"]}


if __name__ == "__main__":
    main(cpython, model, MODEL_ARGS, figures)
