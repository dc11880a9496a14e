#!/usr/bin/env bash
# Ctrl-C while the tour runs a lesson under a time limit (the lesson is then
# in a process group of its own, which a terminal does not signal): the tour
# must pass it on, the lesson stop with its workers, and the tour stop with
# exit 130.
#
#   tests/failures/tour_ctrl_c.sh TOUR LESSON
#
# LESSON must still be running, with worker processes, after 0.8 s.
set -uo pipefail
tour=$1 lesson=$2
out=$(mktemp)
trap 'rm -f "$out"' EXIT

"$tour" --only "$lesson" --time-limit 60 >"$out" 2>&1 &
tour_pid=$!
sleep 0.8
lesson_pid=$(pgrep -P "$tour_pid" | head -n 1)
workers=""
[[ -n $lesson_pid ]] && workers=$(pgrep -P "$lesson_pid" | tr '\n' ' ')
kill -INT "$tour_pid"  # what a terminal's Ctrl-C sends to the tour
wait "$tour_pid"
status=$?
sleep 0.2

problems=0
[[ $status == 130 ]] || { echo "exit status $status, expected 130"; problems=1; }
grep -q "tour stopped (Ctrl-C)" "$out" || { echo "the tour did not say it stopped"; problems=1; }
[[ -n $lesson_pid ]] || { echo "the lesson was not running at the Ctrl-C"; problems=1; }
for pid in $lesson_pid $workers; do
    if kill -0 "$pid" 2>/dev/null && ! grep -q zombie /proc/"$pid"/status 2>/dev/null; then
        echo "process $pid is still running"
        problems=1
    fi
done
if ((problems)); then
    echo "--- tour output ---"
    cat "$out"
    exit 1
fi
echo "Ctrl-C reached $lesson (pid $lesson_pid) and its workers (${workers:-none seen}); the tour stopped, exit 130"
