/*
 * Servers (server.h): gen_server as a plain actor.
 *
 * A server is one plain actor whose behaviour is srv_beh below; its inline state is a small
 * header (the user's callback table and the parent's pid) followed by the user's state_size
 * bytes, so a server costs one allocation and one indirect call per message over a bare
 * actor. The starter passes a start record (act_malloc'd, owned by the child from the spawn
 * on) as init's argument; srv_init frees it before it runs the user's init, so a crash in init
 * leaks nothing, and acknowledges the result (otp_int.h's handshake).
 *
 * Calls are recognized by the reference act_call puts in the request (user messages are
 * allocated with ref 0; replies carry a reference too but are flagged), casts by
 * ACT__MSG_CAST, which act_server_cast sets.
 */
#include <string.h>

#include "otp_int.h"

typedef struct {
    const act_server_t *srv;
    act_pid_t parent; /* the linked starter, or ACT_PID_NONE */
} srv_hdr_t;

#define SRV_HDR ((sizeof(srv_hdr_t) + 15) & ~(size_t)15)

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

static inline void *ustate(srv_hdr_t *h)
{
    return (char *)h + SRV_HDR;
}

static int srv_init(void *state, void *arg)
{
    srv_start_t *r = arg;
    srv_hdr_t *h = state;
    h->srv = r->srv;
    h->parent = r->linked ? r->starter : ACT_PID_NONE;
    act_pid_t starter = r->starter;
    bool ack = r->ack;
    bool linked = r->linked;
    void *uarg = r->arg;
    int rc = r->name[0] ? act_register(r->name, act_self()) : 0;
    act_free(r);
    if (rc == 0 && h->srv->init)
        rc = h->srv->init(ustate(h), uarg);
    if (rc == 0) {
        if (ack)
            act__ack(starter, 0, NULL);
        return 0;
    }
    if (ack) {
        int status = act__init_status(rc);
        if (linked)
            act_unlink(starter);
        act__ack(starter, status, NULL);
    }
    return rc;
}

static int srv_handle(void *state, act_msg_t *m)
{
    srv_hdr_t *h = state;
    const act_server_t *srv = h->srv;
    void *u = ustate(h);
    switch (m->type) {
    case ACT__MSG_SRV_STOP:
        return act_stop(((srv_stop_t *)m)->reason);
    case ACT_MSG_EXIT:
        if (h->parent && ((act_down_t *)m)->pid == h->parent)
            return act_stop(((act_down_t *)m)->reason);
        return srv->handle_info ? srv->handle_info(u, m) : 0;
    case ACT_MSG_DOWN:
        return srv->handle_info ? srv->handle_info(u, m) : 0;
    default:
        break;
    }
    if (m->ref && !act_msg_is_reply(m)) {
        if (!srv->handle_call)
            act_failf(ACT_CRASH, "server without handle_call got a call (type %u)", m->type);
        act_msg_t *reply = NULL;
        int rc = srv->handle_call(u, m, &reply);
        if (reply)
            act_reply(m, reply);
        return rc;
    }
    if (m->_flags & ACT__MSG_CAST)
        return srv->handle_cast ? srv->handle_cast(u, m) : 0;
    return srv->handle_info ? srv->handle_info(u, m) : 0;
}

static void srv_terminate(void *state, int reason)
{
    srv_hdr_t *h = state;
    if (h->srv && h->srv->terminate)
        h->srv->terminate(ustate(h), reason);
}

static const act_behaviour_t srv_beh = {
    .name = "server",
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
