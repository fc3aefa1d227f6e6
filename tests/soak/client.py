"""
One hostile client over a real socket (asyncio), and the check of what it gets back: every
answer it may expect, in order and byte for byte (the Date value only has to be a valid
IMF-fixdate), then the server's close where one must come.
"""

import asyncio
import re
import socket
import struct
import time

from grammar import DATE, END, FIN, HELLO, MAYBE, Answer

DATE_RE = re.compile(
    rb"\r\nDate: [A-Z][a-z]{2}, [0-9]{2} [A-Z][a-z]{2} [0-9]{4} "
    rb"[0-9]{2}:[0-9]{2}:[0-9]{2} GMT\r\n"
)
CL_RE = re.compile(rb"\r\nContent-Length: ([0-9]{1,15})\r\n")
CONTINUE = b"HTTP/1.1 100 Continue\r\n\r\n"


class Failure(Exception):
    pass


class Result:
    __slots__ = ("error", "sent", "received", "answers", "requests", "writer_error")

    def __init__(self):
        self.error = None
        self.sent = self.received = self.answers = self.requests = 0
        self.writer_error = None


def show(b, n=160):
    b = bytes(b)
    return repr(b if len(b) <= n else b[: n // 2] + b"..." + b[-n // 2 :])


def diff(want, got):
    i = 0
    n = min(len(want), len(got))
    while i < n and want[i] == got[i]:
        i += 1
    lo = max(0, i - 40)
    return "differs at byte %d of %d (want %d): want %s, got %s" % (
        i,
        len(got),
        len(want),
        show(want[lo : i + 60]),
        show(got[lo : i + 60]),
    )


def parse_response(buf, pos, head_only):
    """The response at buf[pos:]: (its end, status, its bytes with the Date value replaced by
    DATE), or None if it is not all there yet."""
    end = buf.find(b"\r\n\r\n", pos)
    if end < 0:
        if len(buf) - pos > 70000:
            raise Failure("no end of a response head within 70 KB: %s" % show(buf[pos : pos + 200]))
        if len(buf) - pos >= 9 and not buf.startswith(b"HTTP/1.1 ", pos):
            raise Failure("not a status line: %s" % show(buf[pos : pos + 200]))
        return None
    head = bytes(buf[pos : end + 4])
    if not re.match(rb"HTTP/1\.1 [1-5][0-9][0-9] ", head):
        raise Failure("not a status line: %s" % show(head[:200]))
    status = int(head[9:12])
    blen = 0
    if status not in (100, 204, 304) and not head_only:
        m = CL_RE.search(head)
        if not m:
            raise Failure("a response without Content-Length: %s" % show(head))
        blen = int(m.group(1))
    total = end + 4 + blen
    if len(buf) < total:
        return None
    norm = DATE_RE.sub(b"\r\nDate: " + DATE + b"\r\n", head, count=1)
    return total, status, norm + bytes(buf[end + 4 : total])


class Checker:
    """Reads a connection's answers against items (the requests that may be answered, in
    order) and, when eof_after, the server's close after them."""

    def __init__(self, loop, sock, items, eof_after, deadline, res):
        self.loop, self.sock, self.items = loop, sock, items
        self.eof_after, self.deadline, self.res = eof_after, deadline, res
        self.buf = bytearray()
        self.pos = 0
        self.rendered = {}

    async def recv(self, what):
        """Bytes, or None at the server's close (a FIN or a reset)."""
        left = self.deadline - self.loop.time()
        if left <= 0:
            raise Failure("timed out waiting for %s" % what)
        try:
            data = await asyncio.wait_for(self.loop.sock_recv(self.sock, 262144), left)
        except asyncio.TimeoutError:
            raise Failure("timed out waiting for %s" % what) from None
        except (ConnectionResetError, BrokenPipeError):
            return None
        if not data:
            return None
        self.res.received += len(data)
        return data

    def render(self, a):
        r = self.rendered.get(id(a))
        if r is None:
            r = self.rendered[id(a)] = a.render()
        return r

    def match(self, a, status, norm):
        """What follows answer a if norm is it (an Answer: byte for byte; an answer checked by
        its status, dyn_grammar.Status: its own match), else None."""
        if hasattr(a, "match"):
            return a.match(status, norm)
        return a.end if self.render(a) == norm else None

    async def run(self):
        items, n = self.items, len(self.items)
        i, maybe_end, closing, interim = 0, False, False, False
        while True:
            if closing or (i == n and self.eof_after):
                what = "the server's close after answer %d" % i
                data = await self.recv(what)
                if data is None:
                    return
                self.buf += data
                raise Failure(
                    "bytes after the last answer (%d of %d): %s"
                    % (i, n, show(self.buf[self.pos : self.pos + 300]))
                )
            if i == n:
                return
            it = items[i]
            got = parse_response(self.buf, self.pos, it.head)
            if got is None:
                data = await self.recv("answer %d of %d (%s)" % (i + 1, n, it.kind))
                if data is None:
                    if self.pos < len(self.buf):
                        raise Failure(
                            "the server closed in the middle of answer %d of %d (%s): "
                            "got %s" % (i + 1, n, it.kind, show(self.buf[self.pos :], 400))
                        )
                    if it.optional or maybe_end:
                        return
                    raise Failure(
                        "the server closed before answer %d of %d (%s)" % (i + 1, n, it.kind)
                    )
                self.buf += data
                continue
            total, status, norm = got
            self.pos = total
            if self.pos > (1 << 20):
                del self.buf[: self.pos]
                self.pos = 0
            if status == 100:
                if norm != CONTINUE or it.interim == "forbidden" or interim:
                    raise Failure(
                        "unexpected interim answer before answer %d (%s): %s"
                        % (i + 1, it.kind, show(norm))
                    )
                interim = True
                continue
            ends = {self.match(a, status, norm) for a in it.answers} - {None}
            if not ends:
                want = self.render(it.answers[0])
                raise Failure(
                    "answer %d of %d (%s) is wrong (%d alternatives; first: %r): %s"
                    % (i + 1, n, it.kind, len(it.answers), it.answers[0], diff(want, norm))
                )
            if it.interim == "required" and not interim:
                raise Failure("no 100 Continue before answer %d (%s)" % (i + 1, it.kind))
            self.res.answers += 1
            interim = False
            if len(ends) > 1:
                ends.discard(FIN)
            end = ends.pop() if len(ends) == 1 else MAYBE  # alike answers, unlike ends
            if end == FIN:
                left = [x for x in items[i + 1 :] if not x.optional]
                if left:
                    raise Failure(
                        "answer %d of %d (%s) said Connection: close, leaving %d requests "
                        "sent whole before the client's FIN unanswered"
                        % (i + 1, n, it.kind, len(left))
                    )
                end = END
            closing = end == END
            maybe_end = end == MAYBE
            i += 1


async def send(loop, sock, plan, res):
    try:
        for delay, chunk in plan.segments:
            if delay:
                await asyncio.sleep(delay)
            await loop.sock_sendall(sock, chunk)
            res.sent += len(chunk)
        if plan.ending == "halfclose":
            sock.shutdown(socket.SHUT_WR)
    except OSError as e:
        res.writer_error = e.strerror or repr(e)


def reset(sock):
    """Closes with a reset (SO_LINGER 0)."""
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    except OSError:
        pass
    sock.close()


async def run_client(plan, port):
    """Plays plan against 127.0.0.1:port. Returns a Result (error set on a failed check)."""
    loop = asyncio.get_running_loop()
    res = Result()
    if plan.start:
        await asyncio.sleep(plan.start)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setblocking(False)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    try:
        await asyncio.wait_for(loop.sock_connect(sock, ("127.0.0.1", port)), 5)
    except (OSError, asyncio.TimeoutError) as e:
        sock.close()
        res.error = "connect failed: %r" % e
        return res
    deadline = loop.time() + plan.deadline
    writer = asyncio.create_task(send(loop, sock, plan, res))
    rst = plan.ending in ("reset", "reset-response")
    try:
        if plan.ending in ("normal", "halfclose", "slowread"):
            if plan.ending == "slowread":
                await asyncio.sleep(plan.wait)
            items, eof_after = plan.expected()
            res.requests = len(items)
            await Checker(loop, sock, items, eof_after, deadline, res).run()
        elif plan.ending == "reset":
            try:
                await asyncio.wait_for(asyncio.shield(writer), plan.deadline)
            except asyncio.TimeoutError:
                pass
            await asyncio.sleep(plan.wait)
        elif plan.ending == "reset-response":
            got = 0
            while got < plan.read_before_reset and loop.time() < deadline:
                try:
                    d = await asyncio.wait_for(loop.sock_recv(sock, 65536), deadline - loop.time())
                except (OSError, asyncio.TimeoutError):
                    break
                if not d:
                    break
                got += len(d)
            res.received = got
        else:  # noread: send what the server takes, never read, then close
            try:
                await asyncio.wait_for(asyncio.shield(writer), plan.wait)
            except asyncio.TimeoutError:
                pass
    except Failure as f:
        res.error = str(f)
    finally:
        writer.cancel()
        await asyncio.gather(writer, return_exceptions=True)
        if rst:
            reset(sock)
        else:
            sock.close()
    return res


async def run_wave(plans, port):
    return await asyncio.gather(*(run_client(p, port) for p in plans))


def probe(port, timeout=1.0, want=None):
    """A plain GET / answered within timeout: None, or what went wrong. want: the answer, as
    rendered, Date aside [http_hello's], or a function of (status, answer) saying it is right."""
    if want is None:
        want = Answer(200, HELLO, conn=b"close").render()
    t0 = time.monotonic()
    try:
        s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    except OSError as e:
        return "probe: connect failed: %r" % e
    buf = bytearray()
    try:
        s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        while True:
            left = timeout - (time.monotonic() - t0)
            if left <= 0:
                return "probe: no whole answer to GET / within %.1f s (got %s)" % (
                    timeout,
                    show(buf),
                )
            s.settimeout(left)
            d = s.recv(65536)
            if not d:
                break
            buf += d
    except socket.timeout:
        return "probe: no whole answer to GET / within %.1f s (got %s)" % (timeout, show(buf))
    except OSError as e:
        return "probe: %r (got %s)" % (e, show(buf))
    finally:
        s.close()
    got = parse_response(buf, 0, False) if buf else None
    ok = got and got[0] == len(buf) and (want(got[1], got[2]) if callable(want) else got[2] == want)
    if not ok:
        return "probe: wrong answer to GET /: %s" % show(buf, 400)
    return None
