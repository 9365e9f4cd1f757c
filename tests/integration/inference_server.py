#!/usr/bin/env python3
"""A small OpenAI-compatible inference server for the integration tests: fixed responses that
carry synthetic PHI (reserved ranges), as JSON and as SSE with values split across tokens."""
import hashlib
import json
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

CONTENT = ("Patient SSN 123-45-6789, phone 555-012-3456, email jane.doe@example.com, "
           "MRN 48213377. BP 120/80, dose 1/2 tab, version 2.4.1.")
TOKENS = ["Patient", " SSN", " 123", "-45-", "6789", ", phone", " 555", "-012", "-3456",
          ", email", " jane", ".doe", "@example", ".com", ". BP", " 120", "/80", "."]


LOG_LOCK = threading.Lock()


class Server(ThreadingHTTPServer):
    def handle_error(self, request, client_address):
        # socketserver's default prints a traceback with print(), which writes a line's text and
        # its newline separately: a handler thread's "received" line could land in between
        # ("...request from ('198.18.0.1', 4321)received <d>") and the tests would count it as a
        # garbled record line. One locked line instead (a reset connection is normal here: the
        # tests make phigate-dp reset flows).
        exc = sys.exc_info()[1]
        with LOG_LOCK:
            sys.stdout.write("handler error from %s: %s\n" % (client_address[0], type(exc).__name__))
            sys.stdout.flush()


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def do_POST(self):
        length = int(self.headers.get("Content-Length", "0"))
        raw = self.rfile.read(length)
        # What reached the server, by body digest: the tests match it against the audit log
        # (no request may arrive without a durable decision record). One locked write per line:
        # print() from concurrent handler threads interleaves its pieces ("received received <d>").
        with LOG_LOCK:
            sys.stdout.write("received %s\n" % hashlib.sha256(raw).hexdigest())
            sys.stdout.flush()
        body = json.loads(raw or b"{}")
        if body.get("echo_auth"):
            # What reached the server: the gate must have swapped in the backend credential.
            # Trailing whitespace is not part of a field value (RFC 9110 5.5); http.server keeps it.
            payload = json.dumps({"seen_authorization": self.headers.get("Authorization", "").strip()}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)
            return
        if body.get("gzip"):
            # Claims gzip but carries plaintext PHI: the appliance cannot mask it and must reset.
            payload = b'{"content": "SSN 123-45-6789"}'
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Encoding", "gzip")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)
            return
        if body.get("stream"):
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream")
            self.send_header("Cache-Control", "no-cache")
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            # "pause_after": i, "pause_s": t: a stall after token i (a slow model mid-value).
            pause_after, pause_s = int(body.get("pause_after", -1)), float(body.get("pause_s", 0))
            for i, tok in enumerate(TOKENS):
                ev = {"id": "chatcmpl-1", "object": "chat.completion.chunk", "created": 1700000000,
                      "model": "clinical-7b",
                      "choices": [{"index": 0, "delta": {"content": tok}, "finish_reason": None}]}
                data = ("data: " + json.dumps(ev) + "\n\n").encode()
                self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
                self.wfile.flush()
                time.sleep(pause_s if i == pause_after else 0.01)
            done = b"data: [DONE]\n\n"
            self.wfile.write(b"%x\r\n%s\r\n0\r\n\r\n" % (len(done), done))
            self.wfile.flush()
            return
        payload = json.dumps({"id": "chatcmpl-2", "object": "chat.completion", "created": 1700000000,
                              "model": "clinical-7b",
                              "choices": [{"index": 0, "message": {"role": "assistant", "content": CONTENT},
                                           "finish_reason": "stop"}]}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)


if __name__ == "__main__":
    host, port = sys.argv[1], int(sys.argv[2])
    Server((host, port), Handler).serve_forever()
