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


# The lesson's part 1, at module level as the lesson and the reference
# program run it: there `a` is a global (LOAD_NAME takes a reference of its
# own), while inside a function 3.14 loads a local borrowed (LOAD_FAST_BORROW)
# and sys.getrefcount() says one less. The twin runs what the lesson runs;
# the function's count is a fact of its own. Compiled once, here: a
# free-threaded build frees a code object only in a collection (deferred
# reference counting), and one left over from exec would be counted in it.
NAMES_BIND_AND_UNBIND = compile("""
a = Noisy("a")
facts["getrefcount_at_birth"] = sys.getrefcount(a)
b = a
facts["getrefcount_after_bind"] = sys.getrefcount(a)
box = [a]
facts["getrefcount_after_box"] = sys.getrefcount(a)
del b, box
facts["getrefcount_after_del"] = sys.getrefcount(a)
del a
""", "<the lesson's part 1>", "exec")


def getrefcount_of_a_fresh_local():
    a = Noisy("a local")
    return sys.getrefcount(a)


def cpython():
    gc.disable()
    gc.collect()  # what the start-up left, so that the count below is the cycle's alone
    facts = {}
    exec(NAMES_BIND_AND_UNBIND, {"Noisy": Noisy, "sys": sys, "facts": facts})
    facts["a_freed_at_del"] = yes(freed == ["a"])
    facts["getrefcount_of_a_local_in_a_function"] = getrefcount_of_a_fresh_local()
    freed.remove("a local")
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
        "getrefcount_of_a_local_in_a_function": figures["getrefcount_of_a_local_in_a_function"],
        "a_freed_at_del": yes(figures["a_freed_at_del"]),
        "cycle_alive_after_del": yes(figures["alive_after_del"] == 2),
        "collect_returned": figures["collect_returned"],
        "cycle_freed_by_collect": yes(figures["freed_by_collect"] == 2),
    }


if __name__ == "__main__":
    main(cpython, model, MODEL_ARGS)
