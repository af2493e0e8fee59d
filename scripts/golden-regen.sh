#!/usr/bin/env bash
# Regenerate the expected outputs of the golden corpus with the Go oracle
# (Go text/template + sprig), and the reference ConnectorClass cases.
#
#   scripts/golden-regen.sh            # oracle at $GOTMPL_ORACLE or /tmp/gotmpl-oracle (built if missing)
#
# The oracle runs with an empty environment and TZ=UTC: the driver's `env`
# and `expandenv` see an empty environment, and dates format in UTC.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
oracle=${GOTMPL_ORACLE:-/tmp/gotmpl-oracle}
oracle_src=${GOTMPL_ORACLE_SRC:-/work/shared/tools/gotmpl-oracle}
classes=${REFERENCE_CLASSES:-/work/shared/reference/connectorclasses}
golden=$root/crates/go-conformance/golden

if [ ! -x "$oracle" ]; then
    "$oracle_src/build.sh" "$oracle"
fi

if compgen -G "$classes/*.yaml" >/dev/null; then
    python3 "$root/scripts/reference-cases.py" "$golden/reference/connectorclasses.json" "$classes"/*.yaml
else
    echo "no ConnectorClass manifests under $classes: keeping the committed reference cases" >&2
fi

# Inputs at every boundary of the rune tables the engine takes from Go.
python3 "$root/crates/go-conformance/gen/runes.py"

count=0
for cases in "$golden"/*.json "$golden"/reference/*.json; do
    case "$cases" in *.expected.json) continue ;; esac
    expected=${cases%.json}.expected.json
    env -i TZ=UTC "$oracle" -batch "$cases" >"$expected.tmp"
    mv "$expected.tmp" "$expected"
    count=$((count + $(jq length "$cases")))
done
echo "regenerated expectations for $count cases under $golden"
