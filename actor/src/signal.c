/*
 * Links, monitors and exit signals, with Erlang's rules.
 *
 * Every signal is a message in the receiver's mailbox, applied by the receiver in its own turn
 * (act__signal), so a link set or monitor table is only ever touched by its owner. Both ends
 * of a link record it: A's act_link adds B to A's set and sends LINK; B adds A when it applies
 * it. When A dies it sends LINK_EXIT to every pid in its set; B ignores a LINK_EXIT from a pid
 * no longer in its set (unlinked meanwhile), so after act_unlink returns, no exit from that
 * link reaches the caller. Monitors work the same way with refs: the watcher records
 * ref -> target, the target ref -> watcher; a DOWN for a ref the watcher no longer holds
 * (demonitored) is dropped.
 *
 * A request that reaches an actor after its death (its drain, or the final drain before its
 * memory is freed) is answered with ACT_NOPROC: LINK with a LINK_EXIT, MONITOR with a DOWN;
 * any other message whose type has a bounce function (core_int.h) is handed to it.
 */
#include <string.h>

#include "actor_int.h"

act_down_t *act__down_new(uint32_t type, act_pid_t pid, int reason, const char *text)
{
    size_t len = text ? strlen(text) : 0;
    act_down_t *d = (act_down_t *)act_msg_alloc(sizeof(act_down_t) + len + 1, type);
    d->pid = pid;
    d->reason = reason;
    if (len)
        memcpy(d->text, text, len);
    d->text[len] = '\0';
    return d;
}

static void sig_send(act_pid_t to, uint32_t type, act_ref_t ref, act_pid_t from)
{
    act_msg_t *m = act_msg_alloc(sizeof *m, type);
    m->ref = ref;
    act__send_from(to, m, from);
}

static void down_send(act_pid_t to, uint32_t type, act_ref_t ref, act_pid_t pid, int reason,
                      const char *text)
{
    act_down_t *d = act__down_new(type, pid, reason, text);
    d->hdr.ref = ref;
    act__send_from(to, &d->hdr, pid);
}

static void set_count(_Atomic uint32_t *c, const act__map_t *m)
{
    atomic_store_explicit(c, m->len, memory_order_relaxed);
}

/* ---- the link set: link1 inline, the rest in *ext->links -------------------------------- */

static act__map_t *more_links(const act__actor_t *a)
{
    return a->ext ? a->ext->links : NULL;
}

static void links_count(act__actor_t *a)
{
    act__map_t *more = more_links(a);
    uint32_t n = (a->link1 != ACT_PID_NONE) + (more ? more->len : 0);
    atomic_store_explicit(&a->nlinks, n, memory_order_relaxed);
}

static bool links_has(const act__actor_t *a, act_pid_t pid)
{
    act__map_t *more = more_links(a);
    return a->link1 == pid || (more && act__map_get(more, pid, NULL));
}

int act__links_add(act__actor_t *a, act_pid_t pid)
{
    if (links_has(a, pid))
        return 0;
    int rc = 0;
    if (a->link1 == ACT_PID_NONE) {
        a->link1 = pid;
    } else {
        act__ext_t *x = act__ext(a);
        if (!x->links && !(x->links = act_calloc(1, sizeof *x->links)))
            return ACT_ENOMEM;
        rc = act__map_put(x->links, pid, 1);
    }
    links_count(a);
    return rc;
}

static bool links_del(act__actor_t *a, act_pid_t pid)
{
    act__map_t *more = more_links(a);
    if (pid != ACT_PID_NONE && a->link1 == pid)
        a->link1 = ACT_PID_NONE;
    else if (!more || !act__map_del(more, pid, NULL))
        return false;
    links_count(a);
    return true;
}

/* Frees the links past link1 (the actor is dying, or gone). */
void act__links_free(act__ext_t *x)
{
    if (x->links) {
        act__map_deinit(x->links);
        act_free(x->links);
        x->links = NULL;
    }
}

/* The signal m kills a: its text becomes a's exit text. */
static int die_with(act__actor_t *a, act_msg_t *m, int reason, int *out)
{
    act_down_t *d = (act_down_t *)m;
    *out = reason;
    if (d->text[0]) {
        act__ext_t *x = act__ext(a);
        act_free(x->exit_text);
        x->exit_text = act_strdup(d->text);
    }
    act_msg_free(m);
    return ACT__SIG_DIE;
}

int act__signal(act__actor_t *a, act_msg_t *m, int *reason)
{
    switch (m->type) {
    case ACT__SIG_LINK:
        act__links_add(a, m->from);
        break;
    case ACT__SIG_UNLINK:
        links_del(a, m->from);
        break;
    case ACT__SIG_MONITOR:
        act__map_put(&act__ext(a)->watchers, m->ref, m->from);
        break;
    case ACT__SIG_DEMONITOR:
        if (a->ext)
            act__map_del(&a->ext->watchers, m->ref, NULL);
        break;
    case ACT__SIG_LINK_EXIT: {
        act_down_t *d = (act_down_t *)m;
        if (!links_del(a, d->pid))
            break; /* unlinked meanwhile */
        if (a->trap_exit) {
            m->type = ACT_MSG_EXIT;
            return ACT__SIG_DELIVER;
        }
        if (d->reason == ACT_NORMAL)
            break;
        return die_with(a, m, d->reason == ACT_KILL ? ACT_KILLED : d->reason, reason);
    }
    case ACT__SIG_EXIT: {
        act_down_t *d = (act_down_t *)m;
        if (d->reason == ACT_KILL) {
            if (a->kind == ACT__PROXY) {
                d->reason = ACT_KILLED;
                m->type = ACT_MSG_EXIT;
                return ACT__SIG_DELIVER;
            }
            return die_with(a, m, ACT_KILLED, reason);
        }
        if (a->trap_exit) {
            m->type = ACT_MSG_EXIT;
            return ACT__SIG_DELIVER;
        }
        if (d->reason == ACT_NORMAL && d->pid != a->pid)
            break;
        return die_with(a, m, d->reason, reason);
    }
    case ACT_MSG_DOWN:
        if (!a->ext || !act__map_del(&a->ext->monitors, m->ref, NULL))
            break; /* demonitored */
        set_count(&a->nmonitors, &a->ext->monitors);
        return ACT__SIG_DELIVER;
    default:
        return ACT__SIG_DELIVER;
    }
    act_msg_free(m);
    return ACT__SIG_CONSUMED;
}

void act__signal_killed(act__actor_t *a, act_msg_t *m)
{
    /* Link and monitor bookkeeping that arrived before the kill still counts: the peers
     * must hear about the death. Anything else goes with the actor. */
    switch (m->type) {
    case ACT__SIG_LINK:
    case ACT__SIG_UNLINK:
    case ACT__SIG_MONITOR:
    case ACT__SIG_DEMONITOR: {
        int reason;
        act__signal(a, m, &reason); /* these are always consumed */
        break;
    }
    default:
        act_msg_free(m);
        break;
    }
}

/* Bounce functions by message type (core_int.h), set once by the behaviours. */
static _Atomic(act__bounce_fn) bounce[ACT_MSG_USER];

void act__msg_bounce_set(uint32_t type, act__bounce_fn fn)
{
    if (type < ACT_MSG_USER)
        atomic_store_explicit(&bounce[type], fn, memory_order_release); /* pairs with below */
}

void act__signal_dead(act__actor_t *a, act_msg_t *m)
{
    /* While the system stops everyone is dying: nobody to answer. */
    if (atomic_load_explicit(&act__sys.state, memory_order_acquire) == ACT__SYS_RUNNING) {
        if (m->type == ACT__SIG_LINK && m->from) {
            down_send(m->from, ACT__SIG_LINK_EXIT, 0, a->pid, ACT_NOPROC, NULL);
        } else if (m->type == ACT__SIG_MONITOR && m->from) {
            down_send(m->from, ACT_MSG_DOWN, m->ref, a->pid, ACT_NOPROC, NULL);
        } else if (m->type < ACT_MSG_USER) {
            act__bounce_fn fn = atomic_load_explicit(&bounce[m->type], memory_order_acquire);
            if (fn) {
                act_pid_t to = ACT_PID_NONE;
                act_msg_t *answer = fn(m, &to);
                if (answer)
                    act__send_from(to, answer, a->pid);
                return;
            }
        }
    }
    act_msg_free(m);
}

void act__signal_notify_exit(act__actor_t *a, int reason, const char *text)
{
    if (a->link1 != ACT_PID_NONE) {
        down_send(a->link1, ACT__SIG_LINK_EXIT, 0, a->pid, reason, text);
        a->link1 = ACT_PID_NONE;
        atomic_store_explicit(&a->nlinks, 0, memory_order_relaxed);
    }
    act__ext_t *x = a->ext;
    if (!x)
        return;
    uint64_t k, v;
    for (uint32_t i = 0; x->links && act__map_next(x->links, &i, &k, &v);)
        down_send(k, ACT__SIG_LINK_EXIT, 0, a->pid, reason, text);
    for (uint32_t i = 0; act__map_next(&x->watchers, &i, &k, &v);)
        down_send(v, ACT_MSG_DOWN, k, a->pid, reason, text);
    /* Monitors this actor held: the targets can forget them. */
    for (uint32_t i = 0; act__map_next(&x->monitors, &i, &k, &v);)
        sig_send(v, ACT__SIG_DEMONITOR, k, a->pid);
    act__links_free(x);
    act__map_deinit(&x->watchers);
    act__map_deinit(&x->monitors);
    atomic_store_explicit(&a->nlinks, 0, memory_order_relaxed);
    atomic_store_explicit(&a->nmonitors, 0, memory_order_relaxed);
}

/* ---- the API -------------------------------------------------------------------------------- */

/* The caller as an actor: the running actor, or the foreign thread's proxy. */
static act__actor_t *self_actor(act__thread_t **tp)
{
    act__thread_t *t = act__thread();
    *tp = t;
    if (!t)
        return NULL;
    if (t->current)
        return t->current;
    return t->sched ? NULL : act__proxy_new(t);
}

int act_link(act_pid_t pid)
{
    act__thread_t *t;
    act__actor_t *self = self_actor(&t);
    if (!self)
        return t ? ACT_EBADARG : ACT_ENOTRUNNING;
    if (pid == self->pid)
        return 0;
    if (!act_is_alive(pid))
        return ACT_ENOPROC;
    if (links_has(self, pid))
        return 0;
    if (act__links_add(self, pid))
        return ACT_ENOMEM;
    /* If pid dies before it applies the LINK, its drain answers with a LINK_EXIT (noproc). */
    sig_send(pid, ACT__SIG_LINK, 0, self->pid);
    return 0;
}

int act_unlink(act_pid_t pid)
{
    act__thread_t *t;
    act__actor_t *self = self_actor(&t);
    if (!self)
        return t ? ACT_EBADARG : ACT_ENOTRUNNING;
    if (!links_del(self, pid))
        return 0;
    sig_send(pid, ACT__SIG_UNLINK, 0, self->pid);
    return 0;
}

bool act__self_traps(void)
{
    act__thread_t *t = act__thread();
    if (!t)
        return false;
    if (!t->current)
        return !t->sched; /* a foreign thread's proxy, created on demand, always traps */
    return t->current->kind == ACT__PROXY || t->current->trap_exit;
}

bool act_trap_exit(bool on)
{
    act__thread_t *t = act__thread();
    act__actor_t *a = t ? t->current : NULL;
    if (!a || a->kind == ACT__PROXY)
        return a != NULL; /* proxies always trap */
    bool old = a->trap_exit;
    __atomic_store_n(&a->trap_exit, on, __ATOMIC_RELAXED); /* act_info reads it elsewhere */
    return old;
}

int act_monitor(act_pid_t pid, act_ref_t *ref)
{
    act__thread_t *t;
    act__actor_t *self = self_actor(&t);
    if (!self)
        return t ? ACT_EBADARG : ACT_ENOTRUNNING;
    act_ref_t r = t->ref_hi | ++t->ref_next;
    act__ext_t *x = act__ext(self);
    if (act__map_put(&x->monitors, r, pid))
        return ACT_ENOMEM;
    set_count(&self->nmonitors, &x->monitors);
    if (ref)
        *ref = r;
    act_msg_t *m = act_msg_alloc(sizeof *m, ACT__SIG_MONITOR);
    m->ref = r;
    if (act__send_from(pid, m, self->pid) == ACT_ENOPROC)
        down_send(self->pid, ACT_MSG_DOWN, r, pid, ACT_NOPROC, NULL);
    return 0;
}

int act__demonitor_flush(act__actor_t *a, act_ref_t ref); /* receive.c */

int act_demonitor(act_ref_t ref, unsigned flags)
{
    act__thread_t *t;
    act__actor_t *self = self_actor(&t);
    if (!self)
        return t ? ACT_EBADARG : ACT_ENOTRUNNING;
    uint64_t target;
    if (!self->ext || !act__map_del(&self->ext->monitors, ref, &target)) {
        /* Already fired: its DOWN may wait in the mailbox. */
        if ((flags & ACT_DEMONITOR_FLUSH) && self->kind != ACT__PLAIN)
            act__demonitor_flush(self, ref);
        return ACT_ENOMONITOR;
    }
    set_count(&self->nmonitors, &self->ext->monitors);
    sig_send(target, ACT__SIG_DEMONITOR, ref, self->pid);
    if ((flags & ACT_DEMONITOR_FLUSH) && self->kind != ACT__PLAIN)
        act__demonitor_flush(self, ref);
    return 0;
}
