#!/usr/bin/env bash
# Every CPython on this machine (python3.X on PATH, pyenv's versions) against
# pyconc's profile for its version: the facts each reports
# (tests/fidelity/profile_facts.py) must be the profile's
# (profile_facts, from runtime/profile.hpp). A version with no profile is
# skipped and said; a fact the interpreter does not report ("?") is not
# compared. With no CPython at all the test is skipped (exit 77).
#
# Usage: compare_profiles.sh PROFILE_FACTS PROFILE_FACTS_PY
set -uo pipefail
printer=${1:?usage: compare_profiles.sh PROFILE_FACTS PROFILE_FACTS_PY}
script=${2:?}

source "$(dirname "$0")/cpythons.sh"

status=0 compared=0 found=0
while read -r python _ full <&3; do
    found=$((found + 1))
    if ! cpython=$("$python" "$script" 2>&1); then
        echo "$python: the facts script failed: $cpython"
        status=1
        continue
    fi
    version=$(sed -n 's/^version=//p' <<<"$cpython")
    if ! model=$("$printer" "$version" 2>/dev/null); then
        echo "skipped: CPython $full ($python): no profile for $version"
        continue
    fi
    compared=$((compared + 1))
    mismatches=""
    while IFS='=' read -r key value; do
        expected=$(sed -n "s/^$key=//p" <<<"$model")
        [[ $value == "?" || $value == "$expected" ]] || mismatches+=" $key: CPython $value, profile $expected;"
    done <<<"$cpython"
    if [[ -n $mismatches ]]; then
        echo "MISMATCH CPython $full ($python) against profile $version:$mismatches"
        status=1
    else
        echo "match: CPython $full against profile $version ($(grep -v '^version=' <<<"$cpython" | tr '\n' ' '))"
    fi
done 3< <(cpythons)
((found)) || { echo "no CPython found on PATH or in pyenv: skipped"; exit 77; }
((compared)) || { echo "no installed CPython has a profile: skipped"; exit 77; }
exit $status
