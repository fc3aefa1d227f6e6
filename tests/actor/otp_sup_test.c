/*
 * Erlang/OTP's supervisor_SUITE, ported: each test is named after the OTP case it follows
 * (lib/stdlib/test/supervisor_SUITE.erl) and checks the same behaviour through this API.
 * Where OTP answers {error, restarting}, {error, already_present} or {error,
 * simple_one_for_one}, we answer ACT_ERESTARTING, ACT_ECHILDEXISTS and ACT_ENOTSUP; OTP's
 * `undefined` pid is ACT_PID_NONE, its `restarting` pid is info.restarting.
 */
#include <limits.h>
#include <string.h>

#include "otp_util.h"

TestSuite(otp_sup, .init = otp_start, .fini = tu_stop, .timeout = TMO(30));

#define N(a) (sizeof(a) / sizeof((a)[0]))

/* ---- children whose starts the test controls ---------------------------------------------- */

/* A server that logs +tag when started and -(tag * 100 + reason) when it stops. */
typedef struct {
    int tag;
} ctl_t;

static int ctl_init(void *state, void *arg)
{
    ((ctl_t *)state)->tag = (int)(intptr_t)arg;
    otp_log((int)(intptr_t)arg);
    return 0;
}

static void ctl_terminate(void *state, int reason)
{
    otp_log(-(((ctl_t *)state)->tag * 100 + reason));
}

static const act_server_t ctl_worker = {
    .state_size = sizeof(ctl_t), .init = ctl_init, .terminate = ctl_terminate};

/* Starts of child `tag` that fail (after a short while, as a start that gives up does). */
static _Atomic int fail_starts[8];

static int ctl_start(const act_child_start_t *cs, act_pid_t *out)
{
    int tag = (int)(intptr_t)cs->arg;
    if (atomic_load(&fail_starts[tag]) > 0) {
        atomic_fetch_sub(&fail_starts[tag], 1);
        act_sleep(20);
        return -EIO;
    }
    act_server_opts_t o = {.sched = cs->sched};
    return act_server_start_link(&ctl_worker, cs->arg, &o, out);
}

#define CTL(id, tag, ...)                                                                          \
    {                                                                                              \
        ACT_WORKER_CHILD(id, ctl_start, (void *)(intptr_t)(tag)), __VA_ARGS__                      \
    }

/* A start function that ignores its child when asked to (a dynamic child's extra == IGNORE,
 * or always for a static one whose arg is IGNORE). */
#define IGNORE ((void *)1)
static const act_server_t quiet = {0};

static int maybe_ignore_start(const act_child_start_t *cs, act_pid_t *out)
{
    if (cs->arg == IGNORE || cs->extra == IGNORE) {
        *out = ACT_PID_NONE;
        return 0;
    }
    act_server_opts_t o = {.sched = cs->sched};
    return act_server_start_link(&quiet, NULL, &o, out);
}

/* OTP's get_child_counts: [specs, active, supervisors, workers]. */
static void expect_counts(act_pid_t sup, size_t specs, size_t active, size_t sups, size_t workers)
{
    act_child_counts_t c;
    cr_assert_eq(act_sup_count_children(sup, &c), 0);
    cr_assert(c.specs == specs && c.active == active && c.supervisors == sups &&
                  c.workers == workers,
              "counts [%zu,%zu,%zu,%zu], expected [%zu,%zu,%zu,%zu]", c.specs, c.active,
              c.supervisors, c.workers, specs, active, sups, workers);
}

static void expect_log(int from, const int *evs, int n)
{
    cr_assert(otp_log_wait(from + n, 5000), "log: %s", otp_log_str(0));
    cr_assert(otp_log_is(from, evs, n), "log from %d: %s", from, otp_log_str(from));
}

/* True once which_children lists exactly one child and it is restarting. */
static bool one_restarting(void *arg)
{
    act_child_info_t *kids;
    size_t n;
    if (act_sup_which_children(*(act_pid_t *)arg, &kids, &n) != 0)
        return false;
    bool yes = n == 1 && kids[0].restarting && kids[0].pid == ACT_PID_NONE;
    act_free(kids);
    return yes;
}

/* ---- restart strategies ------------------------------------------------------------------ */

/* A one_for_all restart whose second child fails to start: the child already restarted is
 * stopped (shutdown) and the whole group starts again. */
Test(otp_sup, one_for_all_other_child_fails_restart)
{
    static const act_child_spec_t kids[] = {CTL("child1", 1), CTL("child2", 2)};
    act_pid_t sup = otp_start_sup(false, ACT_ONE_FOR_ALL, 3, 3600, kids, N(kids));
    expect_log(0, (int[]){1, 2}, 2);
    atomic_store(&fail_starts[2], 1);
    act_exit(otp_child(sup, "child1"), ACT_CRASH);
    /* child1 crashes, child2 is shut down, child1 restarts, child2 fails to; then child1's
     * new incarnation is shut down and both start again, in order. */
    expect_log(2, (int[]){-105, -201, 1, -101, 1, 2}, 6);
    cr_assert(otp_wait_report(ACT_REPORT_START_FAILED, "child child2 failed to start", 1000));
    expect_counts(sup, 2, 2, 0, 2);
    cr_assert(act_is_alive(sup));
}

/* The same under rest_for_one: only the failed child and those after it are retried; the one
 * started before stays. */
Test(otp_sup, rest_for_one_other_child_fails_restart)
{
    static const act_child_spec_t kids[] = {CTL("child1", 1), CTL("child2", 2)};
    act_pid_t sup = otp_start_sup(false, ACT_REST_FOR_ONE, 3, 3600, kids, N(kids));
    expect_log(0, (int[]){1, 2}, 2);
    act_pid_t c1 = otp_child(sup, "child1");
    atomic_store(&fail_starts[2], 1);
    act_exit(c1, ACT_CRASH);
    expect_log(2, (int[]){-105, -201, 1, 2}, 4);
    cr_assert(tu_no_msg(TU_RESULT, MS(50))); /* let a wrong restart of child1 show */
    cr_assert_eq(otp_log_len(), 6, "child1 was restarted again: %s", otp_log_str(0));
    expect_counts(sup, 2, 2, 0, 2);
}

/* ---- a child in a restart loop ---------------------------------------------------------- */

/* OTP-9549: a child whose restart keeps failing is "restarting": restart_child and
 * delete_child refuse it, which_children says so, terminate_child ends the loop, and the
 * supervisor can still be stopped. */
Test(otp_sup, hanging_restart_loop)
{
    act_pid_t sup = otp_start_sup(false, ACT_ONE_FOR_ONE, 1000, 10, NULL, 0);
    act_child_spec_t child1 = CTL("child1", 1, .shutdown = ACT_SHUTDOWN_BRUTAL_KILL);
    act_pid_t c1;
    cr_assert_eq(act_sup_add_child(sup, &child1, &c1), 0);
    atomic_store(&fail_starts[1], INT_MAX);
    act_exit(c1, ACT_CRASH);
    cr_assert(tu_wait(one_restarting, &sup, 5000));

    cr_assert_eq(act_sup_add_child(sup, &child1, NULL), ACT_ECHILDEXISTS); /* already_present */
    cr_assert_eq(act_sup_restart_child(sup, "child1", NULL), ACT_ERESTARTING);
    cr_assert_eq(act_sup_delete_child(sup, "child1"), ACT_ERESTARTING);
    act_child_info_t *kids;
    size_t n;
    cr_assert_eq(act_sup_which_children(sup, &kids, &n), 0);
    cr_assert_eq(n, 1);
    cr_assert_str_eq(kids[0].id, "child1");
    cr_assert(kids[0].restarting);
    act_free(kids);
    expect_counts(sup, 1, 0, 0, 1);
    char *dump = NULL;
    cr_assert_eq(act_sup_dump(sup, &dump), 0);
    cr_assert(strstr(dump, "child1 restarting worker permanent"), "%s", dump);
    act_free(dump);

    cr_assert_eq(act_sup_terminate_child(sup, "child1"), 0);
    cr_assert_eq(act_sup_which_children(sup, &kids, &n), 0);
    cr_assert(n == 1 && !kids[0].restarting && kids[0].pid == ACT_PID_NONE);
    act_free(kids);

    atomic_store(&fail_starts[1], 0);
    act_pid_t c2;
    cr_assert_eq(act_sup_restart_child(sup, "child1", &c2), 0);
    cr_assert(act_is_alive(c2));
    atomic_store(&fail_starts[1], INT_MAX);
    act_exit(c2, ACT_CRASH);
    cr_assert(tu_wait(one_restarting, &sup, 5000));
    /* Stopping the supervisor does not hang in the loop. */
    cr_assert_eq(act_sup_stop(sup, MS(5000)), 0);
    atomic_store(&fail_starts[1], 0);
}

Test(otp_sup, hanging_restart_loop_simple)
{
    static const act_child_spec_t tmpl[] = {CTL("child1", 3, .shutdown = ACT_SHUTDOWN_BRUTAL_KILL)};
    act_pid_t sup = otp_start_sup(false, ACT_SIMPLE_ONE_FOR_ONE, 1000, 10, tmpl, 1);
    act_pid_t c1;
    cr_assert_eq(act_sup_start_child(sup, NULL, ACT_SCHED_ANY, &c1), 0);
    atomic_store(&fail_starts[3], INT_MAX);
    act_exit(c1, ACT_CRASH);
    cr_assert(tu_wait(one_restarting, &sup, 5000));

    cr_assert_eq(act_sup_restart_child(sup, "child1", NULL), ACT_ENOTSUP);
    cr_assert_eq(act_sup_delete_child(sup, "child1"), ACT_ENOTSUP);
    expect_counts(sup, 1, 0, 0, 1);
    /* Its old pid names it. */
    cr_assert_eq(act_sup_terminate_pid(sup, c1), 0);
    act_child_info_t *kids;
    size_t n;
    cr_assert_eq(act_sup_which_children(sup, &kids, &n), 0);
    cr_assert_eq(n, 0);
    expect_counts(sup, 1, 0, 0, 0);

    atomic_store(&fail_starts[3], 0);
    act_pid_t c2;
    cr_assert_eq(act_sup_start_child(sup, NULL, ACT_SCHED_ANY, &c2), 0);
    atomic_store(&fail_starts[3], INT_MAX);
    act_exit(c2, ACT_CRASH);
    cr_assert(tu_wait(one_restarting, &sup, 5000));
    cr_assert_eq(act_sup_stop(sup, MS(5000)), 0);
    atomic_store(&fail_starts[3], 0);
}

/* ---- ignore ----------------------------------------------------------------------------- */

Test(otp_sup, sup_start_ignore_child)
{
    act_pid_t sup = otp_start_sup(false, ACT_ONE_FOR_ONE, 2, 3600, NULL, 0);
    act_child_spec_t child1 = {ACT_WORKER_CHILD("child1", maybe_ignore_start, IGNORE)};
    act_child_spec_t child2 = {ACT_WORKER_CHILD("child2", maybe_ignore_start, NULL)};
    act_pid_t p1 = 1, p2;
    cr_assert_eq(act_sup_add_child(sup, &child1, &p1), 0);
    cr_assert_eq(p1, ACT_PID_NONE);
    cr_assert_eq(act_sup_add_child(sup, &child2, &p2), 0);
    act_child_info_t *kids;
    size_t n;
    cr_assert_eq(act_sup_which_children(sup, &kids, &n), 0);
    cr_assert_eq(n, 2);
    /* [{child2, CPid2, worker, []}, {child1, undefined, worker, []}]: newest first. */
    cr_assert_str_eq(kids[0].id, "child2");
    cr_assert_eq(kids[0].pid, p2);
    cr_assert_str_eq(kids[1].id, "child1");
    cr_assert_eq(kids[1].pid, ACT_PID_NONE);
    cr_assert_not(kids[1].restarting);
    act_free(kids);
    expect_counts(sup, 2, 1, 0, 2);
}

/* An ignored temporary child is not kept: it could never be started again. */
Test(otp_sup, sup_start_ignore_temporary_child)
{
    static const act_child_spec_t kids[] = {
        {ACT_WORKER_CHILD("child1", maybe_ignore_start, IGNORE), .restart = ACT_TEMPORARY},
        {ACT_WORKER_CHILD("child2", maybe_ignore_start, NULL), .restart = ACT_TEMPORARY},
    };
    act_pid_t sup = otp_start_sup(false, ACT_ONE_FOR_ONE, 2, 3600, kids, N(kids));
    act_child_info_t *info;
    size_t n;
    cr_assert_eq(act_sup_which_children(sup, &info, &n), 0);
    cr_assert_eq(n, 1);
    cr_assert_str_eq(info[0].id, "child2");
    cr_assert(act_is_alive(info[0].pid));
    act_free(info);
    expect_counts(sup, 1, 1, 0, 1);
}

Test(otp_sup, sup_start_ignore_temporary_child_start_child)
{
    act_pid_t sup = otp_start_sup(false, ACT_ONE_FOR_ONE, 2, 3600, NULL, 0);
    act_child_spec_t child1 = {ACT_WORKER_CHILD("child1", maybe_ignore_start, IGNORE),
                               .restart = ACT_TEMPORARY};
    act_child_spec_t child2 = {ACT_WORKER_CHILD("child2", maybe_ignore_start, NULL),
                               .restart = ACT_TEMPORARY};
    act_pid_t p1 = 1, p2;
    cr_assert_eq(act_sup_add_child(sup, &child1, &p1), 0);
    cr_assert_eq(p1, ACT_PID_NONE);
    cr_assert_eq(act_sup_add_child(sup, &child2, &p2), 0);
    cr_assert_eq(otp_child(sup, "child2"), p2);
    expect_counts(sup, 1, 1, 0, 1);
    cr_assert_eq(act_sup_delete_child(sup, "child1"), ACT_ENOCHILD, "not kept");
}

static void ignore_simple(act_restart_t restart)
{
    act_child_spec_t tmpl[] = {
        {ACT_WORKER_CHILD("child1", maybe_ignore_start, NULL), .restart = restart}};
    act_pid_t sup = otp_start_sup(false, ACT_SIMPLE_ONE_FOR_ONE, 2, 3600, tmpl, 1);
    act_pid_t p1 = 1, p2;
    cr_assert_eq(act_sup_start_child(sup, IGNORE, ACT_SCHED_ANY, &p1), 0);
    cr_assert_eq(p1, ACT_PID_NONE);
    cr_assert_eq(act_sup_start_child(sup, NULL, ACT_SCHED_ANY, &p2), 0);
    act_child_info_t *kids;
    size_t n;
    cr_assert_eq(act_sup_which_children(sup, &kids, &n), 0);
    cr_assert(n == 1 && kids[0].pid == p2);
    act_free(kids);
    expect_counts(sup, 1, 1, 0, 1);
    /* The supervisor still stops cleanly when its parent tells it to. */
    act_exit(sup, ACT_SHUTDOWN);
    act_down_t *d = tu_recv_down(ACT_MSG_EXIT, 5000);
    cr_assert_eq(d->pid, sup);
    cr_assert_eq(d->reason, ACT_SHUTDOWN);
    act_msg_free(&d->hdr);
}

Test(otp_sup, sup_start_ignore_temporary_child_start_child_simple)
{
    ignore_simple(ACT_TEMPORARY);
}

Test(otp_sup, sup_start_ignore_permanent_child_start_child_simple)
{
    ignore_simple(ACT_PERMANENT);
}

/* ---- dynamic supervisors: counts and administration ------------------------------------- */

static const act_child_spec_t quiet_tmpl[] = {
    {ACT_SERVER_CHILD("child", &quiet, NULL), .restart = ACT_TEMPORARY}};

Test(otp_sup, count_children)
{
    act_pid_t sup = otp_start_sup(false, ACT_SIMPLE_ONE_FOR_ONE, 2, 3600, quiet_tmpl, 1);
    for (int i = 0; i < 1000; i++)
        cr_assert_eq(act_sup_start_child(sup, NULL, ACT_SCHED_ANY, NULL), 0);
    act_child_info_t *kids;
    size_t n;
    cr_assert_eq(act_sup_which_children(sup, &kids, &n), 0);
    cr_assert_eq(n, 1000);
    act_free(kids);
    expect_counts(sup, 1, 1000, 0, 1000);
    for (int i = 0; i < 1000; i++)
        cr_assert_eq(act_sup_start_child(sup, NULL, ACT_SCHED_ANY, NULL), 0);
    expect_counts(sup, 1, 2000, 0, 2000);
    cr_assert_eq(act_sup_which_children(sup, &kids, &n), 0);
    cr_assert_eq(n, 2000);
    /* Killed temporary children are forgotten. */
    for (size_t i = 0; i < n; i++) {
        act_ref_t ref;
        act_monitor(kids[i].pid, &ref);
        act_exit(kids[i].pid, ACT_KILL);
        act_msg_free(&tu_recv_down(ACT_MSG_DOWN, 5000)->hdr);
    }
    act_free(kids);
    act_child_counts_t c;
    for (int i = 0; i < 5000; i++) {
        cr_assert_eq(act_sup_count_children(sup, &c), 0);
        if (c.workers == 0)
            break;
        usleep(1000);
    }
    expect_counts(sup, 1, 0, 0, 0);
}

Test(otp_sup, child_adm_simple)
{
    static const act_child_spec_t tmpl[] = {{ACT_SERVER_CHILD("child", &quiet, NULL)}};
    act_pid_t sup = otp_start_sup(false, ACT_SIMPLE_ONE_FOR_ONE, 2, 3600, tmpl, 1);
    act_child_info_t *kids;
    size_t n;
    cr_assert_eq(act_sup_which_children(sup, &kids, &n), 0);
    cr_assert_eq(n, 0);
    expect_counts(sup, 1, 0, 0, 0);
    act_pid_t c1, c2;
    cr_assert_eq(act_sup_start_child(sup, NULL, ACT_SCHED_ANY, &c1), 0);
    expect_counts(sup, 1, 1, 0, 1);
    cr_assert_eq(act_sup_start_child(sup, NULL, ACT_SCHED_ANY, &c2), 0);
    expect_counts(sup, 1, 2, 0, 2);
    cr_assert_eq(act_sup_terminate_child(sup, "child1"), ACT_ENOTSUP);
    cr_assert_eq(act_sup_terminate_pid(sup, c1), 0);
    cr_assert_not(act_is_alive(c1));
    expect_counts(sup, 1, 1, 0, 1);
    /* Terminating a process that no longer exists is ok. */
    cr_assert_eq(act_sup_terminate_pid(sup, c1), 0);
    expect_counts(sup, 1, 1, 0, 1);
    /* A live pid that is not a child is not ok, and is left alone. */
    act_pid_t stranger = tu_probe((tu_probe_opts_t){0});
    cr_assert_eq(act_sup_terminate_pid(sup, stranger), ACT_ENOCHILD);
    cr_assert(act_is_alive(stranger));
    cr_assert_eq(act_sup_restart_child(sup, "child1", NULL), ACT_ENOTSUP);
    cr_assert_eq(act_sup_delete_child(sup, "child1"), ACT_ENOTSUP);
    act_exit(stranger, ACT_KILL);
}

/* ---- failed starts say which child and why ---------------------------------------------- */

static int faulty_init(void *state, void *arg)
{
    (void)state;
    (void)arg;
    return -ENOENT; /* OTP's undef: the module the child needs is not there */
}

static const act_server_t faulty_server = {.init = faulty_init};
static const act_child_spec_t faulty_kids[] = {
    {ACT_SERVER_CHILD("app_faulty", &faulty_server, NULL)}};
static const act_sup_spec_t faulty_mid = {
    .name = "faulty_mid", .children = faulty_kids, .nchildren = 1};
static const act_child_spec_t faulty_top_kids[] = {{ACT_SUP_CHILD("mid", &faulty_mid)}};

static int faulty_app_start(const act_app_t *app, act_pid_t *top)
{
    act_sup_spec_t spec = {.name = app->name, .children = faulty_top_kids, .nchildren = 1};
    return act_sup_start_link(&spec, top);
}

/* The start of an application whose tree cannot start fails, and what it reports names every
 * level down to the child and its error: OTP's {error, {{shutdown, {failed_to_start_child,
 * mid, {shutdown, {failed_to_start_child, app_faulty, undef}}}}, ...}}. */
Test(otp_sup, faulty_application_shutdown)
{
    static const act_app_t faulty = {.name = "app_faulty", .start = faulty_app_start};
    cr_assert_eq(act_app_load(&faulty), 0);
    cr_assert_eq(act_app_start("app_faulty", NULL), ACT_ECHILDSTART);
    const char *want = "[application] app_faulty failed to start: ACT_ECHILDSTART (a child "
                       "failed to start): failed to start child mid: ACT_ECHILDSTART (a child "
                       "failed to start): failed to start child app_faulty: ENOENT";
    if (!otp_wait_report(ACT_REPORT_APP_START, want, 1000))
        otp_print_reports();
    cr_assert_eq(otp_reports(ACT_REPORT_APP_START, want), 1);
    cr_assert_eq(otp_reports(ACT_REPORT_START_FAILED, "faulty_mid <"), 1,
                 "the inner supervisor reports its child");
    /* The same tree started by hand: the caller reads the same text. */
    act_sup_spec_t spec = {.name = "top", .children = faulty_top_kids, .nchildren = 1};
    cr_assert_eq(act_sup_start_link(&spec, NULL), ACT_ECHILDSTART);
    cr_assert(strstr(act_start_failure(), "failed to start child mid: ACT_ECHILDSTART (a child "
                                          "failed to start): failed to start child app_faulty: "
                                          "ENOENT"),
              "%s", act_start_failure());
}
