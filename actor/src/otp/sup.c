/*
 * Supervisors (sup.h): a fiber actor that traps exits, per sup.h's rules.
 *
 * Why a fiber: starting a child waits for its acknowledgement and stopping one waits for its
 * exit (with a timeout), and OTP's supervisor does both in line; as a fiber the code reads the
 * same. Everything it owns is on the heap behind one sup_t, freed by act_fiber_on_exit's
 * callback, so a supervisor killed in the middle of a wait leaks nothing.
 *
 * State. Static children are an array of child_t pointers in start order (the spec copied
 * after each child_t, the id after the spec: one block per child). Dynamic children are one
 * small child_t each, sharing the template spec. `bypid` maps every running child's pid to its
 * child_t, so an EXIT finds its child in O(1) whatever the kind; an EXIT from a pid not in it is
 * stale (a child already stopped or replaced) and ignored.
 *
 * Restarts. A restart first counts against the intensity (add_restart: a ring of the last
 * max_restarts times, or 64 buckets above ACT_SUP_RING_MAX), then follows the strategy. The
 * children to start are flagged `pending` and start_pending starts them in order; if a start
 * fails, that counts as one more restart and the supervisor sends itself a RETRY message, so
 * calls and exits queued meanwhile are served between attempts (OTP's try_again_restart). A
 * retry goes on where the failure stopped, except under one_for_all, whose retry restarts the
 * whole group again (the children that did start are stopped first), as OTP does. A pending
 * child is "restarting": which_children says so, and restart_child and delete_child refuse it
 * (ACT_ERESTARTING) while terminate_child takes it out of the loop. Dynamic children waiting
 * for a retry sit on `retry`, with the pid they exited with, which terminate_pid accepts.
 *
 * Stopping a child (stop_child): monitor it, send the exit signal, wait for the DOWN (dropping
 * the link's EXIT that precedes it), kill after the timeout. Dynamic children are stopped all
 * at once (stop_dynamic): every signal first, then one wait for all the DOWNs.
 *
 * Calls (which_children...) are act_call requests answered with act_reply; every reply carries
 * its data inline, so a reply dropped after a caller's timeout frees everything with it.
 */
#include <stdio.h>
#include <string.h>

#include "sup_int.h"

#include "map_int.h"

#define BUCKETS 64

typedef struct child child_t;
struct child {
    const act_child_spec_t *spec; /* static: the copy after this struct; dynamic: &sup->tmpl */
    act_pid_t pid;                /* ACT_PID_NONE when not running */
    uint32_t restarts;
    bool pending;        /* restarting: to be started again (start_pending, retry_dynamic) */
    int sched;           /* dynamic: where it runs */
    void *extra;         /* dynamic: act_sup_start_child's argument */
    child_t *next_retry; /* dynamic: on sup->retry, waiting for a restart retry */
    act_pid_t old_pid;   /* dynamic, on sup->retry: the pid that exited */
};

typedef struct sup {
    child_t *starting; /* a dynamic child whose start function runs (it may block, and the
                               supervisor may be killed meanwhile: sup_free frees it) */
    act_pid_t self;
    act_pid_t parent;
    char *name;
    bool register_name;
    act_strategy_t strategy;
    int max_r;
    int max_s;
    int64_t period_ms;
    size_t max_children;
    child_t **kids; /* static children in start order */
    size_t nkids, capkids;
    act_child_spec_t tmpl; /* dynamic: the template (id owned) */
    size_t ndyn;           /* dynamic children, running or waiting for a retry */
    child_t *retry;        /* dynamic children waiting for a retry */
    act__map_t bypid;      /* running child pid -> child_t * */
    act__map_t stop_refs;  /* stop_dynamic's monitors (here: a kill while it waits frees them) */
    bool retry_queued;     /* a RETRY message is on its way */
    act_msg_t *cur;        /* the message being handled (freed by on_exit if we fail) */
    /* Intensity: the last max_r restart times, oldest at ring[ring_pos] once full... */
    int64_t *ring;
    uint32_t ring_n, ring_pos;
    /* ... or, when max_r > ACT_SUP_RING_MAX, counts per bucket of bucket_w ms. */
    int64_t bucket_w;
    int64_t bucket_id[BUCKETS];
    uint32_t bucket_n[BUCKETS];
} sup_t;

/* ---- building and freeing ---------------------------------------------------------------- */

static bool spec_ok(const act_child_spec_t *c)
{
    return c->start && (unsigned)c->restart <= ACT_TEMPORARY &&
           (unsigned)c->type <= ACT_SUPERVISOR && c->shutdown >= ACT_SHUTDOWN_BRUTAL_KILL;
}

/* One block: child_t, its spec copy, the id. */
static child_t *child_new(const act_child_spec_t *spec)
{
    size_t idlen = strlen(spec->id);
    child_t *c = act_calloc(1, sizeof(child_t) + sizeof(act_child_spec_t) + idlen + 1);
    if (!c)
        return NULL;
    act_child_spec_t *copy = (act_child_spec_t *)(c + 1);
    char *id = (char *)(copy + 1);
    memcpy(id, spec->id, idlen + 1);
    *copy = *spec;
    copy->id = id;
    c->spec = copy;
    return c;
}

static void sup_free(sup_t *s)
{
    for (size_t i = 0; i < s->nkids; i++)
        act_free(s->kids[i]);
    act_free(s->kids);
    if (s->strategy == ACT_SIMPLE_ONE_FOR_ONE) {
        uint64_t k, v;
        for (uint32_t i = 0; act__map_next(&s->bypid, &i, &k, &v);)
            act_free((child_t *)(uintptr_t)v);
        while (s->retry) {
            child_t *next = s->retry->next_retry;
            act_free(s->retry);
            s->retry = next;
        }
    }
    act_free(s->starting);
    act__map_deinit(&s->bypid);
    act__map_deinit(&s->stop_refs);
    act_free((char *)s->tmpl.id);
    act_free(s->ring);
    act_free(s->name);
    act_free(s);
}

static child_t *find_id(sup_t *s, const char *id, size_t *index)
{
    for (size_t i = 0; i < s->nkids; i++) {
        if (strcmp(s->kids[i]->spec->id, id) == 0) {
            if (index)
                *index = i;
            return s->kids[i];
        }
    }
    return NULL;
}

static int kids_append(sup_t *s, child_t *c)
{
    if (s->nkids == s->capkids) {
        size_t cap = s->capkids ? s->capkids * 2 : 4;
        child_t **k = act_realloc(s->kids, cap * sizeof *k);
        if (!k)
            return ACT_ENOMEM;
        s->kids = k;
        s->capkids = cap;
    }
    s->kids[s->nkids++] = c;
    return 0;
}

static void kids_remove(sup_t *s, size_t i)
{
    act_free(s->kids[i]);
    memmove(&s->kids[i], &s->kids[i + 1], (s->nkids - i - 1) * sizeof *s->kids);
    s->nkids--;
}

/* Validates spec and builds the supervisor's state (before the spawn, on the caller's side,
 * so the caller's spec may live on its stack). */
static int sup_new(const act_sup_spec_t *spec, sup_t **out)
{
    /* An intensity needs a period (OTP's invalid_period); both 0 means the defaults. */
    if (!spec || (unsigned)spec->strategy > ACT_SIMPLE_ONE_FOR_ONE || spec->max_restarts < 0 ||
        spec->max_seconds < 0 || (spec->max_restarts > 0 && spec->max_seconds == 0) ||
        (spec->nchildren && !spec->children) ||
        (spec->register_name && (!spec->name || !spec->name[0])))
        return ACT_EBADARG;
    bool dynamic = spec->strategy == ACT_SIMPLE_ONE_FOR_ONE;
    if (dynamic && spec->nchildren != 1)
        return ACT_EBADARG;
    for (size_t i = 0; i < spec->nchildren; i++) {
        const act_child_spec_t *c = &spec->children[i];
        if (!spec_ok(c) || !c->id || (!dynamic && !c->id[0]))
            return ACT_EBADARG;
        for (size_t j = 0; j < i && !dynamic; j++)
            if (strcmp(spec->children[j].id, c->id) == 0)
                return ACT_EBADARG;
    }
    sup_t *s = act_calloc(1, sizeof *s);
    if (!s)
        return ACT_ENOMEM;
    s->strategy = spec->strategy;
    s->register_name = spec->register_name;
    s->max_children = spec->max_children;
    s->max_r = spec->max_restarts;
    s->max_s = spec->max_seconds;
    if (s->max_r == 0 && s->max_s == 0) {
        s->max_r = 3;
        s->max_s = 5;
    }
    s->period_ms = (int64_t)s->max_s * 1000;
    s->name = act_strdup(spec->name ? spec->name : "supervisor");
    int rc = s->name ? 0 : ACT_ENOMEM;
    if (rc == 0 && s->max_r > 0 && s->max_r <= ACT_SUP_RING_MAX) {
        if (!(s->ring = act_calloc((size_t)s->max_r, sizeof *s->ring)))
            rc = ACT_ENOMEM;
    } else if (rc == 0) {
        s->bucket_w = s->period_ms / BUCKETS + 1;
        for (int i = 0; i < BUCKETS; i++)
            s->bucket_id[i] = INT64_MIN;
    }
    if (rc == 0 && dynamic) {
        s->tmpl = spec->children[0];
        if (!(s->tmpl.id = act_strdup(spec->children[0].id)))
            rc = ACT_ENOMEM;
    }
    for (size_t i = 0; rc == 0 && !dynamic && i < spec->nchildren; i++) {
        child_t *c = child_new(&spec->children[i]);
        if (!c || kids_append(s, c) != 0) {
            act_free(c);
            rc = ACT_ENOMEM;
        }
    }
    if (rc) {
        sup_free(s);
        return rc;
    }
    *out = s;
    return 0;
}

/* ---- intensity --------------------------------------------------------------------------- */

/* Counts one restart now; false if that makes more than max_r within the period. */
static bool add_restart(sup_t *s)
{
    if (s->max_r == 0)
        return false;
    int64_t now = act_now_ms();
    if (s->ring) {
        uint32_t max = (uint32_t)s->max_r;
        if (s->ring_n < max) {
            s->ring[s->ring_n++] = now;
            return true;
        }
        if (now - s->ring[s->ring_pos] < s->period_ms)
            return false;
        s->ring[s->ring_pos] = now;
        s->ring_pos = (s->ring_pos + 1) % max;
        return true;
    }
    /* Buckets: the window is the current bucket and the 63 before it. */
    int64_t b = now / s->bucket_w;
    uint64_t total = 0;
    for (int i = 0; i < BUCKETS; i++)
        if (s->bucket_id[i] > b - BUCKETS)
            total += s->bucket_n[i];
    if (total >= (uint64_t)s->max_r)
        return false;
    int slot = (int)(b % BUCKETS);
    if (s->bucket_id[slot] != b) {
        s->bucket_id[slot] = b;
        s->bucket_n[slot] = 0;
    }
    s->bucket_n[slot]++;
    return true;
}

/* ---- starting and stopping children ------------------------------------------------------- */

static int64_t shutdown_of(const act_child_spec_t *spec)
{
    if (spec->shutdown != 0)
        return spec->shutdown;
    return spec->type == ACT_SUPERVISOR ? ACT_INFINITY : ACT_SHUTDOWN_DEFAULT_MS;
}

/* Starts c. Returns 0 (c->pid is ACT_PID_NONE if the start function ignored it) or the start
 * function's error, as it gave it (a server's init may stop with a positive reason). */
static int start_child(sup_t *s, child_t *c)
{
    act_child_start_t cs = {
        .spec = c->spec, .arg = c->spec->arg, .extra = c->extra, .sched = c->sched};
    act_pid_t pid = ACT_PID_NONE;
    act__start_failure_set(NULL); /* a start function that fails without waiting says nothing */
    int rc = c->spec->start(&cs, &pid);
    if (rc)
        return rc;
    c->pending = false;
    if (pid == ACT_PID_NONE)
        return 0; /* ignored */
    if (act__map_put(&s->bypid, pid, (uintptr_t)c) != 0) {
        act_unlink(pid);
        act_exit(pid, ACT_KILL);
        return ACT_ENOMEM;
    }
    c->pid = pid;
    return 0;
}

/* Stops one running child with its shutdown policy and waits for it. */
static void stop_child(sup_t *s, child_t *c)
{
    act_pid_t pid = c->pid;
    if (!pid)
        return;
    act__map_del(&s->bypid, pid, NULL);
    c->pid = ACT_PID_NONE;
    act_ref_t mref;
    act_monitor(pid, &mref);
    int64_t sd = shutdown_of(c->spec);
    if (sd == ACT_SHUTDOWN_BRUTAL_KILL) {
        act_exit(pid, ACT_KILL);
        act__await_down(pid, mref, ACT_INFINITY, NULL);
        return;
    }
    act_exit(pid, ACT_SHUTDOWN);
    if (act__await_down(pid, mref, sd, NULL) == 0)
        return;
    if (act__report_on()) {
        char after[48];
        snprintf(after, sizeof after, "%lld ms", (long long)sd);
        act__report(ACT_REPORT_SHUTDOWN_KILL, s->name, s->self, c->spec->id, pid, ACT_KILLED, "",
                    after);
    }
    act_exit(pid, ACT_KILL);
    act__await_down(pid, mref, ACT_INFINITY, NULL);
}

typedef struct {
    sup_t *s;
    act__map_t *refs;
} dyn_wait_t;

static bool match_dyn_down(const act_msg_t *m, void *arg)
{
    const dyn_wait_t *w = arg;
    if (m->type == ACT_MSG_DOWN)
        return act__map_get(w->refs, m->ref, NULL);
    return m->type == ACT_MSG_EXIT &&
           act__map_get(&w->s->bypid, ((const act_down_t *)m)->pid, NULL);
}

/* Stops every dynamic child at once: all the signals first, then one wait for all. */
static void stop_dynamic(sup_t *s)
{
    /* In s, not on this fiber's stack: the supervisor may be killed while it waits below, and
     * sup_free must then free the map's arrays. */
    act__map_t *refs = &s->stop_refs;
    act__map_deinit(refs);
    int64_t sd = shutdown_of(&s->tmpl);
    uint64_t k, v;
    for (uint32_t i = 0; act__map_next(&s->bypid, &i, &k, &v);) {
        act_ref_t mref;
        act_monitor(k, &mref);
        if (act__map_put(refs, mref, k) != 0)
            act_fatal("supervisor: out of memory while stopping children");
        act_exit(k, sd == ACT_SHUTDOWN_BRUTAL_KILL ? ACT_KILL : ACT_SHUTDOWN);
    }
    dyn_wait_t w = {s, refs};
    int64_t deadline = sd >= 0 ? act_now_ms() + sd : -1;
    bool killed = false;
    while (refs->len > 0) {
        int64_t left = ACT_INFINITY;
        if (deadline >= 0 && !killed)
            left = deadline > act_now_ms() ? deadline - act_now_ms() : 0;
        act_msg_t *m;
        if (act_receive(match_dyn_down, &w, left, &m) == 0) {
            if (m->type == ACT_MSG_DOWN)
                act__map_del(refs, m->ref, NULL);
            act_msg_free(m);
            continue;
        }
        /* Timed out: kill whoever is left, then wait for ever. */
        char after[64];
        snprintf(after, sizeof after, "%lld ms; %u children", (long long)sd, refs->len);
        act__report(ACT_REPORT_SHUTDOWN_KILL, s->name, s->self, s->tmpl.id, ACT_PID_NONE,
                    ACT_KILLED, "", after);
        for (uint32_t i = 0; act__map_next(refs, &i, &k, &v);)
            act_exit(v, ACT_KILL);
        killed = true;
    }
    act__map_deinit(refs);
    for (uint32_t i = 0; act__map_next(&s->bypid, &i, &k, &v);)
        act_free((child_t *)(uintptr_t)v);
    act__map_deinit(&s->bypid);
    while (s->retry) {
        child_t *next = s->retry->next_retry;
        act_free(s->retry);
        s->retry = next;
    }
    s->ndyn = 0;
}

/* Stops all children: static ones in reverse start order, dynamic ones at once. */
static void stop_all(sup_t *s)
{
    if (s->strategy == ACT_SIMPLE_ONE_FOR_ONE) {
        stop_dynamic(s);
        return;
    }
    for (size_t i = s->nkids; i-- > 0;) {
        s->kids[i]->pending = false;
        stop_child(s, s->kids[i]);
    }
}

static __attribute__((noreturn)) void give_up(sup_t *s, const char *id, act_pid_t pid, int reason,
                                              const char *text)
{
    char why[96], rs[160];
    snprintf(why, sizeof why, "reached max restart intensity (%d restarts in %d s)", s->max_r,
             s->max_s);
    act__report(ACT_REPORT_GAVE_UP, s->name, s->self, id, pid, reason, text, why);
    act__reason_text(reason, rs, sizeof rs);
    char ps[ACT_PID_STRLEN];
    /* Copy what the failure text needs: stop_all frees the children (id included). */
    char idbuf[128], textbuf[256];
    snprintf(idbuf, sizeof idbuf, "%s", id);
    snprintf(textbuf, sizeof textbuf, "%s", text ? text : "");
    stop_all(s);
    act_failf(ACT_SHUTDOWN, "%s; last exit: child %s %s: %s%s%s", why, idbuf, act_pid_str(pid, ps),
              rs, textbuf[0] ? ": " : "", textbuf);
}

static void queue_retry(sup_t *s)
{
    if (s->retry_queued)
        return;
    s->retry_queued = true;
    act_send(s->self, act_msg_alloc(sizeof(act_msg_t), ACT__MSG_SUP_RETRY));
}

/* Reports a child's failed start, right after it (act_start_failure() is its text). */
static void report_start_failed(sup_t *s, const char *id, int rc, const char *action)
{
    act__report(ACT_REPORT_START_FAILED, s->name, s->self, id, ACT_PID_NONE, rc,
                act_start_failure(), action);
}

/* Starts the pending static children in order; a failure counts as a restart and is retried
 * later. */
static void start_pending(sup_t *s)
{
    for (size_t i = 0; i < s->nkids; i++) {
        child_t *c = s->kids[i];
        if (!c->pending)
            continue;
        int rc = start_child(s, c);
        if (rc == 0) {
            c->restarts++;
            continue;
        }
        c->pending = true;
        report_start_failed(s, c->spec->id, rc, "will retry");
        if (!add_restart(s))
            give_up(s, c->spec->id, ACT_PID_NONE, rc, "failed to restart");
        queue_retry(s);
        return;
    }
}

/* Restarts the dynamic children waiting for a retry. */
static void retry_dynamic(sup_t *s)
{
    while (s->retry) {
        child_t *c = s->retry;
        int rc = start_child(s, c);
        if (rc == 0) {
            s->retry = c->next_retry;
            c->restarts++;
            if (c->pid == ACT_PID_NONE) { /* ignored this time: forget it */
                act_free(c);
                s->ndyn--;
            }
            continue;
        }
        report_start_failed(s, s->tmpl.id, rc, "will retry");
        if (!add_restart(s))
            give_up(s, s->tmpl.id, ACT_PID_NONE, rc, "failed to restart");
        queue_retry(s);
        return;
    }
}

/* Stops the running children from index `from` on, in reverse order, forgetting the temporary
 * ones (OTP keeps no start arguments for them), and flags every child from `from` on for
 * start_pending: one_for_all (from 0) and rest_for_one (from the child that exited). */
static void restart_group(sup_t *s, size_t from)
{
    for (size_t i = s->nkids; i-- > from;) {
        child_t *k = s->kids[i];
        if (k->pid == ACT_PID_NONE)
            continue;
        stop_child(s, k);
        if (k->spec->restart == ACT_TEMPORARY)
            kids_remove(s, i);
    }
    for (size_t i = from; i < s->nkids; i++)
        s->kids[i]->pending = true;
}

/* The static child in a restart loop: the first pending one, whose start failed. The pending
 * children after it wait for it and are not running, as OTP shows them (undefined). */
static const child_t *restarting_child(const sup_t *s)
{
    for (size_t i = 0; i < s->nkids; i++)
        if (s->kids[i]->pending)
            return s->kids[i];
    return NULL;
}

static bool any_pending(const sup_t *s)
{
    for (size_t i = 0; i < s->nkids; i++)
        if (s->kids[i]->pending)
            return true;
    return false;
}

/* Forgets child c (not running). */
static void forget(sup_t *s, child_t *c)
{
    if (s->strategy == ACT_SIMPLE_ONE_FOR_ONE) {
        act_free(c);
        s->ndyn--;
        return;
    }
    for (size_t i = 0; i < s->nkids; i++) {
        if (s->kids[i] == c) {
            kids_remove(s, i);
            return;
        }
    }
}

static void child_exited(sup_t *s, child_t *c, int reason, const char *text)
{
    act_pid_t pid = c->pid;
    act__map_del(&s->bypid, pid, NULL);
    c->pid = ACT_PID_NONE;
    bool abnormal = reason != ACT_NORMAL && reason != ACT_SHUTDOWN;
    act_restart_t rt = c->spec->restart;
    if (rt == ACT_TEMPORARY || (rt == ACT_TRANSIENT && !abnormal)) {
        if (abnormal)
            act__report(ACT_REPORT_CHILD_EXIT, s->name, s->self, c->spec->id, pid, reason, text,
                        "temporary: not restarted");
        if (rt == ACT_TEMPORARY || s->strategy == ACT_SIMPLE_ONE_FOR_ONE)
            forget(s, c);
        return;
    }
    if (!add_restart(s)) {
        const char *id = c->spec->id;
        if (s->strategy == ACT_SIMPLE_ONE_FOR_ONE)
            forget(s, c); /* held by no map or list any more (its id is the template's) */
        give_up(s, id, pid, reason, text);
    }
    if (abnormal)
        act__report(ACT_REPORT_CHILD_EXIT, s->name, s->self, c->spec->id, pid, reason, text,
                    "restarting");
    if (s->strategy == ACT_SIMPLE_ONE_FOR_ONE) {
        c->old_pid = pid;
        c->pending = true;
        c->next_retry = s->retry;
        s->retry = c;
        retry_dynamic(s);
        return;
    }
    size_t from = 0;
    if (s->strategy == ACT_ONE_FOR_ONE) {
        c->pending = true;
        start_pending(s);
        return;
    }
    if (s->strategy == ACT_REST_FOR_ONE)
        while (s->kids[from] != c)
            from++;
    restart_group(s, from);
    start_pending(s);
}

/* ---- requests ---------------------------------------------------------------------------- */

static act__sup_reply_t *reply_new(size_t data)
{
    act__sup_reply_t *r =
        (act__sup_reply_t *)act_msg_alloc(sizeof(act__sup_reply_t) + data, ACT__MSG_SUP_REPLY);
    memset((char *)r + sizeof(act_msg_t), 0, sizeof(act__sup_reply_t) - sizeof(act_msg_t));
    r->size = data;
    return r;
}

/* which_children's answer: static children newest first, as OTP lists them; dynamic ones in
 * no order, running, then restarting. */
static act__sup_reply_t *which_reply(sup_t *s)
{
    bool dynamic = s->strategy == ACT_SIMPLE_ONE_FOR_ONE;
    size_t n = dynamic ? s->bypid.len : s->nkids;
    for (child_t *c = s->retry; dynamic && c; c = c->next_retry)
        n++;
    size_t strings = strlen(s->name) + 1;
    if (dynamic)
        strings += strlen(s->tmpl.id) + 1;
    else
        for (size_t i = 0; i < n; i++)
            strings += strlen(s->kids[i]->spec->id) + 1;
    size_t head = n * sizeof(act__sup_child_t);
    act__sup_reply_t *r = reply_new(head + strings);
    act__sup_child_t *w = (act__sup_child_t *)r->data;
    char *str = (char *)r->data + head;
    size_t off = head;
#define PUT_STRING(sv, out_off)                                                                    \
    do {                                                                                           \
        size_t len_ = strlen(sv) + 1;                                                              \
        memcpy(str, (sv), len_);                                                                   \
        (out_off) = off;                                                                           \
        str += len_;                                                                               \
        off += len_;                                                                               \
    } while (0)
    PUT_STRING(s->name, r->name_off);
    r->strategy = s->strategy;
    r->n = n;
    if (dynamic) {
        size_t tid;
        PUT_STRING(s->tmpl.id, tid);
        uint64_t k, v;
        size_t i = 0;
        for (uint32_t it = 0; act__map_next(&s->bypid, &it, &k, &v);) {
            child_t *c = (child_t *)(uintptr_t)v;
            w[i++] =
                (act__sup_child_t){tid, c->pid, s->tmpl.type, s->tmpl.restart, c->restarts, false};
        }
        for (child_t *c = s->retry; c; c = c->next_retry)
            w[i++] = (act__sup_child_t){tid,         ACT_PID_NONE, s->tmpl.type, s->tmpl.restart,
                                        c->restarts, true};
    } else {
        const child_t *looping = restarting_child(s);
        for (size_t i = 0; i < n; i++) {
            child_t *c = s->kids[n - 1 - i];
            w[i] = (act__sup_child_t){0,           c->pid,      c->spec->type, c->spec->restart,
                                      c->restarts, c == looping};
            PUT_STRING(c->spec->id, w[i].id_off);
        }
    }
#undef PUT_STRING
    return r;
}

static void count(sup_t *s, act_child_counts_t *k)
{
    *k = (act_child_counts_t){0};
    if (s->strategy == ACT_SIMPLE_ONE_FOR_ONE) {
        k->specs = 1; /* the template, as OTP counts it */
        k->active = s->bypid.len;
        if (s->tmpl.type == ACT_SUPERVISOR)
            k->supervisors = s->ndyn;
        else
            k->workers = s->ndyn;
        return;
    }
    k->specs = s->nkids;
    k->active = s->bypid.len;
    for (size_t i = 0; i < s->nkids; i++) {
        if (s->kids[i]->spec->type == ACT_SUPERVISOR)
            k->supervisors++;
        else
            k->workers++;
    }
}

static int dyn_start(sup_t *s, void *extra, int sched, act_pid_t *out)
{
    *out = ACT_PID_NONE;
    if (s->strategy != ACT_SIMPLE_ONE_FOR_ONE)
        return ACT_ENOTSUP;
    if (s->max_children && s->ndyn >= s->max_children)
        return ACT_EMAXCHILDREN;
    child_t *c = act_calloc(1, sizeof *c);
    if (!c)
        return ACT_ENOMEM;
    c->spec = &s->tmpl;
    c->extra = extra;
    c->sched = sched;
    s->starting = c;
    int rc = start_child(s, c);
    s->starting = NULL;
    if (rc || c->pid == ACT_PID_NONE) {
        act_free(c);
        return rc;
    }
    s->ndyn++;
    *out = c->pid;
    return 0;
}

static int static_add(sup_t *s, const act_child_spec_t *spec, act_pid_t *out)
{
    if (s->strategy == ACT_SIMPLE_ONE_FOR_ONE)
        return ACT_ENOTSUP;
    if (!spec_ok(spec) || !spec->id || !spec->id[0])
        return ACT_EBADARG;
    const child_t *had = find_id(s, spec->id, NULL);
    if (had) {
        /* OTP's {error, {already_started, Pid}} and {error, already_present}. */
        *out = had->pid;
        return had->pid ? ACT_ECHILDRUNNING : ACT_ECHILDEXISTS;
    }
    child_t *c = child_new(spec);
    if (!c)
        return ACT_ENOMEM;
    if (kids_append(s, c) != 0) {
        act_free(c);
        return ACT_ENOMEM;
    }
    int rc = start_child(s, c);
    *out = c->pid;
    /* A failed start leaves no spec; nor does an ignored temporary child (OTP keeps no start
     * arguments for temporary children, so it could never start again). */
    if (rc || (c->pid == ACT_PID_NONE && c->spec->restart == ACT_TEMPORARY))
        kids_remove(s, s->nkids - 1);
    return rc;
}

static int static_op(sup_t *s, int op, const char *id, act_pid_t *out)
{
    if (s->strategy == ACT_SIMPLE_ONE_FOR_ONE)
        return ACT_ENOTSUP;
    size_t i;
    child_t *c = find_id(s, id, &i);
    if (!c)
        return ACT_ENOCHILD;
    bool looping = c == restarting_child(s);
    switch (op) {
    case ACT__SUP_TERMINATE:
        /* Terminating the child in a restart loop ends the loop: the children waiting behind
         * it stay stopped. */
        for (size_t k = 0; looping && k < s->nkids; k++)
            s->kids[k]->pending = false;
        c->pending = false;
        stop_child(s, c);
        if (c->spec->restart == ACT_TEMPORARY)
            kids_remove(s, i);
        return 0;
    case ACT__SUP_RESTART: {
        if (c->pid)
            return ACT_ECHILDRUNNING;
        if (looping)
            return ACT_ERESTARTING;
        int rc = start_child(s, c);
        *out = c->pid;
        return rc;
    }
    default: /* ACT__SUP_DELETE */
        if (c->pid)
            return ACT_ECHILDRUNNING;
        if (looping)
            return ACT_ERESTARTING;
        kids_remove(s, i);
        return 0;
    }
}

/* terminate_child(Sup, Pid) of a dynamic supervisor: a running child is stopped and
 * forgotten, a restarting one (known by the pid it exited with) is taken out of the retry
 * loop, and a pid that is dead already answers 0, as in OTP (its exit is on its way, or long
 * handled). */
static int terminate_pid(sup_t *s, act_pid_t pid)
{
    if (s->strategy != ACT_SIMPLE_ONE_FOR_ONE)
        return ACT_ENOTSUP;
    uint64_t v;
    if (act__map_get(&s->bypid, pid, &v)) {
        child_t *c = (child_t *)(uintptr_t)v;
        stop_child(s, c);
        forget(s, c);
        return 0;
    }
    for (child_t **p = &s->retry; pid && *p; p = &(*p)->next_retry) {
        if ((*p)->old_pid == pid) {
            child_t *c = *p;
            *p = c->next_retry;
            forget(s, c);
            return 0;
        }
    }
    return pid && !act_is_alive(pid) ? 0 : ACT_ENOCHILD;
}

static void handle_request(sup_t *s, act__sup_req_t *q)
{
    act__sup_reply_t *r = NULL;
    int status = 0;
    act_pid_t pid = ACT_PID_NONE;
    switch (q->op) {
    case ACT__SUP_WHICH:
        r = which_reply(s);
        break;
    case ACT__SUP_COUNT:
        r = reply_new(0);
        count(s, &r->counts);
        break;
    case ACT__SUP_START:
        status = dyn_start(s, q->extra, q->sched, &pid);
        break;
    case ACT__SUP_ADD:
        q->spec.id = q->id;
        status = static_add(s, &q->spec, &pid);
        break;
    case ACT__SUP_TERMINATE_PID:
        status = terminate_pid(s, q->pid);
        break;
    default:
        status = static_op(s, q->op, q->id, &pid);
        break;
    }
    if (!r)
        r = reply_new(0);
    r->status = status;
    r->pid = pid;
    act_reply(&q->hdr, &r->hdr);
}

static void handle_async_start(sup_t *s, act_sup_start_req_t *q)
{
    act_pid_t pid;
    int rc = dyn_start(s, q->extra, q->sched, &pid);
    bool reply = q->reply_to != ACT_PID_NONE &&
                 (q->reply == ACT_SUP_REPLY_ALWAYS || (q->reply == ACT_SUP_REPLY_ERRORS && rc));
    if (reply) {
        act_sup_started_t *r = act_msg_new(act_sup_started_t, ACT_MSG_SUP_STARTED);
        r->status = rc;
        r->pid = pid;
        r->extra = q->extra;
        r->tag = q->tag;
        act_send(q->reply_to, &r->hdr);
    } else if (rc) {
        report_start_failed(s, s->tmpl.id ? s->tmpl.id : "", rc, "request dropped");
    }
}

/* ---- the supervisor's fiber -------------------------------------------------------------- */

static void sup_on_exit(void *arg, int reason)
{
    (void)reason;
    sup_t *s = arg;
    act_msg_free(s->cur);
    sup_free(s);
}

/* Handles one message; false when the supervisor must stop normally. */
static bool handle(sup_t *s, act_msg_t *m)
{
    switch (m->type) {
    case ACT_MSG_EXIT: {
        act_down_t *d = (act_down_t *)m;
        uint64_t v;
        if (d->pid == s->parent) {
            stop_all(s);
            act_fail(d->reason);
        }
        if (act__map_get(&s->bypid, d->pid, &v))
            child_exited(s, (child_t *)(uintptr_t)v, d->reason, d->text);
        return true;
    }
    case ACT__MSG_SUP_REQ:
        handle_request(s, (act__sup_req_t *)m);
        return true;
    case ACT_MSG_SUP_START_CHILD:
        handle_async_start(s, (act_sup_start_req_t *)m);
        return true;
    case ACT__MSG_SUP_RETRY:
        s->retry_queued = false;
        if (s->strategy == ACT_SIMPLE_ONE_FOR_ONE) {
            retry_dynamic(s);
            return true;
        }
        if (s->strategy == ACT_ONE_FOR_ALL && any_pending(s))
            restart_group(s, 0); /* the children that did start go again too */
        start_pending(s);
        return true;
    case ACT__MSG_SUP_STOP:
        stop_all(s);
        return false;
    default:
        return true; /* stale DOWNs and ACKs, strays */
    }
}

static void sup_main(void *arg)
{
    sup_t *s = arg;
    act_fiber_on_exit(sup_on_exit, s);
    s->self = act_self();
    if (s->register_name) {
        int rc = act_register(s->name, s->self);
        if (rc) {
            act_unlink(s->parent);
            act__ack(s->parent, rc, NULL);
            act_fail(rc);
        }
    }
    for (size_t i = 0; i < s->nkids; i++) {
        child_t *c = s->kids[i];
        int rc = start_child(s, c);
        if (rc == 0 && c->pid == ACT_PID_NONE && c->spec->restart == ACT_TEMPORARY)
            kids_remove(s, i--); /* an ignored temporary child is not kept */
        if (rc == 0)
            continue;
        /* OTP's {shutdown, {failed_to_start_child, Id, Reason}}, as text: it goes to the
         * starter (act_start_failure) and to the links (the exit text). */
        report_start_failed(s, c->spec->id, rc, "");
        char rs[160], why[ACT_START_FAILURE_MAX];
        const char *inner = act_start_failure();
        snprintf(why, sizeof why, "failed to start child %s: %s%s%s", c->spec->id,
                 act__reason_text(rc, rs, sizeof rs), inner[0] ? ": " : "", inner);
        stop_all(s);
        act_unlink(s->parent);
        act__ack(s->parent, ACT_ECHILDSTART, why);
        act_failf(ACT_SHUTDOWN, "%s", why);
    }
    act__ack(s->parent, 0, NULL);
    for (;;) {
        act_msg_t *m;
        act_receive(NULL, NULL, ACT_INFINITY, &m);
        s->cur = m;
        bool go_on = handle(s, m);
        s->cur = NULL;
        act_msg_free(m);
        if (!go_on)
            return; /* ACT_NORMAL; sup_on_exit frees s */
    }
}

/* ---- the API ----------------------------------------------------------------------------- */

int act_sup_start_link(const act_sup_spec_t *spec, act_pid_t *out)
{
    if (!act_system_running())
        return ACT_ENOTRUNNING;
    if (!act__can_wait())
        return ACT_ENOTFIBER;
    sup_t *s;
    int rc = sup_new(spec, &s);
    if (rc)
        return rc;
    act__sup_bounce_init(); /* before a request can reach this supervisor */
    s->parent = act_self();
    act_ref_t mref = 0;
    act_spawn_opts_t o = {
        .fiber = sup_main,
        .arg = s,
        .sched = spec->sched,
        .link = true,
        .trap_exit = true,
        .monitor = act__self_traps() ? NULL : &mref,
    };
    act_pid_t pid;
    if ((rc = act_spawn(&o, &pid))) {
        sup_free(s);
        return rc;
    }
    rc = act__start_wait(pid, mref, ACT_INFINITY);
    if (rc == 0 && out)
        *out = pid;
    return rc;
}

int act_sup_child_start(const act_child_start_t *cs, act_pid_t *out)
{
    const act_sup_spec_t *mod = cs->spec->mod;
    if (!mod)
        return ACT_EBADARG;
    if (!cs->spec->name && (mod->sched != ACT_SCHED_ANY || cs->sched == ACT_SCHED_ANY))
        return act_sup_start_link(mod, out);
    act_sup_spec_t copy = *mod;
    if (cs->spec->name) {
        copy.name = cs->spec->name;
        copy.register_name = true;
    }
    if (copy.sched == ACT_SCHED_ANY)
        copy.sched = cs->sched;
    return act_sup_start_link(&copy, out);
}
