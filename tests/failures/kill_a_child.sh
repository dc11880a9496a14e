#!/usr/bin/env bash
# A pool worker killed while a lesson runs: the lesson must say so in one
# line (CPython's "terminated abruptly", with the worker's pid), exit 3, keep
# what it printed before, and leave no child behind.
#
#   [KEPT=REGEX] tests/failures/kill_a_pool_worker.sh LESSON_BINARY [FLAGS...]
#
# KEPT: what the lesson prints before its pool runs, which must still be in
# its output after the kill.
# It starts the lesson, waits for its first child named NAME (a regex;
# default pool-worker, a pool's worker however it was started; a Process's
# child is named after it, Process-1 ...), kills it with SIGKILL, and checks.
# FORKSERVER=1: the worker is a child of the lesson's fork server.
set -uo pipefail
lesson=$1
shift
out=$(mktemp) err=$(mktemp)
trap 'rm -f "$out" "$err"' EXIT

"$lesson" "$@" >"$out" 2>"$err" &
pid=$!
worker=""
for _ in $(seq 1 6000); do  # up to 60 s for the child to start
    parent=$pid
    [[ -n ${FORKSERVER:-} ]] && parent=$(pgrep -P "$pid" -f -- "--pyconc-spawn forkserver" | head -n 1)
    [[ -n $parent ]] && worker=$(pgrep -P "$parent" -x -- "${NAME:-pool-worker}" | head -n 1)
    [[ -n $worker ]] && break
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.01
done
[[ -n $worker ]] || { echo "no such child appeared"; kill "$pid" 2>/dev/null; exit 1; }
kill -9 "$worker"
wait "$pid"
status=$?

failed=0
check() { echo "$1"; failed=1; }
((status == 3)) || check "exit $status, expected 3"
[[ $(wc -l <"$err") -eq 1 ]] || check "stderr has $(wc -l <"$err") lines, expected 1"
says=${SAYS:-terminated abruptly.*\(worker pid @PID@\)}
grep -qE "${says//@PID@/$worker}" "$err" || check "stderr does not say ${says//@PID@/$worker}"
[[ -z ${KEPT:-} ]] || grep -qE "$KEPT" "$out" || check "what the lesson printed before ($KEPT) was lost"
sleep 0.2
[[ -z $(pgrep -P "$pid") ]] || check "children left behind: $(pgrep -P "$pid" | tr '\n' ' ')"
if ((failed)); then
    echo "--- stderr"; cat "$err"; echo "--- stdout"; cat "$out"
    exit 1
fi
echo "killed child $worker: $(cat "$err")"
