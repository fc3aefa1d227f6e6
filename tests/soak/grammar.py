"""
The soak's grammar: what one hostile client sends (requests, valid and broken), what the server
must answer to each, byte for byte (the Date value aside), and how the client sends it (split
points, delays, how it ends). Everything is drawn from one random.Random, so a seed gives the
same clients again.

The answers follow tests/bench/http_hello.c and the server's rules (docs/http.md):
- GET/HEAD / -> 200 "Hello, World!"; GET/HEAD /users/ID -> 200 "user ID" (ID without '/', at
  most 251 bytes, the query cut off); POST/PUT /echo -> 200 with the body and X-Trailers;
  anything else 404 "Not Found\\n".
- A body the handler does not read is discarded up to 64 KiB (max_skip_body): a Content-Length
  past that makes the answer say "Connection: close"; a chunked body past that (or malformed)
  ends the connection after the answer.
- Bad input gets "<status> <reason>" with a "<reason>\\n" body and "Connection: close", then
  the server closes.
"""

import random

TCHAR = b"!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
ALNUM = b"0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
PCHAR = ALNUM + b"-._~!$&'()*+,;=:@"
VCHAR = bytes(range(0x21, 0x7F)) + bytes(range(0x80, 0x100))  # field values (obs-text too)
QDTEXT = bytes(c for c in range(0x20, 0x7F) if c not in b'"\\') + bytes(range(0x80, 0x100))
NOT_CRLF = bytes(c for c in range(256) if c not in b"\r\n")
CTL = bytes(c for c in range(0x00, 0x20) if c not in b"\t\r\n") + b"\x7f"

REASONS = {
    100: "Continue",
    200: "OK",
    400: "Bad Request",
    404: "Not Found",
    408: "Request Timeout",
    413: "Content Too Large",
    414: "URI Too Long",
    417: "Expectation Failed",
    431: "Request Header Fields Too Large",
    501: "Not Implemented",
    505: "HTTP Version Not Supported",
}

DATE = b"<DATE>"  # stands for the Date value, checked apart (client.py)
HELLO = b"Hello, World!"
NOT_FOUND = b"Not Found\n"
SKIP_MAX = 65536  # limits.max_skip_body
BODY_MAX = 8 << 20  # limits.max_body_size

# What may follow an answer on its connection: the next answer (CONT), the server's close (END),
# either (MAYBE: a limit the server may apply or not), or the close if no request sent before
# the client's FIN is left unanswered (FIN: an answer marked as the last one after a FIN).
CONT, END, MAYBE, FIN = "cont", "end", "maybe", "fin"


_TABLES = {}


def pick(r, alphabet, n):
    """n random bytes of alphabet (fast: one translate)."""
    t = _TABLES.get(alphabet)
    if t is None:
        t = _TABLES[alphabet] = bytes(alphabet[i % len(alphabet)] for i in range(256))
    return r.randbytes(n).translate(t)


class Answer:
    """One acceptable answer to a request, and what may follow it: the next answer (CONT), the
    server's close (END), or either (MAYBE: a limit the server may apply or not)."""

    __slots__ = ("status", "body", "ctype", "extra", "head", "conn", "end", "http10")

    def __init__(
        self,
        status,
        body=None,
        *,
        ctype=b"text/plain",
        extra=(),
        head=False,
        conn=None,
        end=CONT,
        http10=False
    ):
        self.status = status
        self.body = REASONS[status].encode() + b"\n" if body is None else body
        self.ctype, self.extra, self.head = ctype, tuple(extra), head
        self.conn, self.end, self.http10 = conn, end, http10

    def render(self):
        h = [
            b"HTTP/1.1 %d %s\r\n" % (self.status, REASONS[self.status].encode()),
            b"Server: dynamo\r\n",
            b"Date: " + DATE + b"\r\n",
            b"Content-Type: " + self.ctype + b"\r\n",
        ]
        h += [n + b": " + v + b"\r\n" for n, v in self.extra]
        h.append(b"Content-Length: %d\r\n" % len(self.body))
        if self.conn:
            h.append(b"Connection: " + self.conn + b"\r\n")
        h.append(b"\r\n")
        return b"".join(h) + (b"" if self.head else self.body)

    def copy(self, **kw):
        a = Answer(
            self.status,
            self.body,
            ctype=self.ctype,
            extra=self.extra,
            head=self.head,
            conn=self.conn,
            end=self.end,
            http10=self.http10,
        )
        for k, v in kw.items():
            setattr(a, k, v)
        return a

    def closing(self):
        """The same answer marked as the last one, once the server saw the client's FIN: it
        must then have answered every request sent before the FIN."""
        if self.http10:
            return self.copy(conn=None, end=FIN)
        return self.copy(conn=b"close", end=FIN)

    def __repr__(self):
        c = b" +" + self.conn if self.conn else b""
        return "%d%s (%d B body%s), then %s" % (
            self.status,
            c.decode(),
            len(self.body),
            ", HEAD" if self.head else "",
            self.end,
        )


def err(status, head=False):
    """The server's answer to bad input: then it closes."""
    return Answer(status, conn=b"close", end=END, head=head)


class Item:
    """One request as sent (it may be broken) and the answers it may get. interim: whether a
    "100 Continue" comes first ("required", "optional" or "forbidden"); last: the client says
    it sends nothing more (Connection: close, HTTP/1.0): RFC 9112 forbids further requests, and
    the server may close at once, so what follows it can even destroy the answers before."""

    __slots__ = ("data", "answers", "interim", "head", "kind", "optional", "last")

    def __init__(
        self, data, answers, kind, *, interim="forbidden", head=False, optional=False, last=False
    ):
        self.data, self.answers, self.kind = data, list(answers), kind
        self.interim, self.head, self.optional, self.last = interim, head, optional, last

    def terminal(self):
        return all(a.end == END for a in self.answers)

    def complete_before_fin(self):
        """As sent in full before the client's FIN: each answer may also be the last one."""
        extra = [a.closing() for a in self.answers if a.end != END]
        return Item(
            self.data, self.answers + extra, self.kind, interim=self.interim, head=self.head
        )

    def cut_by_fin(self):
        """Sent in part before the client's FIN: an answer may come (what the whole request
        would get, or 400 for a cut body), then the close; or just the close."""
        ans = [a.copy(end=END) for a in self.answers] + [a.closing() for a in self.answers]
        ans.append(err(400, head=self.head))
        return Item(
            self.data, ans, self.kind + "(cut)", interim="optional", head=self.head, optional=True
        )


def request(method, target, headers=(), body=b"", version=b"HTTP/1.1", host=True):
    lines = [method + b" " + target + b" " + version + b"\r\n"]
    if host:
        lines.append(b"Host: x\r\n")
    lines += headers
    lines.append(b"\r\n")
    return b"".join(lines) + body


class Grammar:
    """Draws requests and clients from rng. budget: bytes one client may send."""

    def __init__(self, rng, budget=512 << 10, avoid=()):
        self.r = rng
        self.budget = self.left = budget
        self.avoid = frozenset(avoid)  # kinds of requests and endings not to draw

    # ---- pieces -----------------------------------------------------------------------------

    def token(self, lo, hi, alphabet=TCHAR):
        return pick(self.r, alphabet, self.r.randint(lo, hi))

    def ows(self):
        return self.r.choice([b"", b"", b" ", b"\t", b"  \t"])

    def value(self, lo, hi):
        n = self.r.randint(lo, hi)
        if n == 0:
            return b""
        v = bytearray(pick(self.r, VCHAR, n))
        for _ in range(min(n // 8, 16)):  # inner spaces and tabs
            i = self.r.randrange(n)
            if 0 < i < n - 1:
                v[i] = self.r.choice(b" \t")
        return bytes(v)

    def header(self, vlen=(0, 40)):
        return (
            b"X-" + self.token(1, 16) + b":" + self.ows() + self.value(*vlen) + self.ows() + b"\r\n"
        )

    def headers(self):
        """Extra header lines of a valid request: a head stays under 12 KB and 96 fields."""
        r = self.r.random()
        if r < 0.3:
            return []
        if r < 0.8:
            return [self.header() for _ in range(self.r.randint(1, 6))]
        if r < 0.92:
            return [self.header() for _ in range(self.r.randint(7, 40))]
        if r < 0.96:
            return [self.header((0, 8)) for _ in range(self.r.randint(41, 90))]
        total, out = self.r.randint(2000, 11000), []
        while total > 0:
            n = min(total, self.r.randint(100, 4000))
            out.append(self.header((n, n)))
            total -= n
        return out

    def target(self):
        """(target, answer body for GET; None for 404)."""
        r = self.r.random()
        if r < 0.35:
            return b"/", HELLO
        if r < 0.75:
            uid = self.user_id()
            t = b"/users/" + uid
            if self.r.random() < 0.2:
                t += b"?" + self.token(0, 30, PCHAR + b"/?")
            return t, (b"user " + uid if len(uid) <= 251 else None)
        if r < 0.82:
            uid = self.user_id()
            return b"http://x/users/" + uid, (b"user " + uid if len(uid) <= 251 else None)
        if r < 0.85:
            return b"http://x", HELLO
        paths = [
            b"/users/",
            b"/users/1/x",
            b"/echo",
            b"//",
            b"/a/" + self.token(1, 60, PCHAR),
            b"/" + self.token(1, 2000, PCHAR + b"/"),
        ]
        return self.r.choice(paths), None

    def user_id(self):
        n = (
            self.r.choice([1, 2, 3, 8, 20, 60])
            if self.r.random() < 0.95
            else self.r.randint(240, 270)
        )
        out = bytearray()
        while len(out) < n:
            if self.r.random() < 0.05:
                out += b"%%%02X" % self.r.randrange(256)
            else:
                out.append(self.r.choice(PCHAR))
        return bytes(out)

    def body_size(self):
        r = self.r.random()
        if r < 0.1:
            n = 0
        elif r < 0.45:
            n = self.r.randint(1, 100)
        elif r < 0.85:
            n = self.r.randint(101, 20000)
        elif r < 0.97 or self.budget < (1 << 21):
            n = self.r.randint(20001, 300000)
        else:
            n = self.r.randint(300001, 2 << 20)
        return min(n, max(0, self.left))

    def ext(self, long=False):
        """One valid chunk extension (names, tokens, quoted strings, bad whitespace)."""
        name = self.token(1, 12)
        if long:
            return b";" + name + b"=" + self.token(long, long, ALNUM)
        e = self.ows() + b";" + self.ows() + name
        r = self.r.random()
        if r < 0.4:
            e += self.ows() + b"=" + self.ows() + self.token(1, 20)
        elif r < 0.7:
            q = bytearray()
            for _ in range(self.r.randint(0, 30)):
                q += (
                    b"\\" + bytes([self.r.choice(VCHAR)])
                    if self.r.random() < 0.1
                    else bytes([self.r.choice(QDTEXT)])
                )
            e += b"=" + b'"' + bytes(q) + b'"'
        return e

    def size_line(self, n, ext=b""):
        digits = b"%x" % n if self.r.random() < 0.7 else b"%X" % n
        if self.r.random() < 0.1:
            digits = (
                b"0" * self.r.randint(1, 16 - len(digits)) + digits if len(digits) < 16 else digits
            )
        return digits + ext + b"\r\n"

    def chunked(self, body, *, long_ext=0, trailers=None):
        """body in the chunked coding: random chunk sizes and extensions, trailers. Returns
        (bytes, count of trailer fields)."""
        out, i = [], 0
        style = self.r.random()
        while i < len(body):
            if style < 0.2:
                n = len(body) - i
            elif style < 0.4 and len(body) < 20000:
                n = self.r.randint(1, 16)
            else:
                hi = max(self.r.choice([64, 4096, 70000]), len(body) // 200)
                n = self.r.randint(1, max(1, min(len(body) - i, hi)))
            n = min(n, len(body) - i)
            ext = self.ext() if self.r.random() < 0.15 else b""
            if long_ext and self.r.random() < 0.3:
                ext = self.ext(long=long_ext)
            out.append(self.size_line(n, ext) + body[i : i + n] + b"\r\n")
            i += n
        last = b"0" * self.r.choice([1, 1, 1, 3]) + (self.ext() if self.r.random() < 0.1 else b"")
        if trailers is None:
            trailers = self.r.choice([0, 0, 0, 1, 3]) if self.r.random() < 0.3 else 0
        tr = [
            b"X-T-" + self.token(1, 10) + b":" + self.ows() + self.value(0, 30) + b"\r\n"
            for _ in range(trailers)
        ]
        return b"".join(out) + last + b"\r\n" + b"".join(tr) + b"\r\n", trailers

    # ---- valid requests ------------------------------------------------------------------------

    def get(self, close=None):
        head = self.r.random() < 0.2 and "head" not in self.avoid
        method = b"HEAD" if head else self.r.choice([b"GET", b"GET", b"GET", b"DELETE", b"OPTIONS"])
        target, body = self.target()
        hdrs = self.headers()
        if close is None:
            close = self.r.random() < 0.03
        if close:
            hdrs.insert(self.r.randint(0, len(hdrs)), b"Connection:" + self.ows() + b"close\r\n")
        if method in (b"DELETE", b"OPTIONS"):
            body = None
        a = Answer(200, body, head=head) if body is not None else Answer(404, NOT_FOUND, head=head)
        if close:
            a = a.copy(conn=b"close", end=END)
        return Item(
            request(method, target, hdrs), [a], method.decode().lower(), head=head, last=close
        )

    def options_star(self):
        return Item(request(b"OPTIONS", b"*", self.headers()), [Answer(404, NOT_FOUND)], "options*")

    def unknown_method(self):
        """Any token is a method (RFC 9110 9.1): the handler gets it (http_hello: 404)."""
        m = self.r.choice([b"FOO", b"get", b"BREW", b"X" * self.r.randint(1, 32)])
        return Item(request(m, b"/", self.headers()), [Answer(404, NOT_FOUND)], "unknown-method")

    def http10(self):
        head = self.r.random() < 0.2 and "head" not in self.avoid
        target, body = self.target()
        if target.startswith(b"http://"):
            target = b"/"
            body = HELLO
        keep = self.r.random() < 0.5
        hdrs = self.headers()
        if keep:
            hdrs.append(b"Connection: keep-alive\r\n")
        a = Answer(200, body, head=head) if body is not None else Answer(404, NOT_FOUND, head=head)
        a = a.copy(conn=b"keep-alive", http10=True) if keep else a.copy(end=END, http10=True)
        return Item(
            request(
                b"HEAD" if head else b"GET",
                target,
                hdrs,
                version=b"HTTP/1.0",
                host=self.r.random() < 0.5,
            ),
            [a],
            "http10",
            head=head,
            last=not keep,
        )

    def echo(self, chunked=None, size=None, long_ext=0):
        size = self.body_size() if size is None else size
        body = self.r.randbytes(size)
        if chunked is None:
            chunked = self.r.random() < 0.5
        hdrs = self.headers()
        expect = self.r.random() < 0.08
        if expect:
            hdrs.append(b"Expect: 100-continue\r\n")
        ntr = 0
        if chunked:
            data, ntr = self.chunked(body, long_ext=long_ext)
            hdrs.append(b"Transfer-Encoding:" + self.ows() + b"chunked\r\n")
        else:
            data = body
            hdrs.append(b"Content-Length: %d\r\n" % size)
        self.r.shuffle(hdrs)
        a = Answer(
            200, body, ctype=b"application/octet-stream", extra=[(b"X-Trailers", b"%d" % ntr)]
        )
        interim = "forbidden"
        if expect:
            interim = "required" if size or chunked else "optional"
        return Item(
            request(self.r.choice([b"POST", b"PUT"]), b"/echo", hdrs, data),
            [a],
            "echo-chunked" if chunked else "echo",
            interim=interim,
        )

    def unread(self, bad_chunk=False):
        """A body the handler never reads: discarded up to 64 KiB."""
        method = self.r.choice([b"POST", b"PUT", b"PATCH", b"DELETE", b"GET", b"HEAD"])
        if method == b"HEAD" and "head" in self.avoid:
            method = b"GET"
        target, body = self.target()
        if target in (b"/echo",):
            target, body = b"/", HELLO
        head = method == b"HEAD"
        if method not in (b"GET", b"HEAD") or body is None:
            a = Answer(404, NOT_FOUND, head=head)
        else:
            a = Answer(200, body, head=head)
        size = self.body_size()
        hdrs = self.headers()
        expect = self.r.random() < 0.05
        if expect:
            hdrs.append(b"Expect: 100-continue\r\n")
        chunked = bad_chunk or self.r.random() < 0.5
        if chunked:
            data, _ = self.chunked(self.r.randbytes(size))
            if bad_chunk:
                data = self.bad_chunking(data)
            hdrs.append(b"Transfer-Encoding: chunked\r\n")
            done = False
            over = size > SKIP_MAX
        else:
            data = self.r.randbytes(size)
            hdrs.append(b"Content-Length: %d\r\n" % size)
            done = size == 0
            over = size > SKIP_MAX
        if expect and not done:
            a = a.copy(conn=b"close", end=END)  # the client may be holding its body back
        elif not chunked and over:
            a = a.copy(conn=b"close", end=END)
        elif bad_chunk or over:
            a = a.copy(end=END)
        if not bad_chunk and chunked and not expect and abs(size - SKIP_MAX) < 5000:
            a = a.copy(end=MAYBE)  # near the skip limit: the server's to define
        return Item(
            request(method, target, hdrs, data),
            [a],
            "unread-chunked" if chunked else "unread",
            head=head,
        )

    def near_limit(self):
        """Requests near a limit: either answer is right (the limit's exact edge is the
        server's to define), and the connection goes on or ends accordingly."""
        k = self.r.randrange(5)
        if k == 0:  # a head near max_header_size (16 KiB)
            n = self.r.randint(15500, 17500)
            data = request(b"GET", b"/", [b"X-Pad: " + self.token(n, n, ALNUM) + b"\r\n"])
            return Item(data, [Answer(200, HELLO), err(431)], "near-header-size")
        if k == 1:  # a target near max_request_line (8192)
            t = b"/" + self.token(8150, 8250, ALNUM)
            return Item(request(b"GET", t), [Answer(404, NOT_FOUND), err(414)], "near-target")
        if k == 2:  # near max_headers (100)
            data = request(
                b"GET", b"/", [self.header((0, 4)) for _ in range(self.r.randint(97, 103))]
            )
            return Item(data, [Answer(200, HELLO), err(431)], "near-headers")
        if k == 3:  # a chunk line near its limit (4 KiB), read by the handler
            it = self.echo(
                chunked=True, size=self.r.randint(1, 3000), long_ext=self.r.randint(4000, 4150)
            )
            it.answers.append(err(400))
            it.kind = "near-chunk-line"
            return it
        body = self.r.randbytes(self.r.randint(1, 3000))
        ext = b";e=" + self.token(4000, 4150, ALNUM)
        data = self.size_line(len(body), ext) + body + b"\r\n0\r\n\r\n"
        m = b"POST" if self.r.random() < 0.5 else b"PUT"
        a = Answer(404, NOT_FOUND)
        return Item(
            request(m, b"/", [b"Transfer-Encoding: chunked\r\n"], data),
            [a, a.copy(end=END)],
            "near-chunk-line-skip",
        )

    def valid(self):
        for _ in range(100):
            it = self._valid()
            if it.kind not in self.avoid:
                return it
        return self.get(close=False)

    def _valid(self):
        r = self.r.random()
        if r < 0.45:
            return self.get(close=False)
        if r < 0.63:
            return self.echo(chunked=False)
        if r < 0.81:
            return self.echo(chunked=True)
        if r < 0.91:
            return self.unread()
        if r < 0.92:
            return self.options_star()
        if r < 0.93:
            return self.unknown_method()
        if r < 0.96:
            return self.http10()
        return self.near_limit()

    # ---- broken requests (the connection ends with the answer) --------------------------------

    def bad_chunking(self, data):
        """A valid chunked body made malformed at a random place."""
        k = self.r.randrange(9)
        good = self.r.randint(0, len(data))  # whole chunks before it stay
        bad = [
            b"zz\r\nhello\r\n",  # not hex
            b"1" * 17 + b"\r\n",  # too many digits
            b"5\nhello\r\n",  # bare LF
            b"5\r\nhelloXX",  # no CRLF after the data
            self.r.choice(
                [
                    b"5;\r\n",
                    b"5; =x\r\n",
                    b"5;a=\r\n",
                    b'5;a="x\r\n',
                    b"5;a b\r\n",
                    b"5;a=\x01\r\n",
                    b"5 \r\n",
                    b"-5\r\n",
                    b"0x5\r\n",
                ]
            )
            + b"hello\r\n",
            b"5;e="
            + self.token(4100, self.r.choice([5000, 20000, 100000]), ALNUM)
            + b"\r\nhello\r\n",
            b"0\r\nBad Trailer: x\r\n\r\n",
            b"0\r\nX-T: a\x01b\r\n\r\n",
            b"0\r\nX-T: " + self.token(17000, 30000, ALNUM) + b"\r\n\r\n",
        ][k]
        chunks, i = [], 0
        while True:
            nl = data.find(b"\r\n", i)
            if nl < 0:
                break
            line = data[i:nl]
            try:
                n = int(line.split(b";")[0], 16)
            except ValueError:
                break
            if n == 0:
                break
            end = nl + 2 + n + 2
            if end > good:
                break
            chunks.append(data[i:end])
            i = end
        pad = pick(self.r, ALNUM, self.r.choice([0, 0, 100, 20000]))  # keeps the buffer full
        return b"".join(chunks) + bad + b"0\r\n\r\n" + pad

    def broken(self):
        """A request the server must refuse (or a last one): the connection ends with it."""
        for _ in range(100):
            it = self._broken()
            if it.kind not in self.avoid:
                return it
        return self.get(close=True)

    def _broken(self):
        r = self.r
        h = self.headers()[:8]
        k = r.randrange(24)
        if k == 0:
            return Item(request(b"GET", b"/", h, host=False), [err(400)], "no-host")
        if k == 1:
            return Item(request(b"GET", b"/", h + [b"Host: y\r\n"]), [err(400)], "two-hosts")
        if k == 2:
            v = r.choice([b"HTTP/2.0", b"HTTP/1.2", b"HTTP/3.0", b"HTTP/0.9", b"HTTP/9.9"])
            return Item(request(b"GET", b"/", h, version=v), [err(505)], "bad-version")
        if k == 3:
            v = r.choice([b"HTTP/1", b"HTTP/1.", b"HTTPS/1.1", b"HTTP/1.1x", b"HTTP/11.1"])
            return Item(request(b"GET", b"/", h, version=v), [err(400), err(505)], "bad-version")
        if k == 4:
            return Item(
                b"GET /" + r.choice([b"", b"x"]) + b"\r\n\r\n", [err(400), err(505)], "http09"
            )
        if k == 5:
            m = b"X" * r.randint(33, 100)  # a method past 32 bytes: 501
            return Item(request(m, b"/", h), [err(501)], "long-method")
        if k == 6:
            m = r.choice([b"G@T", b"GE(T", b"G\x01T", b"\x80GET"])
            return Item(request(m, b"/", h), [err(400)], "bad-method")
        if k == 7:
            return Item(request(b"CONNECT", b"x:80", h), [err(501)], "connect")
        if k == 8:
            n = r.choice([8300, 9000, 20000, 100000, 200000])
            return Item(
                request(b"GET", b"/" + self.token(n, n, ALNUM), h), [err(414)], "long-target"
            )
        if k == 9:
            n = r.choice([17000, 30000, 100000, 200000])
            hdrs = (
                [b"X-Big: " + self.token(n, n, ALNUM) + b"\r\n"]
                if r.random() < 0.5
                else [self.header((1000, 1000)) for _ in range(n // 1000)]
            )
            return Item(request(b"GET", b"/", hdrs), [err(431)], "big-head")
        if k == 10:
            return Item(
                request(b"GET", b"/", [self.header((0, 3)) for _ in range(r.randint(102, 400))]),
                [err(431)],
                "many-headers",
            )
        if k == 11:
            bad = r.choice(
                [
                    b"Foo : bar\r\n",
                    b"Foo: bar\r\n baz\r\n",
                    b"Foo: bar\n",
                    b"Foo: b\rar\r\n",
                    b"Foo: b\x00ar\r\n",
                    b"F(o: bar\r\n",
                    b": bar\r\n",
                    b"Foo\r\n",
                    b"Foo: b" + bytes([r.choice(CTL)]) + b"r\r\n",
                    b" Foo: bar\r\n",
                ]
            )
            h.insert(r.randint(0, len(h)), bad)
            return Item(request(b"GET", b"/", h), [err(400)], "bad-header")
        if k == 12:
            return Item(
                request(
                    b"POST",
                    b"/echo",
                    h + [b"Content-Length: 3\r\n", b"Transfer-Encoding: chunked\r\n"],
                    b"0\r\n\r\n",
                ),
                [err(400)],
                "cl-and-te",
            )
        if k == 13:
            cl = r.choice(
                [
                    [b"3", b"4"],
                    [b"3", b"3"],
                    [b"-1"],
                    [b"abc"],
                    [b"1 2"],
                    [b"+5"],
                    [b""],
                    [b"99999999999999999999999"],
                    [b"0x10"],
                ]
            )
            return Item(
                request(
                    b"POST", b"/echo", h + [b"Content-Length: " + v + b"\r\n" for v in cl], b"abcd"
                ),
                [err(400)],
                "bad-content-length",
            )
        if k == 14:
            n = r.choice([BODY_MAX + 1, 9000000, 10**12])
            return Item(
                request(
                    b"POST",
                    r.choice([b"/echo", b"/"]),
                    h + [b"Content-Length: %d\r\n" % n],
                    self.r.randbytes(r.randint(0, 1000)),
                ),
                [err(413)],
                "too-large",
            )
        if k == 15:
            te = r.choice([b"gzip", b"identity", b"chunked, gzip", b"chunked, chunked"])
            return Item(
                request(
                    b"POST", b"/echo", h + [b"Transfer-Encoding: " + te + b"\r\n"], b"0\r\n\r\n"
                ),
                [err(400), err(501)],
                "bad-te",
            )
        if k == 16:
            return Item(
                request(
                    b"POST",
                    b"/echo",
                    [b"Transfer-Encoding: chunked\r\n"],
                    b"0\r\n\r\n",
                    version=b"HTTP/1.0",
                ),
                [err(400)],
                "te-http10",
            )
        if k == 17:
            return Item(
                request(
                    b"GET",
                    b"/",
                    h + [b"Expect: " + r.choice([b"200-ok", b"foo", b"100-continuex"]) + b"\r\n"],
                ),
                [err(417)],
                "bad-expect",
            )
        if k == 18:
            g = bytes([r.choice(b'\x00\x01@()<>{}[]\x7f\xff"/')]) + pick(
                r, NOT_CRLF, r.randint(0, 300)
            )
            return Item(g + b"\r\n\r\n", [err(400)], "garbage")
        if k == 19:
            t = r.choice([b"/a b", b"/a\x01b", b"/a\xffb", b"/a\x7fb", b"/\tx"])
            return Item(request(b"GET", t, h), [err(400)], "bad-target")
        if k == 20:
            return Item(b"GET / HTTP/1.1\rHost: x\r\n\r\n", [err(400)], "bare-cr")
        if k == 21:  # a chunked body the handler reads, malformed
            it = self.echo(chunked=True, size=r.randint(0, 5000))
            head, _, body = it.data.partition(b"\r\n\r\n")
            if b"Expect" in head:
                head = b"\r\n".join(l for l in head.split(b"\r\n") if not l.startswith(b"Expect"))
            return Item(head + b"\r\n\r\n" + self.bad_chunking(body), [err(400)], "echo-bad-chunk")
        if k == 22:  # a chunked body the handler skips, malformed: answered, then closed
            it = self.unread(bad_chunk=True)
            it.kind = "skip-bad-chunk"
            return it
        it = self.get(close=True)  # a valid last request
        it.kind = "close"
        return it

    # ---- clients -------------------------------------------------------------------------------

    def pipeline(self):
        r = self.r.random()
        n = (
            1
            if r < 0.25
            else self.r.randint(2, 5)
            if r < 0.6
            else self.r.randint(6, 20)
            if r < 0.85
            else self.r.randint(21, 50)
        )
        items = []
        for _ in range(n):
            if self.left <= 0:
                break
            it = self.valid()
            items.append(it)
            self.left -= len(it.data)
        if self.r.random() < 0.25:
            items.insert(self.r.randint(0, len(items)), self.broken())
        return items

    def rbuf_edge(self):
        """A chunked body whose framing crosses the end of the server's 16 KiB read buffer
        (16,184 bytes of data), sent in two writes 50 ms apart, then pipelined GETs: the shape
        of issue 7's lost pipeline, moved around its edge."""
        size = 20000 + self.r.randint(-40, 40)
        first = 3819 + self.r.randint(-40, 40)
        head = request(b"POST", b"/", [b"Transfer-Encoding: chunked\r\n"])
        body = b"%x\r\n" % size + b"a" * size + b"\r\n0\r\n\r\n"
        items = [Item(head + body, [Answer(404, NOT_FOUND)], "rbuf-edge")]
        items += [
            Item(request(b"GET", b"/"), [Answer(200, HELLO)], "get")
            for _ in range(self.r.choice([20, 200, 1000]))
        ]
        cut = len(head) + len(b"%x\r\n" % size) + first
        return items, cut


class Plan:
    """One client: its requests (items), how it sends them (segments: (delay in s, bytes) over
    the first `cut` bytes), and how it ends:
      normal          reads and checks every answer, then closes
      slowread        the same, after not reading for `wait` s
      halfclose       shuts its write side (FIN) after `cut` bytes: every request sent whole
                      before it must still be answered, in order, then the server closes
      reset           resets (SO_LINGER 0) `wait` s after sending `cut` bytes, reading nothing
      reset-response  sends everything, resets after reading `read_before_reset` bytes
      noread          sends what the server takes, never reads, closes after `wait` s
    Resets and non-readers get nothing checked: the server must just survive them and free
    their connections."""

    ENDINGS = ("normal", "slowread", "halfclose", "reset", "reset-response", "noread")

    def __init__(
        self,
        kind,
        items,
        ending="normal",
        cut=None,
        segments=None,
        wait=0.0,
        read_before_reset=0,
        deadline=None,
        start=0.0,
        eof_after=False,
    ):
        self.kind, self.items, self.ending = kind, items, ending
        self.data = b"".join(it.data for it in items)
        self.cut = len(self.data) if cut is None else cut
        self.segments = segments if segments is not None else [(0.0, self.data[: self.cut])]
        self.wait, self.read_before_reset, self.start = wait, read_before_reset, start
        self.eof_after = eof_after
        delays = sum(d for d, _ in self.segments)
        self.deadline = deadline or 20 + delays + self.wait + 3 * len(self.data) / (1 << 20)

    def expected(self):
        """(the items that may be answered, whether the server's close must follow them)."""
        if self.ending != "halfclose":
            return self.items, self.eof_after
        out, off = [], 0
        for it in self.items:
            end = off + len(it.data)
            if out and out[-1].terminal():
                break  # nothing after it is answered
            if end <= self.cut:
                out.append(it.complete_before_fin())
            elif off < self.cut:
                out.append(it.cut_by_fin())
                break
            off = end
        return out, True

    def describe(self):
        kinds = {}
        for it in self.items:
            kinds[it.kind] = kinds.get(it.kind, 0) + 1
        return "%s, %s after %d of %d bytes in %d writes (%.2f s of delays), %d requests: %s" % (
            self.kind,
            self.ending,
            self.cut,
            len(self.data),
            len(self.segments),
            sum(d for d, _ in self.segments),
            len(self.items),
            ", ".join("%s x%d" % kv for kv in sorted(kinds.items())),
        )


def _delay(r):
    x = r.random()
    if x < 0.5:
        return 0.0
    if x < 0.85:
        return r.uniform(0, 0.005)
    if x < 0.98:
        return r.uniform(0.01, 0.05)
    return r.uniform(0.1, 0.4)


def segments(r, data, bounds, max_delay=3.0):
    """data cut at random points (anywhere, byte by byte over a stretch, at or around request
    boundaries), with random delays between the writes."""
    n = len(data)
    if n == 0:
        return []
    cuts, fine = set(), set()
    x = r.random()
    if x < 0.3:
        pass
    elif x < 0.6:
        cuts = {r.randint(1, n) for _ in range(r.randint(1, min(30, n)))}
    elif x < 0.75:
        a = r.randrange(n)
        fine = set(range(a + 1, min(n, a + r.randint(2, 300))))
        cuts = fine | {r.randint(1, n) for _ in range(r.randint(0, 3))}
    elif x < 0.9:
        cuts = {b for b in bounds if r.random() < 0.7}
    else:
        cuts = {b + r.randint(-3, 3) for b in bounds}
    cuts = sorted(c for c in cuts if 0 < c < n)
    out, prev = [], 0
    for c in cuts + [n]:
        d = r.choice([0.0, 0.0, r.uniform(0, 0.002)]) if c in fine else _delay(r)
        out.append((d if prev else 0.0, data[prev:c]))
        prev = c
    total = sum(d for d, _ in out)
    if total > max_delay:
        out = [(d * max_delay / total, b) for d, b in out]
    return out


def _bounds(items):
    out, off = [], 0
    for it in items:
        off += len(it.data)
        out.append(off)
    return out


def client(g, flavor="mix"):
    """One random client of a batch."""
    r = g.r
    if flavor == "slowloris" and r.random() < 0.5:
        return slowloris(g) if r.random() < 0.7 else idle()
    if r.random() < 0.02 and "rbuf-edge" not in g.avoid:
        items, cut = g.rbuf_edge()
        p = Plan("rbuf-edge", items)
        p.segments = [(0.0, p.data[:cut]), (0.05, p.data[cut:])]
        return p
    items = g.pipeline()
    if flavor == "pipeflood" and r.random() < 0.3:
        items = [
            Item(request(b"GET", b"/"), [Answer(200, HELLO)], "get")
            for _ in range(r.choice([100, 1000, 2000]))
        ]
    weights = [0 if e in g.avoid else w for e, w in zip(Plan.ENDINGS, [45, 8, 14, 14, 9, 10])]
    ending = r.choices(Plan.ENDINGS, weights=weights)[0]
    data_len = sum(len(it.data) for it in items)
    cut = data_len
    if ending == "halfclose" and r.random() < 0.4 or ending == "reset":
        cut = r.randint(0 if ending == "reset" else 1, data_len)
    if ending in ("normal", "slowread", "halfclose"):  # a client that checks keeps the rules
        for i, it in enumerate(items):
            if it.last:
                items = items[: i + 1]
                break
        data_len = sum(len(it.data) for it in items)
        cut = min(cut, data_len)
    p = Plan("pipeline", items, ending, cut=cut)
    p.segments = segments(r, p.data[:cut], _bounds(items))
    p.wait = {
        "slowread": r.uniform(0.2, 2.5),
        "reset": r.uniform(0, 0.05),
        "noread": r.uniform(0.05, 2.0),
    }.get(ending, 0.0)
    if ending == "reset-response":
        p.read_before_reset = r.randint(
            1, 1 + sum(len(a.render()) for it in items for a in it.answers[:1])
        )
    p.deadline = 20 + sum(d for d, _ in p.segments) + p.wait + 3 * len(p.data) / (1 << 20)
    return p


def slowloris(g):
    """A head that never ends, a byte every 0.5-1.5 s: 408 at the header timeout (10 s)."""
    r = g.r
    start = r.choice(
        [b"GET /", request(b"GET", b"/", g.headers()[:3])[:-2] + r.choice([b"X", b"X-Slow: "])]
    )
    segs, t = [(0.0, start)], 0.0
    while t < 14:
        d = r.uniform(0.5, 1.5)
        segs.append((d, bytes([r.choice(ALNUM)])))
        t += d
    it = Item(start + b"".join(b for _, b in segs[1:]), [err(408)], "slowloris")
    p = Plan("slowloris", [it], segments=segs, deadline=30)
    p.eof_after = True
    return p


def idle():
    """Connects, sends nothing: closed at the header timeout (10 s), maybe with a 408."""
    p = Plan("idle", [Item(b"", [err(408)], "idle", optional=True)], segments=[], deadline=25)
    p.eof_after = True
    return p


def batch(seed, b, max_clients, avoid=()):
    """Batch b of a run: its flavor and its clients, each from its own seed (so one can be
    played again alone)."""
    r = random.Random("%s:batch:%d" % (seed, b))
    flavor = r.choices(["mix", "slowloris", "pipeflood"], weights=[80, 10, 10])[0]
    n = r.randint(max(1, max_clients // 2), max_clients)
    plans = []
    for k in range(n):
        cr = random.Random("%s:%d:%d" % (seed, b, k))
        p = client(Grammar(cr, 4 << 20 if cr.random() < 0.05 else 512 << 10, avoid), flavor)
        p.start = cr.uniform(0, 0.3)
        plans.append(p)
    return flavor, plans
