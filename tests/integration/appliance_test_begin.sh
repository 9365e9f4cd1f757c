# Sourced by the integration tests that run the whole appliance (phigate-dp in the test
# topology, phigate-cp, the OpenID Provider): $1 dp, $2 source root, $3 phigate, $4 cp, $5 the
# test's name for messages. Leaves $work (removed at exit, with everything started), check and
# skip, and alice's token in $alice (checked).
set -u
dp=$1 root=$2 phigate=$3 cp=$4 test_name=$5
cd "$root"
export PHIGATE=$phigate
work=$(mktemp -d)
pass=0 fail=0
check() { if "$@"; then pass=$((pass+1)); else fail=$((fail+1)); echo "FAIL: $*" >&2; fi; }
skip() { echo "SKIP: $test_name: $*" >&2; exit 77; }
. scripts/lib/appliance.sh
# PHIGATE_KEEP_WORK=PREFIX keeps a failed run's work directory as PREFIX.<pid> (for flakes).
cleanup() { appliance_down; if [ -n "${PHIGATE_KEEP_WORK:-}" ] && [ "$fail" -ne 0 ]; then cp -a "$work" "$PHIGATE_KEEP_WORK.$$"; fi; rm -rf "$work"; }
trap cleanup EXIT

if ! ip netns add phigate-probe 2>/dev/null; then skip "this kernel refuses network namespaces"; fi
ip netns del phigate-probe
oidc_ensure_modules
appliance_oidc_start "$work" || { echo "FAIL: the OpenID Provider did not start" >&2; exit 1; }
alice=$(appliance_token dr-alice alice-secret-0123456789)
check test -n "$alice"
