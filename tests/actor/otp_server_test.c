/*
 * Erlang/OTP's gen_server_SUITE and sys_SUITE, ported: each test is named after the OTP case
 * it follows and checks the same behaviour through server.h. The test server below plays
 * gen_server_SUITE's own callback module: its requests mirror that module's clauses.
 */
#include <string.h>
#include <unistd.h>

#include "otp_util.h"

TestSuite(otp_server, .init = otp_start, .fini = tu_stop, .timeout = TMO(30));

enum {
    STARTED_P = ACT_MSG_USER + 3000, /* call: answers OK */
    DELAYED_ANSWER,                  /* call: no reply now; the timeout answers DELAYED */
    CALL_WITHIN,                     /* call: OK, and a timeout of v ms */
    NEXT_CALL,                       /* call: OK if CALL_WITHIN's timeout has not fired */
    DELAYED_CAST,                    /* cast: a timeout of v ms, which sends DELAYED */
    DELAYED_INFO,                    /* info: the same */
    CONTINUE_REPLY,                  /* call: reply, then continue */
    CONTINUE_NOREPLY,                /* call, cast or info: continue (a call is answered there) */
    CONTINUE_CONTINUE,               /* info: continue twice */
    CONTINUE_STOP,                   /* info: continue, whose handle_continue stops */
    OK,
    FALSE,
    DELAYED,
    SEEN, /* to the test: v says what happened */
};

enum { BEFORE_CONTINUE = 1, CONTINUED, AFTER_CONTINUE };

typedef struct {
    act_pid_t report;
    int mode; /* what the next timeout means: one of the requests above, or 0 */
    act_pid_t reply_to;
    act_ref_t reply_ref;
    int64_t n;        /* calls answered, for get_state and format_status */
    int64_t msgs;     /* messages handled */
    int64_t armed_at; /* msgs when the last timeout was set */
} gs_t;

/* Sets the timeout, noting when: a timeout that reaches handle_info after another message
 * was handled is a stale one the server should have dropped. */
static int arm(gs_t *s, int64_t ms)
{
    s->armed_at = s->msgs;
    return act_server_timeout(ms);
}

static void report(const gs_t *s, int what)
{
    tu_send_int(s->report, SEEN, what);
}

static act_msg_t *int_msg(uint32_t type, int64_t v)
{
    tu_int_t *m = act_msg_new(tu_int_t, type);
    m->v = v;
    return &m->hdr;
}

/* init's argument: the test's pid in the low bits, and what init returns. */
enum { INIT_OK, INIT_CONTINUE, INIT_STOP_USER, INIT_STOP_NORMAL };
typedef struct {
    act_pid_t report;
    int how;
} gs_arg_t;

static _Atomic bool gate;

static int gs_init(void *state, void *arg)
{
    gs_t *s = state;
    const gs_arg_t *a = arg;
    s->report = a->report;
    switch (a->how) {
    case INIT_CONTINUE:
        return act_server_continue((void *)(intptr_t)CONTINUED);
    case INIT_STOP_USER:
        return act_stop(ACT_REASON_USER + 9);
    case INIT_STOP_NORMAL:
        return act_stop(ACT_NORMAL);
    default:
        return 0;
    }
}

static int gs_continue(void *state, void *arg)
{
    gs_t *s = state;
    intptr_t what = (intptr_t)arg;
    if (what == CONTINUE_STOP)
        return act_stop(ACT_NORMAL);
    if (what == CONTINUE_CONTINUE) {
        report(s, BEFORE_CONTINUE);
        return act_server_continue((void *)(intptr_t)CONTINUED);
    }
    if (what == -CONTINUED) { /* from init: holds until the test lets it go */
        while (!atomic_load(&gate))
            usleep(100);
    }
    report(s, CONTINUED);
    /* A message to itself: it must come after the continuation, never before. */
    act_send(act_self(), int_msg(AFTER_CONTINUE, 0));
    return 0;
}

static int gs_call(void *state, act_msg_t *req, act_msg_t **reply)
{
    gs_t *s = state;
    int64_t v = ((tu_int_t *)req)->v;
    s->n++;
    s->msgs++;
    switch (req->type) {
    case STARTED_P:
        *reply = int_msg(OK, 0);
        return 0;
    case DELAYED_ANSWER:
        s->mode = DELAYED_ANSWER;
        s->reply_to = req->from;
        s->reply_ref = req->ref;
        return arm(s, v);
    case CALL_WITHIN:
        s->mode = CALL_WITHIN;
        *reply = int_msg(OK, 0);
        return arm(s, v);
    case NEXT_CALL:
        *reply = int_msg(s->mode == CALL_WITHIN ? OK : FALSE, 0);
        s->mode = 0;
        return 0;
    case CONTINUE_REPLY:
        *reply = int_msg(OK, 0);
        return act_server_continue((void *)(intptr_t)CONTINUED);
    case CONTINUE_NOREPLY:
        s->reply_to = req->from;
        s->reply_ref = req->ref;
        return act_server_continue((void *)(intptr_t)CONTINUE_NOREPLY);
    default:
        return -EINVAL;
    }
}

static int gs_cast(void *state, act_msg_t *msg)
{
    gs_t *s = state;
    s->msgs++;
    if (msg->type == DELAYED_CAST) {
        s->mode = DELAYED_CAST;
        return arm(s, ((tu_int_t *)msg)->v);
    }
    if (msg->type == CONTINUE_NOREPLY)
        return act_server_continue((void *)(intptr_t)CONTINUED);
    return 0;
}

static int gs_info(void *state, act_msg_t *msg)
{
    gs_t *s = state;
    s->msgs++;
    switch (msg->type) {
    case ACT_MSG_SERVER_TIMEOUT:
        TU_CHECK(s->msgs == s->armed_at + 1); /* nothing came between the timeout and now */
        if (s->mode == DELAYED_ANSWER)
            act_reply_to(s->reply_to, s->reply_ref, int_msg(DELAYED, 0));
        else if (s->mode == DELAYED_CAST || s->mode == DELAYED_INFO)
            report(s, s->mode);
        s->mode = 0; /* CALL_WITHIN: the next call answers FALSE */
        return 0;
    case DELAYED_INFO:
        s->mode = DELAYED_INFO;
        return arm(s, ((tu_int_t *)msg)->v);
    case AFTER_CONTINUE:
        report(s, AFTER_CONTINUE);
        return 0;
    case CONTINUE_NOREPLY:
        return act_server_continue((void *)(intptr_t)CONTINUED);
    case CONTINUE_CONTINUE:
        return act_server_continue((void *)(intptr_t)CONTINUE_CONTINUE);
    case CONTINUE_STOP:
        return act_server_continue((void *)(intptr_t)CONTINUE_STOP);
    default:
        return 0;
    }
}

static int gs_continue_noreply(void *state, void *arg)
{
    gs_t *s = state;
    if ((intptr_t)arg == CONTINUE_NOREPLY) {
        act_reply_to(s->reply_to, s->reply_ref, int_msg(OK, 0));
        arg = (void *)(intptr_t)CONTINUED;
    }
    return gs_continue(state, arg);
}

static void gs_format(const void *state, char *buf, size_t len)
{
    snprintf(buf, len, "%lld calls", (long long)((const gs_t *)state)->n);
}

static const act_server_t gs = {
    .name = "gen_server_SUITE",
    .state_size = sizeof(gs_t),
    .init = gs_init,
    .handle_call = gs_call,
    .handle_cast = gs_cast,
    .handle_info = gs_info,
    .handle_continue = gs_continue_noreply,
    .format_status = gs_format,
};

static act_pid_t start_gs(int how)
{
    gs_arg_t a = {act_self(), how};
    act_pid_t pid;
    int rc = act_server_start_link(&gs, &a, NULL, &pid);
    cr_assert_eq(rc, 0, "start: %s", act_strerror(rc));
    return pid;
}

/* Calls the test server; returns the reply's type, or the call's error. */
static int call(act_pid_t pid, uint32_t type, int64_t v, int64_t timeout)
{
    act_msg_t *r;
    int rc = act_server_call_timeout(pid, int_msg(type, v), timeout, &r, NULL);
    if (rc)
        return rc;
    int t = (int)r->type;
    act_msg_free(r);
    return t;
}

static void expect_seen(const int *what, int n)
{
    for (int i = 0; i < n; i++)
        cr_assert_eq(tu_recv_int(SEEN, 2000), what[i], "report %d", i);
}

/* ---- gen_server_SUITE ------------------------------------------------------------------- */

/* init's {stop, Reason} fails the start with Reason. */
Test(otp_server, start)
{
    act_pid_t pid = start_gs(INIT_OK);
    cr_assert_eq(call(pid, STARTED_P, 0, MS(1000)), OK);
    gs_arg_t a = {act_self(), INIT_STOP_USER};
    cr_assert_eq(act_server_start(&gs, &a, NULL, NULL), ACT_REASON_USER + 9);
    cr_assert_eq(act_server_start_link(&gs, &a, NULL, NULL), ACT_REASON_USER + 9);
    /* {stop, normal}: a failed start cannot return 0. */
    a.how = INIT_STOP_NORMAL;
    cr_assert_eq(act_server_start_link(&gs, &a, NULL, NULL), ACT_ECHILDSTART);
    /* The failed linked starts left no exit signal behind. */
    act_msg_t *m;
    cr_assert_eq(act_receive_type(ACT_MSG_EXIT, MS(50), &m), ACT_ETIMEDOUT);
    /* A supervisor reports the child's own reason. */
    gs_arg_t stop = {ACT_PID_NONE, INIT_STOP_USER};
    act_child_spec_t kids[] = {{ACT_SERVER_CHILD("gs", &gs, &stop)}};
    act_sup_spec_t spec = {.name = "start_sup", .children = kids, .nchildren = 1};
    cr_assert_eq(act_sup_start_link(&spec, NULL), ACT_ECHILDSTART);
    cr_assert_str_eq(act_start_failure(), "failed to start child gs: reason 265");
    cr_assert(
        otp_wait_report(ACT_REPORT_START_FAILED, "child gs failed to start: reason 265", 1000));
}

/* {reply, ok, State, Timeout}: the next call within the timeout sees the state it left; after
 * it, the timeout fired; {noreply, State, Timeout} answers later from handle_info. */
Test(otp_server, call)
{
    act_pid_t pid = start_gs(INIT_OK);
    cr_assert_eq(call(pid, DELAYED_ANSWER, 1, MS(2000)), DELAYED);
    cr_assert_eq(call(pid, CALL_WITHIN, MS(1000), MS(2000)), OK);
    usleep(MS(200) * 1000);
    cr_assert_eq(call(pid, NEXT_CALL, 0, MS(2000)), OK, "within the timeout");
    cr_assert_eq(call(pid, CALL_WITHIN, 100, MS(2000)), OK);
    usleep(MS(400) * 1000);
    cr_assert_eq(call(pid, NEXT_CALL, 0, MS(2000)), FALSE, "the timeout fired");
    /* A call that gives up first: its late answer is dropped. */
    cr_assert_eq(call(pid, DELAYED_ANSWER, MS(200), 1), ACT_ETIMEDOUT);
    cr_assert_eq(call(pid, STARTED_P, 0, MS(2000)), OK);
    usleep(MS(300) * 1000);
    cr_assert(tu_no_msg(DELAYED, MS(50)));
}

/* A message that comes first cancels the timeout: no stale timeout reaches handle_info. */
Test(otp_server, cast)
{
    act_pid_t pid = start_gs(INIT_OK);
    act_server_cast(pid, int_msg(DELAYED_CAST, 1));
    expect_seen((int[]){DELAYED_CAST}, 1);
    act_server_cast(pid, int_msg(DELAYED_CAST, MS(300)));
    cr_assert_eq(call(pid, STARTED_P, 0, MS(2000)), OK); /* cancels it */
    cr_assert(tu_no_msg(SEEN, MS(500)), "a cancelled timeout fired");
}

Test(otp_server, info)
{
    act_pid_t pid = start_gs(INIT_OK);
    act_send(pid, int_msg(DELAYED_INFO, 1));
    expect_seen((int[]){DELAYED_INFO}, 1);
    /* Timeouts racing with messages, many times: a message sent about when the timeout
     * fires either cancels it or finds it queued already; then the timeout is stale and must
     * not reach handle_info (gs_info checks that nothing came in between). */
    uint64_t x = 12345;
    for (int i = 0; i < TU_SCALED(1000, 300); i++) {
        act_send(pid, int_msg(DELAYED_INFO, 1));
        x = x * 6364136223846793005ull + 1442695040888963407ull;
        usleep((useconds_t)(800 + (x >> 33) % 600));
        act_server_cast(pid, int_msg(STARTED_P, 0));
    }
    act_send(pid, int_msg(DELAYED_INFO, 1));
    /* Every report is a DELAYED_INFO, and the last one comes. */
    int got = 0;
    act_msg_t *m;
    while (act_receive_type(SEEN, MS(300), &m) == 0) {
        cr_assert_eq(((tu_int_t *)m)->v, DELAYED_INFO);
        act_msg_free(m);
        got++;
    }
    cr_assert_geq(got, 1);
    cr_assert_eq(tu_failures(), 0, "a stale timeout reached handle_info");
}

/* handle_continue runs right after the callback that asked for it, before any other message
 * (its own message to itself comes after it): from init, call (with and without a reply),
 * cast and info, chained, and stopping. */
Test(otp_server, continue)
{
    act_pid_t pid = start_gs(INIT_CONTINUE);
    expect_seen((int[]){CONTINUED, AFTER_CONTINUE}, 2);
    cr_assert_eq(call(pid, CONTINUE_REPLY, 0, MS(2000)), OK);
    expect_seen((int[]){CONTINUED, AFTER_CONTINUE}, 2);
    cr_assert_eq(call(pid, CONTINUE_NOREPLY, 0, MS(2000)), OK);
    expect_seen((int[]){CONTINUED, AFTER_CONTINUE}, 2);
    act_server_cast(pid, int_msg(CONTINUE_NOREPLY, 0));
    expect_seen((int[]){CONTINUED, AFTER_CONTINUE}, 2);
    act_send(pid, int_msg(CONTINUE_NOREPLY, 0));
    expect_seen((int[]){CONTINUED, AFTER_CONTINUE}, 2);
    act_send(pid, int_msg(CONTINUE_CONTINUE, 0));
    expect_seen((int[]){BEFORE_CONTINUE, CONTINUED, AFTER_CONTINUE}, 3);
    act_ref_t ref;
    act_monitor(pid, &ref);
    act_send(pid, int_msg(CONTINUE_STOP, 0));
    act_down_t *d = tu_recv_down(ACT_MSG_DOWN, 2000);
    cr_assert_eq(d->reason, ACT_NORMAL);
    act_msg_free(&d->hdr);
}

/* The work of a continuation from init does not hold the starter up. */
static int slow_continue_init(void *state, void *arg)
{
    gs_t *s = state;
    s->report = TU_PID(arg);
    return act_server_continue((void *)(intptr_t)-CONTINUED);
}

Test(otp_server, continue_does_not_block_the_starter)
{
    static const act_server_t slow = {
        .state_size = sizeof(gs_t), .init = slow_continue_init, .handle_continue = gs_continue};
    act_pid_t pid;
    cr_assert_eq(act_server_start_link(&slow, TU_ARG(act_self()), NULL, &pid), 0);
    cr_assert(tu_no_msg(SEEN, MS(50)), "the continuation waits for the gate");
    atomic_store(&gate, true);
    expect_seen((int[]){CONTINUED}, 1);
}

/* sys:get_state. */
Test(otp_server, get_state)
{
    act_pid_t pid = start_gs(INIT_OK);
    for (int i = 0; i < 3; i++)
        cr_assert_eq(call(pid, STARTED_P, 0, MS(2000)), OK);
    gs_t copy;
    size_t size = 0;
    cr_assert_eq(act_server_get_state(pid, &copy, sizeof copy, &size, MS(2000)), 0);
    cr_assert_eq(size, sizeof(gs_t));
    cr_assert_eq(copy.n, 3);
    cr_assert_eq(copy.report, act_self());
    /* A shorter buffer gets the start of it; no buffer just the size. */
    act_pid_t head = 0;
    cr_assert_eq(act_server_get_state(pid, &head, sizeof head, NULL, MS(2000)), 0);
    cr_assert_eq(head, act_self());
    cr_assert_eq(act_server_get_state(pid, NULL, 0, &size, MS(2000)), 0);
    cr_assert_eq(size, sizeof(gs_t));
    /* Not a server: refused without asking it. */
    act_pid_t probe = tu_probe((tu_probe_opts_t){0});
    cr_assert_eq(act_server_get_state(probe, &copy, sizeof copy, NULL, MS(2000)), ACT_EBADARG);
    act_exit(probe, ACT_KILL);
    cr_assert(tu_wait_dead(probe, 2000));
    cr_assert_eq(act_server_get_state(probe, &copy, sizeof copy, NULL, MS(2000)), ACT_ENOPROC);
}

/* sys:get_status with format_status. */
Test(otp_server, call_format_status)
{
    act_pid_t pid = start_gs(INIT_OK);
    cr_assert_eq(call(pid, STARTED_P, 0, MS(2000)), OK);
    act_server_status_t st;
    cr_assert_eq(act_server_get_status(pid, &st, MS(2000)), 0);
    cr_assert_str_eq(st.name, "gen_server_SUITE");
    cr_assert_str_eq(st.summary, "1 calls");
    cr_assert_not(st.suspended);
    cr_assert_eq(st.waiting, 0);
    /* Without a format_status or a name. */
    static const act_server_t bare = {0};
    act_pid_t b;
    cr_assert_eq(act_server_start_link(&bare, NULL, NULL, &b), 0);
    cr_assert_eq(act_server_get_status(b, &st, MS(2000)), 0);
    cr_assert_str_eq(st.name, "server");
    cr_assert_str_eq(st.summary, "");
}

/* ---- sys_SUITE ---------------------------------------------------------------------------- */

/* A suspended server answers only system requests: a call times out, suspending twice is no
 * error, status says so; on resume it handles what waited, in order, then answers again. */
Test(otp_server, suspend)
{
    act_pid_t pid = start_gs(INIT_OK);
    cr_assert_eq(act_server_suspend(pid, MS(1000)), 0);
    cr_assert_eq(call(pid, STARTED_P, 0, MS(100)), ACT_ETIMEDOUT);
    act_server_status_t st;
    cr_assert_eq(act_server_get_status(pid, &st, MS(1000)), 0);
    cr_assert(st.suspended);
    cr_assert_eq(st.waiting, 1, "the call waits");
    cr_assert_eq(act_server_suspend(pid, MS(1000)), 0, "twice is no error");
    cr_assert_eq(call(pid, STARTED_P, 0, MS(100)), ACT_ETIMEDOUT);
    /* Messages from one sender keep their order across the suspension. */
    for (int i = 0; i < 150; i++)
        act_send(pid, int_msg(DELAYED_INFO, 100000 + i));
    act_send(pid, int_msg(CONTINUE_NOREPLY, 0));
    cr_assert(tu_no_msg(SEEN, MS(50)), "nothing handled while suspended");
    cr_assert_eq(act_server_resume(pid, MS(1000)), 0);
    cr_assert_eq(act_server_get_status(pid, &st, MS(1000)), 0);
    cr_assert_not(st.suspended);
    cr_assert_eq(call(pid, STARTED_P, 0, MS(2000)), OK);
    expect_seen((int[]){CONTINUED, AFTER_CONTINUE}, 2);
    cr_assert_eq(act_server_resume(pid, MS(1000)), 0, "twice is no error");
    cr_assert_eq(call(pid, STARTED_P, 0, MS(2000)), OK);
    /* The two calls that timed out were handled too (their replies dropped). */
    gs_t copy;
    cr_assert_eq(act_server_get_state(pid, &copy, sizeof copy, NULL, MS(2000)), 0);
    cr_assert_eq(copy.n, 4);
    /* A suspended server still stops. */
    cr_assert_eq(act_server_suspend(pid, MS(1000)), 0);
    act_send(pid, int_msg(DELAYED_INFO, 1));
    cr_assert_eq(act_server_stop(pid, ACT_NORMAL, MS(2000)), 0);
    cr_assert_not(act_is_alive(pid));
    cr_assert_eq(act_server_suspend(pid, MS(1000)), ACT_ENOPROC);
}
