"""advance/02_gc_generations's twin: the collector's thresholds, the
automatic collections 10,000 new lists trigger, and what gc.collect()
finds in 10,000 two-instance cycles.

The collections are counted from gc.get_stats(), not with a callback: a
callback allocates, and its allocations would count too.

On 3.14t an automatic collection also waits until the process's memory
grew by a tenth (gh-132917), so the count rests on memory, and near its
edge: measured here, 10,000 lists grow a fresh 3.14.7t (11,500 KiB) by
about 1,280 KiB, one collection; in this twin's process (about 17,000
KiB, its imports) by 1,150, none. The model's estimate starts at the
fresh process's figure and adds its heap's bytes, which grow less than
CPython's resident set (mimalloc's pages): none either. A figure worth
watching when a twin or a lesson changes what it imports.
(The command line is twin.py's.)
"""
import gc

from twin import main

MODEL_ARGS = ["--max-cycles", "10000"]


class Node:
    pass


measured = {}


def figures():
    return measured


def cpython():
    facts = {"thresholds": ",".join(str(t) for t in gc.get_threshold())}
    gc.collect()
    before = [s["collections"] for s in gc.get_stats()]
    keep = [[] for _ in range(500)]
    measured["count_after_500_lists"] = ", ".join(str(c) for c in gc.get_count())
    junk = [[] for _ in range(10_000)]
    after = [s["collections"] for s in gc.get_stats()]
    facts["automatic_collections"] = ",".join(str(a - b) for a, b in zip(after, before))
    del keep, junk
    gc.collect()
    gc.disable()
    for _ in range(10_000):
        a, b = Node(), Node()
        a.peer, b.peer = b, a
    del a, b
    facts["found_in_10000_cycles"] = gc.collect()
    gc.enable()
    return facts


def model(figures):
    return {
        "thresholds": ",".join(str(t) for t in figures["thresholds"]),
        "automatic_collections": ",".join(str(n) for n in figures["automatic_collections"]),
        "found_in_10000_cycles": figures["found"][0],
    }


if __name__ == "__main__":
    main(cpython, model, MODEL_ARGS, figures)
