"""
Shrinks a failing client to a minimal reproducer: fewer requests (delta debugging, each try
against a fresh server), sent in one write when that still fails, else at the drawn cut points
that fall in the requests kept; then writes a standalone Python script that sends those bytes
the same way.
"""

import asyncio
import re
import time

from client import probe, run_wave
from grammar import Plan
from server import SANITIZER_RE, Server


def signature(srv, res, base_sockets, want=None):
    """What went wrong, stripped of numbers: the failure to keep while shrinking."""
    log = srv.read_log()
    m = SANITIZER_RE.search(log)
    if m:
        kind = re.search(r"Sanitizer: ([\w-]+)|runtime error: ([^\n]{0,60})", log[m.start() :])
        frame = re.search(r"#1 0x[0-9a-f]+ in (\w+)", log[m.start() :])
        return "sanitizer %s in %s" % (
            kind and (kind.group(1) or kind.group(2)),
            frame and frame.group(1),
        )
    if not srv.alive():
        return "died"
    if res.error:
        return "client: " + re.sub(r"\d+", "N", res.error)[:70]
    t0 = time.monotonic()
    while srv.sockets() > base_sockets and time.monotonic() - t0 < 4:
        time.sleep(0.05)
    if srv.sockets() > base_sockets:
        return "connection left open"
    if probe(srv.port, 1.0, want):
        return "no answer to GET /"
    return None


def _trial(binary, log_path, plan, env=None, want=None):
    srv = Server(binary, 2, log_path, env)
    srv.start()
    try:
        probe(srv.port, 5.0, want)
        time.sleep(0.1)
        base = srv.sockets()
        res = asyncio.run(run_wave([plan], srv.port))[0]
        time.sleep(0.2)
        return signature(srv, res, base, want)
    finally:
        srv.kill()


def with_items(plan, items, mode):
    """plan with only `items`, sent in one write ("one"), or at the drawn cut points that fall
    in the kept requests ("drawn"), with their delays."""
    p = Plan(
        plan.kind,
        items,
        plan.ending,
        wait=plan.wait,
        read_before_reset=plan.read_before_reset,
        eof_after=plan.eof_after,
    )
    p.deadline = min(plan.deadline, 10.0)
    if plan.ending in ("halfclose", "reset") and plan.cut < len(plan.data):
        p.cut = min(len(p.data), plan.cut)  # approximate: the same byte count
        p.segments = [(0.0, p.data[: p.cut])]
        return p
    if mode == "one":
        return p
    starts, off = {}, 0
    for it in plan.items:
        starts[id(it)] = off
        off += len(it.data)
    new, off = {}, 0
    for it in items:
        new[id(it)] = off
        off += len(it.data)
    cuts, pos = [], 0  # (new offset, delay before the bytes from there)
    for d, b in plan.segments:
        for it in plan.items:
            o = starts[id(it)]
            if o <= pos < o + len(it.data):
                if id(it) in new:
                    cuts.append((new[id(it)] + pos - o, d))
                break
        pos += len(b)
    cuts = sorted(dict(cuts).items())
    if not cuts or cuts[0][0] != 0:
        cuts.insert(0, (0, 0.0))
    bounds = [c for c, _ in cuts[1:]] + [len(p.data)]
    p.segments = [(d if c else 0.0, p.data[c:e]) for (c, d), e in zip(cuts, bounds) if e > c]
    return p


def minimize(binary, log_path, plan, say, env=None, want=None):
    """env: more of the server's environment; want: the probe's answer (client.probe)."""

    def trial(binary, log_path, plan):
        return _trial(binary, log_path, plan, env, want)

    sig = trial(binary, log_path, with_items(plan, plan.items, "drawn"))
    say("as drawn: %s" % sig)
    if not sig:
        return None
    mode = "one" if trial(binary, log_path, with_items(plan, plan.items, "one")) == sig else "drawn"
    say(
        "shrinking %d requests (%s)"
        % (len(plan.items), "in one write" if mode == "one" else "at the drawn cut points")
    )
    items, n = list(plan.items), 2
    while len(items) >= 2:
        size = max(1, len(items) // n)
        shrunk = False
        for i in range(0, len(items), size):
            rest = items[:i] + items[i + size :]
            if rest and trial(binary, log_path, with_items(plan, rest, mode)) == sig:
                items, n, shrunk = rest, max(n - 1, 2), True
                say("  %d requests still fail" % len(items))
                break
        if not shrunk:
            if n >= len(items):
                break
            n = min(len(items), n * 2)
    return with_items(plan, items, mode), sig


def script(plan, sig):
    """A standalone reproducer: python3 repro.py PORT."""
    lines = [
        "# Reproducer drawn by tests/soak/http_soak.py --minimize: %s" % sig,
        "# %s" % plan.describe(),
        "# usage: python3 THIS PORT   (against tests/bench/http_hello PORT 2, ASan build)",
        "import socket, struct, sys, time",
        "s = socket.create_connection(('127.0.0.1', int(sys.argv[1])))",
        "s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)",
    ]
    for d, b in plan.segments:
        if d:
            lines.append("time.sleep(%.3f)" % d)
        lines.append("s.sendall(%r)" % b)
    if plan.ending == "halfclose":
        lines.append("s.shutdown(socket.SHUT_WR)")
    if plan.ending in ("reset", "reset-response"):
        lines += [
            "time.sleep(%.3f)" % plan.wait,
            "s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack('ii', 1, 0))",
            "s.close()",
        ]
    else:
        lines += [
            "s.settimeout(5)",
            "got = b''",
            "try:",
            "    while True:",
            "        d = s.recv(65536)",
            "        if not d:",
            "            break",
            "        got += d",
            "except OSError as e:",
            "    print('recv:', e)",
            "print(got.count(b'HTTP/1.1 '), 'answers,', len(got), 'bytes')",
        ]
    return "\n".join(lines) + "\n"
