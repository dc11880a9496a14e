#!/usr/bin/env bash
# A lesson still running at the tour's time limit: the tour must stop it
# together with the processes it started (its pool workers), name it in one
# line, go on, and exit 1.
#
#   tests/failures/tour_time_limit.sh TOUR LESSON SECONDS
#
# LESSON must still be running, with worker processes, after SECONDS.
set -uo pipefail
tour=$1 lesson=$2 seconds=$3
out=$(mktemp)
trap 'rm -f "$out"' EXIT

"$tour" --only "$lesson" --time-limit "$seconds" >"$out" 2>&1 &
tour_pid=$!
# The lesson (the tour's child) and its workers (the lesson's children),
# looked at just before the limit.
sleep "$(awk -v s="$seconds" 'BEGIN { print s - 0.3 }')"
lesson_pid=$(pgrep -P "$tour_pid" | head -n 1)
workers=""
[[ -n $lesson_pid ]] && workers=$(pgrep -P "$lesson_pid" | tr '\n' ' ')
wait "$tour_pid"
status=$?

problems=0
[[ $status == 1 ]] || { echo "exit status $status, expected 1"; problems=1; }
grep -q "tour: $lesson was still running after $seconds s: stopped, with its processes" "$out" ||
    { echo "no line naming $lesson as stopped"; problems=1; }
[[ -n $lesson_pid ]] || { echo "the lesson was not running before the limit"; problems=1; }
for pid in $lesson_pid $workers; do
    if kill -0 "$pid" 2>/dev/null && ! grep -q zombie /proc/"$pid"/status 2>/dev/null; then
        echo "process $pid ($(tr '\0' ' ' </proc/"$pid"/cmdline)) is still running"
        problems=1
    fi
done
if ((problems)); then
    echo "--- tour output ---"
    cat "$out"
    exit 1
fi
echo "tour stopped $lesson (pid $lesson_pid) and its workers (${workers:-none seen}) at $seconds s, exit 1"
