"""What every lesson twin shares: its command line and its output.

A twin is a small Python program of ours that runs what a lesson models on
a real CPython and says the facts that CPython makes certain, as key=value
lines; it reads the same facts out of the lesson's --json figures, so that
tests/fidelity/compare_twin.sh can put the two side by side.

    python3 TWIN cpython      the facts, from this CPython
    python3 TWIN reference    the facts and the figures a lesson shows
                              beside its own (figure.NAME=...: timings,
                              counts that vary), the slower run of
                              ./workshop reference
    python3 TWIN model-args   the flags the lesson runs with (--json and
                              --python are added by the comparison)
    python3 TWIN can-run      exit 0, or 77 (SKIP) saying why this CPython
                              cannot run the twin
    LESSON --json ... | python3 TWIN model
"""
import json
import os
import sys
import tempfile


def main(cpython, model, model_args, figures=None, can_run=None):
    what = sys.argv[1] if len(sys.argv) == 2 else ""
    if what == "can-run":
        if can_run:
            can_run()  # exits with SKIP, saying why, when it cannot
        return
    if what == "cpython":
        facts = cpython()
    elif what == "reference":
        facts = cpython()
        for key, value in (figures() if figures else {}).items():
            facts[f"figure.{key}"] = value
    elif what == "model":
        facts = model(json.load(sys.stdin))
    elif what == "model-args":
        print(" ".join(model_args))
        return
    else:
        sys.exit("usage: TWIN cpython | reference | model-args | can-run | model < the lesson's --json output")
    for key, value in facts.items():
        print(f"{key}={value}")


SKIP = 77  # a twin's exit status on a CPython that lacks what it needs


def needs(version, what):
    """Exit with SKIP, saying why, on a CPython older than `version`."""
    if sys.version_info < version:
        print(f"skipped: {what} is new in CPython {'.'.join(map(str, version))}")
        sys.exit(SKIP)


def yes(flag):
    return "yes" if flag else "no"


def debug_malloc_stats():
    """What sys._debugmallocstats() prints (to C's stderr, fd 2), as text."""
    with tempfile.TemporaryFile(mode="w+") as captured:
        saved = os.dup(2)
        os.dup2(captured.fileno(), 2)
        try:
            sys._debugmallocstats()
        finally:
            os.dup2(saved, 2)
            os.close(saved)
        captured.seek(0)
        return captured.read()
