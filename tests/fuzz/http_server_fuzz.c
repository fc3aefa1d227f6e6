/*
 * libFuzzer target: the real server, whole. The actor runtime runs one scheduler with two
 * servers on it (the default limits, and small ones whose edges are cheap to reach); the input
 * is what clients send, over AF_UNIX socket pairs handed to a server's worker as accepted
 * sockets, so the connection actors, their read buffers from the worker's pool, the request
 * fibers and the output queue all run as in production. The target differs from http_conn_fuzz
 * (the parsers alone, small inputs) in what the overflow of issue 7 needed: a buffer grown or
 * reused from an earlier connection, large inputs, reads cut where the fuzzer says.
 *
 * Input: a 4-byte header, then the bytes of one or more connections, in sequence, separated by
 * SEP. Header byte 0: bit 0 the server (small limits), bits 1-3 how reads are cut, bits 4-5 how
 * each connection ends (half-close and wait for the server's close; close after reading; close
 * with responses unread, which the server sees as a reset); bytes 1-2 seed the cuts; byte 3
 * picks the handler's body-read size. Each piece is written, then the harness waits until the
 * server has read it (SIOCOUTQ on the client's end falls to 0) or stops reading, so a read on
 * the server's side ends where the piece does.
 *
 * Handlers, by the target's first letter after '/': e echo the body, p read it in pieces (of
 * the input's size for its first KiB), r read part of it and answer (the rest is skipped), s
 * stream a chunked response, b a 200 KB response, f a file range with sendfile (its head goes
 * out with MSG_MORE; "/fc" chunked, else with Content-Length; 0 to 8 KiB, by the input), n no
 * response (204), c crash (500), anything else answer without reading the body.
 *
 * Findings besides ASan and UBSan reports (and the read buffer's invariant, checked after every
 * step: this build keeps asserts): a connection the server does not close within HANG_MS of
 * the client's half-close (a hang); a half-closed connection closed before every answer a
 * handler gave on it reached the client (lost answers: each answer carries MARK, counted on
 * both sides); and connections still open HANG_MS after every client has gone (a leak). All
 * abort.
 *
 * The custom mutator inserts what random mutation rarely builds: long chunk extensions, trailer
 * sections and header blocks near each limit, pipelines behind bodies, chunks of many sizes,
 * connection separators. scripts/fuzz.sh runs it with -max_len=1048576 and the dictionary:
 *   scripts/fuzz.sh 300 http_server_fuzz
 */
#include <errno.h>
#include <linux/sockios.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include "actor/report.h"
#include "req_int.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
size_t LLVMFuzzerMutate(uint8_t *data, size_t size, size_t max);
size_t LLVMFuzzerCustomMutator(uint8_t *data, size_t size, size_t max, unsigned int seed);

#define SEP "#~conn~#"
#define SEP_LEN (sizeof SEP - 1)
#define HANG_MS 10000
#define MAX_PIECES 64

static http_server_t *servers[2];
static unsigned piece_size; /* the handlers' body reads (byte 3 of the input) */

/* Answers a handler gave, by the server's descriptor of their connection (a client's count is
 * reset when its connection starts: a descriptor number is reused only once closed, and a
 * closed connection credits nothing). Written on the scheduler's thread, read by the client's
 * once the server has closed the connection. */
#define MARK "X-Fuzz-Answer: 1"
#define MARK_LEN (sizeof MARK - 1)
#define MAX_FD 4096
static unsigned answered[MAX_FD];

/* Credits req's connection with an answer (sent whole, with MARK) the client must get. */
static void credit(http_req_t *req)
{
    /* The fiber runs on its connection's scheduler, the one thread that changes the list. */
    for (http__conn_t *c = req->w->conns; c; c = c->lnext)
        if (c->pid == req->conn) {
            if (c->s.fd >= 0 && c->s.fd < MAX_FD)
                __atomic_add_fetch(&answered[c->s.fd], 1, __ATOMIC_RELAXED);
            return;
        }
}

/* http_resp_send with MARK, credited. */
static void answer(http_req_t *req, int status, const void *body, size_t len)
{
    if (http_resp_header(req, "X-Fuzz-Answer", "1") == 0 &&
        http_resp_send(req, status, body, len) == 0)
        credit(req);
}

#define FILE_LEN 8192
static int file_fd = -1; /* FILE_LEN bytes of 'f', for the sendfile handler */

/* ---- handlers ---------------------------------------------------------------------------- */

static void handler(http_req_t *req, void *arg)
{
    (void)arg;
    const char *p = http_req_path(req);
    char buf[4096];
    size_t cap = piece_size < sizeof buf ? piece_size : sizeof buf;
    switch (p[1]) {
    case 'e': {
        const char *body;
        size_t len;
        if (http_req_body_all(req, 0, &body, &len) != 0) {
            answer(req, 400, "bad body", 8);
            return;
        }
        const char *t = http_req_trailer(req, "x-t");
        if (t)
            http_resp_header(req, "X-Trailer", t);
        answer(req, 200, body, len);
        return;
    }
    case 'p':
    case 'r': {
        /* Pieces of the input's size for the first KiB, then 4 KiB: each read is a round trip
         * with the connection, and a 64 KB body read a byte at a time takes seconds. */
        ssize_t got, total = 0;
        while ((got = http_req_body_read(req, buf, total < 1024 ? cap : sizeof buf)) > 0) {
            total += got;
            if (p[1] == 'r')
                break;
        }
        int n = snprintf(buf, sizeof buf, "%zd %zd", total, got);
        answer(req, 200, buf, (size_t)n);
        return;
    }
    case 's':
        http_resp_start(req, 200);
        memset(buf, 's', cap);
        for (int i = 0; i < 4; i++)
            if (http_resp_write(req, buf, cap) != 0)
                return;
        http_resp_end(req, NULL, 0);
        return;
    case 'b': {
        static char big[200 * 1024];
        answer(req, 200, big, sizeof big);
        return;
    }
    case 'f': {
        size_t len = (size_t)piece_size * 7 % (FILE_LEN + 1);
        char cl[24];
        snprintf(cl, sizeof cl, "%zu", len);
        if (http_resp_header(req, "X-Fuzz-Answer", "1") == 0 &&
            (p[2] == 'c' || http_resp_header(req, "Content-Length", cl) == 0) &&
            http_resp_start(req, 200) == 0 && http_resp_sendfile(req, file_fd, 0, len) == 0 &&
            http_resp_end(req, NULL, 0) == 0)
            credit(req);
        return;
    }
    case 'n':
        return;
    case 'c':
        act_fail(ACT_CRASH);
    default:
        answer(req, 200, "ok", 2);
        return;
    }
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    act_report_set(act_report_silent, NULL);
    static char fbytes[FILE_LEN];
    memset(fbytes, 'f', sizeof fbytes);
    file_fd = memfd_create("http_server_fuzz", 0);
    if (file_fd < 0 || write(file_fd, fbytes, sizeof fbytes) != (ssize_t)sizeof fbytes)
        abort();
    act_config_t ac = {.schedulers = 1};
    if (act_system_start(&ac) != 0)
        abort();
    const http_limits_t small = {
        .max_request_line = 256,
        .max_header_size = 1024,
        .max_headers = 16,
        .max_body_size = 65536,
        .max_skip_body = 1024,
        .max_keepalive = 50,
    };
    for (int i = 0; i < 2; i++) {
        http_config_t cfg = {.handler = handler};
        if (i == 1)
            cfg.limits = small;
        if (http_server_start(&cfg, &servers[i]) != 0)
            abort();
    }
    return 0;
}

/* ---- clients ----------------------------------------------------------------------------- */

static uint32_t rng_state;

static uint32_t rnd(void)
{
    rng_state = rng_state * 1103515245u + 12345u;
    return rng_state >> 8;
}

/* The next piece's size, by the input's cutting mode. */
static size_t cut(unsigned mode, size_t left)
{
    size_t n;
    switch (mode) {
    case 0:
        n = left; /* all at once */
        break;
    case 1:
        n = 1 + rnd() % 4; /* byte by byte, nearly */
        break;
    case 2:
        n = 1 + rnd() % 64;
        break;
    case 3:
        n = 1 + rnd() % 4096;
        break;
    case 4:
        n = 1 + rnd() % 65536;
        break;
    default: /* mixed: mostly small, now and then large */
        n = rnd() % 8 ? 1 + rnd() % 512 : 1 + rnd() % 200000;
        break;
    }
    return n < left ? n : left;
}

static uint64_t received; /* bytes the server sent, all connections: a sign of progress */
static unsigned marks;    /* MARKs the current client received */
static size_t carry;      /* its last bytes read: a MARK may straddle two reads */
static char rd[MARK_LEN - 1 + 65536];

/* Reads what the server sent, counting MARKs (an echoed body may hold some too: that can hide
 * a lost answer, never invent one); false once it closed (or reset). */
static bool drain(int fd)
{
    for (;;) {
        ssize_t n = read(fd, rd + carry, sizeof rd - carry);
        if (n > 0) {
            received += (uint64_t)n;
            size_t len = carry + (size_t)n;
            for (const char *p = rd; (p = memmem(p, len - (size_t)(p - rd), MARK, MARK_LEN));
                 p += MARK_LEN)
                marks++;
            carry = len < MARK_LEN - 1 ? len : MARK_LEN - 1;
            memmove(rd, rd + len - carry, carry);
            continue;
        }
        return n < 0 && (errno == EAGAIN || errno == EINTR);
    }
}

/* Waits until the server has read everything written (the client's SIOCOUTQ falls to 0), or
 * has stopped reading for now (no change for a few milliseconds), reading its responses
 * meanwhile. False once the server closed. */
static bool settle(int fd)
{
    int last = -1, still = 0;
    for (;;) {
        if (!drain(fd))
            return false;
        int q = 0;
        if (ioctl(fd, SIOCOUTQ, &q) != 0 || q == 0)
            return true;
        if (q == last) {
            if (++still > 1)
                return true;
        } else {
            last = q;
            still = 0;
        }
        struct pollfd p = {.fd = fd, .events = POLLIN};
        poll(&p, 1, 1);
    }
}

/* Writes all of [p, p+n), reading responses while the socket is full. False once the server
 * closed. */
static bool put(int fd, const uint8_t *p, size_t n)
{
    while (n) {
        ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
        if (w > 0) {
            p += w;
            n -= (size_t)w;
            continue;
        }
        if (w < 0 && errno != EAGAIN && errno != EINTR)
            return false;
        int q0 = 0, q1 = 0;
        ioctl(fd, SIOCOUTQ, &q0);
        if (!settle(fd))
            return false;
        ioctl(fd, SIOCOUTQ, &q1);
        if (q1 != 0 && q1 == q0) {
            /* The server reads nothing more (a head past its limits being answered, a body
             * it will not read): wait for its close rather than spin. */
            struct pollfd pf = {.fd = fd, .events = POLLOUT | POLLIN};
            if (poll(&pf, 1, HANG_MS) <= 0)
                return false;
        }
    }
    return true;
}

/* Waits for the server's close (after the client's half-close); aborts when it makes no
 * progress (reads nothing more of ours, sends nothing) for HANG_MS. A handler reading a large
 * body a byte at a time is slow, not hung. */
static void expect_close(int fd)
{
    int64_t end = act_now_ms() + HANG_MS;
    int outq = -1;
    uint64_t got = received;
    for (;;) {
        if (!drain(fd))
            return;
        int q = 0;
        ioctl(fd, SIOCOUTQ, &q);
        if (q != outq || received != got) {
            outq = q;
            got = received;
            end = act_now_ms() + HANG_MS;
        }
        int64_t left = end - act_now_ms();
        if (left <= 0) {
            fprintf(stderr,
                    "http_server_fuzz: the server did not close a half-closed "
                    "connection, nor make progress, for %d ms\n",
                    HANG_MS);
            abort();
        }
        struct pollfd p = {.fd = fd, .events = POLLIN};
        poll(&p, 1, left < 100 ? (int)left : 100);
    }
}

/* One client connection: its bytes, cut and written piece by piece, then its end. */
static void client(http_server_t *srv, const uint8_t *p, size_t n, unsigned mode, unsigned end)
{
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv) != 0)
        abort();
    http__worker_t *w = &srv->workers[0];
    if (sv[1] >= MAX_FD)
        abort();
    __atomic_store_n(&answered[sv[1]], 0, __ATOMIC_RELAXED);
    marks = 0;
    carry = 0;
    /* As listen.c does for an accepted socket: a slot, then the connection's start. */
    if (!http__server_conn_reserve(srv) || http__conn_start(w, w, sv[1], NULL, 0) != 0)
        abort();
    int fd = sv[0];
    bool open = true;
    for (int pieces = 1; n && open; pieces++) {
        /* A round trip per piece: past MAX_PIECES, the rest goes at once. */
        size_t k = pieces < MAX_PIECES ? cut(mode, n) : n;
        open = put(fd, p, k) && settle(fd);
        p += k;
        n -= k;
    }
    switch (end) {
    case 0:
    case 1: /* half-close: every request before it is answered, then the server closes */
        if (open) {
            shutdown(fd, SHUT_WR);
            expect_close(fd);
            /* The server read everything (it closes only after the client's EOF) and closed
             * after its last answer: every answer given on the connection must have come. */
            unsigned given = __atomic_load_n(&answered[sv[1]], __ATOMIC_RELAXED);
            if (marks < given) {
                fprintf(stderr,
                        "http_server_fuzz: a half-closed connection closed with %u of its %u "
                        "answers sent\n",
                        marks, given);
                abort();
            }
        }
        break;
    case 2: /* close once the server has read everything */
        if (open)
            settle(fd);
        break;
    default: /* close with responses unread: the server's next write or read fails */
        break;
    }
    close(fd);
}

/* Waits until the server has no connection left (each client has gone); aborts past HANG_MS. */
static void expect_no_connections(http_server_t *srv)
{
    int64_t end = act_now_ms() + HANG_MS;
    http__worker_t *w = &srv->workers[0];
    for (;;) {
        http_server_stats_t st;
        http_server_stats(srv, &st);
        /* The worker's own count (its thread's) is read racily: a hint that settles. */
        if (st.connections == 0 && __atomic_load_n(&w->nconns, __ATOMIC_RELAXED) == 0)
            return;
        if (act_now_ms() > end) {
            fprintf(stderr, "http_server_fuzz: %u sockets, %u connection actors left\n",
                    st.connections, __atomic_load_n(&w->nconns, __ATOMIC_RELAXED));
            abort();
        }
        usleep(200);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 4)
        return 0;
    http_server_t *srv = servers[data[0] & 1];
    unsigned mode = (data[0] >> 1) & 7;
    unsigned end = (data[0] >> 4) & 3;
    rng_state = (uint32_t)data[1] << 8 | data[2];
    piece_size = 1u + data[3] * 17u;
    data += 4;
    size -= 4;
    while (size) {
        const uint8_t *sep = memmem(data, size, SEP, SEP_LEN);
        size_t n = sep ? (size_t)(sep - data) : size;
        client(srv, data, n, mode, end);
        if (!sep)
            break;
        data = sep + SEP_LEN;
        size -= n + SEP_LEN;
    }
    expect_no_connections(srv);
    return 0;
}

/* ---- the mutator ------------------------------------------------------------------------- */

/* Sizes at and around the limits and buffers of both servers. */
static const size_t edges[] = {
    1,     15,    16,    17,    255,   256,   257,   1023,   1024,   1025,   2047,  2048,
    4095,  4096,  4097,  8191,  8192,  8193,  16183, 16184,  16185,  16383,  16384, 16385,
    16388, 29000, 30000, 32768, 65535, 65536, 65537, 100000, 262144, 600000,
};

static size_t edge(void)
{
    size_t e = edges[rnd() % (sizeof edges / sizeof edges[0])];
    int d = (int)(rnd() % 9) - 4;
    return (size_t)((long)e + d > 0 ? (long)e + d : 1);
}

typedef struct {
    uint8_t *p;
    size_t len;
    size_t cap;
} out_t;

static void emit(out_t *o, const void *s, size_t n)
{
    if (n > o->cap - o->len)
        n = o->cap - o->len;
    memcpy(o->p + o->len, s, n);
    o->len += n;
}

static void emits(out_t *o, const char *s)
{
    emit(o, s, strlen(s));
}

static void fill(out_t *o, char c, size_t n)
{
    if (n > o->cap - o->len)
        n = o->cap - o->len;
    memset(o->p + o->len, c, n);
    o->len += n;
}

/* v in hex or decimal, then suffix. */
static void emitn(out_t *o, unsigned long v, bool hex, const char *suffix)
{
    char b[32];
    int n = hex ? snprintf(b, sizeof b, "%lx", v) : snprintf(b, sizeof b, "%lu", v);
    emit(o, b, (size_t)n);
    emits(o, suffix);
}

static const char *const paths[] = {"/", "/e", "/p", "/r", "/s", "/b", "/f", "/fc", "/n", "/c"};

static void request_head(out_t *o, const char *extra)
{
    emits(o, rnd() % 8 ? "POST " : "GET ");
    emits(o, paths[rnd() % (sizeof paths / sizeof paths[0])]);
    emits(o, " HTTP/1.1\r\nHost: f\r\n");
    emits(o, extra);
    emits(o, "\r\n");
}

/* One element the byte mutations rarely build, into o. */
static void element(out_t *o)
{
    switch (rnd() % 9) {
    case 0: /* a chunked request whose chunk has a long extension, then more requests */
        request_head(o, "Transfer-Encoding: chunked\r\n");
        emits(o, "5;");
        fill(o, 'e', edge());
        emits(o, "\r\nhello\r\n0\r\n\r\n");
        for (size_t k = rnd() % 4; k; k--)
            request_head(o, "");
        break;
    case 1: /* a chunked request: chunks of edge sizes, the last, trailers of an edge size */
        request_head(o, "Transfer-Encoding: chunked\r\n");
        for (unsigned k = rnd() % 4; k; k--) {
            size_t n = edge();
            emitn(o, n, true, "\r\n");
            fill(o, 'd', n);
            emits(o, "\r\n");
        }
        emits(o, "0\r\n");
        if (rnd() % 2) {
            emits(o, "X-T: ");
            fill(o, 't', edge());
            emits(o, "\r\n");
        }
        emits(o, "\r\n");
        break;
    case 2: /* a header block near max_header_size */
        request_head(o, "");
        o->len -= o->len >= 2 ? 2 : 0;
        emits(o, "X-Big: ");
        fill(o, 'h', edge());
        emits(o, "\r\n\r\n");
        break;
    case 3: /* many headers, near max_headers */
        request_head(o, "");
        o->len -= o->len >= 2 ? 2 : 0;
        for (size_t k = 1 + rnd() % 130; k; k--) {
            emits(o, "X-");
            emitn(o, k, false, ": v\r\n");
        }
        emits(o, "\r\n");
        break;
    case 4: /* a target near max_request_line */
        emits(o, "GET /");
        fill(o, 'u', edge());
        emits(o, " HTTP/1.1\r\nHost: f\r\n\r\n");
        break;
    case 5: /* a pipeline of small requests */
        for (size_t k = 1 + rnd() % 64; k; k--)
            request_head(o, "Content-Length: 0\r\n");
        break;
    case 6: /* a body of an edge length */
    {
        size_t n = edge();
        char h[64];
        snprintf(h, sizeof h, "Content-Length: %zu\r\n", n);
        request_head(o, h);
        fill(o, 'b', n);
        break;
    }
    case 7: /* a new connection */
        emits(o, SEP);
        break;
    default: /* a chunked request whose trailers may never end */
        request_head(o, "Transfer-Encoding: chunked\r\n");
        emits(o, "0\r\nX-T: ");
        fill(o, 't', edge());
        if (rnd() % 2)
            emits(o, "\r\n\r\n");
        break;
    }
}

size_t LLVMFuzzerCustomMutator(uint8_t *data, size_t size, size_t max, unsigned int seed)
{
    rng_state = seed;
    if (rnd() % 3 || size < 4 || max <= size)
        return LLVMFuzzerMutate(data, size, max);
    /* Insert one element at a random place after the header. */
    static uint8_t tmp[1 << 21];
    out_t o = {tmp, 0, max - size < sizeof tmp ? max - size : sizeof tmp};
    element(&o);
    size_t at = 4 + rnd() % (size - 3);
    memmove(data + at + o.len, data + at, size - at);
    memcpy(data + at, tmp, o.len);
    return size + o.len;
}
