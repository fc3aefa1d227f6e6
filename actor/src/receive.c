/*
 * Blocking receive for fibers and foreign threads: selective receive, call/reply, sleep.
 *
 * A receiver keeps the messages it took from its mailbox but did not match in a save queue,
 * oldest first, and scans it before the mailbox, as Erlang does. Signals met on the way are
 * applied at once (a kill ends a fiber right there, through act_fail).
 *
 * Waiting: a fiber suspends with status WAITING; its scheduler then marks the mailbox idle
 * (or runs it again at once if something arrived meanwhile), and the next push reschedules
 * it. A timeout is a timer that sends the fiber an ACT__SIG_TIMEOUT carrying the wait's own
 * token, so a timeout that fires after the wait ended is recognized and dropped. A foreign
 * thread marks its mailbox idle itself and sleeps on a semaphore the next push posts.
 *
 * act_call: monitor the server, send the request with the monitor's ref, wait for a reply
 * with that ref or the DOWN. While waiting, `await_ref` lets that one reply through; any other
 * reply (a late one of an earlier call that timed out) is dropped on arrival, so timed-out
 * calls leak nothing.
 */
#include <time.h>

#include "actor_int.h"

static inline act_msg_t *msg_of(act__node_t *n)
{
    return ACT_CONTAINER_OF(n, act_msg_t, _node);
}

void act__rcv_free(act__actor_t *a, act__rcv_t *r)
{
    act_msg_t *m = r->save_head;
    while (m) {
        act_msg_t *next = (act_msg_t *)atomic_load_explicit(&m->_node.next, memory_order_relaxed);
        act__signal_dead(a, m); /* set aside, never taken: answered as if it came too late */
        m = next;
    }
    r->save_head = r->save_tail = NULL;
    r->n = 0;
}

static act__rcv_t *rcv_of(act__actor_t *a)
{
    return a->kind == ACT__FIBER ? &a->fib->rcv : &a->proxy->rcv;
}

static void save(act__rcv_t *r, act_msg_t *m)
{
    atomic_store_explicit(&m->_node.next, NULL, memory_order_relaxed);
    if (r->save_tail)
        atomic_store_explicit(&r->save_tail->_node.next, &m->_node, memory_order_relaxed);
    else
        r->save_head = m;
    r->save_tail = m;
    r->n++;
}

/* Lets act_info see how many messages wait in the save queue. */
static void publish(act__actor_t *a, act__rcv_t *r)
{
    atomic_store_explicit(&a->saved, r->n, memory_order_relaxed);
}

static act_msg_t *saved_next(act_msg_t *m)
{
    act__node_t *n = atomic_load_explicit(&m->_node.next, memory_order_relaxed);
    return n ? msg_of(n) : NULL;
}

/* Unlinks saved message m, whose predecessor is prev (NULL: m is the head). */
static void unsave(act__rcv_t *r, act_msg_t *prev, act_msg_t *m)
{
    act_msg_t *next = saved_next(m);
    if (prev)
        atomic_store_explicit(&prev->_node.next, next ? &next->_node : NULL, memory_order_relaxed);
    else
        r->save_head = next;
    if (r->save_tail == m)
        r->save_tail = prev;
    r->n--;
}

/* Takes the first saved message that matches, or NULL. */
static act_msg_t *take_saved(act__rcv_t *r, act_match_fn match, void *arg)
{
    act_msg_t *prev = NULL;
    for (act_msg_t *m = r->save_head; m; prev = m, m = saved_next(m)) {
        if (!match || match(m, arg)) {
            unsave(r, prev, m);
            return m;
        }
    }
    return NULL;
}

/* The next message for the receiver, signals applied; NULL if none has arrived (yet). */
static act_msg_t *next_msg(act__actor_t *a, act__rcv_t *r)
{
    for (;;) {
        act__node_t *n = act__mpsc_pop(&a->mbox);
        if (!n)
            return NULL;
        act_msg_t *m = msg_of(n);
        act__info_answer(a);
        int reason;
        int what = act__signal_take(a, m, &reason);
        if (what == ACT__SIG_CONSUMED)
            continue;
        if (what == ACT__SIG_DIE)
            act__fail_signal(reason); /* proxies trap every signal: only fibers get here */
        if ((m->_flags & ACT__MSG_REPLY) && m->ref != r->await_ref) {
            act_msg_free(m); /* the reply of a call that gave up */
            continue;
        }
        return m;
    }
}

/* Foreign thread: waits for a push until deadline (ms, -1 forever). 0 or ACT_ETIMEDOUT. */
static int proxy_wait(act__actor_t *a, int64_t deadline)
{
    act__proxy_t *p = a->proxy;
    if (!p->idle) {
        if (!act__mpsc_mark_idle(&a->mbox))
            return 0; /* something arrived meanwhile */
        p->idle = true;
    }
    int rc;
    if (deadline < 0) {
        while ((rc = sem_wait(&p->sem)) != 0 && errno == EINTR)
            ;
    } else {
        struct timespec ts = {.tv_sec = deadline / 1000, .tv_nsec = (deadline % 1000) * 1000000};
        while ((rc = sem_clockwait(&p->sem, CLOCK_MONOTONIC, &ts)) != 0 && errno == EINTR)
            ;
        if (rc != 0)
            return ACT_ETIMEDOUT; /* still idle: a later post is consumed by the next wait */
    }
    p->idle = false; /* each post answers exactly one idle -> busy transition */
    return 0;
}

bool act__can_wait(void)
{
    act__thread_t *t = act__thread();
    return t && (!t->sched || (t->current && t->current->kind == ACT__FIBER));
}

/* The caller as a receiver, or NULL with *err set. */
static act__actor_t *receiver(int *err)
{
    act__thread_t *t = act__thread();
    if (!t) {
        *err = ACT_ENOTRUNNING;
        return NULL;
    }
    act__actor_t *a = t->current;
    if (t->sched) {
        if (!a || a->kind != ACT__FIBER) {
            *err = ACT_ENOTFIBER;
            return NULL;
        }
        return a;
    }
    if (!a && !(a = act__proxy_new(t)))
        *err = ACT_ENOMEM;
    return a;
}

/* fresh: nothing set aside so far can match (act_call waits for a reference made after it all
 * arrived), so the save queue is not scanned: a call costs the same however many unrelated
 * messages wait, as OTP's receive of a fresh reference does. */
static int receive_in(act__actor_t *a, act__rcv_t *r, act_match_fn match, void *arg,
                      int64_t timeout_ms, bool fresh, act_msg_t **out)
{
    act_msg_t *m = fresh ? NULL : take_saved(r, match, arg);
    if (m) {
        *out = m;
        return 0;
    }
    bool fiber = a->kind == ACT__FIBER;
    int64_t deadline = timeout_ms < 0 ? -1 : act_now_ms() + timeout_ms;
    act_ref_t token = 0;
    act_timer_t timer = 0;
    for (;;) {
        m = next_msg(a, r);
        if (m) {
            if (m->type == ACT__SIG_TIMEOUT) {
                bool mine = token && m->ref == token;
                act_msg_free(m);
                if (mine)
                    return ACT_ETIMEDOUT;
                continue;
            }
            if (!match || match(m, arg)) {
                if (timer)
                    act_timer_cancel(timer, NULL);
                *out = m;
                return 0;
            }
            save(r, m);
            /* A fiber that keeps skipping messages still gives others their turn. */
            if (fiber && ++a->fib->taken >= act__sys.cfg.batch * ACT__REDUCTIONS_PER_MSG) {
                a->fib->taken = 0;
                publish(a, r);
                act__fiber_suspend(a, ACT__YIELDED);
            }
            continue;
        }
        if (timeout_ms == 0)
            return ACT_ETIMEDOUT;
        publish(a, r);
        if (!fiber) {
            if (proxy_wait(a, deadline) == ACT_ETIMEDOUT)
                return ACT_ETIMEDOUT;
            continue;
        }
        if (timeout_ms > 0 && !token) {
            token = act_make_ref();
            act_msg_t *tm = act_msg_alloc(sizeof *tm, ACT__SIG_TIMEOUT);
            tm->ref = token;
            act_send_after(a->pid, timeout_ms, tm, &timer);
        }
        act__fiber_suspend(a, ACT__WAITING);
    }
}

int act_receive(act_match_fn match, void *arg, int64_t timeout_ms, act_msg_t **out)
{
    int err = 0;
    act__actor_t *a = receiver(&err);
    if (!a)
        return err;
    act__rcv_t *r = rcv_of(a);
    int rc = receive_in(a, r, match, arg, timeout_ms, false, out);
    publish(a, r);
    return rc;
}

static bool match_type(const act_msg_t *m, void *arg)
{
    return m->type == *(uint32_t *)arg;
}

int act_receive_type(uint32_t type, int64_t timeout_ms, act_msg_t **out)
{
    return act_receive(match_type, &type, timeout_ms, out);
}

static bool match_none(const act_msg_t *m, void *arg)
{
    (void)m;
    (void)arg;
    return false;
}

int act_sleep(int64_t ms)
{
    act_msg_t *m;
    int rc = act_receive(match_none, NULL, ms < 0 ? 0 : ms, &m);
    return rc == ACT_ETIMEDOUT ? 0 : rc;
}

/* Applies the signals waiting in a's mailbox (a kill or an untrapped exit ends a fiber here)
 * and sets its messages aside, in order, for later receives. A timeout met here is a stale one
 * (no receive is waiting): dropped, or a later receive would hand it out. */
static void apply_signals(act__actor_t *a, act__rcv_t *r)
{
    act_msg_t *m;
    while ((m = next_msg(a, r)) != NULL) {
        if (m->type == ACT__SIG_TIMEOUT)
            act_msg_free(m);
        else
            save(r, m);
    }
    publish(a, r);
}

int act_yield(void)
{
    int err = 0;
    act__actor_t *a = receiver(&err);
    if (!a)
        return err;
    if (a->kind == ACT__FIBER) {
        act__fiber_suspend(a, ACT__YIELDED);
        /* As Erlang handles a process's signals whenever it is scheduled: a fiber that only
         * yields can still be killed, or told to exit. */
        apply_signals(a, rcv_of(a));
    }
    return 0;
}

int act__demonitor_flush(act__actor_t *a, act_ref_t ref);
int act__demonitor_flush(act__actor_t *a, act_ref_t ref)
{
    act__rcv_t *r = rcv_of(a);
    act_msg_t *m;
    apply_signals(a, r);
    act_msg_t *prev = NULL;
    for (m = r->save_head; m;) {
        act_msg_t *next = saved_next(m);
        if (m->type == ACT_MSG_DOWN && m->ref == ref) {
            unsave(r, prev, m);
            act_msg_free(m);
        } else {
            prev = m;
        }
        m = next;
    }
    publish(a, r);
    return 0;
}

/* ---- call and reply ------------------------------------------------------------------------- */

static bool match_call(const act_msg_t *m, void *arg)
{
    act_ref_t ref = *(act_ref_t *)arg;
    return m->ref == ref && ((m->_flags & ACT__MSG_REPLY) || m->type == ACT_MSG_DOWN);
}

int act_call(act_pid_t pid, act_msg_t *req, int64_t timeout_ms, act_msg_t **reply, int *down_reason)
{
    int err = 0;
    act__actor_t *a = receiver(&err);
    if (!a) {
        act_msg_free(req);
        return err;
    }
    act_ref_t ref;
    int rc = act_monitor(pid, &ref);
    if (rc) {
        act_msg_free(req);
        return rc;
    }
    act__rcv_t *r = rcv_of(a);
    req->ref = ref;
    act__send_from(pid, req, a->pid); /* a dead pid answers through the monitor */
    r->await_ref = ref;
    act_msg_t *m = NULL;
    rc = receive_in(a, r, match_call, &ref, timeout_ms, true, &m);
    publish(a, r);
    r->await_ref = 0;
    /* No flush is needed: once the monitor is removed a late DOWN is dropped on arrival, and
     * a DOWN that came first would have matched. */
    if (rc) {
        act_demonitor(ref, 0);
        return rc;
    }
    if (m->type == ACT_MSG_DOWN && !(m->_flags & ACT__MSG_REPLY)) {
        int reason = ((act_down_t *)m)->reason;
        act_msg_free(m);
        if (down_reason)
            *down_reason = reason;
        return reason == ACT_NOPROC ? ACT_ENOPROC : ACT_ECALLDOWN;
    }
    act_demonitor(ref, 0);
    *reply = m;
    return 0;
}

int act_reply_to(act_pid_t to, act_ref_t ref, act_msg_t *reply)
{
    reply->ref = ref;
    reply->_flags |= ACT__MSG_REPLY;
    return act_send(to, reply);
}

int act_reply(const act_msg_t *req, act_msg_t *reply)
{
    return act_reply_to(req->from, req->ref, reply);
}
