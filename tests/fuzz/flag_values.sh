#!/usr/bin/env bash
# Every flag that takes a value, of every lesson given, with values no flag
# accepts (not a number, infinities, huge, unicode digits, words, empty, a
# newline): each run must print exactly one line on stderr, nothing on
# stdout, exit 2, and be done within a second. Each flag gets PER_FLAG of
# the values (default 6), a different run of them for each flag, so that
# every value meets many flags and the whole stays quick.
#
#   tests/fuzz/flag_values.sh LESSON_BINARY...
#
# The flags are read from each lesson's --help, so a new flag is fuzzed
# without editing this file. FILE flags (--svg) are left out: most strings
# are file names a lesson may write.
set -uo pipefail

values=(nan NaN -nan inf -inf 1e999 -1e999 99999999999999999999999 -99999999999999999999999
        "" " 5" "5 " 0x10 1,000 ½ ٣ 五 "é" "--" "-" "1e" "++1" "5ms" $'1\n2')
per_flag=${PER_FLAG:-6}
failures=0
runs=0
turn=0
for lesson in "$@"; do
    name=$(basename "$lesson")
    mapfile -t flags < <("$lesson" --help | grep -v ':FILE' |
        sed -nE 's/^  (--[a-z-]+) (INT|UINT|FLOAT|TEXT|K|N|VERDICT)\b.*/\1/p')
    ((${#flags[@]})) || { echo "$name: no flags with values found in --help"; failures=$((failures + 1)); }
    for flag in "${flags[@]}"; do
        for ((k = 0; k < per_flag; k++)); do
            value=${values[$(((turn + k) % ${#values[@]}))]}
            runs=$((runs + 1))
            out=$(mktemp) err=$(mktemp)
            timeout 1 "$lesson" "$flag" "$value" >"$out" 2>"$err"
            status=$?
            lines=$(wc -l <"$err")
            if ((status != 2)) || [[ -s $out ]] || ((lines != 1)); then
                printf '%s %s %q: exit %d, %d line(s) on stderr, %d byte(s) on stdout\n' \
                    "$name" "$flag" "$value" "$status" "$lines" "$(wc -c <"$out")"
                sed 's/^/    stderr: /' "$err" | head -n 3
                failures=$((failures + 1))
            fi
            rm -f "$out" "$err"
        done
        turn=$((turn + per_flag))
    done
done
echo "$runs runs, $failures failure(s)"
((failures == 0))
