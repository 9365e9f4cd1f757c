#!/usr/bin/env bash
# Control plane + dataplane + a real OpenID Provider, end to end (issue 4 section 7):
#   - phigate-cp fetches the provider's keys (OIDC discovery), compiles the policy and pushes
#     policy, keys and the backend credential to phigate-dp over the control socket;
#   - an allowed clinician's request is forwarded (credential swapped, response masked), an
#     anonymous one is blocked with the injected answer;
#   - a request needing approval gets an approval id; the requester cannot approve it; an
#     approver does, with `phigate approvals`; the retry carrying the id goes through once, and
#     a second retry is refused (one-time grant);
#   - the control plane is killed under load: requests keep being recorded and forwarded (the
#     audit log is the dataplane's and durable), and when it comes back it reconnects and pushes;
#   - the audit log verifies, with the approval and grant records in it.
set -u
dp=$1 root=$2 phigate=$3 cp=$4
cd "$root"
work=$(mktemp -d)
pass=0 fail=0
check() { if "$@"; then pass=$((pass+1)); else fail=$((fail+1)); echo "FAIL: $*" >&2; fi; }
skip() { echo "SKIP: controlplane test: $*" >&2; exit 77; }
cp_pid=
cleanup() {
  [ -n "$cp_pid" ] && kill "$cp_pid" 2>/dev/null
  pkill -f "inference_server.py 198.18.0.2" 2>/dev/null
  ./scripts/topology down >/dev/null 2>&1
  oidc_stop
  rm -rf "$work"
}
trap cleanup EXIT
. tests/oidc/provider_env.sh

if ! ip netns add phigate-probe 2>/dev/null; then skip "this kernel refuses network namespaces"; fi
ip netns del phigate-probe
oidc_ensure_modules

# The identity provider: a clinician, an approver, and a second approver.
export PHIGATE_OIDC_CLIENT_ID=svc PHIGATE_OIDC_CLIENT_SECRET=svc-secret-0123456789
export PHIGATE_OIDC_CLIENTS='[{"id":"dr-alice","secret":"alice-secret-0123456789","groups":["clinicians"]},
                              {"id":"approver-bob","secret":"bob-secret-0123456789","groups":["approvers"]}]'
oidc_start "$work" || { echo "FAIL: the OpenID Provider did not start" >&2; exit 1; }
issuer=http://127.0.0.1:$oidc_port
token() {  # token CLIENT SECRET: an EdDSA access token by client credentials
  curl -s -u "$1:$2" -d grant_type=client_credentials -d scope=api:read \
    -d resource=https://api.phigate.test/eddsa "$issuer/token" |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])'
}
alice=$(token dr-alice alice-secret-0123456789)
bob=$(token approver-bob bob-secret-0123456789)
printf '%s' "$alice" > "$work/alice.tok"
printf '%s' "$bob" > "$work/bob.tok"
check test -n "$alice"

"$phigate" audit keygen "$work/audit.key" "$work/audit.pub" >/dev/null
printf '{"backend": "Bearer sk-backend-0123456789"}' > "$work/credentials.json"
chmod 600 "$work/credentials.json"
cat > "$work/policy.json" <<'POLICY'
{
  "version": 1,
  "default": {"action": "block", "reason": "no rule allows this request"},
  "routes": [{"id": "chat", "paths": [{"prefix": "/v1/"}], "credential": "backend"}],
  "rules": [
    {"id": "big-batch", "match": {"body": [{"path": "n", "op": ">", "value": 4}]},
     "action": "require_approval", "reason": "more than 4 completions need approval",
     "approvals": 1, "approver_groups": ["approvers"]},
    {"id": "clinicians", "match": {"groups": ["clinicians"]}, "action": "allow"},
    {"id": "anonymous", "match": {"anonymous": true}, "action": "block",
     "reason": "sign in with your hospital account"}
  ]
}
POLICY
api_port=$(node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})')
cat > "$work/cp.json" <<EOF
{
  "oidc": {"issuer": "$issuer", "audience": "https://api.phigate.test", "key_refresh_s": 60},
  "policy": "$work/policy.json",
  "credentials": "$work/credentials.json",
  "approvals": {"db": "$work/approvals.db"},
  "api": {"host": "127.0.0.1", "port": $api_port},
  "dataplane": {"control_socket": "$work/control.sock", "stats_socket": "$work/dp.sock"}
}
EOF
python3 - "$work" "$api_port" <<'PY'
import json, sys
w, port = sys.argv[1], sys.argv[2]
text = open("configs/phigate-dp.topology.json").read()
cfg = json.loads("\n".join(l for l in text.splitlines() if not l.lstrip().startswith("//")))
cfg["stats_socket"] = w + "/dp.sock"
cfg["gate"] = {"control_socket": w + "/control.sock", "audit_log": w + "/audit.log",
               "audit_signing_key": w + "/audit.key",
               "approval_status_base": "http://127.0.0.1:" + port + "/v1/approvals/"}
json.dump(cfg, open(w + "/dp.json", "w"), indent=1)
PY

if ! ./scripts/topology up "$dp" --config "$work/dp.json"; then echo "FAIL: topology did not come up" >&2; exit 1; fi
ip netns exec phigate-server python3 -u tests/integration/inference_server.py 198.18.0.2 8000 >"$work/server.log" 2>&1 &
for _ in $(seq 100); do ip netns exec phigate-server ss -ltn | grep -q ':8000 ' && break; sleep 0.2; done

start_cp() {
  "$cp" --config "$work/cp.json" >>"$work/cp.log" 2>&1 &
  cp_pid=$!
}
generation() { "$phigate" stats --json --socket "$work/dp.sock" 2>/dev/null |
  python3 -c 'import json,sys; print(json.load(sys.stdin)["snapshot"]["generation"])' 2>/dev/null || echo 0; }
start_cp
for _ in $(seq 100); do [ "$(generation)" -ge 1 ] && break; sleep 0.2; done
check test "$(generation)" -ge 1

url=http://198.18.0.2:8000/v1/chat/completions
post() {  # post TOKEN BODY OUT [EXTRA_HEADER]: status on stdout, body in OUT
  local args=(-s -m 20 -o "$3" -w '%{http_code}' -X POST -H 'Content-Type: application/json')
  [ -n "$1" ] && args+=(-H "Authorization: Bearer $1")
  [ -n "${4:-}" ] && args+=(-H "$4")
  ip netns exec phigate-client curl "${args[@]}" -d "$2" "$url"
}

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
cli=("$phigate" approvals --url "http://127.0.0.1:$api_port")
for _ in $(seq 50); do "${cli[@]}" --token-file "$work/bob.tok" show "$id" >/dev/null 2>&1 && break; sleep 0.2; done
check bash -c "'${cli[0]}' approvals --url http://127.0.0.1:$api_port --token-file '$work/bob.tok' list | grep -q $id"
"${cli[@]}" --token-file "$work/alice.tok" approve "$id" >"$work/self.out" 2>&1
check test $? -eq 2
"${cli[@]}" --token-file "$work/bob.tok" approve "$id" >"$work/approve.out" 2>&1
check test $? -eq 0
# The grant reaches the dataplane in the next snapshot; the retry carrying the id goes through.
for _ in $(seq 50); do
  code=$(post "$alice" "$body" "$work/retry.out" "X-Phigate-Approval: $id")
  [ "$code" = 200 ] && break
  sleep 0.2
done
check test "$code" = 200
check grep -q 'Patient SSN \*\*\*-\*\*-\*\*\*\*' "$work/retry.out"
# One-time: a second retry is refused.
sleep 1
check test "$(post "$alice" "$body" "$work/replay.out" "X-Phigate-Approval: $id")" = 403
check grep -q '"code":"approval_refused"' "$work/replay.out"
# A different body with the same id is refused too (digest binding), even before consumption shows.
check test "$(post "$alice" '{"model":"clinical-7b","n":9}' "$work/other.out" "X-Phigate-Approval: $id")" = 403

# Metrics from the control plane.
curl -s "http://127.0.0.1:$api_port/metrics" > "$work/metrics.txt"
check grep -q '^phigate_dp_up 1' "$work/metrics.txt"
check grep -q '^phigate_dp_findings_by_entity{entity="ssn"}' "$work/metrics.txt"
check grep -q '^phigate_cp_dataplane_connected 1' "$work/metrics.txt"

# Control plane killed under load: requests go on being recorded and forwarded; it reconnects.
kill -9 "$cp_pid"
wait "$cp_pid" 2>/dev/null
cp_pid=
ok=0
for i in $(seq 10); do [ "$(post "$alice" '{"model":"clinical-7b","n":1}' "$work/load$i.out")" = 200 ] && ok=$((ok+1)); done
check test "$ok" -eq 10
before=$(generation)
start_cp
for _ in $(seq 100); do [ "$(generation)" -gt "$before" ] && break; sleep 0.2; done
check test "$(generation)" -gt "$before"
check test "$(post "$alice" '{"model":"clinical-7b","n":1}' "$work/after.out")" = 200

./scripts/topology down >/dev/null 2>&1
check "$phigate" audit verify --pubkey "$work/audit.pub" "$work/audit.log"
check grep -q '"decision":"approval_granted"' "$work/audit.log"
check grep -q '"decision":"approval_refused"' "$work/audit.log"
check grep -q '"subject":"dr-alice"' "$work/audit.log"
check bash -c "! grep -q -e 123-45-6789 -e sk-backend '$work/audit.log'"
if [ "$fail" -ne 0 ]; then tail -20 "$work/cp.log" >&2; fi
echo "controlplane test: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
