# The whole appliance on one machine, for scripts/quickstart and tests/integration/controlplane_test.sh
# (sourced from the repository root): phigate-dp bridging the namespace topology with a request
# gate, phigate-cp pushing policy, keys and credentials to it and keeping the signed audit log
# (WORK/audit.log, acknowledged record by record), a real OpenID Provider
# (npm oidc-provider) on loopback and the sample inference server in the server namespace.
#
#   appliance_prepare WORK API_PORT   keys, policy, credentials, the API's TLS certificate
#                                     ($APPLIANCE_WORKERS: phigate-dp workers, default 1)
#                                     (WORK/api.crt, self-signed for 127.0.0.1: the CLI's --ca)
#                                     and both configs under WORK; sets appliance_api (its URL)
#   appliance_up WORK DP_EXE CP_EXE   topology + inference server + control plane; waits for the
#                                     first snapshot in the dataplane. Returns non-zero on failure.
#   appliance_start_cp / appliance_stop_cp, appliance_generation, appliance_down
#   appliance_token CLIENT SECRET     an access token by client credentials
#   appliance_post TOKEN BODY OUT [HEADER]   POST to the chat completions URL ($APPLIANCE_URL
#                                     overrides it) from the client namespace; prints the status,
#                                     the body goes to OUT
# Needs: oidc_* from tests/oidc/provider_env.sh (sourced here) and PHIGATE (the CLI).
. tests/oidc/provider_env.sh

appliance_url=http://198.18.0.2:8000/v1/chat/completions
appliance_api=
appliance_cp_pid=

appliance_free_port() {
  node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'
}

appliance_prepare() {
  local work=$1 api_port=$2
  "$PHIGATE" audit keygen "$work/audit.key" "$work/audit.pub" >/dev/null || return 1
  mkdir -m 700 -p "$work/recordings"
  (umask 077; head -c 32 /dev/urandom > "$work/recordings.key")
  printf '{"backend": "Bearer sk-backend-0123456789"}' > "$work/credentials.json"
  chmod 600 "$work/credentials.json"
  cp configs/policy.sample.json "$work/policy.json"
  # The approvals API is HTTPS (bearer tokens travel in it): a throwaway certificate for
  # 127.0.0.1 that the CLI and curl trust explicitly (--ca / --cacert), never --insecure.
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj /CN=phigate-cp \
    -addext subjectAltName=IP:127.0.0.1 -keyout "$work/api.key" -out "$work/api.crt" >/dev/null 2>&1 || return 1
  chmod 600 "$work/api.key"
  appliance_api=https://127.0.0.1:$api_port
  cat > "$work/cp.json" <<EOF2
{
  "oidc": {"issuer": "http://127.0.0.1:$oidc_port", "audience": "https://api.phigate.test", "key_refresh_s": 60},
  "policy": "$work/policy.json",
  "credentials": "$work/credentials.json",
  "approvals": {"db": "$work/approvals.db"},
  "api": {"host": "127.0.0.1", "port": $api_port, "tls_cert": "$work/api.crt", "tls_key": "$work/api.key"},
  "dataplane": {"control_socket": "$work/control.sock", "stats_socket": "$work/dp.sock"},
  "audit": {"log": "$work/audit.log", "signing_key": "$work/audit.key"}
}
EOF2
  python3 - "$work" "$api_port" "${APPLIANCE_WORKERS:-1}" <<'PY'
import json, sys
w, port, workers = sys.argv[1], sys.argv[2], int(sys.argv[3])
text = open("configs/phigate-dp.topology.json").read()
cfg = json.loads("\n".join(l for l in text.splitlines() if not l.lstrip().startswith("//")))
cfg["stats_socket"] = w + "/dp.sock"
if workers > 1:
    # An io lcore and the workers, busy-polling, shared over this machine's CPUs; a token can then
    # wait longer than the default 200 ms hold timer, which would over-mask (fail closed).
    eal = cfg["eal"]
    i = eal.index("-l")
    eal[i:i + 2] = ["--lcores", ",".join(f"{l}@{l % 2}" for l in range(workers + 2))]
    cfg["workers"] = workers
    cfg["timers"]["hold_timeout_ms"] = 3000
# No audit_log here: phigate-cp keeps the signed log and acknowledges each record.
cfg["gate"] = {"control_socket": w + "/control.sock", "event_log": w + "/events.jsonl",
               "recordings_dir": w + "/recordings", "recordings_key": w + "/recordings.key",
               "approval_status_base": "https://127.0.0.1:" + port + "/v1/approvals/"}
json.dump(cfg, open(w + "/dp.json", "w"), indent=1)
PY
}

# The identity provider's principals: a clinician and an approver (subject = client id).
appliance_oidc_start() {
  export PHIGATE_OIDC_CLIENT_ID=svc PHIGATE_OIDC_CLIENT_SECRET=svc-secret-0123456789
  export PHIGATE_OIDC_CLIENTS='[{"id":"dr-alice","secret":"alice-secret-0123456789","groups":["clinicians"]},
                                {"id":"approver-bob","secret":"bob-secret-0123456789","groups":["approvers"]}]'
  oidc_start "$1"
}

appliance_token() {
  curl -s -u "$1:$2" -d grant_type=client_credentials -d scope=api:read \
    -d resource=https://api.phigate.test/eddsa "http://127.0.0.1:$oidc_port/token" |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])'
}

appliance_start_cp() {
  "$2" --config "$1/cp.json" >>"$1/cp.log" 2>&1 &
  appliance_cp_pid=$!
}
appliance_stop_cp() {
  if [ -n "$appliance_cp_pid" ]; then kill "${1:--TERM}" "$appliance_cp_pid" 2>/dev/null; wait "$appliance_cp_pid" 2>/dev/null; fi
  appliance_cp_pid=
}

appliance_generation() {
  "$PHIGATE" stats --json --socket "$1/dp.sock" 2>/dev/null |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["snapshot"]["generation"])' 2>/dev/null || echo 0
}

appliance_up() {
  local work=$1 dp=$2 cp=$3
  ./scripts/topology up "$dp" --config "$work/dp.json" >"$work/topology.log" 2>&1 || { cat "$work/topology.log" >&2; return 1; }
  ip netns exec phigate-server python3 -u tests/integration/inference_server.py 198.18.0.2 8000 >"$work/server.log" 2>&1 &
  for _ in $(seq 100); do ip netns exec phigate-server ss -ltn | grep -q ':8000 ' && break; sleep 0.2; done
  appliance_start_cp "$work" "$cp"
  for _ in $(seq 150); do [ "$(appliance_generation "$work")" -ge 1 ] && return 0; sleep 0.2; done
  echo "the control plane never delivered a snapshot; its log:" >&2
  cat "$work/cp.log" >&2
  return 1
}

appliance_post() {
  local args=(-s -m 20 -o "$3" -w '%{http_code}' -X POST -H 'Content-Type: application/json')
  [ -n "$1" ] && args+=(-H "Authorization: Bearer $1")
  [ -n "${4:-}" ] && args+=(-H "$4")
  ip netns exec phigate-client curl "${args[@]}" -d "$2" "${APPLIANCE_URL:-$appliance_url}"
}

# The dataplane stops first, so its last records (responses, recordings of connections still
# open) are acknowledged by the control plane, which then signs a final checkpoint.
appliance_down() {
  ./scripts/topology down >/dev/null 2>&1
  appliance_stop_cp
  pkill -f "inference_server.py 198.18.0.2" 2>/dev/null
  oidc_stop
}
