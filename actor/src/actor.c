/*
 * Actors: spawn, send, one turn of a plain actor or a fiber, death and reclamation, and the
 * proxies that let foreign threads act like actors.
 *
 * Memory: an actor, its inline state (plain) or its fiber record (fiber) are one block from
 * act_malloc. The pid table points at it while it lives; at death the pointer is cleared and
 * the block is retired to the epoch collector (actor_free below), which first drains messages
 * that senders pushed after the death (they found the actor before its slot was cleared),
 * answering link and monitor requests with ACT_NOPROC as Erlang does.
 *
 * act_fail unwinds with longjmp: to the scheduler's frame for a plain actor (run_plain's
 * setjmp, once per turn), to the fiber's base frame for a fiber (fiber_entry).
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "actor_int.h"

static inline act_msg_t *msg_of(act__node_t *n)
{
    return ACT_CONTAINER_OF(n, act_msg_t, _node);
}

static inline void count_dequeued(act__actor_t *a)
{
    /* Only the owner writes; readers (act_info) want an approximate value. */
    atomic_store_explicit(&a->dequeued,
                          atomic_load_explicit(&a->dequeued, memory_order_relaxed) + 1,
                          memory_order_relaxed);
}

/* ---- messages ------------------------------------------------------------------------------- */

act_msg_t *act_msg_alloc(size_t size, uint32_t type)
{
    act_msg_t *m = act_xmalloc(size < sizeof(act_msg_t) ? sizeof(act_msg_t) : size);
    m->type = type;
    m->_flags = 0;
    m->from = ACT_PID_NONE;
    m->ref = 0;
    return m;
}

void act_msg_free(act_msg_t *msg)
{
    act_free(msg);
}

void act_msg_keep(act_msg_t *msg)
{
    /* Recorded in the thread, not the message: the handler may send the message on before it
     * returns, and the runtime must not touch it after that. */
    act__thread_t *t = act__thread();
    if (t && t->cur_msg == msg)
        t->cur_kept = true;
}

bool act_msg_is_reply(const act_msg_t *msg)
{
    return (msg->_flags & ACT__MSG_REPLY) != 0;
}

act__actor_t *act__lookup(act_pid_t pid)
{
    act__slot_t *slot = act__slot_at((uint32_t)pid);
    if (ACT_UNLIKELY(slot == NULL))
        return NULL;
    /* acquire: pairs with spawn's release, so the actor's fields are initialized. */
    act__actor_t *a = atomic_load_explicit(&slot->actor, memory_order_acquire);
    return (a && a->pid == pid) ? a : NULL;
}

static int send_in(act__thread_t *t, act_pid_t to, act_msg_t *msg)
{
    bool own = t->epoch->depth == 0;
    if (own)
        act__epoch_enter(t->epoch);
    act__actor_t *a = act__lookup(to);
    if (ACT_LIKELY(a != NULL)) {
        atomic_fetch_add_explicit(&a->enqueued, 1, memory_order_relaxed);
        if (act__mpsc_push(&a->mbox, &msg->_node))
            act__schedule(a, true);
    }
    if (own)
        act__epoch_exit(t->epoch);
    if (ACT_UNLIKELY(a == NULL)) {
        act_msg_free(msg);
        return ACT_ENOPROC;
    }
    return 0;
}

/* Reductions, as Erlang counts them: a fiber that sends or spawns in a loop yields after a
 * budget of such operations, so the actors it feeds run (and the memory they hold is reused)
 * instead of piling up behind it. Plain actors cannot yield mid-handler: their bound is the
 * batch of messages per turn. */
static inline void charge(act__thread_t *t)
{
    act__actor_t *a = t->current;
    if (a && a->kind == ACT__FIBER && a->status == ACT__RUNNABLE && t->sched &&
        ++a->fib->taken >= act__sys.cfg.batch * ACT__REDUCTIONS_PER_MSG) {
        a->fib->taken = 0;
        act__fiber_suspend(a, ACT__YIELDED);
    }
}

int act_send(act_pid_t to, act_msg_t *msg)
{
    act__thread_t *t = act__thread();
    if (ACT_UNLIKELY(t == NULL)) {
        act_msg_free(msg);
        return ACT_ENOTRUNNING;
    }
    msg->from = t->current ? t->current->pid : ACT_PID_NONE;
    int rc = send_in(t, to, msg);
    charge(t);
    return rc;
}

int act__send_from(act_pid_t to, act_msg_t *msg, act_pid_t from)
{
    act__thread_t *t = act__thread();
    if (t == NULL) {
        act_msg_free(msg);
        return ACT_ENOTRUNNING;
    }
    msg->from = from;
    return send_in(t, to, msg);
}

/* ---- identity ------------------------------------------------------------------------------- */

act_pid_t act_self(void)
{
    act__thread_t *t = act__thread();
    if (!t)
        return ACT_PID_NONE;
    if (t->current)
        return t->current->pid;
    if (t->sched)
        return ACT_PID_NONE; /* a libuv callback between turns */
    act__actor_t *p = act__proxy_new(t);
    return p ? p->pid : ACT_PID_NONE;
}

bool act_is_alive(act_pid_t pid)
{
    act__thread_t *t = act__thread();
    if (!t)
        return false;
    act__epoch_enter(t->epoch);
    bool alive = act__lookup(pid) != NULL;
    act__epoch_exit(t->epoch);
    return alive;
}

const char *act_pid_str(act_pid_t pid, char *buf)
{
    snprintf(buf, ACT_PID_STRLEN, "<%u.%u>", (unsigned)(uint32_t)pid, (unsigned)(pid >> 32));
    return buf;
}

int act_info(act_pid_t pid, act_info_t *info)
{
    act__thread_t *t = act__thread();
    if (!t)
        return ACT_ENOTRUNNING;
    act__epoch_enter(t->epoch);
    act__actor_t *a = act__lookup(pid);
    if (a) {
        uint64_t in = atomic_load_explicit(&a->enqueued, memory_order_relaxed);
        uint64_t out = atomic_load_explicit(&a->dequeued, memory_order_relaxed);
        int32_t pin = atomic_load_explicit(&a->sched, memory_order_relaxed);
        *info = (act_info_t){
            .pid = pid,
            .behaviour = a->kind == ACT__FIBER   ? "fiber"
                         : a->kind == ACT__PROXY ? "proxy"
                         : (a->beh->name ? a->beh->name : "actor"),
            .mailbox_len = in > out ? in - out : 0,
            .sched = atomic_load_explicit(&a->last_sched, memory_order_relaxed),
            .pinned = pin >= 0,
            .links = atomic_load_explicit(&a->nlinks, memory_order_relaxed),
            .monitors = atomic_load_explicit(&a->nmonitors, memory_order_relaxed),
        };
    }
    act__epoch_exit(t->epoch);
    return a ? 0 : ACT_ENOPROC;
}

act__ext_t *act__ext(act__actor_t *a)
{
    if (!a->ext)
        a->ext = act_xcalloc(1, sizeof *a->ext);
    return a->ext;
}

void act__ext_free(act__actor_t *a)
{
    if (!a->ext)
        return;
    act__map_deinit(&a->ext->links);
    act__map_deinit(&a->ext->monitors);
    act__map_deinit(&a->ext->watchers);
    act_free(a->ext->exit_text);
    act_free(a->ext);
    a->ext = NULL;
}

/* ---- spawn ---------------------------------------------------------------------------------- */

#define ALIGN16(n) (((n) + 15) & ~(size_t)15)

static act__actor_t *caller_actor(act__thread_t *t)
{
    if (t->current)
        return t->current;
    return t->sched ? NULL : act__proxy_new(t);
}

int act_spawn(const act_spawn_opts_t *o, act_pid_t *out)
{
    if (!o || !o->behaviour == !o->fiber || (o->behaviour && !o->behaviour->handle))
        return ACT_EBADARG;
    act__thread_t *t = act__thread();
    if (!t)
        return ACT_ENOTRUNNING;
    if (atomic_load_explicit(&act__sys.state, memory_order_acquire) != ACT__SYS_RUNNING)
        return ACT_ESHUTDOWN;
    int32_t pin = -1;
    if (o->sched == ACT_SCHED_SELF) {
        pin = t->sched ? t->sched->index : -1;
    } else if (o->sched > 0) {
        if ((unsigned)o->sched > act__sys.nsched)
            return ACT_ENOSCHED;
        pin = o->sched - 1;
    } else if (o->sched < 0) {
        return ACT_EBADARG;
    }
    act__actor_t *parent = NULL;
    if (o->link || o->monitor) {
        parent = caller_actor(t);
        if (!parent)
            return ACT_EBADARG; /* a libuv callback has no actor to link */
    }

    size_t head = ALIGN16(sizeof(act__actor_t));
    size_t extra = o->fiber ? sizeof(act__fib_t) : o->state_size;
    act__actor_t *a = act_malloc(head + extra);
    if (!a)
        return ACT_ENOMEM;
    act_pid_t pid;
    int rc = act__slot_alloc(&t->slots, &pid);
    if (rc) {
        act_free(a);
        return rc;
    }
    memset(a, 0, head + extra);
    act__mpsc_init(&a->mbox, false);
    a->pid = pid;
    atomic_init(&a->sched, pin);
    atomic_init(&a->last_sched, -1);
    a->trap_exit = o->trap_exit;
    a->init_arg = o->arg;
    if (o->fiber) {
        a->kind = ACT__FIBER;
        a->fib = (act__fib_t *)((char *)a + head);
        a->fib->fn = o->fiber;
        a->fib->arg = o->arg;
        a->fib->stack_size = o->stack_size ? act__stack_round(o->stack_size) : 0;
    } else {
        a->kind = ACT__PLAIN;
        a->beh = o->behaviour;
        a->state = o->state_size ? (char *)a + head : o->state;
    }
    if (o->link) {
        act__map_put(&act__ext(a)->links, parent->pid, 1);
        act__map_put(&act__ext(parent)->links, pid, 1);
        atomic_store_explicit(&a->nlinks, 1, memory_order_relaxed);
        atomic_fetch_add_explicit(&parent->nlinks, 1, memory_order_relaxed);
    }
    if (o->monitor) {
        act_ref_t ref = t->ref_hi | ++t->ref_next;
        act__map_put(&act__ext(parent)->monitors, ref, pid);
        act__map_put(&act__ext(a)->watchers, ref, parent->pid);
        atomic_fetch_add_explicit(&parent->nmonitors, 1, memory_order_relaxed);
        *o->monitor = ref;
    }
    atomic_fetch_add_explicit(&act__sys.live[t->live_shard].n, 1, memory_order_relaxed);
    /* release: publishes the initialized actor to senders (act__lookup's acquire). */
    atomic_store_explicit(&act__slot_at((uint32_t)pid)->actor, a, memory_order_release);
    if (out)
        *out = pid;
    act__schedule(a, false);
    charge(t);
    return 0;
}

/* ---- exits ---------------------------------------------------------------------------------- */

int act_stop(int reason)
{
    act__thread_t *t = act__thread();
    if (t && t->current)
        t->current->stop_reason = reason;
    return ACT__STOP_MARK;
}

void act_fail(int reason)
{
    act__thread_t *t = act__thread();
    act__actor_t *a = t ? t->current : NULL;
    if (!a || a->kind == ACT__PROXY || (a->kind == ACT__PLAIN && !t->fail_jmp))
        act_fatal("act_fail(%s) outside an actor", act_reason_str(reason));
    t->fail_reason = reason;
    if (a->kind == ACT__FIBER)
        longjmp(a->fib->exit_jmp, 1);
    longjmp(*t->fail_jmp, 1);
}

void act_failf(int reason, const char *fmt, ...)
{
    act__thread_t *t = act__thread();
    act__actor_t *a = t ? t->current : NULL;
    if (a && a->kind != ACT__PROXY) {
        char buf[512];
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(buf, sizeof buf, fmt, ap);
        va_end(ap);
        act__ext_t *x = act__ext(a);
        act_free(x->exit_text);
        x->exit_text = act_strdup(buf);
    }
    act_fail(reason);
}

static void drain(act__actor_t *a)
{
    act__node_t *n;
    while ((n = act__mpsc_pop(&a->mbox)) != NULL) {
        count_dequeued(a);
        act__signal_dead(a, msg_of(n));
    }
}

void act__die(act__actor_t *a, int reason, const char *text)
{
    act__thread_t *t = act__tls;
    a->status = ACT__EXITING;
    a->exit_reason = reason;
    if (text && *text) {
        act__ext_t *x = act__ext(a);
        act_free(x->exit_text);
        x->exit_text = act_strdup(text);
    }
    if (a->kind == ACT__PLAIN && a->beh->terminate) {
        /* An act_fail inside terminate ends terminate, not the death already under way. */
        jmp_buf jb;
        jmp_buf *saved = t->fail_jmp;
        t->fail_jmp = &jb;
        if (setjmp(jb) == 0)
            a->beh->terminate(a->state, reason);
        t->fail_jmp = saved;
    }
    /* seq_cst: pairs with act_register's check (a Dekker handshake on slot and `named`). */
    act__slot_t *slot = act__slot_at((uint32_t)a->pid);
    atomic_store_explicit(&slot->actor, NULL, memory_order_seq_cst);
    if (atomic_load_explicit(&a->named, memory_order_seq_cst))
        act__registry_drop_pid(a);
    act__signal_notify_exit(a, reason, a->ext ? a->ext->exit_text : NULL);
    if (a->kind == ACT__FIBER)
        act__rcv_free(&a->fib->rcv);
    else if (a->kind == ACT__PROXY)
        act__rcv_free(&a->proxy->rcv);
    drain(a);
    a->status = ACT__DEAD;
    act__slot_free(&t->slots, (uint32_t)a->pid);
    if (a->kind != ACT__PROXY)
        atomic_fetch_sub_explicit(&act__sys.live[t->live_shard].n, 1, memory_order_release);
}

static void actor_free(act__epoch_entry_t *e)
{
    act__actor_t *a = ACT_CONTAINER_OF(e, act__actor_t, retire);
    /* No sender can reach the actor any more: this drain is the last. */
    drain(a);
    act__ext_free(a);
    if (a->kind == ACT__PROXY) {
        sem_destroy(&a->proxy->sem);
        act_free(a->proxy);
    }
    act_free(a);
}

void act__finalize(act__sched_t *s, act__actor_t *a)
{
    if (a->kind == ACT__FIBER && a->fib->started) {
        act__fiber_deinit(&a->fib->fiber);
        act__stack_put(&s->stacks, a->fib->fiber.stack);
    }
    act__epoch_retire(s->thr.epoch, &a->retire, actor_free);
}

int act_exit(act_pid_t pid, int reason)
{
    act__thread_t *t = act__thread();
    if (!t)
        return ACT_ENOTRUNNING;
    act_pid_t self = t->current ? t->current->pid : ACT_PID_NONE;
    act_down_t *d = act__down_new(ACT__SIG_EXIT, self, reason, NULL);
    return act__send_from(pid, &d->hdr, self);
}

void act__kill_all(void)
{
    act__thread_t *t = act__thread();
    uint32_t hw = act__slot_high_water();
    for (uint32_t i = 1; i < hw; i++) {
        act__slot_t *slot = act__slot_at(i);
        if (!slot)
            break;
        act__epoch_enter(t->epoch);
        act__actor_t *a = atomic_load_explicit(&slot->actor, memory_order_acquire);
        act_pid_t pid = (a && a->kind != ACT__PROXY) ? a->pid : ACT_PID_NONE;
        act__epoch_exit(t->epoch);
        if (pid)
            act_exit(pid, ACT_KILL);
    }
}

/* ---- turns ---------------------------------------------------------------------------------- */

static int handler_reason(act__actor_t *a, int rc)
{
    return rc == ACT__STOP_MARK ? a->stop_reason : rc;
}

void act__run_plain(act__sched_t *s, act__actor_t *a)
{
    act__thread_t *t = &s->thr;
    jmp_buf jb;
    t->fail_jmp = &jb;
    if (setjmp(jb) != 0) {
        /* act_fail: the message being handled goes with the actor. */
        act_msg_t *m = t->cur_msg;
        t->cur_msg = NULL;
        if (m && !t->cur_kept)
            act_msg_free(m);
        act__die(a, t->fail_reason, NULL);
        goto dead;
    }
    if (ACT_UNLIKELY(!a->started)) {
        a->started = true;
        if (a->beh->init) {
            int rc = a->beh->init(a->state, a->init_arg);
            if (rc) {
                act__die(a, handler_reason(a, rc), NULL);
                goto dead;
            }
        }
    }
    unsigned batch = act__sys.cfg.batch;
    unsigned n = 0;
    for (; n < batch; n++) {
        act__node_t *node = act__mpsc_pop(&a->mbox);
        if (!node)
            break;
        count_dequeued(a);
        act_msg_t *m = msg_of(node);
        if (ACT_UNLIKELY(m->type < ACT_MSG_USER)) {
            int reason;
            char *text = NULL;
            int what = act__signal(a, m, &reason, &text);
            if (what == ACT__SIG_CONSUMED)
                continue;
            if (what == ACT__SIG_DIE) {
                act__die(a, reason, text);
                act_free(text);
                goto dead;
            }
        }
        t->cur_msg = m;
        t->cur_kept = false;
        int rc = a->beh->handle(a->state, m);
        t->cur_msg = NULL;
        if (!t->cur_kept)
            act_msg_free(m);
        if (ACT_UNLIKELY(rc != 0)) {
            act__die(a, handler_reason(a, rc), NULL);
            goto dead;
        }
    }
    t->fail_jmp = NULL;
    if (n == batch || !act__mpsc_mark_idle(&a->mbox))
        act__requeue(s, a);
    return;
dead:
    t->fail_jmp = NULL;
    act__finalize(s, a);
}

static void fiber_entry(void *arg)
{
    act__actor_t *a = arg;
    act__fib_t *f = a->fib;
    volatile int reason = ACT_NORMAL;
    if (setjmp(f->exit_jmp) == 0)
        f->fn(f->arg);
    else
        reason = act__tls->fail_reason;
    act__die(a, reason, NULL);
    act__fiber_exit_to(&f->fiber, &act__tls->sched->thread_fiber);
}

void act__run_fiber(act__sched_t *s, act__actor_t *a)
{
    act__fib_t *f = a->fib;
    if (ACT_UNLIKELY(!f->started)) {
        act__stack_t *st = act__stack_get(&s->stacks, f->stack_size);
        if (!st) {
            act__die(a, ACT_ENOMEM, "no memory for a fiber stack");
            act__finalize(s, a);
            return;
        }
        act__fiber_init(&f->fiber, st, fiber_entry, a);
        /* A fiber stays on the thread that first ran it (actor.h says why). */
        atomic_store_explicit(&a->sched, s->index, memory_order_relaxed);
        f->started = true;
        a->started = true;
    }
    f->taken = 0;
    a->status = ACT__RUNNABLE;
    act__fiber_switch(&s->thread_fiber, &f->fiber);
    switch (a->status) {
    case ACT__DEAD:
        act__finalize(s, a);
        break;
    case ACT__WAITING:
        if (!act__mpsc_mark_idle(&a->mbox))
            act__requeue(s, a);
        break;
    default:
        act__requeue(s, a);
        break;
    }
}

void act__fiber_suspend(act__actor_t *a, uint8_t status)
{
    a->status = status;
    act__fiber_switch(&a->fib->fiber, &act__tls->sched->thread_fiber);
    a->status = ACT__RUNNABLE;
}

/* ---- proxies of foreign threads ------------------------------------------------------------- */

act__actor_t *act__proxy_new(act__thread_t *t)
{
    act__actor_t *a = act_xcalloc(1, sizeof *a);
    a->proxy = act_xcalloc(1, sizeof *a->proxy);
    act_pid_t pid;
    if (act__slot_alloc(&t->slots, &pid) != 0) {
        act_free(a->proxy);
        act_free(a);
        return NULL;
    }
    sem_init(&a->proxy->sem, 0, 0);
    act__mpsc_init(&a->mbox, false);
    a->pid = pid;
    a->kind = ACT__PROXY;
    a->trap_exit = true; /* a thread cannot be killed: exit signals become messages */
    a->started = true;
    atomic_init(&a->sched, -1);
    atomic_init(&a->last_sched, -1);
    t->current = a;
    atomic_store_explicit(&act__slot_at((uint32_t)pid)->actor, a, memory_order_release);
    return a;
}

void act__proxy_die(act__thread_t *t)
{
    act__actor_t *a = t->current;
    act__die(a, ACT_NORMAL, NULL);
    t->current = NULL;
    /* Foreign threads never poll the collector: let a scheduler free it. */
    act__epoch_retire(NULL, &a->retire, actor_free);
}

void act__proxy_free_all(void)
{
    /* Every scheduler has stopped: free the proxies at once. */
    for (act__thread_t *t = act__sys.foreign; t; t = t->next_foreign) {
        act__actor_t *a = t->current;
        if (!a)
            continue;
        act__rcv_free(&a->proxy->rcv);
        atomic_store_explicit(&act__slot_at((uint32_t)a->pid)->actor, NULL, memory_order_relaxed);
        t->current = NULL;
        actor_free(&a->retire);
    }
}
