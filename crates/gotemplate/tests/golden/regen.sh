#!/bin/sh
# Regenerates builtins.json (expected outputs) from the Go oracle.
set -e
cd "$(dirname "$0")"
python3 gen_cases.py
/tmp/gotmpl-oracle -batch cases.json > results.json
python3 - <<'PY'
import json
cases = json.load(open("cases.json"))
res = json.load(open("results.json"))
shared = cases[0]["data"]
out = []
for c, r in zip(cases, res):
    assert c["name"] == r["name"]
    case = {"name": c["name"], "template": c["template"]}
    if c["data"] != shared:
        case["data"] = c["data"]
    case.update({"output": r["output"], "error": r["error"]})
    out.append(case)
json.dump({"shared_data": shared, "cases": out}, open("builtins.json", "w"), indent=1, ensure_ascii=False)
PY
rm -f results.json cases.json
