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

interpreters=()
for minor in $(seq 6 20); do
    path=$(command -v "python3.$minor" 2>/dev/null) && interpreters+=("$path")
done
if command -v pyenv >/dev/null; then
    for version in $(pyenv versions --bare 2>/dev/null); do
        prefix=$(pyenv prefix "$version" 2>/dev/null) || continue
        [[ -x $prefix/bin/python3 ]] && interpreters+=("$prefix/bin/python3")
    done
fi
((${#interpreters[@]})) || { echo "no CPython found on PATH or in pyenv: skipped"; exit 77; }

status=0 compared=0
declare -A seen
for python in "${interpreters[@]}"; do
    # One line per interpreter however it was found (a pyenv shim and its
    # version are one); a shim whose version is not active does not run.
    if ! real=$("$python" -c 'import os, sys; print(os.path.realpath(sys.executable))' 2>/dev/null); then
        echo "skipped: $python does not run here"
        continue
    fi
    [[ -n ${seen[$real]:-} ]] && continue
    seen[$real]=1
    if ! cpython=$("$python" "$script" 2>&1); then
        echo "$python: the facts script failed: $cpython"
        status=1
        continue
    fi
    version=$(sed -n 's/^version=//p' <<<"$cpython")
    full=$("$python" -c 'import sys; print(sys.version.split()[0])')
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
done
((compared)) || { echo "no installed CPython has a profile: skipped"; exit 77; }
exit $status
