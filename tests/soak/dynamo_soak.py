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


class DynSoak(http_soak.Soak):
    named = {"upload-reset": upload_reset}
    probe_want = staticmethod(hello)

    def __init__(self, args):
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
        return {"DYN_SOAK_STATIC": self.static, "DYN_SOAK_UPLOADS": self.uploads}

    def batch(self, seed, b, clients, avoid):
        if self.material is None and self.server.alive():
            self.material = self.get_material()
        return dyn_grammar.batch(seed, b, clients, avoid, self.material)

    def get_material(self):
        """Session cookies (with their CSRF tokens) and signed and encrypted cookies, as the
        server issues them."""
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

    def ask(self, req):
        with socket.create_connection(("127.0.0.1", self.server.port), timeout=5) as s:
            s.sendall(req)
            buf = b""
            while True:
                d = s.recv(65536)
                if not d:
                    break
                buf += d
        head, _, body = buf.partition(b"\r\n\r\n")
        if not head.startswith(b"HTTP/1.1 200"):
            raise RuntimeError("material: %r answered %r" % (req[:60], buf[:300]))
        return head, body

    def start_server(self):
        super().start_server()
        self.base_fds = self.server.fds()

    def extra_checks(self, where, replay):
        ok = True
        n = self.server.fds()
        if n > self.base_fds:  # sockets are back (checked before): uploads', static files'
            self.fail(
                where,
                "%d descriptors open after the clients left (baseline %d): %s"
                % (n, self.base_fds, sorted(os.listdir("/proc/%d/fd" % self.server.proc.pid))),
                replay,
            )
            ok = False
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
        return ok

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
