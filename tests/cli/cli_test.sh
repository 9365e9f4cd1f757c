#!/usr/bin/env bash
# End-to-end checks of the CLI as an operator runs it: the shipped catalog passes its examples,
# masking is segmentation-independent, findings carry no values, unmaskable input writes nothing.
set -u
phigate=$1 root=$2
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
pass=0 fail=0
check() { if "$@"; then pass=$((pass+1)); else fail=$((fail+1)); echo "FAIL: $*" >&2; fi; }

check "$phigate" patterns check "$root/patterns/us-phi-core.json"

for s in "$root"/tests/data/samples/*.http; do
  "$phigate" mask --findings "$work/f.jsonl" "$s" > "$work/whole" 2>/dev/null
  check test -s "$work/whole"
  check cmp -s <(wc -c < "$s") <(wc -c < "$work/whole")          # same length
  check test "$(wc -l < "$work/f.jsonl")" -gt 3                   # findings reported
  check grep -q '"entity":"ssn"' "$work/f.jsonl"
  check bash -c "! grep -q '123-45-6789' '$work/whole'"            # the SSN is gone
  check bash -c "! grep -q '6789' '$work/f.jsonl'"                 # findings carry no values
  for n in 1 2 3 5 64 1448; do
    "$phigate" mask --segment "$n" "$s" 2>/dev/null | cmp -s - "$work/whole"
    check test "${PIPESTATUS[0]}" -eq 0
  done
done

# Compiled database.
"$phigate" patterns compile "$root/patterns/us-phi-core.json" "$work/core.db" > "$work/compile.out"
check test $? -eq 0
check grep -q '25 entries .*, 16 stream expressions, trigger gating on, 3 run classes)' "$work/compile.out"
check test -s "$work/core.db"
check bash -c "head -c 8 '$work/core.db' | grep -q PHIGDB1"

# Bare bodies.
printf 'call 555-012-3456 now' | "$phigate" mask --body --content-type text/plain > "$work/b" 2>/dev/null
check test "$(cat "$work/b")" = 'call ***-***-**** now'

# Unmaskable: compressed response -> exit 2 and nothing on stdout.
printf 'HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Type: application/json\r\nContent-Length: 4\r\n\r\nabcd' \
  | "$phigate" mask > "$work/out" 2> "$work/err"
check test $? -eq 2
check test ! -s "$work/out"
check grep -q content_encoding "$work/err"
# Malformed framing -> exit 2.
printf 'HTTP/1.1 200 OK\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd' | "$phigate" mask > "$work/out" 2>/dev/null
check test $? -eq 2
# Bad usage -> exit 1 with a message.
"$phigate" mask --segment 0 /dev/null 2> "$work/err"; check test $? -eq 1
check grep -q segment "$work/err"
"$phigate" mask --patterns /nonexistent /dev/null 2> "$work/err"; check test $? -eq 1

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
