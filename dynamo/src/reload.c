/*
 * The watcher of a web module (web_int.h): a thread with a libuv loop of its own that watches
 * every directory of web/, waits for editors to finish writing, runs the build and loads what
 * it made.
 *
 * Why a thread and not an actor: a build runs for seconds and a load (dlopen, compiling the
 * routes) blocks; neither may hold a scheduler. The thread touches the Dynamo only through the
 * web state's atomics, its lock and dyn__web_load, and is joined when the Dynamo's actor stops.
 *
 * Watching: inotify is not recursive, so each directory has its own uv_fs_event; the tree is
 * scanned again before every build, which adds directories created since and drops the ones
 * removed. Editors write in several steps (vim: a probe file "4913", a backup "name~", a swap
 * ".name.swp", a rename; others truncate then write), so names of those kinds are ignored and
 * a build starts only after QUIET_MS without a change (or MAX_WAIT_MS after the first one, for
 * a tool that never stops writing). A change during a build makes another build after it.
 *
 * Requests wait while a change is pending (DYN__WEB_PENDING is set at the first event), so a
 * page loaded right after a save shows the result of that save.
 */
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <uv.h>

#include "web_int.h"

#include "actor/mem.h"

#define QUIET_MS 40
#define MAX_WAIT_MS 400
#define MAX_DIRS 4096
#define MAX_DEPTH 32
#define MAX_OUTPUT (1u << 20)
#define BUILD_TIMEOUT_MS (10 * 60 * 1000)

typedef struct watch {
    uv_fs_event_t ev;
    struct dyn__reloader *r;
    char *path;
    bool seen; /* found by the current scan */
} watch_t;

struct dyn__reloader {
    dyn__web_t *w;
    uv_thread_t thread;
    uv_loop_t loop;
    uv_async_t async;
    uv_timer_t quiet;
    uv_timer_t deadline; /* a build's timeout */
    _Atomic int stop;
    _Atomic int poked;
    watch_t **watches;
    size_t nwatches;
    char changed[256]; /* what changed first, for the report */
    bool dirty;        /* a change since the last build started */
    uint64_t first_change;
    /* the build */
    bool building;
    int open_handles; /* process and pipe, until both closed */
    uv_process_t proc;
    uv_pipe_t pipe;
    char *out;
    size_t outlen;
    bool truncated;
    int64_t exit_status;
    int term_signal;
    uint64_t started;
};

static void report(dyn__reloader_t *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void report(dyn__reloader_t *r, const char *fmt, ...)
{
    char line[2048];
    int n = snprintf(line, sizeof line, "[reload] %s: ", r->w->dynamo);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line + n, sizeof line - (size_t)n, fmt, ap);
    va_end(ap);
    act_report_log(r->w->dynamo, line);
}

static void set_pending(dyn__reloader_t *r, bool on)
{
    if (on)
        atomic_fetch_or_explicit(&r->w->status, DYN__WEB_PENDING, memory_order_release);
    else
        atomic_fetch_and_explicit(&r->w->status, ~DYN__WEB_PENDING, memory_order_release);
}

/* ---- watching ----------------------------------------------------------------------------- */

static bool ignored(const char *name)
{
    if (!name)
        return false; /* the kernel did not say: assume it matters */
    size_t n = strlen(name);
    if (n == 0 || name[0] == '.' || name[0] == '#' || name[n - 1] == '~' || !strcmp(name, "4913"))
        return true;
    static const char *const tails[] = {".swp", ".swx", ".tmp", ".bak", ".orig"};
    for (size_t i = 0; i < sizeof tails / sizeof tails[0]; i++) {
        size_t t = strlen(tails[i]);
        if (n > t && !strcmp(name + n - t, tails[i]))
            return true;
    }
    return false;
}

static void start_build(dyn__reloader_t *r);

static void quiet_fired(uv_timer_t *t)
{
    dyn__reloader_t *r = t->data;
    if (!r->building && r->dirty)
        start_build(r);
}

/* Whether a file name looks like a source (what the report should name, rather than the
 * temporary file an editor wrote first). */
static bool source_name(const char *name)
{
    const char *dot = name ? strrchr(name, '.') : NULL;
    return dot && (!strcmp(dot, ".c") || !strcmp(dot, ".h") || !strcmp(dot, ".eex"));
}

/* A change: wait for quiet (or for the deadline since the first change), then build. */
static void changed(dyn__reloader_t *r, const char *dir, const char *name)
{
    if (!r->dirty) {
        r->first_change = uv_now(&r->loop);
        r->changed[0] = '\0';
    }
    if (!r->changed[0] || (source_name(name) && !source_name(strrchr(r->changed, '/'))))
        if (snprintf(r->changed, sizeof r->changed, "%s%s%s", dir, name ? "/" : "",
                     name ? name : "") >= (int)sizeof r->changed)
            r->changed[sizeof r->changed - 1] = '\0'; /* cut: it is only reported */
    r->dirty = true;
    set_pending(r, true);
    if (r->building)
        return; /* built again when this build ends */
    uint64_t waited = uv_now(&r->loop) - r->first_change;
    uint64_t wait = waited >= MAX_WAIT_MS ? 0 : QUIET_MS;
    if (waited + wait > MAX_WAIT_MS)
        wait = MAX_WAIT_MS - waited;
    uv_timer_start(&r->quiet, quiet_fired, wait, 0);
}

static void fs_event(uv_fs_event_t *h, const char *name, int events, int status)
{
    (void)events;
    watch_t *wt = h->data;
    if (status < 0 || ignored(name))
        return;
    changed(wt->r, wt->path, name);
}

static void watch_closed(uv_handle_t *h)
{
    watch_t *wt = h->data;
    act_free(wt->path);
    act_free(wt);
}

static watch_t *find_watch(dyn__reloader_t *r, const char *path)
{
    for (size_t i = 0; i < r->nwatches; i++)
        if (!strcmp(r->watches[i]->path, path))
            return r->watches[i];
    return NULL;
}

static void add_watch(dyn__reloader_t *r, const char *path)
{
    watch_t *wt = find_watch(r, path);
    if (wt) {
        wt->seen = true;
        return;
    }
    if (r->nwatches == MAX_DIRS)
        return;
    wt = act_calloc(1, sizeof *wt);
    size_t n = strlen(path);
    char *copy = act_malloc(n + 1);
    watch_t **grown = act_realloc(r->watches, (r->nwatches + 1) * sizeof *r->watches);
    if (!wt || !copy || !grown) {
        act_free(wt);
        act_free(copy);
        if (grown)
            r->watches = grown;
        return;
    }
    r->watches = grown;
    memcpy(copy, path, n + 1);
    wt->r = r;
    wt->path = copy;
    wt->seen = true;
    uv_fs_event_init(&r->loop, &wt->ev);
    wt->ev.data = wt;
    int rc = uv_fs_event_start(&wt->ev, fs_event, path, 0);
    if (rc) {
        report(r, "cannot watch %s: %s", path, uv_strerror(rc));
        uv_close((uv_handle_t *)&wt->ev, watch_closed);
        return;
    }
    r->watches[r->nwatches++] = wt;
}

static void scan(dyn__reloader_t *r, const char *dir, int depth)
{
    add_watch(r, dir);
    if (depth >= MAX_DEPTH)
        return;
    DIR *d = opendir(dir);
    if (!d)
        return;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.')
            continue; /* ., .., and hidden directories (editor and tool state) */
        char sub[4096];
        if ((size_t)snprintf(sub, sizeof sub, "%s/%s", dir, e->d_name) >= sizeof sub)
            continue;
        struct stat st;
        if (lstat(sub, &st) == 0 && S_ISDIR(st.st_mode))
            scan(r, sub, depth + 1);
    }
    closedir(d);
}

/* Watches every directory of the tree as it is now. */
static void rescan(dyn__reloader_t *r)
{
    for (size_t i = 0; i < r->nwatches; i++)
        r->watches[i]->seen = false;
    scan(r, r->w->decl->watch, 0);
    size_t kept = 0;
    for (size_t i = 0; i < r->nwatches; i++) {
        watch_t *wt = r->watches[i];
        if (wt->seen)
            r->watches[kept++] = wt;
        else
            uv_close((uv_handle_t *)&wt->ev, watch_closed);
    }
    r->nwatches = kept;
}

/* ---- building ----------------------------------------------------------------------------- */

static void alloc_out(uv_handle_t *h, size_t hint, uv_buf_t *buf)
{
    (void)hint;
    static _Thread_local char chunk[65536];
    (void)h;
    *buf = uv_buf_init(chunk, sizeof chunk);
}

static void read_out(uv_stream_t *s, ssize_t n, const uv_buf_t *buf)
{
    dyn__reloader_t *r = s->data;
    if (n <= 0) {
        if (n < 0)
            uv_read_stop(s);
        return;
    }
    size_t take = (size_t)n;
    if (r->outlen + take > MAX_OUTPUT) {
        take = MAX_OUTPUT - r->outlen;
        r->truncated = true;
    }
    char *grown = act_realloc(r->out, r->outlen + take + 1);
    if (!grown) {
        r->truncated = true;
        return;
    }
    r->out = grown;
    memcpy(r->out + r->outlen, buf->base, take);
    r->outlen += take;
    r->out[r->outlen] = '\0';
}

static void build_done(dyn__reloader_t *r)
{
    uv_timer_stop(&r->deadline);
    r->building = false;
    atomic_fetch_add_explicit(&r->w->builds, 1, memory_order_relaxed);
    uint64_t ms = uv_now(&r->loop) - r->started;
    dyn__web_t *w = r->w;
    if (r->exit_status == 0 && r->term_signal == 0) {
        uv_update_time(&r->loop);
        uint64_t t0 = uv_now(&r->loop);
        if (dyn__web_load(w) == 0) {
            uv_update_time(&r->loop);
            report(r, "version %llu serving (build %llu ms, load %llu ms)",
                   (unsigned long long)atomic_load(&w->version), (unsigned long long)ms,
                   (unsigned long long)(uv_now(&r->loop) - t0));
        }
    } else {
        char head[160];
        if (r->term_signal)
            snprintf(head, sizeof head, "the build was killed by signal %d%s\n", r->term_signal,
                     r->term_signal == SIGKILL ? " (timed out)" : "");
        else
            snprintf(head, sizeof head, "the build failed (exit status %lld)\n",
                     (long long)r->exit_status);
        size_t hl = strlen(head), ol = r->out ? r->outlen : 0;
        char *text = act_malloc(hl + ol + 32);
        if (text) {
            memcpy(text, head, hl);
            if (ol)
                memcpy(text + hl, r->out, ol);
            strcpy(text + hl + ol, r->truncated ? "\n(output truncated)\n" : "");
        }
        report(r, "%s%.*s", head, (int)(ol > 1500 ? 1500 : ol), r->out ? r->out : "");
        dyn__web_set_error(w, text);
    }
    act_free(r->out);
    r->out = NULL;
    r->outlen = 0;
    r->truncated = false;
    if (r->dirty) {
        r->first_change = uv_now(&r->loop);
        uv_timer_start(&r->quiet, quiet_fired, QUIET_MS, 0);
    } else {
        set_pending(r, false);
    }
}

static void build_handle_closed(uv_handle_t *h)
{
    dyn__reloader_t *r = h->data;
    if (--r->open_handles == 0 && !atomic_load(&r->stop))
        build_done(r);
}

static void build_exited(uv_process_t *p, int64_t status, int sig)
{
    dyn__reloader_t *r = p->data;
    r->exit_status = status;
    r->term_signal = sig;
    uv_close((uv_handle_t *)p, build_handle_closed);
}

/* The pipe ends when every process of the build closed it: read to the end, then close. */
static void read_all(uv_stream_t *s, ssize_t n, const uv_buf_t *buf)
{
    read_out(s, n, buf);
    if (n < 0)
        uv_close((uv_handle_t *)s, build_handle_closed);
}

static void build_timeout(uv_timer_t *t)
{
    dyn__reloader_t *r = t->data;
    if (r->building)
        uv_kill(-r->proc.pid, SIGKILL); /* the whole group: make, ninja, the compilers */
}

static void start_build(dyn__reloader_t *r)
{
    rescan(r);
    r->dirty = false;
    report(r, "%s changed: building", r->changed[0] ? r->changed : r->w->decl->watch);
    /* One pipe for the build's stdout and stderr, so its output reads in order. */
    uv_file fds[2];
    int rc = uv_pipe(fds, 0, 0);
    if (rc == 0) {
        uv_pipe_init(&r->loop, &r->pipe, 0);
        if ((rc = uv_pipe_open(&r->pipe, fds[0])) != 0) {
            close(fds[0]);
            close(fds[1]);
            uv_close((uv_handle_t *)&r->pipe, NULL);
        }
    }
    if (rc == 0) {
        r->pipe.data = r;
        uv_stdio_container_t io[3] = {
            {.flags = UV_IGNORE},
            {.flags = UV_INHERIT_FD, .data.fd = fds[1]},
            {.flags = UV_INHERIT_FD, .data.fd = fds[1]},
        };
        uv_process_options_t o = {
            .exit_cb = build_exited,
            .file = r->w->decl->build[0],
            .args = (char **)r->w->decl->build,
            .stdio = io,
            .stdio_count = 3,
            .flags = UV_PROCESS_DETACHED, /* its own process group, killed as one */
        };
        r->proc.data = r;
        r->started = uv_now(&r->loop);
        r->exit_status = -1;
        r->term_signal = 0;
        rc = uv_spawn(&r->loop, &r->proc, &o);
        close(fds[1]); /* the build's processes hold the write end: EOF when they are done */
        if (rc)
            uv_close((uv_handle_t *)&r->pipe, NULL);
    }
    if (rc) {
        char *text = act_malloc(512);
        if (text)
            snprintf(text, 512, "cannot run the build (%s): %s\n", r->w->decl->build[0],
                     uv_strerror(rc));
        report(r, "cannot run the build (%s): %s", r->w->decl->build[0], uv_strerror(rc));
        atomic_fetch_add_explicit(&r->w->builds, 1, memory_order_relaxed);
        dyn__web_set_error(r->w, text);
        if (!r->dirty)
            set_pending(r, false);
        return;
    }
    r->building = true;
    r->open_handles = 2;
    uv_read_start((uv_stream_t *)&r->pipe, alloc_out, read_all);
    uv_timer_start(&r->deadline, build_timeout, BUILD_TIMEOUT_MS, 0);
}

/* ---- the thread --------------------------------------------------------------------------- */

static void close_any(uv_handle_t *h, void *arg)
{
    (void)arg;
    if (uv_is_closing(h))
        return;
    if (h->type == UV_FS_EVENT)
        uv_close(h, watch_closed);
    else
        uv_close(h, NULL);
}

static void woken(uv_async_t *a)
{
    dyn__reloader_t *r = a->data;
    if (atomic_load(&r->stop)) {
        if (r->building)
            uv_kill(-r->proc.pid, SIGKILL);
        uv_walk(&r->loop, close_any, NULL);
        return;
    }
    if (atomic_exchange(&r->poked, 0))
        changed(r, r->w->decl->watch, NULL);
}

static void run(void *arg)
{
    dyn__reloader_t *r = arg;
    uv_run(&r->loop, UV_RUN_DEFAULT);
}

int dyn__reloader_start(dyn__web_t *w, dyn__reloader_t **out)
{
    struct stat st;
    if (stat(w->decl->watch, &st) != 0 || !S_ISDIR(st.st_mode))
        return -ENOTDIR;
    dyn__reloader_t *r = act_calloc(1, sizeof *r);
    if (!r)
        return ACT_ENOMEM;
    r->w = w;
    int rc = uv_loop_init(&r->loop);
    if (rc) {
        act_free(r);
        return rc;
    }
    uv_async_init(&r->loop, &r->async, woken);
    r->async.data = r;
    uv_timer_init(&r->loop, &r->quiet);
    r->quiet.data = r;
    uv_timer_init(&r->loop, &r->deadline);
    r->deadline.data = r;
    rescan(r);
    if ((rc = uv_thread_create(&r->thread, run, r)) != 0) {
        uv_walk(&r->loop, close_any, NULL);
        uv_run(&r->loop, UV_RUN_DEFAULT);
        uv_loop_close(&r->loop);
        act_free(r->watches);
        act_free(r);
        return rc;
    }
    *out = r;
    return 0;
}

void dyn__reloader_poke(dyn__reloader_t *r)
{
    atomic_store(&r->poked, 1);
    uv_async_send(&r->async);
}

void dyn__reloader_stop(dyn__reloader_t *r)
{
    atomic_store(&r->stop, 1);
    uv_async_send(&r->async);
    uv_thread_join(&r->thread);
    uv_loop_close(&r->loop);
    act_free(r->out);
    act_free(r->watches);
    set_pending(r, false);
    act_free(r);
}
