#!/usr/bin/env bash
# Time the Go oracle and our release binary on the same cases (every case of
# the golden corpus and of the reference ConnectorClasses that Go renders
# without error, key-generation cases aside) and print Go/ours ratios.
#
#   scripts/bench-vs-go.sh [ITERATIONS]     # default 2000
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
iterations=${1:-2000}
oracle=${GOTMPL_ORACLE:-/tmp/gotmpl-oracle}
oracle_src=${GOTMPL_ORACLE_SRC:-/work/shared/tools/gotmpl-oracle}
golden=$root/crates/go-conformance/golden
untimed="sprig_crypto runes"   # keep in step with corpus::UNTIMED_AREAS

[ -x "$oracle" ] || "$oracle_src/build.sh" "$oracle"
ours=${CARGO_TARGET_DIR:-$root/target}/release/connectors-csi
if ! (cd "$root" && cargo build -q --release -p connectors-csi); then
    # a shared checkout can be mid-edit: time the last good build rather than nothing
    [ -x "$ours" ] || exit 1
    echo "warning: release build failed; timing the existing $ours" >&2
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# successful_cases OUT FILE...: the cases Go renders without error
successful_cases() {
    local out=$1 parts=() cases area part
    shift
    for cases in "$@"; do
        case "$cases" in *.expected.json) continue ;; esac
        area=$(basename "$cases" .json)
        [[ " $untimed " == *" $area "* ]] && continue
        part=$work/part-$area.json
        jq -s '[.[0], .[1]] | transpose | map(select(.[1].error == "") | .[0])' \
            "$cases" "${cases%.json}.expected.json" >"$part"
        parts+=("$part")
    done
    jq -s 'add' "${parts[@]}" >"$out"
}

# compare LABEL CASES: time both on the same cases, print the ratios
compare() {
    local label=$1 cases=$2 go_result our_result
    go_result=$(env -i TZ=UTC "$oracle" -batch "$cases" -bench "$iterations")
    our_result=$("$ours" template --batch "$cases" --bench "$iterations")
    echo "== $label"
    echo "go:   $go_result"
    echo "ours: $our_result"
    jq -rn --argjson go "$go_result" --argjson ours "$our_result" '
      def ratio(k): ($go[k] / ([$ours[k], 1] | max) * 100 | round / 100);
      "cases: \($go.cases), iterations: \($go.iterations)",
      "parse+execute: go \($go.parse_and_execute_ns) ns, ours \($ours.parse_and_execute_ns) ns, go/ours = \(ratio("parse_and_execute_ns"))",
      "execute only:  go \($go.execute_only_ns) ns, ours \($ours.execute_only_ns) ns, go/ours = \(ratio("execute_only_ns"))"'
}

successful_cases "$work/corpus.json" "$golden"/*.json
successful_cases "$work/reference.json" "$golden"/reference/*.json
jq -s 'add' "$work/corpus.json" "$work/reference.json" >"$work/all.json"
compare "corpus + reference classes" "$work/all.json"
compare "reference ConnectorClasses only" "$work/reference.json"
