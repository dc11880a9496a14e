#!/usr/bin/env bash
# A lesson against its Python twin (tests/fidelity/twins/) on every CPython
# here: the twin's facts from CPython, the same facts from the lesson run
# under that version's profile (--python), one line per fact:
#
#   LESSON  VERSION  FACT  model=...  cpython=...  match|MISMATCH
#
# A version with no profile is skipped and said, and so is one the twin
# cannot run on (its exit 77: too old for what it shows); with no CPython
# compared at all the test is skipped (exit 77). A fact that rests on
# timing is decided from repeated trials on each side (twin.py says how),
# and its tally is shown; one that a side could not decide (the machine
# was too busy) is inconclusive, and the test is skipped with the reason
# unless another fact mismatched. Exit 1 on any mismatch.
#
# Usage: compare_twin.sh LESSON_EXECUTABLE TWIN.py
set -uo pipefail
lesson=${1:?usage: compare_twin.sh LESSON_EXECUTABLE TWIN.py}
twin=${2:?}
name=$(basename "$lesson")
source "$(dirname "$0")/cpythons.sh"

status=0 compared=0 inconclusive=0
while read -r python version full <&3; do
    if ! model_args=$("$python" "$twin" model-args 2>&1); then
        echo "$name: the twin failed on CPython $full: $model_args"
        status=1
        continue
    fi
    # A twin that cannot run on this CPython (twin.py's can-run: exit 77,
    # saying why) is skipped before the lesson runs for nothing.
    why=$("$python" "$twin" can-run 2>&1)
    case $? in
    0) ;;
    77) echo "$why: CPython $full"; continue ;;
    *) echo "$name: the twin failed on CPython $full: $why"; status=1; continue ;;
    esac
    # shellcheck disable=SC2086  # the twin's flags, one word each
    if ! figures=$("$lesson" --python "$version" --json $model_args 2>&1); then
        if grep -q "^--python: '$version' is not accepted" <<<"$figures"; then
            echo "skipped: CPython $full ($python): no profile for $version"
        else
            echo "$name --python $version failed: $figures"
            status=1
        fi
        continue
    fi
    cpython=$("$python" "$twin" cpython 2>&1)
    case $? in
    0) ;;
    77) echo "$cpython: CPython $full"; continue ;;  # twin.py's needs(): too old for what it runs
    *) echo "$name: the twin failed on CPython $full: $cpython"; status=1; continue ;;
    esac
    # shellcheck disable=SC2086  # the same command line again, for the model's trials
    if ! model=$("$python" "$twin" model "$lesson" --python "$version" --json $model_args <<<"$figures" 2>&1); then
        echo "$name: the twin failed on CPython $full: $model"
        status=1
        continue
    fi
    compared=$((compared + 1))
    while IFS='=' read -r key value; do
        [[ $key == figure.* || $key == tally.* ]] && continue  # shown, not compared
        expected=$(sed -n "s/^$key=//p" <<<"$model")
        verdict=match
        if [[ $value == inconclusive || $expected == inconclusive ]]; then
            verdict=inconclusive
            inconclusive=$((inconclusive + 1))
        elif [[ $value != "$expected" ]]; then
            verdict=MISMATCH
            status=1
        fi
        printf '%-20s %-6s %-24s model=%-12s cpython=%-12s %s (CPython %s)\n' \
            "$name" "$version" "$key" "$expected" "$value" "$verdict" "$full"
        model_tally=$(sed -n "s/^tally\.$key=//p" <<<"$model")
        cpython_tally=$(sed -n "s/^tally\.$key=//p" <<<"$cpython")
        [[ -n $model_tally$cpython_tally ]] && printf '%-52s trials: model %s | cpython %s\n' "" "$model_tally" "$cpython_tally"
    done <<<"$cpython"
done 3< <(cpythons)
((compared)) || { echo "no CPython here could be compared: skipped"; exit 77; }
if ((status == 0 && inconclusive)); then
    echo "skipped: $inconclusive fact(s) inconclusive: the machine was too busy for the trials (see above), none mismatched"
    exit 77
fi
exit $status
