#!/usr/bin/env bash
# End-to-end: phigate audit keygen / verify as an operator runs them, on logs written by the
# real writer. Checks exit codes, the reported first bad line and reason, and that no record
# content ever reaches the output.
set -u
phigate=$1 fixture=$2
# tmpfs when available: fdatasync per record costs ~6 ms on this machine's disk.
if [ -d /dev/shm ] && [ -w /dev/shm ]; then work=$(mktemp -d -p /dev/shm); else work=$(mktemp -d); fi
trap 'rm -rf "$work"' EXIT
pass=0 fail=0
check() { if "$@"; then pass=$((pass+1)); else fail=$((fail+1)); echo "FAIL: $*" >&2; fi; }
no_contents() { ! grep -q 'marker-c0ffee\|approve' "$work/out" "$work/err"; }

# Keys: private 0600, never overwritten.
"$phigate" audit keygen "$work/a.key" "$work/a.pub" > "$work/out" 2> "$work/err"; check test $? -eq 0
check test "$(stat -c %a "$work/a.key")" = 600
"$phigate" audit keygen "$work/a.key" "$work/x.pub" > "$work/out" 2> "$work/err"; check test $? -eq 1
"$phigate" audit keygen "$work/b.key" "$work/b.pub" > /dev/null 2>&1

"$fixture" "$work/a.key" "$work/log" 1500 || { echo "fixture failed" >&2; exit 1; }

# Intact log: 1 ms between records, so checkpoints come from the 1000-record rule and close.
"$phigate" audit verify --pubkey "$work/a.pub" "$work/log" > "$work/out" 2> "$work/err"
check test $? -eq 0
check grep -q ': intact: 1500 records, 2 checkpoints' "$work/out"
check no_contents
PHIGATE_AUDIT_PUBKEY="$work/a.pub" "$phigate" audit verify "$work/log" > "$work/out" 2>&1; check test $? -eq 0

# Edited record on line 700: reported there, contents not printed.
sed '700s/"n":700/"n":701/' "$work/log" > "$work/edit.log"
"$phigate" audit verify --pubkey "$work/a.pub" "$work/edit.log" > "$work/out" 2> "$work/err"
check test $? -eq 2
check grep -q 'NOT INTACT: line 700: bad_hash' "$work/out"
check no_contents

# Deleted line 10, swapped lines 20/21.
sed '10d' "$work/log" > "$work/del.log"
"$phigate" audit verify --pubkey "$work/a.pub" "$work/del.log" > "$work/out" 2>&1; check test $? -eq 2
check grep -q 'line 10: bad_seq (expected seq 10, found 11)' "$work/out"
awk 'NR==20 {held=$0; next} NR==21 {print; print held; next} {print}' "$work/log" > "$work/swap.log"
"$phigate" audit verify --pubkey "$work/a.pub" "$work/swap.log" > "$work/out" 2>&1; check test $? -eq 2
check grep -q 'line 20: bad_seq' "$work/out"

# Wrong key, no key.
"$phigate" audit verify --pubkey "$work/b.pub" "$work/log" > "$work/out" 2>&1; check test $? -eq 2
check grep -q 'line 1001: bad_signature' "$work/out"
env -u PHIGATE_AUDIT_PUBKEY "$phigate" audit verify "$work/log" > "$work/out" 2>&1; check test $? -eq 2
check grep -q 'signatures NOT checked' "$work/out"

# Truncation: inside a line, and at a line boundary (unsigned tail).
head -c 5000 "$work/log" > "$work/cut.log"
"$phigate" audit verify --pubkey "$work/a.pub" "$work/cut.log" > "$work/out" 2>&1; check test $? -eq 2
check grep -q 'partial_line' "$work/out"
head -n 1200 "$work/log" > "$work/tail.log"
"$phigate" audit verify --pubkey "$work/a.pub" "$work/tail.log" > "$work/out" 2>&1; check test $? -eq 2
check grep -q 'line 1002: unsigned_tail' "$work/out"
"$phigate" audit verify --pubkey "$work/a.pub" --allow-unsigned-tail "$work/tail.log" > "$work/out" 2>&1
check test $? -eq 0
check grep -q '199 unsigned records' "$work/out"
head -n 1001 "$work/log" > "$work/cp.log"
"$phigate" audit verify --pubkey "$work/a.pub" --expect-records 1500 "$work/cp.log" > "$work/out" 2>&1
check test $? -eq 2
check grep -q 'truncated' "$work/out"

# A crashed writer's log: unsigned tail, fine when allowed.
"$fixture" "$work/a.key" "$work/crash.log" 30 crash
"$phigate" audit verify --pubkey "$work/a.pub" "$work/crash.log" > "$work/out" 2>&1; check test $? -eq 2
"$phigate" audit verify --pubkey "$work/a.pub" --allow-unsigned-tail "$work/crash.log" > "$work/out" 2>&1
check test $? -eq 0

# Usage and key errors exit 1.
"$phigate" audit verify > /dev/null 2>&1; check test $? -eq 1
"$phigate" audit verify --bogus "$work/log" > /dev/null 2>&1; check test $? -eq 1
"$phigate" audit verify --pubkey "$work/missing.pub" "$work/log" > /dev/null 2>&1; check test $? -eq 1
"$phigate" audit verify --pubkey "$work/a.key" "$work/log" > /dev/null 2>&1; check test $? -eq 1
"$phigate" audit frobnicate > /dev/null 2>&1; check test $? -eq 1
"$phigate" audit verify --pubkey "$work/a.pub" "$work/missing.log" > "$work/out" 2>&1; check test $? -eq 2
check grep -q unreadable "$work/out"

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
