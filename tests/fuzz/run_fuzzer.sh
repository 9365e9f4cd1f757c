#!/usr/bin/env bash
# Runs one libFuzzer target for a bounded time over its checked-in seed corpus, writing new
# inputs to a scratch directory so the checked-in corpus never changes during tests.
set -euo pipefail
exe=$1 seeds=$2 seconds=$3
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
"$exe" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 "$work" "$seeds"
