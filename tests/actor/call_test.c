/*
 * act_call / act_reply: round trips from fibers and foreign threads, replies sent later from
 * another handler, dead and dying servers, timeouts whose late replies are dropped (never
 * received, never leaked), concurrent callers, and plain actors (which cannot call).
 */
#include <unistd.h>

#include "test_util.h"

TestSuite(call, .init = tu_start2, .fini = tu_stop, .timeout = TMO(30));

enum { REQ_ADD = TU_INT + 300, REQ_HOLD, REQ_RELEASE, REQ_CRASH, REQ_STUB, REPLY };

/* The server: answers REQ_ADD at once with v + 1; keeps REQ_HOLD requests (act_msg_keep) or
 * stubs of them (REQ_STUB: act_reply_to) and answers them all on REQ_RELEASE; REQ_CRASH
 * exits with v. */
typedef struct {
    act_msg_t *held[256];
    int nheld;
    struct {
        act_pid_t to;
        act_ref_t ref;
        int64_t v;
    } stubs[256];
    int nstubs;
} server_t;

static void reply_int(const act_msg_t *req, int64_t v)
{
    tu_int_t *r = act_msg_new(tu_int_t, REPLY);
    r->v = v;
    act_reply(req, &r->hdr);
}

static int server_handle(void *state, act_msg_t *msg)
{
    server_t *s = state;
    int64_t v = ((tu_int_t *)msg)->v;
    switch (msg->type) {
    case REQ_ADD:
        reply_int(msg, v + 1);
        return 0;
    case REQ_HOLD:
        if (!TU_CHECK(s->nheld < 256))
            return 0;
        act_msg_keep(msg);
        s->held[s->nheld++] = msg;
        return 0;
    case REQ_STUB:
        if (!TU_CHECK(s->nstubs < 256))
            return 0;
        s->stubs[s->nstubs].to = msg->from;
        s->stubs[s->nstubs].ref = msg->ref;
        s->stubs[s->nstubs].v = v;
        s->nstubs++;
        return 0;
    case REQ_RELEASE:
        for (int i = 0; i < s->nheld; i++) {
            reply_int(s->held[i], ((tu_int_t *)s->held[i])->v + 1);
            act_msg_free(s->held[i]);
        }
        s->nheld = 0;
        for (int i = 0; i < s->nstubs; i++) {
            tu_int_t *r = act_msg_new(tu_int_t, REPLY);
            r->v = s->stubs[i].v + 1;
            act_reply_to(s->stubs[i].to, s->stubs[i].ref, &r->hdr);
        }
        s->nstubs = 0;
        return 0;
    case REQ_CRASH:
        return (int)v;
    default:
        return 0;
    }
}

static void server_terminate(void *state, int reason)
{
    (void)reason;
    server_t *s = state;
    for (int i = 0; i < s->nheld; i++)
        act_msg_free(s->held[i]);
}

static const act_behaviour_t server_beh = {
    .name = "server", .handle = server_handle, .terminate = server_terminate};

static act_pid_t server(void)
{
    return tu_spawn_plain(&server_beh, sizeof(server_t), NULL, NULL);
}

static act_msg_t *req(uint32_t type, int64_t v)
{
    tu_int_t *m = act_msg_new(tu_int_t, type);
    m->v = v;
    return &m->hdr;
}

/* A call whose result the test checks: returns rc, *out the reply's value. */
static int call_int(act_pid_t to, uint32_t type, int64_t v, int64_t ms, int64_t *out, int *down)
{
    act_msg_t *reply = NULL;
    int rc = act_call(to, req(type, v), ms, &reply, down);
    if (rc == 0) {
        TU_CHECK(act_msg_is_reply(reply));
        TU_CHECK(reply->type == REPLY);
        if (out)
            *out = ((tu_int_t *)reply)->v;
        act_msg_free(reply);
    }
    return rc;
}

Test(call, round_trip_from_a_thread)
{
    act_pid_t s = server();
    for (int i = 0; i < 1000; i++) {
        int64_t v = -1;
        cr_assert_eq(call_int(s, REQ_ADD, i, MS(5000), &v, NULL), 0);
        cr_assert_eq(v, i + 1);
    }
    cr_assert(tu_no_msg(REPLY, MS(20)), "a reply arrived twice");
    cr_assert_eq(tu_failures(), 0);
}

static void caller_fiber(void *arg)
{
    act_pid_t s = *(act_pid_t *)arg;
    act_pid_t report = ((act_pid_t *)arg)[1];
    int bad = 0;
    for (int i = 0; i < 1000; i++) {
        int64_t v = -1;
        bad += call_int(s, REQ_ADD, i, MS(5000), &v, NULL) != 0 || v != i + 1;
    }
    tu_send_int(report, TU_RESULT, bad);
}

Test(call, round_trip_from_a_fiber)
{
    static act_pid_t args[2];
    args[0] = server();
    args[1] = act_self();
    tu_spawn_fiber(caller_fiber, args, NULL);
    cr_assert_eq(tu_recv_int(TU_RESULT, 10000), 0);
    cr_assert_eq(tu_failures(), 0);
}

Test(call, reply_later_from_another_handler)
{
    act_pid_t s = server();
    /* The server keeps the request (REQ_HOLD) or a stub of it (REQ_STUB) and answers while
     * handling REQ_RELEASE, which a timer sends it 20 ms later. */
    for (int kind = 0; kind < 2; kind++) {
        int64_t t0 = act_now_ms(); /* before the timer: its deadline is at least t0 + 20 */
        act_send_after(s, 20, req(REQ_RELEASE, 0), NULL);
        int64_t v = 0;
        int rc = call_int(s, kind ? REQ_STUB : REQ_HOLD, 41, MS(5000), &v, NULL);
        cr_assert_eq(rc, 0, "%s", act_strerror(rc));
        cr_assert_geq(act_now_ms() - t0, 20, "answered before the release");
        cr_assert_eq(v, 42);
    }
    cr_assert_eq(tu_failures(), 0);
}

Test(call, call_to_a_dead_pid_is_noproc)
{
    act_pid_t s = server();
    act_exit(s, ACT_KILL);
    cr_assert(tu_wait_dead(s, 5000));
    int down = 0;
    cr_assert_eq(call_int(s, REQ_ADD, 1, MS(5000), NULL, &down), ACT_ENOPROC);
    cr_assert_eq(down, ACT_NOPROC);
    cr_assert_eq(call_int(ACT_PID_NONE, REQ_ADD, 1, MS(5000), NULL, NULL), ACT_ENOPROC);
    /* Nothing is left behind in the mailbox (the monitor's DOWN was consumed). */
    act_msg_t *m;
    cr_assert_eq(act_receive(NULL, NULL, MS(50), &m), ACT_ETIMEDOUT);
}

Test(call, server_dying_mid_call_fails_it_with_its_reason)
{
    /* The server holds the request, then crashes: the caller learns at once. */
    act_pid_t s = server();
    act_send_after(s, 20, req(REQ_CRASH, -ECONNABORTED), NULL);
    int down = 0;
    int64_t t0 = act_now_ms();
    cr_assert_eq(call_int(s, REQ_HOLD, 1, MS(10000), NULL, &down), ACT_ECALLDOWN);
    cr_assert_eq(down, -ECONNABORTED);
    cr_assert_lt(act_now_ms() - t0, MS(5000), "the caller waited for its timeout");
    /* The request itself crashes the server. */
    s = server();
    down = 0;
    cr_assert_eq(call_int(s, REQ_CRASH, ACT_REASON_USER + 1, MS(10000), NULL, &down),
                 ACT_ECALLDOWN);
    cr_assert_eq(down, ACT_REASON_USER + 1);
    act_msg_t *m;
    cr_assert_eq(act_receive(NULL, NULL, MS(50), &m), ACT_ETIMEDOUT, "a DOWN was left behind");
}

Test(call, timeout_drops_the_late_reply)
{
    act_pid_t s = server();
    int64_t t0 = act_now_ms();
    cr_assert_eq(call_int(s, REQ_HOLD, 7, 50, NULL, NULL), ACT_ETIMEDOUT);
    int64_t dt = act_now_ms() - t0;
    cr_assert_geq(dt, 50);
    cr_assert_lt(dt, 50 + MS(1000));
    /* Now the server answers the abandoned request. */
    tu_send_int(s, REQ_RELEASE, 0);
    act_msg_t *m;
    cr_assert_eq(act_receive(NULL, NULL, MS(100), &m), ACT_ETIMEDOUT, "a late reply was delivered");
    /* The next call gets its own reply, not the late one. */
    int64_t v = 0;
    tu_send_int(s, REQ_RELEASE, 0);
    cr_assert_eq(call_int(s, REQ_HOLD, 100, 30, NULL, NULL), ACT_ETIMEDOUT);
    act_send_after(s, 10, req(REQ_RELEASE, 0), NULL);
    cr_assert_eq(call_int(s, REQ_HOLD, 200, MS(5000), &v, NULL), 0);
    cr_assert_eq(v, 201, "got the reply of another call");
    cr_assert(tu_no_msg(REPLY, MS(50)));
    tu_stop(); /* the dropped replies were freed */
}

static void timeout_fiber(void *arg)
{
    act_pid_t s = *(act_pid_t *)arg;
    act_pid_t report = ((act_pid_t *)arg)[1];
    int bad = 0;
    for (int i = 0; i < 20; i++) {
        bad += !TU_CHECK(call_int(s, REQ_HOLD, i, 5, NULL, NULL) == ACT_ETIMEDOUT);
        tu_send_int(s, REQ_RELEASE, 0);
        /* Late replies may be on their way; the next call must see only its own. */
        int64_t v = -1;
        bad += !TU_CHECK(call_int(s, REQ_ADD, 1000 + i, MS(5000), &v, NULL) == 0);
        bad += !TU_CHECK(v == 1001 + i);
    }
    act_msg_t *m;
    if (act_receive(NULL, NULL, MS(50), &m) == 0) {
        bad++;
        act_msg_free(m);
    }
    tu_send_int(report, TU_RESULT, bad);
}

Test(call, timeout_drops_the_late_reply_in_a_fiber)
{
    static act_pid_t args[2];
    args[0] = server();
    args[1] = act_self();
    tu_spawn_fiber(timeout_fiber, args, NULL);
    cr_assert_eq(tu_recv_int(TU_RESULT, 10000), 0);
}

/* Concurrent callers: fibers and threads hammer one server. */
#define FIBERS 8
#define THREADS 2
static const int calls_each = TU_SCALED(2000, 200);

static void many_fiber(void *arg)
{
    act_pid_t s = *(act_pid_t *)arg;
    act_pid_t report = ((act_pid_t *)arg)[1];
    int bad = 0;
    for (int i = 0; i < calls_each; i++) {
        int64_t v = -1;
        int64_t x = ((int64_t)act_self() & 0xffff) * 100000 + i;
        bad += call_int(s, REQ_ADD, x, MS(10000), &v, NULL) != 0 || v != x + 1;
    }
    tu_send_int(report, TU_RESULT, bad);
}

static void many_thread(void *arg, unsigned id)
{
    act_pid_t s = *(act_pid_t *)arg;
    for (int i = 0; i < calls_each; i++) {
        int64_t v = -1;
        int64_t x = (int64_t)id * 1000000 + i;
        TU_CHECK(call_int(s, REQ_ADD, x, MS(10000), &v, NULL) == 0);
        TU_CHECK(v == x + 1);
    }
}

Test(call, concurrent_callers_each_get_their_own_replies)
{
    static act_pid_t args[2];
    args[0] = server();
    args[1] = act_self();
    for (int i = 0; i < FIBERS; i++)
        tu_spawn_fiber(many_fiber, args, NULL);
    tu_threads(THREADS, many_thread, args);
    for (int i = 0; i < FIBERS; i++)
        cr_assert_eq(tu_recv_int(TU_RESULT, 20000), 0);
    cr_assert_eq(tu_failures(), 0);
}

static int plain_handle(void *state, act_msg_t *msg)
{
    (void)state;
    act_msg_t *reply = (act_msg_t *)1;
    int rc = act_call(TU_PID(((tu_int_t *)msg)->v), req(REQ_ADD, 1), 100, &reply, NULL);
    tu_send_int(msg->from, TU_RESULT, rc);
    TU_CHECK(reply == (act_msg_t *)1);
    return 0;
}

static const act_behaviour_t plain_beh = {.handle = plain_handle};

Test(call, plain_actor_cannot_call)
{
    act_self();
    act_pid_t s = server();
    act_pid_t p = tu_spawn_plain(&plain_beh, 0, NULL, NULL);
    tu_send_int(p, TU_INT, (int64_t)s);
    cr_assert_eq(tu_recv_int(TU_RESULT, 5000), ACT_ENOTFIBER);
    /* The request was freed, not sent: the server never saw it (a call now still works). */
    int64_t v = 0;
    cr_assert_eq(call_int(s, REQ_ADD, 5, MS(5000), &v, NULL), 0);
    cr_assert_eq(v, 6);
    cr_assert_eq(tu_failures(), 0);
}
