"""
The Dynamo soak's grammar: hostile requests at the framework's level (params, bodies, cookies,
sessions, CSRF, static files, method override, crashing routes), against
tests/soak/dynamo_soak_server.c, and the statuses each one may legally get. The framing and
the ways of sending (split points, delays, half-closes, resets, pipelines) are the HTTP
soak's (grammar.py: Plan, segments), and so are its broken requests, mixed in.

An answer is checked by its status (Status: a set of statuses, and an exact body where the
request decides it), never a 500 unless the route is the one that crashes; what follows it on
the connection comes from the answer itself: "Connection: close" means the server closes next.

Session material (real cookies and CSRF tokens the server issued) cannot be made here: the
soak gets a few from the server when it starts (Material), and the grammar replays, truncates,
flips, swaps and pads them.
"""

import json
import random

import grammar
from grammar import ALNUM, CONT, END, FIN, MAYBE, Item, Plan, _bounds, pick, request, segments

HELLO = grammar.HELLO
STATIC_FILES = {  # name -> content, written into the static directory by the soak
    "a.txt": b"static file a\n" * 40,
    "big.bin": bytes(range(256)) * 2048,  # 512 KiB
    "css/app.css": b"body { color: black }\n" * 100,
    "sub/index.html": b"<html>index</html>\n",
}
STATIC_GZ = {"a.txt", "css/app.css"}  # these also get a .gz variant

# What bad input may get from the HTTP layer below the framework.
HTTP_ERR = {400, 408, 413, 414, 431, 501, 505}
PARAMS_OK = {200, 400, 413, 414, 431}  # a params fetch: parsed, bad encoding, past a limit
BODY_OK = PARAMS_OK | {415}


class Status:
    """An acceptable answer: its status in `statuses`, its body `body` when given. What follows
    it is the next answer, or the server's close when it says "Connection: close"."""

    __slots__ = ("statuses", "body", "end", "head")

    def __init__(self, statuses, body=None, end=None, head=False):
        self.statuses = frozenset([statuses] if isinstance(statuses, int) else statuses)
        self.body, self.end, self.head = body, end, head

    def match(self, status, norm):
        """The end that follows this answer (CONT or END), or None if it is not acceptable."""
        if status not in self.statuses:
            return None
        head, _, body = norm.partition(b"\r\n\r\n")
        if self.body is not None and status == 200 and not self.head and body != self.body:
            return None
        close = b"\r\nConnection: close" in head
        if self.end is None:
            return END if close else CONT
        if self.end == FIN:
            return FIN if close else None
        return self.end  # as the HTTP layer decides it (grammar.py's answers)

    def copy(self, **kw):
        s = Status(self.statuses, self.body, self.end, self.head)
        for k, v in kw.items():
            setattr(s, k, v)
        return s

    def closing(self):
        return self.copy(end=FIN)

    def render(self):  # what a failure shows as "the first alternative"
        return b"HTTP/1.1 %s" % b"|".join(b"%d" % s for s in sorted(self.statuses))

    def __repr__(self):
        return "status in %s%s" % (
            sorted(self.statuses),
            " with body %r" % self.body[:40] if self.body is not None else "",
        )


def item(data, statuses, kind, body=None, head=False, last=False):
    return Item(data, [Status(statuses, body, head=head)], kind, head=head, last=last)


class Material:
    """Cookies and tokens the server issued: session cookies (each with the CSRF token it
    holds) and the signed and encrypted copies of a cookie value."""

    def __init__(self, sessions=(), signed=b"", encrypted=b""):
        self.sessions = list(sessions) or [(b"", b"")]  # (session cookie value, csrf token)
        self.signed, self.encrypted = signed, encrypted


class DynGrammar(grammar.Grammar):
    """Draws Dynamo-level requests from rng (the HTTP grammar's pieces and broken requests)."""

    session_key = b"_soak_session"  # the session cookie's name

    def __init__(self, rng, material, budget=512 << 10, avoid=()):
        super().__init__(rng, budget, avoid)
        self.m = material

    # ---- pieces ----------------------------------------------------------------------------

    def pct(self, s):
        """s percent-encoded here and there, with bad escapes now and then."""
        r = self.r
        out = bytearray()
        for c in s:
            x = r.random()
            if x < 0.1:
                out += b"%%%02X" % c
            elif x < 0.11:
                out += r.choice([b"%", b"%G1", b"%4", b"%%", b"%zz", b"%c3%28", b"%ff"])
            else:
                out.append(c)
        return bytes(out)

    def key(self):
        r = self.r
        x = r.random()
        base = self.token(1, 8, ALNUM)
        if x < 0.5:
            return base
        if x < 0.7:  # nested, maybe deep
            n = r.choice([1, 2, 3, 31, 32, 33, 100, 1000])
            return base + b"".join(b"[" + self.token(0, 3, ALNUM) + b"]" for _ in range(n))
        if x < 0.8:
            return base + r.choice([b"[]", b"[][]", b"[", b"]", b"[a", b"[]]", b"[[a]]", b"[]x"])
        if x < 0.85:
            return self.token(r.choice([1000, 1024, 1025, 5000]), 5000, ALNUM)
        if x < 0.9:
            return b"_method"
        if x < 0.95:
            return b"_csrf_token"
        return pick(r, bytes(range(1, 256)), r.randint(1, 20)).replace(b"&", b"").replace(b"=", b"")

    def val(self):
        r = self.r
        x = r.random()
        if x < 0.6:
            return self.token(0, 20, ALNUM)
        if x < 0.7:
            return r.choice(
                [b"\xc3\x28", b"\xff\xfe", b"\xed\xa0\x80", b"\xf4\x90\x80\x80", b"\xc0"]
            )
        if x < 0.8:
            return r.choice(
                [b"DELETE", b"PUT", b"PATCH", b"GET", b"delete", b"CONNECT", b"X" * 300]
            )
        if x < 0.9:
            return self.token(r.choice([100, 4096, 70000]), 70000, ALNUM)
        return pick(r, bytes(range(0x20, 0x7F)), r.randint(1, 40))

    def pairs(self):
        r = self.r
        n = r.choice([0, 1, 2, 5, 20, 200, 999, 1000, 1001, 3000])
        parts = []
        size = 0
        for _ in range(n):
            k, v = self.key(), self.val()
            p = self.pct(k) + (b"" if r.random() < 0.05 else b"=" + self.pct(v))
            size += len(p)
            if size > 300000:
                break
            parts.append(p)
        sep = b"&" if r.random() < 0.9 else r.choice([b"&&", b";", b"&=&"])
        return sep.join(parts)

    def query(self):
        q = self.pairs()
        return q[: self.r.choice([200, 2000, 8000, 16000, 70000])]

    def cookie_header(self):
        r = self.r
        m = self.m
        sess, _tok = r.choice(m.sessions)
        x = r.random()
        if x < 0.2:
            v = sess  # replayed, whole
        elif x < 0.35:
            v = sess[: r.randint(0, len(sess))]  # truncated
        elif x < 0.5 and sess:
            b = bytearray(sess)
            for _ in range(r.randint(1, 3)):
                i = r.randrange(len(b))
                b[i] = r.choice(
                    b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_."
                )
            v = bytes(b)  # tampered
        elif x < 0.6:
            v = (
                b"SFMyNTY." + self.token(10, 200, ALNUM) + b"." + self.token(0, 60, ALNUM)
            )  # foreign
        elif x < 0.7:
            v = self.token(r.choice([10, 4000, 5000, 9000]), 9000, ALNUM)  # huge
        else:
            v = pick(r, grammar.VCHAR, r.randint(0, 80))
        crumbs = [self.session_key + b"=" + v]
        if r.random() < 0.3:
            crumbs.append(b"cs=" + (m.signed if r.random() < 0.5 else m.signed[:-3] + b"AAA"))
            crumbs.append(b"ce=" + (m.encrypted if r.random() < 0.5 else m.encrypted[5:]))
        n = r.choice([0, 1, 5, 199, 200, 201, 400])
        for _ in range(n):
            crumbs.append(
                self.token(0, 8, ALNUM) + r.choice([b"=", b"", b"=="]) + self.token(0, 12)
            )
        if r.random() < 0.2:
            crumbs.append(pick(r, grammar.NOT_CRLF, r.randint(1, 50)))
        r.shuffle(crumbs)
        line = r.choice([b"; ", b";", b" ; ", b";;"]).join(crumbs)
        return b"Cookie: " + line[: r.choice([1000, 8000, 15000, 20000])] + b"\r\n"

    # ---- bodies ----------------------------------------------------------------------------

    def json_body(self):
        r = self.r
        x = r.random()
        if x < 0.3:
            doc = {
                self.token(1, 8, ALNUM).decode(): self.token(0, 20, ALNUM).decode()
                for _ in range(r.randint(0, 30))
            }
            return json.dumps(doc).encode()
        if x < 0.45:
            d = r.choice([10, 127, 128, 129, 500, 5000])
            o = r.choice([b"[", b'{"a":'])
            c = b"]" if o == b"[" else b"}"
            return o * d + b"1" + c * (d if r.random() < 0.7 else d // 2)
        if x < 0.55:
            n = r.choice([1000, 99999, 100001, 200000])
            return b"[" + b",".join([b"1"] * n) + b"]"
        if x < 0.65:
            return r.choice([b"1", b'"s"', b"null", b"[1,2]", b"true", b"-0.5e400"])
        if x < 0.8:
            good = json.dumps({"k": "v", "n": [1, 2, {"x": None}]}).encode()
            i = r.randrange(len(good))
            return good[:i] + pick(r, bytes(range(256)), r.randint(0, 4)) + good[i + 1 :]
        if x < 0.9:
            return b'{"a":"\\ud800","b":"\xff\xfe","\\u0000":1}'
        return b'{"_method":"DELETE","_csrf_token":"' + r.choice(self.m.sessions)[1] + b'"}'

    def multipart(self):
        """(boundary, body): parts with fields and files, broken now and then."""
        r = self.r
        bnd = self.token(1, 70, ALNUM) if r.random() < 0.9 else self.token(71, 200, ALNUM)
        parts = []
        for _ in range(r.choice([0, 1, 3, 10, 128, 129, 1000, 1001])):
            hdrs = []
            name = self.key().replace(b'"', b"")
            if r.random() < 0.6:
                hdrs.append(b'Content-Disposition: form-data; name="' + name + b'"')
                data = self.val()
            else:
                fn = r.choice([b"a.png", b"../../etc/passwd", b"\xff.bin", b"", b"x" * 300])
                hdrs.append(
                    b'Content-Disposition: form-data; name="' + name + b'"; filename="' + fn + b'"'
                )
                hdrs.append(b"Content-Type: " + r.choice([b"image/png", b"text/plain", b"x"]))
                data = pick(r, bytes(range(256)), r.choice([0, 10, 1000, 65536, 300000]))
            y = r.random()
            if y < 0.05:
                hdrs.append(b"X-Big: " + self.token(16000, 20000, ALNUM))  # a huge part header
            elif y < 0.08:
                hdrs += [b"X-H%d: v" % i for i in range(40)]  # many part headers
            elif y < 0.1:
                hdrs = [b"Content-Disposition: form-data"]  # no name
            elif y < 0.12:
                hdrs = [pick(r, grammar.NOT_CRLF, 30)]
            parts.append(b"--" + bnd + b"\r\n" + b"\r\n".join(hdrs) + b"\r\n\r\n" + data + b"\r\n")
            if sum(len(p) for p in parts) > 3 << 20:
                break
        end = b"--" + bnd + b"--\r\n"
        z = r.random()
        if z < 0.1:
            end = b""  # missing final boundary
        elif z < 0.15:
            end = b"--" + bnd + b"-\r\n"
        elif z < 0.2 and parts:
            parts[0] = parts[0].replace(bnd, bnd[:-1] + b"!", 1)  # a broken boundary line
        elif z < 0.25:
            parts.insert(0, pick(r, bytes(range(256)), r.randint(0, 200)))  # a preamble
        return bnd, b"".join(parts) + end

    # ---- requests --------------------------------------------------------------------------

    def method_override(self):
        r = self.r
        form = b"_method=" + self.pct(
            r.choice(
                [
                    b"DELETE",
                    b"PUT",
                    b"PATCH",
                    b"GET",
                    b"HEAD",
                    b"x" * 200,
                    b"\xff",
                    b"",
                    b"CONNECT",
                    b"delete",
                ]
            )
        )
        path = r.choice([b"/echo", b"/session", b"/csrf", b"/raise/m", b"/nope"])
        body = form + (b"&" + self.pairs()[:500] if r.random() < 0.5 else b"")
        st = {200, 400, 403, 404, 405, 413}
        return item(
            request(
                b"POST",
                path,
                [
                    b"Content-Type: application/x-www-form-urlencoded\r\n",
                    b"Content-Length: %d\r\n" % len(body),
                ],
                body,
            ),
            st,
            "override",
        )

    def hostile_body(self, kind):
        """(headers, body) of a body of kind form, multipart, json, lie (another type than it
        says) or raw."""
        r = self.r
        hdrs = []
        if kind == "form":
            body = self.pairs()
            hdrs.append(
                b"Content-Type: application/x-www-form-urlencoded"
                + r.choice([b"", b"; charset=utf-8", b"; charset=latin1"])
                + b"\r\n"
            )
        elif kind == "multipart":
            bnd, body = self.multipart()
            q = r.random()
            b2 = bnd if q < 0.9 else (b"" if q < 0.95 else bnd + b"x")
            hdrs.append(
                b"Content-Type: multipart/"
                + r.choice([b"form-data", b"form-data", b"mixed"])
                + b"; boundary="
                + (b'"' + b2 + b'"' if r.random() < 0.2 else b2)
                + b"\r\n"
            )
        elif kind == "json":
            body = self.json_body()
            hdrs.append(
                b"Content-Type: "
                + r.choice(
                    [
                        b"application/json",
                        b"application/vnd.x+json",
                        b"application/json; charset=utf-8",
                    ]
                )
                + b"\r\n"
            )
        elif kind == "lie":
            body = r.choice([self.json_body, self.pairs, lambda: self.multipart()[1]])()
            hdrs.append(
                b"Content-Type: "
                + r.choice(
                    [
                        b"application/json",
                        b"application/x-www-form-urlencoded",
                        b"multipart/form-data",
                        b"multipart/form-data; boundary=",
                        b"text/plain",
                        b"application/xml",
                        b"",
                        b"*/*",
                        b'multipart/form-data; boundary="unterminated',
                        b"application/json;;;",
                        pick(r, grammar.VCHAR, 20),
                    ]
                )
                + b"\r\n"
            )
        else:
            body = pick(r, bytes(range(256)), r.choice([0, 100, 70000]))
            if r.random() < 0.5:
                hdrs.append(b"Content-Type: application/octet-stream\r\n")
        return hdrs, body

    def body_request(self):
        r = self.r
        kind = r.choice(["form", "multipart", "json", "lie", "raw"])
        method = r.choice([b"POST", b"POST", b"PUT", b"PATCH", b"DELETE"])
        path = (
            r.choice([b"/echo", b"/echo/x/y", b"/raw"])
            if kind == "raw"
            else r.choice([b"/echo", b"/echo/a", b"/session", b"/echo/crash"])
        )
        hdrs, body = self.hostile_body(kind)
        if r.random() < 0.2:
            hdrs.append(self.cookie_header())
        chunked = r.random() < 0.2
        if chunked:
            hdrs.append(b"Transfer-Encoding: chunked\r\n")
            data = request(
                method,
                path + (b"?" + self.query()[:300] if r.random() < 0.2 else b""),
                hdrs,
                self.chunked(body)[0],
            )
        else:
            hdrs.append(b"Content-Length: %d\r\n" % len(body))
            data = request(method, path, hdrs, body)
        st = set(BODY_OK)
        if path == b"/echo/crash":
            st = (st - {200}) | {500}
        if path == b"/session" and method not in (b"POST", b"DELETE"):
            st.add(405)
        it = item(data, st, kind)
        if chunked:  # a chunked body left unread past 64 KiB ends the connection, unannounced
            it.answers[0].end = MAYBE
        return it

    def query_request(self):
        r = self.r
        q = self.query()
        path = r.choice([b"/echo", b"/raw", b"/session", b"/cookie", b"/csrf"])
        if r.random() < 0.1:  # absolute-form
            path = b"http://" + r.choice([b"x", b"x:80", b"[::1]:8080", b"a@b"]) + path
        hdrs = (
            [self.cookie_header() for _ in range(r.choice([1, 1, 2, 5]))]
            if r.random() < 0.3
            else []
        )
        head = r.random() < 0.15  # HEAD runs as GET (the head plug), the answer without a body
        return item(
            request(b"HEAD" if head else b"GET", path + b"?" + q, hdrs),
            PARAMS_OK,
            "query",
            head=head,
        )

    def cookie_request(self):
        r = self.r
        path = r.choice([b"/cookie", b"/session", b"/fwd/session", b"/echo", b"/csrf"])
        v = self.pct(self.val()[:200]) if r.random() < 0.7 else b""
        target = path + (b"?v=" + v if path == b"/cookie" and v else b"")
        return item(
            request(b"GET", target, [self.cookie_header()]), {200, 400, 413, 414, 431}, "cookie"
        )

    def session_request(self):
        r = self.r
        x = r.random()
        hdrs = [self.cookie_header()]
        if x < 0.5:
            body = self.pairs()[:2000]
            return item(
                request(
                    b"POST",
                    b"/session",
                    hdrs
                    + [
                        b"Content-Type: application/x-www-form-urlencoded\r\n",
                        b"Content-Length: %d\r\n" % len(body),
                    ],
                    body,
                ),
                {200, 400, 405, 413, 431},  # 405: a _method the route does not take
                "session-put",
            )
        if x < 0.7:
            return item(request(b"DELETE", b"/session", hdrs), {200, 400, 431}, "session-drop")
        if x < 0.8:
            return item(
                request(b"POST", b"/session/renew", hdrs + [b"Content-Length: 0\r\n"]),
                {200, 400, 431},
                "session-renew",
            )
        return item(request(b"GET", b"/session", hdrs), {200, 400, 431}, "session-get")

    def csrf_request(self):
        r = self.r
        sess, tok = r.choice(self.m.sessions)
        x = r.random()
        good_cookie = r.random() < 0.7
        cookie = (
            b"Cookie: _soak_session="
            + (sess if good_cookie else r.choice(self.m.sessions)[0][:-2])
            + b"\r\n"
        )
        if x < 0.3:
            t = tok  # the right token (unless the session is not its own)
        elif x < 0.45:
            t = b""
        elif x < 0.6:
            t = tok[:-4] + b"AAAA"
        elif x < 0.7:
            t = self.token(0, 5000, ALNUM)
        else:
            t = None  # no token at all
        how = r.choice(["form", "header", "json"])
        hdrs = [cookie] if r.random() < 0.9 else []
        body = b""
        if t is not None and how == "header":
            hdrs.append(b"X-CSRF-Token: " + t + b"\r\n")
        elif t is not None and how == "json":
            body = b'{"_csrf_token":"' + t + b'"}'
            hdrs.append(b"Content-Type: application/json\r\n")
        elif t is not None:
            body = (
                b"_csrf_token="
                + self.pct(t)
                + (b"&" + self.pairs()[:300] if r.random() < 0.3 else b"")
            )
            hdrs.append(b"Content-Type: application/x-www-form-urlencoded\r\n")
        hdrs.append(b"Content-Length: %d\r\n" % len(body))
        method = r.choice([b"POST", b"PUT", b"DELETE", b"PATCH"])
        return item(request(method, b"/csrf", hdrs, body), {200, 400, 403, 413}, "csrf")

    def static_path(self):
        r = self.r
        x = r.random()
        names = (
            list(STATIC_FILES)
            + [n + ".gz" for n in STATIC_GZ]
            + [b"sub/", b"sub", b"css", b"missing"]
        )
        n = r.choice(names)
        n = n.encode() if isinstance(n, str) else n
        if x < 0.5:
            return b"/static/" + n
        if x < 0.6:
            return (
                b"/static/"
                + r.choice(
                    [
                        b"../",
                        b"..%2f",
                        b"%2e%2e/",
                        b"%2E%2E%2F",
                        b"..\\",
                        b"..%5c",
                        b".%2e/",
                        b"%252e%252e/",
                    ]
                )
                * r.randint(1, 6)
                + r.choice([b"etc/passwd", b"CMakeLists.txt", n])
            )
        if x < 0.7:
            return (
                b"/static/"
                + n
                + r.choice(
                    [
                        b"%00",
                        b"%00.txt",
                        b"\\..\\x",
                        b"/.",
                        b"/..",
                        b"//",
                        b"%2f",
                        b"?vsn=1",
                        b"#frag",
                        b"%",
                        b"%zz",
                    ]
                )
            )
        if x < 0.8:
            return b"/static/" + (self.token(1, 255, ALNUM) + b"/") * r.randint(1, 200)
        if x < 0.9:
            return b"/static/" + self.token(200, 8000, ALNUM)
        return b"/static" + r.choice(
            [
                b"",
                b"/",
                b"//a.txt",
                b"/./a.txt",
                b"/sub/../a.txt",
                b"/%2e/a.txt",
                b"/.gz",
                b"/a.txt.gz.gz",
            ]
        )

    def range_value(self):
        r = self.r
        return r.choice(
            [
                b"bytes=0-0",
                b"bytes=0-99",
                b"bytes=-10",
                b"bytes=100-",
                b"bytes=5-1",
                b"bytes=0-99999999",
                b"bytes=99999999-",
                b"bytes=18446744073709551615-18446744073709551616",
                b"bytes=-99999999999999999999999",
                b"bytes=0-1,2-3,4-5",
                b"bytes=" + b",".join(b"%d-%d" % (i, i) for i in range(r.randint(2, 300))),
                b"bytes=",
                b"bytes=-",
                b"bytes=a-b",
                b"bytes 0-1",
                b"items=0-1",
                b"bytes=0-1,",
                b"bytes=,",
                b"bytes==0-1",
                b"bytes=-0",
                b"bytes=0--1",
                b"bytes=1-0,0-1",
                pick(r, grammar.VCHAR, 30),
            ]
        )

    def static_request(self):
        r = self.r
        hdrs = []
        if r.random() < 0.5:
            hdrs.append(b"Range: " + self.range_value() + b"\r\n")
            if r.random() < 0.3:
                hdrs.append(
                    b"If-Range: "
                    + r.choice([b'"x"', b"Wed, 21 Oct 2015 07:28:00 GMT", b"garbage", b'W/"x"'])
                    + b"\r\n"
                )
        if r.random() < 0.4:
            hdrs.append(
                b"If-None-Match: "
                + r.choice(
                    [
                        b"*",
                        b'"abc"',
                        b'W/"abc", "def"',
                        b'"',
                        b",,,",
                        b'"' + self.token(0, 5000, ALNUM),
                        pick(r, grammar.VCHAR, 40),
                    ]
                )
                + b"\r\n"
            )
        if r.random() < 0.3:
            hdrs.append(
                b"If-Modified-Since: "
                + r.choice(
                    [
                        b"Wed, 21 Oct 2015 07:28:00 GMT",
                        b"Wed, 21 Oct 2099 07:28:00 GMT",
                        b"garbage",
                        b"Sunday, 06-Nov-94 08:49:37 GMT",
                        b"Sun Nov  6 08:49:37 1994",
                        b"",
                        b"Wed, 32 Foo 99999 99:99:99 GMT",
                    ]
                )
                + b"\r\n"
            )
        if r.random() < 0.2:
            hdrs.append(b"If-Match: " + r.choice([b"*", b'"nope"', b"garbage"]) + b"\r\n")
        if r.random() < 0.3:
            hdrs.append(
                b"Accept-Encoding: "
                + r.choice(
                    [
                        b"gzip",
                        b"gzip;q=0",
                        b"br, gzip",
                        b"*",
                        b"identity;q=0",
                        pick(r, grammar.VCHAR, 20),
                    ]
                )
                + b"\r\n"
            )
        head = r.random() < 0.15
        m = b"HEAD" if head else r.choice([b"GET", b"GET", b"GET", b"POST", b"OPTIONS"])
        st = {200, 206, 301, 304, 400, 404, 405, 412, 414, 416, 431}
        return item(request(m, self.static_path(), hdrs), st, "static", head=head)

    def misc(self):
        r = self.r
        x = r.random()
        if x < 0.3:
            return item(request(b"GET", b"/raise/" + self.token(1, 30, ALNUM)), {500}, "raise")
        if x < 0.5:
            code = r.choice(
                [b"400", b"404", b"418", b"499", b"500", b"200", b"x", b"99999999999999999999"]
            )
            return item(request(b"GET", b"/status/" + code), set(range(400, 500)), "status")
        if x < 0.7:
            return item(
                request(b"GET", b"/csrf", [self.cookie_header()] if r.random() < 0.5 else []),
                {200, 400, 431},
                "csrf-token",
            )
        if x < 0.8:
            path = b"/" + b"/".join(
                self.token(1, 5, ALNUM) for _ in range(r.choice([1, 127, 128, 129, 500]))
            )
            return item(request(b"GET", path), {404, 414}, "segments")
        return item(
            request(
                r.choice([b"GET", b"POST", b"PUT", b"OPTIONS", b"PATCH"]),
                r.choice([b"/nope", b"/session", b"/raw/x", b"/cookie"]),
                [b"Content-Length: 0\r\n"],
            ),
            {200, 400, 404, 405},
            "route",
        )

    def hello(self):
        return item(request(b"GET", b"/"), {200}, "hello", body=HELLO)

    def broken_http(self):
        """One of the HTTP soak's broken requests, checked by status alone (the route it
        names may be another here)."""
        it = self.broken()
        # http_hello's /echo reads its body (and sees a broken one), this /echo reads none
        # when no Content-Type names a parser: a 200, then the HTTP layer's verdict on the rest
        # (and the routes differ: http_hello's 200s and 404s are any of 200, 404, 405 here)
        echo = it.data.split(b" ", 2)[1:2] == [b"/echo"]
        answers = [
            Status(
                {200, 404, 405}
                if a.status in (200, 404)
                else {a.status, 200}
                if echo
                else {a.status},
                end=a.end,
                head=a.head,
            )
            for a in it.answers
        ]
        return Item(
            it.data,
            answers,
            "http-" + it.kind,
            head=it.head,
            interim="optional",
            optional=it.optional,
            last=it.last,
        )

    def dyn_request(self):
        r = self.r
        f = r.choices(
            [
                self.body_request,
                self.query_request,
                self.cookie_request,
                self.session_request,
                self.csrf_request,
                self.static_request,
                self.method_override,
                self.misc,
                self.hello,
                self.broken_http,
            ],
            weights=[25, 12, 8, 10, 10, 15, 5, 5, 5, 5],
        )[0]
        it = f()
        if it.kind in self.avoid:
            return self.hello()
        return it


def client(g):
    """One random client: a pipeline of Dynamo requests, sent and ended as the HTTP soak's."""
    r = g.r
    n = 1 if r.random() < 0.4 else r.randint(2, 6) if r.random() < 0.8 else r.randint(7, 20)
    items = []
    for _ in range(n):
        if g.left <= 0:
            break
        it = g.dyn_request()
        items.append(it)
        g.left -= len(it.data)
    weights = [0 if e in g.avoid else w for e, w in zip(Plan.ENDINGS, [50, 5, 12, 20, 6, 7])]
    ending = r.choices(Plan.ENDINGS, weights=weights)[0]
    data_len = sum(len(it.data) for it in items)
    cut = data_len
    if ending == "reset" or ending == "halfclose" and r.random() < 0.4:
        # a cut inside a body now and then: an upload cut by a reset
        cut = r.randint(0 if ending == "reset" else 1, data_len)
    if ending in ("normal", "slowread", "halfclose"):
        for i, it in enumerate(items):
            if it.last or it.terminal():
                items = items[: i + 1]
                break
        data_len = sum(len(it.data) for it in items)
        cut = min(cut, data_len)
    p = Plan("dynamo", items, ending, cut=cut)
    p.segments = segments(r, p.data[:cut], _bounds(items))
    p.wait = {
        "slowread": r.uniform(0.2, 2.0),
        "reset": r.uniform(0, 0.05),
        "noread": r.uniform(0.05, 1.5),
    }.get(ending, 0.0)
    if ending == "reset-response":
        p.read_before_reset = r.randint(1, 150)  # within the first answer's head
    p.deadline = 20 + sum(d for d, _ in p.segments) + p.wait + 3 * len(p.data) / (1 << 20)
    return p


def batch(seed, b, max_clients, avoid=(), material=None):
    """Batch b of a run: ("dynamo", its clients), each from its own seed."""
    r = random.Random("%s:dyn-batch:%d" % (seed, b))
    n = r.randint(max(1, max_clients // 2), max_clients)
    plans = []
    for k in range(n):
        cr = random.Random("%s:dyn:%d:%d" % (seed, b, k))
        p = client(
            DynGrammar(
                cr, material or Material(), 4 << 20 if cr.random() < 0.05 else 1 << 20, avoid
            )
        )
        p.start = cr.uniform(0, 0.3)
        plans.append(p)
    return "dynamo", plans


# ---- an example application: apps/hello --------------------------------------------------------

# What the hello app's endpoint (request id, logger, method override, head, session plugs) may
# answer to anything: a status the HTTP layer or a params fetch gives, or the route's own.
APP_ANY = HTTP_ERR | {400, 404, 405, 413, 414, 415, 431}


class AppGrammar(DynGrammar):
    """Hostile requests to apps/hello (its web/routers: GET /, /hello/world, /hello/*, GET and
    PUT /users/:user_id (GET wants a logged-in session: 401), POST /login, /section/:section
    (about, contact, else 404), /oops/*what (crashes: 500, in dev the exception page with the
    request in it), /posts/recent, /account?user_info=..., static files under /static), with
    the Dynamo grammar's params, bodies, cookies and broken requests. Never a 500 but from
    /oops."""

    session_key = b"_hello_key"
    ROUTES = frozenset({200, 401, 404, 405})  # what its routes answer a well-formed request

    def junk_segment(self):
        r = self.r
        x = r.random()
        if x < 0.5:
            return self.token(1, 12, ALNUM)
        if x < 0.8:
            return (
                self.pct(pick(r, bytes(range(0x21, 0x7F)), r.randint(1, 40)))
                .replace(b"?", b"%3F")
                .replace(b"#", b"%23")
                .replace(b"/", b"%2F")
            )
        return self.pct(pick(r, bytes(range(0x80, 0x100)), r.randint(1, 20)))

    def extra_headers(self):
        r = self.r
        h = []
        if r.random() < 0.3:
            h.append(self.cookie_header())
        if r.random() < 0.1:
            h.append(b"X-Request-Id: " + self.token(r.choice([1, 20, 200, 3000]), 3000) + b"\r\n")
        if r.random() < 0.1:
            h += self.headers()[:20]
        return h

    def app_request(self):
        r = self.r
        k = r.choices(range(12), weights=[8, 8, 8, 10, 8, 14, 6, 10, 4, 8, 6, 10])[0]
        h = self.extra_headers()
        q = (b"?" + self.query()) if r.random() < 0.2 else b""
        method = r.choice([b"GET", b"GET", b"HEAD"])
        head = method == b"HEAD"
        if k == 0:
            return item(request(method, b"/" + q, h), {200} | APP_ANY - {404}, "index", head=head)
        if k == 1:
            return item(
                request(method, b"/hello/world" + q, h),
                {200} | APP_ANY,
                "hello-world",
                body=b"Hello world",
                head=head,
            )
        if k == 2:
            segs = b"/".join(self.junk_segment() for _ in range(r.choice([1, 2, 5, 50])))
            return item(
                request(method, b"/hello/" + segs + q, h), {200} | APP_ANY, "hello-any", head=head
            )
        if k == 3:
            uid = self.junk_segment()
            if r.random() < 0.5:
                return item(
                    request(method, b"/users/" + uid + q, h),
                    {200, 401} | APP_ANY,
                    "show-user",
                    head=head,
                )
            kind = r.choice(["form", "multipart", "json", "lie", "raw"])
            hb, body = self.hostile_body(kind)
            return item(
                request(
                    b"PUT",
                    b"/users/" + uid + q,
                    h + hb + [b"Content-Length: %d\r\n" % len(body)],
                    body,
                ),
                {200} | APP_ANY,
                "put-user",
            )
        if k == 4:  # PUT through the method override
            hb, body = self.hostile_body("form")
            body = b"_method=" + r.choice([b"PUT", b"put", b"DELETE", b"GET", b"X"]) + b"&" + body
            return item(
                request(
                    b"POST",
                    b"/users/" + self.junk_segment(),
                    h + hb + [b"Content-Length: %d\r\n" % len(body)],
                    body,
                ),
                {200} | APP_ANY,
                "override-user",
            )
        if k == 5:
            kind = r.choice(["form", "form", "multipart", "json", "lie", "raw"])
            hb, body = self.hostile_body(kind)
            if kind == "form" and r.random() < 0.5:
                body = b"user_id=" + self.pct(self.token(1, 30, ALNUM)) + b"&" + body
            return item(
                request(
                    b"POST", b"/login" + q, h + hb + [b"Content-Length: %d\r\n" % len(body)], body
                ),
                {200} | APP_ANY,
                "login",
            )
        if k == 6:
            sec = r.choice([b"about", b"contact", b"About", b"about%00", self.junk_segment()])
            st = {200, 404} | APP_ANY if sec in (b"about", b"contact") else APP_ANY
            return item(request(method, b"/section/" + sec + q, h), st, "section", head=head)
        if k == 7:
            what = b"/".join(self.junk_segment() for _ in range(r.choice([1, 3, 30])))
            return item(request(b"GET", b"/oops/" + what + q, h), {500} | APP_ANY, "oops")
        if k == 8:
            return item(
                request(method, b"/posts/recent" + q, h), {200} | APP_ANY, "posts", head=head
            )
        if k == 9:
            qs = r.choice([b"", b"user_info=" + self.pct(self.token(0, 50, ALNUM)) + b"&"])
            qs += self.query()[: r.choice([0, 100, 5000])]
            return item(
                request(method, b"/account/?" + qs, h), {200} | APP_ANY, "account", head=head
            )
        if k == 10:
            path = b"/static/" + b"/".join(self.junk_segment() for _ in range(r.randint(1, 4)))
            if r.random() < 0.3:
                path = r.choice(
                    [
                        b"/static/../CMakeLists.txt",
                        b"/static/%2e%2e/main.c",
                        b"/static/..%2fmain.c",
                        b"/static//etc/passwd",
                    ]
                )
            return item(
                request(method, path, h + [self.range_header()] if r.random() < 0.3 else h),
                {200, 206, 304, 416} | APP_ANY,
                "static",
                head=head,
            )
        return self.broken_http()

    def range_header(self):
        return b"Range: " + self.range_value() + b"\r\n"

    def broken_http(self):
        """The HTTP soak's broken requests: where the soak server's routes would answer, this
        app's may answer any of its route statuses (its /users/ID wants a session: 401; it has
        no /echo: 404, its body left unread)."""
        it = super().broken_http()
        for a in it.answers:
            if a.statuses & {200, 404, 405}:
                a.statuses = a.statuses | self.ROUTES
        return it


class Escaped(Status):
    """A page that shows what the client sent: status 200 with the raw markup nowhere in it
    (the template escaped it), or another of statuses."""

    __slots__ = ("raw",)

    def __init__(self, statuses, raw):
        super().__init__(statuses)
        self.raw = raw

    def match(self, status, norm):
        end = super().match(status, norm)
        if end is None or status != 200:
            return end
        return None if self.raw in norm.partition(b"\r\n\r\n")[2] else end

    def copy(self, **kw):
        s = Escaped(self.statuses, self.raw)
        s.end, s.head = self.end, self.head
        for k, v in kw.items():
            setattr(s, k, v)
        return s

    def __repr__(self):
        return "status in %s, %r escaped" % (sorted(self.statuses), self.raw[:40])


class FruitsGrammar(AppGrammar):
    """Hostile requests to apps/fruits: GET / (a redirect to /fruits), GET /fruits?extra=...
    (the extra fruit rendered into the page: markup in it must come out escaped), GET
    /fruit/:id (0-2, else its 404 page), and the app grammar's junk and broken requests."""

    session_key = b"_fruits_key"
    ROUTES = frozenset({200, 302, 404, 405})
    MARKUP = [b"<script>alert(1)</script>", b'"><img src=x onerror=alert(1)>', b"<b>&amp;</b>"]

    def app_request(self):
        r = self.r
        k = r.choices(range(5), weights=[10, 30, 25, 15, 20])[0]
        h = self.extra_headers()
        method = r.choice([b"GET", b"GET", b"HEAD"])
        head = method == b"HEAD"
        if k == 0:
            return item(request(method, b"/", h), {301, 302, 303} | APP_ANY, "home", head=head)
        if k == 1:
            raw = r.choice(self.MARKUP)
            q = b"extra=" + (self.pct(raw) if r.random() < 0.7 else self.token(0, 5000, ALNUM))
            if r.random() < 0.3:
                q = self.query() + b"&" + q
            it = Item(
                request(method, b"/fruits?" + q, h),
                [Escaped({200} | APP_ANY, raw)],
                "fruits",
                head=head,
            )
            it.answers[0].head = head
            return it
        if k == 2:
            fid = r.choice([b"0", b"1", b"2", b"3", b"-1", b"99999999999999999999", b"1x", b""])
            fid = fid if r.random() < 0.7 else self.junk_segment()
            return item(
                request(method, b"/fruit/" + fid, h), {200, 404} | APP_ANY, "fruit", head=head
            )
        if k == 3:
            path = b"/" + b"/".join(self.junk_segment() for _ in range(r.choice([1, 2, 30])))
            return item(request(method, path, h), APP_ANY, "junk", head=head)
        return self.broken_http()


def app_client(g):
    """One random client of the app: a pipeline of app requests, sent and ended as the HTTP
    soak's."""
    g.dyn_request = g.app_request
    return client(g)


APP_GRAMMARS = {"hello": AppGrammar, "fruits": FruitsGrammar}


def app_batch(seed, b, max_clients, avoid=(), material=None, app="hello"):
    """Batch b of a run against app (hello, fruits): ("app", its clients), each from its own
    seed."""
    r = random.Random("%s:app-batch:%d" % (seed, b))
    n = r.randint(max(1, max_clients // 2), max_clients)
    plans = []
    for k in range(n):
        cr = random.Random("%s:app:%d:%d" % (seed, b, k))
        g = APP_GRAMMARS[app](cr, material or Material(), 1 << 20, avoid)
        p = app_client(g)
        p.start = cr.uniform(0, 0.3)
        plans.append(p)
    return "app", plans
