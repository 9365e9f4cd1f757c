#!/usr/bin/env bash
# Live pattern-set swaps (issue 4 section 2): phigate-cp compiles the pattern sets named in its
# configuration and pushes the database to phigate-dp, which swaps it in while traffic flows.
#   - At start the control plane pushes us-phi-core: SSNs are masked.
#   - A slow SSE response starts; while it streams, the set file is replaced by
#     oncology-research (no SSN pattern) and phigate-cp reloads (SIGHUP). The response in flight
#     finishes on the database it started with: its SSN, sent after the swap, is still masked.
#     A response that starts after the swap runs on the new database: its SSN passes.
#   - A broken set is refused by phigate-cp at reload: the running database stays.
#   - Swapping back to us-phi-core installs a third generation (the first one had drained);
#     every response of the run is complete, no connection was reset.
. "$2/tests/integration/appliance_test_begin.sh" "$@" "pattern swap test"
api_port=$(appliance_free_port)
appliance_prepare "$work" "$api_port" || { echo "FAIL: preparing the appliance" >&2; exit 1; }
cp patterns/us-phi-core.json "$work/site.json"
python3 - "$work" <<'PY'
import json, sys
w = sys.argv[1]
cfg = json.load(open(w + "/cp.json"))
cfg["patterns"] = [w + "/site.json"]
json.dump(cfg, open(w + "/cp.json", "w"), indent=1)
# The stream below stalls 3 s inside the SSN: that must not meet the 200 ms hold timer, which
# would mask every held byte (fail closed) whatever the database.
dp = json.load(open(w + "/dp.json"))
dp["timers"]["hold_timeout_ms"] = 10000
json.dump(dp, open(w + "/dp.json", "w"), indent=1)
PY
appliance_up "$work" "$dp" "$cp" || { echo "FAIL: the appliance did not come up" >&2; exit 1; }
stat_patterns() {  # $1: field of the "patterns" stats object
  "$phigate" stats --json --socket "$work/dp.sock" 2>/dev/null |
    python3 -c "import json,sys; print(json.load(sys.stdin)['patterns']['$1'])" 2>/dev/null || echo -1
}
wait_generation() {  # $1: the pattern generation to wait for (up to 15 s)
  for _ in $(seq 75); do [ "$(stat_patterns generation)" -ge "$1" ] && return 0; sleep 0.2; done
  return 1
}
post() { appliance_post "$@"; }
# The control plane's first push already replaced the dataplane's own database.
check wait_generation 1
check test "$(stat_patterns sets)" = us-phi-core
check test "$(post "$alice" '{"model":"clinical-7b","n":1}' "$work/before.out")" = 200
check grep -q 'Patient SSN \*\*\*-\*\*-\*\*\*\*' "$work/before.out"

slow_stream() {  # $1: output name; a 3 s stall after " 123", before "-45-" and "6789"
  ip netns exec phigate-client curl -s -N -m 30 -o "$work/$1.out" -w '%{http_code}' -X POST \
    -H 'Content-Type: application/json' -H "Authorization: Bearer $alice" \
    -d '{"model":"clinical-7b","stream":true,"pause_after":2,"pause_s":3}' "$appliance_url" > "$work/$1.code"
  python3 - "$work/$1.out" > "$work/$1.txt" <<'PY'
import json, sys
text = ""
for line in open(sys.argv[1]):
    if line.startswith("data: {"):
        text += json.loads(line[6:])["choices"][0]["delta"].get("content", "")
print(text)
PY
}
# The control: the same slow stream without a swap, as us-phi-core masks it.
slow_stream control
check test "$(cat "$work/control.code")" = 200
check bash -c "! grep -q 6789 '$work/control.txt'"
"$phigate" stats --json --socket "$work/dp.sock" > "$work/stats-control.json"
# The same stream again, spanning the swap.
t0=$(date +%s.%N)
slow_stream inflight &
inflight=$!
sleep 0.3
cp tests/data/oncology-research.json "$work/site.json"
kill -HUP "$appliance_cp_pid"
check wait_generation 2
# The swap must land inside the stall (before "-45-" and "6789", 3 s in), or this proves nothing.
swapped_at=$(python3 -c "import sys; print(round(float(sys.argv[2]) - float(sys.argv[1]), 2))" "$t0" "$(date +%s.%N)")
echo "swap installed ${swapped_at} s into the stream"
check python3 -c "import sys; sys.exit(0 if float(sys.argv[1]) < 3.0 else 1)" "$swapped_at"
check test "$(stat_patterns sets)" = oncology-research
# A response that starts now runs on the new database (no SSN pattern in it).
check test "$(post "$alice" '{"model":"clinical-7b","n":1}' "$work/after.out")" = 200
check grep -q 'Patient SSN 123-45-6789' "$work/after.out"
wait "$inflight"
check test "$(cat "$work/inflight.code")" = 200
# The stream in flight finished on us-phi-core: masked exactly as the control, although the rest
# of its SSN came after the swap.
echo "stream without a swap:      $(cat "$work/control.txt")"
echo "stream in flight (swapped): $(cat "$work/inflight.txt")"
check cmp -s "$work/control.txt" "$work/inflight.txt"
check bash -c "! grep -q 6789 '$work/inflight.txt'"
check grep -q 'data: \[DONE\]' "$work/inflight.out"

# A broken set: phigate-cp refuses the reload; the running database stays.
printf '{"name": "broken", "version": 1, "patterns": [' > "$work/site.json"
kill -HUP "$appliance_cp_pid"
for _ in $(seq 50); do grep -q 'reload refused' "$work/cp.log" && break; sleep 0.2; done
check grep -q 'reload refused' "$work/cp.log"
check test "$(stat_patterns generation)" -eq 2

# Back to us-phi-core: a third generation, installed once nothing runs on the first.
cp patterns/us-phi-core.json "$work/site.json"
kill -HUP "$appliance_cp_pid"
check wait_generation 3
check test "$(post "$alice" '{"model":"clinical-7b","n":1}' "$work/back.out")" = 200
check grep -q 'Patient SSN \*\*\*-\*\*-\*\*\*\*' "$work/back.out"
check test "$(stat_patterns swaps)" -eq 3
"$phigate" stats --json --socket "$work/dp.sock" > "$work/stats.json"
python3 - "$work/stats.json" <<'PY'
import json, sys
s = json.load(open(sys.argv[1]))
print("patterns:", s["patterns"], "findings_by_entity:", s["findings_by_entity"], "resets:",
      {k: v for k, v in s["resets"].items() if v})
PY
# Findings keep their entity names across the swaps (four responses on us-phi-core masked an SSN).
check python3 -c "import json,sys; s=json.load(open(sys.argv[1])); sys.exit(0 if s['findings_by_entity'].get('ssn',0) >= 4 else 1)" "$work/stats.json"
check python3 -c "import json,sys; s=json.load(open(sys.argv[1])); sys.exit(0 if sum(s['resets'].values()) == 0 else 1)" "$work/stats.json"
# The control plane's log never holds a value.
check bash -c "! grep -q 123-45-6789 '$work/cp.log'"
if [ "$fail" -ne 0 ]; then tail -20 "$work/cp.log" >&2; tail -20 "$work/topology.log" >&2; fi
echo "pattern swap test: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
