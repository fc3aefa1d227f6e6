#!/usr/bin/env python3
"""
The hostile-client soak of the Dynamo layer: many hostile clients at once, over real sockets,
against tests/soak/dynamo_soak_server (built with AddressSanitizer+UBSan) on 127.0.0.1.

    dynamo_soak.py --server build/asan/tests/soak/dynamo_soak_server [--seed N] [--batches N]
                   [--duration S] [--clients N] [--replay B[.K]] [...: http_soak.py's options]

The machinery is the HTTP soak's (http_soak.py, client.py, server.py: ways of sending, endings,
the checks after each batch and at the end); the requests are dyn_grammar.py's: query strings
and forms (deep `a[b][c]` nesting, thousands of keys, huge keys and values, bad percent-escapes,
invalid UTF-8), multipart bodies (broken or missing boundaries, huge and many part headers,
many parts and files, uploads cut by resets), JSON (too deep, too many items, invalid),
Content-Type lies, cookies (malformed, huge, many; the session cookie replayed, truncated,
tampered, foreign), CSRF tokens missing, wrong or from another session, static paths (`..`,
encoded dots and slashes, NUL, backslashes, long paths) with Range and conditional headers of
every shape, method override garbage, the crashing route, and the HTTP soak's broken requests,
in pipelines with splits, delays, half-closes and resets.

Each answer must have a status that request may get (never a 500 but from the crashing route;
its body where the request decides it), in order, within its deadline. After every batch, as
the HTTP soak: no sanitizer report, the server answering GET / within a second, its sockets
back to their baseline; and all its descriptors back to their baseline, the upload directory
empty (every temporary file removed, however the request ended). At the end: RSS bounded, idle
CPU ~0, a clean SIGTERM stop without a LeakSanitizer report. (--minimize works without the
server's session cookies: it starts its own servers.)
"""

import gzip
import os
import random
import shutil
import socket
import sys
import tempfile
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import dyn_grammar  # noqa: E402
import http_soak  # noqa: E402
from grammar import Plan  # noqa: E402
from scenarios import Refused, storm  # noqa: E402

UPLOADS_GONE_S = 5.0


def hello(status, norm):
    return status == 200 and norm.endswith(b"\r\n\r\n" + dyn_grammar.HELLO)


def upload_reset():
    """Twenty clients each sending a multipart body with a 2 MB file part, reset in the
    middle of the file, and ten whose route crashes once it has the file: each temporary file
    must go."""
    out = []
    for k in range(30):
        bnd = b"soakboundary%d" % k
        body = (
            b"--" + bnd + b'\r\nContent-Disposition: form-data; name="f"; filename="f.bin"\r\n'
            b"Content-Type: application/octet-stream\r\n\r\n"
            + b"x" * (2 << 20)
            + b"\r\n--"
            + bnd
            + b"--\r\n"
        )
        data = dyn_grammar.request(
            b"POST",
            b"/echo" if k < 20 else b"/echo/crash",
            [
                b"Content-Type: multipart/form-data; boundary=" + bnd + b"\r\n",
                b"Content-Length: %d\r\n" % len(body),
            ],
            body,
        )
        if k < 20:
            it = dyn_grammar.item(data, {200}, "upload")
            p = Plan(
                "upload-reset", [it], "reset", cut=len(data) // 2 + k * 1000, wait=0.05 * (k % 4)
            )
        else:
            p = Plan("upload-crash", [dyn_grammar.item(data, {500}, "upload-crash")])
        out.append(p)
    return [out]


def hello_item():
    return dyn_grammar.item(dyn_grammar.request(b"GET", b"/"), {200}, "hello", body=HELLO)


HELLO = dyn_grammar.HELLO


def hold(plan, seconds):
    """The client sends, never reads, and resets after `seconds` (its writes may stall)."""
    plan.ending, plan.deadline, plan.wait = "reset", seconds, seconds
    return plan


@storm(rss_growth_mib=96)
def noread_static():
    """Back-pressure on a static file: 150 clients each pipelining 30 GETs of a 512 KiB file,
    never reading, reset after 3 s, beside 20 that read 5 each (checked byte for byte). The
    server keeps at most its queue and the kernel's buffers per connection: RSS stays within
    ~100 MiB, not the 2.3 GB asked for."""
    get = dyn_grammar.request(b"GET", b"/static/big.bin")
    big = dyn_grammar.STATIC_FILES["big.bin"]
    out = [hold(Plan("noread-static", [dyn_grammar.item(get, {200}, "big")] * 30), 3.0)]
    out = out * 150
    out += [Plan("read-static", [dyn_grammar.item(get, {200}, "big", body=big)] * 5)] * 20
    return [[Plan(p.kind, p.items, p.ending, wait=p.wait, deadline=p.deadline) for p in out]]


@storm(rss_growth_mib=96, long=True)
def noread_stream():
    """Back-pressure on a streamed (chunked) answer: 100 clients ask for 16 MiB each; half never
    read and reset after 3 s, half read 1 MiB then reset. Each stream's writes suspend while its
    client does not read, and end when the reset comes (the sockets are back after the batch);
    RSS stays within ~100 MiB."""
    get = dyn_grammar.request(b"GET", b"/stream/256")
    out = []
    for k in range(100):
        p = Plan("noread-stream", [dyn_grammar.item(get, {200}, "stream")])
        if k % 2:
            hold(p, 3.0)
        else:
            p.ending, p.read_before_reset = "reset-response", 1 << 20
        out.append(p)
    return [out]


def crash_mid_upload():
    """Routes that crash while uploads are in flight: 20 multipart uploads of 2 MB to /echo
    sent in 64 KiB pieces 5 ms apart, beside 40 GETs of the crashing route, 10 of them with a
    2 MB body still coming when the route dies (500, then the close: the body is past what the
    server skips). Every answer comes; every temporary file goes."""
    r = random.Random(21)
    out = []
    for k in range(70):
        if k < 20:
            bnd = b"crashbnd%d" % k
            body = (
                b"--"
                + bnd
                + b'\r\nContent-Disposition: form-data; name="f"; filename="f"\r\n\r\n'
                + b"u" * (2 << 20)
                + b"\r\n--"
                + bnd
                + b"--\r\n"
            )
            hdrs = [b"Content-Type: multipart/form-data; boundary=" + bnd + b"\r\n"]
            it = dyn_grammar.item(
                dyn_grammar.request(
                    b"POST", b"/echo", hdrs + [b"Content-Length: %d\r\n" % len(body)], body
                ),
                {200},
                "upload",
                body=b"params 1 strings 0 bytes 1 uploads 1 size %d cookies 0" % (2 << 20),
            )
            items = [it, hello_item()]
        elif k < 30:
            body = b"b" * (2 << 20)
            data = dyn_grammar.request(
                b"GET", b"/raise/upload", [b"Content-Length: %d\r\n" % len(body)], body
            )
            items = [dyn_grammar.item(data, {500}, "raise-upload")]
        else:
            items = [
                dyn_grammar.item(dyn_grammar.request(b"GET", b"/raise/x%d" % k), {500}, "raise"),
                hello_item(),
            ]
        p = Plan("crash-mid-upload", items)
        if k < 30:
            data = p.data
            p.segments = [
                (0.0 if i == 0 else 0.005, data[i : i + 65536]) for i in range(0, len(data), 65536)
            ]
            p.deadline = 30
        p.start = r.uniform(0, 0.3)
        out.append(p)
    return [out]


def dyn_clients(tag, n, budget=512 << 10):
    out = []
    for k in range(n):
        cr = random.Random("%s:%d" % (tag, k))
        p = dyn_grammar.client(dyn_grammar.DynGrammar(cr, dyn_grammar.Material(), budget))
        p.start = cr.uniform(0, 0.5)
        out.append(p)
    return out


def pipeline_300():
    """Six clients pipelining 300 random Dynamo requests each (one write, or cut at random),
    and ten pipelining 500 GET /: all answered in order."""
    out = []
    for k in range(6):
        cr = random.Random("pipeline300:%d" % k)
        g = dyn_grammar.DynGrammar(cr, dyn_grammar.Material(), 16 << 20)
        items = []
        for _ in range(300):
            it = g.dyn_request()
            items.append(it)
            if it.last or it.terminal():
                break
        p = Plan("pipeline-300", items)
        p.segments = dyn_grammar.segments(cr, p.data, dyn_grammar._bounds(items))
        out.append(p)
    out += [Plan("pipeline-500", [hello_item() for _ in range(500)]) for _ in range(10)]
    return [out]


@storm(long=True)
def conn_flood():
    """2,000 connections at once (nothing sent, half a request, or whole ones), all dropped at
    once, half by a reset, half by a close; then 50 clients, all answered."""
    r = random.Random(22)
    get = dyn_grammar.request(b"GET", b"/")
    wave = []
    for k in range(2000):
        data = [b"", get[: r.randint(1, len(get) - 1)], get * r.randint(1, 3)][k % 3]
        p = Plan("flood", [dyn_grammar.item(data, {200}, "flood")])
        p.ending, p.wait = ("reset" if k % 2 else "noread"), 0.4
        wave.append(p)
    return [
        wave,
        [Plan("gets", [hello_item() for _ in range(r.randint(1, 20))]) for _ in range(50)],
    ]


@storm(nofile=96)
def fd_limit():
    """The Dynamo out of descriptors (a limit of 96, about 70 for connections and files): 60
    idle connections, then 200 clients at once asking for a static file, uploading a file part
    (a temporary file each) or GET /. Idle connections make room; a file that cannot be opened
    gets a 503, never the router's 404 nor a crash; a client may be refused (503 and the close,
    or the close: a new connection whose request had not arrived made room) before its first
    request; every temporary file goes. Then 30 clients, all answered."""
    r = random.Random(23)
    wave = [Plan("idle", [], "reset", segments=[], wait=3.0, deadline=0.1) for _ in range(60)]
    big = dyn_grammar.STATIC_FILES["big.bin"]
    for k in range(200):
        items = []
        for _ in range(r.randint(1, 4)):
            x = r.random()
            if x < 0.4:
                get = dyn_grammar.request(b"GET", b"/static/big.bin")
                items.append(dyn_grammar.item(get, {200, 503}, "big", body=big))
            elif x < 0.8:
                body = (
                    b'--b\r\nContent-Disposition: form-data; name="f"; filename="f"\r\n\r\n'
                    + b"u" * 5000
                    + b"\r\n--b--\r\n"
                )
                hdrs = [
                    b"Content-Type: multipart/form-data; boundary=b\r\n",
                    b"Content-Length: %d\r\n" % len(body),
                ]
                data = dyn_grammar.request(b"POST", b"/echo", hdrs, body)
                items.append(dyn_grammar.item(data, {200, 503}, "upload"))
            else:
                items.append(hello_item())
        items[0].optional = True  # closed unanswered: new and silent, it made room
        items[0].answers.append(Refused())
        p = Plan("fd-limit", items)
        p.start = r.uniform(0.05, 0.5)
        wave.append(p)
    return [wave, [Plan("gets", [hello_item()] * r.randint(1, 5)) for _ in range(30)]]


@storm(sigterm_after=0.7, long=True)
def sigterm_storm():
    """SIGTERM 0.7 s into a storm of 100 random Dynamo clients (uploads, sessions, static files,
    crashes): the graceful stop finishes in time, exits 0, leaks nothing (LeakSanitizer), and
    no client gets a wrong answer."""
    return [dyn_clients("dyn-sigterm", 100)]


APP = ["hello"]  # the app of the run (--app), for its named storms


@storm(sigterm_after=0.7)
def app_sigterm_storm():
    """SIGTERM 0.7 s into a storm of 100 random clients of the app."""
    plans = dyn_grammar.app_batch("app-sigterm", 0, 100, app=APP[0])[1]
    for p in plans:
        p.start = p.start * 0.5 / 0.3
    return [plans]


def app_flood():
    """The app under 2,000 connections at once, dropped at once, then 50 clients."""
    waves = conn_flood()
    index = dyn_grammar.request(b"GET", b"/")
    waves[1] = [
        Plan("gets", [dyn_grammar.item(index, {200, 302}, "index") for _ in range(k % 20 + 1)])
        for k in range(50)
    ]
    return waves


class DynSoak(http_soak.Soak):
    # With --app: an example application's node (apps/hello) under app_batch's clients.
    app_named = {"sigterm-storm": app_sigterm_storm, "conn-flood": app_flood}
    named = {
        "upload-reset": upload_reset,
        "noread-static": noread_static,
        "noread-stream": noread_stream,
        "crash-mid-upload": crash_mid_upload,
        "pipeline-300": pipeline_300,
        "fd-limit": fd_limit,
        "conn-flood": conn_flood,
        "sigterm-storm": sigterm_storm,
    }
    probe_want = staticmethod(hello)

    def __init__(self, args):
        self.app = APP[0] = os.path.basename(args.server)  # with --app: hello or fruits
        if args.app:
            if self.app not in dyn_grammar.APP_GRAMMARS:
                raise SystemExit("--app: no grammar for %s" % self.app)
            self.named = self.app_named
            self.probe_want = staticmethod(lambda status, norm: status in (200, 302))
        self.dir = tempfile.mkdtemp(prefix="dynamo-soak-")
        self.static = os.path.join(self.dir, "static")
        self.uploads = os.path.join(self.dir, "uploads")
        os.mkdir(self.uploads)
        for name, data in dyn_grammar.STATIC_FILES.items():
            path = os.path.join(self.static, name)
            os.makedirs(os.path.dirname(path), exist_ok=True)
            with open(path, "wb") as f:
                f.write(data)
            if name in dyn_grammar.STATIC_GZ:
                with open(path + ".gz", "wb") as f:
                    f.write(gzip.compress(data))
        self.material = None
        super().__init__(args)

    def env(self):
        if self.args.app:  # a node's temporary files (its uploads) go here
            return {"TMPDIR": self.uploads, "SECRET_KEY_BASE": "storm-" * 12}
        return {"DYN_SOAK_STATIC": self.static, "DYN_SOAK_UPLOADS": self.uploads}

    def batch(self, seed, b, clients, avoid):
        if self.material is None and self.server.alive():
            self.material = self.get_material()
        if self.args.app:
            return dyn_grammar.app_batch(seed, b, clients, avoid, self.material, self.app)
        return dyn_grammar.batch(seed, b, clients, avoid, self.material)

    def get_material(self):
        """Session cookies (with their CSRF tokens) and signed and encrypted cookies, as the
        server issues them (the app: the session cookies of logins)."""
        if self.args.app and self.app != "hello":
            return dyn_grammar.Material()
        if self.args.app:
            sessions = []
            for i in range(3):
                head, _ = self.ask(
                    b"POST /login HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
                    b"Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 10\r\n"
                    b"\r\nuser_id=1%d" % i
                )
                sessions.append((cookie_of(head, b"_hello_key"), b""))
            self.say("material: %d session cookies" % len(sessions))
            return dyn_grammar.Material(sessions)
        sessions = []
        for i in range(4):
            head, body = self.ask(b"GET /csrf HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            c = cookie_of(head, b"_soak_session")
            if i == 3:  # a session holding more than the token
                head, _ = self.ask(
                    b"POST /session HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
                    b"Cookie: _soak_session=" + c + b"\r\n"
                    b"Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 7\r\n\r\n"
                    b"a=1&b=2"
                )
                c = cookie_of(head, b"_soak_session") or c
            sessions.append((c, body))
        head, _ = self.ask(b"GET /cookie?v=soak HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        m = dyn_grammar.Material(sessions, cookie_of(head, b"cs"), cookie_of(head, b"ce"))
        self.say(
            "material: %d session cookies of %s bytes"
            % (len(sessions), [len(c) for c, _ in sessions])
        )
        return m

    def ask(self, req, status=200):
        with socket.create_connection(("127.0.0.1", self.server.port), timeout=5) as s:
            s.sendall(req)
            buf = b""
            while True:
                d = s.recv(65536)
                if not d:
                    break
                buf += d
        head, _, body = buf.partition(b"\r\n\r\n")
        if not head.startswith(b"HTTP/1.1 %d" % status):
            raise RuntimeError("material: %r answered %r" % (req[:60], buf[:300]))
        return head, body

    def start_server(self, *opts):
        super().start_server(*opts)
        if self.args.app == "dev" and self.app == "hello":
            # the dev exception page opens the modules once (its backtraces), then keeps them
            self.ask(b"GET /oops/warm-up HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", 500)
        self.base_fds = self.server.fds()

    def extra_checks(self, where, replay):
        ok = True
        n = self.server.fds()
        if n > self.base_fds:  # sockets are back (checked before): uploads', static files'
            self.fail(
                where,
                "%d descriptors open after the clients left (baseline %d): %s"
                % (n, self.base_fds, self.server.fd_targets()),
                replay,
            )
            ok = False
        return self.uploads_gone(where, replay) and ok

    def check_stopped(self, where, replay):
        """After a stop under load, as well: no temporary file left."""
        ok = super().check_stopped(where, replay)
        return self.uploads_gone(where, replay) and ok

    def uploads_gone(self, where, replay):
        t0 = time.monotonic()
        while True:
            left = os.listdir(self.uploads)
            if not left or time.monotonic() - t0 > UPLOADS_GONE_S:
                break
            time.sleep(0.05)
        if left:
            self.fail(
                where,
                "%d temporary upload file(s) left in %s %.0f s after the clients left: %s"
                % (len(left), self.uploads, UPLOADS_GONE_S, left[:5]),
                replay,
            )
            for n in left:
                os.unlink(os.path.join(self.uploads, n))
            return False
        return True

    def run(self):
        try:
            return super().run()
        finally:
            shutil.rmtree(self.dir, ignore_errors=True)


def cookie_of(head, name):
    for line in head.split(b"\r\n"):
        if line.lower().startswith(b"set-cookie: " + name.lower() + b"="):
            return line.split(b"=", 1)[1].split(b";", 1)[0]
    return b""


if __name__ == "__main__":
    sys.exit(http_soak.main(DynSoak, __doc__, "dynamo_soak_server"))
