#!/usr/bin/env bash
# Run the golden conformance test and write its summary and every mismatch to
# a file (default /work/team/mismatches.txt), whatever the test's verdict.
set -uo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
report=${1:-/work/team/mismatches.txt}
cd "$root"
GO_CONFORMANCE_REPORT=$report cargo test -q -p go-conformance --test golden >/dev/null 2>&1
status=$?
head -n 1 "$report"
exit $status
