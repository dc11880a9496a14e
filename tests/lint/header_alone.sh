#!/usr/bin/env bash
# One header, alone: a file that includes it (twice) and nothing else must
# compile and link. -fkeep-inline-functions emits every inline function the
# header defines, so one that calls a function defined in a header it does
# not include fails here, at link time, as a user's program would. (clang
# ignores the flag: under it the test proves that the header compiles alone.)
#
# Usage: header_alone.sh CXX INCLUDE_DIR HEADER [COMPILER AND LINKER FLAGS...]
set -euo pipefail
cxx=${1:?usage: header_alone.sh CXX INCLUDE_DIR HEADER [FLAGS...]}
include_dir=${2:?}
header=${3:?}
shift 3
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
printf '#include "%s"\n#include "%s"  // its include guard holds\nint main() {}\n' "$header" "$header" >"$work/alone.cpp"
if ! output=$("$cxx" -std=c++20 -O0 -fkeep-inline-functions -I"$include_dir" "$work/alone.cpp" -o "$work/alone" "$@" 2>&1); then
    echo "$header does not compile and link on its own:"
    echo "$output" | grep -E "error|undefined reference" | head -5
    exit 1
fi
echo "$header compiles and links on its own"
