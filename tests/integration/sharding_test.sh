#!/usr/bin/env bash
# phigate-dp's choice of sharding with several workers (dataplane/io/dp_main.cc), on virtual
# devices without namespaces:
#   - net_null ports advertise RSS over TCP: "auto" and "rss" give each worker its own RX/TX
#     queue on both ports (symmetric key, no io lcore), and every worker receives frames;
#   - net_ring ports have no RSS: "auto" falls back to the io lcore's software hash (and says
#     why), "rss" refuses to start with the reason, before any port starts;
#   - "software" keeps the io lcore on any device.
# The symmetry of the key itself is tested in tests/dataplane/io/rss_test.cc.
set -uo pipefail
dp=$1 src=$2 phigate=$3
work=$(mktemp -d)
pid=
cleanup() { [ -n "$pid" ] && kill -9 "$pid" 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT
fail=0
check() { local what=$1; shift; if "$@"; then echo "ok: $what"; else echo "FAIL: $what ($*)"; fail=1; fi; }

config() {  # device mode
  cat > "$work/$1-$2.json" <<JSON
{"eal": ["--no-huge", "-m", "256", "--no-pci", "--no-shconf", "--file-prefix", "pgshard$$", "--lcores", "0@0,1@1,2@0,3@1",
         "--log-level", "lib.eal:error", "--vdev=net_${1}0", "--vdev=net_${1}1"],
 "protected_services": [{"address": "198.18.0.2", "port": 8000}],
 "patterns": "$src/patterns/us-phi-core.json", "flows": {"capacity": 1024}, "workers": 2, "sharding": "$2",
 "stats_socket": "$work/stats.sock"}
JSON
  echo "$work/$1-$2.json"
}

# Starts phigate-dp, waits for its stats socket, saves `phigate stats --json`, stops it.
run() {  # device mode
  local cfg; cfg=$(config "$1" "$2")
  rm -f "$work/stats.sock"
  "$dp" --config "$cfg" > "$work/out" 2>&1 &
  pid=$!
  for _ in $(seq 100); do [ -S "$work/stats.sock" ] && break; kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  sleep 0.5
  "$phigate" stats --json --socket "$work/stats.sock" > "$work/stats.json" 2>/dev/null
  kill -INT "$pid" 2>/dev/null
  wait "$pid"; local rc=$?
  pid=
  return $rc
}

workers_receiving() {
  python3 -c 'import json,sys; w=json.load(open(sys.argv[1]))["workers"]; sys.exit(0 if sorted(x["queue"] for x in w)==[0,1] and all(x["rx_packets"]>0 for x in w) else 1)' "$work/stats.json"
}

for mode in auto rss; do
  run null "$mode"
  check "null/$mode: clean exit" test $? -eq 0
  check "null/$mode: workers on NIC queues" grep -q "2 worker(s) on NIC queues (symmetric RSS)" "$work/out"
  check "null/$mode: both workers receive from their own queues" workers_receiving
done

run ring auto
check "ring/auto: says why it falls back" grep -q "software sharding: port 0 (net_ring) has no RSS over TCP" "$work/out"
check "ring/auto: io lcore dispatches" grep -q "behind a dispatching io lcore" "$work/out"

run ring rss
rc=$?
check "ring/rss: exit status 1" test "$rc" -eq 1
check "ring/rss: names the port and the reason" grep -q 'sharding "rss" is not possible: port 0 (net_ring) has no RSS over TCP' "$work/out"
check "ring/rss: no port started" bash -c "! grep -q bridging '$work/out'"

run null software
check "null/software: io lcore dispatches" grep -q "behind a dispatching io lcore" "$work/out"

exit $fail
