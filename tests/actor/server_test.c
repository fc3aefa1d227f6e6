/* Servers (server.h): init, calls (now and later), casts, infos, stop, timeouts, deaths. */
#include <string.h>
#include <unistd.h>

#include "test_util.h"

static void init_quiet(void)
{
    act_report_set(act_report_silent, NULL);
    tu_start2();
}

TestSuite(server, .init = init_quiet, .fini = tu_stop, .timeout = TMO(20));

enum { C_GET = ACT_MSG_USER + 1, C_ADD, C_LATER, C_FLUSH, C_CRASH, C_STOP, C_VAL, I_INFO };

typedef struct {
    int64_t n;
    int64_t infos;
    act_pid_t from; /* a call answered later */
    act_ref_t ref;
    act_pid_t report; /* gets TU_TERMINATED with the reason */
} counter_t;

static atomic_int inits;

static int c_init(void *state, void *arg)
{
    counter_t *c = state;
    atomic_fetch_add(&inits, 1);
    c->report = TU_PID(arg);
    c->n = 10;
    return 0;
}

static act_msg_t *val(int64_t v)
{
    tu_int_t *r = act_msg_new(tu_int_t, C_VAL);
    r->v = v;
    return &r->hdr;
}

static int c_call(void *state, act_msg_t *req, act_msg_t **reply)
{
    counter_t *c = state;
    switch (req->type) {
    case C_GET:
        *reply = val(c->n);
        return 0;
    case C_LATER: /* answered by the next C_FLUSH cast */
        c->from = req->from;
        c->ref = req->ref;
        return 0;
    case C_CRASH:
        act_failf(ACT_REASON_USER + 7, "asked to crash");
    case C_STOP: /* reply, then stop */
        *reply = val(-1);
        return act_stop(ACT_NORMAL);
    default:
        return -EINVAL;
    }
}

static int c_cast(void *state, act_msg_t *msg)
{
    counter_t *c = state;
    TU_CHECK(act_msg_is_cast(msg));
    if (msg->type == C_ADD)
        c->n += ((tu_int_t *)msg)->v;
    if (msg->type == C_FLUSH && c->from) {
        act_reply_to(c->from, c->ref, val(c->n));
        c->from = ACT_PID_NONE;
    }
    return 0;
}

static int c_info(void *state, act_msg_t *msg)
{
    counter_t *c = state;
    TU_CHECK(!act_msg_is_cast(msg));
    if (msg->type == I_INFO)
        c->infos++;
    return 0;
}

static void c_terminate(void *state, int reason)
{
    counter_t *c = state;
    if (c->report)
        tu_send_int(c->report, TU_TERMINATED, reason);
}

static const act_server_t counter = {
    .state_size = sizeof(counter_t),
    .init = c_init,
    .handle_call = c_call,
    .handle_cast = c_cast,
    .handle_info = c_info,
    .terminate = c_terminate,
};

static int64_t call_int(act_pid_t srv, uint32_t type, int64_t timeout, int *rc)
{
    act_msg_t *r = NULL;
    *rc = act_server_call_timeout(srv, act_msg_alloc(sizeof(tu_int_t), type), timeout, &r, NULL);
    if (*rc)
        return 0;
    int64_t v = ((tu_int_t *)r)->v;
    act_msg_free(r);
    return v;
}

static void cast_int(act_pid_t srv, uint32_t type, int64_t v)
{
    tu_int_t *m = act_msg_new(tu_int_t, type);
    m->v = v;
    cr_assert_eq(act_server_cast(srv, &m->hdr), 0);
}

Test(server, init_runs_before_calls_and_state_persists)
{
    act_pid_t srv;
    cr_assert_eq(act_server_start_link(&counter, TU_ARG(act_self()), NULL, &srv), 0);
    cr_assert_eq(atomic_load(&inits), 1, "start returns only after init");
    int rc;
    cr_assert_eq(call_int(srv, C_GET, 1000, &rc), 10);
    cr_assert_eq(rc, 0);
    cast_int(srv, C_ADD, 5);
    cast_int(srv, C_ADD, 7);
    tu_send_int(srv, I_INFO, 0);
    cr_assert_eq(call_int(srv, C_GET, 1000, &rc), 22, "casts are handled in order before it");
    cr_assert_eq(act_server_stop(srv, ACT_NORMAL, MS(2000)), 0);
    cr_assert_eq(tu_recv_int(TU_TERMINATED, 2000), ACT_NORMAL);
    cr_assert_eq(tu_failures(), 0);
}

typedef struct {
    act_pid_t srv;
    int64_t ms;
} cast_after_t;

static void cast_flush_after(void *arg)
{
    cast_after_t *c = arg;
    act_sleep(c->ms);
    act_server_cast(c->srv, act_msg_alloc(sizeof(tu_int_t), C_FLUSH));
}

Test(server, handle_call_may_reply_later)
{
    act_pid_t srv;
    cr_assert_eq(act_server_start_link(&counter, NULL, NULL, &srv), 0);
    /* The call waits; a fiber's cast, 30 ms later, makes the server answer it. */
    cast_after_t ca = {srv, 30};
    tu_spawn_fiber(cast_flush_after, &ca, NULL);
    int rc;
    int64_t t0 = act_now_ms();
    cr_assert_eq(call_int(srv, C_LATER, MS(5000), &rc), 10);
    cr_assert_eq(rc, 0);
    cr_assert_geq(act_now_ms() - t0, 25);
}

Test(server, timed_out_call_fails_clearly_and_its_late_reply_is_dropped)
{
    act_pid_t srv;
    cr_assert_eq(act_server_start_link(&counter, NULL, NULL, &srv), 0);
    int rc;
    int64_t t0 = act_now_ms();
    call_int(srv, C_LATER, 50, &rc);
    cr_assert_eq(rc, ACT_ETIMEDOUT, "%s", act_strerror(rc));
    cr_assert_geq(act_now_ms() - t0, 45);
    cast_int(srv, C_ADD, 100);
    cast_int(srv, C_FLUSH, 0); /* the late reply (110) */
    cast_int(srv, C_ADD, 1);
    cr_assert_eq(call_int(srv, C_GET, 2000, &rc), 111, "a late reply leaked into a call");
    cr_assert_eq(rc, 0);
    /* The default timeout is gen_server's 5 s. */
    cr_assert_eq(ACT_SERVER_CALL_TIMEOUT, 5000);
}

Test(server, call_fails_at_once_when_the_server_dies)
{
    act_pid_t srv;
    cr_assert_eq(act_server_start(&counter, NULL, NULL, &srv), 0);
    act_msg_t *r = NULL;
    int reason = 0;
    int64_t t0 = act_now_ms();
    int rc =
        act_server_call_timeout(srv, act_msg_alloc(sizeof(tu_int_t), C_CRASH), 5000, &r, &reason);
    cr_assert_eq(rc, ACT_ECALLDOWN, "%s", act_strerror(rc));
    cr_assert_eq(reason, ACT_REASON_USER + 7);
    cr_assert_lt(act_now_ms() - t0, 2000);
    cr_assert(tu_wait_dead(srv, 2000));
    rc = act_server_call(srv, act_msg_alloc(sizeof(tu_int_t), C_GET), &r);
    cr_assert_eq(rc, ACT_ENOPROC);
    cr_assert_eq(act_server_call_name("nobody", act_msg_alloc(sizeof(tu_int_t), C_GET), &r),
                 ACT_ENONAME);
}

Test(server, reply_then_stop)
{
    act_pid_t srv;
    cr_assert_eq(act_server_start(&counter, TU_ARG(act_self()), NULL, &srv), 0);
    int rc;
    cr_assert_eq(call_int(srv, C_STOP, 2000, &rc), -1);
    cr_assert_eq(rc, 0);
    cr_assert_eq(tu_recv_int(TU_TERMINATED, 2000), ACT_NORMAL);
    cr_assert(tu_wait_dead(srv, 2000));
}

Test(server, registered_name_and_taken_name)
{
    act_server_opts_t o = {.name = "counter"};
    act_pid_t srv, other;
    cr_assert_eq(act_server_start_link(&counter, NULL, &o, &srv), 0);
    cr_assert_eq(act_whereis("counter"), srv);
    act_msg_t *r;
    cr_assert_eq(act_server_call_name("counter", act_msg_alloc(sizeof(tu_int_t), C_GET), &r), 0);
    act_msg_free(r);
    cast_int(srv, C_ADD, 1);
    cr_assert_eq(act_server_cast_name("counter", act_msg_alloc(sizeof(tu_int_t), C_ADD)), 0);
    cr_assert_eq(act_server_start_link(&counter, NULL, &o, &other), ACT_ENAMETAKEN);
    cr_assert_eq(act_server_cast_name("nobody", act_msg_alloc(sizeof(tu_int_t), C_ADD)),
                 ACT_ENONAME);
}

static int fail_init(void *state, void *arg)
{
    (void)state;
    if (arg == TU_ARG(1))
        act_failf(ACT_CRASH, "init crashed");
    if (arg == TU_ARG(2))
        return act_stop(ACT_NORMAL);
    if (arg == TU_ARG(3)) {
        usleep(300 * 1000); /* longer than the start timeout */
        return 0;
    }
    return -EADDRINUSE;
}

static const act_server_t failing = {.init = fail_init, .handle_info = c_info};

static void start_failing_from_fiber(void *arg)
{
    /* A fiber that does not trap exits survives a failed start. */
    act_pid_t report = TU_PID(arg);
    int rc = act_server_start_link(&failing, NULL, NULL, NULL);
    tu_send_int(report, TU_RESULT, rc);
}

Test(server, failed_init_fails_the_start_with_its_error)
{
    cr_assert_eq(act_server_start_link(&failing, NULL, NULL, NULL), -EADDRINUSE);
    cr_assert_eq(act_server_start_link(&failing, TU_ARG(2), NULL, NULL), ACT_ECHILDSTART);
    /* A crash in init: the link tells the (trapping) caller, whose EXIT is consumed; the start
     * fails with the crash's reason and text. */
    cr_assert_eq(act_server_start_link(&failing, TU_ARG(1), NULL, NULL), ACT_CRASH);
    cr_assert_str_eq(act_start_failure(), "init crashed");
    act_msg_t *m;
    cr_assert_eq(act_receive_type(ACT_MSG_EXIT, 50, &m), ACT_ETIMEDOUT);
    act_ref_t ref;
    act_pid_t f = tu_spawn_fiber(start_failing_from_fiber, TU_ARG(act_self()), &ref);
    cr_assert_eq(tu_recv_int(TU_RESULT, 2000), -EADDRINUSE);
    act_down_t *d = tu_recv_down(ACT_MSG_DOWN, 2000);
    cr_assert_eq(d->pid, f);
    cr_assert_eq(d->reason, ACT_NORMAL, "the starter survived");
    act_msg_free(&d->hdr);
}

static bool no_actor(void *arg)
{
    (void)arg;
    return act_actor_count() == 0;
}

Test(server, start_times_out_and_kills_the_server)
{
    act_server_opts_t o = {.timeout_ms = 50};
    cr_assert_eq(act_actor_count(), 0);
    cr_assert_eq(act_server_start_link(&failing, TU_ARG(3), &o, NULL), ACT_ETIMEDOUT);
    cr_assert(tu_wait(no_actor, NULL, 2000), "the slow server was killed");
}

static int plain_starter_init(void *state, void *arg)
{
    (void)state;
    act_pid_t report = TU_PID(arg);
    /* A plain actor cannot wait... */
    tu_send_int(report, TU_RESULT, act_server_start_link(&counter, NULL, NULL, NULL));
    /* ... but may start without waiting. */
    act_server_opts_t o = {.no_wait = true};
    act_pid_t pid = ACT_PID_NONE;
    tu_send_int(report, TU_RESULT, act_server_start_link(&counter, NULL, &o, &pid));
    tu_send_int(report, TU_RESULT, (int64_t)pid);
    return 0;
}

static int ignore_all(void *state, act_msg_t *msg)
{
    (void)state;
    (void)msg;
    return 0;
}

static const act_behaviour_t plain_starter = {.init = plain_starter_init, .handle = ignore_all};

Test(server, plain_actors_start_servers_without_waiting)
{
    tu_spawn_plain(&plain_starter, 0, TU_ARG(act_self()), NULL);
    cr_assert_eq(tu_recv_int(TU_RESULT, 2000), ACT_ENOTFIBER);
    cr_assert_eq(tu_recv_int(TU_RESULT, 2000), 0);
    act_pid_t pid = (act_pid_t)tu_recv_int(TU_RESULT, 2000);
    cr_assert_neq(pid, ACT_PID_NONE);
    int rc;
    cr_assert_eq(call_int(pid, C_GET, 2000, &rc), 10);
}

static void parent_fiber(void *arg)
{
    act_pid_t report = TU_PID(arg);
    act_server_opts_t o = {.trap_exit = true};
    act_pid_t srv;
    TU_CHECK(act_server_start_link(&counter, TU_ARG(report), &o, &srv) == 0);
    tu_send_int(report, TU_RESULT, (int64_t)srv);
    /* Returning exits normally: the trapping server gets its parent's EXIT and stops. */
}

Test(server, trapping_server_stops_with_its_parent)
{
    tu_spawn_fiber(parent_fiber, TU_ARG(act_self()), NULL);
    act_pid_t srv = (act_pid_t)tu_recv_int(TU_RESULT, 2000);
    cr_assert_eq(tu_recv_int(TU_TERMINATED, 2000), ACT_NORMAL);
    cr_assert(tu_wait_dead(srv, 2000));
    /* An EXIT from someone else is only an info for a trapping server. */
    act_server_opts_t o = {.trap_exit = true};
    cr_assert_eq(act_server_start(&counter, TU_ARG(act_self()), &o, &srv), 0);
    act_exit(srv, ACT_SHUTDOWN);
    int rc;
    cr_assert_eq(call_int(srv, C_GET, 2000, &rc), 10);
    cr_assert_eq(rc, 0);
    cr_assert_eq(act_server_stop(srv, ACT_SHUTDOWN, MS(2000)), 0);
    cr_assert_eq(tu_recv_int(TU_TERMINATED, 2000), ACT_SHUTDOWN);
    cr_assert_eq(act_server_stop(srv, ACT_SHUTDOWN, MS(2000)), ACT_ENOPROC);
    cr_assert_eq(tu_failures(), 0);
}

Test(server, bad_arguments_are_refused)
{
    cr_assert_eq(act_server_start(NULL, NULL, NULL, NULL), ACT_EBADARG);
    act_server_opts_t empty_name = {.name = ""};
    cr_assert_eq(act_server_start(&counter, NULL, &empty_name, NULL), ACT_EBADARG);
    act_server_opts_t bad_sched = {.sched = ACT_SCHED_ON(99)};
    cr_assert_eq(act_server_start(&counter, NULL, &bad_sched, NULL), ACT_ENOSCHED);
    act_msg_t *r;
    cr_assert_eq(act_server_call(ACT_PID_NONE, act_msg_alloc(sizeof(tu_int_t), C_GET), &r),
                 ACT_ENOPROC);
    cr_assert_eq(act_server_cast(ACT_PID_NONE, NULL), ACT_EBADARG);
    cr_assert_eq(act_server_call(ACT_PID_NONE, NULL, &r), ACT_EBADARG);
}
