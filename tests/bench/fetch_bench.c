/*
 * fetch_bench: what fetching request data costs, beside the same request to a route that does
 * not fetch (scripts/bench-fetch.sh runs both).
 *
 *   fetch_bench PORT [SCHEDULERS]   a Dynamo answering "ok" to
 *       POST /form         a 10-field urlencoded form: params fetched, one read
 *       POST /form/raw     the same request, body read and dropped, nothing parsed
 *       POST /upload       a 1 MiB file in a multipart form: params fetched (the file streamed
 *                          to a temporary file), its upload read
 *       POST /upload/raw   the same request, body read and dropped
 *       GET /cookies       a typical Cookie header (7 cookies): cookies fetched, one read
 *       GET /cookies/raw   the same request, nothing fetched
 *     The raw routes read the body too: its bytes cross the socket either way, and a route
 *     that left 1 MiB unread would close the connection.
 *   fetch_bench --client PORT KIND N
 *       N requests of one kind ("form", "form/raw", "upload", ...) on one connection: the
 *       server under callgrind then counts the instructions of an exact number of requests
 *   fetch_bench --parse [ITERATIONS]
 *       the parsers alone, in process, one JSON line each (ns per operation): the form's
 *       urlencoded decode into params, the multipart body (to a temporary file), the cookie
 *       header; and JSON encoding of an API response value, by dyn_json_encode and by
 *       jansson (the value converted to json_t and dumped, or only dumped). Under callgrind,
 *       --toggle-collect=bench_<name> counts the instructions of one figure.
 */
#include <arpa/inet.h>
#include <jansson.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "cookie_int.h"
#include "multipart_int.h"

#include "dynamo/dynamo.h"
#include "dynamo/uri.h"

/* The requests, shared with the wrk scripts (tests/bench/fetch/) by value. */
static const char form_body[] =
    "user%5Bname%5D=Jos%C3%A9+Valim&user%5Bemail%5D=jose%40example.com&user%5Bage%5D=38&"
    "title=Lazy+params&body=Nothing+is+parsed+until+asked.&tags%5B%5D=c&tags%5B%5D=erlang&"
    "published=true&category=framework&_csrf_token=Zm9vYmFyYmF6cXV4MTIzNDU2Nzg5MA";
static const char cookie_header[] =
    "_ga=GA1.1.1234567890.1700000000; theme=dark; locale=en-GB; "
    "_dynamo_session=SFMyNTY.g3QAAAABbQAAAAd1c2VyX2lkYQ8.aGVsbG8gd29ybGQgc2lnbmF0dXJl; "
    "csrf=Zm9vYmFyYmF6cXV4; consent=1; last_seen=1700000000";

static dyn_conn_t *ok(dyn_conn_t *conn)
{
    conn = dyn_put_resp_header(conn, "content-type", "text/plain");
    return dyn_resp_borrow(conn, 200, "ok", 2);
}

static dyn_conn_t *drain(dyn_conn_t *conn)
{
    char buf[65536];
    while (dyn_conn_read_body(conn, buf, sizeof buf) > 0)
        ;
    return ok(conn);
}

static dyn_conn_t *form(dyn_conn_t *conn)
{
    conn = dyn_fetch(conn, DYN_FETCH_PARAMS);
    return dyn_param(conn, "user[name]") ? ok(conn) : dyn_resp(conn, 400, "no name");
}

static dyn_conn_t *upload(dyn_conn_t *conn)
{
    conn = dyn_fetch(conn, DYN_FETCH_PARAMS);
    const dyn_upload_t *u = dyn_param_upload(conn, "file");
    return u && u->size == 1u << 20 ? ok(conn) : dyn_resp(conn, 400, "no file");
}

static dyn_conn_t *cookies(dyn_conn_t *conn)
{
    conn = dyn_fetch(conn, DYN_FETCH_COOKIES);
    return dyn_req_cookie(conn, "_dynamo_session") ? ok(conn) : dyn_resp(conn, 400, "no cookie");
}

DYN_ROUTER(fetch_router, DYN_POST("/form", form), DYN_POST("/form/raw", drain),
           DYN_POST("/upload", upload), DYN_POST("/upload/raw", drain),
           DYN_GET("/cookies", cookies), DYN_GET("/cookies/raw", ok));

static dyn_dynamo_t bench = {
    .name = "fetch_bench",
    .env = DYN_ENV_PROD,
    .endpoint = &fetch_router,
    .limits = {.max_body_size = 2u << 20},
};

static void on_signal(int sig)
{
    (void)sig;
    act_system_request_stop(0);
}

static int serve(const char *port, unsigned schedulers)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
    act_config_t ac = {.schedulers = schedulers};
    int rc = act_system_start(&ac);
    if (rc) {
        fprintf(stderr, "fetch_bench: %s\n", act_strerror(rc));
        return 1;
    }
    bench.port = (uint16_t)atoi(port);
    if ((rc = dyn_start_link(&bench, NULL))) {
        fprintf(stderr, "fetch_bench: port %s: %s\n", port, dyn_strerror(rc));
        act_system_stop();
        return 1;
    }
    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);
    fprintf(stderr, "fetch_bench: listening on 127.0.0.1:%u, %u schedulers\n",
            dyn_port("fetch_bench"), act_sched_count());
    act_system_wait();
    dyn_stop("fetch_bench", 5000);
    act_system_stop();
    return 0;
}

/* ---- the parsers alone ---------------------------------------------------------------------- */

static double now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

/* CPU time of this process in the kernel, in ns (file writes of uploads are mostly there). */
static double sys_ns(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_stime.tv_sec * 1e9 + (double)ru.ru_stime.tv_usec * 1e3;
}

static void emit(const char *bench_name, const char *peer, double ns, double sys, long iters)
{
    printf("{\"peer\":\"%s\",\"bench\":\"%s\",\"metric\":\"ns_per_op\",\"value\":%.1f,"
           "\"unit\":\"ns\",\"schedulers\":1,\"iterations\":%ld,\"system_ns_per_op\":%.1f}\n",
           peer, bench_name, ns, iters, sys);
    fflush(stdout);
}

/* Each bench_* runs one figure's loop: callgrind's --toggle-collect names them. */
__attribute__((noinline)) void bench_form(long n);
__attribute__((noinline)) void bench_multipart(long n, const char *body, size_t len);
__attribute__((noinline)) void bench_cookies(long n);
__attribute__((noinline)) void bench_json_dynamo(long n, const dyn_value_t *v);
__attribute__((noinline)) void bench_json_jansson(long n, const dyn_value_t *v);
__attribute__((noinline)) void bench_json_jansson_dump(long n, json_t *j);

void bench_form(long n)
{
    for (long i = 0; i < n; i++) {
        dyn_arena_t *a = dyn_arena_new();
        dyn_map_t *m = dyn_map_new(a);
        if (dyn_urlencoded_params(form_body, sizeof form_body - 1, m, NULL) != 0 ||
            dyn_map_len(m) != 7)
            abort();
        dyn_arena_free(a);
    }
}

typedef struct mem_reader {
    const char *p;
    size_t len, off;
} mem_reader_t;

static ssize_t mem_read(void *arg, void *buf, size_t cap)
{
    mem_reader_t *r = arg;
    size_t n = r->len - r->off < cap ? r->len - r->off : cap;
    memcpy(buf, r->p + r->off, n);
    r->off += n;
    return (ssize_t)n;
}

void bench_multipart(long n, const char *body, size_t len)
{
    const dyn__mp_limits_t lim = {
        .form = {.max_pairs = 1000, .max_key_len = 1024, .max_value_len = 1 << 20, .max_depth = 32},
        .max_parts = 1000,
        .max_files = 128,
        .max_file_size = 2u << 20,
        .max_body = 2u << 20,
        .max_header_size = 16384,
        .max_headers = 32,
        .upload_dir = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp",
    };
    for (long i = 0; i < n; i++) {
        dyn_arena_t *a = dyn_arena_new();
        dyn_map_t *m = dyn_map_new(a);
        dyn__upload_t *ups = NULL;
        mem_reader_t r = {body, len, 0};
        if (dyn__multipart_read(a, "----dynamo-bench-boundary", mem_read, &r, &lim, m, &ups, NULL,
                                0) != 0 ||
            !ups || ups->pub.size != 1u << 20)
            abort();
        dyn_arena_free(a);
    }
}

void bench_cookies(long n)
{
    for (long i = 0; i < n; i++) {
        dyn_arena_t *a = dyn_arena_new();
        dyn_map_t *m = dyn_map_new(a);
        if (dyn__cookies_parse(m, cookie_header, sizeof cookie_header - 1, 200, 4096) != 0 ||
            dyn_map_len(m) != 7)
            abort();
        dyn_arena_free(a);
    }
}

void bench_json_dynamo(long n, const dyn_value_t *v)
{
    dyn_arena_t *a = dyn_arena_new();
    for (long i = 0; i < n; i++) {
        dyn_buf_t b;
        dyn_buf_init(&b, a, 4096);
        if (dyn_json_encode(&b, v, NULL, 0) != 0)
            abort();
        if ((i & 63) == 63) { /* an arena per 64 responses, as a request would have one */
            dyn_arena_free(a);
            a = dyn_arena_new();
        }
    }
    dyn_arena_free(a);
}

static json_t *to_jansson(const dyn_value_t *v)
{
    switch (v->type) {
    case DYN_V_NULL:
        return json_null();
    case DYN_V_BOOL:
        return json_boolean(v->b);
    case DYN_V_INT:
        return json_integer(v->i);
    case DYN_V_FLOAT:
        return json_real(v->f);
    case DYN_V_STR:
        return json_stringn(v->s.ptr, v->s.len);
    case DYN_V_LIST: {
        json_t *a = json_array();
        for (size_t i = 0; i < dyn_list_len(v->l); i++)
            json_array_append_new(a, to_jansson(dyn_list_at(v->l, i)));
        return a;
    }
    case DYN_V_MAP: {
        json_t *o = json_object();
        dyn_str_t k;
        const dyn_value_t *e;
        for (size_t i = 0; dyn_map_at(v->m, i, &k, &e); i++)
            json_object_setn_new(o, k.ptr, k.len, to_jansson(e));
        return o;
    }
    default:
        return json_null();
    }
}

void bench_json_jansson(long n, const dyn_value_t *v)
{
    char buf[16384];
    for (long i = 0; i < n; i++) {
        json_t *j = to_jansson(v);
        if (json_dumpb(j, buf, sizeof buf, JSON_COMPACT | JSON_PRESERVE_ORDER) == 0)
            abort();
        json_decref(j);
    }
}

void bench_json_jansson_dump(long n, json_t *j)
{
    char buf[16384];
    for (long i = 0; i < n; i++)
        if (json_dumpb(j, buf, sizeof buf, JSON_COMPACT | JSON_PRESERVE_ORDER) == 0)
            abort();
}

/* An API response: 20 users, each a map of 9 fields with a nested map and a list. */
static dyn_value_t api_response(dyn_arena_t *a)
{
    dyn_list_t *users = dyn_list_new(a, 20);
    for (int i = 0; i < 20; i++) {
        dyn_map_t *u = dyn_map_new(a);
        dyn_map_put(u, "id", dyn_vint(1000 + i));
        dyn_map_put(u, "name", dyn_vstr("José Valim"));
        dyn_map_put(u, "email", dyn_vstr("jose@example.com"));
        dyn_map_put(u, "admin", dyn_vbool(i == 0));
        dyn_map_put(u, "score", dyn_vfloat(98.5 - i));
        dyn_map_put(u, "bio", dyn_vstr("Writes \"Elixir\"\nand C.\tLikes <b>tags</b>."));
        dyn_list_t *tags = dyn_list_new(a, 3);
        dyn_list_push(tags, dyn_vstr("elixir"));
        dyn_list_push(tags, dyn_vstr("erlang"));
        dyn_list_push(tags, dyn_vstr("c"));
        dyn_map_put(u, "tags", dyn_vlist(tags));
        dyn_map_t *addr = dyn_map_new(a);
        dyn_map_put(addr, "city", dyn_vstr("Kraków"));
        dyn_map_put(addr, "zip", dyn_vstr("30-001"));
        dyn_map_put(u, "address", dyn_vmap(addr));
        dyn_map_put(u, "deleted_at", dyn_vnull());
        dyn_list_push(users, dyn_vmap(u));
    }
    dyn_map_t *root = dyn_map_new(a);
    dyn_map_put(root, "users", dyn_vlist(users));
    dyn_map_put(root, "total", dyn_vint(20));
    return dyn_vmap(root);
}

static char *multipart_body(size_t *len)
{
    static const char head[] =
        "------dynamo-bench-boundary\r\nContent-Disposition: form-data; name=\"title\"\r\n\r\n"
        "Holiday\r\n------dynamo-bench-boundary\r\nContent-Disposition: form-data; "
        "name=\"file\"; filename=\"photo.jpg\"\r\nContent-Type: image/jpeg\r\n\r\n";
    static const char tail[] = "\r\n------dynamo-bench-boundary--\r\n";
    size_t file = 1u << 20;
    *len = sizeof head - 1 + file + sizeof tail - 1;
    char *b = malloc(*len);
    memcpy(b, head, sizeof head - 1);
    for (size_t i = 0; i < file; i++) /* bytes with CRs in them, as binary files have */
        b[sizeof head - 1 + i] = (char)(i * 7 % 251);
    memcpy(b + sizeof head - 1 + file, tail, sizeof tail - 1);
    return b;
}

#define TIMED(name, peer, n, call)                                                                 \
    do {                                                                                           \
        call; /* warm */                                                                           \
        double s0 = sys_ns(), t0 = now_ns();                                                       \
        call;                                                                                      \
        emit(name, peer, (now_ns() - t0) / (double)(n), (sys_ns() - s0) / (double)(n), (n));       \
    } while (0)

static int parse_benches(long n)
{
    TIMED("parse_form10", "dynamo", n, bench_form(n));
    size_t len;
    char *body = multipart_body(&len);
    long m = n / 100 > 0 ? n / 100 : 1;
    TIMED("parse_multipart_1MiB", "dynamo", m, bench_multipart(m, body, len));
    free(body);
    TIMED("parse_cookies7", "dynamo", n, bench_cookies(n));
    dyn_arena_t *a = dyn_arena_new();
    dyn_value_t v = api_response(a);
    long j = n / 10 > 0 ? n / 10 : 1;
    TIMED("json_encode_20_users", "dynamo", j, bench_json_dynamo(j, &v));
    TIMED("json_encode_20_users", "jansson", j, bench_json_jansson(j, &v));
    json_t *jv = to_jansson(&v);
    TIMED("json_encode_20_users", "jansson-dump-only", j, bench_json_jansson_dump(j, jv));
    json_decref(jv);
    dyn_arena_free(a);
    return 0;
}

/* ---- a client sending an exact number of requests (callgrind counts per request) ---------- */

static void send_all(int fd, const char *p, size_t n)
{
    while (n) {
        ssize_t w = write(fd, p, n);
        if (w <= 0) {
            perror("fetch_bench: write");
            exit(1);
        }
        p += w;
        n -= (size_t)w;
    }
}

/* Reads one response (headers, then Content-Length bytes); returns its status. */
static int read_response(int fd)
{
    static char buf[65536];
    size_t len = 0;
    char *end = NULL;
    while (!end) {
        ssize_t r = read(fd, buf + len, sizeof buf - 1 - len);
        if (r <= 0)
            return -1;
        len += (size_t)r;
        buf[len] = '\0';
        end = strstr(buf, "\r\n\r\n");
    }
    int status = atoi(buf + 9);
    const char *cl = strcasestr(buf, "content-length:");
    size_t body = cl ? (size_t)atol(cl + 15) : 0, have = len - (size_t)(end + 4 - buf);
    while (have < body) {
        ssize_t r = read(fd, buf, sizeof buf);
        if (r <= 0)
            return -1;
        have += (size_t)r;
    }
    return status;
}

/* fetch_bench --client PORT KIND N: N requests of KIND (form, form/raw, upload, upload/raw,
 * cookies, cookies/raw) on one keep-alive connection; exits non-zero unless all answer 200. */
static int client(const char *port, const char *kind, long n)
{
    char head[512];
    const char *body = "";
    size_t blen = 0;
    char *mp = NULL;
    if (strncmp(kind, "form", 4) == 0) {
        body = form_body;
        blen = sizeof form_body - 1;
        snprintf(head, sizeof head,
                 "POST /%s HTTP/1.1\r\nHost: localhost\r\nContent-Type: "
                 "application/x-www-form-urlencoded\r\nContent-Length: %zu\r\n\r\n",
                 kind, blen);
    } else if (strncmp(kind, "upload", 6) == 0) {
        body = mp = multipart_body(&blen);
        snprintf(head, sizeof head,
                 "POST /%s HTTP/1.1\r\nHost: localhost\r\nContent-Type: multipart/form-data; "
                 "boundary=----dynamo-bench-boundary\r\nContent-Length: %zu\r\n\r\n",
                 kind, blen);
    } else {
        snprintf(head, sizeof head, "GET /%s HTTP/1.1\r\nHost: localhost\r\nCookie: %s\r\n\r\n",
                 kind, cookie_header);
    }
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)atoi(port))};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
        perror("fetch_bench: connect");
        return 1;
    }
    for (long i = 0; i < n; i++) {
        send_all(fd, head, strlen(head));
        send_all(fd, body, blen);
        int st = read_response(fd);
        if (st != 200) {
            fprintf(stderr, "fetch_bench: request %ld of %s: status %d\n", i, kind, st);
            return 1;
        }
    }
    close(fd);
    free(mp);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc >= 5 && strcmp(argv[1], "--client") == 0)
        return client(argv[2], argv[3], atol(argv[4]));
    if (argc >= 2 && strcmp(argv[1], "--parse") == 0)
        return parse_benches(argc > 2 ? atol(argv[2]) : 100000);
    if (argc < 2) {
        fprintf(stderr, "usage: fetch_bench PORT [SCHEDULERS] | fetch_bench --parse [N]\n");
        return 2;
    }
    return serve(argv[1], argc > 2 ? (unsigned)atoi(argv[2]) : 0);
}
