#!/usr/bin/env bash
# Integration test: phigate's OIDC discovery, JWKS refresh and token verification against a real
# OpenID Provider (the npm package oidc-provider, tests/oidc/provider.mjs) on 127.0.0.1.
#
#   oidc_provider_test.sh <oidc provider gtest executable> [gtest args...]
#
# node_modules live outside the repository (tests/oidc/provider_env.sh). Without node/npm, or
# when the install fails (offline), the test is skipped LOUDLY with exit code 77. The provider is
# always killed on exit.
set -euo pipefail

exe=${1:?usage: oidc_provider_test.sh <oidc provider gtest executable> [gtest args...]}
shift
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

skip() {
  echo "################################################################" >&2
  echo "## SKIPPED oidc_provider: $*" >&2
  echo "################################################################" >&2
  exit 77
}
. "$here/../../oidc/provider_env.sh"
oidc_ensure_modules

run=$(mktemp -d /tmp/phigate-oidc-provider.XXXXXX)
cleanup() { oidc_stop; rm -rf "$run"; }
trap cleanup EXIT
trap 'exit 130' INT TERM

export PHIGATE_OIDC_CLIENT_ID=phigate-test
export PHIGATE_OIDC_CLIENT_SECRET="phigate-test-secret-$RANDOM$RANDOM$RANDOM"
oidc_start "$run" || { echo "oidc_provider: FAILED: the provider never became ready" >&2; exit 1; }

export PHIGATE_OIDC_ISSUER="http://127.0.0.1:$oidc_port"
echo "oidc_provider: provider ready at $PHIGATE_OIDC_ISSUER (pid $provider_pid)" >&2

status=0
"$exe" "$@" || status=$?
if [ "$status" -ne 0 ]; then
  echo "oidc_provider: test failed ($status); provider log:" >&2
  tail -n 50 "$run/provider.log" >&2
fi
exit "$status"
