#!/usr/bin/env bash
# The tour stopping a lesson that runs under a time limit (the lesson is
# then in a process group of its own, with its pool workers):
#
#   tour_stops_a_lesson.sh TOUR LESSON limit SECONDS
#       the limit passes: the tour stops the lesson and its workers, names
#       it in one line, goes on, and exits 1
#   tour_stops_a_lesson.sh TOUR LESSON ctrl-c SECONDS
#       Ctrl-C reaches the tour after SECONDS (a terminal signals only the
#       tour's group): the tour passes it on, the lesson stops with its
#       workers, and the tour stops with exit 130
#
# Either way no process of the lesson may be left. LESSON must still be
# running, with worker processes, just before SECONDS.
set -uo pipefail
tour=$1 lesson=$2 how=$3 seconds=$4
out=$(mktemp)
trap 'rm -f "$out"' EXIT

case "$how" in
    limit) limit=$seconds expected_status=1
           expected_line="tour: $lesson was still running after $seconds s: stopped, with its processes" ;;
    ctrl-c) limit=60 expected_status=130 expected_line="tour stopped (Ctrl-C)" ;;
    *) echo "tour_stops_a_lesson.sh: '$how' is not accepted: expected limit or ctrl-c" >&2; exit 2 ;;
esac

"$tour" --only "$lesson" --python 3.12 --time-limit "$limit" >"$out" 2>&1 &
tour_pid=$!
# The lesson (the tour's child) and its workers (the lesson's children),
# looked at just before SECONDS.
sleep "$(awk -v s="$seconds" 'BEGIN { print s - 0.3 }')"
lesson_pid=$(pgrep -P "$tour_pid" | head -n 1)
workers=""
[[ -n $lesson_pid ]] && workers=$(pgrep -P "$lesson_pid" | tr '\n' ' ')
if [[ $how == ctrl-c ]]; then
    sleep 0.3
    kill -INT "$tour_pid"  # what a terminal's Ctrl-C sends to the tour
fi
wait "$tour_pid"
status=$?
sleep 0.2

problems=0
[[ $status == "$expected_status" ]] || { echo "exit status $status, expected $expected_status"; problems=1; }
grep -qF "$expected_line" "$out" || { echo "no line: $expected_line"; problems=1; }
[[ -n $lesson_pid ]] || { echo "the lesson was not running at $seconds s"; problems=1; }
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
echo "$how at $seconds s: $lesson (pid $lesson_pid) and its workers (${workers:-none seen}) stopped, exit $status"
