# Sourced: every CPython on this machine, once each, as "PATH VERSION FULL"
# lines (VERSION as a profile names it: 3.12, 3.13t; FULL: 3.12.1), from
# python3.X and python3.Xt on the PATH, pyenv's versions, and the builds of
# tools/build_cpython (under $PYCONC_CPYTHONS, ~/.local/share/pyconc/cpython
# unless set). A pyenv shim whose version is not active does not run, and is
# said on stderr and left out. With arguments (or $PYCONC_PYTHONS, words
# like "3.14 3.14t"), only the versions named.
cpythons() {
    local -a wanted=("$@")
    ((${#wanted[@]})) || read -ra wanted <<<"${PYCONC_PYTHONS:-}"
    local candidates=() minor version prefix python real
    for minor in $(seq 6 20); do
        python=$(command -v "python3.$minor" 2>/dev/null) && candidates+=("$python")
        python=$(command -v "python3.${minor}t" 2>/dev/null) && candidates+=("$python")
    done
    if command -v pyenv >/dev/null; then
        for version in $(pyenv versions --bare 2>/dev/null); do
            prefix=$(pyenv prefix "$version" 2>/dev/null) || continue
            [[ -x $prefix/bin/python3 ]] && candidates+=("$prefix/bin/python3")
        done
    fi
    for python in "${PYCONC_CPYTHONS:-$HOME/.local/share/pyconc/cpython}"/*/bin/python3; do
        [[ -x $python ]] && candidates+=("$python")
    done
    local -A seen=()
    for python in "${candidates[@]}"; do
        if ! real=$("$python" -c 'import os, sys; print(os.path.realpath(sys.executable))' 2>/dev/null); then
            echo "skipped: $python does not run here" >&2
            continue
        fi
        [[ -n ${seen[$real]:-} ]] && continue
        seen[$real]=1
        "$python" -c 'import sys, sysconfig
t = "t" if sysconfig.get_config_var("Py_GIL_DISABLED") == 1 else ""
version = f"{sys.version_info[0]}.{sys.version_info[1]}{t}"
if len(sys.argv) == 2 or version in sys.argv[2:]:
    print(sys.argv[1], version, sys.version.split()[0])' "$python" "${wanted[@]}"
    done
}
