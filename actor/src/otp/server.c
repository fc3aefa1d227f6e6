/*
 * Servers (server.h): gen_server as a plain actor.
 *
 * A server is one plain actor whose behaviour is srv_beh below; its inline state is a small
 * header (the user's callback table and the parent's pid) followed by the user's state_size
 * bytes, so a server costs one allocation and one indirect call per message over a bare
 * actor, and stays in the allocator's 160-byte class (actor_int.h). The starter passes a start
 * record (act_malloc'd, owned by the child from the spawn on) as init's argument; srv_init
 * frees it before it runs the user's init, so a crash in init leaks nothing, and acknowledges
 * the result (otp_int.h's handshake).
 *
 * Calls are recognized by the reference act_call puts in the request (user messages are
 * allocated with ref 0; replies carry a reference too but are flagged), casts by
 * ACT__MSG_CAST, which act_server_cast sets.
 *
 * What few servers use lives in a side block (srv_sys_t), allocated on first use and marked by
 * the low bit of the header's table pointer: the idle timeout's timer and the messages set
 * aside while suspended.
 * - Continue and timeout are return markers, like act_stop's: act_server_continue(arg) and
 *   act_server_timeout(ms) leave their argument in a thread-local and return the marker; the
 *   server reads it as soon as the callback returns, on the same thread (after() below).
 * - The idle timeout is a timer sending ACT_MSG_SERVER_TIMEOUT with a fresh reference; every
 *   message the server handles cancels it, and a timeout that fired anyway (it was queued
 *   behind that message) carries a stale reference and is dropped.
 * - Suspended, the server answers only system requests (sys), a stop and its parent's exit;
 *   everything else is kept, in order, on `held`. On resume it replays them in batches, one
 *   DRAIN message to itself per batch, and keeps setting aside what arrives until the list is
 *   empty, so each sender's messages are handled in the order sent.
 */
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

#include "otp_int.h"

/* Return markers of act_server_continue, act_server_timeout and act_server_ignore (act_stop's
 * is the core's). */
#define CONTINUE_MARK 0x7fffffe1
#define TIMEOUT_MARK 0x7fffffe2
#define IGNORE_MARK 0x7fffffe3

/* Held messages replayed per DRAIN turn. */
#define DRAIN_BATCH 64

static _Thread_local void *continue_arg;
static _Thread_local int64_t timeout_after;

/* The behaviour's name, which act_info reports: walks recognize servers by its address. */
const char act__server_kind[] = "server";

typedef struct srv_sys {
    const act_server_t *srv;
    act_msg_t *held; /* set aside while suspended or draining, oldest first */
    act_msg_t *held_tail;
    size_t nheld;
    act_timer_t timer;   /* the idle timeout, or 0 */
    act_ref_t timer_ref; /* the ref its message carries */
    bool suspended;
    bool draining; /* a DRAIN is on its way: keep setting messages aside */
} srv_sys_t;

typedef struct {
    uintptr_t srv;    /* const act_server_t *, or srv_sys_t * | 1 */
    act_pid_t parent; /* the linked starter, or ACT_PID_NONE */
} srv_hdr_t;

#define SRV_HDR ((sizeof(srv_hdr_t) + 15) & ~(size_t)15)
_Static_assert(SRV_HDR == 16, "a server's header keeps it in its size class (actor_int.h)");

typedef struct {
    const act_server_t *srv;
    void *arg;
    act_pid_t starter;
    bool ack;    /* the starter waits for an ACK */
    bool linked; /* the starter is linked (and is the parent) */
    char name[]; /* "" or the name to register */
} srv_start_t;

typedef struct {
    act_msg_t hdr;
    int reason;
} srv_stop_t;

/* ACT_MSG_SERVER_TIMEOUT: which arming it comes from (not in hdr.ref: that would make it a
 * call). */
typedef struct {
    act_msg_t hdr;
    act_ref_t token;
} srv_timeout_t;

/* System requests (act_call) and their replies. */
enum { SYS_STATUS, SYS_STATE, SYS_SUSPEND, SYS_RESUME };

typedef struct {
    act_msg_t hdr;
    int op;
} srv_sys_req_t;

typedef struct {
    act_msg_t hdr;
    act_server_status_t status; /* SYS_STATUS */
    size_t size;                /* SYS_STATE: state_size, copied to data */
    _Alignas(16) unsigned char data[];
} srv_sys_reply_t;

static inline void *ustate(srv_hdr_t *h)
{
    return (char *)h + SRV_HDR;
}

static inline srv_sys_t *sys_of(const srv_hdr_t *h)
{
    return (h->srv & 1) ? (srv_sys_t *)(h->srv & ~(uintptr_t)1) : NULL;
}

static inline const act_server_t *srv_of(const srv_hdr_t *h)
{
    srv_sys_t *sys = sys_of(h);
    return sys ? sys->srv : (const act_server_t *)h->srv;
}

/* The side block, allocated on first use (stops the process if memory runs out: a few dozen
 * bytes, like a message). */
static srv_sys_t *sys_get(srv_hdr_t *h)
{
    srv_sys_t *sys = sys_of(h);
    if (sys)
        return sys;
    sys = act_calloc(1, sizeof *sys);
    if (!sys)
        act_fatal("server: out of memory");
    sys->srv = (const act_server_t *)h->srv;
    h->srv = (uintptr_t)sys | 1;
    return sys;
}

int act_server_continue(void *arg)
{
    continue_arg = arg;
    return CONTINUE_MARK;
}

int act_server_timeout(int64_t ms)
{
    timeout_after = ms;
    return TIMEOUT_MARK;
}

int act_server_ignore(void)
{
    return IGNORE_MARK;
}

/* ---- the idle timeout ------------------------------------------------------------------- */

static void timeout_cancel(srv_hdr_t *h)
{
    srv_sys_t *sys = sys_of(h);
    if (!sys || !sys->timer)
        return;
    act_timer_cancel(sys->timer, NULL); /* fired already: its message is stale, dropped */
    sys->timer = 0;
    sys->timer_ref = 0;
}

static void timeout_arm(srv_hdr_t *h, int64_t ms)
{
    timeout_cancel(h);
    if (ms < 0)
        return; /* ACT_INFINITY */
    srv_sys_t *sys = sys_get(h);
    srv_timeout_t *m = act_msg_new(srv_timeout_t, ACT_MSG_SERVER_TIMEOUT);
    m->token = sys->timer_ref = act_make_ref();
    if (act_send_after(act_self(), ms, &m->hdr, &sys->timer) != 0) {
        sys->timer = 0;
        sys->timer_ref = 0;
    }
}

/* What the callback's return value rc asks for: handle_continue now (before any other
 * message), an idle timeout, or the rest (0, the act_stop marker, an error) for the core. */
static int after(srv_hdr_t *h, int rc)
{
    while (rc == CONTINUE_MARK) {
        const act_server_t *srv = srv_of(h);
        void *arg = continue_arg;
        if (!srv->handle_continue)
            act_failf(ACT_CRASH, "server without handle_continue asked to continue");
        rc = srv->handle_continue(ustate(h), arg);
    }
    if (rc == TIMEOUT_MARK) {
        timeout_arm(h, timeout_after);
        return 0;
    }
    if (rc == IGNORE_MARK)
        act_failf(ACT_CRASH, "act_server_ignore returned outside init");
    return rc;
}

/* ---- handling messages ------------------------------------------------------------------ */

static int srv_init(void *state, void *arg)
{
    srv_start_t *r = arg;
    srv_hdr_t *h = state;
    h->srv = (uintptr_t)r->srv;
    h->parent = r->linked ? r->starter : ACT_PID_NONE;
    act_pid_t starter = r->starter;
    bool ack = r->ack;
    bool linked = r->linked;
    void *uarg = r->arg;
    const act_server_t *srv = r->srv;
    /* init may unwind (act_fail): nothing of r may be needed after it. */
    char name[ACT_NAME_MAX + 1];
    bool named = r->name[0] != '\0';
    if (named)
        snprintf(name, sizeof name, "%s", r->name);
    act_free(r);
    int rc = named ? act_register(name, act_self()) : 0;
    if (rc == 0 && srv->init)
        rc = srv->init(ustate(h), uarg);
    if (rc == 0 || rc == CONTINUE_MARK || rc == TIMEOUT_MARK) {
        /* The starter goes on first: a continuation runs after the start returned. */
        if (ack)
            act__ack(starter, 0, NULL);
        return after(h, rc);
    }
    /* A failed or ignored start: the name is free by the time the starter learns it
     * (OTP-7669), so it can start another at once. (A crash in init releases it as the actor
     * exits, as OTP's does.) */
    if (named && act_whereis(name) == act_self())
        act_unregister(name);
    bool ignored = rc == IGNORE_MARK;
    if (ignored)
        rc = act_stop(ACT_NORMAL);
    if (ack) {
        int status = ignored ? ACT__START_IGNORED : act__init_status(rc);
        if (linked)
            act_unlink(starter);
        act__ack(starter, status, NULL);
    }
    return rc;
}

/* A call, a cast or any other message: the user's callbacks. */
static int dispatch(void *state, act_msg_t *m)
{
    srv_hdr_t *h = state;
    const act_server_t *srv = srv_of(h);
    void *u = ustate(h);
    timeout_cancel(h); /* a message came: the idle timeout is off */
    int rc;
    if (m->ref && !act_msg_is_reply(m)) {
        if (!srv->handle_call)
            act_failf(ACT_CRASH, "server without handle_call got a call (type %u)", m->type);
        act_msg_t *reply = NULL;
        rc = srv->handle_call(u, m, &reply);
        if (reply)
            act_reply(m, reply);
    } else if (m->_flags & ACT__MSG_CAST) {
        rc = srv->handle_cast ? srv->handle_cast(u, m) : 0;
    } else {
        rc = srv->handle_info ? srv->handle_info(u, m) : 0;
    }
    return after(h, rc);
}

/* Sets m (the message being handled) aside until the server resumes. */
static void hold(srv_hdr_t *h, act_msg_t *m)
{
    srv_sys_t *sys = sys_of(h);
    act_msg_keep(m);
    atomic_store_explicit(&m->_node.next, NULL, memory_order_relaxed);
    if (sys->held_tail)
        atomic_store_explicit(&sys->held_tail->_node.next, &m->_node, memory_order_relaxed);
    else
        sys->held = m;
    sys->held_tail = m;
    sys->nheld++;
}

static act_msg_t *unhold(srv_sys_t *sys)
{
    act_msg_t *m = sys->held;
    if (!m)
        return NULL;
    act__node_t *next = atomic_load_explicit(&m->_node.next, memory_order_relaxed);
    sys->held = next ? ACT_CONTAINER_OF(next, act_msg_t, _node) : NULL;
    if (!sys->held)
        sys->held_tail = NULL;
    sys->nheld--;
    return m;
}

/* DRAIN: replays a batch of held messages (m, the DRAIN itself, is freed first: a replayed
 * callback that fails takes only its own message with it). */
static int drain(srv_hdr_t *h, act_msg_t *m)
{
    srv_sys_t *sys = sys_of(h);
    act_msg_keep(m);
    act_msg_free(m);
    for (int i = 0; i < DRAIN_BATCH && !sys->suspended; i++) {
        act_msg_t *held = unhold(sys);
        if (!held)
            break;
        int rc = act__handle_held(dispatch, h, held);
        if (rc)
            return rc;
    }
    if (sys->held && !sys->suspended)
        act_send(act_self(), act_msg_alloc(sizeof(act_msg_t), ACT__MSG_SRV_DRAIN));
    else
        sys->draining = false;
    return 0;
}

static void sys_answer(srv_hdr_t *h, act_msg_t *m)
{
    const act_server_t *srv = srv_of(h);
    int op = ((srv_sys_req_t *)m)->op;
    size_t size = op == SYS_STATE ? srv->state_size : 0;
    srv_sys_reply_t *r =
        (srv_sys_reply_t *)act_msg_alloc(sizeof(srv_sys_reply_t) + size, ACT__MSG_SRV_SYS_REPLY);
    memset((char *)r + sizeof(act_msg_t), 0, sizeof *r - sizeof(act_msg_t));
    srv_sys_t *sys = sys_of(h);
    switch (op) {
    case SYS_SUSPEND:
        sys_get(h)->suspended = true;
        break;
    case SYS_RESUME:
        if (sys && sys->suspended) {
            sys->suspended = false;
            if (sys->held && !sys->draining) {
                sys->draining = true;
                act_send(act_self(), act_msg_alloc(sizeof(act_msg_t), ACT__MSG_SRV_DRAIN));
            }
        }
        break;
    case SYS_STATE:
        r->size = size;
        memcpy(r->data, ustate(h), size);
        break;
    default: /* SYS_STATUS */
        r->status.name = srv->name ? srv->name : act__server_kind;
        r->status.suspended = sys && sys->suspended;
        r->status.waiting = sys ? sys->nheld : 0;
        if (srv->format_status)
            srv->format_status(ustate(h), r->status.summary, sizeof r->status.summary);
        r->status.summary[sizeof r->status.summary - 1] = '\0';
        break;
    }
    act_reply(m, &r->hdr);
}

static int srv_handle(void *state, act_msg_t *m)
{
    srv_hdr_t *h = state;
    switch (m->type) {
    case ACT__MSG_SRV_STOP:
        return act_stop(((srv_stop_t *)m)->reason);
    case ACT__MSG_SRV_SYS:
        sys_answer(h, m);
        return 0;
    case ACT__MSG_SRV_DRAIN:
        return drain(h, m);
    case ACT_MSG_EXIT:
        if (h->parent && ((act_down_t *)m)->pid == h->parent)
            return act_stop(((act_down_t *)m)->reason);
        break;
    case ACT_MSG_SERVER_TIMEOUT: {
        srv_sys_t *sys = sys_of(h);
        if (!sys || ((srv_timeout_t *)m)->token != sys->timer_ref)
            return 0;   /* a timeout that fired as a message came: stale */
        sys->timer = 0; /* it fired: nothing to cancel */
        break;
    }
    default:
        break;
    }
    srv_sys_t *sys = sys_of(h);
    if (sys && (sys->suspended || sys->draining)) {
        hold(h, m);
        return 0;
    }
    return dispatch(h, m);
}

static void srv_terminate(void *state, int reason)
{
    srv_hdr_t *h = state;
    if (!h->srv)
        return; /* init never ran to the header */
    const act_server_t *srv = srv_of(h);
    if (srv->terminate)
        srv->terminate(ustate(h), reason);
    srv_sys_t *sys = sys_of(h);
    if (sys) {
        timeout_cancel(h);
        act_msg_t *m;
        while ((m = unhold(sys)) != NULL)
            act_msg_free(m);
        act_free(sys);
    }
}

static const act_behaviour_t srv_beh = {
    .name = act__server_kind,
    .init = srv_init,
    .handle = srv_handle,
    .terminate = srv_terminate,
};

static int start(const act_server_t *srv, void *arg, const act_server_opts_t *opts, bool link,
                 act_pid_t *out)
{
    static const act_server_opts_t defaults;
    if (!opts)
        opts = &defaults;
    size_t nlen = opts->name ? strlen(opts->name) : 0;
    if (!srv || srv->state_size > (SIZE_MAX >> 2) || (opts->name && nlen == 0) ||
        nlen > ACT_NAME_MAX || opts->timeout_ms < ACT_INFINITY)
        return ACT_EBADARG;
    if (!act_system_running())
        return ACT_ENOTRUNNING;
    bool wait = !opts->no_wait;
    if (wait && !act__can_wait())
        return ACT_ENOTFIBER;
    srv_start_t *r = act_malloc(sizeof *r + nlen + 1);
    if (!r)
        return ACT_ENOMEM;
    *r = (srv_start_t){.srv = srv, .arg = arg, .starter = act_self(), .ack = wait, .linked = link};
    memcpy(r->name, opts->name ? opts->name : "", nlen + 1);
    act_ref_t mref = 0;
    act_spawn_opts_t o = {
        .behaviour = &srv_beh,
        .arg = r,
        .state_size = SRV_HDR + srv->state_size,
        .sched = opts->sched,
        .link = link,
        .trap_exit = opts->trap_exit,
        .monitor = wait && !(link && act__self_traps()) ? &mref : NULL,
    };
    act_pid_t pid;
    int rc = act_spawn(&o, &pid);
    if (rc) {
        act_free(r);
        return rc;
    }
    if (wait)
        rc = act__start_wait(pid, mref, opts->timeout_ms == 0 ? ACT_INFINITY : opts->timeout_ms);
    if (rc == ACT__START_IGNORED) {
        rc = 0;
        pid = ACT_PID_NONE;
    }
    if (rc == 0 && out)
        *out = pid;
    return rc;
}

int act_server_start_link(const act_server_t *srv, void *arg, const act_server_opts_t *opts,
                          act_pid_t *out)
{
    return start(srv, arg, opts, true, out);
}

int act_server_start(const act_server_t *srv, void *arg, const act_server_opts_t *opts,
                     act_pid_t *out)
{
    return start(srv, arg, opts, false, out);
}

int act_server_child_start(const act_child_start_t *cs, act_pid_t *out)
{
    act_server_opts_t o = {.name = cs->spec->name, .sched = cs->sched};
    return act_server_start_link(cs->spec->mod, cs->arg, &o, out);
}

int act_server_call_timeout(act_pid_t server, act_msg_t *req, int64_t timeout_ms, act_msg_t **reply,
                            int *reason)
{
    if (!req || !reply) {
        act_msg_free(req);
        return ACT_EBADARG;
    }
    return act_call(server, req, timeout_ms, reply, reason);
}

int act_server_call(act_pid_t server, act_msg_t *req, act_msg_t **reply)
{
    return act_server_call_timeout(server, req, ACT_SERVER_CALL_TIMEOUT, reply, NULL);
}

int act_server_call_name(const char *name, act_msg_t *req, act_msg_t **reply)
{
    act_pid_t pid = name ? act_whereis(name) : ACT_PID_NONE;
    if (!pid) {
        act_msg_free(req);
        return ACT_ENONAME;
    }
    return act_server_call(pid, req, reply);
}

int act_server_cast(act_pid_t server, act_msg_t *msg)
{
    if (!msg)
        return ACT_EBADARG;
    msg->ref = 0;
    msg->_flags |= ACT__MSG_CAST;
    return act_send(server, msg);
}

int act_server_cast_name(const char *name, act_msg_t *msg)
{
    act_pid_t pid = name ? act_whereis(name) : ACT_PID_NONE;
    if (!pid) {
        act_msg_free(msg);
        return ACT_ENONAME;
    }
    return act_server_cast(pid, msg);
}

bool act_msg_is_cast(const act_msg_t *msg)
{
    return (msg->_flags & ACT__MSG_CAST) != 0;
}

int act_server_stop(act_pid_t server, int reason, int64_t timeout_ms)
{
    if (timeout_ms < ACT_INFINITY)
        return ACT_EBADARG; /* the server is left alone */
    if (!act__can_wait())
        return act_system_running() ? ACT_ENOTFIBER : ACT_ENOTRUNNING;
    act_ref_t mref;
    int rc = act_monitor(server, &mref);
    if (rc)
        return rc;
    srv_stop_t *m = act_msg_new(srv_stop_t, ACT__MSG_SRV_STOP);
    m->reason = reason;
    act_send(server, &m->hdr);
    int why = 0;
    rc = act__await_down(server, mref, timeout_ms, &why);
    if (rc) {
        act_demonitor(mref, ACT_DEMONITOR_FLUSH);
        return rc;
    }
    return why == ACT_NOPROC ? ACT_ENOPROC : 0;
}

/* ---- sys -------------------------------------------------------------------------------- */

/* Sends system request op to server and waits for its answer (*out, owned by the caller). */
static int sys_call(act_pid_t server, int op, int64_t timeout_ms, srv_sys_reply_t **out)
{
    if (!act__can_wait())
        return act_system_running() ? ACT_ENOTFIBER : ACT_ENOTRUNNING;
    act_info_t info;
    int rc = act_info(server, &info);
    if (rc)
        return rc;
    if (info.behaviour != act__server_kind)
        return ACT_EBADARG;
    srv_sys_req_t *q = act_msg_new(srv_sys_req_t, ACT__MSG_SRV_SYS);
    q->op = op;
    act_msg_t *r;
    rc = act_call(server, &q->hdr, timeout_ms, &r, NULL);
    if (rc)
        return rc;
    *out = (srv_sys_reply_t *)r;
    return 0;
}

int act_server_get_status(act_pid_t server, act_server_status_t *out, int64_t timeout_ms)
{
    if (!out)
        return ACT_EBADARG;
    srv_sys_reply_t *r;
    int rc = sys_call(server, SYS_STATUS, timeout_ms, &r);
    if (rc)
        return rc;
    *out = r->status;
    act_msg_free(&r->hdr);
    return 0;
}

int act_server_get_state(act_pid_t server, void *buf, size_t len, size_t *size, int64_t timeout_ms)
{
    if (!buf && len)
        return ACT_EBADARG;
    srv_sys_reply_t *r;
    int rc = sys_call(server, SYS_STATE, timeout_ms, &r);
    if (rc)
        return rc;
    if (len)
        memcpy(buf, r->data, r->size < len ? r->size : len);
    if (size)
        *size = r->size;
    act_msg_free(&r->hdr);
    return 0;
}

static int sys_simple(act_pid_t server, int op, int64_t timeout_ms)
{
    srv_sys_reply_t *r;
    int rc = sys_call(server, op, timeout_ms, &r);
    if (rc == 0)
        act_msg_free(&r->hdr);
    return rc;
}

int act_server_suspend(act_pid_t server, int64_t timeout_ms)
{
    return sys_simple(server, SYS_SUSPEND, timeout_ms);
}

int act_server_resume(act_pid_t server, int64_t timeout_ms)
{
    return sys_simple(server, SYS_RESUME, timeout_ms);
}
