#!/usr/bin/env bash
# Control plane + dataplane + a real OpenID Provider, end to end (issue 4 section 7):
#   - phigate-cp fetches the provider's keys (OIDC discovery), compiles the policy and pushes
#     policy, keys and the backend credential to phigate-dp over the control socket;
#   - an allowed clinician's request is forwarded (credential swapped, response masked), an
#     anonymous one is blocked with the injected answer;
#   - a request needing approval gets an approval id; the requester cannot approve it; an
#     approver does, with `phigate approvals` over HTTPS; of 8 retries racing on separate
#     connections over phigate-dp's two workers exactly one goes through, and a later retry is
#     refused (one-time grant); a time-bound grant lets the same request through repeatedly;
#   - the control plane keeps the signed audit log and acknowledges each record after fdatasync;
#     it is killed (SIGKILL) under load: new requests get 503 audit_unavailable at once, requests
#     already held wait, and when it comes back it reconnects, receives the unacknowledged records
#     again and service resumes; every request the inference server ever received has its
#     forwarded decision record in the log (matched by body digest), each record exactly once;
#   - the audit log verifies, with the approval and grant records in it.
. "$2/tests/integration/appliance_test_begin.sh" "$@" "controlplane test"
bob=$(appliance_token approver-bob bob-secret-0123456789)
printf '%s' "$alice" > "$work/alice.tok"
printf '%s' "$bob" > "$work/bob.tok"
api_port=$(appliance_free_port)
# Two workers: one-time grants must hold across them (below).
APPLIANCE_WORKERS=2 appliance_prepare "$work" "$api_port" || { echo "FAIL: preparing the appliance" >&2; exit 1; }
appliance_up "$work" "$dp" "$cp" || { echo "FAIL: the appliance did not come up" >&2; exit 1; }
generation() { appliance_generation "$work"; }
post() { appliance_post "$@"; }
check test "$(generation)" -ge 1

# Allowed and blocked, with identity from the real provider's keys pushed by the control plane.
check test "$(post "$alice" '{"model":"clinical-7b","n":1}' "$work/allowed.out")" = 200
check grep -q 'Patient SSN \*\*\*-\*\*-\*\*\*\*' "$work/allowed.out"
check test "$(post "$alice" '{"echo_auth":true}' "$work/echo.out")" = 200
check grep -q '"seen_authorization": "Bearer sk-backend-0123456789"' "$work/echo.out"
check test "$(post "" '{"model":"clinical-7b"}' "$work/blocked.out")" = 403
check grep -q '"code":"blocked"' "$work/blocked.out"

# Approval flow through the CLI.
body='{"model":"clinical-7b","n":8}'
check test "$(post "$alice" "$body" "$work/approval.out")" = 403
id=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["error"]["approval_id"])' "$work/approval.out")
check test ${#id} -eq 32
cli=("$phigate" approvals --url "$appliance_api" --ca "$work/api.crt")
for _ in $(seq 50); do "${cli[@]}" --token-file "$work/bob.tok" show "$id" >/dev/null 2>&1 && break; sleep 0.2; done
check bash -c "'${cli[0]}' approvals --url $appliance_api --ca '$work/api.crt' --token-file '$work/bob.tok' list | grep -q $id"
"${cli[@]}" --token-file "$work/alice.tok" approve "$id" >"$work/self.out" 2>&1
check test $? -eq 2
gen_before_approval=$(generation)
"${cli[@]}" --token-file "$work/bob.tok" approve "$id" >"$work/approve.out" 2>&1
check test $? -eq 0
# The grant reaches the dataplane in the next snapshot; then 8 retries carrying the id race on
# separate connections, spread over both workers: exactly one goes through (one-time across
# workers, claimed before the control plane has even heard of the use).
for _ in $(seq 50); do [ "$(generation)" -gt "$gen_before_approval" ] && break; sleep 0.2; done
# One curl, 8 connections opened at once (--parallel-immediate), so the retries reach the
# workers within a millisecond, well before the first use could travel to the control plane.
race=()
for i in $(seq 8); do race+=(-o "$work/retry$i.out" "$appliance_url"); done
ip netns exec phigate-client curl -s --no-progress-meter -m 20 --parallel --parallel-immediate --parallel-max 8 -X POST \
  -H 'Content-Type: application/json' -H "Authorization: Bearer $alice" -H "X-Phigate-Approval: $id" \
  -d "$body" -w '%{http_code} %{filename_effective}\n' "${race[@]}" > "$work/race.txt"
check test "$(grep -c '^200 ' "$work/race.txt")" -eq 1
check test "$(grep -c '^403 ' "$work/race.txt")" -eq 7
cp "$(awk '$1 == 200 {print $2}' "$work/race.txt" | head -1)" "$work/retry.out" 2>/dev/null
check grep -q 'Patient SSN \*\*\*-\*\*-\*\*\*\*' "$work/retry.out"
# One-time: a second retry is refused.
sleep 1
check test "$(post "$alice" "$body" "$work/replay.out" "X-Phigate-Approval: $id")" = 403
check grep -q '"code":"approval_refused"' "$work/replay.out"
# A different body with the same id is refused too (digest binding), even before consumption shows.
check test "$(post "$alice" '{"model":"clinical-7b","n":9}' "$work/other.out" "X-Phigate-Approval: $id")" = 403

# A time-bound grant (rule "export"): once approved, the same request goes through again and
# again until it expires, bound to the same subject and body.
export APPLIANCE_URL=http://198.18.0.2:8000/v1/export
check test "$(post "$alice" '{"model":"clinical-7b","q":"cohort"}' "$work/export.out")" = 403
xid=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["error"]["approval_id"])' "$work/export.out")
for _ in $(seq 50); do "${cli[@]}" --token-file "$work/bob.tok" show "$xid" >/dev/null 2>&1 && break; sleep 0.2; done
gen_before_export=$(generation)
"${cli[@]}" --token-file "$work/bob.tok" approve "$xid" >"$work/approve-export.out" 2>&1
check test $? -eq 0
for _ in $(seq 50); do [ "$(generation)" -gt "$gen_before_export" ] && break; sleep 0.2; done
for i in 1 2 3; do
  check test "$(post "$alice" '{"model":"clinical-7b","q":"cohort"}' "$work/export$i.out" "X-Phigate-Approval: $xid")" = 200
  sleep 0.5  # past the control plane's handling of the use: a one-time grant would be gone
done
check test "$(post "$alice" '{"model":"clinical-7b","q":"other"}' "$work/export-other.out" "X-Phigate-Approval: $xid")" = 403
unset APPLIANCE_URL

# Metrics from the control plane.
curl -s --cacert "$work/api.crt" "$appliance_api/metrics" > "$work/metrics.txt"
check grep -q '^phigate_dp_up 1' "$work/metrics.txt"
check grep -q '^phigate_dp_findings_by_entity{entity="ssn"}' "$work/metrics.txt"
check grep -q '^phigate_cp_dataplane_connected 1' "$work/metrics.txt"

# Control plane killed under load. Two clients send distinct bodies back to back for ~8 s; the
# control plane is killed after ~2 s and started again ~3 s later.
load() {  # $1: client name; one "<status> <code>" line per request in $work/load-$1.txt
  local end=$((SECONDS + 8)) i=0
  while [ $SECONDS -lt $end ]; do
    i=$((i+1))
    code=$(post "$alice" "{\"model\":\"clinical-7b\",\"n\":1,\"tag\":\"$1-$i\"}" "$work/load-$1.out")
    echo "$code $(grep -o '"code":"[a-z_]*"' "$work/load-$1.out" | head -1)" >> "$work/load-$1.txt"
  done
}
load a & load_a=$!
load b & load_b=$!
sleep 2
appliance_stop_cp -KILL
sleep 3
before=$(generation)
appliance_start_cp "$work" "$cp"
wait "$load_a" "$load_b"
for _ in $(seq 100); do [ "$(generation)" -gt "$before" ] && break; sleep 0.2; done
check test "$(generation)" -gt "$before"
cat "$work/load-a.txt" "$work/load-b.txt" > "$work/load.txt"
echo "load while the control plane was killed: $(sort "$work/load.txt" | uniq -c | tr '\n' ';')"
# Served before the kill and after the restart; refused with 503 audit_unavailable in between.
check test "$(grep -c '^200 ' "$work/load.txt")" -ge 2
check grep -q '^503 "code":"audit_unavailable"' "$work/load.txt"
check bash -c "! grep -v -e '^200 ' -e '^503 \"code\":\"audit_unavailable\"' '$work/load.txt'"
check test "$(post "$alice" '{"model":"clinical-7b","n":1}' "$work/after.out")" = 200

# The dataplane stops first (its last records are acknowledged), then the control plane, which
# signs a final checkpoint.
./scripts/topology down >/dev/null 2>&1
appliance_stop_cp -TERM
check "$phigate" audit verify --pubkey "$work/audit.pub" "$work/audit.log"
# Every request the server received has a forwarded decision record with its body digest.
python3 - "$work/server.log" "$work/audit.log" > "$work/digests.out" <<'PY'
import json, sys
import re
lines = [l for l in open(sys.argv[1]) if "received" in l]
seen = [m.group(1) for m in (re.fullmatch(r"received ([0-9a-f]{64})\n", l) for l in lines) if m]
if len(seen) != len(lines):  # a garbled line would count as a request with no record
    print(f"server log: {len(lines) - len(seen)} garbled 'received' lines"); sys.exit(1)
recs = [json.loads(l)["rec"] for l in open(sys.argv[2]) if '"rec"' in l]
forwarded = {r["body_sha256"] for r in recs if r.get("decision") in ("allowed", "approval_granted")}
missing = [d for d in seen if d not in forwarded]
sources = [json.dumps(r["dp_source"], sort_keys=True) for r in recs if "dp_source" in r]
print(f"server received {len(seen)}, forwarded records {len(forwarded)} digests, missing {len(missing)}, "
      f"records {len(recs)}, duplicates {len(sources) - len(set(sources))}")
sys.exit(1 if missing or len(sources) != len(set(sources)) or len(sources) != len(recs) else 0)
PY
check test $? -eq 0
cat "$work/digests.out"
check grep -q '"decision":"approval_granted"' "$work/audit.log"
check grep -q '"decision":"approval_refused"' "$work/audit.log"
check grep -q '"subject":"dr-alice"' "$work/audit.log"
check bash -c "! grep -q -e 123-45-6789 -e sk-backend '$work/audit.log'"
if [ "$fail" -ne 0 ]; then tail -20 "$work/cp.log" >&2; fi
echo "controlplane test: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
