#!/usr/bin/env bash
# Includes run one way, as CPython's modules import: the runtime at the
# bottom (runtime/, Python's machinery and built-in exceptions), then
# multiprocessing, concurrent.futures (which stands on multiprocessing, as
# concurrent.futures.process does), asyncio (which bridges to both), and
# the lesson chrome on top. A header that includes one from a layer above
# its own fails this test.
#
# Usage: include_layers.sh INCLUDE_DIR   (the folder that holds pyconc/)
set -euo pipefail
root=${1:?usage: include_layers.sh INCLUDE_DIR}/pyconc
# layer: the layers above it, which it must not include
rules=(
    "runtime:multiprocessing concurrent asyncio lesson threading"
    "multiprocessing:concurrent asyncio lesson"
    "concurrent:asyncio lesson"
    "asyncio:lesson"
)
status=0
for rule in "${rules[@]}"; do
    layer=${rule%%:*}
    for above in ${rule#*:}; do
        if hits=$(grep -rnE "#include [<\"]pyconc/${above}[/.]" "$root/$layer"); then
            echo "pyconc/$layer includes pyconc/$above, a layer above it:"
            echo "$hits"
            status=1
        fi
    done
done
((status == 0)) && echo "includes run one way: runtime < multiprocessing < concurrent < asyncio < lesson"
exit $status
