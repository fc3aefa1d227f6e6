/*
 * Erlang/OTP's gen_server_SUITE (lib/stdlib/test/gen_server_SUITE.erl), the cases
 * otp_server_test.c does not port: each test is named after the OTP case and checks its
 * assertions through server.h. OTP's exit(noproc) of a call is ACT_ENOPROC, a call whose
 * server exits meanwhile ACT_ECALLDOWN with the reason; {shutdown, Term} reasons have no
 * equivalent (reasons are ints).
 */
#include <string.h>

#include "otp_util.h"

TestSuite(otp_suite_server, .init = otp_start, .fini = tu_stop, .timeout = TMO(60));

enum {
    STARTED_P = ACT_MSG_USER + 6000, /* call: OK */
    STOP,                            /* call: reply OK, then stop with `stopped` */
    CRASH,                           /* call: act_failf(CRASHED) */
    EXIT_SHUTDOWN,                   /* call: crash with shutdown */
    STOP_SHUTDOWN,                   /* call: stop with shutdown, no reply */
    BADRETURN,                       /* call: a return value that means nothing */
    SEQ,                             /* call, cast or info: append v to the sequence */
    GET_SEQ,                         /* call: the sequence's length and checksum */
    OK,
};

#define STOPPED (ACT_REASON_USER + 20)
#define CRASHED (ACT_REASON_USER + 21)
#define OTHER_REASON (ACT_REASON_USER + 22)

typedef struct {
    int64_t n, bad; /* SEQ values seen, and how many came out of order */
    int last_reason;
} gs_t;

static _Atomic int terminated_with = -1;

static act_msg_t *int_msg(uint32_t type, int64_t v)
{
    tu_int_t *m = act_msg_new(tu_int_t, type);
    m->v = v;
    return &m->hdr;
}

/* init's argument: what init returns. */
enum { INIT_OK, INIT_IGNORE, INIT_STOP, INIT_TRAP };

static int gs_init(void *state, void *arg)
{
    (void)state;
    switch ((int)(intptr_t)arg) {
    case INIT_IGNORE:
        return act_server_ignore();
    case INIT_STOP:
        return act_stop(STOPPED);
    case INIT_TRAP:
        act_trap_exit(true);
        return 0;
    default:
        return 0;
    }
}

static int seq(gs_t *s, act_msg_t *m)
{
    if (((tu_int_t *)m)->v != s->n)
        s->bad++;
    s->n++;
    return 0;
}

static int gs_call(void *state, act_msg_t *req, act_msg_t **reply)
{
    gs_t *s = state;
    switch (req->type) {
    case STARTED_P:
        *reply = int_msg(OK, 0);
        return 0;
    case STOP:
        *reply = int_msg(OK, 0);
        return act_stop(STOPPED);
    case CRASH:
        act_failf(CRASHED, "crashed");
    case EXIT_SHUTDOWN:
        act_fail(ACT_SHUTDOWN);
    case STOP_SHUTDOWN:
        return act_stop(ACT_SHUTDOWN);
    case BADRETURN:
        return 12345;
    case SEQ:
        *reply = int_msg(OK, 0);
        return seq(s, req);
    case GET_SEQ:
        *reply = int_msg(OK, s->n * 1000000 + s->bad);
        return 0;
    default:
        return -EINVAL;
    }
}

static int gs_cast(void *state, act_msg_t *m)
{
    return m->type == SEQ ? seq(state, m) : 0;
}

static int gs_info(void *state, act_msg_t *m)
{
    return m->type == SEQ ? seq(state, m) : 0;
}

static void gs_terminate(void *state, int reason)
{
    (void)state;
    atomic_store(&terminated_with, reason);
}

static const act_server_t gs = {.name = "gen_server_SUITE",
                                .state_size = sizeof(gs_t),
                                .init = gs_init,
                                .handle_call = gs_call,
                                .handle_cast = gs_cast,
                                .handle_info = gs_info,
                                .terminate = gs_terminate};

static act_pid_t start_gs(bool link, const char *name)
{
    act_server_opts_t o = {.name = name};
    act_pid_t pid;
    int rc = link ? act_server_start_link(&gs, (void *)INIT_OK, &o, &pid)
                  : act_server_start(&gs, (void *)INIT_OK, &o, &pid);
    cr_assert_eq(rc, 0, "start: %s", act_strerror(rc));
    return pid;
}

/* Calls; returns the reply's value (OK's 0) or the call's error, and the exit reason. */
static int64_t call(act_pid_t pid, uint32_t type, int64_t v, int *reason)
{
    act_msg_t *r;
    int rc = act_server_call_timeout(pid, int_msg(type, v), MS(5000), &r, reason);
    if (rc)
        return rc;
    cr_assert_eq(r->type, OK);
    int64_t out = ((tu_int_t *)r)->v;
    act_msg_free(r);
    return out;
}

static bool match_exit_of(const act_msg_t *m, void *arg)
{
    return m->type == ACT_MSG_EXIT && ((const act_down_t *)m)->pid == *(const act_pid_t *)arg;
}

static int check_exit(act_pid_t pid)
{
    act_msg_t *m = NULL;
    cr_assert_eq(act_receive(match_exit_of, &pid, MS(5000), &m), 0, "no EXIT");
    int reason = ((act_down_t *)m)->reason;
    act_msg_free(m);
    return reason;
}

/* ---- stop ---------------------------------------------------------------------------------- */

/* gen_server:stop with reason normal; a second stop finds no process. */
Test(otp_suite_server, stop1)
{
    act_pid_t pid = start_gs(false, NULL);
    cr_assert_eq(act_server_stop(pid, ACT_NORMAL, ACT_INFINITY), 0);
    cr_assert_not(act_is_alive(pid));
    cr_assert_eq(atomic_load(&terminated_with), ACT_NORMAL);
    cr_assert_eq(act_server_stop(pid, ACT_NORMAL, ACT_INFINITY), ACT_ENOPROC);
}

/* ... with another reason, which terminate gets. */
Test(otp_suite_server, stop2)
{
    act_pid_t pid = start_gs(false, NULL);
    cr_assert_eq(act_server_stop(pid, OTHER_REASON, ACT_INFINITY), 0);
    cr_assert_not(act_is_alive(pid));
    cr_assert_eq(atomic_load(&terminated_with), OTHER_REASON);
}

/* ... with an invalid timeout: refused, and the server keeps running. */
Test(otp_suite_server, stop3)
{
    act_pid_t pid = start_gs(false, NULL);
    cr_assert_eq(act_server_stop(pid, OTHER_REASON, -7), ACT_EBADARG);
    cr_assert(act_is_alive(pid));
    cr_assert_eq(act_server_stop(pid, ACT_NORMAL, ACT_INFINITY), 0);
    cr_assert_not(act_is_alive(pid));
}

/* ... by registered name: the pid act_whereis gives; once stopped, the name is gone. */
Test(otp_suite_server, stop4)
{
    act_pid_t pid = start_gs(false, "to_stop");
    cr_assert_eq(act_server_stop(act_whereis("to_stop"), ACT_NORMAL, ACT_INFINITY), 0);
    cr_assert_not(act_is_alive(pid));
    cr_assert_eq(act_whereis("to_stop"), ACT_PID_NONE);
    cr_assert_eq(act_server_call_name("to_stop", int_msg(STARTED_P, 0), &(act_msg_t *){0}),
                 ACT_ENONAME);
}

/* ---- crash --------------------------------------------------------------------------------- */

/* A call whose server exits before replying fails with the server's reason, and the linked
 * caller gets the exit; a shutdown is not a crash: a supervisor reports the crash only. */
Test(otp_suite_server, crash)
{
    int reason = 0;
    act_pid_t p0 = start_gs(true, NULL);
    cr_assert_eq(call(p0, EXIT_SHUTDOWN, 0, &reason), ACT_ECALLDOWN);
    cr_assert_eq(reason, ACT_SHUTDOWN);
    cr_assert_eq(check_exit(p0), ACT_SHUTDOWN);

    act_pid_t p1 = start_gs(true, NULL);
    cr_assert_eq(call(p1, STOP_SHUTDOWN, 0, &reason), ACT_ECALLDOWN);
    cr_assert_eq(reason, ACT_SHUTDOWN);
    cr_assert_eq(check_exit(p1), ACT_SHUTDOWN);

    act_pid_t p4 = start_gs(false, NULL);
    cr_assert_eq(call(p4, CRASH, 0, &reason), ACT_ECALLDOWN);
    cr_assert_eq(reason, CRASHED);

    /* Under a supervisor: the shutdown goes unreported, the crash is reported with its text. */
    static const act_child_spec_t kids[] = {
        {ACT_SERVER_CHILD("a", &gs, (void *)INIT_OK), .restart = ACT_TEMPORARY},
        {ACT_SERVER_CHILD("b", &gs, (void *)INIT_OK), .restart = ACT_TEMPORARY}};
    act_sup_spec_t spec = {.name = "crash_sup", .children = kids, .nchildren = 2};
    act_pid_t sup;
    cr_assert_eq(act_sup_start_link(&spec, &sup), 0);
    cr_assert_eq(call(otp_child(sup, "a"), STOP_SHUTDOWN, 0, &reason), ACT_ECALLDOWN);
    cr_assert_eq(call(otp_child(sup, "b"), CRASH, 0, &reason), ACT_ECALLDOWN);
    cr_assert(otp_wait_report(ACT_REPORT_CHILD_EXIT, "child b <", 2000));
    cr_assert(otp_wait_report(ACT_REPORT_CHILD_EXIT, "crashed", 2000));
    cr_assert_eq(otp_reports(ACT_REPORT_CHILD_EXIT, "child a <"), 0);
}

/* call's other ends: a bad return value crashes the server (the caller learns it), and calls to
 * a dead server or an unregistered name fail at once. */
Test(otp_suite_server, call)
{
    int reason = 0;
    act_pid_t pid = start_gs(true, "my_test_name");
    cr_assert_eq(call(pid, STARTED_P, 0, NULL), 0);
    cr_assert_eq(call(pid, BADRETURN, 0, &reason), ACT_ECALLDOWN);
    cr_assert_neq(reason, ACT_NORMAL);
    cr_assert_neq(check_exit(pid), ACT_NORMAL);
    cr_assert_eq(call(pid, STARTED_P, 0, NULL), ACT_ENOPROC);
    act_msg_t *r;
    cr_assert_eq(act_server_call_name("my_test_name", int_msg(STARTED_P, 0), &r), ACT_ENONAME);
}

/* ---- otp_7669: a start that fails leaves no name behind ------------------------------------ */

Test(otp_suite_server, otp_7669)
{
    act_server_opts_t named = {.name = "gen_server_SUITE"};
    for (int i = 0; i < 100; i++) {
        act_pid_t pid = 1;
        cr_assert_eq(act_server_start(&gs, (void *)INIT_IGNORE, &named, &pid), 0);
        cr_assert_eq(pid, ACT_PID_NONE, "ignore gives no pid");
        cr_assert_eq(act_whereis("gen_server_SUITE"), ACT_PID_NONE);
        cr_assert_eq(act_server_start_link(&gs, (void *)INIT_IGNORE, &named, &pid), 0);
        cr_assert_eq(act_whereis("gen_server_SUITE"), ACT_PID_NONE);
    }
    for (int i = 0; i < 10; i++) {
        cr_assert_eq(act_server_start(&gs, (void *)INIT_STOP, &named, NULL), STOPPED);
        cr_assert_eq(act_whereis("gen_server_SUITE"), ACT_PID_NONE);
        cr_assert_eq(act_server_start_link(&gs, (void *)INIT_STOP, &named, NULL), STOPPED);
        cr_assert_eq(act_whereis("gen_server_SUITE"), ACT_PID_NONE);
    }
    /* The linked starts that ignored or failed left no exit signal behind. */
    act_msg_t *m;
    cr_assert_eq(act_receive_type(ACT_MSG_EXIT, MS(50), &m), ACT_ETIMEDOUT);
    /* And the name can be taken at once. */
    start_gs(true, "gen_server_SUITE");
}

/* A server child that ignores its start is kept by its supervisor, not running, as
 * supervisor_SUITE's sup_start_ignore_child does with a start function; a temporary one is
 * forgotten. */
Test(otp_suite_server, init_ignore_under_a_supervisor)
{
    static const act_child_spec_t kids[] = {
        {ACT_SERVER_CHILD("child1", &gs, (void *)INIT_IGNORE), .name = "ignored"},
        {ACT_SERVER_CHILD("child2", &gs, (void *)INIT_IGNORE), .restart = ACT_TEMPORARY},
        {ACT_SERVER_CHILD("child3", &gs, (void *)INIT_OK)}};
    act_sup_spec_t spec = {.name = "ignore_sup", .children = kids, .nchildren = 3};
    act_pid_t sup;
    cr_assert_eq(act_sup_start_link(&spec, &sup), 0);
    act_child_info_t *info;
    size_t n;
    cr_assert_eq(act_sup_which_children(sup, &info, &n), 0);
    cr_assert_eq(n, 2);
    cr_assert_str_eq(info[0].id, "child3");
    cr_assert(act_is_alive(info[0].pid));
    cr_assert_str_eq(info[1].id, "child1");
    cr_assert_eq(info[1].pid, ACT_PID_NONE);
    act_free(info);
    cr_assert_eq(act_whereis("ignored"), ACT_PID_NONE);
    cr_assert_eq(act_sup_restart_child(sup, "child1", &(act_pid_t){0}), 0);
    cr_assert_eq(otp_child(sup, "child1"), ACT_PID_NONE, "ignored again");
}

/* ---- cast/info ordering -------------------------------------------------------------------- */

/* Not an OTP case but Erlang's signal order, which gen_server relies on: calls, casts and plain
 * messages from one sender are handled in the order sent, whatever their kind, from several
 * senders at once. */
static void sender(void *arg)
{
    act_pid_t srv = TU_PID(arg);
    for (int64_t i = 0; i < 3000; i++) {
        switch (i % 3) {
        case 0: {
            act_msg_t *r;
            if (act_server_call(srv, int_msg(SEQ, i), &r) == 0)
                act_msg_free(r);
            break;
        }
        case 1:
            act_server_cast(srv, int_msg(SEQ, i));
            break;
        default:
            act_send(srv, int_msg(SEQ, i));
            break;
        }
    }
}

Test(otp_suite_server, call_cast_info_order)
{
    act_pid_t pid = start_gs(true, NULL);
    act_pid_t f = tu_spawn_fiber(sender, TU_ARG(pid), NULL);
    (void)f;
    int64_t v = 0;
    for (int i = 0; i < 10000; i++) {
        v = call(pid, GET_SEQ, 0, NULL);
        if (v / 1000000 == 3000)
            break;
        act_sleep(1);
    }
    cr_assert_eq(v / 1000000, 3000, "handled %lld of 3000", (long long)(v / 1000000));
    cr_assert_eq(v % 1000000, 0, "%lld messages out of order", (long long)(v % 1000000));
}

/* ---- call_with_huge_message_queue --------------------------------------------------------- */

/* A call costs about the same with half a million unrelated messages waiting in the caller's
 * mailbox: the reply is found without scanning them (OTP fails at 10x). */
static int64_t calls(act_pid_t pid, int n)
{
    int64_t t0 = act_now_ms();
    for (int i = 0; i < n; i++)
        cr_assert_eq(call(pid, STARTED_P, 0, NULL), 0);
    return act_now_ms() - t0;
}

Test(otp_suite_server, call_with_huge_message_queue, .timeout = TMO(120))
{
    const int ncalls = TU_SCALED(10000, 2000);
    const int nmsgs = TU_SCALED(500000, 100000);
    act_pid_t pid = start_gs(true, NULL);
    int64_t t_empty = calls(pid, ncalls);
    for (int i = 0; i < nmsgs; i++)
        tu_send_int(act_self(), TU_INT, i);
    calls(pid, 1); /* the first receive sets the backlog aside once */
    int64_t t_huge = calls(pid, ncalls);
    cr_log_info("%d calls: %lld ms with an empty mailbox, %lld ms with %d messages waiting", ncalls,
                (long long)t_empty, (long long)t_huge, nmsgs);
    cr_assert_lt(t_huge, 10 * t_empty + MS(1000), "%lld ms against %lld ms", (long long)t_huge,
                 (long long)t_empty);
    /* The backlog is still there, in order. */
    for (int i = 0; i < 3; i++)
        cr_assert_eq(tu_recv_int(TU_INT, 1000), i);
}

/* ---- terminate when the parent stops a trapping server ------------------------------------ */

/* OTP-4820 (spec_init_local_registered_parent): a server that traps exits runs terminate with
 * the reason its parent (here a registered actor) exits with. */
static void parent_fiber(void *arg)
{
    (void)arg;
    act_register("foobar", act_self());
    act_server_opts_t o = {.trap_exit = true, .name = "my_server"};
    act_pid_t pid;
    TU_CHECK(act_server_start_link(&gs, (void *)INIT_OK, &o, &pid) == 0);
    act_msg_t *m;
    act_receive_type(TU_PING, ACT_INFINITY, &m);
    act_msg_free(m);
    act_fail(OTHER_REASON);
}

Test(otp_suite_server, spec_init_local_registered_parent)
{
    act_ref_t ref;
    act_pid_t parent = tu_spawn_fiber(parent_fiber, NULL, &ref);
    for (int i = 0; i < 5000 && !act_whereis("my_server"); i++)
        act_sleep(1);
    act_pid_t srv = act_whereis("my_server");
    cr_assert_neq(srv, ACT_PID_NONE);
    act_ref_t sref;
    cr_assert_eq(act_monitor(srv, &sref), 0);
    tu_send_int(parent, TU_PING, 0);
    act_down_t *d = tu_recv_down(ACT_MSG_DOWN, 5000);
    act_down_t *d2 = tu_recv_down(ACT_MSG_DOWN, 5000);
    act_down_t *ds = d->pid == srv ? d : d2;
    cr_assert_eq(ds->reason, OTHER_REASON);
    cr_assert_eq(atomic_load(&terminated_with), OTHER_REASON);
    act_msg_free(&d->hdr);
    act_msg_free(&d2->hdr);
    cr_assert_eq(tu_failures(), 0);
}

/* Not an OTP case by name, but gen_server's documented rule that supervisor_SUITE's sup_stop
 * cases rely on: a server that traps exits runs terminate with `shutdown` when its supervisor
 * stops it, within its shutdown time, before the supervisor goes on to the next child. */
Test(otp_suite_server, terminate_on_shutdown_when_trapping_exits)
{
    static const act_child_spec_t kids[] = {{ACT_SERVER_CHILD("gs", &gs, (void *)INIT_TRAP)}};
    act_sup_spec_t spec = {.name = "trap_sup", .children = kids, .nchildren = 1};
    act_pid_t sup;
    cr_assert_eq(act_sup_start_link(&spec, &sup), 0);
    act_pid_t child = otp_child(sup, "gs");
    act_ref_t ref;
    cr_assert_eq(act_monitor(child, &ref), 0);
    cr_assert_eq(act_sup_stop(sup, MS(5000)), 0);
    act_down_t *d = tu_recv_down(ACT_MSG_DOWN, 5000);
    cr_assert_eq(d->pid, child);
    cr_assert_eq(d->reason, ACT_SHUTDOWN);
    act_msg_free(&d->hdr);
    cr_assert_eq(atomic_load(&terminated_with), ACT_SHUTDOWN);
}
