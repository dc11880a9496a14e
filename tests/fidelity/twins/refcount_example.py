"""basics/refcount_example's twin: reference counts, and what frees what.

sys.getrefcount() is one more than the count (its argument); a del that
drops the last reference frees at once; a cycle outlives its names and
gc.collect() finds it, with each instance's __dict__ up to 3.10.
(The command line is twin.py's.)
"""
import gc
import sys

from twin import main, yes

MODEL_ARGS = []
freed = []


class Noisy:
    def __init__(self, name):
        self.name = name

    def __del__(self):
        freed.append(self.name)


def cpython():
    gc.disable()
    gc.collect()  # what the start-up left, so that the count below is the cycle's alone
    a = Noisy("a")
    facts = {"getrefcount_at_birth": sys.getrefcount(a)}
    b = a
    facts["getrefcount_after_bind"] = sys.getrefcount(a)
    box = [a]
    facts["getrefcount_after_box"] = sys.getrefcount(a)
    del b, box
    facts["getrefcount_after_del"] = sys.getrefcount(a)
    del a
    facts["a_freed_at_del"] = yes(freed == ["a"])
    x, y = Noisy("x"), Noisy("y")
    x.other, y.other = y, x
    del x, y
    facts["cycle_alive_after_del"] = yes(freed == ["a"])
    facts["collect_returned"] = gc.collect()
    facts["cycle_freed_by_collect"] = yes(sorted(freed) == ["a", "x", "y"])
    return facts


def model(figures):
    return {
        "getrefcount_at_birth": figures["getrefcount_at_birth"],
        "getrefcount_after_bind": figures["refcount_after_bind"] + 1,
        "getrefcount_after_box": figures["refcount_after_box"] + 1,
        "getrefcount_after_del": figures["refcount_after_del"] + 1,
        "a_freed_at_del": yes(figures["a_freed_at_del"]),
        "cycle_alive_after_del": yes(figures["alive_after_del"] == 2),
        "collect_returned": figures["collect_returned"],
        "cycle_freed_by_collect": yes(figures["freed_by_collect"] == 2),
    }


if __name__ == "__main__":
    main(cpython, model, MODEL_ARGS)
