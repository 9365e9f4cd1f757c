#!/usr/bin/env python3
"""Load and checks for the veth wire benchmark (scripts/bench-wire); not part of the build.

  gen DIR [--files N] [--kib K] [--seed S]   write N OpenAI chat.completion JSON bodies of ~K KiB with
                                             synthetic PHI, what each must look like masked, and the
                                             planted values (DIR/planted.txt)
  serve DIR ADDR PORT                        HTTP/1.1 keep-alive server of DIR/*.json from memory
  check DIR OUTDIR                           compare OUTDIR/<name>.json (fetched through the bridge)
                                             with DIR: leaks, exact masked copies, over-masking
  record DIR OUTDIR|'' SOCKET|'' MEASUREMENTS LOG...
                                             one result line (JSON) for scripts/bench-wire: the load
                                             clients' curl --write-out lines "%{size_download}
                                             %{size_header} %{url_effective} %{http_code} %{exitcode}"
                                             summed, OUTDIR checked, phigate-dp's counters read from
                                             its stats SOCKET, MEASUREMENTS as the script passes them

Every planted value is synthetic: SSNs with valid area/group/serial from a seeded generator,
NANP fictional-range phones (NXX-555-01xx), e-mail addresses on example.{com,org,net}. The filler
prose has no digits and no '@', so the only thing the engine should mask is what was planted, and
the expected masked body is exact.
"""
import json
import os
import random
import re
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

FILLER = [
    "The patient reported mild fatigue and was advised to continue the current regimen",
    "Follow up in clinic was recommended with repeat laboratory work before the visit",
    "No acute distress was observed and the physical examination was otherwise unremarkable",
    "Medication adherence was reviewed and the care plan was discussed with the family",
    "The assistant summarized the discharge instructions in plain language for the patient",
    "Blood pressure remained within the target range on the current dose of the medication",
    "Dietary counseling was provided and the patient agreed to keep a daily food diary",
    "Imaging showed no new findings compared with the prior study from the previous admission",
]
FIRST = ["jane", "john", "maria", "wei", "amir", "olga", "kofi", "lena", "raj", "sofia"]
LAST = ["doe", "smith", "garcia", "chen", "haddad", "ivanova", "mensah", "berg", "patel", "rossi"]
DOMAINS = ["example.com", "example.org", "example.net"]
# Everything shaped like a planted value; a leak is a match that is one of them, unmasked.
LEAK_RE = re.compile(r"\d{3}-\d{2}-\d{4}|(?:\d{3}-|\(\d{3}\) )555-01\d\d|[a-z]+\.[a-z]+\d+@example\.(?:com|org|net)")


def mask(value):
    return "".join("*" if c.isascii() and c.isalnum() else c for c in value)


def ssn(rng):
    while True:
        area = rng.randint(1, 899)
        if area != 666:
            break
    group, serial = rng.randint(1, 99), rng.randint(1, 9999)
    v = f"{area:03d}-{group:02d}-{serial:04d}"
    return v if len(set(v.replace("-", ""))) > 1 and v != "078-05-1120" else ssn(rng)


def phone(rng):
    while True:
        area = rng.randint(200, 989)
        if area % 100 != 11:  # N11 codes are service codes, not area codes
            break
    line = f"555-01{rng.randint(0, 99):02d}"
    return f"{area}-{line}" if rng.random() < 0.5 else f"({area}) {line}"


def email(rng):
    return f"{rng.choice(FIRST)}.{rng.choice(LAST)}{rng.randint(1, 9999)}@{rng.choice(DOMAINS)}"


def gen(directory, files, kib, seed):
    rng = random.Random(seed)
    os.makedirs(directory, exist_ok=True)
    planted_all = set()
    manifest = {}
    for i in range(files):
        parts, masked, planted = [], [], []
        size = 0
        while size < kib * 1024 - 400:
            # About two planted values per KB of model text (between the engine benchmarks' sparse
            # 0.28/KB and dense 28/KB corpora): prose, then one value of a random kind.
            prose = ". ".join(rng.choice(FILLER) for _ in range(rng.randint(2, 8))) + ". "
            kind = rng.randrange(3)
            value = (ssn, phone, email)[kind](rng)
            label = ("Patient SSN ", "Call back at ", "Contact e-mail ")[kind]
            parts.append(prose + label + value + "; ")
            masked.append(prose + label + mask(value) + "; ")
            planted.append(value)
            size += len(prose) + len(label) + len(value) + 2
        def body(text):
            doc = {"id": "chatcmpl-wire", "object": "chat.completion", "created": 1700000000,
                   "model": "clinical-wire", "choices": [{"index": 0, "message": {"role": "assistant",
                   "content": text}, "finish_reason": "stop"}]}
            return json.dumps(doc).encode()
        name = f"r{i:03d}"
        with open(os.path.join(directory, name + ".json"), "wb") as f:
            f.write(body("".join(parts)))
        with open(os.path.join(directory, name + ".expected"), "wb") as f:
            f.write(body("".join(masked)))
        manifest[name] = len(planted)
        planted_all.update(planted)
    with open(os.path.join(directory, "planted.txt"), "w") as f:
        f.write("\n".join(sorted(planted_all)) + "\n")
    with open(os.path.join(directory, "manifest.json"), "w") as f:
        json.dump(manifest, f)


def serve(directory, addr, port):
    bodies = {}
    for n in sorted(os.listdir(directory)):
        if n.endswith(".json") and n != "manifest.json":
            with open(os.path.join(directory, n), "rb") as f:
                bodies["/" + n] = f.read()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args):
            pass

        def do_GET(self):
            body = bodies.get(self.path)
            if body is None:
                self.send_error(404)
                return
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)  # unbuffered: one sendall of the whole body

    class Server(ThreadingHTTPServer):
        daemon_threads = True
        request_queue_size = 128

    Server((addr, int(port)), Handler).serve_forever()


def check(directory, outdir):
    planted = {l for l in open(os.path.join(directory, "planted.txt")).read().split("\n") if l}
    manifest = json.load(open(os.path.join(directory, "manifest.json")))
    res = {"responses": 0, "missing": 0, "exact": 0, "over_masked": 0, "wrong": 0, "leaks": 0,
           "planted_checked": 0}
    for name, count in sorted(manifest.items()):
        path = os.path.join(outdir, name + ".json")
        if not os.path.exists(path):
            res["missing"] += 1
            continue
        got = open(path, "rb").read().decode("latin-1")
        exp = open(os.path.join(directory, name + ".expected"), "rb").read().decode("latin-1")
        res["responses"] += 1
        res["planted_checked"] += count
        res["leaks"] += sum(1 for m in LEAK_RE.finditer(got) if m.group(0) in planted)
        if got == exp:
            res["exact"] += 1
        elif len(got) == len(exp) and all(g == e or (g == "*" and e.isalnum()) for g, e in zip(got, exp)):
            res["over_masked"] += 1  # a hold timer fired: more masked than needed (fail closed)
        else:
            res["wrong"] += 1
    return res


def tally(directory, logs):
    manifest = json.load(open(os.path.join(directory, "manifest.json")))
    sizes = {n: os.path.getsize(os.path.join(directory, n + ".json")) for n in manifest}
    res = {"transfers": 0, "body_bytes": 0, "header_bytes": 0, "failed": 0, "short": 0, "planted_delivered": 0}
    for log in logs:
        for line in open(log):
            f = line.split()
            if len(f) != 5:
                res["failed"] += 1  # e.g. the loop's own "curl exit N" line
                continue
            body, head, url, code, rc = int(f[0]), int(f[1]), f[2], f[3], f[4]
            name = url.rsplit("/", 1)[-1].removesuffix(".json")
            res["body_bytes"] += body
            res["header_bytes"] += head
            if rc != "0" or code != "200":
                res["failed"] += 1
            elif body != sizes.get(name, -1):
                res["short"] += 1
            else:
                res["transfers"] += 1
                res["planted_delivered"] += manifest[name]
    return res


def dp_stats(path):
    import socket
    try:
        s = socket.socket(socket.AF_UNIX)
        s.settimeout(5)
        s.connect(path)
        data = b""
        while chunk := s.recv(65536):
            data += chunk
        return json.loads(data)
    except (OSError, ValueError):
        return {}


def record(directory, fetched, sock, measurements, logs):
    (b, rep, ta, tb, t0, t1, bytes0, frames0, bytes1, frames1, busy0, total0, steal0, busy1, total1, steal1,
     load) = measurements.split()
    el = (int(tb) - int(ta)) / 1e9
    whole = (int(t1) - int(t0)) / 1e9
    dbytes, dframes = int(bytes1) - int(bytes0), int(frames1) - int(frames0)
    busy, total, steal = int(busy1) - int(busy0), int(total1) - int(total0), int(steal1) - int(steal0)
    t = tally(directory, logs)
    r = {"bridge": b, "rep": int(rep), "seconds": el,
         # TCP payload toward the clients: frame bytes minus Ethernet 14 + IPv4 20 + TCP 32 (timestamps).
         "http_gbps": (dbytes - 66 * dframes) * 8 / el / 1e9,
         "wire_gbps": dbytes * 8 / el / 1e9,
         # The whole run by the clients' own count (includes warm-up and the ramp-down after the deadline).
         "curl_gbps_whole_run": (t["body_bytes"] + t["header_bytes"]) * 8 / whole / 1e9,
         "responses_per_s": t["transfers"] / whole,
         "cpu_busy": busy / total if total else None, "cpu_steal": steal / total if total else None,
         "loadavg_1min": float(load), "load": t}
    if fetched:
        c = check(directory, fetched)
        r["check"] = c
        stats = dp_stats(sock) if sock else {}
        keep = ("rx_packets", "tx_packets", "bridged", "protected", "tx_dropped", "dispatch_drops", "resets_sent",
                "flows_created", "mask_bytes", "hold_flushes", "timer_resets", "requests", "responses", "findings",
                "workers", "drops", "resets")
        d = {k: stats[k] for k in keep if k in stats}
        d["drops"] = {k: v for k, v in d.get("drops", {}).items() if v}
        d["resets"] = {k: v for k, v in d.get("resets", {}).items() if v}
        r["dp"] = d
        # Findings the engine should have made: every planted value of every complete response.
        r["findings_expected"] = t["planted_delivered"] + c["planted_checked"]
    print(json.dumps(r))
    x = ""
    if fetched:
        c, d = r["check"], r["dp"]
        x = (f", leaks {c['leaks']}, exact {c['exact']}/{c['responses']}, findings {d.get('findings')}/"
             f"{r['findings_expected']}, resets {d.get('resets')}")
    print(f"bench-wire: rep {r['rep']} {b:8s} {r['http_gbps']:.3f} Gbps HTTP, {r['responses_per_s']:.0f} responses/s, "
          f"cpu busy {(r['cpu_busy'] or 0) * 100:.0f}%, load {float(load):.1f}, failed {t['failed']} short {t['short']}{x}",
          file=sys.stderr)


def main(argv):
    if len(argv) >= 2 and argv[0] == "gen":
        opts = dict(zip(argv[2::2], argv[3::2]))
        gen(argv[1], int(opts.get("--files", 16)), int(opts.get("--kib", 256)), int(opts.get("--seed", 20261128)))
    elif len(argv) == 4 and argv[0] == "serve":
        serve(argv[1], argv[2], argv[3])
    elif len(argv) == 3 and argv[0] == "check":
        print(json.dumps(check(argv[1], argv[2])))
    elif len(argv) >= 5 and argv[0] == "record":
        record(argv[1], argv[2], argv[3], argv[4], argv[5:])
    else:
        print(__doc__, file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
