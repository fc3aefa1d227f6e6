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
 * setjmp, once per turn), to the fiber's base frame for a fiber (fiber_entry), or, in a fiber
 * inside act_catch, to the innermost catch (a chain of frames on the fiber's own stack). Exit
 * signals (act__fail_signal) drop the chain first: a kill is never caught.
 */
#include <execinfo.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "actor_int.h"

static inline act_msg_t *msg_of(act__node_t *n)
{
    return ACT_CONTAINER_OF(n, act_msg_t, _node);
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

int act__handle_held(int (*fn)(void *state, act_msg_t *msg), void *state, act_msg_t *msg)
{
    act__thread_t *t = act__tls;
    act_msg_t *outer = t->cur_msg;
    bool outer_kept = t->cur_kept;
    t->cur_msg = msg;
    t->cur_kept = false;
    int rc = fn(state, msg);
    bool kept = t->cur_kept;
    t->cur_msg = outer;
    t->cur_kept = outer_kept;
    if (!kept)
        act_msg_free(msg);
    return rc;
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
    if (a && a->kind == ACT__FIBER && t->sched &&
        ACT_UNLIKELY(atomic_load_explicit(&a->kill_pending, memory_order_relaxed)) &&
        a->status == ACT__RUNNABLE)
        act__fail_signal(ACT_KILLED);
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
    /* A foreign thread (main, say) sends as its proxy, made on its first send as on its first
     * receive: the receiver's reply to `from` reaches it, as a shell's message in Erlang does.
     * A scheduler's thread between turns (a libuv callback) is nobody. */
    act__actor_t *self = t->current ? t->current : t->sched ? NULL : act__proxy_new(t);
    msg->from = self ? self->pid : ACT_PID_NONE;
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

void act__info_answer(act__actor_t *a)
{
    if (ACT_LIKELY(!atomic_load_explicit(&a->info_req, memory_order_relaxed)))
        return;
    /* The owner may walk its own queue: only it frees the nodes. */
    uint32_t n = 0;
    for (act__node_t *x = a->mbox.tail; x && n < UINT32_MAX;
         x = atomic_load_explicit(&x->next, memory_order_acquire))
        n += x != &a->mbox.stub;
    atomic_store_explicit(&a->info_len, n, memory_order_relaxed);
    atomic_store_explicit(&a->info_req, false, memory_order_release); /* pairs with act_info */
}

/* Fills what can be read without the owner; returns whether the mailbox length is known. */
static bool info_snapshot(act__actor_t *a, act_info_t *info, bool asked)
{
    int32_t pin = atomic_load_explicit(&a->sched, memory_order_relaxed);
    *info = (act_info_t){
        .pid = a->pid,
        .behaviour = a->kind == ACT__FIBER   ? "fiber"
                     : a->kind == ACT__PROXY ? "proxy"
                                             : (a->beh->name ? a->beh->name : "actor"),
        .sched = atomic_load_explicit(&a->last_sched, memory_order_relaxed),
        .pinned = pin >= 0,
        /* Owner-written; act_trap_exit stores it atomically for this read. */
        .trap_exit = __atomic_load_n(&a->trap_exit, __ATOMIC_RELAXED),
        .links = atomic_load_explicit(&a->nlinks, memory_order_relaxed),
        .monitors = atomic_load_explicit(&a->nmonitors, memory_order_relaxed),
    };
    size_t saved = atomic_load_explicit(&a->saved, memory_order_relaxed);
    info->mailbox_len = saved;
    /* An idle mailbox is empty: the owner marks it idle only when it found nothing left. */
    if (atomic_load_explicit(&a->mbox.head, memory_order_acquire) & ACT__MPSC_IDLE) {
        info->mailbox_known = true;
    } else if (asked && !atomic_load_explicit(&a->info_req, memory_order_acquire)) {
        info->mailbox_len += atomic_load_explicit(&a->info_len, memory_order_relaxed);
        info->mailbox_known = true;
    } else if (!asked) {
        atomic_store_explicit(&a->info_req, true, memory_order_seq_cst);
    }
    return info->mailbox_known;
}

int act_info(act_pid_t pid, act_info_t *info)
{
    act__thread_t *t = act__thread();
    if (!t)
        return ACT_ENOTRUNNING;
    if (t->current && t->current->pid == pid) {
        /* Asking about oneself: the owner counts its own queue. */
        act__actor_t *a = t->current;
        atomic_store_explicit(&a->info_req, true, memory_order_relaxed);
        act__info_answer(a);
        info_snapshot(a, info, true);
        return 0;
    }
    /* A busy actor answers at the end of its turn (a fiber or a foreign thread also when it
     * takes a message): wait for it where waiting is allowed, without receiving, so the
     * caller's own mailbox is left alone. */
    bool can_wait = !t->sched || (t->current && t->current->kind == ACT__FIBER);
    int64_t deadline = act_now_ms() + 100;
    for (bool asked = false;; asked = true) {
        act__epoch_enter(t->epoch);
        act__actor_t *a = act__lookup(pid);
        bool known = a && info_snapshot(a, info, asked);
        act__epoch_exit(t->epoch);
        if (!a)
            return ACT_ENOPROC;
        if (known || !can_wait || act_now_ms() > deadline)
            return 0;
        if (t->sched)
            act_yield();
        else
            usleep(1000);
    }
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
    act__links_free(a->ext);
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
    if (o->fiber) {
        a->kind = ACT__FIBER;
        a->fib = (act__fib_t *)((char *)a + head);
        a->fib->fn = o->fiber;
        a->fib->arg = o->arg;
        a->fib->stack_size = o->stack_size ? act__stack_round(o->stack_size) : 0;
    } else {
        a->kind = ACT__PLAIN;
        a->init_arg = o->arg;
        a->beh = o->behaviour;
        a->state = o->state_size ? (char *)a + head : o->state;
    }
    if (o->link) {
        act__links_add(a, parent->pid);
        act__links_add(parent, pid);
    }
    if (o->monitor) {
        act_ref_t ref = t->ref_hi | ++t->ref_next;
        act__map_put(&act__ext(parent)->monitors, ref, pid);
        act__map_put(&act__ext(a)->watchers, ref, parent->pid);
        atomic_fetch_add_explicit(&parent->nmonitors, 1, memory_order_relaxed);
        *o->monitor = ref;
    }
    act__live_add(t, 1);
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

int act__exit_reason_of(int rc)
{
    act__thread_t *t = act__thread();
    if (rc == ACT__STOP_MARK && t && t->current)
        return t->current->stop_reason;
    return rc;
}

/* An act_catch in progress, on the fiber's stack. */
typedef struct act__catch {
    jmp_buf jb;
    struct act__catch *prev;
    act_failure_t *out;
} act__catch_t;

/* Unwinds the calling actor with `reason`: to its innermost catch, else out of the actor. The
 * catch's backtrace starts at `caller`, the return address into the code that called act_fail
 * (the frames of act_fail itself are dropped, however the compiler laid them out). */
static __attribute__((noreturn, noinline)) void fail(int reason, void *caller)
{
    act__thread_t *t = act__thread();
    act__actor_t *a = t ? t->current : NULL;
    if (!a || a->kind == ACT__PROXY || (a->kind == ACT__PLAIN && !t->fail_jmp))
        act_fatal("act_fail(%s) outside an actor", act_reason_str(reason));
    t->fail_reason = reason;
    if (a->kind == ACT__PLAIN)
        longjmp(*t->fail_jmp, 1);
    act__catch_t *c = a->fib->catch_top;
    if (c) {
        act_failure_t *out = c->out;
        void *frames[ACT_BACKTRACE_MAX + 4];
        int n = backtrace(frames, ACT_BACKTRACE_MAX + 4);
        int from = 0;
        while (from < n && frames[from] != caller)
            from++;
        if (from == n)
            from = n > 1 ? 1 : 0; /* not found (a tail call): keep all but this frame */
        out->nframes = n - from > ACT_BACKTRACE_MAX ? ACT_BACKTRACE_MAX : n - from;
        memcpy(out->frames, frames + from, (size_t)out->nframes * sizeof(void *));
        out->reason = reason;
        a->fib->catch_top = c->prev;
        longjmp(c->jb, 1);
    }
    longjmp(a->fib->exit_jmp, 1);
}

void act_fail(int reason)
{
    fail(reason, __builtin_return_address(0));
}

void act__fail_signal(int reason)
{
    act__thread_t *t = act__thread();
    if (t && t->current && t->current->kind == ACT__FIBER)
        t->current->fib->catch_top = NULL;
    fail(reason, NULL);
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
        if (a->kind == ACT__FIBER && a->fib->catch_top) {
            memcpy(a->fib->catch_top->out->text, buf, sizeof buf);
        } else {
            act__ext_t *x = act__ext(a);
            act_free(x->exit_text);
            x->exit_text = act_strdup(buf);
        }
    }
    fail(reason, __builtin_return_address(0));
}

int act_catch(void (*fn)(void *arg), void *arg, act_failure_t *out)
{
    act__thread_t *t = act__thread();
    act__actor_t *a = t ? t->current : NULL;
    if (!a || a->kind != ACT__FIBER)
        return ACT_ENOTFIBER;
    act__catch_t c;
    c.prev = a->fib->catch_top;
    c.out = out;
    out->reason = ACT_NORMAL;
    out->text[0] = '\0';
    out->nframes = 0;
    a->fib->catch_top = &c;
    if (setjmp(c.jb) == 0) {
        fn(arg);
        a->fib->catch_top = c.prev;
        return 0;
    }
    /* fail() popped this catch and filled *out. */
    return 1;
}

static void drain(act__actor_t *a)
{
    act__node_t *n;
    while ((n = act__mpsc_pop(&a->mbox)) != NULL) {
        act__signal_dead(a, msg_of(n));
    }
}

void act__die(act__actor_t *a, int reason, const char *text)
{
    act__thread_t *t = act__tls;
    a->status = ACT__EXITING;
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
        act__rcv_free(a, &a->fib->rcv);
    else if (a->kind == ACT__PROXY)
        act__rcv_free(a, &a->proxy->rcv);
    drain(a);
    a->status = ACT__DEAD;
    act__slot_free(&t->slots, (uint32_t)a->pid);
    if (a->kind != ACT__PROXY)
        act__live_add(t, -1);
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
    if (reason == ACT_KILL) {
        act__epoch_enter(t->epoch);
        act__actor_t *a = act__lookup(pid);
        if (a && a->kind != ACT__PROXY)
            atomic_store_explicit(&a->kill_pending, true, memory_order_relaxed);
        act__epoch_exit(t->epoch);
    }
    /* The signal itself wakes the victim (and is what a proxy receives); the push's release
     * orders the flag before it. */
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
        /* init runs even for an actor killed before its first turn: it owns its argument. */
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
        act_msg_t *m = msg_of(node);
        int reason;
        int what = act__signal_take(a, m, &reason);
        if (ACT_UNLIKELY(what != ACT__SIG_DELIVER)) {
            if (what == ACT__SIG_CONSUMED)
                continue;
            act__die(a, reason, NULL); /* the signal's text waits in a->ext */
            goto dead;
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
    act__info_answer(a);
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
    /* act_fiber_on_exit's callback, once: an act_fail inside it comes back to the setjmp above
     * with the callback already cleared. */
    if (f->on_exit) {
        void (*fn)(void *, int) = f->on_exit;
        f->on_exit = NULL;
        /* The fiber is exiting: a kill already landed, and the hook's sends must neither yield
         * nor unwind it half-way (charge checks both). */
        a->status = ACT__EXITING;
        atomic_store_explicit(&a->kill_pending, false, memory_order_relaxed);
        fn(f->on_exit_arg, reason);
    }
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
    if (a->status != ACT__DEAD)
        act__info_answer(a);
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

int act_fiber_on_exit(void (*fn)(void *arg, int reason), void *arg)
{
    act__thread_t *t = act__thread();
    act__actor_t *a = t ? t->current : NULL;
    if (!a || a->kind != ACT__FIBER || !t->sched)
        return ACT_ENOTFIBER;
    a->fib->on_exit = fn;
    a->fib->on_exit_arg = arg;
    return 0;
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
        act__rcv_free(a, &a->proxy->rcv);
        atomic_store_explicit(&act__slot_at((uint32_t)a->pid)->actor, NULL, memory_order_relaxed);
        t->current = NULL;
        actor_free(&a->retire);
    }
}
