"""
Named scenarios: the exact reproducers of issue 7, each a list of waves (clients played at
once; the waves one after the other); and storms no random batch makes: connection floods,
the descriptor limit and max_connections, clients that never read, a SIGTERM in the middle.
A scenario's `storm` attribute (the `storm` decorator) asks for its own server (a descriptor
limit, more environment), a SIGTERM some time into its first wave, or a bound on the server's
RSS while its clients hold their connections (http_soak.py's Soak.play).
"""

import random

from grammar import END, HELLO, MAYBE, NOT_FOUND, Answer, Grammar, Item, Plan, client, err, request

GET = request(b"GET", b"/")


def storm(**opts):
    """The step's options: nofile (the server's descriptor limit), env (more of its
    environment), sigterm_after (s), rss_growth_mib; long: played only with --long (the
    long runs of scripts/soak-http.sh), not in the suite's short soak."""

    def mark(f):
        f.storm = opts
        return f

    return mark


class Refused:
    """The answer of a server out of descriptors (http/src/listen.c's refuse_backlog): a bare
    503 with Connection: close, then the close."""

    body = None

    def match(self, status, norm):
        return END if status == 503 and b"\r\nConnection: close\r\n" in norm else None

    def render(self):
        return b"HTTP/1.1 503 ... Connection: close"

    def __repr__(self):
        return "503 (refused), then end"


CANARY = request(b"GET", b"/users/42", [b"Connection: close\r\n"])


def get():
    return Item(GET, [Answer(200, HELLO)], "get")


def canary():
    return Item(CANARY, [Answer(200, b"user 42", conn=b"close", end=END)], "canary")


def earlier_connection():
    """Any earlier connection: it leaves a read buffer in its worker's pool."""
    return Plan("earlier", [get(), canary()])


def chunk_ext_100k():
    """The overflow: a 100 KB chunk extension on a body the handler skips, after an earlier
    connection (ASan: heap-buffer-overflow in compact). The answer to GET / goes out before the
    body is read; the extension is past the 4 KiB chunk-line limit, so the connection then
    ends (or, should the limit ever allow it, the canary is answered)."""
    body = b"5;" + b"e" * 100000 + b"\r\nhello\r\n0\r\n\r\n"
    head = request(b"GET", b"/", [b"Transfer-Encoding: chunked\r\n"])
    ext = Item(head + body, [Answer(200, HELLO, end=MAYBE)], "chunk-ext-100k")
    return [[earlier_connection()], [Plan("chunk-ext-100k", [ext, canary()])]]


def skip_bad_chunk():
    """The overflow's second path (issue 7: READ of size 4294954008 in compact): a 30,000-byte
    chunk on a body the handler skips, then malformed framing and 20,000 more bytes, the first
    20,000 bytes in one write. The decoder's error left `used` unwritten, so the skip added a
    stale count to the buffer's start. Ten tries each of a bad size line and of a size line
    past its 4 KiB limit, each after an earlier connection; the answer to GET / goes out, then
    the connection ends."""
    waves = []
    head = request(b"GET", b"/", [b"Transfer-Encoding: chunked\r\n"])
    for i, bad in enumerate([b"zz\r\n", b"5;" + b"e" * 5000 + b"\r\n"] * 10):
        data = head + b"7530\r\n" + b"a" * 30000 + b"\r\n" + bad + b"b" * 20000
        p = Plan("skip-bad-chunk", [Item(data, [Answer(200, HELLO, end=END)], "skip-bad-chunk")])
        p.segments = [(0.0, data[:20000]), (0.01 * (i // 2 % 2), data[20000:])]
        waves += [[earlier_connection()], [p]]
    return waves


def pipelined_reset():
    """20 connections of 1,000 pipelined GETs each, reset 5 ms after sending: nothing to check
    on the clients; the server must free every connection (and stop gracefully at the end)."""
    items = [get() for _ in range(1000)]
    return [[Plan("pipelined-reset", items, "reset", wait=0.005) for _ in range(20)]]


def chunk_straddle():
    """A chunked body whose framing straddles the end of the 16,184-byte read buffer, then
    1,000 pipelined GETs: every one must be answered."""
    head = request(b"POST", b"/", [b"Transfer-Encoding: chunked\r\n"])
    first = head + b"4e20\r\n" + b"a" * 3819
    rest = b"a" * 16181 + b"\r\n0\r\n\r\n"
    items = [
        Item(
            head + b"4e20\r\n" + b"a" * 20000 + b"\r\n0\r\n\r\n",
            [Answer(404, NOT_FOUND)],
            "straddle",
        )
    ] + [get() for _ in range(1000)]
    p = Plan("chunk-straddle", items)
    assert p.data == first + rest + GET * 1000
    p.segments = [(0.0, first), (0.05, rest + GET * 1000)]
    # The same stall in another shape the soak found (it depends on timing and on the
    # connections before): chunks of 1-16 bytes (40 KB), the first write exactly the read
    # buffer's 16,184 bytes, then the rest and 2 GETs 2 ms later.
    r, body, n = random.Random(1), b"", 0
    while n < 40000:
        size = r.randint(1, 16)
        body += b"%x\r\n" % size + b"a" * size + b"\r\n"
        n += size
    small = Item(
        request(b"GET", b"/", [b"Transfer-Encoding: chunked\r\n"]) + body + b"0\r\n\r\n",
        [Answer(200, HELLO)],
        "small-chunks",
    )
    q = Plan("chunk-straddle", [small, get(), get()])
    q.segments = [(0.0, q.data[:16184]), (0.002, q.data[16184:])]
    return [[p, q]]


def head_then_garbage():
    """A HEAD request, then bad input: the error's answer keeps its body (400, 505, 414)."""
    head = Item(request(b"HEAD", b"/"), [Answer(200, HELLO, head=True)], "head", head=True)
    bad = [
        Item(b"GARBAGE\r\n\r\n", [err(400)], "garbage"),
        Item(request(b"GET", b"/", version=b"HTTP/3.0"), [err(505)], "bad-version"),
        Item(request(b"GET", b"/" + b"a" * 9000), [err(414)], "long-target"),
    ]
    return [[Plan("head-then-garbage", [head, b]) for b in bad]]


def halfclose_20():
    """20 pipelined GETs, then shutdown(SHUT_WR): all 20 answered, then the close (20 tries)."""
    return [[Plan("halfclose-20", [get() for _ in range(20)], "halfclose")] for _ in range(20)]


def halfclose_partial():
    """Whole requests, then the start of one more, then shutdown(SHUT_WR): every whole one is
    answered, then the close (found by the soak on the fixes of issue 7: 1 GET + "GET" + FIN got
    no answer; 375 GETs, the last 45 bytes of the 325th one by one, 5 bytes more, FIN: 324).
    A request cut in its body gets 400 or nothing, at once."""
    waves = []
    for n, tail in [(1, 3), (2, 1), (13, 7), (20, 18)]:  # the tail: the first bytes of a GET
        items = [get() for _ in range(n + 1)]
        waves.append(
            [
                Plan("halfclose-partial", items, "halfclose", cut=n * len(GET) + tail)
                for _ in range(3)
            ]
        )
    items = [get() for _ in range(376)]
    p = Plan("halfclose-partial", items, "halfclose", cut=375 * len(GET) + 5)
    p.segments = (
        [(0.0, p.data[:8728])]
        + [(0.0007, p.data[i : i + 1]) for i in range(8728, 8773)]
        + [(0.0, p.data[8773 : p.cut])]
    )
    waves.append([p])
    # A chunked body the handler reads, cut inside a chunk-size line by the FIN: 400 at once
    # (found by the soak: the server waited for the body timeout, 30 s, and answered 408).
    head = request(b"POST", b"/echo", [b"Transfer-Encoding: chunked\r\n"])
    body = b"5\r\nhello\r\n95\r\n" + b"a" * 0x95 + b"\r\n0\r\n\r\n"
    echo = Item(
        head + body,
        [
            Answer(
                200,
                b"hello" + b"a" * 0x95,
                ctype=b"application/octet-stream",
                extra=[(b"X-Trailers", b"0")],
            )
        ],
        "echo-chunked",
    )
    waves.append([Plan("halfclose-partial", [echo], "halfclose", cut=len(head) + 12)])
    return waves


def gets(n, refusable=False):
    """n pipelined GET / in one write; refusable: at a limit, the first may get the 503 of a
    server out of descriptors (then the close), or the close alone: a connection accepted
    before its request arrived is one of the new and silent ones that make room."""
    items = [get() for _ in range(n)]
    if refusable:
        items[0].answers.append(Refused())
        items[0].optional = True
    return Plan("gets", items)


def idle_conn():
    """Connects, sends nothing, resets after 3 s: an idle connection, which the server closes
    to make room for a new one at a limit."""
    return Plan("idle", [], "reset", segments=[], wait=3.0, deadline=0.1)


def conn_flood():
    """2,000 connections at once (some with half a request head, some with a whole request),
    all dropped at once, half by a reset, half by a close without reading; then 50 clients, all
    answered. The server must free every one (its sockets back to the baseline)."""
    r = random.Random(11)
    wave = []
    for k in range(2000):
        data = [b"", GET[: r.randint(1, len(GET) - 1)], GET * r.randint(1, 3)][k % 3]
        p = Plan("flood", [Item(data, [err(400)], "flood", optional=True)])
        p.ending = "reset" if k % 2 else "noread"
        p.wait = 0.4
        wave.append(p)
    return [wave, [gets(r.randint(1, 20)) for _ in range(50)]]


@storm(nofile=160)
def fd_limit():
    """The server out of descriptors (a limit of 160): 120 idle connections, then 500 clients
    with 1-10 pipelined GETs each. Idle connections make room; a client gets
    its answers, or, the first one, the refusal of a server with nothing idle left (503 and the
    close). Then 40 clients, all answered."""
    r = random.Random(12)
    waves = []
    for n in (500,):
        wave = [idle_conn() for _ in range(120)]
        for _ in range(n):
            p = gets(r.randint(1, 10), refusable=True)
            p.start = r.uniform(0.05, 0.5)
            wave.append(p)
        waves.append(wave)
    return waves + [[gets(r.randint(1, 5)) for _ in range(40)]]


@storm(env={"HTTP_MAX_CONNECTIONS": "64"}, long=True)
def max_connections():
    """max_connections 64: 100 idle connections, then 500 clients with 1-10 pipelined GETs each
    at once. Idle ones make room (the longest idle first); with none left, accepting pauses
    until a connection closes: every request the server reads is answered."""
    r = random.Random(13)
    wave = [idle_conn() for _ in range(100)]
    for _ in range(500):
        p = gets(r.randint(1, 10), refusable=True)
        p.start = r.uniform(0.05, 0.5)
        wave.append(p)
    return [wave]


@storm(rss_growth_mib=96)
def noread_echo():
    """Back-pressure: 200 clients each pipelining 40 POST /echo of 32 KiB (answers as large as
    the requests), never reading, reset after 3 s. The server holds a request's body and 64 KiB
    of queued answer per connection, then stops reading: RSS stays within ~100 MiB of where it
    was (ASan's redzones and quarantine included), not the 256 MB the clients offer."""
    body = b"e" * 32768
    req = request(b"POST", b"/echo", [b"Content-Length: 32768\r\n"], body)
    out = []
    for _ in range(200):
        p = Plan("noread-echo", [Item(req, [], "echo") for _ in range(40)], "reset", wait=1.0)
        p.deadline = 3.0  # the writes stall (the server stops reading): reset after 3-4 s
        out.append(p)
    return [out]


@storm(sigterm_after=0.7, long=True)
def sigterm_storm():
    """SIGTERM 0.7 s into a storm of 150 random clients: the graceful stop finishes within its
    deadline, exits 0, leaks nothing; no client gets wrong bytes (answers cut by the stop
    are not counted)."""
    wave = []
    for k in range(150):
        cr = random.Random("sigterm:%d" % k)
        p = client(Grammar(cr, 512 << 10), "mix")
        p.start = cr.uniform(0, 0.5)
        for it in p.items:  # the stop finishes a request in flight with Connection: close
            it.answers += [a.closing().copy(end=END) for a in it.answers if a.end != END]
        wave.append(p)
    return [wave]


NAMED = {
    "chunk-ext-100k": chunk_ext_100k,
    "skip-bad-chunk": skip_bad_chunk,
    "pipelined-reset": pipelined_reset,
    "chunk-straddle": chunk_straddle,
    "head-then-garbage": head_then_garbage,
    "halfclose-20": halfclose_20,
    "halfclose-partial": halfclose_partial,
    "conn-flood": conn_flood,
    "fd-limit": fd_limit,
    "max-connections": max_connections,
    "noread-echo": noread_echo,
    "sigterm-storm": sigterm_storm,
}
