/*
 * Applications (app.h): the catalog of descriptors and environments, and the controller.
 *
 * Two parts, for two kinds of caller:
 * - The catalog (`g`: loaded descriptors, environment overrides, the running list, the death
 *   that stopped the node) is plain data under one mutex, so any thread, a plain actor
 *   included, can read an environment entry or list applications. Nobody blocks while holding
 *   the mutex.
 * - The controller is a fiber actor that starts and stops applications one request at a time
 *   (act_call), runs the start/stop callbacks (so top supervisors are linked to it: it traps
 *   exits) and monitors every top supervisor; a DOWN it did not cause is an application's
 *   death, handled per the application's type. Only the controller writes the running list.
 *
 * Lifetime: the first call after act_system_start registers a stop hook; the hook stops every
 * application through the controller, lets the controller exit, and frees the catalog. Values
 * replaced by act_app_set_env stay allocated until then, so a pointer act_app_env_get returned
 * never dangles while the system runs.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "otp_int.h"

typedef struct {
    char *app, *key, *value;
    bool live; /* false once replaced */
} env_ent_t;

typedef struct {
    const act_app_t *app;
    act_pid_t top;
    act_ref_t mref;
} run_t;

static struct {
    pthread_mutex_t lock;
    bool live; /* the stop hook is registered for the running system */
    const act_app_t **loaded;
    size_t nloaded, caploaded;
    env_ent_t *env;
    size_t nenv, capenv;
    run_t *run; /* in start order; written by the controller only */
    size_t nrun, caprun;
    act_pid_t ctl;
    char death[512];
} g = {.lock = PTHREAD_MUTEX_INITIALIZER};

enum { OP_START, OP_STOP, OP_STOP_ALL };

typedef struct {
    act_msg_t hdr;
    int op;
    char name[];
} app_req_t;

typedef struct {
    act_msg_t hdr;
    int status;
} app_reply_t;

const char *act_app_type_str(act_app_type_t t)
{
    switch (t) {
    case ACT_APP_PERMANENT:
        return "permanent";
    case ACT_APP_TRANSIENT:
        return "transient";
    case ACT_APP_TEMPORARY:
        return "temporary";
    }
    return "?";
}

static bool grow(void **arr, size_t *cap, size_t n, size_t elem)
{
    if (n < *cap)
        return true;
    size_t c = *cap ? *cap * 2 : 8;
    void *p = act_realloc(*arr, c * elem);
    if (!p)
        return false;
    *arr = p;
    *cap = c;
    return true;
}

static void app_on_stop(void *arg);

/* Under g.lock: ready for the running system. */
static int setup_locked(void)
{
    if (!act_system_running())
        return ACT_ENOTRUNNING;
    if (!g.live) {
        int rc = act_system_on_stop(app_on_stop, NULL);
        if (rc)
            return rc;
        g.live = true;
    }
    return 0;
}

/* Under g.lock. */
static const act_app_t *find_loaded(const char *name, size_t *index)
{
    for (size_t i = 0; i < g.nloaded; i++) {
        if (strcmp(g.loaded[i]->name, name) == 0) {
            if (index)
                *index = i;
            return g.loaded[i];
        }
    }
    return NULL;
}

/* Under g.lock. */
static run_t *find_running(const char *name)
{
    for (size_t i = 0; i < g.nrun; i++)
        if (strcmp(g.run[i].app->name, name) == 0)
            return &g.run[i];
    return NULL;
}

/* ---- catalog and environment -------------------------------------------------------------- */

int act_app_load(const act_app_t *app)
{
    if (!app || !app->name || !app->name[0])
        return ACT_EBADARG;
    pthread_mutex_lock(&g.lock);
    int rc = setup_locked();
    const act_app_t *had = rc ? NULL : find_loaded(app->name, NULL);
    if (rc == 0 && had && had != app)
        rc = -EEXIST;
    if (rc == 0 && !had) {
        if (grow((void **)&g.loaded, &g.caploaded, g.nloaded, sizeof *g.loaded))
            g.loaded[g.nloaded++] = app;
        else
            rc = ACT_ENOMEM;
    }
    pthread_mutex_unlock(&g.lock);
    return rc;
}

int act_app_set_env(const char *app, const char *key, const char *value)
{
    if (!app || !key || !value || !app[0] || !key[0])
        return ACT_EBADARG;
    env_ent_t e = {act_strdup(app), act_strdup(key), act_strdup(value), true};
    if (!e.app || !e.key || !e.value) {
        act_free(e.app);
        act_free(e.key);
        act_free(e.value);
        return ACT_ENOMEM;
    }
    pthread_mutex_lock(&g.lock);
    int rc = setup_locked();
    if (rc == 0 && !grow((void **)&g.env, &g.capenv, g.nenv, sizeof *g.env))
        rc = ACT_ENOMEM;
    if (rc == 0) {
        for (size_t i = 0; i < g.nenv; i++)
            if (g.env[i].live && strcmp(g.env[i].app, app) == 0 && strcmp(g.env[i].key, key) == 0)
                g.env[i].live = false;
        g.env[g.nenv++] = e;
    }
    pthread_mutex_unlock(&g.lock);
    if (rc) {
        act_free(e.app);
        act_free(e.key);
        act_free(e.value);
    }
    return rc;
}

const char *act_app_env_get(const char *app, const char *key)
{
    if (!app || !key)
        return NULL;
    const char *v = NULL;
    pthread_mutex_lock(&g.lock);
    for (size_t i = g.nenv; g.live && i-- > 0 && !v;)
        if (g.env[i].live && strcmp(g.env[i].app, app) == 0 && strcmp(g.env[i].key, key) == 0)
            v = g.env[i].value;
    const act_app_t *a = v || !g.live ? NULL : find_loaded(app, NULL);
    for (const act_app_env_t *e = a ? a->env : NULL; e && e->key && !v; e++)
        if (strcmp(e->key, key) == 0)
            v = e->value;
    pthread_mutex_unlock(&g.lock);
    return v;
}

long long act_app_env_int(const char *app, const char *key, long long def)
{
    const char *v = act_app_env_get(app, key);
    if (!v || !*v)
        return def;
    char *end;
    long long n = strtoll(v, &end, 10);
    return *end ? def : n;
}

int act_app_which(act_app_info_t **out, size_t *n)
{
    if (!out || !n)
        return ACT_EBADARG;
    pthread_mutex_lock(&g.lock);
    int rc = g.live ? 0 : ACT_ENOTRUNNING;
    act_app_info_t *a = NULL;
    size_t k = rc ? 0 : g.nrun;
    if (k && !(a = act_malloc(k * sizeof *a)))
        rc = ACT_ENOMEM;
    for (size_t i = 0; rc == 0 && i < k; i++)
        a[i] = (act_app_info_t){g.run[i].app->name, g.run[i].app->version, g.run[i].app->type,
                                g.run[i].top};
    pthread_mutex_unlock(&g.lock);
    *out = rc ? NULL : a;
    *n = rc ? 0 : k;
    return rc;
}

act_pid_t act_app_top(const char *name)
{
    if (!name)
        return ACT_PID_NONE;
    pthread_mutex_lock(&g.lock);
    run_t *r = g.live ? find_running(name) : NULL;
    act_pid_t top = r ? r->top : ACT_PID_NONE;
    pthread_mutex_unlock(&g.lock);
    return top;
}

void act__app_death(char *buf, size_t len)
{
    pthread_mutex_lock(&g.lock);
    snprintf(buf, len, "%s", g.death);
    pthread_mutex_unlock(&g.lock);
}

/* ---- the controller ----------------------------------------------------------------------- */

typedef struct {
    const act_app_t **order;
    size_t n;
    uint8_t *color; /* per loaded index: 0 new, 1 on the path, 2 done */
    size_t *path;
    size_t depth;
    char why[256];
} resolve_t;

/* Under g.lock: depth-first over the dependencies of loaded[i], appending to r->order (deps
 * first) every application that does not run yet. */
static int visit(resolve_t *r, size_t i)
{
    if (r->color[i] == 2)
        return 0;
    if (r->color[i] == 1) {
        size_t at = 0;
        while (r->path[at] != i)
            at++;
        int len = 0;
        for (size_t k = at; k < r->depth && len < (int)sizeof r->why; k++)
            len += snprintf(r->why + len, sizeof r->why - (size_t)len, "%s -> ",
                            g.loaded[r->path[k]]->name);
        if (len < (int)sizeof r->why)
            snprintf(r->why + len, sizeof r->why - (size_t)len, "%s", g.loaded[i]->name);
        return ACT_EDEPCYCLE;
    }
    r->color[i] = 1;
    r->path[r->depth++] = i;
    const act_app_t *a = g.loaded[i];
    for (const char *const *d = a->deps; d && *d; d++) {
        size_t j;
        if (!find_loaded(*d, &j)) {
            snprintf(r->why, sizeof r->why, "%s depends on %s, which is not loaded", a->name, *d);
            return ACT_EDEPMISSING;
        }
        int rc = visit(r, j);
        if (rc)
            return rc;
    }
    r->depth--;
    r->color[i] = 2;
    if (!find_running(a->name))
        r->order[r->n++] = a;
    return 0;
}

/* Stops running entry i (controller only): the top supervisor, then the stop callback. */
static void stop_at(size_t i)
{
    pthread_mutex_lock(&g.lock);
    run_t r = g.run[i];
    memmove(&g.run[i], &g.run[i + 1], (g.nrun - i - 1) * sizeof *g.run);
    g.nrun--;
    pthread_mutex_unlock(&g.lock);
    if (r.top) {
        act_exit(r.top, ACT_SHUTDOWN);
        act__await_down(r.top, r.mref, ACT_INFINITY, NULL);
    }
    if (r.app->stop)
        r.app->stop(r.app);
}

static void stop_all_apps(void)
{
    for (;;) {
        pthread_mutex_lock(&g.lock);
        size_t n = g.nrun;
        pthread_mutex_unlock(&g.lock);
        if (n == 0)
            return;
        stop_at(n - 1);
    }
}

/* Starts app; on failure, *why gets what its top supervisor said (act_start_failure). */
static int start_one(const act_app_t *app, char *why, size_t len)
{
    act_pid_t top = ACT_PID_NONE;
    act__start_failure_set(NULL);
    int rc = app->start ? app->start(app, &top) : 0;
    if (rc) {
        snprintf(why, len, "%s", act_start_failure());
        return rc < 0 ? rc : ACT_ECHILDSTART;
    }
    act_ref_t mref = 0;
    if (top)
        act_monitor(top, &mref);
    pthread_mutex_lock(&g.lock);
    bool ok = grow((void **)&g.run, &g.caprun, g.nrun, sizeof *g.run);
    if (ok)
        g.run[g.nrun++] = (run_t){app, top, mref};
    pthread_mutex_unlock(&g.lock);
    if (!ok) {
        if (top) {
            act_exit(top, ACT_SHUTDOWN);
            act__await_down(top, mref, ACT_INFINITY, NULL);
        }
        return ACT_ENOMEM;
    }
    return 0;
}

static int do_start(const char *name)
{
    pthread_mutex_lock(&g.lock);
    size_t idx;
    int rc = 0;
    resolve_t r = {0};
    if (!find_loaded(name, &idx)) {
        rc = ACT_ENOAPP;
        snprintf(r.why, sizeof r.why, "%s is not loaded", name);
    } else if (find_running(name)) {
        rc = ACT_EAPPSTARTED;
    } else {
        r.order = act_calloc(g.nloaded, sizeof *r.order);
        r.color = act_calloc(g.nloaded, 1);
        r.path = act_calloc(g.nloaded, sizeof *r.path);
        rc = r.order && r.color && r.path ? visit(&r, idx) : ACT_ENOMEM;
    }
    pthread_mutex_unlock(&g.lock);
    act_free(r.color);
    act_free(r.path);
    if (rc) {
        if (rc != ACT_EAPPSTARTED)
            act__report(ACT_REPORT_APP_START, name, ACT_PID_NONE, "", ACT_PID_NONE, rc, r.why, "");
        act_free(r.order);
        return rc;
    }
    size_t started = 0;
    for (; started < r.n; started++) {
        const act_app_t *a = r.order[started];
        char why[ACT_START_FAILURE_MAX + 64] = "";
        rc = start_one(a, why, ACT_START_FAILURE_MAX);
        if (rc == 0)
            continue;
        if (a != r.order[r.n - 1]) {
            size_t len = strlen(why);
            snprintf(why + len, sizeof why - len, "%sneeded by %s", len ? "; " : "", name);
        }
        act__report(ACT_REPORT_APP_START, a->name, ACT_PID_NONE, "", ACT_PID_NONE, rc, why, "");
        /* Stop what this call started, newest first. */
        while (started-- > 0) {
            pthread_mutex_lock(&g.lock);
            size_t i = 0;
            while (i < g.nrun && g.run[i].app != r.order[started])
                i++;
            bool found = i < g.nrun;
            pthread_mutex_unlock(&g.lock);
            if (found)
                stop_at(i);
        }
        break;
    }
    act_free(r.order);
    return rc;
}

static int do_stop(const char *name)
{
    pthread_mutex_lock(&g.lock);
    bool loaded = find_loaded(name, NULL) != NULL;
    run_t *r = find_running(name);
    size_t i = r ? (size_t)(r - g.run) : 0;
    pthread_mutex_unlock(&g.lock);
    if (!r)
        return loaded ? ACT_EAPPNOTSTARTED : ACT_ENOAPP;
    stop_at(i);
    return 0;
}

/* A top supervisor exited by itself: the application died. */
static void app_died(act_ref_t mref, act_down_t *d)
{
    pthread_mutex_lock(&g.lock);
    size_t i = 0;
    while (i < g.nrun && !(g.run[i].top && g.run[i].mref == mref))
        i++;
    run_t r = i < g.nrun ? g.run[i] : (run_t){0};
    if (i < g.nrun) {
        memmove(&g.run[i], &g.run[i + 1], (g.nrun - i - 1) * sizeof *g.run);
        g.nrun--;
    }
    pthread_mutex_unlock(&g.lock);
    if (!r.app)
        return; /* a monitor we no longer care about */
    act_app_type_t t = r.app->type;
    bool fatal = t == ACT_APP_PERMANENT || (t == ACT_APP_TRANSIENT && d->reason != ACT_NORMAL);
    const char *action = fatal ? (t == ACT_APP_PERMANENT ? "permanent: stopping the node"
                                                         : "transient: stopping the node")
                               : (t == ACT_APP_TRANSIENT ? "transient, normal exit: no action"
                                                         : "temporary: no action");
    act__report(ACT_REPORT_APP_EXIT, r.app->name, ACT_PID_NONE, "", d->pid, d->reason, d->text,
                action);
    if (r.app->stop)
        r.app->stop(r.app);
    if (!fatal)
        return;
    char why[160];
    act__reason_text(d->reason, why, sizeof why);
    pthread_mutex_lock(&g.lock);
    snprintf(g.death, sizeof g.death, "%s application %s exited: %s%s%s", act_app_type_str(t),
             r.app->name, why, d->text[0] ? ": " : "", d->text);
    pthread_mutex_unlock(&g.lock);
    /* As OTP: every other application stops, then the node. */
    stop_all_apps();
    act_system_request_stop(ACT_NODE_EXIT_APP_DIED);
}

/* The message the controller handles, freed by ctl_on_exit if a kill cuts the handling
 * short. Only the controller touches it (one controller at a time; a new system's controller
 * starts after the old one's threads were joined). The controller's frame cannot hold it: a
 * kill unwinds that frame before the exit callback runs. */
static act_msg_t *ctl_cur;

/* A start request answered with ctl_cur's result (answer_waiting_starts), held the same way. */
static act_msg_t *ctl_also;

static void ctl_on_exit(void *arg, int reason)
{
    (void)arg;
    (void)reason;
    act_msg_free(ctl_cur);
    act_msg_free(ctl_also);
    ctl_cur = ctl_also = NULL;
}

static bool match_start_of(const act_msg_t *m, void *arg)
{
    return m->type == ACT__MSG_APP_REQ && ((const app_req_t *)m)->op == OP_START &&
           strcmp(((const app_req_t *)m)->name, (const char *)arg) == 0;
}

static void reply_status(act_msg_t *req, int rc)
{
    app_reply_t *r = act_msg_new(app_reply_t, ACT__MSG_APP_REPLY);
    r->status = rc;
    act_reply(req, &r->hdr);
}

/* The starts of `name` requested while it was starting get the same answer, before the one
 * that started it (so none of them can ask again meanwhile), as OTP's controller answers every
 * process that asked during the start (OTP-2973): ok to all, or the same error. A start asked
 * for after that finds it running (ACT_EAPPSTARTED). */
static void answer_waiting_starts(const char *name, int rc)
{
    while (act_receive(match_start_of, (void *)name, 0, &ctl_also) == 0) {
        reply_status(ctl_also, rc);
        act_msg_free(ctl_also);
        ctl_also = NULL;
    }
}

static void ctl_main(void *arg)
{
    (void)arg;
    act_fiber_on_exit(ctl_on_exit, NULL);
    for (;;) {
        act_msg_t *m;
        act_receive(NULL, NULL, ACT_INFINITY, &m);
        ctl_cur = m;
        if (m->type == ACT__MSG_APP_QUIT)
            return; /* ctl_on_exit frees m */
        if (m->type == ACT__MSG_APP_REQ) {
            app_req_t *q = (app_req_t *)m;
            int rc = q->op == OP_START  ? do_start(q->name)
                     : q->op == OP_STOP ? do_stop(q->name)
                                        : (stop_all_apps(), 0);
            if (q->op == OP_START && rc != ACT_EAPPSTARTED)
                answer_waiting_starts(q->name, rc);
            reply_status(m, rc);
        } else if (m->type == ACT_MSG_DOWN) {
            app_died(m->ref, (act_down_t *)m);
        }
        ctl_cur = NULL;
        act_msg_free(m); /* EXITs from top supervisors (links) and strays too */
    }
}

/* The controller's pid, spawning it on first use. */
static int controller(act_pid_t *out)
{
    pthread_mutex_lock(&g.lock);
    int rc = setup_locked();
    if (rc == 0 && !g.ctl) {
        act_spawn_opts_t o = {.fiber = ctl_main, .trap_exit = true};
        rc = act_spawn(&o, &g.ctl);
    }
    *out = g.ctl;
    pthread_mutex_unlock(&g.lock);
    return rc;
}

static int ctl_call(int op, const char *name)
{
    if (!act__can_wait())
        return act_system_running() ? ACT_ENOTFIBER : ACT_ENOTRUNNING;
    act_pid_t ctl;
    int rc = controller(&ctl);
    if (rc)
        return rc;
    if (ctl == act_self())
        return -EDEADLK; /* from a start or stop callback: it would wait for itself */
    size_t len = name ? strlen(name) : 0;
    app_req_t *q = (app_req_t *)act_msg_alloc(sizeof(app_req_t) + len + 1, ACT__MSG_APP_REQ);
    q->op = op;
    memcpy(q->name, name ? name : "", len + 1);
    act_msg_t *r;
    rc = act_call(ctl, &q->hdr, ACT_INFINITY, &r, NULL);
    if (rc)
        return rc;
    rc = ((app_reply_t *)r)->status;
    act_msg_free(r);
    return rc;
}

int act_app_start(const char *name, const act_app_env_t *env)
{
    if (!name || !name[0])
        return ACT_EBADARG;
    for (const act_app_env_t *e = env; e && e->key; e++) {
        int rc = act_app_set_env(name, e->key, e->value);
        if (rc)
            return rc;
    }
    return ctl_call(OP_START, name);
}

int act_app_stop(const char *name)
{
    return name && name[0] ? ctl_call(OP_STOP, name) : ACT_EBADARG;
}

int act_app_stop_all(void)
{
    return ctl_call(OP_STOP_ALL, NULL);
}

static void app_on_stop(void *arg)
{
    (void)arg;
    pthread_mutex_lock(&g.lock);
    act_pid_t ctl = g.ctl;
    pthread_mutex_unlock(&g.lock);
    if (ctl) {
        ctl_call(OP_STOP_ALL, NULL);
        act_ref_t mref;
        act_monitor(ctl, &mref);
        act_send(ctl, act_msg_alloc(sizeof(act_msg_t), ACT__MSG_APP_QUIT));
        act__await_down(ctl, mref, ACT_INFINITY, NULL);
    }
    pthread_mutex_lock(&g.lock);
    for (size_t i = 0; i < g.nenv; i++) {
        act_free(g.env[i].app);
        act_free(g.env[i].key);
        act_free(g.env[i].value);
    }
    act_free(g.env);
    act_free(g.loaded);
    act_free(g.run);
    g.env = NULL;
    g.loaded = NULL;
    g.run = NULL;
    g.nenv = g.capenv = g.nloaded = g.caploaded = g.nrun = g.caprun = 0;
    g.ctl = ACT_PID_NONE;
    g.death[0] = '\0';
    g.live = false;
    pthread_mutex_unlock(&g.lock);
}

/* ---- dump -------------------------------------------------------------------------------- */

static bool append(char **buf, size_t *len, size_t *cap, const char *s)
{
    size_t n = strlen(s);
    if (*len + n + 1 > *cap) {
        size_t c = *cap ? *cap : 1024;
        while (c < *len + n + 1)
            c *= 2;
        char *b = act_realloc(*buf, c);
        if (!b)
            return false;
        *buf = b;
        *cap = c;
    }
    memcpy(*buf + *len, s, n + 1);
    *len += n;
    return true;
}

int act_app_dump(char **text)
{
    if (!text)
        return ACT_EBADARG;
    act_app_info_t *apps;
    size_t n;
    int rc = act_app_which(&apps, &n);
    if (rc)
        return rc;
    char *buf = NULL;
    size_t len = 0, cap = 0;
    bool ok = append(&buf, &len, &cap, "");
    for (size_t i = 0; ok && i < n; i++) {
        char line[256], ps[ACT_PID_STRLEN];
        snprintf(line, sizeof line, "application %s %s %s top=%s\n", apps[i].name,
                 apps[i].version ? apps[i].version : "-", act_app_type_str(apps[i].type),
                 apps[i].top ? act_pid_str(apps[i].top, ps) : "-");
        ok = append(&buf, &len, &cap, line);
        char *tree = NULL;
        if (!ok || !apps[i].top || act_sup_dump(apps[i].top, &tree) != 0)
            continue;
        /* Indent the tree under its application. */
        for (char *l = tree; ok && *l;) {
            char *nl = strchr(l, '\n');
            size_t ll = nl ? (size_t)(nl - l) + 1 : strlen(l);
            char one[600];
            snprintf(one, sizeof one, "  %.*s", (int)ll, l);
            ok = append(&buf, &len, &cap, one);
            l += ll;
        }
        act_free(tree);
    }
    act_free(apps);
    if (!ok) {
        act_free(buf);
        return ACT_ENOMEM;
    }
    *text = buf;
    return 0;
}
