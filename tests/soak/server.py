"""
The server under test (tests/bench/http_hello, tests/soak/dynamo_soak_server) on an ephemeral
port of 127.0.0.1, its stderr in a log file (watched for sanitizer reports), and what /proc
says of it (socket and other descriptors, RSS, CPU time).
"""

import os
import re
import resource
import signal
import socket
import subprocess
import time

SANITIZER_RE = re.compile(r"(ERROR|WARNING): \w*Sanitizer|runtime error:|SUMMARY: \w*Sanitizer")
LISTENING_RE = re.compile(r"listening on 127\.0\.0\.1:(\d+)")

# halt_on_error: the first report ends the server (the soak sees it die and shows the report);
# detect_leaks: LeakSanitizer at the end of a graceful stop; quarantine_size_mb: freed memory
# ASan holds back to catch a use after free, capped so that RSS says something.
ASAN_OPTIONS = (
    "detect_leaks=1:halt_on_error=1:abort_on_error=0:"
    "detect_stack_use_after_return=0:quarantine_size_mb=32"
)
UBSAN_OPTIONS = "print_stacktrace=1:halt_on_error=1"


def free_port():
    """A port of 127.0.0.1 free a moment ago (for a server that cannot tell its own)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """A test server (`BINARY 0 SCHEDULERS`, telling its port on stderr), or with app= an
    example application's node (`BINARY --port P --schedulers S --env ENV`: dyn_node_main's
    command line; its "serving on" line goes to a buffered stdout, so the port is chosen here
    and the start is seen when the port answers). nofile: the descriptor limit it runs under
    (soft and hard: the test servers raise the soft one to the hard one)."""

    def __init__(self, binary, schedulers, log_path, env=None, app=None):
        self.binary, self.schedulers, self.log_path = binary, schedulers, log_path
        self.env = env or {}  # more of the server's environment
        self.app = app  # the node's environment (dev, test, prod), or None: a test server
        self.proc = None
        self.port = None
        self.offset = 0
        self.starts = 0
        self.nofile = None  # the descriptor limit of the running server (None: inherited)
        self._tsan = None

    def start(self, timeout=20.0, nofile=None):
        env = dict(os.environ, **self.env)
        env["ASAN_OPTIONS"] = (env.get("ASAN_OPTIONS", "") + ":" + ASAN_OPTIONS).lstrip(":")
        env["UBSAN_OPTIONS"] = (env.get("UBSAN_OPTIONS", "") + ":" + UBSAN_OPTIONS).lstrip(":")
        if self.app:
            self.port = free_port()
            argv = [self.binary, "--port", str(self.port), "--schedulers", str(self.schedulers)]
            argv += ["--env", self.app]
        else:
            argv = [self.binary, "0", str(self.schedulers)]

        def limit():
            if nofile:
                resource.setrlimit(resource.RLIMIT_NOFILE, (nofile, nofile))

        with open(self.log_path, "ab") as log:
            self.offset = log.tell()
            self.proc = subprocess.Popen(
                argv,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=log,
                env=env,
                preexec_fn=limit,
            )
        self.nofile = nofile
        self.starts += 1
        self.tsan = None
        t0 = time.monotonic()
        while time.monotonic() - t0 < timeout:
            if self.app:
                try:
                    socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                    return
                except OSError:
                    pass
            else:
                with open(self.log_path, "rb") as f:
                    f.seek(self.offset)
                    m = LISTENING_RE.search(f.read().decode("utf-8", "replace"))
                if m:
                    self.port = int(m.group(1))
                    return
            if self.proc.poll() is not None:
                break
            time.sleep(0.05)
        raise RuntimeError("the server did not start: %s" % self.read_log()[-2000:])

    def read_log(self, peek=False):
        """What the server wrote since the last call (peek: and leave it for the next)."""
        with open(self.log_path, "rb") as f:
            f.seek(self.offset)
            data = f.read()
        if not peek:
            self.offset += len(data)
        return data.decode("utf-8", "replace")

    def failed(self):
        """Dead, or dying of a sanitizer report (it halts on the first)."""
        if SANITIZER_RE.search(self.read_log(peek=True)):
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        return not self.alive()

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def _proc(self, name):
        return "/proc/%d/%s" % (self.proc.pid, name)

    def sockets(self):
        """Socket descriptors the server holds (listening ones included)."""
        return self.fds("socket:")

    def fds(self, prefix=""):
        """Descriptors the server holds whose target starts with prefix (all: "")."""
        n = 0
        try:
            for fd in os.listdir(self._proc("fd")):
                try:
                    if os.readlink(self._proc("fd/" + fd)).startswith(prefix):
                        n += 1
                except OSError:
                    pass
        except OSError:
            return -1
        return n

    @property
    def tsan(self):
        """Whether it runs under ThreadSanitizer (RSS bounds do not hold there)."""
        if self._tsan is None and self.alive():
            try:
                with open(self._proc("maps")) as f:
                    self._tsan = "libtsan" in f.read()
            except OSError:
                return False
        return bool(self._tsan)

    @tsan.setter
    def tsan(self, v):
        self._tsan = v

    def fd_targets(self):
        """What its descriptors are, "fd=target" (a failure's details)."""
        out = []
        try:
            for fd in sorted(os.listdir(self._proc("fd")), key=int):
                try:
                    out.append("%s=%s" % (fd, os.readlink(self._proc("fd/" + fd))))
                except OSError:
                    pass
        except OSError:
            pass
        return out

    def rss_kib(self):
        try:
            with open(self._proc("status")) as f:
                for line in f:
                    if line.startswith("VmRSS:"):
                        return int(line.split()[1])
        except OSError:
            pass
        return -1

    def cpu_seconds(self):
        """User + system CPU time of all its threads."""
        with open(self._proc("stat")) as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def terminate(self):
        """SIGTERM, if it still runs."""
        if self.alive():
            self.term_at = time.monotonic()
            self.proc.send_signal(signal.SIGTERM)

    def stop(self, timeout):
        """SIGTERM, then waits: (exit status, or None if it did not stop in time)."""
        self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            return None

    def kill(self):
        if self.alive():
            self.proc.kill()
        if self.proc:
            self.proc.wait()
