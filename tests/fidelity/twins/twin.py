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
    LESSON --json ... | python3 TWIN model [LESSON ARGS...]

Facts that rest on timing (a convoy, a heartbeat's gaps, cores kept busy:
`Timed`) are decided from repeated trials on both sides, never from one
run. A side's value is the one its first three fresh trials all gave, or
else the one four of five gave; a trial that did not get the cores
it needed (other processes took them: /proc/stat; or the twin's own check,
a "starved" fact) is not counted and another is run, six in all at most,
three when the first three were all starved.
A side that cannot decide says "inconclusive" with its tally, and the
comparison skips that fact instead of calling it a mismatch. Why these
numbers: what makes a trial wrong is other work on the cores. CPython
3.12's 1 ms convoy (03) here: 200 of 200 trials right idle, 200 of 200
beside a busy loop on one of the two cores, 39 of 100 beside one on each,
and those trials are starved by the rule above (other work kept about 2 of
2 cores busy). Were a fresh trial still wrong 1 time in 6, as one whole run
of the old test was, noise would decide a wrong value in 0.5% of
comparisons (p^3 + 3p^4(1-p)); at 1 in 50, in 1 in 100,000. A real
difference gives the other value in every fresh trial, and fails every
time. The model's trials run the lesson again with the same flags (the
arguments after `model`).
"""
import collections
import json
import os
import subprocess
import sys
import tempfile
import time


def main(cpython, model, model_args, figures=None, can_run=None, timed=None, with_the_gil=False):
    """`with_the_gil`: the lesson models a free-threaded build as PYTHON_GIL=1
    runs it (Lesson::python_with_the_gil), so on such a build the twin runs
    CPython that way too: it starts itself again with PYTHON_GIL=1."""
    if with_the_gil and not getattr(sys, "_is_gil_enabled", lambda: True)():
        os.execve(sys.executable, [sys.executable, *sys.argv], {**os.environ, "PYTHON_GIL": "1"})
    what = sys.argv[1] if len(sys.argv) >= 2 else ""
    if what == "can-run":
        if can_run:
            can_run()  # exits with SKIP, saying why, when it cannot
        return
    if what == "cpython":
        facts = decide(cpython, timed)
    elif what == "reference":
        facts = decide(cpython, timed)
        for key, value in (figures() if figures else {}).items():
            facts[f"figure.{key}"] = value
    elif what == "model":
        facts = decide(lesson_trials(model, json.load(sys.stdin), sys.argv[2:], timed), timed)
    elif what == "model-args":
        print(" ".join(model_args))
        return
    else:
        sys.exit("usage: TWIN cpython | reference | model-args | can-run | model [LESSON ARGS...] < the lesson's --json output")
    for key, value in facts.items():
        print(f"{key}={value}")


class Timed:
    """The facts of a twin that rest on timing, and how many cores a trial
    needs free of other work for them (a heartbeat beside a GIL-bound hog
    needs one; a race between threads running at once without a GIL, two)."""

    def __init__(self, facts, cores_needed, lesson_busy_starves=True):
        self.facts = list(facts)
        self.cores_needed = cores_needed
        # Whether the lesson's own machine-busy verdict starves a model
        # trial: not where that verdict is about other figures than these.
        self.lesson_busy_starves = lesson_busy_starves


FIRST_TRIALS = 3  # all three agree: decided
MOST_TRIALS = 5   # else four against one
ATTEMPTS = 6      # trials run at most, starved ones included
# A side whose first three trials were all starved stops there: the machine
# is busy now, and three more would take the time of a decision for the
# same "inconclusive" (06 beside a loaded machine ran past its 300 s so).


def decide(trial, timed):
    """Runs trial() (its facts, with "starved" saying why when it was) as
    often as the rule in this module's docstring needs; returns the facts,
    each timed one decided or "inconclusive", with its tally as tally.FACT."""
    if timed is None:
        facts = trial()
        facts.pop("starved", None)  # one run decides facts that rest on no timing
        return facts
    fresh, starved, first = [], [], None
    for _ in range(ATTEMPTS):
        cores = CpuWatch()
        with cores:
            facts = trial()
        why = facts.pop("starved", None) or cores.starved(timed.cores_needed)
        first = first or facts
        if why:
            starved.append(why)
            if len(starved) == FIRST_TRIALS and not fresh:
                break
            continue
        fresh.append(facts)
        if len(fresh) == MOST_TRIALS or (len(fresh) == FIRST_TRIALS and unanimous(fresh, timed.facts)):
            break
    decided = dict(fresh[0] if fresh else first)
    for fact in timed.facts:
        votes = collections.Counter(trial[fact] for trial in fresh)
        value, count = votes.most_common(1)[0] if votes else ("", 0)
        others = len(fresh) - count
        enough = (others == 0 and count >= FIRST_TRIALS) or (others == 1 and count >= MOST_TRIALS - 1)
        decided[fact] = value if enough else "inconclusive"
        tally = ", ".join(f"{v} {n}" for v, n in votes.most_common()) or "none fresh"
        decided[f"tally.{fact}"] = tally + (f"; {len(starved)} starved: {starved[0]}" if starved else "")
    return decided


def unanimous(trials, facts):
    return all(len({trial[fact] for trial in trials}) == 1 for fact in facts)


def lesson_trials(model, first, lesson, timed):
    """The model's trials: the lesson's --json figures. Without timed facts,
    the comparison's own run of the lesson (read from stdin) is the one
    trial; with them, every trial runs LESSON ARGS afresh, so that each is
    watched for starvation, and one whose verdict is machine-busy (the
    lesson's own check) is starved too, unless the twin says that verdict
    is about other figures."""
    if timed is None:
        return lambda: model(first)
    if not lesson:
        sys.exit("twin.py model: a twin with timed facts needs the lesson's command line after 'model'")

    def trial():
        figures = json.loads(subprocess.run(lesson, check=True, capture_output=True, text=True).stdout)
        facts = model(figures)
        if timed.lesson_busy_starves and figures.get("verdict") == "machine-busy":
            facts["starved"] = f"the lesson said machine-busy: {figures.get('why', '')}"
        return facts

    return trial


class CpuWatch:
    """Whether a trial got the cores it needed: the CPU time every process
    took meanwhile (/proc/stat's busy columns) less this one's and its
    children's, over the wall time, is the cores other work kept busy; a
    trial that needed k of n cores is starved when others kept more than
    n - k + 1/4 of them busy. Without /proc/stat, or for a trial shorter
    than /proc/stat can time, no trial is starved."""

    SLACK = 0.25
    SHORTEST = 0.05  # seconds: /proc/stat counts in 10 ms ticks, too coarse for a shorter trial

    def __enter__(self):
        self.started = self.now()
        return self

    def __exit__(self, *exc):
        self.ended = self.now()
        return False

    @staticmethod
    def now():
        own = os.times()
        return time.perf_counter(), machine_busy_seconds(), own.user + own.system + own.children_user + own.children_system

    def starved(self, cores_needed):
        (wall0, machine0, own0), (wall1, machine1, own1) = self.started, self.ended
        if machine0 is None or machine1 is None or wall1 - wall0 < self.SHORTEST:
            return None
        others = max(0.0, (machine1 - machine0) - (own1 - own0)) / (wall1 - wall0)
        cores = len(os.sched_getaffinity(0))
        if others > cores - cores_needed + self.SLACK:
            return f"other work kept {others:.1f} of {cores} cores busy; the trial needed {cores_needed}"
        return None


def machine_busy_seconds():
    """The CPU seconds every process has used since boot (all but idle and iowait), or None."""
    try:
        with open("/proc/stat") as stat:
            ticks = [int(t) for t in stat.readline().split()[1:9]]
    except (OSError, ValueError):
        return None
    user, nice, system, _idle, _iowait, irq, softirq, steal = ticks
    return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")


class Figure:
    """A figure a lesson prints beside CPython's, for ./workshop figures
    (tools/figures): `model` reads it from the lesson's --json at its
    defaults, `recorded` names CPython's in reference/recorded/, and the
    model's over CPython's must stay within [low, high] for the lesson's
    claim to hold, for the reason `why`. No band (None): shown, not judged.
    Two figures both below `floor` are in the band: at that size the claim
    is that neither side has the effect, and their ratio is noise."""

    def __init__(self, name, model, recorded, low=None, high=None, why="", floor=None):
        self.name, self.model, self.recorded = name, model, recorded
        self.low, self.high, self.why, self.floor = low, high, why, floor


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
