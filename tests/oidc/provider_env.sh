# Sourced by the tests that run the real OpenID Provider (tests/oidc/provider.mjs).
#   oidc_ensure_modules    installs oidc-provider into $PHIGATE_OIDC_NODE_CACHE (default
#                          /var/cache/phigate/oidc-node) with `npm ci` when missing or stale;
#                          calls `skip REASON` (the caller's) when node, npm or the registry fail.
#   oidc_start RUN_DIR     starts the provider on a free loopback port; sets provider_pid and
#                          oidc_port; returns non-zero when it did not come up.
#   oidc_stop              kills it.
oidc_src=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
oidc_cache=${PHIGATE_OIDC_NODE_CACHE:-/var/cache/phigate/oidc-node}
provider_pid=

oidc_ensure_modules() {
  command -v node >/dev/null 2>&1 || skip "node is not installed"
  command -v npm >/dev/null 2>&1 || skip "npm is not installed"
  local major
  major=$(node -p 'process.versions.node.split(".")[0]')
  [ "$major" -ge 18 ] || skip "node $major is too old (oidc-provider 8 needs 18 or later)"
  mkdir -p "$oidc_cache" 2>/dev/null || skip "cannot create the node cache $oidc_cache"
  # One installer at a time; a second run waits, then finds the modules in place.
  exec 9>"$oidc_cache/.lock"
  flock -w 600 9 || skip "timed out waiting for the lock on $oidc_cache"
  if [ ! -f "$oidc_cache/node_modules/oidc-provider/package.json" ] ||
     ! cmp -s "$oidc_src/package.json" "$oidc_cache/package.json" ||
     ! cmp -s "$oidc_src/package-lock.json" "$oidc_cache/package-lock.json"; then
    echo "installing oidc-provider into $oidc_cache" >&2
    cp "$oidc_src/package.json" "$oidc_src/package-lock.json" "$oidc_cache/"
    if ! (cd "$oidc_cache" && timeout 300 npm ci --no-audit --no-fund --loglevel=error >&2); then
      rm -f "$oidc_cache/package.json"  # force a fresh attempt next time
      flock -u 9
      skip "npm ci failed (no network or registry unreachable?)"
    fi
  fi
  flock -u 9
  exec 9>&-
}

oidc_start() {
  local run=$1 attempt
  cp "$oidc_src/provider.mjs" "$run/provider.mjs"
  ln -sfn "$oidc_cache/node_modules" "$run/node_modules"
  # A free port picked by the kernel; retried if another process takes it before the provider.
  for attempt in 1 2 3; do
    oidc_port=$(node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})')
    node "$run/provider.mjs" "$oidc_port" >"$run/provider.log" 2>&1 &
    provider_pid=$!
    for _ in $(seq 300); do
      grep -q '^ready ' "$run/provider.log" 2>/dev/null && return 0
      kill -0 "$provider_pid" 2>/dev/null || break
      sleep 0.1
    done
    echo "provider did not start on port $oidc_port (attempt $attempt):" >&2
    cat "$run/provider.log" >&2 || true
    oidc_stop
  done
  return 1
}

oidc_stop() {
  if [ -n "$provider_pid" ] && kill -0 "$provider_pid" 2>/dev/null; then
    kill "$provider_pid" 2>/dev/null || true
    for _ in $(seq 50); do kill -0 "$provider_pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$provider_pid" 2>/dev/null || true
    wait "$provider_pid" 2>/dev/null || true
  fi
  provider_pid=
}
