"""advance/01_asyncio_race_condition's twin: an await between the read and
the write loses updates on one thread, exactly and on every run; an
asyncio.Lock removes the loss. (The command line is twin.py's.)
"""
import asyncio

from twin import main

TASKS, N = 5, 1000
MODEL_ARGS = []


async def run(use_lock):
    counter = 0
    lock = asyncio.Lock()

    async def unsafe():
        nonlocal counter
        for _ in range(N):
            value = counter
            await asyncio.sleep(0)
            counter = value + 1

    async def safe():
        nonlocal counter
        for _ in range(N):
            async with lock:
                value = counter
                await asyncio.sleep(0)
                counter = value + 1

    await asyncio.gather(*((safe if use_lock else unsafe)() for _ in range(TASKS)))
    return counter


def cpython():
    return {"counter_without_lock": asyncio.run(run(False)), "counter_with_lock": asyncio.run(run(True))}


def model(figures):
    without, with_lock = figures["counters"]
    return {"counter_without_lock": without, "counter_with_lock": with_lock}


if __name__ == "__main__":
    main(cpython, model, MODEL_ARGS)
