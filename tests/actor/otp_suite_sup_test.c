/*
 * Erlang/OTP's supervisor_SUITE (lib/stdlib/test/supervisor_SUITE.erl), the cases otp_sup_test.c
 * does not port: each test is named after the OTP case and checks its assertions through
 * sup.h. OTP's {error, {already_started, Pid}} is ACT_ECHILDRUNNING (with the pid),
 * already_present ACT_ECHILDEXISTS, not_found ACT_ENOCHILD, running ACT_ECHILDRUNNING,
 * restarting ACT_ERESTARTING, simple_one_for_one ACT_ENOTSUP, a call to a dead supervisor's
 * noproc ACT_ENOPROC, an invalid spec or flag ACT_EBADARG; OTP's `undefined` pid is
 * ACT_PID_NONE. OTP's {shutdown, Term} reasons have no equivalent (reasons are ints).
 */
#include <string.h>

#include "otp_util.h"

TestSuite(otp_suite_sup, .init = otp_start, .fini = tu_stop, .timeout = TMO(60));

#define N(a) (sizeof(a) / sizeof((a)[0]))
#define DIED (ACT_REASON_USER + 10)

enum { STOP = ACT_MSG_USER + 5000, DIE };

/* ---- supervisor_1: a server child that stops normally on STOP and dies on DIE ------------- */

typedef struct {
    int tag;
} sw_t;

static int sw_init(void *state, void *arg)
{
    sw_t *w = state;
    w->tag = (int)(intptr_t)arg;
    if (w->tag)
        otp_log(w->tag);
    return 0;
}

static int sw_info(void *state, act_msg_t *m)
{
    (void)state;
    if (m->type == STOP)
        return act_stop(ACT_NORMAL);
    if (m->type == DIE)
        return act_stop(DIED);
    return 0;
}

static void sw_terminate(void *state, int reason)
{
    (void)reason;
    sw_t *w = state;
    if (w->tag)
        otp_log(-w->tag);
}

static const act_server_t sw = {.name = "supervisor_1",
                                .state_size = sizeof(sw_t),
                                .init = sw_init,
                                .handle_info = sw_info,
                                .terminate = sw_terminate};

/* Modes of sw_start, in a dynamic child's extra (a static child's are in its arg's high
 * bits): start normally, fail every start with -EIO, or start once and fail every restart
 * (supervisor_1:start_child(error)). */
#define MODE_ERROR 0x100
#define MODE_FAIL_RESTART 0x200
static _Atomic int starts[1024];

static int sw_start(const act_child_start_t *cs, act_pid_t *out)
{
    intptr_t a = (intptr_t)cs->arg | (intptr_t)cs->extra;
    int tag = (int)(a & 0xff);
    if (a & MODE_ERROR)
        return -EIO;
    if ((a & MODE_FAIL_RESTART) && atomic_fetch_add(&starts[a & 0x3ff], 1) > 0)
        return -EIO;
    act_server_opts_t o = {.sched = cs->sched, .name = cs->spec->name};
    return act_server_start_link(&sw, (void *)(intptr_t)tag, &o, out);
}

#define SW(id_, arg_, ...)                                                                         \
    {                                                                                              \
        ACT_WORKER_CHILD(id_, sw_start, (void *)(intptr_t)(arg_)), __VA_ARGS__                     \
    }

/* supervisor:start_child with a spec: the pid (or the error in *rc). */
static act_pid_t add(act_pid_t sup, act_child_spec_t spec)
{
    act_pid_t pid = ACT_PID_NONE;
    int rc = act_sup_add_child(sup, &spec, &pid);
    cr_assert_eq(rc, 0, "start_child %s: %s", spec.id, act_strerror(rc));
    return pid;
}

static void expect_counts(act_pid_t sup, size_t specs, size_t active, size_t sups, size_t workers)
{
    act_child_counts_t c;
    cr_assert_eq(act_sup_count_children(sup, &c), 0);
    cr_assert(c.specs == specs && c.active == active && c.supervisors == sups &&
                  c.workers == workers,
              "counts [%zu,%zu,%zu,%zu], expected [%zu,%zu,%zu,%zu]", c.specs, c.active,
              c.supervisors, c.workers, specs, active, sups, workers);
}

/* which_children as "id:state" words, newest first: state is "pid", "undefined" or
 * "restarting". The pids go to pids[] (may be NULL). */
static const char *which(act_pid_t sup, act_pid_t *pids)
{
    static char buf[512];
    act_child_info_t *kids;
    size_t n;
    cr_assert_eq(act_sup_which_children(sup, &kids, &n), 0);
    size_t len = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < n; i++) {
        const char *st = kids[i].restarting ? "restarting" : kids[i].pid ? "pid" : "undefined";
        len +=
            (size_t)snprintf(buf + len, sizeof buf - len, "%s%s:%s", i ? " " : "", kids[i].id, st);
        if (pids)
            pids[i] = kids[i].pid;
    }
    act_free(kids);
    return buf;
}

static bool match_down_ref(const act_msg_t *m, void *arg)
{
    return m->type == ACT_MSG_DOWN && m->ref == *(const act_ref_t *)arg;
}

static int wait_down(act_ref_t ref)
{
    act_msg_t *m = NULL;
    cr_assert_eq(act_receive(match_down_ref, &ref, MS(10000), &m), 0, "no DOWN");
    int reason = ((act_down_t *)m)->reason;
    act_msg_free(m);
    return reason;
}

/* OTP's terminate(Sup, ChildPid, Id, How), checking the child's exit reason. */
enum { KILL, SHUTDOWN, NORMAL, ABNORMAL, SUPERVISOR };

static void terminate(act_pid_t sup, act_pid_t pid, const char *id, int how)
{
    if (how == SUPERVISOR) {
        cr_assert_eq(act_sup_terminate_child(sup, id), 0);
        return;
    }
    act_ref_t ref;
    cr_assert_eq(act_monitor(pid, &ref), 0);
    static const int want[] = {ACT_KILLED, ACT_SHUTDOWN, ACT_NORMAL, DIED};
    switch (how) {
    case KILL:
        act_exit(pid, ACT_KILL);
        break;
    case SHUTDOWN:
        act_exit(pid, ACT_SHUTDOWN);
        break;
    case NORMAL:
        act_send(pid, act_msg_alloc(sizeof(act_msg_t), STOP));
        break;
    default:
        act_send(pid, act_msg_alloc(sizeof(act_msg_t), DIE));
        break;
    }
    cr_assert_eq(wait_down(ref), want[how]);
}

static bool match_exit_of(const act_msg_t *m, void *arg)
{
    return m->type == ACT_MSG_EXIT && ((const act_down_t *)m)->pid == *(const act_pid_t *)arg;
}

/* OTP's check_exit: the EXIT of pid (we are linked to it), within 10 s; returns the reason. */
static int check_exit(act_pid_t pid)
{
    act_msg_t *m = NULL;
    cr_assert_eq(act_receive(match_exit_of, &pid, MS(10000), &m), 0, "no EXIT");
    int reason = ((act_down_t *)m)->reason;
    act_msg_free(m);
    return reason;
}

static act_ref_t mon(act_pid_t pid)
{
    act_ref_t ref;
    cr_assert_eq(act_monitor(pid, &ref), 0);
    return ref;
}

/* The current pid of id once it differs from old. */
static act_pid_t restarted(act_pid_t sup, const char *id, act_pid_t old)
{
    act_pid_t pid = otp_wait_restart(sup, id, old, 5000);
    cr_assert_neq(pid, ACT_PID_NONE, "%s was not restarted", id);
    return pid;
}

/* ---- sup_start ---------------------------------------------------------------------------- */

/* The supervisor starts, and stops when its parent tells it to. */
Test(otp_suite_sup, sup_start_normal)
{
    act_pid_t sup = otp_start_sup(true, ACT_ONE_FOR_ONE, 2, 3600, NULL, 0);
    act_exit(sup, ACT_SHUTDOWN);
    cr_assert_eq(check_exit(sup), ACT_SHUTDOWN);
}

/* A start function that returns an error fails start_child with it, and leaves nothing. */
Test(otp_suite_sup, sup_start_child_returns_error)
{
    act_pid_t sup = otp_start_sup(true, ACT_ONE_FOR_ONE, 2, 3600, NULL, 0);
    act_child_spec_t c1 = SW("child1", MODE_ERROR);
    cr_assert_eq(act_sup_add_child(sup, &c1, NULL), -EIO);
    cr_assert_str_eq(which(sup, NULL), "");
}

/* ... and restart_child with it, the child staying not running. */
Test(otp_suite_sup, sup_start_restart_child_returns_error)
{
    static const act_child_spec_t kids[] = {SW("child1", MODE_FAIL_RESTART | 1)};
    act_pid_t sup = otp_start_sup(true, ACT_ONE_FOR_ONE, 2, 3600, kids, 1);
    cr_assert_eq(act_sup_terminate_child(sup, "child1"), 0);
    cr_assert_eq(act_sup_restart_child(sup, "child1", NULL), -EIO);
    cr_assert_str_eq(which(sup, NULL), "child1:undefined");
}

Test(otp_suite_sup, sup_start_child_returns_error_simple)
{
    static const act_child_spec_t tmpl[] = {SW("child1", 0)};
    act_pid_t sup = otp_start_sup(true, ACT_SIMPLE_ONE_FOR_ONE, 2, 3600, tmpl, 1);
    cr_assert_eq(act_sup_start_child(sup, (void *)MODE_ERROR, ACT_SCHED_ANY, NULL), -EIO);
    cr_assert_str_eq(which(sup, NULL), "");
    expect_counts(sup, 1, 0, 0, 0);
}

/* ---- sup_stop: each child's shutdown policy -------------------------------------------- */

Test(otp_suite_sup, sup_stop_infinity)
{
    static const act_sup_spec_t empty = {.name = "child_sup"};
    act_pid_t sup = otp_start_sup(true, ACT_ONE_FOR_ONE, 2, 3600, NULL, 0);
    act_pid_t c1 =
        add(sup, (act_child_spec_t){ACT_SUP_CHILD("child1", &empty), .shutdown = ACT_INFINITY});
    act_pid_t c2 = add(sup, (act_child_spec_t)SW("child2", 0, .shutdown = ACT_INFINITY));
    act_ref_t r1 = mon(c1), r2 = mon(c2);
    act_exit(sup, ACT_SHUTDOWN);
    cr_assert_eq(check_exit(sup), ACT_SHUTDOWN);
    cr_assert_eq(wait_down(r1), ACT_SHUTDOWN);
    cr_assert_eq(wait_down(r2), ACT_SHUTDOWN);
}

/* A child that ignores its shutdown is killed after its timeout; the other exits with
 * shutdown. */
Test(otp_suite_sup, sup_stop_timeout)
{
    act_pid_t sup = otp_start_sup(true, ACT_ONE_FOR_ONE, 2, 3600, NULL, 0);
    act_pid_t c1 = add(sup, (act_child_spec_t)SW("child1", 0));
    act_pid_t c2 =
        add(sup, (act_child_spec_t){ACT_WORKER_CHILD("child2", otp_stubborn_start, (void *)2),
                                    .shutdown = 1000});
    act_ref_t r1 = mon(c1), r2 = mon(c2);
    int64_t t0 = act_now_ms();
    act_exit(sup, ACT_SHUTDOWN);
    cr_assert_eq(check_exit(sup), ACT_SHUTDOWN);
    cr_assert_geq(act_now_ms() - t0, 1000, "child2 was killed before its timeout");
    cr_assert_eq(wait_down(r1), ACT_SHUTDOWN);
    cr_assert_eq(wait_down(r2), ACT_KILLED);
}

Test(otp_suite_sup, sup_stop_brutal_kill)
{
    act_pid_t sup = otp_start_sup(true, ACT_ONE_FOR_ONE, 2, 3600, NULL, 0);
    act_pid_t c1 = add(sup, (act_child_spec_t)SW("child1", 0));
    act_pid_t c2 =
        add(sup, (act_child_spec_t)SW("child2", 0, .shutdown = ACT_SHUTDOWN_BRUTAL_KILL));
    act_ref_t r1 = mon(c1), r2 = mon(c2);
    act_exit(sup, ACT_SHUTDOWN);
    cr_assert_eq(check_exit(sup), ACT_SHUTDOWN);
    cr_assert_eq(wait_down(r1), ACT_SHUTDOWN);
    cr_assert_eq(wait_down(r2), ACT_KILLED);
}

/* ---- child administration ----------------------------------------------------------------- */

Test(otp_suite_sup, child_adm)
{
    static const act_child_spec_t kids[] = {SW("child1", 0)};
    act_pid_t sup = otp_start_sup(true, ACT_ONE_FOR_ONE, 2, 3600, kids, 1);
    act_pid_t cpid;
    cr_assert_str_eq(which(sup, &cpid), "child1:pid");
    expect_counts(sup, 1, 1, 0, 1);

    /* Start of an already running child: already_started, with its pid. */
    act_pid_t other = ACT_PID_NONE;
    cr_assert_eq(act_sup_add_child(sup, &kids[0], &other), ACT_ECHILDRUNNING);
    cr_assert_eq(other, cpid);

    /* Termination. */
    cr_assert_eq(act_sup_terminate_child(sup, "hej"), ACT_ENOCHILD);
    act_ref_t r = mon(cpid);
    cr_assert_eq(act_sup_terminate_child(sup, "child1"), 0);
    cr_assert_eq(wait_down(r), ACT_SHUTDOWN);
    cr_assert_str_eq(which(sup, NULL), "child1:undefined");
    expect_counts(sup, 1, 0, 0, 1);
    cr_assert_eq(act_sup_terminate_child(sup, "child1"), 0, "terminating it again is ok");

    /* Start of an existing child that does not run: already_present. */
    cr_assert_eq(act_sup_add_child(sup, &kids[0], NULL), ACT_ECHILDEXISTS);

    /* Restart. */
    act_pid_t cpid2;
    cr_assert_eq(act_sup_restart_child(sup, "child1", &cpid2), 0);
    act_pid_t now;
    cr_assert_str_eq(which(sup, &now), "child1:pid");
    cr_assert_eq(now, cpid2);
    expect_counts(sup, 1, 1, 0, 1);
    cr_assert_eq(act_sup_restart_child(sup, "child1", NULL), ACT_ECHILDRUNNING);
    cr_assert_eq(act_sup_restart_child(sup, "child2", NULL), ACT_ENOCHILD);

    /* Deletion. */
    cr_assert_eq(act_sup_delete_child(sup, "child1"), ACT_ECHILDRUNNING);
    cr_assert_eq(act_sup_delete_child(sup, "hej"), ACT_ENOCHILD);
    cr_assert_eq(act_sup_terminate_child(sup, "child1"), 0);
    cr_assert_eq(act_sup_delete_child(sup, "child1"), 0);
    cr_assert_eq(act_sup_restart_child(sup, "child1", NULL), ACT_ENOCHILD);
    cr_assert_str_eq(which(sup, NULL), "");
    expect_counts(sup, 0, 0, 0, 0);

    /* Start. */
    act_pid_t cpid3 = add(sup, kids[0]);
    cr_assert_str_eq(which(sup, &now), "child1:pid");
    cr_assert_eq(now, cpid3);
    expect_counts(sup, 1, 1, 0, 1);

    /* Terminating by pid is for dynamic supervisors. */
    cr_assert_eq(act_sup_terminate_pid(sup, cpid3), ACT_ENOTSUP);
    expect_counts(sup, 1, 1, 0, 1);

    /* A supervisor that is not there: noproc. */
    act_exit(sup, ACT_KILL);
    cr_assert_eq(check_exit(sup), ACT_KILLED);
    act_child_info_t *info;
    size_t n;
    act_child_counts_t c;
    cr_assert_eq(act_sup_terminate_child(sup, "child1"), ACT_ENOPROC);
    cr_assert_eq(act_sup_delete_child(sup, "child1"), ACT_ENOPROC);
    cr_assert_eq(act_sup_add_child(sup, &kids[0], NULL), ACT_ENOPROC);
    cr_assert_eq(act_sup_which_children(sup, &info, &n), ACT_ENOPROC);
    cr_assert_eq(act_sup_count_children(sup, &c), ACT_ENOPROC);
}

/* Invalid child specs are refused, by start_child and at the supervisor's start. */
Test(otp_suite_sup, child_specs)
{
    act_pid_t sup = otp_start_sup(true, ACT_ONE_FOR_ONE, 2, 3600, NULL, 0);
    const act_child_spec_t bad[] = {
        {.id = "child"},                                              /* invalid_mfa */
        {ACT_WORKER_CHILD("child", sw_start, NULL), .restart = 7},    /* invalid_restart_type */
        {ACT_WORKER_CHILD("child", sw_start, NULL), .shutdown = -10}, /* invalid_shutdown */
        {ACT_WORKER_CHILD("child", sw_start, NULL), .type = 9},       /* invalid_child_type */
        {ACT_WORKER_CHILD(NULL, sw_start, NULL)},                     /* missing_id */
    };
    for (size_t i = 0; i < N(bad); i++) {
        cr_assert_eq(act_sup_add_child(sup, &bad[i], NULL), ACT_EBADARG, "spec %zu", i);
        act_sup_spec_t s = {.children = &bad[i], .nchildren = 1};
        cr_assert_eq(act_sup_start_link(&s, NULL), ACT_EBADARG, "spec %zu at start", i);
    }
    const act_child_spec_t good[] = {
        {ACT_WORKER_CHILD("c1", sw_start, NULL), .shutdown = ACT_INFINITY, .type = ACT_SUPERVISOR},
        {ACT_WORKER_CHILD("c2", sw_start, NULL), .shutdown = 1000, .type = ACT_SUPERVISOR},
        {ACT_WORKER_CHILD("c3", sw_start, NULL), .restart = ACT_TEMPORARY, .shutdown = 1000},
        {ACT_WORKER_CHILD("c4", sw_start, NULL), .restart = ACT_TRANSIENT, .shutdown = 1000},
        {ACT_WORKER_CHILD("c5", sw_start, NULL), .shutdown = ACT_INFINITY},
        {ACT_WORKER_CHILD("c6", sw_start, NULL), .shutdown = ACT_SHUTDOWN_BRUTAL_KILL},
    };
    for (size_t i = 0; i < N(good); i++)
        cr_assert_eq(act_sup_add_child(sup, &good[i], NULL), 0, "spec %zu", i);
    /* duplicate_child_name */
    const act_child_spec_t dup[] = {good[0], good[0]};
    act_sup_spec_t s = {.children = dup, .nchildren = 2};
    cr_assert_eq(act_sup_start_link(&s, NULL), ACT_EBADARG);
    /* simple_one_for_one needs exactly one child spec (bad_start_spec). */
    s = (act_sup_spec_t){.strategy = ACT_SIMPLE_ONE_FOR_ONE, .children = good, .nchildren = 0};
    cr_assert_eq(act_sup_start_link(&s, NULL), ACT_EBADARG);
    s.nchildren = 2;
    cr_assert_eq(act_sup_start_link(&s, NULL), ACT_EBADARG);
}

/* Invalid supervisor flags. */
Test(otp_suite_sup, sup_flags)
{
    act_sup_spec_t s = {.strategy = 42}; /* invalid_strategy */
    cr_assert_eq(act_sup_start_link(&s, NULL), ACT_EBADARG);
    s = (act_sup_spec_t){.max_restarts = -1, .max_seconds = 3600}; /* invalid_intensity */
    cr_assert_eq(act_sup_start_link(&s, NULL), ACT_EBADARG);
    s = (act_sup_spec_t){.max_restarts = 2, .max_seconds = 0}; /* invalid_period */
    cr_assert_eq(act_sup_start_link(&s, NULL), ACT_EBADARG);
    s = (act_sup_spec_t){.max_restarts = 2, .max_seconds = -1}; /* invalid_period */
    cr_assert_eq(act_sup_start_link(&s, NULL), ACT_EBADARG);
    /* Defaults are valid; so is no restart at all (intensity 0). */
    s = (act_sup_spec_t){0};
    act_pid_t pid;
    cr_assert_eq(act_sup_start_link(&s, &pid), 0);
    s = (act_sup_spec_t){.max_restarts = 0, .max_seconds = 1};
    cr_assert_eq(act_sup_start_link(&s, &pid), 0);
}

/* ---- restart types against normal, shutdown and abnormal exits -------------------------- */

/* Starts child1 with `restart` under a one_for_one supervisor, ends it `how`, and returns the
 * supervisor. */
static act_pid_t end_child(act_restart_t restart, int how, act_pid_t *old)
{
    act_pid_t sup = otp_start_sup(true, ACT_ONE_FOR_ONE, 2, 3600, NULL, 0);
    *old = add(sup, (act_child_spec_t)SW("child1", 0, .restart = restart));
    terminate(sup, *old, "child1", how);
    return sup;
}

static void expect_restarted(act_restart_t restart, int how)
{
    act_pid_t old;
    act_pid_t sup = end_child(restart, how, &old);
    restarted(sup, "child1", old);
    cr_assert_str_eq(which(sup, NULL), "child1:pid");
    expect_counts(sup, 1, 1, 0, 1);
}

/* After the exit (and the supervisor's handling of it), child1 is kept not running. */
static void expect_kept(act_restart_t restart, int how)
{
    act_pid_t old;
    act_pid_t sup = end_child(restart, how, &old);
    cr_assert_str_eq(which(sup, NULL), "child1:undefined");
    expect_counts(sup, 1, 0, 0, 1);
    act_pid_t again;
    cr_assert_eq(act_sup_restart_child(sup, "child1", &again), 0);
    cr_assert(act_is_alive(again));
}

static void expect_forgotten(int how)
{
    act_pid_t old;
    act_pid_t sup = end_child(ACT_TEMPORARY, how, &old);
    cr_assert_str_eq(which(sup, NULL), "");
    expect_counts(sup, 0, 0, 0, 0);
    add(sup, (act_child_spec_t)SW("child1", 0, .restart = ACT_TEMPORARY));
}

Test(otp_suite_sup, permanent_normal)
{
    expect_restarted(ACT_PERMANENT, NORMAL);
}

Test(otp_suite_sup, transient_normal)
{
    expect_kept(ACT_TRANSIENT, NORMAL);
}

Test(otp_suite_sup, temporary_normal)
{
    expect_forgotten(NORMAL);
}

Test(otp_suite_sup, permanent_shutdown)
{
    expect_restarted(ACT_PERMANENT, SHUTDOWN);
}

Test(otp_suite_sup, transient_shutdown)
{
    expect_kept(ACT_TRANSIENT, SHUTDOWN);
}

Test(otp_suite_sup, temporary_shutdown)
{
    expect_forgotten(SHUTDOWN);
}

Test(otp_suite_sup, permanent_abnormal)
{
    expect_restarted(ACT_PERMANENT, ABNORMAL);
}

Test(otp_suite_sup, transient_abnormal)
{
    expect_restarted(ACT_TRANSIENT, ABNORMAL);
}

Test(otp_suite_sup, temporary_abnormal)
{
    expect_forgotten(ABNORMAL);
}

/* A temporary child stopped by a group restart is not restarted (its start is not kept), so
 * the supervisor does not run into its intensity. */
Test(otp_suite_sup, temporary_bystander)
{
    act_strategy_t strategies[] = {ACT_ONE_FOR_ALL, ACT_REST_FOR_ONE};
    for (int i = 0; i < 2; i++) {
        act_sup_spec_t spec = {.strategy = strategies[i], .max_restarts = 2, .max_seconds = 300};
        act_pid_t sup;
        cr_assert_eq(act_sup_start_link(&spec, &sup), 0);
        act_pid_t c1 = add(sup, (act_child_spec_t)SW("child1", 0, .shutdown = 100));
        act_pid_t c2 =
            add(sup, (act_child_spec_t)SW("child2", 0, .restart = ACT_TEMPORARY, .shutdown = 100));
        act_ref_t r2 = mon(c2);
        terminate(sup, c1, "child1", NORMAL);
        cr_assert_eq(wait_down(r2), ACT_SHUTDOWN);
        restarted(sup, "child1", c1);
        cr_assert(act_is_alive(sup));
        cr_assert_str_eq(which(sup, NULL), "child1:pid");
    }
}

/* ---- intensity ------------------------------------------------------------------------------ */

/* Restarts spread wider than the period never add up: intensity 1 in 1 s, four crashes 2.1 s
 * apart, and the supervisor lives. */
Test(otp_suite_sup, multiple_restarts)
{
    act_pid_t sup = otp_start_sup(true, ACT_ONE_FOR_ONE, 1, 1, NULL, 0);
    act_pid_t pid =
        add(sup, (act_child_spec_t)SW("child1", 0, .shutdown = ACT_SHUTDOWN_BRUTAL_KILL));
    terminate(sup, pid, "child1", ABNORMAL);
    for (int i = 0; i < 3; i++) {
        pid = restarted(sup, "child1", pid);
        act_sleep(2100);
        terminate(sup, pid, "child1", ABNORMAL);
    }
    restarted(sup, "child1", pid);
    cr_assert(act_is_alive(sup));
    cr_assert_eq(act_sup_terminate_child(sup, "child1"), 0);
    cr_assert_eq(act_sup_delete_child(sup, "child1"), 0);
}

/* ---- strategies -------------------------------------------------------------------------- */

Test(otp_suite_sup, one_for_one)
{
    act_pid_t sup = otp_start_sup(true, ACT_ONE_FOR_ONE, 2, 3600, NULL, 0);
    act_pid_t c1 = add(sup, (act_child_spec_t)SW("child1", 0));
    act_pid_t c2 = add(sup, (act_child_spec_t)SW("child2", 0));
    terminate(sup, c1, "child1", ABNORMAL);
    restarted(sup, "child1", c1);
    act_pid_t pids[2];
    cr_assert_str_eq(which(sup, pids), "child2:pid child1:pid");
    cr_assert_eq(pids[0], c2, "child2 was left alone");
    expect_counts(sup, 2, 2, 0, 2);
    /* The restart intensity: a third restart within the period is one too many. */
    terminate(sup, c2, "child2", ABNORMAL);
    act_pid_t c2b = restarted(sup, "child2", c2);
    terminate(sup, c2b, "child2", ABNORMAL);
    cr_assert_eq(check_exit(sup), ACT_SHUTDOWN);
}

/* A child whose restart fails takes the supervisor down (each failed restart counts), and the
 * other children with it. */
static void escalation(act_strategy_t strategy, bool failing_first)
{
    act_pid_t sup = otp_start_sup(true, strategy, 4, 3600, NULL, 0);
    int f1 = failing_first ? MODE_FAIL_RESTART | 1 : 1;
    int f2 = failing_first ? 2 : MODE_FAIL_RESTART | 2;
    act_pid_t c1 = add(sup, (act_child_spec_t)SW("child1", f1));
    act_pid_t c2 = add(sup, (act_child_spec_t)SW("child2", f2));
    act_ref_t r2 = mon(c2);
    terminate(sup, c1, "child1", ABNORMAL);
    cr_assert_eq(check_exit(sup), ACT_SHUTDOWN);
    wait_down(r2);
    cr_assert(otp_wait_report(ACT_REPORT_GAVE_UP, NULL, 1000));
}

Test(otp_suite_sup, one_for_one_escalation)
{
    escalation(ACT_ONE_FOR_ONE, true);
}

Test(otp_suite_sup, one_for_all)
{
    act_pid_t sup = otp_start_sup(true, ACT_ONE_FOR_ALL, 2, 3600, NULL, 0);
    act_pid_t c1 = add(sup, (act_child_spec_t)SW("child1", 0));
    act_pid_t c2 = add(sup, (act_child_spec_t)SW("child2", 0));
    act_ref_t r2 = mon(c2);
    terminate(sup, c1, "child1", ABNORMAL);
    cr_assert_eq(wait_down(r2), ACT_SHUTDOWN);
    restarted(sup, "child2", c2);
    act_pid_t pids[2];
    cr_assert_str_eq(which(sup, pids), "child2:pid child1:pid");
    for (int i = 0; i < 2; i++)
        cr_assert(pids[i] != c1 && pids[i] != c2, "an old child is still listed");
    expect_counts(sup, 2, 2, 0, 2);
    terminate(sup, pids[0], "child2", ABNORMAL);
    act_pid_t p = restarted(sup, "child2", pids[0]);
    terminate(sup, p, "child2", ABNORMAL);
    cr_assert_eq(check_exit(sup), ACT_SHUTDOWN);
}

Test(otp_suite_sup, one_for_all_escalation)
{
    escalation(ACT_ONE_FOR_ALL, false);
}

Test(otp_suite_sup, simple_one_for_one)
{
    static const act_child_spec_t tmpl[] = {SW("child", 0)};
    act_pid_t sup = otp_start_sup(true, ACT_SIMPLE_ONE_FOR_ONE, 2, 3600, tmpl, 1);
    act_pid_t c1, c2;
    cr_assert_eq(act_sup_start_child(sup, NULL, ACT_SCHED_ANY, &c1), 0);
    cr_assert_eq(act_sup_start_child(sup, NULL, ACT_SCHED_ANY, &c2), 0);
    terminate(sup, c1, NULL, ABNORMAL);
    act_pid_t pids[2] = {c1, c1};
    for (int i = 0; i < 5000 && (pids[0] == c1 || pids[1] == c1); i++) {
        act_child_info_t *kids;
        size_t n;
        cr_assert_eq(act_sup_which_children(sup, &kids, &n), 0);
        cr_assert_eq(n, 2);
        pids[0] = kids[0].pid;
        pids[1] = kids[1].pid;
        act_free(kids);
        act_sleep(1);
    }
    cr_assert(pids[0] == c2 || pids[1] == c2, "child2 was left alone");
    cr_assert(pids[0] != c1 && pids[1] != c1 && pids[0] && pids[1], "child1 was restarted");
    expect_counts(sup, 1, 2, 0, 2);
    terminate(sup, c2, NULL, ABNORMAL);
    act_pid_t other = pids[0] == c2 ? pids[1] : pids[0];
    terminate(sup, other, NULL, ABNORMAL);
    cr_assert_eq(check_exit(sup), ACT_SHUTDOWN);
}

/* Dynamic children stop with their shutdown policy, all together: two that take
 * ShutdownTime to stop are waited for, one that would take 5 x ShutdownTime is killed at its
 * timeout (2 x ShutdownTime). supervisor_2: a child that traps exits and stops `extra` ms
 * after its parent's exit signal. */
enum { STOP_NOW = ACT_MSG_USER + 5001 };

typedef struct {
    int64_t delay;
    bool stopping;
} slow_t;

static int slow_init(void *state, void *arg)
{
    ((slow_t *)state)->delay = (int64_t)(intptr_t)arg;
    return 0;
}

static int slow_handle(void *state, act_msg_t *m)
{
    slow_t *s = state;
    if (m->type == ACT_MSG_EXIT && !s->stopping) {
        s->stopping = true;
        act_send_after(act_self(), s->delay, act_msg_alloc(sizeof(act_msg_t), STOP_NOW), NULL);
    }
    return m->type == STOP_NOW ? act_stop(ACT_SHUTDOWN) : 0;
}

static const act_behaviour_t slow_child = {.init = slow_init, .handle = slow_handle};

static int slow_start(const act_child_start_t *cs, act_pid_t *out)
{
    act_spawn_opts_t o = {.behaviour = &slow_child,
                          .state_size = sizeof(slow_t),
                          .arg = cs->extra,
                          .trap_exit = true,
                          .sched = cs->sched};
    return act_start_link(&o, ACT_INFINITY, out);
}

Test(otp_suite_sup, simple_one_for_one_shutdown)
{
    const int64_t shutdown_time = MS(300);
    act_child_spec_t tmpl[] = {
        {ACT_WORKER_CHILD("child", slow_start, NULL), .shutdown = 2 * shutdown_time}};
    act_pid_t sup = otp_start_sup(true, ACT_SIMPLE_ONE_FOR_ONE, 2, 3600, tmpl, 1);
    int64_t delays[] = {shutdown_time, shutdown_time, 5 * shutdown_time};
    act_ref_t refs[3];
    for (int i = 0; i < 3; i++) {
        act_pid_t c;
        cr_assert_eq(act_sup_start_child(sup, (void *)(intptr_t)delays[i], ACT_SCHED_ANY, &c), 0);
        refs[i] = mon(c);
    }
    int64_t t0 = act_now_ms();
    act_exit(sup, ACT_SHUTDOWN);
    cr_assert_eq(check_exit(sup), ACT_SHUTDOWN);
    int64_t t = act_now_ms() - t0;
    cr_assert_geq(t, shutdown_time, "the slow children were not waited for (%lld ms)",
                  (long long)t);
    cr_assert_lt(t, 5 * shutdown_time, "shutdown took %lld ms", (long long)t);
    cr_assert_eq(wait_down(refs[0]), ACT_SHUTDOWN);
    cr_assert_eq(wait_down(refs[1]), ACT_SHUTDOWN);
    cr_assert_eq(wait_down(refs[2]), ACT_KILLED);
}

Test(otp_suite_sup, simple_one_for_one_escalation)
{
    static const act_child_spec_t tmpl[] = {SW("child", 0)};
    act_pid_t sup = otp_start_sup(true, ACT_SIMPLE_ONE_FOR_ONE, 4, 3600, tmpl, 1);
    act_pid_t c1, c2;
    cr_assert_eq(act_sup_start_child(sup, (void *)(MODE_FAIL_RESTART | 5), ACT_SCHED_ANY, &c1), 0);
    cr_assert_eq(act_sup_start_child(sup, NULL, ACT_SCHED_ANY, &c2), 0);
    act_ref_t r2 = mon(c2);
    terminate(sup, c1, NULL, ABNORMAL);
    cr_assert_eq(check_exit(sup), ACT_SHUTDOWN);
    cr_assert_eq(wait_down(r2), ACT_SHUTDOWN);
}

Test(otp_suite_sup, rest_for_one)
{
    act_pid_t sup = otp_start_sup(true, ACT_REST_FOR_ONE, 2, 3600, NULL, 0);
    act_pid_t c1 = add(sup, (act_child_spec_t)SW("child1", 0));
    act_pid_t c2 = add(sup, (act_child_spec_t)SW("child2", 0));
    act_pid_t c3 = add(sup, (act_child_spec_t)SW("child3", 0));
    act_ref_t r3 = mon(c3);
    expect_counts(sup, 3, 3, 0, 3);
    terminate(sup, c2, "child2", ABNORMAL);
    cr_assert_eq(wait_down(r3), ACT_SHUTDOWN);
    restarted(sup, "child3", c3);
    act_pid_t pids[3];
    cr_assert_str_eq(which(sup, pids), "child3:pid child2:pid child1:pid");
    cr_assert_eq(pids[2], c1, "child1 was left alone");
    cr_assert(pids[1] != c2 && pids[0] != c3);
    expect_counts(sup, 3, 3, 0, 3);
    terminate(sup, pids[0], "child3", ABNORMAL);
    act_pid_t p2 = restarted(sup, "child3", pids[0]);
    (void)p2;
    which(sup, pids);
    terminate(sup, pids[1], "child2", ABNORMAL);
    cr_assert_eq(check_exit(sup), ACT_SHUTDOWN);
}

Test(otp_suite_sup, rest_for_one_escalation)
{
    escalation(ACT_REST_FOR_ONE, false);
}

/* ---- misc ------------------------------------------------------------------------------------ */

/* A child that unlinked itself from its supervisor does not hang terminate_child: the
 * supervisor watches it with a monitor, kills it at its timeout and goes on. */
static int naughty_init(void *state, void *arg)
{
    (void)state;
    act_unlink(TU_PID(arg));
    act_trap_exit(true);
    return 0;
}

static int naughty_handle(void *state, act_msg_t *m)
{
    (void)state;
    (void)m;
    return 0;
}

static const act_behaviour_t naughty = {.init = naughty_init, .handle = naughty_handle};

static int naughty_start(const act_child_start_t *cs, act_pid_t *out)
{
    (void)cs;
    act_spawn_opts_t o = {.behaviour = &naughty, .arg = TU_ARG(act_self())};
    return act_start_link(&o, ACT_INFINITY, out);
}

Test(otp_suite_sup, child_unlink)
{
    act_pid_t sup = otp_start_sup(true, ACT_ONE_FOR_ONE, 2, 3600, NULL, 0);
    act_pid_t child =
        add(sup, (act_child_spec_t){ACT_WORKER_CHILD("naughty_child", naughty_start, NULL),
                                    .shutdown = 1000});
    act_ref_t r = mon(child);
    cr_assert_eq(act_sup_terminate_child(sup, "naughty_child"), 0);
    cr_assert_eq(wait_down(r), ACT_KILLED);
    cr_assert_str_eq(which(sup, NULL), "naughty_child:undefined");
    act_info_t info;
    cr_assert_eq(act_info(sup, &info), 0);
    cr_assert_eq(info.mailbox_len, 0);
}

/* A tree: a one_for_all top over two supervisors (and a transient one terminated on purpose).
 * A worker's crash restarts only it; a worker whose restart fails takes its supervisor down,
 * and the top restarts every child, the terminated one included, each from its spec (the
 * children added at run time are gone). */
Test(otp_suite_sup, tree)
{
    static const act_child_spec_t sup1_kids[] = {SW("child1", 0), SW("child2", 0)};
    static const act_sup_spec_t sup1 = {.name = "supchild1",
                                        .max_restarts = 4,
                                        .max_seconds = 3600,
                                        .children = sup1_kids,
                                        .nchildren = 2};
    static const act_sup_spec_t sup2 = {
        .name = "supchild2", .max_restarts = 4, .max_seconds = 3600};
    act_pid_t top = otp_start_sup(true, ACT_ONE_FOR_ALL, 4, 3600, NULL, 0);
    act_pid_t s1 = add(top, (act_child_spec_t){ACT_SUP_CHILD("supchild1", &sup1)});
    act_pid_t s2 = add(top, (act_child_spec_t){ACT_SUP_CHILD("supchild2", &sup2)});
    add(top, (act_child_spec_t){ACT_SUP_CHILD("supchild3", &sup2), .restart = ACT_TRANSIENT});
    cr_assert_eq(act_sup_terminate_child(top, "supchild3"), 0);
    expect_counts(top, 3, 2, 3, 0);

    act_pid_t w1[2];
    cr_assert_str_eq(which(s1, w1), "child2:pid child1:pid");
    expect_counts(s1, 2, 2, 0, 2);
    expect_counts(s2, 0, 0, 0, 0);

    act_pid_t c3 = add(s2, (act_child_spec_t)SW("child3", MODE_FAIL_RESTART | 6));
    act_pid_t c4 = add(s2, (act_child_spec_t)SW("child4", 0));
    expect_counts(s2, 2, 2, 0, 2);

    terminate(s2, c4, "child4", ABNORMAL);
    act_pid_t n4 = restarted(s2, "child4", c4);
    act_pid_t now[2];
    cr_assert_str_eq(which(s1, now), "child2:pid child1:pid");
    cr_assert(now[0] == w1[0] && now[1] == w1[1]);
    cr_assert_str_eq(which(s2, now), "child4:pid child3:pid");
    cr_assert(now[0] == n4 && now[1] == c3);

    /* child3 cannot restart: supchild2 gives up, and the top restarts its whole group. */
    act_ref_t rs1 = mon(s1);
    terminate(s2, c3, "child3", ABNORMAL);
    cr_assert_eq(wait_down(rs1), ACT_SHUTDOWN);
    act_pid_t ns1 = restarted(top, "supchild1", s1);
    act_pid_t ns2 = restarted(top, "supchild2", s2);
    act_pid_t tops[3];
    cr_assert_str_eq(which(top, tops), "supchild3:pid supchild2:pid supchild1:pid");
    expect_counts(top, 3, 3, 3, 0);
    cr_assert_str_eq(which(ns1, NULL), "child2:pid child1:pid");
    expect_counts(ns1, 2, 2, 0, 2);
    cr_assert_str_eq(which(ns2, NULL), "");
    expect_counts(ns2, 0, 0, 0, 0);
    cr_assert_str_eq(which(tops[0], NULL), "");
}

/* count_children of a dynamic supervisor whose children are supervisors. */
Test(otp_suite_sup, count_children_supervisor)
{
    static const act_sup_spec_t empty = {.name = "child"};
    static const act_child_spec_t tmpl[] = {
        {ACT_SUP_CHILD("child", &empty), .restart = ACT_TEMPORARY}};
    act_pid_t sup = otp_start_sup(true, ACT_SIMPLE_ONE_FOR_ONE, 2, 3600, tmpl, 1);
    for (int i = 0; i < 200; i++)
        cr_assert_eq(act_sup_start_child(sup, NULL, ACT_SCHED_ANY, NULL), 0);
    expect_counts(sup, 1, 200, 200, 0);
    act_child_info_t *kids;
    size_t n;
    cr_assert_eq(act_sup_which_children(sup, &kids, &n), 0);
    cr_assert_eq(n, 200);
    for (size_t i = 0; i < n; i++) {
        cr_assert_eq(kids[i].type, ACT_SUPERVISOR);
        act_ref_t r = mon(kids[i].pid);
        act_exit(kids[i].pid, ACT_KILL);
        wait_down(r);
    }
    act_free(kids);
    act_child_counts_t c;
    for (int i = 0; i < 5000; i++) {
        cr_assert_eq(act_sup_count_children(sup, &c), 0);
        if (c.active == 0 && c.supervisors == 0)
            break;
        act_sleep(1);
    }
    expect_counts(sup, 1, 0, 0, 0);
}

/* count_children while some dynamic children are restarting: they count as workers, not as
 * active. */
static _Atomic bool fail_all;

static int flaky_start(const act_child_start_t *cs, act_pid_t *out)
{
    if (atomic_load(&fail_all)) {
        act_sleep(50);
        return -EIO;
    }
    return act_server_start_link(&sw, NULL, &(act_server_opts_t){.sched = cs->sched}, out);
}

Test(otp_suite_sup, count_restarting_children)
{
    static const act_child_spec_t tmpl[] = {
        {ACT_WORKER_CHILD("child", flaky_start, NULL), .shutdown = ACT_SHUTDOWN_BRUTAL_KILL}};
    act_pid_t sup = otp_start_sup(true, ACT_SIMPLE_ONE_FOR_ONE, 1000, 10, tmpl, 1);
    expect_counts(sup, 1, 0, 0, 0);
    act_pid_t ch[3];
    for (int i = 0; i < 3; i++) {
        cr_assert_eq(act_sup_start_child(sup, NULL, ACT_SCHED_ANY, &ch[i]), 0);
        expect_counts(sup, 1, (size_t)i + 1, 0, (size_t)i + 1);
    }
    atomic_store(&fail_all, true);
    terminate(sup, ch[0], NULL, ABNORMAL);
    terminate(sup, ch[1], NULL, ABNORMAL);
    act_child_counts_t c;
    for (int i = 0; i < 5000; i++) {
        cr_assert_eq(act_sup_count_children(sup, &c), 0);
        if (c.active == 1)
            break;
        act_sleep(1);
    }
    expect_counts(sup, 1, 1, 0, 3);
    atomic_store(&fail_all, false);
    for (int i = 0; i < 5000; i++) {
        cr_assert_eq(act_sup_count_children(sup, &c), 0);
        if (c.active == 3)
            break;
        act_sleep(1);
    }
    expect_counts(sup, 1, 3, 0, 3);
    cr_assert_eq(act_sup_terminate_pid(sup, ch[2]), 0);
    expect_counts(sup, 1, 2, 0, 2);
    act_pid_t left[2];
    which(sup, left);
    cr_assert_eq(act_sup_terminate_pid(sup, left[0]), 0);
    expect_counts(sup, 1, 1, 0, 1);
    cr_assert_eq(act_sup_terminate_pid(sup, left[1]), 0);
    expect_counts(sup, 1, 0, 0, 0);
}

/* Temporary children's specs are not kept; permanent and transient ones are, by how each
 * ended. */
static void spec_saved(act_strategy_t strategy, int how)
{
    act_sup_spec_t spec = {.strategy = strategy, .max_restarts = 2, .max_seconds = 3600};
    act_pid_t sup;
    cr_assert_eq(act_sup_start_link(&spec, &sup), 0);
    const act_child_spec_t perm = SW("child1", 0);
    const act_child_spec_t trans = SW("child2", 0, .restart = ACT_TRANSIENT);
    const act_child_spec_t temp = SW("child3", 0, .restart = ACT_TEMPORARY);
    const act_child_spec_t *specs[] = {&perm, &trans, &temp};
    for (int i = 0; i < 3; i++) {
        const act_child_spec_t *c = specs[i];
        act_pid_t pid = add(sup, *c);
        terminate(sup, pid, c->id, how);
        if (c->restart == ACT_TEMPORARY) {
            act_pid_t again;
            cr_assert_eq(act_sup_add_child(sup, c, &again), 0, "temporary spec kept");
        } else if (how == SUPERVISOR || (c->restart == ACT_TRANSIENT && how == NORMAL)) {
            cr_assert_eq(act_sup_add_child(sup, c, NULL), ACT_ECHILDEXISTS); /* present */
            cr_assert_eq(act_sup_restart_child(sup, c->id, NULL), 0);
        } else {
            restarted(sup, c->id, pid);
            act_pid_t running = ACT_PID_NONE;
            cr_assert_eq(act_sup_add_child(sup, c, &running), ACT_ECHILDRUNNING); /* started */
            cr_assert(act_is_alive(running));
        }
    }
    act_unlink(sup);
    act_ref_t r = mon(sup);
    act_exit(sup, ACT_SHUTDOWN);
    wait_down(r);
}

Test(otp_suite_sup, do_not_save_child_specs_for_temporary_children)
{
    act_strategy_t strategies[] = {ACT_ONE_FOR_ALL, ACT_ONE_FOR_ONE, ACT_REST_FOR_ONE};
    int hows[] = {KILL, NORMAL, ABNORMAL, SUPERVISOR};
    for (int h = 0; h < 4; h++)
        for (int s = 0; s < 3; s++)
            spec_saved(strategies[s], hows[h]);
}

/* OTP-9212: registered names follow restarts, whichever level restarts (local names here:
 * OTP's are global). */
static const act_child_spec_t server9212[] = {SW("child", 0, .name = "server", .shutdown = 2000)};
static const act_sup_spec_t middle9212 = {.name = "sup2",
                                          .register_name = true,
                                          .strategy = ACT_ONE_FOR_ALL,
                                          .max_restarts = 3,
                                          .max_seconds = 60,
                                          .children = server9212,
                                          .nchildren = 1};
static const act_child_spec_t top9212[] = {
    {ACT_SUP_CHILD("middle", &middle9212), .shutdown = 2000}};

static act_pid_t wait_name_change(const char *name, act_pid_t old)
{
    for (int i = 0; i < 5000; i++) {
        act_pid_t p = act_whereis(name);
        if (p && p != old)
            return p;
        act_sleep(1);
    }
    cr_assert_fail("%s was not registered again", name);
    return ACT_PID_NONE;
}

Test(otp_suite_sup, simple_global_supervisor)
{
    for (int variant = 0; variant < 4; variant++) {
        act_pid_t top = otp_start_sup(true, ACT_ONE_FOR_ALL, 3, 60, top9212, 1);
        act_pid_t sup2 = act_whereis("sup2"), server = act_whereis("server");
        cr_assert(sup2 && server);
        switch (variant) {
        case 0: /* kill_supervisor */
            act_exit(sup2, ACT_KILL);
            cr_assert_neq(wait_name_change("sup2", sup2), sup2);
            wait_name_change("server", server);
            break;
        case 1: /* kill_worker */
            act_exit(server, ACT_KILL);
            wait_name_change("server", server);
            break;
        case 2: /* exit_worker */
            terminate(sup2, server, "child", NORMAL);
            wait_name_change("server", server);
            break;
        default: /* restart_worker */
            cr_assert_eq(act_sup_terminate_child(act_whereis("sup2"), "child"), 0);
            cr_assert_eq(act_whereis("server"), ACT_PID_NONE);
            cr_assert_eq(act_sup_restart_child(act_whereis("sup2"), "child", NULL), 0);
            wait_name_change("server", server);
            break;
        }
        /* stop9212: the names go with the tree. */
        act_exit(top, ACT_KILL);
        cr_assert_eq(check_exit(top), ACT_KILLED);
        for (int i = 0; i < 5000 && (act_whereis("sup2") || act_whereis("server")); i++)
            act_sleep(1);
        cr_assert_eq(act_whereis("sup2"), ACT_PID_NONE);
        cr_assert_eq(act_whereis("server"), ACT_PID_NONE);
        cr_assert_eq(act_whereis("sup_test"), ACT_PID_NONE);
    }
}

/* A child in a restart loop among others under rest_for_one: the children after it are not
 * running meanwhile; terminating it ends the loop; the supervisor still stops. */
static _Atomic bool fail_child2;

static int deadlock_start(const act_child_start_t *cs, act_pid_t *out)
{
    if (atomic_load(&fail_child2)) {
        act_sleep(20);
        return -EIO;
    }
    return act_server_start_link(&sw, NULL, &(act_server_opts_t){.sched = cs->sched}, out);
}

static bool child2_restarting(void *arg)
{
    act_child_info_t *kids;
    size_t n;
    if (act_sup_which_children(*(act_pid_t *)arg, &kids, &n) != 0)
        return false;
    bool yes = n == 3 && kids[1].restarting;
    act_free(kids);
    return yes;
}

Test(otp_suite_sup, hanging_restart_loop_rest_for_one)
{
    act_pid_t sup = otp_start_sup(true, ACT_REST_FOR_ONE, 1000, 10, NULL, 0);
    act_pid_t c1 =
        add(sup, (act_child_spec_t)SW("child1", 0, .shutdown = ACT_SHUTDOWN_BRUTAL_KILL));
    act_child_spec_t child2 = {ACT_WORKER_CHILD("child2", deadlock_start, NULL),
                               .shutdown = ACT_SHUTDOWN_BRUTAL_KILL};
    act_pid_t c2 = add(sup, child2);
    add(sup, (act_child_spec_t)SW("child3", 0, .shutdown = ACT_SHUTDOWN_BRUTAL_KILL));
    atomic_store(&fail_child2, true);
    terminate(sup, c2, "child2", ABNORMAL);
    cr_assert(tu_wait(child2_restarting, &sup, 5000));

    cr_assert_eq(act_sup_add_child(sup, &child2, NULL), ACT_ECHILDEXISTS);
    cr_assert_eq(act_sup_restart_child(sup, "child2", NULL), ACT_ERESTARTING);
    cr_assert_eq(act_sup_delete_child(sup, "child2"), ACT_ERESTARTING);
    act_pid_t pids[3];
    cr_assert_str_eq(which(sup, pids), "child3:undefined child2:restarting child1:pid");
    cr_assert_eq(pids[2], c1);
    expect_counts(sup, 3, 1, 0, 3);

    cr_assert_eq(act_sup_terminate_child(sup, "child2"), 0);
    cr_assert_str_eq(which(sup, pids), "child3:undefined child2:undefined child1:pid");

    atomic_store(&fail_child2, false);
    act_pid_t c22;
    cr_assert_eq(act_sup_restart_child(sup, "child2", &c22), 0);
    atomic_store(&fail_child2, true);
    terminate(sup, c22, "child2", ABNORMAL);
    cr_assert(tu_wait(child2_restarting, &sup, 5000));
    cr_assert_eq(act_sup_stop(sup, MS(5000)), 0);
    cr_assert_eq(act_whereis("sup_test"), ACT_PID_NONE);
    atomic_store(&fail_child2, false);
}

/* Children start in the order given and stop in the opposite order: under rest_for_one the
 * children after a crashed one stop newest first and start again in order; the whole tree stops
 * newest first. */
Test(otp_suite_sup, order_of_children)
{
    static const act_child_spec_t kids[] = {SW("ch7", 7), SW("ch3", 3), SW("ch10", 10),
                                            SW("ch2", 2), SW("ch5", 5)};
    act_pid_t sup = otp_start_sup(true, ACT_REST_FOR_ONE, 2, 3600, kids, N(kids));
    cr_assert(otp_log_wait(5, 5000));
    cr_assert(otp_log_is(0, (int[]){7, 3, 10, 2, 5}, 5), "start order %s", otp_log_str(0));
    terminate(sup, otp_child(sup, "ch10"), "ch10", ABNORMAL);
    cr_assert(otp_log_wait(11, 5000), "%s", otp_log_str(0));
    cr_assert(otp_log_is(5, (int[]){-10, -5, -2, 10, 2, 5}, 6), "%s", otp_log_str(5));
    act_exit(sup, ACT_SHUTDOWN);
    cr_assert_eq(check_exit(sup), ACT_SHUTDOWN);
    cr_assert(otp_log_wait(16, 5000), "%s", otp_log_str(0));
    cr_assert(otp_log_is(11, (int[]){-5, -2, -10, -3, -7}, 5), "%s", otp_log_str(11));
}

/* OTP-9242: terminating dynamic temporary children one by one scales linearly: 10 times as
 * many take about 10 times as long (OTP fails past 50). */
static int64_t start_and_terminate(act_pid_t sup, int n)
{
    act_pid_t *pids = act_malloc((size_t)n * sizeof *pids);
    for (int i = 0; i < n; i++)
        cr_assert_eq(act_sup_start_child(sup, NULL, ACT_SCHED_ANY, &pids[i]), 0);
    int64_t t0 = act_now_ms();
    for (int i = 0; i < n; i++)
        cr_assert_eq(act_sup_terminate_pid(sup, pids[i]), 0);
    int64_t t = act_now_ms() - t0;
    act_free(pids);
    return t;
}

Test(otp_suite_sup, simple_one_for_one_scale_many_temporary_children)
{
    static const act_child_spec_t tmpl[] = {
        {ACT_SERVER_CHILD("child", &sw, NULL), .restart = ACT_TEMPORARY}};
    act_pid_t sup = otp_start_sup(true, ACT_SIMPLE_ONE_FOR_ONE, 2, 3600, tmpl, 1);
    const int n = TU_SCALED(1000, 200);
    int64_t t1 = start_and_terminate(sup, n);
    int64_t t2 = start_and_terminate(sup, 10 * n);
    cr_log_info("terminate_child: %d children in %lld ms, %d in %lld ms", n, (long long)t1, 10 * n,
                (long long)t2);
    cr_assert_lt(t2, 50 * t1 + MS(200), "bad scaling: %lld ms against %lld ms", (long long)t2,
                 (long long)t1);
    expect_counts(sup, 1, 0, 0, 0);
}
