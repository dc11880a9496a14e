#!/usr/bin/env bash
# g++ 12.2 (Debian 12's compiler) miscompiles a co_await in the condition
# of an if or a while: `if (co_await x) ...` crashes or never resumes (a
# standalone coroutine with one awaiter reproduces it; clang 14 is fine).
# Lessons are where attendees learn the idiom, so no file here may show it:
# bind the result first, `const bool got = co_await lock.acquire(); if (got)`,
# or use an init-statement, `if (bool got = co_await ...; got)`.
#
# Usage: co_await_in_conditions.sh DIR...   (exit 1 and the lines, if any)
set -euo pipefail
# if/while ( ... co_await ... ) where nothing before the co_await is a ';'
# or a lone '=': an init-statement (`if (x = co_await a; x)`) or a
# declaration (`if (T x = co_await a)`, as gtest's EXPECT_* expand) is
# compiled correctly. One level of nested parentheses is looked through.
pattern='\b(if|while)\s*\((?:[^();=<>!]|==|!=|<=|>=|[<>!](?!=)|\([^()]*\))*(?:\([^()=;]*)?\bco_await\b'
found=$(grep -rnP --include='*.cpp' --include='*.hpp' "$pattern" "$@" | grep -vP '^[^:]+:\d+:\s*//' || true)
if [[ -n "$found" ]]; then
    echo "co_await in an if/while condition (g++ 12 miscompiles it; bind the result to a variable first):"
    echo "$found"
    exit 1
fi
echo "no co_await in an if/while condition"
