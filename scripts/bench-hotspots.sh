#!/usr/bin/env bash
# List the golden cases our engine executes slower than Go does (execute
# only, pre-parsed, as the oracle's -bench measures), slowest ratio first.
#
#   scripts/bench-hotspots.sh [ITERATIONS] [AREA...]   # default 2000, every timed area
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
iterations=${1:-2000}
shift || true
oracle=${GOTMPL_ORACLE:-/tmp/gotmpl-oracle}
ours=${CARGO_TARGET_DIR:-$root/target}/release/connectors-csi
golden=$root/crates/go-conformance/golden
[ -x "$ours" ] || (cd "$root" && cargo build -q --release -p connectors-csi)

areas=("$@")
if [ ${#areas[@]} -eq 0 ]; then
    for f in "$golden"/*.json "$golden"/reference/*.json; do
        case "$f" in *.expected.json | */sprig_crypto.json) continue ;; esac
        areas+=("${f#"$golden"/}")
    done
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
for area in "${areas[@]}"; do
    cases=$golden/${area%.json}.json
    jq -c '[.[0], .[1]] | transpose | map(select(.[1].error == "") | .[0]) | .[]' -s \
        "$cases" "${cases%.json}.expected.json" |
        while IFS= read -r case_json; do
            echo "[$case_json]" >"$work/one.json"
            go_ns=$(env -i TZ=UTC "$oracle" -batch "$work/one.json" -bench "$iterations" | jq .execute_only_ns)
            our_ns=$("$ours" template --batch "$work/one.json" --bench "$iterations" | jq .execute_only_ns)
            if [ "$our_ns" -gt "$go_ns" ]; then
                printf '%s\t%s\t%s\t%s\n' "$(jq -rn --argjson o "$our_ns" --argjson g "$go_ns" '$o / ([$g,1]|max) * 100 | round / 100')" \
                    "$go_ns" "$our_ns" "$(jq -r .name <<<"$case_json")"
            fi
        done
done | sort -rn | awk -F'\t' 'BEGIN { print "ours/go\tgo_ns\tours_ns\tcase" } { print }'
