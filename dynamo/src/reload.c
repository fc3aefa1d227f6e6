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
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
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
    /* the build: its output's pipe and its pidfd, each -1 once closed */
    bool building;
    pid_t pid;
    int out_fd;
    int pid_fd;
    uv_poll_t out_poll;
    uv_poll_t pid_poll;
    char *out;
    size_t outlen;
    bool truncated;
    int exit_status;
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

/* ---- building ----------------------------------------------------------------------------- *
 *
 * The build runs with posix_spawn in a session of its own (killed as one group), its stdout
 * and stderr on one pipe we read as it writes, its end seen through a pidfd; both descriptors
 * are watched with uv_poll, which leaves them ours to close. (libuv's own pipes and uv_spawn
 * close theirs with a raw close system call that ThreadSanitizer cannot see, so it would take
 * the next socket accepted on the same number, in another thread, for a data race.)
 */

static void build_done(dyn__reloader_t *r);

static void end_io(dyn__reloader_t *r, uv_poll_t *h, int *fd)
{
    uv_poll_stop(h);
    uv_close((uv_handle_t *)h, NULL); /* a poll handle does not close its descriptor */
    close(*fd);
    *fd = -1;
    if (r->out_fd < 0 && r->pid_fd < 0 && r->building && !atomic_load(&r->stop))
        build_done(r);
}

static void output_ready(uv_poll_t *h, int status, int events)
{
    (void)events;
    dyn__reloader_t *r = h->data;
    char chunk[65536];
    ssize_t n = status < 0 ? -1 : read(r->out_fd, chunk, sizeof chunk);
    if (n < 0 && (errno == EAGAIN || errno == EINTR))
        return;
    if (n <= 0) { /* every process of the build closed it */
        end_io(r, h, &r->out_fd);
        return;
    }
    size_t take = (size_t)n;
    if (r->outlen + take > MAX_OUTPUT) {
        take = MAX_OUTPUT - r->outlen;
        r->truncated = true;
    }
    char *grown = take ? act_realloc(r->out, r->outlen + take + 1) : r->out;
    if (!grown) {
        r->truncated = true;
        return;
    }
    r->out = grown;
    memcpy(r->out + r->outlen, chunk, take);
    r->outlen += take;
    r->out[r->outlen] = '\0';
}

static void build_exited(uv_poll_t *h, int status, int events)
{
    (void)status;
    (void)events;
    dyn__reloader_t *r = h->data;
    int st;
    pid_t got = waitpid(r->pid, &st, WNOHANG);
    if (got == 0)
        return; /* not yet */
    if (got == r->pid) {
        r->exit_status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
        r->term_signal = WIFSIGNALED(st) ? WTERMSIG(st) : 0;
    }
    r->pid = 0;
    end_io(r, h, &r->pid_fd);
}

static void build_timeout(uv_timer_t *t)
{
    dyn__reloader_t *r = t->data;
    if (r->building && r->pid > 0)
        kill(-r->pid, SIGKILL); /* the whole group: make, ninja, the compilers */
}

static void build_done(dyn__reloader_t *r)
{
    uv_timer_stop(&r->deadline);
    r->building = false;
    atomic_fetch_add_explicit(&r->w->builds, 1, memory_order_relaxed);
    uv_update_time(&r->loop);
    uint64_t ms = uv_now(&r->loop) - r->started;
    dyn__web_t *w = r->w;
    if (r->exit_status == 0 && r->term_signal == 0) {
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
            snprintf(head, sizeof head, "the build failed (exit status %d)\n", r->exit_status);
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

static void build_failed(dyn__reloader_t *r, int err)
{
    char *text = act_malloc(512);
    if (text)
        snprintf(text, 512, "cannot run the build (%s): %s\n", r->w->decl->build[0], strerror(err));
    report(r, "cannot run the build (%s): %s", r->w->decl->build[0], strerror(err));
    atomic_fetch_add_explicit(&r->w->builds, 1, memory_order_relaxed);
    dyn__web_set_error(r->w, text);
    if (!r->dirty)
        set_pending(r, false);
}

extern char **environ;

static void start_build(dyn__reloader_t *r)
{
    rescan(r);
    r->dirty = false;
    report(r, "%s changed: building", r->changed[0] ? r->changed : r->w->decl->watch);
    /* One pipe for the build's stdout and stderr, so its output reads in order. */
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) != 0) {
        build_failed(r, errno);
        return;
    }
    posix_spawn_file_actions_t fa;
    posix_spawnattr_t attr;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_adddup2(&fa, fds[1], 1);
    posix_spawn_file_actions_adddup2(&fa, fds[1], 2);
    posix_spawnattr_init(&attr);
    posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSID); /* its own group, killed as one */
    uv_update_time(&r->loop);
    r->started = uv_now(&r->loop);
    r->exit_status = -1;
    r->term_signal = 0;
    pid_t pid;
    int rc = posix_spawnp(&pid, r->w->decl->build[0], &fa, &attr, (char *const *)r->w->decl->build,
                          environ);
    posix_spawn_file_actions_destroy(&fa);
    posix_spawnattr_destroy(&attr);
    close(fds[1]); /* the build's processes hold the write end: EOF when they are done */
    if (rc) {
        close(fds[0]);
        build_failed(r, rc);
        return;
    }
    r->pid = pid;
    r->out_fd = fds[0];
    r->pid_fd = (int)syscall(SYS_pidfd_open, pid, 0);
    if (r->pid_fd < 0) { /* no pidfd: wait for the exit once the output ends */
        kill(-pid, SIGKILL);
        waitpid(pid, NULL, 0);
        close(r->out_fd);
        r->out_fd = -1;
        r->pid = 0;
        build_failed(r, errno);
        return;
    }
    fcntl(r->out_fd, F_SETFL, O_NONBLOCK);
    r->building = true;
    uv_poll_init(&r->loop, &r->out_poll, r->out_fd);
    r->out_poll.data = r;
    uv_poll_start(&r->out_poll, UV_READABLE | UV_DISCONNECT, output_ready);
    uv_poll_init(&r->loop, &r->pid_poll, r->pid_fd);
    r->pid_poll.data = r;
    uv_poll_start(&r->pid_poll, UV_READABLE, build_exited);
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
        if (r->building && r->pid > 0) {
            kill(-r->pid, SIGKILL);
            waitpid(r->pid, NULL, 0);
        }
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
    r->out_fd = r->pid_fd = -1;
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
    if (r->out_fd >= 0)
        close(r->out_fd);
    if (r->pid_fd >= 0)
        close(r->pid_fd);
    act_free(r->out);
    act_free(r->watches);
    set_pending(r, false);
    act_free(r);
}
