#include "client_util.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

static int64_t live_before;
static http_server_t *server;

void hu_init(void)
{
    live_before = act_mem_live_blocks();
    act_config_t c = {.schedulers = 2};
    cr_assert_eq(act_system_start(&c), 0);
}

/* A check in .fini: Criterion would ignore an assertion here, so a failure aborts the
 * process (Criterion: "crashed during its setup or teardown", exit status 1; the TSan runner:
 * SIGABRT), which fails the test in every build. */
static void fini_check(bool ok, const char *what, long long value)
{
    if (ok)
        return;
    fprintf(stderr, "[FAIL] hu_fini: %s (%lld)\n", what, value);
    fflush(stderr);
    abort();
}

/* Stops the test server: 0, or why not (a stop that did not finish in time: ACT_ETIMEDOUT). */
static bool match_down(const act_msg_t *m, void *arg)
{
    return m->type == ACT_MSG_DOWN && m->ref == *(act_ref_t *)arg;
}

static int stop_server(void)
{
    http_server_t *s = server;
    server = NULL;
    act_ref_t ref;
    int rc = act_monitor(http_server_pid(s), &ref);
    if (rc)
        return rc;
    http_server_stop_async(s, MS(2000));
    act_msg_t *m;
    rc = act_receive(match_down, &ref, MS(2000) + 1000 + MS(2000), &m);
    if (rc) {
        /* Still running: leave it (and its memory) to the system stop and say so. */
        act_demonitor(ref, ACT_DEMONITOR_FLUSH);
        return rc;
    }
    act_msg_free(m);
    http_server_free(s);
    return 0;
}

void hu_fini(void)
{
    if (act_system_running()) {
        if (server) {
            int rc = stop_server();
            fini_check(rc == 0, "the server's graceful stop did not finish", rc);
        }
        int rc = act_system_stop();
        fini_check(rc == 0, "act_system_stop failed", rc);
    }
    long long leaked = (long long)(act_mem_live_blocks() - live_before);
    fini_check(leaked == 0, "blocks leaked", leaked);
}

uint16_t hu_serve_cfg(const http_config_t *cfg)
{
    cr_assert_eq(http_server_start(cfg, &server), 0);
    return http_server_port(server);
}

uint16_t hu_serve(http_handler_fn handler, const http_limits_t *limits)
{
    http_config_t cfg = {.handler = handler ? handler : hu_handler};
    if (limits)
        cfg.limits = *limits;
    return hu_serve_cfg(&cfg);
}

http_server_t *hu_server(void)
{
    return server;
}

void hu_stop_server_forget(void)
{
    server = NULL;
}

void hu_stop_server(void)
{
    int rc = stop_server();
    cr_assert_eq(rc, 0, "the server's graceful stop did not finish: %s", act_strerror(rc));
}

/* ---- the default handler --------------------------------------------------------------------- */

static long qint(http_req_t *req, const char *key, long dflt)
{
    const char *q = http_req_query(req);
    size_t kl = strlen(key);
    while (q && *q) {
        if (strncmp(q, key, kl) == 0 && q[kl] == '=')
            return strtol(q + kl + 1, NULL, 10);
        q = strchr(q, '&');
        if (q)
            q++;
    }
    return dflt;
}

static void reply_text(http_req_t *req, int status, const char *text)
{
    http_resp_header(req, "Content-Type", "text/plain");
    http_resp_send(req, status, text, strlen(text));
}

void hu_handler(http_req_t *req, void *arg)
{
    (void)arg;
    const char *p = http_req_path(req);
    char buf[512];
    if (strcmp(p, "/hello") == 0) {
        reply_text(req, 200, "hello");
    } else if (strcmp(p, "/info") == 0) {
        snprintf(buf, sizeof buf, "%s %s %s %s %d", http_req_method_str(req), p,
                 http_req_query(req), http_req_host(req), http_req_version(req));
        reply_text(req, 200, buf);
    } else if (strcmp(p, "/echo") == 0) {
        const char *body;
        size_t len;
        int rc = http_req_body_all(req, 0, &body, &len);
        if (rc) {
            snprintf(buf, sizeof buf, "err=%d", rc);
            reply_text(req, 500, buf);
            return;
        }
        const char *t = http_req_trailer(req, "x-t");
        if (t)
            http_resp_header(req, "X-Trailer", t);
        snprintf(buf, sizeof buf, "%u", http_req_seq(req));
        http_resp_header(req, "X-Seq", buf);
        http_resp_send(req, 200, body, len);
    } else if (strcmp(p, "/pieces") == 0) {
        long n = qint(req, "n", 7);
        char *piece = malloc((size_t)n);
        long pieces = 0, bytes = 0;
        ssize_t got;
        while ((got = http_req_body_read(req, piece, (size_t)n)) > 0) {
            pieces++;
            bytes += got;
        }
        free(piece);
        snprintf(buf, sizeof buf, "pieces=%ld bytes=%ld end=%zd", pieces, bytes, got);
        reply_text(req, 200, buf);
    } else if (strcmp(p, "/stream") == 0) {
        long k = qint(req, "n", 3), s = qint(req, "s", 10);
        char *chunk = malloc((size_t)s);
        memset(chunk, 'x', (size_t)s);
        http_resp_start(req, 200);
        for (long i = 0; i < k; i++)
            if (http_resp_write(req, chunk, (size_t)s) != 0)
                break;
        free(chunk);
        http_resp_end(req, NULL, 0);
    } else if (strcmp(p, "/big") == 0) {
        long s = qint(req, "s", 100000);
        char *b = malloc((size_t)s);
        memset(b, 'y', (size_t)s);
        http_resp_send(req, 200, b, (size_t)s);
        free(b);
    } else if (strcmp(p, "/file") == 0) {
        long s = qint(req, "s", 100000);
        char path[] = "/tmp/hu_fileXXXXXX";
        int fd = mkstemp(path);
        unlink(path);
        char *b = malloc((size_t)s);
        for (long i = 0; i < s; i++)
            b[i] = (char)('a' + i % 26);
        if (write(fd, b, (size_t)s) != s)
            act_fail(ACT_CRASH);
        free(b);
        snprintf(buf, sizeof buf, "%ld", s);
        http_resp_header(req, "Content-Length", buf);
        http_resp_start(req, 200);
        int rc = http_resp_sendfile(req, fd, 0, (size_t)s);
        close(fd);
        if (rc == 0)
            http_resp_end(req, NULL, 0);
    } else if (strcmp(p, "/crash") == 0) {
        act_failf(ACT_CRASH, "on purpose");
    } else if (strcmp(p, "/crash-mid") == 0) {
        http_resp_start(req, 200);
        http_resp_write(req, "partial", 7);
        act_fail(ACT_CRASH);
    } else if (strcmp(p, "/noresp") == 0) {
        return;
    } else if (strcmp(p, "/sleep") == 0) {
        act_sleep(qint(req, "ms", 100));
        reply_text(req, 200, "slept");
    } else if (strcmp(p, "/headers") == 0) {
        size_t n;
        http_req_headers(req, &n);
        snprintf(buf, sizeof buf, "%zu", n);
        reply_text(req, 200, buf);
    } else if (strcmp(p, "/readfail") == 0) {
        char tmp[4096];
        ssize_t got;
        while ((got = http_req_body_read(req, tmp, sizeof tmp)) > 0)
            ;
        snprintf(buf, sizeof buf, "err=%zd", got);
        reply_text(req, 200, buf);
    } else {
        reply_text(req, 404, "not found");
    }
}

/* ---- the client ------------------------------------------------------------------------------ */

hu_conn_t *hu_try_connect(uint16_t port)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return NULL;
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port)};
    inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
    if (connect(fd, (struct sockaddr *)&a, sizeof a) != 0) {
        close(fd);
        return NULL;
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    struct timeval tv = {.tv_sec = 5 * DYN_TEST_TIMEOUT_SCALE};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    hu_conn_t *c = calloc(1, sizeof *c);
    c->fd = fd;
    c->cap = 65536;
    c->buf = malloc(c->cap);
    return c;
}

hu_conn_t *hu_connect(uint16_t port)
{
    hu_conn_t *c = hu_try_connect(port);
    cr_assert_not_null(c, "connect to port %u: %s", port, strerror(errno));
    return c;
}

void hu_close(hu_conn_t *c)
{
    if (!c)
        return;
    close(c->fd);
    free(c->buf);
    free(c);
}

int hu_send(hu_conn_t *c, const char *s, long len)
{
    size_t n = len < 0 ? strlen(s) : (size_t)len;
    while (n) {
        ssize_t w = send(c->fd, s, n, MSG_NOSIGNAL);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return -errno;
        }
        s += w;
        n -= (size_t)w;
    }
    return 0;
}

/* Reads more into c->buf: 0, HU_CLOSED (EOF, an error) or HU_TIMEOUT (SO_RCVTIMEO). */
static int fill(hu_conn_t *c)
{
    if (c->len == c->cap) {
        c->cap *= 2;
        c->buf = realloc(c->buf, c->cap);
    }
    for (;;) {
        ssize_t n = recv(c->fd, c->buf + c->len, c->cap - c->len, 0);
        if (n > 0) {
            c->len += (size_t)n;
            return 0;
        }
        if (n < 0 && errno == EINTR)
            continue;
        return n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) ? HU_TIMEOUT : HU_CLOSED;
    }
}

/* Reads until cond holds: 0 or fill's error. */
#define FILL_UNTIL(c, cond)                                                                        \
    do {                                                                                           \
        while (!(cond)) {                                                                          \
            int rc_ = fill(c);                                                                     \
            if (rc_)                                                                               \
                return rc_;                                                                        \
        }                                                                                          \
    } while (0)

static void consume(hu_conn_t *c, size_t n)
{
    memmove(c->buf, c->buf + n, c->len - n);
    c->len -= n;
}

static char *find(hu_conn_t *c, const char *needle, size_t from)
{
    size_t nl = strlen(needle);
    if (c->len < nl)
        return NULL;
    for (size_t i = from; i + nl <= c->len; i++)
        if (memcmp(c->buf + i, needle, nl) == 0)
            return c->buf + i;
    return NULL;
}

static const char *head_value(const char *head, const char *name, char *out, size_t cap)
{
    size_t nl = strlen(name);
    const char *p = strstr(head, "\r\n");
    while (p && p[2]) {
        p += 2;
        const char *e = strstr(p, "\r\n");
        if (!e)
            break;
        if ((size_t)(e - p) > nl && strncasecmp(p, name, nl) == 0 && p[nl] == ':') {
            const char *v = p + nl + 1;
            while (*v == ' ' || *v == '\t')
                v++;
            size_t vl = (size_t)(e - v);
            if (vl >= cap)
                vl = cap - 1;
            memcpy(out, v, vl);
            out[vl] = '\0';
            return out;
        }
        p = e;
    }
    return NULL;
}

const char *hu_header(const hu_resp_t *r, const char *name)
{
    static _Thread_local char v[1024];
    return r->head ? head_value(r->head, name, v, sizeof v) : NULL;
}

int hu_read(hu_conn_t *c, hu_resp_t *r, bool head_only)
{
    memset(r, 0, sizeof *r);
    char *e;
    FILL_UNTIL(c, (e = find(c, "\r\n\r\n", 0)));
    size_t hl = (size_t)(e - c->buf) + 4;
    r->head = malloc(hl + 1);
    memcpy(r->head, c->buf, hl);
    r->head[hl] = '\0';
    consume(c, hl);
    if (sscanf(r->head, "HTTP/1.%d %d", &r->minor, &r->status) != 2)
        return HU_BAD;
    if (r->status == 100) {
        /* An interim response: the caller reads the final one with another hu_read. */
        r->body = calloc(1, 1);
        return 0;
    }
    char v[64];
    const char *cl = head_value(r->head, "content-length", v, sizeof v);
    const char *te = head_value(r->head, "transfer-encoding", v + 32, 32);
    bool nobody = head_only || r->status == 204 || r->status == 304;
    if (nobody) {
        r->body = calloc(1, 1);
        return 0;
    }
    if (te && strcasecmp(te, "chunked") == 0) {
        r->chunked = true;
        size_t cap = 4096, len = 0;
        r->body = malloc(cap);
        for (;;) {
            char *le;
            FILL_UNTIL(c, (le = find(c, "\r\n", 0)));
            size_t size = strtoul(c->buf, NULL, 16);
            consume(c, (size_t)(le - c->buf) + 2);
            if (size == 0)
                break;
            FILL_UNTIL(c, c->len >= size + 2);
            if (len + size + 1 > cap) {
                cap = (len + size + 1) * 2;
                r->body = realloc(r->body, cap);
            }
            memcpy(r->body + len, c->buf, size);
            len += size;
            consume(c, size + 2);
        }
        char *te2;
        FILL_UNTIL(c, (te2 = find(c, "\r\n", 0)));
        if (te2 != c->buf) {
            FILL_UNTIL(c, (te2 = find(c, "\r\n\r\n", 0)));
            size_t tl = (size_t)(te2 - c->buf) + 2;
            r->trailers = malloc(tl + 1);
            memcpy(r->trailers, c->buf, tl);
            r->trailers[tl] = '\0';
            consume(c, tl + 2);
        } else {
            consume(c, 2);
        }
        r->body[len] = '\0';
        r->body_len = len;
        return 0;
    }
    if (cl) {
        size_t n = strtoul(cl, NULL, 10);
        FILL_UNTIL(c, c->len >= n);
        r->body = malloc(n + 1);
        memcpy(r->body, c->buf, n);
        r->body[n] = '\0';
        r->body_len = n;
        consume(c, n);
        return 0;
    }
    /* close-delimited */
    r->close_delimited = true;
    int rc;
    while ((rc = fill(c)) == 0)
        ;
    if (rc == HU_TIMEOUT)
        return rc;
    r->body = malloc(c->len + 1);
    memcpy(r->body, c->buf, c->len);
    r->body[c->len] = '\0';
    r->body_len = c->len;
    c->len = 0;
    return 0;
}

void hu_resp_free(hu_resp_t *r)
{
    free(r->head);
    free(r->body);
    free(r->trailers);
    memset(r, 0, sizeof *r);
}

bool hu_closed_within(hu_conn_t *c, int64_t ms)
{
    int64_t end = act_now_ms() + ms;
    for (;;) {
        int64_t left = end - act_now_ms();
        if (left <= 0)
            return false;
        struct pollfd pfd = {.fd = c->fd, .events = POLLIN};
        if (poll(&pfd, 1, (int)left) <= 0)
            return false;
        if (c->len == c->cap) {
            c->cap *= 2;
            c->buf = realloc(c->buf, c->cap);
        }
        ssize_t n = recv(c->fd, c->buf + c->len, c->cap - c->len, MSG_DONTWAIT);
        if (n > 0)
            c->len += (size_t)n;
        else if (n == 0 || (errno != EAGAIN && errno != EINTR))
            return true;
    }
}

int hu_exchange(uint16_t port, const char *raw, hu_resp_t *r)
{
    hu_conn_t *c = hu_connect(port);
    hu_resp_t tmp;
    hu_resp_t *rr = r ? r : &tmp;
    int rc = hu_send(c, raw, -1);
    int status = -1;
    if (rc == 0 && hu_read(c, rr, strncmp(raw, "HEAD ", 5) == 0) == 0)
        status = rr->status;
    if (!r)
        hu_resp_free(&tmp);
    hu_close(c);
    return status;
}

long hu_rss_kb(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    long kb = -1;
    while (f && fgets(line, sizeof line, f))
        if (sscanf(line, "VmRSS: %ld", &kb) == 1)
            break;
    if (f)
        fclose(f);
    return kb;
}

void hu_expect_reject(uint16_t port, const char *raw, size_t len, int status)
{
    hu_conn_t *c = hu_connect(port);
    cr_assert_eq(hu_send(c, raw, (long)len), 0);
    hu_resp_t r;
    int rc = hu_read(c, &r, false);
    cr_assert_eq(rc, 0, "no answer to %.60s", raw);
    cr_expect_eq(r.status, status, "%.60s -> %d, wanted %d", raw, r.status, status);
    cr_expect_str_eq(hu_header(&r, "connection"), "close", "%.60s", raw);
    cr_expect_not_null(hu_header(&r, "date"), "%.60s", raw);
    cr_expect(hu_closed_within(c, MS(3000)), "%.60s: still open", raw);
    cr_expect_eq(c->len, 0u, "%.60s: bytes after the answer", raw);
    hu_resp_free(&r);
    hu_close(c);
}
