#!/usr/bin/env bash
# End-to-end: phigate replay as an operator runs it, on recordings written by the real writer
# (recording_fixture). Checks the text view against a golden file, the JSON and raw views, and
# that every refusal (no key, wrong key, loose key file, modified or truncated file) exits 2 with
# a clear message and prints nothing on stdout. No output may ever hold the credential the
# fixture's request carried.
set -u
phigate=$1 fixture=$2 golden=$3
case $golden in /*) ;; *) golden=$PWD/$golden ;; esac
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
pass=0 fail=0
check() { if "$@"; then pass=$((pass+1)); else fail=$((fail+1)); echo "FAIL (line ${BASH_LINENO[0]}): $*" >&2; fi; }
rc() { "$@" > "$work/out" 2> "$work/err"; echo $?; }
no_secret() { ! grep -aq 'SECRET\|TOKEN-123' "$@"; }
# Flips the lowest bit of the byte at offset $2 of file $1, in place.
flip() {
  local b
  b=$(od -An -tu1 -j "$2" -N1 "$1" | tr -d ' ')
  printf "$(printf '\\%03o' $((b ^ 1)))" | dd of="$1" bs=1 seek="$2" conv=notrunc status=none
}

"$fixture" "$work" || { echo "fixture failed" >&2; exit 1; }
cd "$work" || exit 1
check test "$(stat -c %a sess-0001.rec)" = 600

# Text view: golden, with the per-file digest (random nonce) checked and then normalised.
check test "$(rc "$phigate" replay --key key sess-0001.rec)" = 0
check test ! -s err
digest=$(sha256sum sess-0001.rec | cut -d' ' -f1)
check grep -qx "sha256     $digest" out
sed 's/^sha256     [0-9a-f]\{64\}$/sha256     <digest>/' out > text.norm
check diff -u "$golden" text.norm
check no_secret out
cp out text.out

# The key from the environment; --key wins over it.
check test "$(PHIGATE_RECORDING_KEY=key rc "$phigate" replay sess-0001.rec)" = 0
check cmp -s out text.out
check test "$(PHIGATE_RECORDING_KEY=key2 rc "$phigate" replay --key key sess-0001.rec)" = 0
check cmp -s out text.out

# JSON view.
check test "$(rc "$phigate" replay --key key --json sess-0001.rec)" = 0
cp out json.out
check no_secret json.out
jqx() { jq -e "$1" json.out > /dev/null; }
check jqx '.session_id == "sess-0001" and .key_id == "054723b072bb95d3" and .format_version == 1'
check jqx ".sha256 == \"$digest\""
check jqx '.flow.client == "10.1.2.3:50000" and .flow.server == "[fd00::9]:8000"'
check jqx '.start_utc == "2024-05-01T12:00:00.123456789Z" and .request_ids == ["req-a1"]'
check jqx '(.events | length) == 7 and .truncated == null and .rejected_masks == 0'
check jqx '[.events[].t_ns] == [0, 250000, 12345678, 15000000, 20000000, 21000000, 1500000000]'
check jqx '[.events[].direction] == ["request","request","response","response","response","response","response"]'
check jqx '.events[0].text | endswith("Authorization: [redacted]")'
check jqx '.events[3].masks == [{"offset":21,"length":11,"entity":"ssn"},{"offset":39,"length":14,"entity":"phone"}]'
check jqx '.events[3].text[21:32] == "***-**-****"'
check jqx '(.events[4] | has("text") | not) and .events[4].length == 44'
check jqx '.events[5].length == 0 and .events[5].data_base64 == ""'

# Raw view: exactly the stored bytes, in order (request credential redacted).
check test "$(rc "$phigate" replay --key key --raw sess-0001.rec)" = 0
{
  printf 'POST /v1/chat/completions HTTP/1.1\r\nHost: llm.internal\r\nAuthorization: [redacted]'
  printf '\r\nContent-Type: application/json\r\nContent-Length: 45\r\n\r\n{"messages":[{"role":"user","content":"hi"}]}'
  printf 'HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 76\r\n\r\n'
  printf '{"text":"Patient SSN ***-**-**** phone (***) ***-****","note":"tab\there"}\n'
  printf '\033[31mred\033[0m \377\376 zero\342\200\213width MRN \357\274\212\357\274\212 ok\r\n'
  printf 'x%.0s' $(seq 95); printf '*%.0s' $(seq 10); printf 'y%.0s' $(seq 45)
} > raw.expected
check cmp out raw.expected
# The JSON view's base64 carries the same bytes.
jq -r '.events[].data_base64' json.out | while read -r line; do printf '%s' "$line" | base64 -d; done > json.raw
check cmp json.raw raw.expected

# A session cut by its cap shows the marker.
check test "$(rc "$phigate" replay --key key sess-0002.rec)" = 0
check grep -qx -- '-- truncated at +2.000 ms by the max_bytes cap (64 bytes): 214 bytes in 2 events not recorded' out
check grep -q 'requests   req-b1, req-b2' out
check test "$(rc "$phigate" replay --key key --json sess-0002.rec)" = 0
check jq -e '.truncated == {"cap":"max_bytes","at_t_ns":2000000,"bytes_dropped":214,"events_dropped":2}' out

# Refusals: exit 2, a reason on stderr, nothing on stdout.
refused() {  # refused PATTERN command...
  local pattern=$1
  shift
  local code
  code=$("$@" > "$work/out" 2> "$work/err"; echo $?)
  [ "$code" = 2 ] && [ ! -s "$work/out" ] && grep -q -- "$pattern" "$work/err" && no_secret "$work/err"
}
check refused 'no key given; the recording is sealed with key id 054723b072bb95d3' \
  env -u PHIGATE_RECORDING_KEY "$phigate" replay sess-0001.rec
check refused 'no key given' env PHIGATE_RECORDING_KEY= "$phigate" replay sess-0001.rec
check refused 'authentication failed: wrong key (the recording names key id 054723b072bb95d3' \
  "$phigate" replay --key key2 sess-0001.rec
check refused 'wrong key' env PHIGATE_RECORDING_KEY=key2 "$phigate" replay --json sess-0001.rec
cp key loose.key && chmod 644 loose.key
check refused 'accessible by group or others (chmod 600)' "$phigate" replay --key loose.key sess-0001.rec
chmod 640 loose.key
check refused 'chmod 600' "$phigate" replay --key loose.key --raw sess-0001.rec
head -c 31 key > short.key && chmod 600 short.key
check refused 'exactly 32 bytes' "$phigate" replay --key short.key sess-0001.rec
check refused 'cannot open key file' "$phigate" replay --key missing.key sess-0001.rec

size=$(stat -c %s sess-0001.rec)
for off in 10 12 25 40 $((size / 2)) $((size - 17)) $((size - 1)); do
  cp sess-0001.rec t.rec && flip t.rec "$off"
  check refused 'authentication failed' "$phigate" replay --key key t.rec
  check refused 'authentication failed' "$phigate" replay --key key --raw t.rec
done
cp sess-0001.rec t.rec && flip t.rec 0
check refused 'not a phigate recording' "$phigate" replay --key key t.rec
cp sess-0001.rec t.rec && flip t.rec 9
check refused 'unsupported recording format version' "$phigate" replay --key key t.rec
head -c $((size - 1)) sess-0001.rec > t.rec
check refused 'authentication failed' "$phigate" replay --key key t.rec
head -c 40 sess-0001.rec > t.rec
check refused 'truncated' "$phigate" replay --key key t.rec
{ cat sess-0001.rec; printf 'x'; } > t.rec
check refused 'authentication failed' "$phigate" replay --key key t.rec
check refused 'not a phigate recording' "$phigate" replay --key key key

# Usage and input errors exit 1.
check test "$(rc "$phigate" replay)" = 1
check test "$(rc "$phigate" replay --key key)" = 1
check test "$(rc "$phigate" replay --key)" = 1
check test "$(rc "$phigate" replay --bogus sess-0001.rec)" = 1
check test "$(rc "$phigate" replay --key key sess-0001.rec sess-0002.rec)" = 1
check test "$(rc "$phigate" replay --key key --json --raw sess-0001.rec)" = 1
check test "$(rc "$phigate" replay --key key missing.rec)" = 1
check grep -q 'missing.rec: cannot open' err
check test "$(rc "$phigate" replay --help)" = 0
check grep -q 'usage: phigate replay' out

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
