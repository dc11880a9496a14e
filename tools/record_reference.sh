#!/usr/bin/env bash
# ./workshop reference: every lesson's Python twin (tests/fidelity/twins/)
# run on every CPython on this machine, what each printed stored as
#
#   reference/recorded/LESSON/VERSION.txt
#
# with where and when it was measured, for the lessons to show beside their
# own figures (Lesson::recorded_cpython). Runs one at a time, so that the
# timings are not each other's load; a twin that fails is said and skipped.
#
#   ./workshop reference [VERSION...]    (3.14 3.14t: only those)
set -uo pipefail
cd "$(dirname "$0")/.."
source tests/fidelity/cpythons.sh
out=reference/recorded
machine="$(uname -m), $(nproc) cores, $(hostname)"
when=$(date -u +%Y-%m-%d)
recorded=0
while read -r python version full <&3; do
    for twin in tests/fidelity/twins/*.py; do
        lesson=$(basename "$twin" .py)
        [[ $lesson == twin ]] && continue
        printf 'recording %-24s on CPython %-8s ... ' "$lesson" "$full"
        printed=$("$python" "$twin" reference 2>&1 </dev/null)
        case $? in
        0) ;;
        77) echo "$printed"; continue ;;  # twin.py's needs(): too old for this twin
        *) echo "failed: $(tail -n 1 <<<"$printed")"; continue ;;
        esac
        mkdir -p "$out/$lesson"
        {
            echo "cpython=$full"
            echo "recorded=$when"
            echo "machine=$machine"
            echo "$printed"
        } >"$out/$lesson/$version.txt"
        recorded=$((recorded + 1))
        echo "done"
    done
done 3< <(cpythons "$@")
((recorded)) || { echo "reference: no CPython found on the PATH or in pyenv: nothing recorded" >&2; exit 1; }
echo "reference: $recorded runs recorded in $out/"
