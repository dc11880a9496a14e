"""advance/07_cooperative_vs_preemptive's twin: a hog that never awaits
freezes the event loop for its whole 500 ms; one that awaits every 10 ms
does not; a hog thread is pre-empted, so the heartbeat thread keeps
ticking. Compared as those three verdicts (a gap of the whole hog or not);
the gaps themselves are figures. (The command line is twin.py's.)
"""
import asyncio
import threading
import time

from twin import Timed, main, yes

HOG = 0.2  # the lesson's 500 ms, shortened: every margin is still four beats of 50 ms
MODEL_ARGS = ["--hog-ms", "200"]
measured = {}


def burn(seconds):
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        pass


async def coop(yield_every=None):
    ticks = []

    async def heartbeat():
        started = time.perf_counter()
        while time.perf_counter() - started < HOG + 0.15:
            ticks.append(time.perf_counter())
            await asyncio.sleep(0.05)

    async def hog():
        await asyncio.sleep(0.1)
        if yield_every is None:
            burn(HOG)
        else:
            end = time.perf_counter() + HOG
            while time.perf_counter() < end:
                burn(yield_every)
                await asyncio.sleep(0)

    await asyncio.gather(heartbeat(), hog())
    return max(b - a for a, b in zip(ticks, ticks[1:]))


def preemptive():
    ticks = []

    def heartbeat():
        started = time.perf_counter()
        while time.perf_counter() - started < HOG + 0.15:
            ticks.append(time.perf_counter())
            time.sleep(0.05)

    def hog():
        time.sleep(0.1)
        burn(HOG)

    threads = [threading.Thread(target=heartbeat), threading.Thread(target=hog)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return max(b - a for a, b in zip(ticks, ticks[1:]))


def facts_from(gaps_seconds):
    never, every_10_ms, thread = gaps_seconds
    return {
        "never_awaiting_freezes_the_loop": yes(never >= HOG),
        "awaiting_every_10_ms_keeps_it_ticking": yes(every_10_ms < HOG),
        "the_thread_is_preempted": yes(thread < HOG),
    }


def cpython():
    gaps = [asyncio.run(coop()), asyncio.run(coop(0.01)), preemptive()]
    measured.update({f"max_gap_ms_{name}": f"{gap * 1e3:.0f}"
                     for name, gap in zip(("never_awaits", "awaits_every_10_ms", "thread"), gaps)})
    return facts_from(gaps)


def figures():
    return measured


def model(figures):
    return facts_from([ms / 1e3 for ms in figures["max_gap_ms"]])


if __name__ == "__main__":
    # The loop, or the hog and heartbeat threads under one GIL, need one core.
    main(cpython, model, MODEL_ARGS, figures, timed=Timed(["never_awaiting_freezes_the_loop", "awaiting_every_10_ms_keeps_it_ticking",
                 "the_thread_is_preempted"], cores_needed=1), with_the_gil=True)
