/*
 * The static plug (static.h, Plug.Static): files of a directory under a path prefix.
 *
 * Per request it costs, for a request outside the prefix, one comparison of the first
 * segments; for a file: one openat2 (two when the client accepts gzip and no .gz exists),
 * one fstat, and the send. The root directory is opened once at start (O_PATH) and every file
 * is opened relative to it (static_path.c says why that is the wall against escapes).
 *
 * Small files (inline_max, 16 KiB by default) are read into the request's arena and go out
 * with the head in one write: for a 4 KiB asset that is one pread and one write instead of a
 * write, a sendfile and the connection's acknowledgement of the file range (a message and a
 * fiber wake-up); larger files take sendfile(2) and never pass through user space.
 *
 * The descriptor is closed by an arena cleanup, so a request that fails between the open and
 * the send (a before-send callback crashing) leaks nothing.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "../buf_int.h"
#include "../conn_int.h"
#include "../pipeline_int.h"
#include "../static_int.h"
#include "actor/mem.h"

#define DEFAULT_INLINE_MAX 16384
#define MAX_CACHED (1u << 20) /* past this inline_max, nothing is cached */
#define MAX_AT_SEGS 16

typedef struct state {
    dyn_str_t at[MAX_AT_SEGS];
    size_t nat;
    char *at_buf;
    char *root; /* the directory's path, for the lazy open and messages */
    _Atomic int root_fd;
    const char *cache_control; /* NULL: none */
    const char *cache_control_vsn;
    bool gzip;
    size_t inline_max;
    const dyn_static_opts_t *o; /* the user's (lists), or a zeroed default */
    http_header_t *extra;       /* o->headers, checked and lowercased at start */
    size_t nextra;
    struct fcache **caches; /* one per scheduler, made on its first use; NULL: no cache */
    unsigned ncaches;
} state_t;

/* Headers go in through dyn__resp_header_trusted: their names are lowercase literals or checked
 * at start, their values made here or checked at start, so the per-request copy and check of
 * dyn_put_resp_header (a third of the plug's own cost) is not paid. */
#define PUT(c, lit, v, n) dyn__resp_header_trusted((c), lit, sizeof lit - 1, (v), (uint32_t)(n))

/* ---- the small-file cache ----------------------------------------------------------------
 *
 * Files up to inline_max bytes are kept in memory after their first read, one direct-mapped
 * table of CACHE_SLOTS per scheduler (a scheduler runs one fiber at a time and nothing here
 * yields, so a table needs no lock; at most CACHE_SLOTS x inline_max bytes each, 4 MiB by
 * default). A hit costs one statx of the path instead of openat2, fstat, pread and close, and
 * is served only if the path still resolves to the very file that was read: same device,
 * inode, size, modification and change times. That keeps both promises: fresh (a file changed
 * in place changes its times; a file replaced is another inode) and beneath the root (an entry
 * is only ever made from a descriptor openat2 opened beneath it, and no other file has its
 * device and inode, so a path that now leads elsewhere, through a swapped link or anything
 * else, misses and goes through openat2 again). Responses copy the bytes into the request's
 * arena: an entry may be replaced by another request of the scheduler while this one waits. */

#define CACHE_SLOTS 256

/* A file is cached only once it has been left alone this many seconds: file times come from a
 * coarse clock (a few ms), so a file written twice within one tick, keeping its size, would
 * look unchanged; a change made after a second of quiet always shows in its times (git's
 * "racily clean" rule). Tests lower it (dyn__static_cache_tune). */
static _Atomic int cache_min_age = 1;
/* Tests count hits; the counter is only touched while they ask for it. */
static _Atomic bool count_hits;
static _Atomic uint64_t hits;

void dyn__static_cache_tune(int min_age_s, bool count)
{
    atomic_store_explicit(&cache_min_age, min_age_s, memory_order_relaxed);
    atomic_store_explicit(&count_hits, count, memory_order_relaxed);
}

uint64_t dyn__static_cache_hits(void)
{
    return atomic_load_explicit(&hits, memory_order_relaxed);
}

static bool settled(const struct stat *s)
{
    int age = atomic_load_explicit(&cache_min_age, memory_order_relaxed);
    time_t now = time(NULL);
    return age == 0 || (s->st_mtim.tv_sec + age < now && s->st_ctim.tv_sec + age < now);
}

typedef struct centry {
    char *rel; /* NULL: a free slot */
    uint32_t rel_len;
    bool gz; /* the .gz variant served with content-encoding (rel ends in ".gz") */
    struct stat st;
    char *data;
} centry_t;

typedef struct fcache {
    centry_t e[CACHE_SLOTS];
} fcache_t;

static void centry_clear(centry_t *e)
{
    act_free(e->rel);
    act_free(e->data);
    *e = (centry_t){0};
}

static void caches_free(state_t *st)
{
    for (unsigned i = 0; i < st->ncaches; i++)
        if (st->caches[i]) {
            for (unsigned k = 0; k < CACHE_SLOTS; k++)
                centry_clear(&st->caches[i]->e[k]);
            act_free(st->caches[i]);
        }
    act_free(st->caches);
}

/* The calling scheduler's table, or NULL (no cache, not a scheduler thread, no memory). */
static fcache_t *my_cache(state_t *st)
{
    int s = act_sched_self();
    if (!st->caches || s < 0 || (unsigned)s >= st->ncaches)
        return NULL;
    if (!st->caches[s])
        st->caches[s] = act_calloc(1, sizeof(fcache_t)); /* only this scheduler writes it */
    return st->caches[s];
}

static centry_t *slot_of(fcache_t *fc, const char *rel, size_t len, bool gz)
{
    uint32_t h = 2166136261u ^ (uint32_t)gz; /* FNV-1a */
    for (size_t i = 0; i < len; i++)
        h = (h ^ (uint8_t)rel[i]) * 16777619u;
    return &fc->e[h % CACHE_SLOTS];
}

static bool same_file(const struct statx *x, const struct stat *s)
{
    return makedev(x->stx_dev_major, x->stx_dev_minor) == s->st_dev && x->stx_ino == s->st_ino &&
           (off_t)x->stx_size == s->st_size && x->stx_mtime.tv_sec == s->st_mtim.tv_sec &&
           x->stx_mtime.tv_nsec == (uint32_t)s->st_mtim.tv_nsec &&
           x->stx_ctime.tv_sec == s->st_ctim.tv_sec &&
           x->stx_ctime.tv_nsec == (uint32_t)s->st_ctim.tv_nsec && S_ISREG(x->stx_mode);
}

static const dyn_static_opts_t no_opts;

static void deinit(void *arg)
{
    state_t *st = arg;
    if (!st)
        return;
    int fd = atomic_load_explicit(&st->root_fd, memory_order_relaxed);
    if (fd >= 0)
        close(fd);
    caches_free(st);
    for (size_t i = 0; i < st->nextra; i++)
        act_free((void *)st->extra[i].name);
    act_free(st->extra);
    act_free(st->at_buf);
    act_free(st->root);
    act_free(st);
}

/* A value that may go in a header as it is. */
static bool clean(const char *v)
{
    return v && dyn__field_value_len(v) != SIZE_MAX;
}

/* Checks the user's header list and content types, and lowercases the header names. */
static int prepare_headers(state_t *st)
{
    const dyn_static_opts_t *o = st->o;
    for (const dyn_static_type_t *t = o->content_types; t && t->name; t++)
        if (!clean(t->type))
            return ACT_EBADARG;
    size_t n = 0;
    for (const dyn_static_header_t *h = o->headers; h && h->name; h++)
        n++;
    if (!n)
        return 0;
    if (!(st->extra = act_calloc(n, sizeof *st->extra)))
        return ACT_ENOMEM;
    for (const dyn_static_header_t *h = o->headers; h->name; h++) {
        size_t nl = strlen(h->name);
        char *name = act_malloc(nl + 1);
        if (!name)
            return ACT_ENOMEM;
        st->extra[st->nextra++] = (http_header_t){name, h->value, (uint32_t)nl,
                                                  (uint32_t)(h->value ? strlen(h->value) : 0)};
        for (size_t i = 0; i <= nl; i++)
            name[i] = (char)(h->name[i] >= 'A' && h->name[i] <= 'Z' ? h->name[i] + 32 : h->name[i]);
        if (!nl || strspn(name, "abcdefghijklmnopqrstuvwxyz0123456789!#$%&'*+-.^_`|~") != nl ||
            !clean(h->value))
            return ACT_EBADARG;
    }
    return 0;
}

static int open_root(const char *path)
{
    return open(path, O_PATH | O_DIRECTORY | O_CLOEXEC);
}

static __attribute__((format(printf, 2, 3))) void log_line(const dyn_dynamo_t *d, const char *fmt,
                                                           ...)
{
    if (!act_report_enabled())
        return;
    char line[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    act_report_log(d && d->name ? d->name : "dynamo", line);
}

static int init(const void *opts, void **out)
{
    const dyn_static_opts_t *o = opts ? opts : &no_opts;
    const dyn_dynamo_t *d = dyn_plug_dynamo();
    const char *at = o->at ? o->at : d && d->static_route ? d->static_route : "/static";
    const char *from = o->from ? o->from : d && d->static_root ? d->static_root : "priv/static";
    if (at[0] != '/' || !from[0]) {
        log_line(d, "static: the prefix \"%.100s\" is not an absolute path, or no root", at);
        return ACT_EBADARG;
    }
    state_t *st = act_calloc(1, sizeof *st);
    if (!st)
        return ACT_ENOMEM;
    atomic_init(&st->root_fd, -1); /* deinit closes it: never descriptor 0 by mistake */
    st->o = o;
    st->at_buf = act_strdup(at);
    st->root = act_strdup(from);
    if (!st->at_buf || !st->root) {
        deinit(st);
        return ACT_ENOMEM;
    }
    /* The prefix's segments, as the router splits paths (empty ones dropped). */
    for (char *p = st->at_buf; *p;) {
        while (*p == '/')
            *p++ = '\0';
        if (!*p)
            break;
        if (st->nat == MAX_AT_SEGS) {
            deinit(st);
            return ACT_EBADARG;
        }
        char *s = p;
        while (*p && *p != '/')
            p++;
        st->at[st->nat++] = (dyn_str_t){s, (size_t)(p - s)};
    }
    dyn_env_t env = d ? d->env : DYN_ENV_PROD;
    st->cache_control = o->cache_control               ? o->cache_control
                        : d && d->static_cache_control ? d->static_cache_control
                        : env == DYN_ENV_DEV           ? "no-cache"
                                                       : "public";
    if (!st->cache_control[0])
        st->cache_control = NULL;
    st->cache_control_vsn =
        o->cache_control_vsn ? o->cache_control_vsn : "public, max-age=31536000, immutable";
    st->gzip = !o->gzip_off;
    st->inline_max = o->inline_max ? o->inline_max : DEFAULT_INLINE_MAX;
    int rc = clean(st->cache_control_vsn) && (!st->cache_control || clean(st->cache_control))
                 ? prepare_headers(st)
                 : ACT_EBADARG;
    if (rc) {
        log_line(d, "static: a header, cache-control or content type holds CR or LF, or a header "
                    "name is not a token");
        deinit(st);
        return rc;
    }
    if (!o->cache_off && st->inline_max <= MAX_CACHED && (st->ncaches = act_sched_count()) &&
        !(st->caches = act_calloc(st->ncaches, sizeof *st->caches))) {
        deinit(st);
        return ACT_ENOMEM;
    }
    int fd = open_root(st->root);
    atomic_store_explicit(&st->root_fd, fd, memory_order_relaxed);
    if (fd < 0)
        log_line(d, "static: cannot open the root \"%.200s\" (%s); requests will try again",
                 st->root, strerror(errno));
    *out = st;
    return 0;
}

/* The root's descriptor, opening it now if start-up could not. */
static int root_fd(state_t *st)
{
    /* Relaxed: a descriptor number carries no data to publish; the loser of a race closes
     * its own. */
    int fd = atomic_load_explicit(&st->root_fd, memory_order_relaxed);
    if (ACT_LIKELY(fd >= 0))
        return fd;
    int nfd = open_root(st->root);
    if (nfd < 0)
        return -1;
    if (!atomic_compare_exchange_strong_explicit(&st->root_fd, &fd, nfd, memory_order_relaxed,
                                                 memory_order_relaxed)) {
        close(nfd);
        return fd;
    }
    return nfd;
}

static bool listed(const char *const *list, const dyn_str_t *seg, bool prefix)
{
    for (; *list; list++) {
        size_t n = strlen(*list);
        if (prefix ? n <= seg->len && memcmp(seg->ptr, *list, n) == 0
                   : n == seg->len && memcmp(seg->ptr, *list, n) == 0)
            return true;
    }
    return false;
}

/* An open that failed for want of descriptors or memory, not because the file is missing: the
 * request gets 503 (a temporary overload, RFC 9110 15.6.4) rather than passing on to a 404. */
static bool out_of_descriptors(int err)
{
    return err == EMFILE || err == ENFILE || err == ENOMEM;
}

static void close_fd(void *arg)
{
    close((int)(intptr_t)arg);
}

/* A file to send: its descriptor (closed with the request), its stat, whether it is the .gz
 * variant. */
typedef struct file {
    int fd; /* -1 when served from the cache */
    struct stat st;
    bool gz;
    const char *data; /* the whole file, when the cache holds it */
} file_t;

/* One candidate file: rel (NUL-terminated, len bytes), the .gz variant or not. Returns 1 with
 * *f for a regular file, else 0 (*is_dir for a directory). */
static int try_file(dyn_conn_t *c, state_t *st, int root, const char *rel, size_t len, bool gz,
                    file_t *f, bool *is_dir)
{
    fcache_t *fc = my_cache(st);
    centry_t *e = fc ? slot_of(fc, rel, len, gz) : NULL;
    if (e && e->rel && e->gz == gz && e->rel_len == len && memcmp(e->rel, rel, len) == 0) {
        struct statx x;
        if (statx(root, rel, AT_STATX_SYNC_AS_STAT, STATX_BASIC_STATS, &x) == 0 &&
            same_file(&x, &e->st)) {
            *f = (file_t){.fd = -1, .st = e->st, .gz = gz, .data = e->data};
            if (atomic_load_explicit(&count_hits, memory_order_relaxed))
                atomic_fetch_add_explicit(&hits, 1, memory_order_relaxed);
            return 1;
        }
        centry_clear(e);
    }
    int fd = dyn__open_beneath(root, rel);
    if (fd < 0) {
        if (out_of_descriptors(-fd)) /* the file may well be there: not the router's 404 */
            dyn_raise(c, 503, "static file %s: %s", rel, strerror(-fd));
        return 0;
    }
    dyn_arena_defer(c->arena, close_fd, (void *)(intptr_t)fd);
    if (fstat(fd, &f->st) != 0)
        return 0;
    if (!S_ISREG(f->st.st_mode)) {
        *is_dir = !gz && S_ISDIR(f->st.st_mode);
        return 0;
    }
    f->fd = fd;
    f->gz = gz;
    f->data = NULL;
    if (e && (size_t)f->st.st_size <= st->inline_max && settled(&f->st)) {
        size_t n = (size_t)f->st.st_size;
        char *data = act_malloc(n ? n : 1), *name = act_strndup(rel, len);
        if (data && name && (n == 0 || pread(fd, data, n, 0) == (ssize_t)n)) {
            centry_clear(e);
            *e = (centry_t){
                .rel = name, .rel_len = (uint32_t)len, .gz = gz, .st = f->st, .data = data};
            f->data = data;
        } else {
            act_free(data);
            act_free(name);
        }
    }
    return 1;
}

/* Finds rel (len bytes in a buffer of PATH_MAX) as a regular file, the .gz variant first when
 * allowed. Returns 1 with *f, 0 if there is none (or it is a directory: *is_dir). */
static int open_file(dyn_conn_t *c, state_t *st, int root, char *rel, size_t len, bool gz_ok,
                     file_t *f, bool *is_dir)
{
    *is_dir = false;
    if (gz_ok && len + 4 < PATH_MAX) {
        memcpy(rel + len, ".gz", 4);
        int found = try_file(c, st, root, rel, len + 3, true, f, is_dir);
        rel[len] = '\0';
        if (found)
            return 1;
    }
    return try_file(c, st, root, rel, len, false, f, is_dir);
}

/* Evaluates every request field called name (a list may be split over several lines): a
 * match in any is a match, an invalid one makes the whole invalid. */
static int etag_fields(const dyn_conn_t *c, const char *name, const char *etag, bool weak,
                       bool *present)
{
    size_t n;
    const http_header_t *h = dyn_conn_req_headers(c, &n);
    size_t nl = strlen(name);
    int r = DYN__ETAG_NOMATCH;
    *present = false;
    for (size_t i = 0; i < n; i++) {
        if (h[i].name_len != nl || strcasecmp(h[i].name, name) != 0)
            continue;
        *present = true;
        int m = dyn__etag_list_match(h[i].value, etag, weak);
        if (m == DYN__ETAG_INVALID)
            return m;
        if (m == DYN__ETAG_MATCH)
            r = m;
    }
    return r;
}

/* The one field called name, or NULL when it is absent or repeated (a date field with more
 * than one member is invalid). */
static const char *single_field(const dyn_conn_t *c, const char *name)
{
    size_t n;
    const http_header_t *h = dyn_conn_req_headers(c, &n);
    size_t nl = strlen(name);
    const char *v = NULL;
    for (size_t i = 0; i < n; i++) {
        if (h[i].name_len != nl || strcasecmp(h[i].name, name) != 0)
            continue;
        if (v)
            return NULL;
        v = h[i].value;
    }
    return v;
}

static bool date_field(const dyn_conn_t *c, const char *name, time_t now, time_t *out)
{
    const char *v = single_field(c, name);
    return v && dyn__http_date_parse(v, strlen(v), now, out);
}

typedef enum verdict { SEND, NOT_MODIFIED, PRECONDITION_FAILED } verdict_t;

/* RFC 9110 section 13.2.2: If-Match, else If-Unmodified-Since; then If-None-Match, else
 * If-Modified-Since. */
static verdict_t preconditions(const dyn_conn_t *c, const char *etag, time_t mtime, time_t now)
{
    bool present;
    int m = etag_fields(c, "if-match", etag, false, &present);
    time_t t;
    if (present) {
        if (m != DYN__ETAG_MATCH)
            return PRECONDITION_FAILED;
    } else if (date_field(c, "if-unmodified-since", now, &t) && mtime > t) {
        return PRECONDITION_FAILED;
    }
    m = etag_fields(c, "if-none-match", etag, true, &present);
    if (present) {
        if (m == DYN__ETAG_MATCH)
            return NOT_MODIFIED;
    } else if (date_field(c, "if-modified-since", now, &t) && t <= now && mtime <= t) {
        return NOT_MODIFIED;
    }
    return SEND;
}

/* If-Range (RFC 9110 section 13.1.5): true if the range may be served. A date is a strong
 * validator only when it matches Last-Modified exactly. */
static bool if_range(const dyn_conn_t *c, const char *etag, time_t mtime, time_t now)
{
    const char *v = single_field(c, "if-range");
    if (!v)
        return dyn_conn_req_header(c, "if-range") == NULL; /* repeated: invalid, serve whole */
    if (v[0] == '"' || (v[0] == 'W' && v[1] == '/'))
        return etag && v[0] == '"' && strcmp(v, etag) == 0;
    time_t t;
    return dyn__http_date_parse(v, strlen(v), now, &t) && t == mtime;
}

/* A status the Dynamo answers with its page, as a router's 404 (not a failure: nothing logged). */
static dyn_conn_t *answer_status(dyn_conn_t *c, int status)
{
    c->error_status = status;
    return dyn_halt(c);
}

static const char *content_type(const state_t *st, const char *rel, size_t len)
{
    const char *name = strrchr(rel, '/');
    name = name ? name + 1 : rel;
    if (st->o->content_types) {
        const char *dot = strrchr(name, '.');
        for (const dyn_static_type_t *t = st->o->content_types; t->name; t++)
            if (strcmp(t->name, t->name[0] == '.' ? (dot ? dot : "") : name) == 0 ||
                (t->name[0] == '.' && dot && strcasecmp(t->name, dot) == 0))
                return t->type;
    }
    const char *t = dyn__mime_lookup(rel, len);
    return t ? t : "application/octet-stream";
}

/* Redirects a directory URL without its trailing slash to the one with it (so the index's
 * relative links resolve), keeping the query. */
static dyn_conn_t *to_directory(dyn_conn_t *c)
{
    /* One leading slash only: "//evil.example/" would be a link to another site. */
    const char *path = dyn_conn_path(c);
    while (path[0] == '/' && path[1] == '/')
        path++;
    const char *q = dyn_conn_query(c);
    dyn_conn_t *r = dyn_redirect_status(
        c, 301, q[0] ? dyn_sprintf(c, "%s/?%s", path, q) : dyn_sprintf(c, "%s/", path));
    return dyn_halt(r);
}

/* The decimal digits of v at p, NUL-terminated (the framework's formatter, buf.c); returns the
 * end (the NUL). */
static char *decimal(char *p, uint64_t v)
{
    char tmp[DYN__INT_TEXT_MAX];
    const char *d = dyn__utoa_back(v, tmp + sizeof tmp);
    size_t n = (size_t)(tmp + sizeof tmp - d);
    memcpy(p, d, n);
    p[n] = '\0';
    return p + n;
}

static char *hex(char *p, uint64_t v)
{
    static const char digits[] = "0123456789abcdef";
    char tmp[16];
    int n = 0;
    do {
        tmp[n++] = digits[v & 15];
        v >>= 4;
    } while (v);
    while (n)
        *p++ = tmp[--n];
    return p;
}

/* "<size>-<mtime in ns>" in hex, "-gz" for the compressed variant, quoted: a strong entity tag
 * that changes whenever the file does (and differs between the two encodings). Returns its
 * length; out has room for 48 bytes. */
static size_t make_etag(char *out, const file_t *f)
{
    char *p = out;
    *p++ = '"';
    p = hex(p, (uint64_t)f->st.st_size);
    *p++ = '-';
    p = hex(p, (uint64_t)f->st.st_mtim.tv_sec * 1000000000u + (uint64_t)f->st.st_mtim.tv_nsec);
    if (f->gz)
        p = stpcpy(p, "-gz");
    *p++ = '"';
    *p = '\0';
    return (size_t)(p - out);
}

static dyn_conn_t *serve(dyn_conn_t *c, state_t *st, const dyn_str_t *segs, size_t n)
{
    char rel[PATH_MAX];
    int len = n ? dyn__static_path(segs, n, rel, sizeof rel - sizeof "/.gz")
                : snprintf(rel, sizeof rel, "."); /* the prefix itself: its index */
    if (len == DYN__PATH_INVALID)
        dyn_raise(c, 400, "invalid path for a static asset (Plug's InvalidPathError)");
    if (len < 0)
        return c;
    int root = root_fd(st);
    if (root < 0) {
        if (out_of_descriptors(errno))
            dyn_raise(c, 503, "static root %s: %s", st->root, strerror(errno));
        return c;
    }
    bool is_get = dyn_conn_original_method(c) == HTTP_METHOD_GET;
    const char *range = is_get ? dyn_conn_req_header(c, "range") : NULL;
    bool gz_ok = st->gzip && !range && dyn__accepts_gzip(dyn_conn_req_header(c, "accept-encoding"));
    file_t f;
    bool is_dir;
    int found = open_file(c, st, root, rel, (size_t)len, gz_ok, &f, &is_dir);
    if (!found && is_dir && st->o->index) {
        const char *path = dyn_conn_path(c);
        if (path[strlen(path) - 1] != '/')
            return to_directory(c);
        int ilen =
            snprintf(rel + len, sizeof rel - sizeof "/.gz" - (size_t)len, "/%s", st->o->index);
        if (ilen <= 0 || (size_t)(len + ilen) >= sizeof rel - sizeof "/.gz")
            return c;
        len += ilen;
        found = open_file(c, st, root, rel, (size_t)len, gz_ok, &f, &is_dir);
    }
    if (!found)
        return c;

    time_t now = time(NULL);
    time_t mtime = f.st.st_mtim.tv_sec;
    bool vsn = strncmp(dyn_conn_query(c), "vsn=", 4) == 0;
    char *etag = dyn_alloc(c, 48);
    size_t elen = make_etag(etag, &f);
    char *last_modified = dyn_alloc(c, DYN__HTTP_DATE_LEN + 1);
    dyn__http_date_format(mtime, last_modified);

    verdict_t v = preconditions(c, etag, mtime, now);
    if (v == PRECONDITION_FAILED)
        return answer_status(c, 412);

    if (st->gzip)
        PUT(c, "vary", "accept-encoding", 15);
    const char *cc = vsn ? st->cache_control_vsn : st->cache_control;
    if (cc)
        PUT(c, "cache-control", cc, strlen(cc));
    if (!vsn)
        PUT(c, "etag", etag, elen);
    PUT(c, "last-modified", last_modified, DYN__HTTP_DATE_LEN);
    if (v == NOT_MODIFIED)
        return dyn_halt(dyn_send(c, 304, ""));

    const char *type = content_type(st, rel, (size_t)len);
    PUT(c, "content-type", type, strlen(type));
    PUT(c, "accept-ranges", "bytes", 5);
    if (f.gz)
        PUT(c, "content-encoding", "gzip", 4);
    for (size_t i = 0; i < st->nextra; i++)
        if (st->extra[i].value)
            dyn__resp_header_trusted(c, st->extra[i].name, st->extra[i].name_len,
                                     st->extra[i].value, st->extra[i].value_len);

    uint64_t size = (uint64_t)f.st.st_size;
    uint64_t off = 0, count = size;
    int status = 200;
    if (range && if_range(c, vsn ? NULL : etag, mtime, now)) {
        dyn__range_t r;
        switch (dyn__range_parse(range, size, &r)) {
        case DYN__RANGE_ONE:
            if (r.first != 0 || r.last != size - 1) {
                status = 206;
                off = r.first;
                count = r.last - r.first + 1;
                char *cr = dyn_alloc(c, 80), *p = cr;
                p = stpcpy(p, "bytes ");
                p = decimal(p, r.first);
                *p++ = '-';
                p = decimal(p, r.last);
                *p++ = '/';
                p = decimal(p, size);
                PUT(c, "content-range", cr, p - cr);
            }
            break;
        case DYN__RANGE_UNSATISFIABLE: {
            char *cr = dyn_alloc(c, 32), *p = stpcpy(cr, "bytes */");
            p = decimal(p, size);
            PUT(c, "content-range", cr, p - cr);
            PUT(c, "content-type", "text/plain; charset=utf-8", 25);
            return dyn_halt(dyn_send(c, 416, "Range Not Satisfiable\n"));
        }
        default:
            break;
        }
    }

    /* Not cached: HEAD (or GET rewritten from HEAD) sends no body, no need to read one. */
    if (f.data) { /* copied: the entry may change hands before the send (see the cache) */
        char *body = dyn_alloc(c, count ? count : 1);
        memcpy(body, f.data + off, count);
        dyn_resp_borrow(c, status, body, count);
        return dyn_halt(dyn_send_resp(c));
    }
    if (is_get && count <= st->inline_max) {
        char *body = dyn_alloc(c, count ? count : 1);
        ssize_t got = count ? pread(f.fd, body, count, (off_t)off) : 0;
        if (got >= 0 && (uint64_t)got == count) {
            dyn_resp_borrow(c, status, body, count);
            return dyn_halt(dyn_send_resp(c));
        }
        /* Shorter than fstat said (changed under us): sendfile reports it by closing. */
    }
    return dyn_halt(dyn_send_file(c, status, f.fd, (off_t)off, count));
}

static dyn_conn_t *call(dyn_conn_t *c, void *arg)
{
    state_t *st = arg;
    http_method_t m = dyn_conn_method(c);
    if (m != HTTP_METHOD_GET && m != HTTP_METHOD_HEAD)
        return c;
    const dyn_str_t *segs;
    size_t n = dyn_conn_path_info(c, &segs);
    if (n < st->nat || (n == st->nat && !st->o->index))
        return c;
    for (size_t i = 0; i < st->nat; i++)
        if (segs[i].len != st->at[i].len || memcmp(segs[i].ptr, st->at[i].ptr, segs[i].len) != 0)
            return c;
    segs += st->nat;
    n -= st->nat;
    if (n && (st->o->only || st->o->only_matching) &&
        !(st->o->only && listed(st->o->only, &segs[0], false)) &&
        !(st->o->only_matching && listed(st->o->only_matching, &segs[0], true)))
        return c;
    return serve(c, st, segs, n);
}

const dyn_plug_t dyn_plug_static = {
    .name = "static",
    .init = init,
    .call = call,
    .deinit = deinit,
};
