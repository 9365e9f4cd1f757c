#!/usr/bin/env bash
# `phigate capacity` end to end: both shipped profiles, briefly, on one lcore; the four outputs
# exist, the SVGs parse as XML, results.json carries a positive throughput and the sizing; bad
# usage exits 1 naming the problem.
set -u
phigate=$1 root=$2
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
pass=0 fail=0
check() { if "$@"; then pass=$((pass+1)); else fail=$((fail+1)); echo "FAIL: $*" >&2; fi; }

for p in chat-streaming batch-json; do
  out="$work/$p"
  "$phigate" capacity --profile "$root/configs/capacity/$p.json" --target-gbps 10 --seconds 0.3 --lcores 1 \
    --out "$out" > "$work/stdout" 2> "$work/stderr"
  check test $? -eq 0
  check grep -q "report: $out/report.md" "$work/stdout"
  check grep -q "point 1/1 (1 lcore): measuring" "$work/stderr"       # progress shown
  for f in report.md throughput.svg latency-cdf.svg results.json; do check test -s "$out/$f"; done
  check grep -q "^# phigate capacity: $p" "$out/report.md"
  check grep -q "appliances" "$out/report.md"
  check grep -q "Scaling is limited on this machine\|more CPUs than the largest" "$out/report.md"
  for svg in throughput latency-cdf; do
    check python3 -c "import sys, xml.etree.ElementTree as E; E.parse(sys.argv[1])" "$out/$svg.svg"
  done
  check python3 - "$out/results.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
pt = r["points"][0]
assert pt["lcores"] == 1 and pt["gbps"] > 0 and pt["mpps"] > 0, pt
assert pt["drops"] == 0 and pt["resets"] == 0
assert r["verification"]["planted"] > 0 and r["verification"]["mask_bytes"] > 0
s = r["sizing"]
assert s["workers"] >= 1 and s["appliances"] >= 1 and s["target_gbps"] == 10
assert r["memory"]["bytes_per_flow"] > 0
PY
done

# Usage errors: exit 1 and a message naming the problem.
"$phigate" capacity --target-gbps 1 2> "$work/err"; check test $? -eq 1
check grep -q -- "--profile" "$work/err"
"$phigate" capacity --profile "$root/configs/capacity/batch-json.json" 2> "$work/err"; check test $? -eq 1
check grep -q -- "--target-gbps" "$work/err"
"$phigate" capacity --profile "$root/configs/capacity/batch-json.json" --target-gbps 0 2> "$work/err"; check test $? -eq 1
"$phigate" capacity --profile "$root/configs/capacity/batch-json.json" --target-gbps 1 --lcores 1,x 2> "$work/err"
check test $? -eq 1
check grep -q -- "--lcores" "$work/err"
printf '{"name":"x","response_sizes":[{"bytes":4096,"weight":1}],"sse_share":2,"phi_per_kib":1,"concurrent_flows":8,"request_rate_per_s":1,"request_bytes":512}' > "$work/bad.json"
"$phigate" capacity --profile "$work/bad.json" --target-gbps 1 2> "$work/err"; check test $? -eq 1
check grep -q "sse_share" "$work/err"
"$phigate" capacity --profile "$work/missing.json" --target-gbps 1 2> "$work/err"; check test $? -eq 1
"$phigate" capacity --bogus 1 2> "$work/err"; check test $? -eq 1
"$phigate" capacity --help > "$work/help"; check test $? -eq 0
check grep -q "target-gbps" "$work/help"

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
