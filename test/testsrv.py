#!/usr/bin/env python3
"""Loopback HTTP/1.1 test server for corral's tests (standard library only).

Usage: python3 testsrv.py --ports N

Listens on N ports of 127.0.0.1 (each bound to port 0), prints one line
"PORTS p1 ... pN" to stdout, then serves until stdin reaches EOF or the
process gets SIGTERM.  All ports serve the same routes and share one state.

Bodies are deterministic: for request target T (path + query, as received)
byte i of a body is (i * 7 + s) & 0xff, where s = (sum of the bytes of T)
& 0xff.  test/testsrv.c computes the same bodies for the C tests.

Content routes (GET; HEAD gives the same headers without a body):
  /bytes/N[/rest]       N bytes; ETag, Last-Modified, Range, If-Range,
                        If-None-Match, If-Modified-Since
  /lm/N[/rest]          as /bytes with an older Last-Modified
  /slow/N/MS[/rest]     N bytes in ~8 pieces spread over MS milliseconds
  /status/C[/rest]      status C with a short text body
  /flaky/K/N[/rest]     first K requests for the target: 503 with
                        Retry-After (0, or ?ra=SECONDS, or ?ra=date for an
                        HTTP-date 2-3 s ahead); then like /bytes/N
  /drop/K/T/N[/rest]    like /bytes/N, but the first T requests for the
                        target close the connection after K body bytes
  /short/N/M[/rest]     Content-Length N, M bytes, then close
  /oneshot/N[/rest]     like /bytes/N, then the server closes the kept-alive
                        connection (no "Connection: close": the client finds
                        out while the connection sits idle)
  /redirect/N[/rest]    302 to /redirect/N-1[/rest]; /redirect/0 goes to
                        /bytes/64[/rest] (the query is kept)
  /to?u=URLENCODED      302 to the decoded Location
  /loop/a, /loop/b      redirect to each other forever
  /rel/x                302 to the relative ../bytes/32/rel.bin
  /stall/N/K[/rest]     Content-Length N, K bytes, then silence (<= 60 s)
  /endless[/rest]       chunked body that never ends
  /cd/NAME[/rest]       64 bytes, Content-Disposition filename="<decoded>"
  /cd5987/NAME[/rest]   64 bytes, filename*=UTF-8''<NAME as given>
Control routes (not counted):
  /_stats[?t=TARGET]    JSON counters; with t, "count" for that target
  /_log?t=TARGET        JSON list of the requests for that target
  /_reset               zero counters and logs
"""

import email.utils
import http.server
import json
import math
import os
import re
import select
import signal
import socket
import sys
import threading
import time
import urllib.parse
import zlib

LM_BYTES = "Wed, 21 Oct 2015 07:28:00 GMT"
LM_OLD = "Tue, 15 Nov 1994 08:12:31 GMT"
CHUNK = 256 * 1024
STALL_MAX = 60.0

PATTERNS = [bytes((i * 7 + s) & 0xFF for i in range(256)) for s in range(256)]


def body_slice(target, start, length):
    """Bytes [start, start + length) of the body for target."""
    pat = PATTERNS[sum(target.encode("latin-1")) & 0xFF]
    off = start % 256
    reps = (off + length) // 256 + 1
    return (pat * reps)[off:off + length]


def etag_of(target):
    return '"%08x"' % (zlib.crc32(target.encode("latin-1")) & 0xFFFFFFFF)


def http_time(text):
    try:
        return email.utils.parsedate_to_datetime(text).timestamp()
    except (TypeError, ValueError, IndexError, OverflowError):
        return None


class State:
    """Counters and logs shared by every port; one lock guards them."""

    def __init__(self, ports):
        self.lock = threading.Lock()
        self.ports = ports
        self.reset()

    def reset(self):
        with self.lock:
            self.requests = {}
            self.logs = {}
            self.total = 0
            self.cur = getattr(self, "cur", 0)
            self.cur_by_port = getattr(self, "cur_by_port", {})
            self.max = self.cur
            self.max_by_port = {p: self.cur_by_port.get(p, 0)
                                for p in self.ports}

    def count(self, target, entry):
        with self.lock:
            n = self.requests.get(target, 0) + 1
            self.requests[target] = n
            self.total += 1
            self.logs.setdefault(target, []).append(entry)
            return n

    def conn_open(self, port):
        with self.lock:
            self.cur += 1
            self.max = max(self.max, self.cur)
            c = self.cur_by_port.get(port, 0) + 1
            self.cur_by_port[port] = c
            self.max_by_port[port] = max(self.max_by_port.get(port, 0), c)

    def conn_close(self, port):
        with self.lock:
            self.cur -= 1
            self.cur_by_port[port] -= 1

    def stats(self, target):
        with self.lock:
            # Scalars first and the target map last, so that a naive
            # search for "key": finds the scalar, not a target name.
            d = {"total": self.total, "max_conns": self.max,
                 "cur_conns": self.cur}
            if target is not None:
                d["count"] = self.requests.get(target, 0)
            d["max_conns_by_port"] = {str(p): m for p, m in
                                      sorted(self.max_by_port.items())}
            d["requests"] = dict(self.requests)
            return d

    def log(self, target):
        with self.lock:
            return list(self.logs.get(target, []))


STATE = None


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def version_string(self):
        return "corral-testsrv/1"

    def setup(self):
        super().setup()
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.port = self.server.server_address[1]
        self.counted = False
        self.head = False

    def finish(self):
        try:
            super().finish()
        finally:
            if self.counted:
                STATE.conn_close(self.port)
                self.counted = False

    def log_message(self, format, *args):
        pass

    def do_GET(self):
        self.dispatch()

    def do_HEAD(self):
        self.head = True
        try:
            self.dispatch()
        finally:
            self.head = False

    # -- plumbing ---------------------------------------------------------

    def dispatch(self):
        path, _, query = self.path.partition("?")
        self.query = urllib.parse.parse_qs(query, encoding="latin-1")
        control = CONTROL.get(path)
        if control:
            control(self)
            return
        if not self.counted:
            # A connection counts as open from its first counted request,
            # so the harness's own /_stats connections never show up.
            self.counted = True
            STATE.conn_open(self.port)
        self.nth = STATE.count(self.path, self.log_entry())
        for rx, fn in ROUTES:
            m = rx.match(path)
            if m:
                fn(self, *m.groups())
                return
        self.text(404, "not found\n")

    def log_entry(self):
        return {"t": time.time(), "range": self.headers.get("Range"),
                "if_range": self.headers.get("If-Range"),
                "headers": dict(self.headers.items())}

    def param(self, name):
        v = self.query.get(name)
        return v[0] if v else None

    def write(self, data):
        if not self.head and data:
            self.wfile.write(data)

    def text(self, code, msg, headers=()):
        data = msg.encode("latin-1")
        self.send_response(code)
        for k, v in headers:
            self.send_header(k, v)
        if code >= 200 and code not in (204, 304):
            self.send_header("Content-Type", "text/plain")
            self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if code >= 200 and code not in (204, 304):
            self.write(data)

    def json(self, obj):
        data = json.dumps(obj).encode("ascii")
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.write(data)

    def hangup(self):
        self.close_connection = True
        try:
            self.wfile.flush()
            self.connection.shutdown(socket.SHUT_WR)
        except OSError:
            pass

    def send_body(self, start, length):
        end = start + length
        while start < end and not self.head:
            n = min(CHUNK, end - start)
            self.wfile.write(body_slice(self.path, start, n))
            start += n

    def wait_client_gone(self, limit):
        """Sleep until the peer closes, sends something, or limit passes."""
        deadline = time.monotonic() + limit
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                return
            r, _, _ = select.select([self.connection], [], [], left)
            if r:
                return

    # -- validators and ranges ------------------------------------------

    def not_modified(self, etag, lm):
        inm = self.headers.get("If-None-Match")
        if inm is not None:
            tags = [t.strip() for t in inm.split(",")]
            tags = [t[2:] if t.startswith("W/") else t for t in tags]
            return "*" in tags or etag in tags
        ims = self.headers.get("If-Modified-Since")
        if ims is not None:
            when = http_time(ims)
            return when is not None and http_time(lm) <= when
        return False

    def if_range_ok(self, etag, lm):
        ir = self.headers.get("If-Range")
        if ir is None:
            return True
        ir = ir.strip()
        if ir.startswith('"') or ir.startswith("W/"):
            return ir == etag
        return ir == lm or http_time(ir) == http_time(lm)

    def parse_range(self, n):
        """(start, end) inclusive, None for a full body, or 'bad' (416)."""
        rng = self.headers.get("Range")
        if rng is None:
            return None
        m = re.fullmatch(r"\s*bytes\s*=\s*(\d*)\s*-\s*(\d*)\s*", rng)
        if not m or (m.group(1) == "" and m.group(2) == ""):
            return None
        a, b = m.group(1), m.group(2)
        if a == "":
            suffix = int(b)
            if suffix == 0:
                return "bad"
            return (max(0, n - suffix), n - 1)
        start = int(a)
        end = n - 1 if b == "" else min(int(b), n - 1)
        if start >= n or end < start:
            return "bad"
        return (start, end)

    def content(self, n, lm=LM_BYTES, cut=None, ranges=True, extra=()):
        """Send the body of n bytes; cut = close after that many bytes."""
        etag = etag_of(self.path)
        if ranges and self.not_modified(etag, lm):
            self.send_response(304)
            self.send_header("ETag", etag)
            self.send_header("Last-Modified", lm)
            self.end_headers()
            return
        rng = self.parse_range(n) if ranges else None
        if rng is not None and not self.if_range_ok(etag, lm):
            rng = None
        if rng == "bad":
            self.text(416, "range not satisfiable\n",
                      [("Content-Range", "bytes */%d" % n)])
            return
        start, end = rng if rng else (0, n - 1)
        self.send_response(206 if rng else 200)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(end - start + 1))
        if ranges:
            self.send_header("Accept-Ranges", "bytes")
            self.send_header("ETag", etag)
            self.send_header("Last-Modified", lm)
        if rng:
            self.send_header("Content-Range",
                             "bytes %d-%d/%d" % (start, end, n))
        for k, v in extra:
            self.send_header(k, v)
        self.end_headers()
        length = end - start + 1
        if cut is not None and cut < length and not self.head:
            self.send_body(start, cut)
            self.hangup()
            return
        self.send_body(start, length)

    # -- routes -----------------------------------------------------------

    def r_bytes(self, n, rest):
        self.content(int(n))

    def r_lm(self, n, rest):
        self.content(int(n), lm=LM_OLD)

    def r_slow(self, n, ms, rest):
        n, delay = int(n), int(ms) / 1000.0 / 8
        self.send_response(200)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(n))
        self.end_headers()
        if self.head:
            return
        self.wfile.flush()
        step = max(1, math.ceil(n / 8))
        for start in range(0, 8 * step, step):
            time.sleep(delay)
            if start < n:
                self.send_body(start, min(step, n - start))

    def r_status(self, code, rest):
        code = int(code)
        if code < 200 or code > 999:
            self.text(400, "bad status\n")
            return
        self.text(code, "status %d\n" % code)

    def r_flaky(self, k, n, rest):
        if self.nth > int(k):
            self.content(int(n))
            return
        ra = self.param("ra")
        if ra is None:
            ra = "0"
        elif ra == "date":
            ra = email.utils.formatdate(math.ceil(time.time() + 2),
                                        usegmt=True)
        self.text(503, "flaky %d/%s\n" % (self.nth, k), [("Retry-After", ra)])

    def r_drop(self, k, t, n, rest):
        cut = int(k) if self.nth <= int(t) else None
        self.content(int(n), cut=cut)

    def r_short(self, n, m, rest):
        self.content(int(n), cut=int(m), ranges=False)

    def r_oneshot(self, n, rest):
        self.content(int(n))
        self.hangup()

    def redirect(self, location):
        self.text(302, "redirect\n", [("Location", location)])

    def r_redirect(self, n, rest):
        n = int(n)
        q = self.path.partition("?")[2]
        q = "?" + q if q else ""
        if n > 0:
            self.redirect("/redirect/%d%s%s" % (n - 1, rest or "", q))
        else:
            self.redirect("/bytes/64%s%s" % (rest or "", q))

    def r_to(self):
        u = self.param("u")
        if u is None:
            self.text(400, "missing u\n")
            return
        self.redirect(u)

    def r_loop(self, which):
        self.redirect("/loop/" + ("b" if which == "a" else "a"))

    def r_rel(self):
        self.redirect("../bytes/32/rel.bin")

    def r_stall(self, n, k, rest):
        n, k = int(n), int(k)
        self.send_response(200)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(n))
        self.end_headers()
        if self.head:
            return
        self.send_body(0, min(k, n))
        self.wfile.flush()
        self.wait_client_gone(STALL_MAX)
        self.hangup()

    def r_endless(self, rest):
        self.send_response(200)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        if self.head:
            return
        off = 0
        self.close_connection = True
        while True:
            data = body_slice(self.path, off, 1024)
            self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
            off += len(data)
            time.sleep(0.01)

    def r_cd(self, name, rest):
        raw = urllib.parse.unquote_to_bytes(name).decode("latin-1")
        raw = raw.replace("\r", "").replace("\n", "")
        self.content(64, extra=[("Content-Disposition",
                                 'attachment; filename="%s"' % raw)])

    def r_cd5987(self, name, rest):
        self.content(64, extra=[("Content-Disposition",
                                 "attachment; filename*=UTF-8''" + name)])

    # -- control ----------------------------------------------------------

    def c_stats(self):
        self.json(STATE.stats(self.param("t")))

    def c_log(self):
        self.json(STATE.log(self.param("t") or ""))

    def c_reset(self):
        STATE.reset()
        self.json({"reset": True})


ROUTES = [
    (re.compile(r"/bytes/(\d+)(/.*)?$"), Handler.r_bytes),
    (re.compile(r"/lm/(\d+)(/.*)?$"), Handler.r_lm),
    (re.compile(r"/slow/(\d+)/(\d+)(/.*)?$"), Handler.r_slow),
    (re.compile(r"/status/(\d+)(/.*)?$"), Handler.r_status),
    (re.compile(r"/flaky/(\d+)/(\d+)(/.*)?$"), Handler.r_flaky),
    (re.compile(r"/drop/(\d+)/(\d+)/(\d+)(/.*)?$"), Handler.r_drop),
    (re.compile(r"/short/(\d+)/(\d+)(/.*)?$"), Handler.r_short),
    (re.compile(r"/oneshot/(\d+)(/.*)?$"), Handler.r_oneshot),
    (re.compile(r"/redirect/(\d+)(/.*)?$"), Handler.r_redirect),
    (re.compile(r"/to$"), Handler.r_to),
    (re.compile(r"/loop/([ab])$"), Handler.r_loop),
    (re.compile(r"/rel/[^/]+$"), Handler.r_rel),
    (re.compile(r"/stall/(\d+)/(\d+)(/.*)?$"), Handler.r_stall),
    (re.compile(r"/endless(/.*)?$"), Handler.r_endless),
    (re.compile(r"/cd/([^/]+)(/.*)?$"), Handler.r_cd),
    (re.compile(r"/cd5987/([^/]+)(/.*)?$"), Handler.r_cd5987),
]

CONTROL = {
    "/_stats": Handler.c_stats,
    "/_log": Handler.c_log,
    "/_reset": Handler.c_reset,
}


class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 512

    def handle_error(self, request, client_address):
        # Clients that hang up mid-response are routine in these tests.
        if isinstance(sys.exc_info()[1], OSError):
            return
        super().handle_error(request, client_address)


def watch_stdin():
    try:
        while os.read(0, 4096):
            pass
    finally:
        os._exit(0)


def main():
    global STATE
    args = sys.argv[1:]
    nports = 1
    if len(args) == 2 and args[0] == "--ports":
        nports = int(args[1])
    elif args:
        sys.stderr.write("usage: testsrv.py [--ports N]\n")
        return 2
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    servers = [Server(("127.0.0.1", 0), Handler) for _ in range(nports)]
    ports = [s.server_address[1] for s in servers]
    STATE = State(ports)
    for s in servers:
        threading.Thread(target=s.serve_forever, daemon=True).start()
    sys.stdout.write("PORTS %s\n" % " ".join(str(p) for p in ports))
    sys.stdout.flush()
    watch_stdin()
    return 0


if __name__ == "__main__":
    sys.exit(main())
