"""advance/04_memory_arenas's twin: the arenas pymalloc takes for 2,000,000
16-byte objects, the ones that 1,000 scattered survivors keep held, and
what is left once they go too. Counted from the arenas the interpreter held
before it started (its own objects), which the model's heap does not have.
How many arenas the objects take varies by one with the free space the
interpreter's own arenas had (30 or 31 on 3.13): compared to the nearest 5,
which tells 3.9's 256 KiB arenas (124) from 3.10's 1 MiB ones (31).
(The command line is twin.py's.)
"""
import re
import sys
import sysconfig

from twin import SKIP, debug_malloc_stats, main, yes

MODEL_ARGS = ["--map-rows", "0"]


def needs_pymalloc():
    """A free-threaded build allocates with mimalloc: no arenas to count
    (the lesson says so, and shows pymalloc's as the GIL builds have them)."""
    if sysconfig.get_config_var("Py_GIL_DISABLED") == 1:
        print("skipped: a free-threaded build allocates with mimalloc, which has no arenas")
        sys.exit(SKIP)


def arenas():
    """Arenas pymalloc holds now, from sys._debugmallocstats()."""
    text = debug_malloc_stats()
    return int(re.search(r"# arenas allocated current\s*=\s*([\d,]+)", text).group(1).replace(",", ""))


started_with = 0


measured = {}


def facts_from(taken, held, left):
    return {
        "arenas_for_2000000_objects_to_the_nearest_5": 5 * round(taken / 5),
        "survivors_hold_every_arena": yes(held == taken),
        "arenas_left_after_all_freed": left,
    }


def cpython():
    started_with = arenas()
    objs = [object() for _ in range(2_000_000)]
    taken = arenas() - started_with
    survivors = objs[::2000]
    del objs
    held = arenas() - started_with
    del survivors
    measured.update(arenas_at_start=started_with, arenas_for_2000000_objects=taken)
    return facts_from(taken, held, arenas() - started_with)


def figures():
    return measured


def model(figures):
    start = figures["arenas_at_start"]
    return facts_from(figures["arenas_after_allocating"] - start,
                      figures["arenas_after_freeing_all_but_survivors"] - start,
                      figures["arenas_after_freeing_survivors"] - start)


if __name__ == "__main__":
    main(cpython, model, MODEL_ARGS, figures, can_run=needs_pymalloc)
