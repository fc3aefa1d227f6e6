#!/usr/bin/env python3
"""
The hostile-client soak of the HTTP server: many hostile clients at once, over real sockets,
against tests/bench/http_hello (built with AddressSanitizer+UBSan) on 127.0.0.1.

    http_soak.py --server build/asan/tests/bench/http_hello [--seed N] [--batches N]
                 [--duration S] [--clients N] [--scenario NAME...] [--replay B[.K]]

It plays issue 7's named scenarios (unless --no-named), then random batches drawn from the
seed (grammar.py: valid and broken requests, header blocks up to 200 KB, Content-Length and
chunked bodies with random chunks, extensions and trailers, pipelines of 1-50 requests behind
bodies, random split points and delays, byte-by-byte stretches, resets mid-request and
mid-response, half-closes, clients that never read, slowloris).

After every batch: every answer a client could expect came in order and byte-exact (a client
that half-closes still gets an answer to every request it sent whole before its FIN; resets
and non-readers get nothing checked); the server lives, its stderr holds no sanitizer report,
it answers a plain GET / within a second, and its socket descriptors are back to their
baseline. At the end: RSS back near its baseline, ~0% CPU when idle, then SIGTERM and a clean
exit within 15 s with no LeakSanitizer report.

A failure prints the seed and the scenario, with the command that plays it again alone.
Exit status 0 when everything held, 1 otherwise.
"""

import argparse
import asyncio
import os
import random
import re
import resource
import shlex
import subprocess
import sys
import tempfile
import threading
import time

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import minimize  # noqa: E402
from client import probe, run_wave, show  # noqa: E402
from grammar import batch  # noqa: E402
from scenarios import NAMED  # noqa: E402
from server import SANITIZER_RE, Server  # noqa: E402

SOCKETS_BACK_S = 5.0  # lingering close holds a connection 2 s at most
STOP_TIMEOUT_S = 15.0  # http_hello's stop: 5 s deadline, 1 s kill grace, then the exit
IDLE_WINDOW_S = 3.0
IDLE_CPU_MAX = 0.02  # of one core
# RSS at the end against RSS after the first random batch (the baseline: the worker's pools,
# the allocator's caches warmed up). Every connection and request is freed by then, so what may
# grow is freed memory the allocator keeps: ASan's quarantine (capped at 32 MiB, server.py)
# and its size-class free lists, which the run's peak concurrency sets (a 25-minute run peaked
# 60 MiB over its baseline). Allowed: the baseline plus 96 MiB or half of it, whichever is
# more; a leak of connections or requests under thousands of clients goes past that
# (LeakSanitizer at the stop sees the rest).
RSS_SLACK_KIB = 96 << 10
RSS_SLACK_RATIO = 0.5


# What a client may see when the server stops under it (a graceful stop closes idle connections,
# finishes the requests in flight, then closes the rest at its deadline, mid-answer if need be;
# a stopped server refuses connections). Wrong bytes are never among them.
CUT_BY_STOP = ("the server closed", "connect failed", "timed out")


def cut_by_stop(error):
    return error.startswith(CUT_BY_STOP)


class RssSampler(threading.Thread):
    """The server's peak RSS (KiB) while a step plays, sampled every 20 ms."""

    def __init__(self, server):
        super().__init__(daemon=True)
        self.server, self.peak, self.done = server, max(0, server.rss_kib()), threading.Event()
        self.start()

    def run(self):
        while not self.done.wait(0.02):
            self.peak = max(self.peak, self.server.rss_kib())

    def stop(self):
        self.done.set()
        self.join()
        return self.peak


class Soak:
    """The run: steps, checks, the end. dynamo_soak.py's DynSoak changes what it plays
    (batch, named, probe_want, env) and adds checks (extra_checks)."""

    named = NAMED  # the named scenarios
    probe_want = None  # the probe's answer: http_hello's

    def batch(self, seed, b, clients, avoid):
        return batch(seed, b, clients, avoid)

    def env(self):
        """More of the server's environment."""
        return {}

    def extra_checks(self, where, replay):
        """More checks after a step (the server alive and its sockets back): False if one
        failed (reported)."""
        return True

    def __init__(self, args):
        self.args = args
        self.seed = args.seed
        self.failures = []
        self.stats = dict(clients=0, requests=0, answers=0, sent=0, received=0, steps=0)
        self.endings = {}
        self.log_path = args.log
        if not self.log_path and not args.show:  # kept when something failed, else removed
            fd, self.log_path = tempfile.mkstemp(prefix="http-soak-", suffix=".log")
            os.close(fd)
        self.server = Server(
            args.server, args.schedulers, self.log_path, self.env(), getattr(args, "app", None)
        )
        self.server_opts = (None, {})
        self.t0 = time.monotonic()
        self.rss_ref = None
        self.rss_peak = 0

    # ---- reporting ---------------------------------------------------------------------------

    def replay_cmd(self, what):
        argv = [sys.argv[0], "--server", self.args.server, "--seed", str(self.seed)]
        if self.args.avoid:
            argv += ["--avoid", ",".join(self.args.avoid)]
        if self.args.clients != 60:
            argv += ["--clients", str(self.args.clients)]
        argv += what
        return " ".join(shlex.quote(a) for a in argv)

    def fail(self, where, msg, replay):
        self.failures.append((where, msg, replay))
        print(
            "FAIL [seed %s, %s]: %s\n     replay: %s"
            % (self.seed, where, msg, self.replay_cmd(replay)),
            flush=True,
        )

    def say(self, msg):
        print("[%6.1f s] %s" % (time.monotonic() - self.t0, msg), flush=True)

    # ---- the server ----------------------------------------------------------------------------

    def start_server(self, nofile=None, env=None):
        self.server_opts = (nofile, env or {})
        self.server.env = dict(self.env(), **(env or {}))
        self.server.start(nofile=nofile)
        err = probe(
            self.server.port, 5.0, self.probe_want
        )  # the first answer warms up a cold ASan binary
        if err:
            raise RuntimeError(err)
        self.base_sockets = self.wait_sockets(None, 5.0)
        self.rss_ref = None
        self.say(
            "server pid %d on port %d: %d sockets, RSS %d MiB (log %s)"
            % (
                self.server.proc.pid,
                self.server.port,
                self.base_sockets,
                self.server.rss_kib() >> 10,
                self.log_path,
            )
        )

    def wait_sockets(self, target, timeout):
        """Waits until the server holds `target` sockets (None: until the count is stable)."""
        t0, last, since = time.monotonic(), -2, time.monotonic()
        while True:
            n = self.server.sockets()
            if target is not None and n <= target:
                return n
            if n != last:
                last, since = n, time.monotonic()
            elif target is None and time.monotonic() - since > 0.3:
                return n
            if time.monotonic() - t0 > timeout:
                return n
            time.sleep(0.05)

    def check_server(self, where, replay):
        """After a step: alive, silent, answering, its connections freed. False if not."""
        srv = self.server
        srv.failed()  # a server that reports waits here to finish its report and exit
        log = srv.read_log()
        ok = True
        m = SANITIZER_RE.search(log)
        if m:
            start = log.rfind("\n", 0, max(0, m.start() - 200)) + 1
            self.fail(
                where,
                "sanitizer report on the server's stderr%s:\n%s"
                % ("" if srv.alive() else " (it died)", log[start : start + 6000]),
                replay,
            )
            return False
        if not srv.alive():
            self.fail(
                where,
                "the server died (status %s); its last words:\n%s"
                % (srv.proc.returncode, log[-4000:]),
                replay,
            )
            return False
        other = [l for l in log.splitlines() if l.strip() and "listening on" not in l]
        if other:
            self.say("server stderr: " + " | ".join(other[:5]))
        err = probe(srv.port, 1.0, self.probe_want)
        if err:
            self.fail(where, err, replay)
            ok = False
        n = self.wait_sockets(self.base_sockets, SOCKETS_BACK_S)
        if n > self.base_sockets:
            self.fail(
                where,
                "%d connections still open %.0f s after the clients left (baseline "
                "%d sockets, now %d)"
                % (n - self.base_sockets, SOCKETS_BACK_S, self.base_sockets, n),
                replay,
            )
            ok = False
        ok = self.extra_checks(where, replay) and ok
        rss = srv.rss_kib()
        self.rss_peak = max(self.rss_peak, rss)
        if self.rss_ref is None and where.startswith("batch"):
            self.rss_ref = rss  # after the first random batch: pools and caches warmed up
        return ok

    # ---- steps -----------------------------------------------------------------------------------

    def play(self, where, waves, replay, ids=None, opts=None):
        """Plays waves of plans, checks the clients and the server. False if the server failed.
        opts (a named scenario's storm options): sigterm_after, SIGTERM that many seconds into
        the first wave, then the stop is checked (within STOP_TIMEOUT_S, status 0, no sanitizer
        report) and the clients only for wrong bytes (the stop may close them before an answer);
        rss_growth_mib, the most RSS may grow over its value before the step while the clients
        hold their connections (sampled every 20 ms)."""
        opts = opts or {}
        t = time.monotonic()
        nclients = nreq = nans = 0
        rss0 = self.server.rss_kib()
        sampler = RssSampler(self.server)
        timer = None
        if opts.get("sigterm_after") is not None:
            timer = threading.Timer(opts["sigterm_after"], self.server.terminate)
            timer.start()
        try:
            for w, plans in enumerate(waves):
                results = asyncio.run(run_wave(plans, self.server.port))
                dead = self.server.failed() if timer is None else not self.server.alive()
                cut = 0
                for k, (p, r) in enumerate(zip(plans, results)):
                    self.stats["clients"] += 1
                    self.stats["sent"] += r.sent
                    self.stats["received"] += r.received
                    self.stats["requests"] += r.requests
                    self.stats["answers"] += r.answers
                    self.endings[p.ending] = self.endings.get(p.ending, 0) + 1
                    nclients += 1
                    nreq += r.requests
                    nans += r.answers
                    stopping = timer is not None  # its death is checked by check_stopped
                    if r.error and (cut_by_stop(r.error) if stopping else dead):
                        cut += 1
                    elif r.error:
                        cid = ids[k] if ids else None
                        self.fail(
                            "%s%s"
                            % (
                                where,
                                " client %s" % cid
                                if cid is not None
                                else " wave %d client %d" % (w, k),
                            ),
                            "%s\n     client: %s%s"
                            % (
                                r.error,
                                p.describe(),
                                "; its writes failed: %s" % r.writer_error
                                if r.writer_error
                                else "",
                            ),
                            ["--replay", cid] if cid is not None else replay,
                        )
                if dead or timer is not None:
                    self.say(
                        "%d clients cut short by the server's %s (not reported one by one)"
                        % (cut, "stop" if timer is not None else "death")
                    )
                if dead:
                    break
        finally:
            peak = sampler.stop()
            if timer is not None:
                timer.cancel()
        self.stats["steps"] += 1
        if timer is not None:
            ok = self.check_stopped(where, replay)
        else:
            ok = self.check_server(where, replay)
        growth = opts.get("rss_growth_mib")
        if growth is not None and self.server.tsan:
            growth = None  # ThreadSanitizer's shadow memory follows what is touched: not a bound
        if growth is not None and rss0 > 0 and peak - rss0 > growth << 10:
            self.fail(
                where,
                "RSS grew by %d MiB while the clients held their connections (from %d MiB; "
                "allowed %d MiB)" % ((peak - rss0) >> 10, rss0 >> 10, growth),
                replay,
            )
            ok = False
        self.say(
            "%s: %d clients, %d answers checked (%d requests to checking clients), %.1f s; "
            "server: %d sockets, RSS %d MiB (peak %d MiB)"
            % (
                where,
                nclients,
                nans,
                nreq,
                time.monotonic() - t,
                self.server.sockets() if self.server.alive() else -1,
                max(0, self.server.rss_kib()) >> 10,
                peak >> 10,
            )
        )
        return ok

    def check_stopped(self, where, replay):
        """After a SIGTERM storm: the graceful stop finished in time, cleanly."""
        srv = self.server
        try:
            rc = srv.proc.wait(STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            rc = None
        log = srv.read_log()
        m = SANITIZER_RE.search(log)
        if rc is None:
            self.fail(
                where, "SIGTERM under load: no stop in %.0f s (killed)" % STOP_TIMEOUT_S, replay
            )
            srv.kill()
            return False
        if m:
            self.fail(
                where,
                "sanitizer report at a stop under load:\n" + log[m.start() : m.start() + 6000],
                replay,
            )
            return False
        if rc != 0:
            self.fail(
                where, "exit status %d after SIGTERM under load:\n%s" % (rc, log[-3000:]), replay
            )
            return False
        self.say(
            "stopped under load, status 0, %.1f s after the SIGTERM"
            % (time.monotonic() - srv.term_at)
        )
        return True

    def steps(self):
        """(where, waves, replay args, client ids, storm options) for every step of the run.
        A named scenario's options are its function's `storm` attribute (scenarios.py: the
        server's descriptor limit and environment, a SIGTERM in the middle, a bound on RSS
        while the clients hold their connections)."""
        a = self.args
        if a.replay:
            b, _, k = a.replay.partition(".")
            flavor, plans = self.batch(self.seed, int(b), a.clients, a.avoid)
            if k:
                yield "batch %s (%s)" % (b, flavor), [[plans[int(k)]]], ["--replay", a.replay], [
                    a.replay
                ], {}
            else:
                yield "batch %s (%s)" % (b, flavor), [plans], ["--replay", b], [
                    "%s.%d" % (b, i) for i in range(len(plans))
                ], {}
            return
        names = a.scenario or [
            n
            for n, f in self.named.items()
            if not a.no_named and (a.long or not getattr(f, "storm", {}).get("long"))
        ]
        for n in names:
            for i in range(a.repeat):
                yield "scenario %s%s" % (n, " #%d" % (i + 1) if a.repeat > 1 else ""), self.named[
                    n
                ](), [
                    "--scenario",
                    n,
                ], None, getattr(
                    self.named[n], "storm", {}
                )
        if a.scenario:
            return
        for b in range(a.batches):
            flavor, plans = self.batch(self.seed, b, a.clients, a.avoid)
            yield "batch %d (%s)" % (b, flavor), [plans], ["--replay", str(b)], [
                "%d.%d" % (b, i) for i in range(len(plans))
            ], {}

    # ---- the end ---------------------------------------------------------------------------------

    def final_checks(self, where):
        """Connections closed, RSS near its baseline, idle CPU ~0, then a clean stop."""
        srv = self.server
        n = self.wait_sockets(self.base_sockets, 10.0)
        self.say("end: %d sockets (baseline %d)" % (n, self.base_sockets))
        if n > self.base_sockets:
            self.fail(where, "%d connections never closed" % (n - self.base_sockets), [])
        rss = srv.rss_kib()
        ref = self.rss_ref or self.rss_peak or rss
        slack = max(RSS_SLACK_KIB, int(ref * RSS_SLACK_RATIO))
        self.say(
            "end: RSS %d MiB (baseline %d MiB, peak %d MiB, allowed %d MiB)"
            % (rss >> 10, ref >> 10, self.rss_peak >> 10, (ref + slack) >> 10)
        )
        if rss > ref + slack:
            self.fail(
                where,
                "RSS %d MiB at the end, %d MiB after the first batch (allowed: +%d MiB)"
                % (rss >> 10, ref >> 10, slack >> 10),
                [],
            )
        c0 = srv.cpu_seconds()
        time.sleep(IDLE_WINDOW_S)
        cpu = (srv.cpu_seconds() - c0) / IDLE_WINDOW_S
        self.say("end: idle CPU %.1f%% of a core over %.0f s" % (cpu * 100, IDLE_WINDOW_S))
        if cpu > IDLE_CPU_MAX:
            self.fail(where, "the idle server uses %.1f%% of a core" % (cpu * 100), [])
        self.stop_server(where)

    def stop_server(self, where):
        srv = self.server
        t = time.monotonic()
        rc = srv.stop(STOP_TIMEOUT_S)
        log = srv.read_log()
        if rc is None:
            self.fail(
                where,
                "SIGTERM: the graceful stop did not finish in %.0f s (killed)" % STOP_TIMEOUT_S,
                [],
            )
            srv.kill()
        else:
            self.say("end: stopped in %.1f s, status %d" % (time.monotonic() - t, rc))
            m = SANITIZER_RE.search(log)
            if m:
                self.fail(
                    where, "sanitizer report at the stop:\n" + log[m.start() : m.start() + 6000], []
                )
            elif rc != 0:
                self.fail(where, "exit status %d after SIGTERM:\n%s" % (rc, log[-3000:]), [])

    # ---- the run ---------------------------------------------------------------------------------

    def run(self):
        a = self.args
        self.say("seed %s; %s" % (self.seed, self.replay_cmd(["--replay", "B[.K]"])))
        try:
            for where, waves, replay, ids, opts in self.steps():
                if time.monotonic() - self.t0 > a.duration:
                    self.say("time is up (%d s): stopping before %s" % (a.duration, where))
                    break
                server_opts = (opts.get("nofile"), opts.get("env", {}))
                if self.server.alive() and server_opts != self.server_opts:
                    self.say(
                        "a new server (descriptor limit %s, environment %r) for %s"
                        % (server_opts[0] or "inherited", server_opts[1], where)
                    )
                    self.stop_server("before %s" % where)  # a clean stop, leaks checked
                if not self.server.alive():
                    self.start_server(*server_opts)
                ok = self.play(where, waves, replay, ids, opts)
                if not self.server.alive():  # stopped by the step (a SIGTERM storm)
                    pass
                elif ok and a.stop_every and self.stats["steps"] % a.stop_every == 0:
                    self.final_checks("after %s" % where)
                elif not ok:
                    if not a.keep_going:
                        break
                    self.say("restarting the server")
                    self.server.kill()
                    self.server.read_log()
            if self.server.alive():  # not stopped already (--stop-every), not dead
                self.final_checks("the end")
        finally:
            if self.server.alive():
                self.server.kill()
        self.summary()
        if not self.failures and not a.log:
            os.unlink(self.log_path)
        return 1 if self.failures else 0

    def minimize(self):
        b, _, k = self.args.minimize.partition(".")
        plan = self.batch(self.seed, int(b), self.args.clients, self.args.avoid)[1][int(k)]
        plan.start = 0.0
        got = minimize.minimize(
            self.args.server, self.log_path, plan, self.say, self.env(), self.probe_want
        )
        if not self.args.log:
            os.unlink(self.log_path)  # the tries' logs: the reproducer says what matters
        if not got:
            self.say("client %s does not fail alone" % self.args.minimize)
            return 1
        text = minimize.script(*got)
        if self.args.out:
            with open(self.args.out, "w") as f:
                f.write(text)
            self.say("reproducer (%s) in %s" % (got[1], self.args.out))
        else:
            print(text)
        return 0

    def show(self):
        """Prints what the steps would play: each client's requests, answers and writes."""
        for where, waves, _, ids, opts in self.steps():
            print("== %s%s" % (where, " %r" % opts if opts else ""))
            for w, plans in enumerate(waves):
                for k, p in enumerate(plans):
                    print("-- client %s: %s" % (ids[k] if ids else "%d.%d" % (w, k), p.describe()))
                    for it in p.items:
                        head = it.data.split(b"\r\n\r\n", 1)[0]
                        print(
                            "   %-22s %7d B  %s\n%27s-> %s"
                            % (
                                it.kind,
                                len(it.data),
                                show(head, 200),
                                "",
                                " | ".join(repr(a) for a in it.answers),
                            )
                        )
                    print(
                        "   writes: "
                        + ", ".join("%+.3fs %d B" % (d, len(b)) for d, b in p.segments[:40])
                        + (" ..." if len(p.segments) > 40 else "")
                    )
        return 0

    def summary(self):
        s = self.stats
        print(
            "\nsoak: seed %s, %.0f s, %d steps, %d clients (%s), %d answers checked, %.1f MB sent, "
            "%.1f MB received, %d server start(s)"
            % (
                self.seed,
                time.monotonic() - self.t0,
                s["steps"],
                s["clients"],
                ", ".join("%s %d" % kv for kv in sorted(self.endings.items())),
                s["answers"],
                s["sent"] / 1e6,
                s["received"] / 1e6,
                self.server.starts,
            )
        )
        if not self.failures:
            print("soak: PASS")
            return
        groups = {}
        for where, msg, replay in self.failures:
            key = re.sub(r"\d+", "N", msg.splitlines()[0])[:100]
            groups.setdefault(key, []).append((where, msg, replay))
        print("soak: FAIL, %d failure(s) of %d kind(s):" % (len(self.failures), len(groups)))
        for fails in sorted(groups.values(), key=len, reverse=True):
            where, msg, replay = fails[0]
            print(
                "  - %dx, first at %s: %s\n      replay: %s"
                % (len(fails), where, msg.splitlines()[0][:300], self.replay_cmd(replay))
            )


def main(soak_cls=Soak, doc=__doc__, what="http_hello"):
    ap = argparse.ArgumentParser(
        description=doc.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--server", required=True, help="the %s binary (ASan build)" % what)
    ap.add_argument("--seed", default=None, help="the run's seed (default: a random one)")
    ap.add_argument("--batches", type=int, default=1000000, help="random batches at most")
    ap.add_argument("--duration", type=float, default=60, help="no new step after S seconds")
    ap.add_argument("--clients", type=int, default=60, help="clients per batch at most")
    ap.add_argument("--schedulers", type=int, default=2)
    ap.add_argument(
        "--scenario",
        action="append",
        choices=sorted(set(soak_cls.named) | set(getattr(soak_cls, "app_named", {}))),
        help="play this named scenario only (repeatable)",
    )
    ap.add_argument("--repeat", type=int, default=1, help="times each named scenario is played")
    ap.add_argument("--no-named", action="store_true", help="random batches only")
    ap.add_argument(
        "--long",
        action="store_true",
        help="the long named storms too (max_connections, SIGTERM under load, ...)",
    )
    ap.add_argument("--replay", help="batch B (or its client B.K) alone, as the seed drew it")
    ap.add_argument(
        "--minimize",
        metavar="B.K",
        help="shrink failing client B.K to a standalone reproducer (see --out)",
    )
    ap.add_argument("--out", help="where --minimize writes its reproducer (default: stdout)")
    ap.add_argument(
        "--show",
        action="store_true",
        help="print the clients of the steps (requests, answers, writes), play nothing",
    )
    ap.add_argument(
        "--avoid",
        type=lambda s: [x for x in s.split(",") if x],
        default=[],
        help="request kinds and endings not to draw, comma-separated (e.g. "
        "'head,halfclose,near-chunk-line-skip': to look past known defects)",
    )
    ap.add_argument(
        "--keep-going", action="store_true", help="restart the server after a failure and go on"
    )
    ap.add_argument(
        "--stop-every",
        type=int,
        default=0,
        metavar="N",
        help="every N steps, the end's checks (graceful stop, leaks) and a new server",
    )
    ap.add_argument("--log", help="the server's stderr (default: a temporary file)")
    if getattr(soak_cls, "app_named", None) is not None:
        ap.add_argument(
            "--app",
            metavar="ENV",
            help="--server is an example application's node (apps/hello's hello), run in ENV "
            "(dev: the exception page, the reloader; prod: SECRET_KEY_BASE is set here)",
        )
    args = ap.parse_args()
    if args.seed is None:
        args.seed = str(random.SystemRandom().randrange(1, 1 << 31))
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    soak = soak_cls(args)
    if args.show:
        return soak.show()
    if args.minimize:
        return soak.minimize()
    return soak.run()


if __name__ == "__main__":
    sys.exit(main())
