/* Supervisors (sup.h): start order, strategies, restart types, intensity, shutdown, trees. */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "otp_util.h"

TestSuite(sup, .init = otp_start, .fini = tu_stop, .timeout = TMO(20));
TestSuite(sup_strategy, .init = otp_start, .fini = tu_stop, .timeout = TMO(20));
TestSuite(sup_restart, .init = otp_start, .fini = tu_stop, .timeout = TMO(20));
TestSuite(sup_intensity, .init = otp_start, .fini = tu_stop, .timeout = TMO(20));
TestSuite(sup_shutdown, .init = otp_start, .fini = tu_stop, .timeout = TMO(20));
TestSuite(sup_tree, .init = otp_start, .fini = tu_stop, .timeout = TMO(20));

#define W(id, tag, ...)                                                                            \
    {                                                                                              \
        ACT_SERVER_CHILD(id, &otp_worker, OTP_W(tag, 0)), __VA_ARGS__                              \
    }
#define N(a) (sizeof(a) / sizeof((a)[0]))

static act_pid_t start_sup(act_strategy_t strategy, const act_child_spec_t *kids, size_t n)
{
    act_sup_spec_t spec = {
        .name = "test_sup", .strategy = strategy, .children = kids, .nchildren = n};
    act_pid_t sup;
    int rc = act_sup_start_link(&spec, &sup);
    cr_assert_eq(rc, 0, "start: %s", act_strerror(rc));
    return sup;
}

static void expect_log(int from, const int *evs, int n)
{
    cr_assert(otp_log_wait(from + n, 3000), "log: %s", otp_log_str(0));
    cr_assert(otp_log_is(from, evs, n), "log from %d: %s", from, otp_log_str(from));
}

/* ---- sup: start, stop, bad input, introspection ------------------------------------------- */

Test(sup, starts_children_in_order_and_stops_them_in_reverse)
{
    static const act_child_spec_t kids[] = {W("a", 1), W("b", 2), W("c", 3)};
    act_pid_t sup = start_sup(ACT_ONE_FOR_ONE, kids, N(kids));
    expect_log(0, (int[]){1, 2, 3}, 3);
    cr_assert_neq(otp_child(sup, "a"), ACT_PID_NONE);
    cr_assert_eq(act_sup_stop(sup, MS(5000)), 0);
    expect_log(3, (int[]){-3, -2, -1}, 3);
    cr_assert_not(act_is_alive(sup));
    cr_assert_eq(act_sup_stop(sup, MS(1000)), ACT_ENOPROC);
}

Test(sup, a_child_that_fails_to_start_fails_the_start_clearly)
{
    static const act_child_spec_t kids[] = {
        W("a", 1),
        W("b", 2),
        {ACT_SERVER_CHILD("broken", &otp_worker, OTP_W(3, OTP_FAIL_INIT))},
        W("d", 4),
    };
    act_sup_spec_t spec = {.name = "failing_sup", .children = kids, .nchildren = N(kids)};
    act_pid_t sup = ACT_PID_NONE;
    cr_assert_eq(act_sup_start_link(&spec, &sup), ACT_ECHILDSTART);
    cr_assert_eq(sup, ACT_PID_NONE);
    /* The children already started are stopped in reverse order; d never starts. */
    expect_log(0, (int[]){1, 2, -2, -1}, 4);
    cr_assert(otp_wait_report(ACT_REPORT_START_FAILED, "failing_sup", 1000));
    cr_assert_eq(otp_reports(ACT_REPORT_START_FAILED, "child broken failed to start: EIO"), 1);
    /* The caller (a trapping proxy) was unlinked first: no EXIT waits for it. */
    act_msg_t *m;
    cr_assert_eq(act_receive_type(ACT_MSG_EXIT, 50, &m), ACT_ETIMEDOUT);
}

static int bad_start(const act_child_start_t *cs, act_pid_t *out)
{
    (void)cs;
    (void)out;
    return 1; /* a positive "error": still a failure */
}

Test(sup, bad_specs_are_refused)
{
    act_pid_t sup;
    cr_assert_eq(act_sup_start_link(NULL, &sup), ACT_EBADARG);
    act_child_spec_t dup[] = {W("a", 1), W("a", 2)};
    act_sup_spec_t s = {.children = dup, .nchildren = 2};
    cr_assert_eq(act_sup_start_link(&s, &sup), ACT_EBADARG);
    act_child_spec_t nostart[] = {{.id = "x"}};
    s = (act_sup_spec_t){.children = nostart, .nchildren = 1};
    cr_assert_eq(act_sup_start_link(&s, &sup), ACT_EBADARG);
    act_child_spec_t noid[] = {{.start = act_server_child_start, .mod = &otp_worker}};
    s.children = noid;
    cr_assert_eq(act_sup_start_link(&s, &sup), ACT_EBADARG);
    act_child_spec_t badrestart[] = {W("a", 1, .restart = (act_restart_t)9)};
    s.children = badrestart;
    cr_assert_eq(act_sup_start_link(&s, &sup), ACT_EBADARG);
    act_child_spec_t badshutdown[] = {W("a", 1, .shutdown = -3)};
    s.children = badshutdown;
    cr_assert_eq(act_sup_start_link(&s, &sup), ACT_EBADARG);
    s = (act_sup_spec_t){.strategy = ACT_SIMPLE_ONE_FOR_ONE, .children = dup, .nchildren = 2};
    cr_assert_eq(act_sup_start_link(&s, &sup), ACT_EBADARG, "a dynamic spec has one template");
    s = (act_sup_spec_t){.max_restarts = -1};
    cr_assert_eq(act_sup_start_link(&s, &sup), ACT_EBADARG);
    s = (act_sup_spec_t){.strategy = (act_strategy_t)7};
    cr_assert_eq(act_sup_start_link(&s, &sup), ACT_EBADARG);
    s = (act_sup_spec_t){.nchildren = 3};
    cr_assert_eq(act_sup_start_link(&s, &sup), ACT_EBADARG);
    s = (act_sup_spec_t){.register_name = true};
    cr_assert_eq(act_sup_start_link(&s, &sup), ACT_EBADARG);
    act_child_spec_t positive[] = {{ACT_WORKER_CHILD("p", bad_start, NULL)}};
    s = (act_sup_spec_t){.children = positive, .nchildren = 1};
    cr_assert_eq(act_sup_start_link(&s, &sup), ACT_ECHILDSTART);
    /* Calls on something that is not a supervisor fail, they do not hang. */
    cr_assert_eq(act_sup_terminate_child(ACT_PID_NONE, "a"), ACT_ENOPROC);
    cr_assert_eq(act_sup_terminate_child(sup, NULL), ACT_EBADARG);
    cr_assert_eq(act_sup_add_child(sup, NULL, NULL), ACT_EBADARG);
    cr_assert_eq(act_sup_which_children(sup, NULL, NULL), ACT_EBADARG);
}

static int plain_sup_init(void *state, void *arg)
{
    (void)state;
    act_pid_t report = TU_PID(arg);
    static const act_sup_spec_t empty = {0};
    tu_send_int(report, TU_RESULT, act_sup_start_link(&empty, NULL));
    tu_send_int(report, TU_RESULT, act_sup_stop(report, 10));
    return 0;
}

static int drop(void *state, act_msg_t *msg)
{
    (void)state;
    (void)msg;
    return 0;
}

Test(sup, plain_actors_cannot_wait_for_a_supervisor)
{
    static const act_behaviour_t b = {.init = plain_sup_init, .handle = drop};
    tu_spawn_plain(&b, 0, TU_ARG(act_self()), NULL);
    cr_assert_eq(tu_recv_int(TU_RESULT, 2000), ACT_ENOTFIBER);
    cr_assert_eq(tu_recv_int(TU_RESULT, 2000), ACT_ENOTFIBER);
}

Test(sup, registered_name_and_elixir_default_intensity)
{
    static const act_child_spec_t kids[] = {W("a", 1)};
    act_sup_spec_t spec = {
        .name = "named_sup", .register_name = true, .children = kids, .nchildren = 1};
    act_pid_t sup;
    cr_assert_eq(act_sup_start_link(&spec, &sup), 0);
    cr_assert_eq(act_whereis("named_sup"), sup);
    act_pid_t other;
    cr_assert_eq(act_sup_start_link(&spec, &other), ACT_ENAMETAKEN);
    /* Defaults: 3 restarts in 5 s are fine, the 4th within 5 s is not. */
    act_pid_t w = otp_child(sup, "a");
    for (int i = 0; i < 3; i++) {
        act_exit(w, ACT_CRASH);
        w = otp_wait_restart(sup, "a", w, 2000);
        cr_assert_neq(w, ACT_PID_NONE);
    }
    act_ref_t ref;
    act_monitor(sup, &ref);
    act_exit(w, ACT_CRASH);
    act_down_t *d = tu_recv_down(ACT_MSG_DOWN, 2000);
    cr_assert_eq(d->reason, ACT_SHUTDOWN);
    act_msg_free(&d->hdr);
}

Test(sup, which_children_and_count_children)
{
    static const act_sup_spec_t inner = {.name = "inner"};
    static const act_child_spec_t kids[] = {W("a", 1), {ACT_SUP_CHILD("s", &inner)}, W("c", 3)};
    act_pid_t sup = start_sup(ACT_ONE_FOR_ONE, kids, N(kids));
    act_child_info_t *info;
    size_t n;
    cr_assert_eq(act_sup_which_children(sup, &info, &n), 0);
    cr_assert_eq(n, 3);
    /* Newest first, as OTP lists them. */
    cr_assert_str_eq(info[0].id, "c");
    cr_assert_str_eq(info[1].id, "s");
    cr_assert_str_eq(info[2].id, "a");
    cr_assert_eq(info[1].type, ACT_SUPERVISOR);
    cr_assert_eq(info[2].type, ACT_WORKER);
    cr_assert_eq(info[2].restart, ACT_PERMANENT);
    for (size_t i = 0; i < n; i++)
        cr_assert(act_is_alive(info[i].pid));
    act_free(info);
    act_child_counts_t c;
    cr_assert_eq(act_sup_count_children(sup, &c), 0);
    cr_assert_eq(c.specs, 3);
    cr_assert_eq(c.active, 3);
    cr_assert_eq(c.supervisors, 1);
    cr_assert_eq(c.workers, 2);
    cr_assert_eq(act_sup_terminate_child(sup, "c"), 0);
    cr_assert_eq(act_sup_count_children(sup, &c), 0);
    cr_assert_eq(c.specs, 3);
    cr_assert_eq(c.active, 2);
    /* An empty supervisor answers too. */
    static const act_sup_spec_t empty = {0};
    act_pid_t e;
    cr_assert_eq(act_sup_start_link(&empty, &e), 0);
    cr_assert_eq(act_sup_which_children(e, &info, &n), 0);
    cr_assert_eq(n, 0);
    cr_assert_null(info);
}

Test(sup, add_terminate_restart_delete_child)
{
    static const act_child_spec_t kids[] = {W("a", 1)};
    act_pid_t sup = start_sup(ACT_ONE_FOR_ONE, kids, N(kids));
    act_child_spec_t b = W("b", 2);
    act_pid_t pb;
    cr_assert_eq(act_sup_add_child(sup, &b, &pb), 0);
    cr_assert_eq(otp_child(sup, "b"), pb);
    act_pid_t running = ACT_PID_NONE;
    cr_assert_eq(act_sup_add_child(sup, &b, &running), ACT_ECHILDRUNNING, "already started");
    cr_assert_eq(running, pb);
    act_child_spec_t bad = {ACT_SERVER_CHILD("bad", &otp_worker, OTP_W(9, OTP_FAIL_INIT))};
    cr_assert_eq(act_sup_add_child(sup, &bad, NULL), -EIO);
    cr_assert_eq(act_sup_delete_child(sup, "bad"), ACT_ENOCHILD, "a failed add leaves no spec");
    cr_assert_eq(act_sup_delete_child(sup, "b"), ACT_ECHILDRUNNING);
    cr_assert_eq(act_sup_restart_child(sup, "b", NULL), ACT_ECHILDRUNNING);
    cr_assert_eq(act_sup_terminate_child(sup, "b"), 0);
    cr_assert_not(act_is_alive(pb));
    cr_assert_eq(otp_child(sup, "b"), ACT_PID_NONE);
    act_pid_t pb2;
    cr_assert_eq(act_sup_restart_child(sup, "b", &pb2), 0);
    cr_assert(act_is_alive(pb2));
    cr_assert_eq(act_sup_terminate_child(sup, "b"), 0);
    cr_assert_eq(act_sup_delete_child(sup, "b"), 0);
    cr_assert_eq(act_sup_terminate_child(sup, "b"), ACT_ENOCHILD);
    cr_assert_eq(act_sup_restart_child(sup, "zz", NULL), ACT_ENOCHILD);
    cr_assert_eq(act_sup_start_child(sup, NULL, 0, NULL), ACT_ENOTSUP);
    cr_assert_eq(act_sup_terminate_pid(sup, pb2), ACT_ENOTSUP);
    /* A temporary child's spec goes with it. */
    act_child_spec_t t = W("t", 5, .restart = ACT_TEMPORARY);
    cr_assert_eq(act_sup_add_child(sup, &t, NULL), 0);
    cr_assert_eq(act_sup_terminate_child(sup, "t"), 0);
    cr_assert_eq(act_sup_restart_child(sup, "t", NULL), ACT_ENOCHILD);
}

static int ignore_start(const act_child_start_t *cs, act_pid_t *out)
{
    (void)cs;
    *out = ACT_PID_NONE;
    return 0;
}

Test(sup, a_start_function_may_ignore_its_child)
{
    static const act_child_spec_t kids[] = {{ACT_WORKER_CHILD("i", ignore_start, NULL)}, W("a", 1)};
    act_pid_t sup = start_sup(ACT_ONE_FOR_ONE, kids, N(kids));
    act_child_counts_t c;
    cr_assert_eq(act_sup_count_children(sup, &c), 0);
    cr_assert_eq(c.specs, 2);
    cr_assert_eq(c.active, 1);
}

static atomic_int self_call_rc;

static int self_calling_start(const act_child_start_t *cs, act_pid_t *out)
{
    /* Inside a start function the caller is the supervisor itself. */
    act_child_counts_t c;
    atomic_store(&self_call_rc, act_sup_count_children(act_self(), &c));
    TU_CHECK(act_sup_stop(act_self(), 10) == -EDEADLK);
    return act_server_child_start(cs, out);
}

Test(sup, a_supervisor_calling_itself_gets_edeadlk)
{
    static const act_child_spec_t kids[] = {
        {ACT_WORKER_CHILD("s", self_calling_start, OTP_W(1, 0)), .mod = &otp_worker}};
    act_pid_t sup = start_sup(ACT_ONE_FOR_ONE, kids, 1);
    cr_assert_eq(atomic_load(&self_call_rc), -EDEADLK);
    cr_assert(act_is_alive(otp_child(sup, "s")));
    cr_assert_eq(tu_failures(), 0);
}

static void start_from_fiber(void *arg)
{
    static const act_child_spec_t kids[] = {W("f", 7)};
    act_sup_spec_t spec = {.children = kids, .nchildren = 1};
    act_pid_t sup;
    TU_CHECK(act_sup_start_link(&spec, &sup) == 0);
    tu_send_int(TU_PID(arg), TU_RESULT, (int64_t)sup);
    act_msg_t *m;
    act_receive_type(TU_PING, ACT_INFINITY, &m); /* then return: the supervisor follows */
    act_msg_free(m);
}

Test(sup, stops_with_its_parent)
{
    act_pid_t f = tu_spawn_fiber(start_from_fiber, TU_ARG(act_self()), NULL);
    act_pid_t sup = (act_pid_t)tu_recv_int(TU_RESULT, 2000);
    cr_assert(otp_log_wait(1, 2000));
    tu_send_int(f, TU_PING, 0);
    cr_assert(tu_wait_dead(sup, 2000));
    expect_log(0, (int[]){7, -7}, 2);
    cr_assert_eq(tu_failures(), 0);
}

/* ---- sup_strategy ------------------------------------------------------------------------- */

Test(sup_strategy, one_for_one_restarts_only_the_child_that_exited)
{
    static const act_child_spec_t kids[] = {W("a", 1), W("b", 2), W("c", 3)};
    act_pid_t sup = start_sup(ACT_ONE_FOR_ONE, kids, N(kids));
    expect_log(0, (int[]){1, 2, 3}, 3);
    act_pid_t a = otp_child(sup, "a"), b = otp_child(sup, "b"), c = otp_child(sup, "c");
    act_exit(b, ACT_CRASH);
    act_pid_t b2 = otp_wait_restart(sup, "b", b, 2000);
    cr_assert_neq(b2, ACT_PID_NONE);
    expect_log(3, (int[]){-2, 2}, 2);
    cr_assert_eq(otp_child(sup, "a"), a);
    cr_assert_eq(otp_child(sup, "c"), c);
    cr_assert(otp_wait_report(ACT_REPORT_CHILD_EXIT, "child b", 1000));
    cr_assert_eq(otp_reports(ACT_REPORT_CHILD_EXIT, "exited: crash; restarting"), 1);
}

Test(sup_strategy, one_for_all_stops_the_others_in_reverse_and_restarts_all_in_order)
{
    static const act_child_spec_t kids[] = {W("a", 1), W("b", 2), W("c", 3), W("d", 4)};
    act_pid_t sup = start_sup(ACT_ONE_FOR_ALL, kids, N(kids));
    expect_log(0, (int[]){1, 2, 3, 4}, 4);
    act_pid_t a = otp_child(sup, "a"), b = otp_child(sup, "b");
    act_exit(b, ACT_CRASH);
    expect_log(4, (int[]){-2, -4, -3, -1, 1, 2, 3, 4}, 8);
    cr_assert_neq(otp_child(sup, "a"), a);
    cr_assert_neq(otp_child(sup, "b"), b);
    act_child_info_t *info;
    size_t n;
    cr_assert_eq(act_sup_which_children(sup, &info, &n), 0);
    for (size_t i = 0; i < n; i++)
        cr_assert_eq(info[i].restarts, 1, "child %s", info[i].id);
    act_free(info);
}

Test(sup_strategy, rest_for_one_restarts_the_child_and_those_started_after_it)
{
    static const act_child_spec_t kids[] = {W("a", 1), W("b", 2), W("c", 3), W("d", 4)};
    act_pid_t sup = start_sup(ACT_REST_FOR_ONE, kids, N(kids));
    expect_log(0, (int[]){1, 2, 3, 4}, 4);
    act_pid_t a = otp_child(sup, "a"), b = otp_child(sup, "b"), c = otp_child(sup, "c");
    act_exit(b, ACT_CRASH);
    expect_log(4, (int[]){-2, -4, -3, 2, 3, 4}, 6);
    cr_assert_eq(otp_child(sup, "a"), a);
    cr_assert_neq(otp_child(sup, "b"), b);
    cr_assert_neq(otp_child(sup, "c"), c);
    /* The last child only restarts itself. */
    act_pid_t d = otp_child(sup, "d");
    act_exit(d, ACT_CRASH);
    expect_log(10, (int[]){-4, 4}, 2);
}

Test(sup_strategy, one_for_all_forgets_temporary_children)
{
    static const act_child_spec_t kids[] = {W("a", 1), W("t", 2, .restart = ACT_TEMPORARY),
                                            W("c", 3)};
    act_pid_t sup = start_sup(ACT_ONE_FOR_ALL, kids, N(kids));
    expect_log(0, (int[]){1, 2, 3}, 3);
    act_exit(otp_child(sup, "a"), ACT_CRASH);
    expect_log(3, (int[]){-1, -3, -2, 1, 3}, 5);
    act_child_counts_t c;
    cr_assert_eq(act_sup_count_children(sup, &c), 0);
    cr_assert_eq(c.specs, 2);
}

/* ---- sup_restart: restart types with normal and abnormal exits ---------------------------- */

static act_pid_t one_child_sup(act_restart_t restart)
{
    act_child_spec_t kids[] = {W("w", 1, .restart = restart), W("x", 2)};
    return start_sup(ACT_ONE_FOR_ONE, kids, N(kids));
}

Test(sup_restart, permanent_child_restarts_after_any_exit)
{
    act_pid_t sup = one_child_sup(ACT_PERMANENT);
    act_pid_t w = otp_child(sup, "w");
    cr_assert_eq(act_server_stop(w, ACT_NORMAL, MS(2000)), 0);
    w = otp_wait_restart(sup, "w", w, 2000);
    cr_assert_neq(w, ACT_PID_NONE, "restarted after a normal exit");
    act_exit(w, ACT_CRASH);
    cr_assert_neq(otp_wait_restart(sup, "w", w, 2000), ACT_PID_NONE);
    cr_assert_eq(otp_reports(ACT_REPORT_CHILD_EXIT, NULL), 1, "only the crash is reported");
}

Test(sup_restart, transient_child_restarts_only_after_an_abnormal_exit)
{
    act_pid_t sup = one_child_sup(ACT_TRANSIENT);
    act_pid_t w = otp_child(sup, "w");
    act_exit(w, ACT_CRASH);
    w = otp_wait_restart(sup, "w", w, 2000);
    cr_assert_neq(w, ACT_PID_NONE);
    cr_assert_eq(act_server_stop(w, ACT_NORMAL, MS(2000)), 0);
    usleep(50 * 1000);
    cr_assert_eq(otp_child(sup, "w"), ACT_PID_NONE, "not restarted after a normal exit");
    act_pid_t again;
    cr_assert_eq(act_sup_restart_child(sup, "w", &again), 0, "its spec stays");
    cr_assert_eq(act_server_stop(again, ACT_SHUTDOWN, MS(2000)), 0);
    usleep(50 * 1000);
    cr_assert_eq(otp_child(sup, "w"), ACT_PID_NONE, "shutdown counts as normal");
}

Test(sup_restart, temporary_child_is_never_restarted)
{
    act_pid_t sup = one_child_sup(ACT_TEMPORARY);
    act_exit(otp_child(sup, "w"), ACT_CRASH);
    cr_assert(otp_wait_report(ACT_REPORT_CHILD_EXIT, "temporary: not restarted", 2000));
    act_child_counts_t c;
    cr_assert_eq(act_sup_count_children(sup, &c), 0);
    cr_assert_eq(c.specs, 1, "forgotten");
    act_child_spec_t t = W("t", 3, .restart = ACT_TEMPORARY);
    act_pid_t tp;
    cr_assert_eq(act_sup_add_child(sup, &t, &tp), 0);
    cr_assert_eq(act_server_stop(tp, ACT_NORMAL, MS(2000)), 0);
    usleep(50 * 1000);
    cr_assert_eq(act_sup_count_children(sup, &c), 0);
    cr_assert_eq(c.specs, 1);
}

/* ---- sup_intensity -------------------------------------------------------------------------- */

Test(sup_intensity, more_than_max_restarts_in_max_seconds_shuts_the_supervisor_down)
{
    static const act_child_spec_t kids[] = {W("a", 1), W("b", 2), W("c", 3)};
    act_sup_spec_t spec = {.name = "fragile",
                           .max_restarts = 2,
                           .max_seconds = 10,
                           .children = kids,
                           .nchildren = N(kids)};
    act_pid_t sup;
    cr_assert_eq(act_sup_start_link(&spec, &sup), 0);
    act_ref_t ref;
    act_monitor(sup, &ref);
    act_pid_t b = otp_child(sup, "b");
    for (int i = 0; i < 2; i++) {
        act_exit(b, ACT_CRASH);
        b = otp_wait_restart(sup, "b", b, 2000);
        cr_assert_neq(b, ACT_PID_NONE);
    }
    int mark = otp_log_len();
    act_exit(b, ACT_CRASH);
    act_down_t *d = tu_recv_down(ACT_MSG_DOWN, 3000);
    cr_assert_eq(d->pid, sup);
    cr_assert_eq(d->reason, ACT_SHUTDOWN, "gives up with shutdown, as OTP");
    cr_assert(strstr(d->text, "reached max restart intensity (2 restarts in 10 s)"), "%s", d->text);
    act_msg_free(&d->hdr);
    /* b crashed, then the others stopped in reverse order. */
    expect_log(mark, (int[]){-2, -3, -1}, 3);
    cr_assert_eq(otp_reports(ACT_REPORT_GAVE_UP, "fragile"), 1);
    /* Its link (the trapping test thread) got the exit too. */
    act_msg_t *m;
    cr_assert_eq(act_receive_type(ACT_MSG_EXIT, MS(1000), &m), 0);
    act_msg_free(m);
}

Test(sup_intensity, zero_restarts_allowed)
{
    static const act_child_spec_t kids[] = {W("a", 1)};
    act_sup_spec_t spec = {.max_restarts = 0, .max_seconds = 1, .children = kids, .nchildren = 1};
    act_pid_t sup;
    cr_assert_eq(act_sup_start_link(&spec, &sup), 0);
    act_exit(otp_child(sup, "a"), ACT_CRASH);
    cr_assert(tu_wait_dead(sup, 2000));
}

Test(sup_intensity, restarts_older_than_the_period_do_not_count)
{
    static const act_child_spec_t kids[] = {W("a", 1)};
    act_sup_spec_t spec = {.max_restarts = 1, .max_seconds = 1, .children = kids, .nchildren = 1};
    act_pid_t sup;
    cr_assert_eq(act_sup_start_link(&spec, &sup), 0);
    act_pid_t a = otp_child(sup, "a");
    for (int i = 0; i < 3; i++) {
        act_exit(a, ACT_CRASH);
        a = otp_wait_restart(sup, "a", a, 2000);
        cr_assert_neq(a, ACT_PID_NONE, "restart %d", i);
        usleep(1050 * 1000);
    }
    cr_assert(act_is_alive(sup));
}

/* Crashes child "a" of sup n times, waiting for each restart. */
static void crash_n(act_pid_t sup, int n)
{
    act_pid_t a = otp_child(sup, "a");
    for (int i = 0; i < n; i++) {
        act_exit(a, ACT_CRASH);
        a = otp_wait_restart(sup, "a", a, 2000);
        cr_assert_neq(a, ACT_PID_NONE, "restart %d", i);
    }
}

/* Live blocks once the restarts are over: dead children are freed by the epoch collector a
 * little later, so wait for the count to settle. */
static int64_t settled_blocks(void)
{
    int64_t b = act_mem_live_blocks();
    for (int i = 0; i < 200; i++) {
        usleep(2000);
        int64_t now = act_mem_live_blocks();
        if (now == b)
            break;
        b = now;
    }
    return b;
}

/* The restart history lives in storage fixed at start: a ring of max_restarts times (up to
 * ACT_SUP_RING_MAX) or 64 buckets above, so thousands of restarts allocate nothing that stays
 * (OTP keeps a list that grows with the intensity), and the intensity still counts. */
Test(sup_intensity, high_intensity_uses_fixed_storage)
{
    static const act_child_spec_t kids[] = {W("a", 1)};
    act_report_set(act_report_silent, NULL);
    const int intensities[] = {1000000, ACT_SUP_RING_MAX}; /* buckets, then the ring */
    for (int k = 0; k < 2; k++) {
        int n = k == 0 ? TU_SCALED(3000, 300) : TU_SCALED(ACT_SUP_RING_MAX - 100, 300);
        act_sup_spec_t spec = {
            .max_restarts = intensities[k], .max_seconds = 60, .children = kids, .nchildren = 1};
        act_pid_t sup;
        cr_assert_eq(act_sup_start_link(&spec, &sup), 0);
        crash_n(sup, 50);
        int64_t before = settled_blocks();
        crash_n(sup, n);
        int64_t after = settled_blocks();
        /* A block per restart kept anywhere would show as n blocks. */
        cr_assert_leq(after - before, 8, "max_restarts %d: %lld blocks more after %d restarts",
                      intensities[k], (long long)(after - before), n);
        act_child_info_t *info;
        size_t len;
        cr_assert_eq(act_sup_which_children(sup, &info, &len), 0);
        cr_assert_eq(info[0].restarts, (uint32_t)(n + 50));
        act_free(info);
        cr_assert_eq(act_sup_stop(sup, MS(5000)), 0);
    }
    /* The ring still counts: 3 restarts in 60 s are the most, the 4th gives up. */
    act_sup_spec_t small = {.max_restarts = 3, .max_seconds = 60, .children = kids, .nchildren = 1};
    act_pid_t sup;
    cr_assert_eq(act_sup_start_link(&small, &sup), 0);
    crash_n(sup, 3);
    act_ref_t ref;
    act_monitor(sup, &ref);
    act_exit(otp_child(sup, "a"), ACT_CRASH);
    act_down_t *d = tu_recv_down(ACT_MSG_DOWN, 2000);
    cr_assert_eq(d->reason, ACT_SHUTDOWN);
    act_msg_free(&d->hdr);
    act_msg_free(&tu_recv_down(ACT_MSG_EXIT, 2000)->hdr); /* the link's */
}

/* Two levels: top (1 restart in 10 s) > mid (1 restart in 10 s) > worker. */
static const act_child_spec_t mid_kids[] = {W("w", 1)};
static const act_sup_spec_t mid = {
    .name = "mid", .max_restarts = 1, .max_seconds = 10, .children = mid_kids, .nchildren = 1};

static act_pid_t crash_until_mid_gives_up(act_pid_t top)
{
    act_pid_t m = otp_child(top, "mid");
    act_pid_t w = otp_child(m, "w");
    act_exit(w, ACT_CRASH);
    w = otp_wait_restart(m, "w", w, 2000);
    cr_assert_neq(w, ACT_PID_NONE);
    act_exit(w, ACT_CRASH); /* second restart within 10 s: mid gives up */
    cr_assert(tu_wait_dead(m, 2000));
    return m;
}

Test(sup_intensity, escalation_climbs_two_levels)
{
    static const act_child_spec_t top_kids[] = {W("other", 9), {ACT_SUP_CHILD("mid", &mid)}};
    act_sup_spec_t spec = {
        .name = "top", .max_restarts = 1, .max_seconds = 10, .children = top_kids, .nchildren = 2};
    act_pid_t top;
    cr_assert_eq(act_sup_start_link(&spec, &top), 0);
    act_ref_t ref;
    act_monitor(top, &ref);
    act_pid_t m1 = crash_until_mid_gives_up(top);
    /* top restarts mid once: its first restart. */
    act_pid_t m2 = otp_wait_restart(top, "mid", m1, 2000);
    cr_assert_neq(m2, ACT_PID_NONE);
    cr_assert(act_is_alive(top));
    cr_assert_eq(otp_reports(ACT_REPORT_GAVE_UP, "] mid <"), 1);
    crash_until_mid_gives_up(top);
    /* The second failure of mid is one too many for top: the failure climbs. */
    act_down_t *d = tu_recv_down(ACT_MSG_DOWN, 3000);
    cr_assert_eq(d->pid, top);
    cr_assert_eq(d->reason, ACT_SHUTDOWN);
    cr_assert(strstr(d->text, "last exit: child mid"), "%s", d->text);
    act_msg_free(&d->hdr);
    cr_assert_eq(otp_reports(ACT_REPORT_GAVE_UP, "] mid <"), 2);
    cr_assert_eq(otp_reports(ACT_REPORT_GAVE_UP, "] top <"), 1);
    /* Everything is gone, "other" included (stopped last in, first out). */
    cr_assert(otp_log_wait(6, 2000));
    cr_assert_eq(otp_log_at(otp_log_len() - 1), -9);
}

static int failing_restart_start(const act_child_start_t *cs, act_pid_t *out)
{
    /* Starts fine the first time, then fails: restarts are retried until the intensity. */
    static atomic_int calls;
    if (atomic_fetch_add(&calls, 1) > 0)
        return -EAGAIN;
    return act_server_child_start(cs, out);
}

Test(sup_intensity, failed_restarts_are_retried_and_count)
{
    static const act_child_spec_t kids[] = {
        {ACT_WORKER_CHILD("r", failing_restart_start, OTP_W(1, 0)), .mod = &otp_worker}};
    act_sup_spec_t spec = {
        .name = "retrying", .max_restarts = 3, .max_seconds = 10, .children = kids, .nchildren = 1};
    act_pid_t sup;
    cr_assert_eq(act_sup_start_link(&spec, &sup), 0);
    act_exit(otp_child(sup, "r"), ACT_CRASH);
    cr_assert(tu_wait_dead(sup, 3000));
    cr_assert_geq(otp_reports(ACT_REPORT_START_FAILED, "will retry"), 2);
    cr_assert_eq(otp_reports(ACT_REPORT_GAVE_UP, "retrying"), 1);
}

/* ---- sup_shutdown --------------------------------------------------------------------------- */

static int64_t time_terminate(act_pid_t sup, const char *id)
{
    int64_t t0 = act_now_ms();
    cr_assert_eq(act_sup_terminate_child(sup, id), 0);
    return act_now_ms() - t0;
}

Test(sup_shutdown, a_child_that_ignores_shutdown_is_killed_after_its_timeout)
{
    static const act_child_spec_t kids[] = {
        {ACT_WORKER_CHILD("stubborn", otp_stubborn_start, (void *)1), .shutdown = 100}};
    act_pid_t sup = start_sup(ACT_ONE_FOR_ONE, kids, 1);
    act_pid_t s = otp_child(sup, "stubborn");
    int64_t took = time_terminate(sup, "stubborn");
    cr_assert_geq(took, 95);
    cr_assert_lt(took, MS(2000));
    cr_assert_not(act_is_alive(s));
    cr_assert_eq(otp_reports(ACT_REPORT_SHUTDOWN_KILL, "child stubborn"), 1);
}

Test(sup_shutdown, brutal_kill_does_not_wait)
{
    static const act_child_spec_t kids[] = {
        {ACT_WORKER_CHILD("stubborn", otp_stubborn_start, (void *)1),
         .shutdown = ACT_SHUTDOWN_BRUTAL_KILL}};
    act_pid_t sup = start_sup(ACT_ONE_FOR_ONE, kids, 1);
    cr_assert_lt(time_terminate(sup, "stubborn"), MS(90));
    cr_assert_eq(otp_reports(ACT_REPORT_SHUTDOWN_KILL, NULL), 0);
}

Test(sup_shutdown, infinity_waits_for_a_slow_child)
{
    static const act_child_spec_t kids[] = {
        {ACT_WORKER_CHILD("slow", otp_slow_start, (void *)1), .shutdown = ACT_INFINITY}};
    act_pid_t sup = start_sup(ACT_ONE_FOR_ONE, kids, 1);
    cr_assert_geq(time_terminate(sup, "slow"), 190);
    cr_assert_eq(otp_reports(ACT_REPORT_SHUTDOWN_KILL, NULL), 0);
    expect_log(0, (int[]){1, -1}, 2);
}

Test(sup_shutdown, a_slow_child_within_its_timeout_is_not_killed)
{
    static const act_child_spec_t kids[] = {
        {ACT_WORKER_CHILD("slow", otp_slow_start, (void *)1), .shutdown = 2000}};
    act_pid_t sup = start_sup(ACT_ONE_FOR_ONE, kids, 1);
    int64_t took = time_terminate(sup, "slow");
    cr_assert_geq(took, 190);
    cr_assert_lt(took, 1500);
    cr_assert_eq(otp_reports(ACT_REPORT_SHUTDOWN_KILL, NULL), 0);
}

Test(sup_shutdown, supervisor_stop_applies_each_policy_in_reverse_order)
{
    static const act_child_spec_t kids[] = {
        W("a", 1),
        {ACT_WORKER_CHILD("stubborn", otp_stubborn_start, (void *)2), .shutdown = 50},
        {ACT_WORKER_CHILD("slow", otp_slow_start, (void *)3)},
        W("d", 4, .shutdown = ACT_SHUTDOWN_BRUTAL_KILL),
    };
    act_pid_t sup = start_sup(ACT_ONE_FOR_ONE, kids, N(kids));
    expect_log(0, (int[]){1, 2, 3, 4}, 4);
    cr_assert_eq(act_sup_stop(sup, MS(5000)), 0);
    expect_log(4, (int[]){-4, -3, -2, -1}, 4);
}

static const act_child_spec_t inner_kids[] = {W("x", 5)};
static const act_sup_spec_t inner_sup = {.name = "inner", .children = inner_kids, .nchildren = 1};

Test(sup_shutdown, parent_exit_signal_stops_the_tree)
{
    static const act_child_spec_t kids[] = {
        W("a", 1), {ACT_SUP_CHILD("inner", &inner_sup)}, W("c", 3)};
    act_pid_t sup = start_sup(ACT_ONE_FOR_ONE, kids, N(kids));
    expect_log(0, (int[]){1, 5, 3}, 3);
    act_exit(sup, ACT_SHUTDOWN); /* from the parent (this thread) */
    expect_log(3, (int[]){-3, -5, -1}, 3);
    cr_assert(tu_wait_dead(sup, 2000));
}

Test(sup_shutdown, a_killed_supervisor_leaks_nothing)
{
    static const act_child_spec_t kids[] = {W("a", 1), {ACT_SUP_CHILD("inner", &inner_sup)}};
    act_pid_t sup = start_sup(ACT_ONE_FOR_ONE, kids, N(kids));
    act_pid_t in = otp_child(sup, "inner");
    act_exit(sup, ACT_KILL);
    cr_assert(tu_wait_dead(sup, 2000));
    cr_assert(tu_wait_dead(in, 2000), "the kill reaches the children through the links");
    cr_assert(otp_log_wait(4, 2000), "%s", otp_log_str(0));
    tu_stop(); /* the supervisors' state was freed */
}

/* ---- sup_tree ------------------------------------------------------------------------------- */

typedef struct {
    int n;
    unsigned depth[16];
    char id[16][32];
    act_child_type_t type[16];
    uint32_t restarts[16];
    act_pid_t pid[16];
} walked_t;

static int record(const act_sup_node_t *node, void *arg)
{
    walked_t *w = arg;
    if (w->n < 16) {
        w->depth[w->n] = node->depth;
        snprintf(w->id[w->n], sizeof w->id[0], "%s", node->id);
        w->type[w->n] = node->type;
        w->restarts[w->n] = node->restarts;
        w->pid[w->n] = node->pid;
    }
    w->n++;
    return 0;
}

static int stop_at_two(const act_sup_node_t *node, void *arg)
{
    (void)node;
    return ++*(int *)arg == 2 ? 42 : 0;
}

Test(sup_tree, walk_and_dump_a_nested_tree)
{
    static const act_child_spec_t leaf_kids[] = {W("x", 5), W("y", 6)};
    static const act_sup_spec_t leaf = {
        .name = "leaf", .strategy = ACT_REST_FOR_ONE, .children = leaf_kids, .nchildren = 2};
    static const act_child_spec_t kids[] = {
        W("a", 1), {ACT_SUP_CHILD("leaf", &leaf)}, W("c", 3, .restart = ACT_TRANSIENT)};
    act_sup_spec_t spec = {.name = "root", .children = kids, .nchildren = N(kids)};
    act_pid_t root;
    cr_assert_eq(act_sup_start_link(&spec, &root), 0);
    act_pid_t a = otp_child(root, "a");
    act_exit(a, ACT_CRASH);
    cr_assert_neq(otp_wait_restart(root, "a", a, 2000), ACT_PID_NONE);

    walked_t w = {0};
    cr_assert_eq(act_sup_walk(root, record, &w), 0);
    cr_assert_eq(w.n, 6);
    const char *ids[] = {"root", "a", "leaf", "x", "y", "c"};
    unsigned depths[] = {0, 1, 1, 2, 2, 1};
    for (int i = 0; i < 6; i++) {
        cr_assert_str_eq(w.id[i], ids[i]);
        cr_assert_eq(w.depth[i], depths[i], "%s", ids[i]);
        cr_assert(act_is_alive(w.pid[i]), "%s", ids[i]);
    }
    cr_assert_eq(w.type[2], ACT_SUPERVISOR);
    cr_assert_eq(w.restarts[1], 1);
    int count = 0;
    cr_assert_eq(act_sup_walk(root, stop_at_two, &count), 42);

    char *text = NULL;
    cr_assert_eq(act_sup_dump(root, &text), 0);
    cr_log_info("%s", text);
    cr_assert(strstr(text, "root <"), "%s", text);
    cr_assert(strstr(text, "supervisor one_for_one mailbox=0"), "%s", text);
    cr_assert(strstr(text, "\n  a <"), "%s", text);
    cr_assert(strstr(text, "worker permanent restarts=1 mailbox=0"), "%s", text);
    cr_assert(strstr(text, "\n  leaf <"), "%s", text);
    cr_assert(strstr(text, "supervisor rest_for_one permanent restarts=0"), "%s", text);
    cr_assert(strstr(text, "\n    x <"), "%s", text);
    cr_assert(strstr(text, "\n  c <"), "%s", text);
    cr_assert(strstr(text, "worker transient restarts=0"), "%s", text);
    act_free(text);
    cr_assert_eq(act_sup_dump(ACT_PID_NONE, &text), ACT_ENOPROC);
    cr_assert_eq(act_sup_walk(root, NULL, NULL), ACT_EBADARG);
}

typedef struct {
    int items;
} counted_t;

static int counted_cast(void *state, act_msg_t *msg)
{
    (void)msg;
    ((counted_t *)state)->items++;
    return 0;
}

static void counted_format(const void *state, char *buf, size_t len)
{
    snprintf(buf, len, "%d items", ((const counted_t *)state)->items);
}

static const act_server_t counted = {
    .state_size = sizeof(counted_t), .handle_cast = counted_cast, .format_status = counted_format};

/* What a status page prints: each server's state summary, and whether it is suspended (its
 * waiting messages count in its mailbox). */
Test(sup_tree, walk_shows_each_servers_state_and_suspension)
{
    static const act_child_spec_t kids[] = {{ACT_SERVER_CHILD("counted", &counted, NULL)},
                                            W("plain", 2)};
    act_pid_t sup = start_sup(ACT_ONE_FOR_ONE, kids, N(kids));
    act_pid_t c = otp_child(sup, "counted");
    for (int i = 0; i < 3; i++)
        act_server_cast(c, act_msg_alloc(sizeof(act_msg_t), TU_INT));
    char *text = NULL;
    for (int i = 0; i < 100; i++) { /* the casts are handled by the time the walk asks */
        cr_assert_eq(act_sup_dump(sup, &text), 0);
        if (strstr(text, "state=\"3 items\""))
            break;
        act_free(text);
        text = NULL;
        usleep(1000);
    }
    cr_assert(text && strstr(text, "counted <") &&
                  strstr(text, "worker permanent restarts=0 mailbox=0 state=\"3 items\"\n"),
              "%s", text);
    cr_assert(strstr(text, "plain <") && strstr(text, "restarts=0 mailbox=0\n"),
              "no summary for a server without format_status: %s", text);
    act_free(text);
    cr_assert_eq(act_server_suspend(c, MS(1000)), 0);
    act_server_cast(c, act_msg_alloc(sizeof(act_msg_t), TU_INT));
    act_server_cast(c, act_msg_alloc(sizeof(act_msg_t), TU_INT));
    cr_assert_eq(act_sup_dump(sup, &text), 0);
    cr_assert(strstr(text, "mailbox=2 suspended state=\"3 items\""), "%s", text);
    act_free(text);
    cr_assert_eq(act_server_resume(c, MS(1000)), 0);
    act_server_status_t st;
    for (int i = 0; i < 100; i++) {
        cr_assert_eq(act_server_get_status(c, &st, MS(1000)), 0);
        if (strcmp(st.summary, "5 items") == 0)
            break;
        usleep(1000);
    }
    cr_assert_str_eq(st.summary, "5 items");
}

static void expect_on_sched(act_pid_t pid, int sched)
{
    act_info_t info;
    cr_assert_eq(act_info(pid, &info), 0);
    cr_assert(info.pinned);
    cr_assert_eq(info.sched, sched);
}

Test(sup_tree, supervisors_can_be_pinned_to_a_scheduler)
{
    /* A supervisor pinned beside the children it starts there (the HTTP server keeps one
     * connection supervisor per scheduler this way); a supervisor started as a dynamic child
     * takes the scheduler asked for in act_sup_start_child. */
    static const act_child_spec_t leaf_kids[] = {W("x", 5)};
    static const act_sup_spec_t leaf = {.name = "leaf", .children = leaf_kids, .nchildren = 1};
    static const act_child_spec_t tmpl[] = {{ACT_SUP_CHILD("leaf", &leaf)}};
    for (int i = 0; i < 2; i++) {
        act_sup_spec_t spec = {.name = "pinned",
                               .strategy = ACT_SIMPLE_ONE_FOR_ONE,
                               .children = tmpl,
                               .nchildren = 1,
                               .sched = ACT_SCHED_ON(i)};
        act_pid_t sup, kid;
        cr_assert_eq(act_sup_start_link(&spec, &sup), 0);
        expect_on_sched(sup, i);
        cr_assert_eq(act_sup_start_child(sup, NULL, ACT_SCHED_ON(1 - i), &kid), 0);
        expect_on_sched(kid, 1 - i);
        cr_assert_eq(act_sup_stop(sup, MS(5000)), 0);
    }
    act_sup_spec_t bad = {
        .name = "bad", .children = leaf_kids, .nchildren = 1, .sched = ACT_SCHED_ON(99)};
    act_pid_t sup;
    cr_assert_neq(act_sup_start_link(&bad, &sup), 0);
}

/* A fiber child that acknowledges, then only ever waits for a message nobody sends: what is
 * sent to it piles up in its mailbox. */
enum { NEVER = ACT_MSG_USER + 77, NOISE, WHO_AM_I };

static void deaf_fiber(void *arg)
{
    (void)arg;
    act_init_ack(0);
    act_msg_t *m;
    act_receive_type(NEVER, ACT_INFINITY, &m);
}

static int deaf_start(const act_child_start_t *cs, act_pid_t *out)
{
    act_spawn_opts_t o = {.fiber = deaf_fiber, .sched = cs->sched};
    return act_start_link(&o, ACT_INFINITY, out);
}

Test(sup_tree, dump_shows_mailbox_lengths)
{
    static const act_child_spec_t kids[] = {
        {ACT_WORKER_CHILD("deaf", deaf_start, NULL), .shutdown = ACT_SHUTDOWN_BRUTAL_KILL}};
    act_pid_t root = start_sup(ACT_ONE_FOR_ONE, kids, 1);
    act_pid_t deaf = otp_child(root, "deaf");
    for (int i = 0; i < 3; i++)
        tu_send_int(deaf, NOISE, i);
    char *text = NULL;
    for (int i = 0; i < 1000; i++) {
        cr_assert_eq(act_sup_dump(root, &text), 0);
        if (strstr(text, "mailbox=3"))
            break;
        act_free(text);
        text = NULL;
        usleep(1000);
    }
    cr_assert_not_null(text);
    cr_assert(strstr(text, "deaf <") && strstr(text, "mailbox=3"), "%s", text);
    act_free(text);
}

/* ---- sup_start: act_start_link and act_init_ack ----------------------------------------- */

TestSuite(sup_start, .init = otp_start, .fini = tu_stop, .timeout = TMO(20));

typedef struct {
    int n;
} plain_state_t;

static int ps_init(void *state, void *arg)
{
    ((plain_state_t *)state)->n = (int)(intptr_t)arg;
    if ((intptr_t)arg == -1)
        return -EPERM;
    if ((intptr_t)arg == -2)
        act_failf(ACT_CRASH, "boom in init");
    if ((intptr_t)arg == -3)
        return act_stop(ACT_REASON_USER + 1);
    return 0;
}

static int ps_handle(void *state, act_msg_t *msg)
{
    plain_state_t *p = state;
    if (msg->type == WHO_AM_I) {
        tu_int_t *r = act_msg_new(tu_int_t, TU_RESULT);
        r->v = p->n;
        act_reply(msg, &r->hdr);
    }
    return 0;
}

static const act_behaviour_t plain_beh = {.name = "ps", .init = ps_init, .handle = ps_handle};

static act_spawn_opts_t plain_opts(intptr_t arg)
{
    return (act_spawn_opts_t){
        .behaviour = &plain_beh, .state_size = sizeof(plain_state_t), .arg = (void *)arg};
}

Test(sup_start, plain_children_are_acknowledged_after_init)
{
    act_spawn_opts_t o = plain_opts(41);
    act_pid_t pid;
    cr_assert_eq(act_start_link(&o, 1000, &pid), 0);
    act_msg_t *r;
    cr_assert_eq(act_call(pid, act_msg_alloc(sizeof(tu_int_t), WHO_AM_I), MS(2000), &r, NULL), 0);
    cr_assert_eq(((tu_int_t *)r)->v, 41, "the state survives the wrapper");
    act_msg_free(r);
    /* A caller-provided state works too. */
    plain_state_t mine = {0};
    o.state_size = 0;
    o.state = &mine;
    o.arg = (void *)5;
    cr_assert_eq(act_start_link(&o, 1000, NULL), 0);
    cr_assert_eq(mine.n, 5);
    o = plain_opts(-1);
    cr_assert_eq(act_start_link(&o, 1000, NULL), -EPERM);
    /* The start fails with the child's reason, as proc_lib's {error, Reason}. */
    o = plain_opts(-2);
    cr_assert_eq(act_start_link(&o, 1000, NULL), ACT_CRASH, "a crash in init");
    cr_assert_str_eq(act_start_failure(), "boom in init");
    o = plain_opts(-3);
    cr_assert_eq(act_start_link(&o, 1000, NULL), ACT_REASON_USER + 1, "act_stop in init");
    cr_assert_str_eq(act_start_failure(), "");
    act_msg_t *m;
    cr_assert_eq(act_receive_type(ACT_MSG_EXIT, 50, &m), ACT_ETIMEDOUT, "EXITs consumed");
    act_ref_t ref;
    o = plain_opts(0);
    o.monitor = &ref;
    cr_assert_eq(act_start_link(&o, 1000, NULL), ACT_EBADARG);
    cr_assert_eq(act_start_link(NULL, 1000, NULL), ACT_EBADARG);
}

static void fiber_child(void *arg)
{
    intptr_t what = (intptr_t)arg;
    if (what == 1)
        return; /* returns without acknowledging */
    if (what == 2)
        act_sleep(10000); /* never acknowledges */
    if (what == 3)
        act_init_ack(-EADDRINUSE); /* fails the start: does not return */
    TU_CHECK(act_init_ack(0) == 0);
    TU_CHECK(act_init_ack(0) == ACT_EBADARG); /* only once */
    act_msg_t *m;
    act_receive_type(NEVER, ACT_INFINITY, &m);
}

/* A starter that does not trap exits: the monitor path. */
static void starter_fiber(void *arg)
{
    act_pid_t report = TU_PID(arg);
    act_spawn_opts_t o = {.fiber = fiber_child, .arg = (void *)0};
    tu_send_int(report, TU_RESULT, act_start_link(&o, 1000, NULL));
    o.arg = (void *)3;
    tu_send_int(report, TU_RESULT, act_start_link(&o, 1000, NULL));
    o.arg = (void *)1;
    tu_send_int(report, TU_RESULT, act_start_link(&o, 1000, NULL));
    tu_send_int(report, TU_RESULT, act_init_ack(0));
}

static bool one_actor(void *arg)
{
    (void)arg;
    return act_actor_count() == 1;
}

Test(sup_start, fibers_acknowledge_themselves)
{
    act_spawn_opts_t o = {.fiber = fiber_child, .arg = (void *)0};
    act_pid_t pid;
    cr_assert_eq(act_start_link(&o, 1000, &pid), 0);
    cr_assert(act_is_alive(pid));
    o.arg = (void *)3;
    cr_assert_eq(act_start_link(&o, 1000, NULL), -EADDRINUSE);
    o.arg = (void *)1;
    cr_assert_eq(act_start_link(&o, 1000, NULL), ACT_ECHILDSTART, "returned without an ack");
    /* Only the first child lives now (the failed ones are on their way out). */
    cr_assert(tu_wait(one_actor, NULL, 2000), "%llu actors", (unsigned long long)act_actor_count());
    o.arg = (void *)2;
    cr_assert_eq(act_start_link(&o, 50, NULL), ACT_ETIMEDOUT);
    cr_assert(tu_wait(one_actor, NULL, 2000), "the silent child was killed");
    cr_assert_eq(act_init_ack(0), ACT_ENOTFIBER);
    /* The same from a fiber that does not trap exits (monitor path). */
    tu_spawn_fiber(starter_fiber, TU_ARG(act_self()), NULL);
    cr_assert_eq(tu_recv_int(TU_RESULT, 2000), 0);
    cr_assert_eq(tu_recv_int(TU_RESULT, 2000), -EADDRINUSE);
    cr_assert_eq(tu_recv_int(TU_RESULT, 2000), ACT_ECHILDSTART);
    cr_assert_eq(tu_recv_int(TU_RESULT, 2000), ACT_EBADARG, "not started by act_start_link");
    cr_assert_eq(tu_failures(), 0);
}
