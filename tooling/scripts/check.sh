#!/usr/bin/env bash
# Every check CI runs: build, lint, typecheck, publish checks of each package, then the whole test suite.
# Ends with one "N passed, N failed" line.
set -uo pipefail
cd "$(dirname "$0")/../.."
report=.turbo/test-report.json
rm -f "$report"
pnpm build && pnpm lint && pnpm typecheck && pnpm check:publish && pnpm test
status=$?
if [ -f "$report" ]; then node tooling/scripts/test-summary.mjs "$report" || status=1; else echo "checks failed before the tests ran"; fi
exit $status
