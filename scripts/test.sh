#!/usr/bin/env bash
# The whole test suite, as CI runs it: typecheck, bring the real stack up (Kafka, QuestDB,
# PostgreSQL), run every *.test.ts with node's test runner, stop what this script started.
# Usage: ./novacron test [test files...]   (default: all)
set -uo pipefail
cd "$(dirname "$0")/.."

cli() { node --import tsx cli/main.ts "$@"; }

echo "== typecheck (tsc --noEmit)"
npx tsc -p . || exit 1

# Leave a stack that was already up as we found it; stop one we had to start.
if cli stack status >/dev/null 2>&1; then started_here=0; else started_here=1; fi
echo "== stack up"
cli stack up || exit 1
cleanup() { if [ "$started_here" = 1 ]; then echo "== stack down"; cli stack down; fi; }
trap cleanup EXIT

if [ "$#" -gt 0 ]; then files=("$@"); else
  mapfile -t files < <(find . -name '*.test.ts' -not -path './node_modules/*' -not -path './.novacron/*' | sort)
fi
echo "== node --test (${#files[@]} files)"
# One file at a time: the suites share two cores with Kafka and QuestDB.
node --import tsx --test --test-concurrency=1 --test-timeout=600000 --test-force-exit --test-reporter=spec "${files[@]}"
