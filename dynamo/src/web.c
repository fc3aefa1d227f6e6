/*
 * A Dynamo's web code at run time (web_int.h): opening it, loading versions of a module,
 * what a request does at its start, and the tools' view.
 *
 * Loading a version: the module the build made is copied to a path of its own
 * (<module's dir>/.dynamo-reload/<file>.<pid>.<n>.so, n counting the copies the process made)
 * and that copy is dlopen'ed, so
 * each version is a new handle (dlopen returns the handle it has for a path it loaded) and the
 * next build can overwrite the module while the copy serves. The copy is removed when the
 * version is unloaded; copies left by a process that died are removed at the next start.
 */
#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "web_int.h"

#include "actor/mem.h"
#include "conn_int.h"
#include "template_int.h"

#define COPY_DIR ".dynamo-reload"

/* Copies are numbered across the process: a Dynamo that restarts loads its module again while
 * requests of the previous instance may still run the copy it loaded. */
static _Atomic uint64_t copies_made;

static void report(const dyn__web_t *w, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void report(const dyn__web_t *w, const char *fmt, ...)
{
    char line[1024];
    int n = snprintf(line, sizeof line, "[reload] %s: ", w->dynamo);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line + n, sizeof line - (size_t)n, fmt, ap);
    va_end(ap);
    act_report_log(w->dynamo, line);
}

/* ---- errors ------------------------------------------------------------------------------- */

void dyn__web_set_error(dyn__web_t *w, char *text)
{
    pthread_mutex_lock(&w->lock);
    act_free(w->error);
    w->error = text;
    pthread_mutex_unlock(&w->lock);
    atomic_fetch_add_explicit(&w->failures, 1, memory_order_relaxed);
    /* release: a request that sees FAILED finds the text under the lock anyway */
    atomic_fetch_or_explicit(&w->status, DYN__WEB_FAILED, memory_order_release);
}

void dyn__web_clear_error(dyn__web_t *w)
{
    atomic_fetch_and_explicit(&w->status, ~DYN__WEB_FAILED, memory_order_release);
    pthread_mutex_lock(&w->lock);
    act_free(w->error);
    w->error = NULL;
    pthread_mutex_unlock(&w->lock);
}

__attribute__((format(printf, 2, 3))) static int load_error(dyn__web_t *w, const char *fmt, ...)
{
    char buf[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    report(w, "%s", buf);
    size_t n = strlen(buf);
    char *text = act_malloc(n + 1);
    if (text)
        memcpy(text, buf, n + 1);
    dyn__web_set_error(w, text);
    return DYN_EBUILD;
}

/* ---- loading ------------------------------------------------------------------------------ */

/* The directory of path and its base name, split into dir/base (dir has room for path). */
static void split_path(const char *path, char *dir, size_t dirlen, const char **base)
{
    const char *slash = strrchr(path, '/');
    *base = slash ? slash + 1 : path;
    snprintf(dir, dirlen, "%.*s", slash ? (int)(slash - path) : 1, slash ? path : ".");
}

/* Removes copies left behind by processes that are gone. */
static void remove_stale_copies(const char *copies, const char *base)
{
    DIR *d = opendir(copies);
    if (!d)
        return;
    size_t blen = strlen(base);
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (strncmp(e->d_name, base, blen) != 0 || e->d_name[blen] != '.')
            continue;
        long pid = strtol(e->d_name + blen + 1, NULL, 10);
        if (pid == (long)getpid())
            continue;
        if (pid <= 0 || (kill((pid_t)pid, 0) == -1 && errno == ESRCH)) {
            char p[PATH_MAX];
            if (snprintf(p, sizeof p, "%s/%s", copies, e->d_name) < (int)sizeof p)
                unlink(p);
        }
    }
    closedir(d);
}

static int copy_file(const char *from, const char *to)
{
    int in = open(from, O_RDONLY | O_CLOEXEC);
    if (in < 0)
        return -errno;
    int out = open(to, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0700);
    if (out < 0) {
        int e = -errno;
        close(in);
        return e;
    }
    char buf[65536];
    ssize_t n;
    int rc = 0;
    while ((n = read(in, buf, sizeof buf)) != 0) {
        if (n < 0) {
            if (errno == EINTR)
                continue;
            rc = -errno;
            break;
        }
        for (ssize_t off = 0; off < n;) {
            ssize_t m = write(out, buf + off, (size_t)(n - off));
            if (m < 0 && errno == EINTR)
                continue;
            if (m < 0) {
                rc = -errno;
                break;
            }
            off += m;
        }
        if (rc)
            break;
    }
    close(in);
    if (close(out) != 0 && rc == 0)
        rc = -errno;
    if (rc)
        unlink(to);
    return rc;
}

int dyn__web_load(dyn__web_t *w)
{
    const dyn_web_t *d = w->decl;
    uint64_t version = ++w->next_version;
    char dir[PATH_MAX], copies[PATH_MAX], path[PATH_MAX];
    const char *base;
    split_path(d->module, dir, sizeof dir, &base);
    if (snprintf(copies, sizeof copies, "%s/" COPY_DIR, dir) >= (int)sizeof copies)
        return load_error(w, "the web module's path is too long: %s", d->module);
    if (mkdir(copies, 0700) != 0 && errno != EEXIST)
        return load_error(w, "cannot create %s: %s", copies, strerror(errno));
    if (version == 1)
        remove_stale_copies(copies, base);
    uint64_t seq = atomic_fetch_add_explicit(&copies_made, 1, memory_order_relaxed) + 1;
    if (snprintf(path, sizeof path, "%s/%s.%ld.%llu.so", copies, base, (long)getpid(),
                 (unsigned long long)seq) >= (int)sizeof path)
        return load_error(w, "the web module's path is too long: %s", d->module);
    int rc = copy_file(d->module, path); /* O_TRUNC on a fresh name: never a mapped file */
    if (rc)
        return load_error(w, "cannot copy the web module %s: %s", d->module, strerror(-rc));
    void *h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (!h) {
        const char *e = dlerror();
        unlink(path);
        return load_error(w, "cannot load the web module %s: %s", d->module, e ? e : "?");
    }
    const dyn_web_t *mod = dlsym(h, DYN_WEB_MODULE_SYMBOL);
    if (!mod || mod->abi != DYN_WEB_ABI || !mod->endpoint) {
        dlclose(h);
        unlink(path);
        return load_error(w, "%s is not a web module of this framework (%s)", d->module,
                          !mod                      ? "no " DYN_WEB_MODULE_SYMBOL
                          : mod->abi != DYN_WEB_ABI ? "another ABI: rebuild the program"
                                                    : "no endpoint");
    }
    dyn__code_t *code = act_calloc(1, sizeof *code);
    char *owned_path = act_malloc(strlen(path) + 1);
    char err[512] = "";
    rc = code && owned_path ? dyn_routes_compile(mod->endpoint, &code->routes, err, sizeof err)
                            : ACT_ENOMEM;
    if (rc) {
        act_free(code);
        act_free(owned_path);
        dlclose(h);
        unlink(path);
        return load_error(w, "the routes of %s do not compile: %s%s%s", d->module, dyn_strerror(rc),
                          err[0] ? ": " : "", err);
    }
    memcpy(owned_path, path, strlen(path) + 1);
    code->web = mod;
    code->handle = h;
    code->path = owned_path;
    code->version = version;
    if ((rc = dyn__code_publish(code)) != 0) {
        dyn__code_free(code);
        return load_error(w, "too many versions still in use by requests");
    }
    /* release: pairs with the acquire load of dyn__code_acquire; the version is published */
    atomic_store_explicit(&w->current, code->token, memory_order_release);
    atomic_store_explicit(&w->version, version, memory_order_relaxed);
    dyn__code_t *old = w->owned;
    w->owned = code;
    if (old)
        dyn__code_release(old); /* unloaded now, or when its last request is done */
    dyn__web_clear_error(w);
    return 0;
}

int dyn__web_open(dyn__inst_t *in, char *err, size_t errlen)
{
    const dyn_web_t *d = in->decl->web;
    if (d->abi != DYN_WEB_ABI) {
        snprintf(err, errlen,
                 "the web descriptor of Dynamo %s was made for another framework "
                 "version: rebuild the program",
                 in->decl->name);
        return ACT_EBADARG;
    }
    if (d->endpoint)
        return dyn_routes_compile(d->endpoint, &in->routes, err, errlen);
    if (!d->module || !d->module[0]) {
        snprintf(err, errlen, "web %s has neither an endpoint nor a module", d->name);
        return ACT_EBADARG;
    }
    dyn__web_t *w = act_calloc(1, sizeof *w);
    if (!w) {
        snprintf(err, errlen, "no memory for the web code of %s", in->decl->name);
        return ACT_ENOMEM;
    }
    w->decl = d;
    w->dynamo = in->decl->name;
    w->wait_ms = 30000;
    pthread_mutex_init(&w->lock, NULL);
    in->web = w;
    int rc = dyn__web_load(w);
    if (rc && !in->code_reload) {
        pthread_mutex_lock(&w->lock);
        snprintf(err, errlen, "%s", w->error ? w->error : dyn_strerror(rc));
        pthread_mutex_unlock(&w->lock);
        return rc;
    }
    return 0; /* reloading, a module that fails to load is an error page until a build works */
}

int dyn__web_watch(dyn__inst_t *in)
{
    dyn__web_t *w = in->web;
    const char *env = getenv("DYNAMO_RELOAD");
    if (!w || !in->code_reload || (env && strcmp(env, "0") == 0) || !w->decl->watch ||
        !w->decl->build || !w->decl->build[0])
        return 0;
    dyn__reloader_t *r;
    int rc = dyn__reloader_start(w, &r);
    if (rc == 0) {
        pthread_mutex_lock(&w->lock);
        w->reloader = r;
        pthread_mutex_unlock(&w->lock);
    }
    if (rc)
        report(w, "cannot watch %s: %s (reloading is off)", w->decl->watch, dyn_strerror(rc));
    else
        report(w, "watching %s", w->decl->watch);
    return rc;
}

void dyn__web_unwatch(dyn__inst_t *in)
{
    dyn__web_t *w = in->web;
    if (!w)
        return;
    pthread_mutex_lock(&w->lock);
    dyn__reloader_t *r = w->reloader;
    w->reloader = NULL;
    pthread_mutex_unlock(&w->lock);
    if (r)
        dyn__reloader_stop(r);
}

void dyn__web_close(dyn__inst_t *in)
{
    dyn__web_t *w = in->web;
    if (!w)
        return;
    dyn__web_unwatch(in);
    atomic_store_explicit(&w->current, 0, memory_order_release);
    if (w->owned)
        dyn__code_release(w->owned);
    act_free(w->error);
    pthread_mutex_destroy(&w->lock);
    act_free(w);
    in->web = NULL;
}

/* ---- requests ----------------------------------------------------------------------------- */

static void release_code(void *arg)
{
    dyn__code_release(arg);
}

static bool wants_page(const dyn_conn_t *c)
{
    const char *accept = dyn_conn_req_header(c, "accept");
    for (const char *p = accept; p && *p; p++)
        if (strncasecmp(p, "text/html", 9) == 0)
            return true;
    return false;
}

static void answer_error(dyn_conn_t *c, dyn__web_t *w)
{
    pthread_mutex_lock(&w->lock);
    const char *text = w->error ? dyn_strdup(c, w->error) : "no web code loaded";
    pthread_mutex_unlock(&w->lock);
    dyn__build_page(c, text);
    dyn_halt(c);
}

bool dyn__web_enter(dyn_conn_t *c)
{
    dyn__web_t *w = c->inst->web;
    /* acquire: pairs with the release of the loader's status changes */
    uint32_t st = atomic_load_explicit(&w->status, memory_order_acquire);
    if (st & DYN__WEB_PENDING) {
        /* A change is being built: wait for it, as mix compile makes Phoenix requests wait. */
        for (int64_t waited = 0; (st & DYN__WEB_PENDING) && waited < w->wait_ms; waited += 10) {
            act_sleep(10);
            st = atomic_load_explicit(&w->status, memory_order_acquire);
        }
    }
    if ((st & DYN__WEB_FAILED) && wants_page(c)) {
        answer_error(c, w);
        return true;
    }
    dyn__code_t *code = dyn__code_acquire(&w->current);
    if (!code) {
        answer_error(c, w); /* nothing ever loaded: every request sees why */
        return true;
    }
    /* Registered before anything else of the request's, so it runs last: after the response
     * went out and the route's own cleanups ran (they may call into the module). */
    if (dyn_arena_defer(c->arena, release_code, code) != 0)
        act_failf(ACT_ENOMEM, "out of memory holding the web code");
    c->code = code;
    c->routes = code->routes;
    return false;
}

const dyn_templates_t *dyn__web_templates(dyn_conn_t *c)
{
    if (c->code)
        return c->code->web->templates;
    const dyn_web_t *d = c->inst ? c->inst->decl->web : NULL;
    return d && d->endpoint ? d->templates : NULL;
}

const dyn_routes_t *dyn__web_routes(const dyn__inst_t *in, dyn__code_t **hold)
{
    *hold = NULL;
    if (!in->web)
        return in->routes;
    *hold = dyn__code_acquire(&in->web->current);
    return *hold ? (*hold)->routes : NULL;
}

void dyn__web_routes_done(dyn__code_t *hold)
{
    if (hold)
        dyn__code_release(hold);
}

/* ---- tools -------------------------------------------------------------------------------- */

int dyn_reload_info(const char *name, dyn_reload_info_t *out)
{
    dyn__inst_t *in = dyn__inst_find(name);
    if (!in)
        return DYN_ENODYNAMO;
    memset(out, 0, sizeof *out);
    dyn__web_t *w = in->web;
    if (w) {
        uint32_t st = atomic_load_explicit(&w->status, memory_order_acquire);
        out->module = true;
        pthread_mutex_lock(&w->lock);
        out->watching = w->reloader != NULL;
        pthread_mutex_unlock(&w->lock);
        out->building = st & DYN__WEB_PENDING;
        out->failed = st & DYN__WEB_FAILED;
        out->version = atomic_load_explicit(&w->version, memory_order_relaxed);
        out->builds = atomic_load_explicit(&w->builds, memory_order_relaxed);
        out->failures = atomic_load_explicit(&w->failures, memory_order_relaxed);
    }
    dyn__inst_release(in);
    return 0;
}

int dyn_reload(const char *name)
{
    dyn__inst_t *in = dyn__inst_find(name);
    if (!in)
        return DYN_ENODYNAMO;
    int rc = -ENOTSUP;
    dyn__web_t *w = in->web;
    if (w) {
        pthread_mutex_lock(&w->lock);
        if (w->reloader) {
            dyn__reloader_poke(w->reloader);
            rc = 0;
        }
        pthread_mutex_unlock(&w->lock);
    }
    dyn__inst_release(in);
    return rc;
}
