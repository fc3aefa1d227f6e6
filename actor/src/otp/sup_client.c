/*
 * The supervisor's clients (sup.h): calls to a supervisor, the asynchronous start request, the
 * tree walk and its text dump, and the names of strategies, restart types and child types.
 *
 * Introspection calls give up after the usual call timeout (a busy or wedged supervisor must
 * not hang `dynctl status`); the other operations wait as long as the supervisor takes, since
 * a start or a shutdown with ACT_INFINITY may legitimately take long.
 */
#include <stdio.h>
#include <string.h>

#include "sup_int.h"

/* ---- names ------------------------------------------------------------------------------- */

const char *act_strategy_str(act_strategy_t s)
{
    switch (s) {
    case ACT_ONE_FOR_ONE:
        return "one_for_one";
    case ACT_ONE_FOR_ALL:
        return "one_for_all";
    case ACT_REST_FOR_ONE:
        return "rest_for_one";
    case ACT_SIMPLE_ONE_FOR_ONE:
        return "simple_one_for_one";
    }
    return "?";
}

const char *act_restart_str(act_restart_t r)
{
    switch (r) {
    case ACT_PERMANENT:
        return "permanent";
    case ACT_TRANSIENT:
        return "transient";
    case ACT_TEMPORARY:
        return "temporary";
    }
    return "?";
}

const char *act_child_type_str(act_child_type_t t)
{
    return t == ACT_SUPERVISOR ? "supervisor" : t == ACT_WORKER ? "worker" : "?";
}

static act__sup_req_t *req_new(int op, const char *id)
{
    size_t len = id ? strlen(id) : 0;
    act__sup_req_t *q =
        (act__sup_req_t *)act_msg_alloc(sizeof(act__sup_req_t) + len + 1, ACT__MSG_SUP_REQ);
    memset((char *)q + sizeof(act_msg_t), 0, sizeof(act__sup_req_t) - sizeof(act_msg_t));
    q->op = op;
    memcpy(q->id, id ? id : "", len + 1);
    return q;
}

/* Calls sup with q (taken). Introspection gives up after the usual call timeout; the other
 * operations wait as long as the supervisor takes (a start, a shutdown with ACT_INFINITY). */
static int sup_call(act_pid_t sup, act__sup_req_t *q, act__sup_reply_t **out)
{
    if (!act__can_wait() || sup == act_self()) {
        act_msg_free(&q->hdr);
        if (!act_system_running())
            return ACT_ENOTRUNNING;
        return sup == act_self() ? -EDEADLK : ACT_ENOTFIBER; /* it would wait for itself */
    }
    int64_t tmo =
        q->op == ACT__SUP_WHICH || q->op == ACT__SUP_COUNT ? ACT_SERVER_CALL_TIMEOUT : ACT_INFINITY;
    act_msg_t *r;
    int rc = act_call(sup, &q->hdr, tmo, &r, NULL);
    if (rc)
        return rc;
    if (r->type != ACT__MSG_SUP_REPLY) {
        act_msg_free(r);
        return ACT_EBADARG; /* not a supervisor */
    }
    *out = (act__sup_reply_t *)r;
    return ((act__sup_reply_t *)r)->status;
}

static int simple_call(act_pid_t sup, act__sup_req_t *q, act_pid_t *out)
{
    act__sup_reply_t *r = NULL;
    int rc = sup_call(sup, q, &r);
    if (out)
        *out = r ? r->pid : ACT_PID_NONE; /* ACT_ECHILDRUNNING comes with the running pid */
    if (r)
        act_msg_free(&r->hdr);
    return rc;
}

int act_sup_stop(act_pid_t sup, int64_t timeout_ms)
{
    if (timeout_ms < ACT_INFINITY)
        return ACT_EBADARG;
    if (!act__can_wait())
        return act_system_running() ? ACT_ENOTFIBER : ACT_ENOTRUNNING;
    if (sup == act_self())
        return -EDEADLK;
    act_ref_t mref;
    int rc = act_monitor(sup, &mref);
    if (rc)
        return rc;
    act_send(sup, act_msg_alloc(sizeof(act_msg_t), ACT__MSG_SUP_STOP));
    int reason = 0;
    rc = act__await_down(sup, mref, timeout_ms, &reason);
    if (rc) {
        act_demonitor(mref, ACT_DEMONITOR_FLUSH);
        return rc;
    }
    return reason == ACT_NOPROC ? ACT_ENOPROC : 0;
}

/* ACT_SCHED_SELF means the requester's scheduler, not the supervisor's that spawns. */
static int requester_sched(int sched)
{
    if (sched != ACT_SCHED_SELF)
        return sched;
    int self = act_sched_self();
    return self >= 0 ? ACT_SCHED_ON(self) : ACT_SCHED_ANY;
}

int act_sup_start_child(act_pid_t sup, void *extra, int sched, act_pid_t *out)
{
    act__sup_req_t *q = req_new(ACT__SUP_START, NULL);
    q->extra = extra;
    q->sched = requester_sched(sched);
    return simple_call(sup, q, out);
}

/* A start request that reached a dead supervisor: answers ACT_ENOPROC with the request's
 * extra to its reply_to (the extra is the requester's again), unless it asked for no reply. */
static act_msg_t *start_bounce(act_msg_t *m, act_pid_t *to)
{
    act_sup_start_req_t *q = (act_sup_start_req_t *)m;
    act_sup_started_t *r = NULL;
    if (q->reply != ACT_SUP_REPLY_NONE && q->reply_to != ACT_PID_NONE) {
        r = act_msg_new(act_sup_started_t, ACT_MSG_SUP_STARTED);
        r->status = ACT_ENOPROC;
        r->pid = ACT_PID_NONE;
        r->extra = q->extra;
        r->tag = q->tag;
        *to = q->reply_to;
    }
    act_msg_free(m);
    return r ? &r->hdr : NULL;
}

void act__sup_bounce_init(void)
{
    act__msg_bounce_set(ACT_MSG_SUP_START_CHILD, start_bounce);
}

int act_sup_start_child_async(act_pid_t sup, void *extra, int sched, unsigned reply,
                              act_pid_t reply_to, uint64_t tag)
{
    if (reply > ACT_SUP_REPLY_ALWAYS || sup == ACT_PID_NONE)
        return ACT_EBADARG;
    act_sup_start_req_t *q = act_msg_new(act_sup_start_req_t, ACT_MSG_SUP_START_CHILD);
    q->extra = extra;
    q->sched = requester_sched(sched);
    q->reply = reply;
    q->reply_to = reply_to;
    q->tag = tag;
    return act_send(sup, &q->hdr);
}

int act_sup_terminate_pid(act_pid_t sup, act_pid_t pid)
{
    act__sup_req_t *q = req_new(ACT__SUP_TERMINATE_PID, NULL);
    q->pid = pid;
    return simple_call(sup, q, NULL);
}

int act_sup_add_child(act_pid_t sup, const act_child_spec_t *spec, act_pid_t *out)
{
    if (!spec || !spec->id)
        return ACT_EBADARG;
    act__sup_req_t *q = req_new(ACT__SUP_ADD, spec->id);
    q->spec = *spec;
    return simple_call(sup, q, out);
}

int act_sup_terminate_child(act_pid_t sup, const char *id)
{
    return id ? simple_call(sup, req_new(ACT__SUP_TERMINATE, id), NULL) : ACT_EBADARG;
}

int act_sup_restart_child(act_pid_t sup, const char *id, act_pid_t *out)
{
    return id ? simple_call(sup, req_new(ACT__SUP_RESTART, id), out) : ACT_EBADARG;
}

int act_sup_delete_child(act_pid_t sup, const char *id)
{
    return id ? simple_call(sup, req_new(ACT__SUP_DELETE, id), NULL) : ACT_EBADARG;
}

/* The WHICH reply as an act_child_info_t array in one block. */
static int which(act_pid_t sup, act__sup_reply_t **raw, act_child_info_t **out, size_t *n)
{
    act__sup_reply_t *r = NULL;
    int rc = sup_call(sup, req_new(ACT__SUP_WHICH, NULL), &r);
    if (rc) {
        if (r)
            act_msg_free(&r->hdr);
        return rc;
    }
    size_t head = r->n * sizeof(act__sup_child_t);
    size_t strings = r->size - head;
    act_child_info_t *a = NULL;
    if (r->n) {
        a = act_malloc(r->n * sizeof *a + strings);
        if (!a) {
            act_msg_free(&r->hdr);
            return ACT_ENOMEM;
        }
        char *str = (char *)(a + r->n);
        memcpy(str, r->data + head, strings);
        const act__sup_child_t *w = (const act__sup_child_t *)r->data;
        for (size_t i = 0; i < r->n; i++)
            a[i] = (act_child_info_t){str + (w[i].id_off - head),
                                      w[i].pid,
                                      w[i].type,
                                      w[i].restart,
                                      w[i].restarts,
                                      w[i].restarting};
    }
    *out = a;
    *n = r->n;
    if (raw)
        *raw = r;
    else
        act_msg_free(&r->hdr);
    return 0;
}

int act_sup_which_children(act_pid_t sup, act_child_info_t **out, size_t *n)
{
    if (!out || !n)
        return ACT_EBADARG;
    return which(sup, NULL, out, n);
}

int act_sup_count_children(act_pid_t sup, act_child_counts_t *out)
{
    if (!out)
        return ACT_EBADARG;
    act__sup_reply_t *r = NULL;
    int rc = sup_call(sup, req_new(ACT__SUP_COUNT, NULL), &r);
    if (rc == 0)
        *out = r->counts;
    if (r)
        act_msg_free(&r->hdr);
    return rc;
}

/* ---- walking a tree ---------------------------------------------------------------------- */

#define WALK_MAX_DEPTH 64
#define WALK_STATUS_TIMEOUT 1000 /* ms a server may take to tell its status */

static size_t mailbox_of(act_pid_t pid)
{
    act_info_t info;
    return pid && act_info(pid, &info) == 0 ? info.mailbox_len : 0;
}

/* A worker's line: its mailbox and, for a server, its status (asked with a short timeout: a
 * busy server must not stall a status page; it is then shown without its summary). The
 * summary lives in *st, which outlives the visit. */
static void worker_status(act_sup_node_t *node, act_server_status_t *st)
{
    act_info_t info;
    node->summary = "";
    if (!node->pid || act_info(node->pid, &info) != 0)
        return;
    node->mailbox_len = info.mailbox_len;
    if (info.behaviour != act__server_kind ||
        act_server_get_status(node->pid, st, WALK_STATUS_TIMEOUT) != 0)
        return;
    node->suspended = st->suspended;
    node->mailbox_len += st->waiting;
    node->summary = st->summary;
}

static int walk(act_pid_t sup, act_sup_node_t *self, act_sup_walk_fn fn, void *arg)
{
    act__sup_reply_t *r = NULL;
    act_child_info_t *kids = NULL;
    size_t n = 0;
    int rc = which(sup, &r, &kids, &n);
    if (rc)
        return rc;
    if (self->depth == 0)
        self->id = (const char *)r->data + r->name_off;
    self->strategy = r->strategy;
    self->mailbox_len = mailbox_of(sup);
    rc = fn(self, arg);
    for (size_t j = 0; rc == 0 && j < n; j++) {
        /* which_children lists static children newest first: the walk goes in start order. */
        size_t i = r->strategy == ACT_SIMPLE_ONE_FOR_ONE ? j : n - 1 - j;
        act_sup_node_t node = {
            .depth = self->depth + 1,
            .id = kids[i].id,
            .pid = kids[i].pid,
            .type = kids[i].type,
            .restart = kids[i].restart,
            .restarts = kids[i].restarts,
            .restarting = kids[i].restarting,
            .summary = "",
        };
        if (kids[i].type == ACT_SUPERVISOR && kids[i].pid && node.depth < WALK_MAX_DEPTH) {
            int sub = walk(kids[i].pid, &node, fn, arg);
            /* A child supervisor that died meanwhile is shown as a plain line. */
            if (sub == ACT_ENOPROC || sub == ACT_ECALLDOWN || sub == ACT_ETIMEDOUT) {
                node.mailbox_len = 0;
                rc = fn(&node, arg);
            } else {
                rc = sub;
            }
            continue;
        }
        act_server_status_t st;
        worker_status(&node, &st);
        rc = fn(&node, arg);
    }
    act_free(kids);
    act_msg_free(&r->hdr);
    return rc;
}

int act_sup_walk(act_pid_t sup, act_sup_walk_fn fn, void *arg)
{
    if (!fn)
        return ACT_EBADARG;
    act_sup_node_t root = {
        .pid = sup, .type = ACT_SUPERVISOR, .restart = ACT_PERMANENT, .summary = ""};
    return walk(sup, &root, fn, arg);
}

typedef struct {
    char *buf;
    size_t len, cap;
    bool oom;
} text_t;

static int dump_line(const act_sup_node_t *n, void *arg)
{
    text_t *t = arg;
    char line[512], ps[ACT_PID_STRLEN];
    int len;
    if (n->pid)
        act_pid_str(n->pid, ps);
    else
        snprintf(ps, sizeof ps, "%s", n->restarting ? "restarting" : "-");
    if (n->type == ACT_SUPERVISOR && n->depth == 0)
        len = snprintf(line, sizeof line, "%*s%s %s supervisor %s mailbox=%zu\n", (int)n->depth * 2,
                       "", n->id, ps, act_strategy_str(n->strategy), n->mailbox_len);
    else if (n->type == ACT_SUPERVISOR)
        len = snprintf(line, sizeof line, "%*s%s %s supervisor %s %s restarts=%u mailbox=%zu\n",
                       (int)n->depth * 2, "", n->id, ps, act_strategy_str(n->strategy),
                       act_restart_str(n->restart), n->restarts, n->mailbox_len);
    else
        len = snprintf(line, sizeof line, "%*s%s %s worker %s restarts=%u mailbox=%zu%s%s%s%s\n",
                       (int)n->depth * 2, "", n->id, ps, act_restart_str(n->restart), n->restarts,
                       n->mailbox_len, n->suspended ? " suspended" : "",
                       n->summary[0] ? " state=\"" : "", n->summary, n->summary[0] ? "\"" : "");
    if (len < 0)
        return 0;
    if ((size_t)len >= sizeof line)
        len = sizeof line - 1;
    if (t->len + (size_t)len + 1 > t->cap) {
        size_t cap = t->cap ? t->cap * 2 : 1024;
        while (cap < t->len + (size_t)len + 1)
            cap *= 2;
        char *b = act_realloc(t->buf, cap);
        if (!b) {
            t->oom = true;
            return ACT_ENOMEM;
        }
        t->buf = b;
        t->cap = cap;
    }
    memcpy(t->buf + t->len, line, (size_t)len + 1);
    t->len += (size_t)len;
    return 0;
}

int act_sup_dump(act_pid_t sup, char **text)
{
    if (!text)
        return ACT_EBADARG;
    text_t t = {0};
    int rc = act_sup_walk(sup, dump_line, &t);
    if (rc) {
        act_free(t.buf);
        return rc;
    }
    *text = t.buf;
    return 0;
}
