"""What this CPython reports of the facts a pyconc profile holds (runtime/profile.hpp),
as key=value lines, in the format tests/fidelity/profile_facts.cpp prints them."""
import gc
import multiprocessing
import os
import re
import sys
import sysconfig

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "twins"))
from twin import debug_malloc_stats  # noqa: E402  (the twins' helpers)


def pymalloc_sizes():
    """ARENA_SIZE and POOL_SIZE as sys._debugmallocstats() prints them."""
    text = debug_malloc_stats()
    arena = re.search(r"(\d+) bytes/arena", text)
    pool = re.search(r"pools \* (\d+) bytes", text)
    return (arena.group(1) if arena else "none"), (pool.group(1) if pool else "?")


def immortal_refcount():
    """sys.getrefcount(0) when more references leave it unchanged (PEP 683), else none."""
    before = sys.getrefcount(0)
    more = [0] * 10
    after = sys.getrefcount(0)
    del more
    return str(before) if before == after else "none"


def instance_dicts():
    """Whether an instance keeps its attributes in a __dict__ of its own: a
    two-instance cycle is then four objects to the collector (3.10 and older)."""
    class Node:
        pass
    gc.collect()
    a, b = Node(), Node()
    a.peer, b.peer = b, a
    del a, b
    return "yes" if gc.collect() == 4 else "no"


def borrowed_local_loads():
    """Whether a local passed to a call is loaded without a reference of its
    own (3.14's LOAD_FAST_BORROW): sys.getrefcount() of a fresh local then
    says 1 (the frame's reference alone), not 2."""
    def fresh_local():
        a = object()
        return sys.getrefcount(a)
    return "yes" if fresh_local() == 1 else "no"


free_threaded = sysconfig.get_config_var("Py_GIL_DISABLED") == 1
arena, pool = pymalloc_sizes()
print(f"version={sys.version_info.major}.{sys.version_info.minor}{'t' if free_threaded else ''}")
print("gc_threshold=" + ",".join(str(t) for t in gc.get_threshold()))
print(f"immortal_refcount={immortal_refcount()}")
print(f"arena_bytes={arena}")
print(f"pool_bytes={pool}")
print(f"start_method={multiprocessing.get_start_method()}")
print(f"instance_dicts={instance_dicts()}")
print(f"borrowed_local_loads={borrowed_local_loads()}")
