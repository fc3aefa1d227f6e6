/* Dynamic supervisors (ACT_SIMPLE_ONE_FOR_ONE): start_child with an argument, asynchronous
 * starts from plain actors, pinning, max_children, 10,000 children, churn, shutdown. */
#include <string.h>
#include <unistd.h>

#include "otp_util.h"

TestSuite(dynsup, .init = otp_start, .fini = tu_stop, .timeout = TMO(30));

/* A connection-like child: a plain actor that records its argument and scheduler. */
typedef struct {
    intptr_t arg;
} conn_t;

enum { WHO = ACT_MSG_USER + 1, WHO_REPLY, QUIT };

static atomic_int conn_inits;

static int conn_init(void *state, void *arg)
{
    conn_t *c = state;
    c->arg = (intptr_t)arg;
    atomic_fetch_add(&conn_inits, 1);
    return 0;
}

static int conn_handle(void *state, act_msg_t *msg)
{
    conn_t *c = state;
    if (msg->type == WHO) {
        tu_int_t *r = act_msg_new(tu_int_t, WHO_REPLY);
        r->v = c->arg * 100 + act_sched_self();
        act_reply(msg, &r->hdr);
    }
    if (msg->type == QUIT)
        return act_stop((int)((tu_int_t *)msg)->v);
    return 0;
}

static const act_behaviour_t conn = {.name = "conn", .init = conn_init, .handle = conn_handle};

enum { SLOW_START = 1000 };

/* The template's start function: spawn linked, on the requested scheduler, no wait. */
static int conn_start(const act_child_start_t *cs, act_pid_t *out)
{
    if ((intptr_t)cs->extra < 0)
        return -ECONNRESET; /* the socket died before its child started */
    if ((intptr_t)cs->extra == SLOW_START)
        act_sleep(300); /* a start that keeps the supervisor busy */
    act_spawn_opts_t o = {
        .behaviour = &conn,
        .state_size = sizeof(conn_t),
        .arg = cs->extra,
        .sched = cs->sched,
        .link = true,
    };
    return act_spawn(&o, out);
}

static act_pid_t dyn_sup(act_restart_t restart, size_t max_children)
{
    act_child_spec_t tmpl[] = {{ACT_WORKER_CHILD("conn", conn_start, NULL), .restart = restart,
                                .shutdown = ACT_SHUTDOWN_BRUTAL_KILL}};
    act_sup_spec_t spec = {.name = "conns",
                           .strategy = ACT_SIMPLE_ONE_FOR_ONE,
                           .max_children = max_children,
                           .max_restarts = 100000,
                           .max_seconds = 1,
                           .children = tmpl,
                           .nchildren = 1};
    act_pid_t sup;
    int rc = act_sup_start_link(&spec, &sup);
    cr_assert_eq(rc, 0, "%s", act_strerror(rc));
    return sup;
}

static int64_t who(act_pid_t pid)
{
    act_msg_t *r;
    int rc = act_call(pid, act_msg_alloc(sizeof(act_msg_t), WHO), MS(2000), &r, NULL);
    cr_assert_eq(rc, 0, "%s", act_strerror(rc));
    int64_t v = ((tu_int_t *)r)->v;
    act_msg_free(r);
    return v;
}

static void quit(act_pid_t pid, int reason)
{
    tu_send_int(pid, QUIT, reason);
}

Test(dynsup, start_child_passes_its_argument_and_scheduler)
{
    act_pid_t sup = dyn_sup(ACT_TEMPORARY, 0);
    act_child_counts_t c;
    cr_assert_eq(act_sup_count_children(sup, &c), 0);
    cr_assert_eq(c.specs, 1, "one spec, the template, as OTP counts it");
    cr_assert_eq(c.workers, 0, "no child until asked");
    act_pid_t a, b;
    cr_assert_eq(act_sup_start_child(sup, (void *)7, ACT_SCHED_ON(1), &a), 0);
    cr_assert_eq(act_sup_start_child(sup, (void *)8, ACT_SCHED_ON(0), &b), 0);
    cr_assert_eq(who(a), 701);
    cr_assert_eq(who(b), 800);
    cr_assert_eq(act_sup_start_child(sup, (void *)-1, 0, NULL), -ECONNRESET);
    cr_assert_eq(act_sup_start_child(sup, NULL, ACT_SCHED_ON(5), NULL), ACT_ENOSCHED);
    cr_assert_eq(act_sup_count_children(sup, &c), 0);
    cr_assert_eq(c.specs, 1);
    cr_assert_eq(c.active, 2);
    cr_assert_eq(c.workers, 2);
    act_child_info_t *info;
    size_t n;
    cr_assert_eq(act_sup_which_children(sup, &info, &n), 0);
    cr_assert_eq(n, 2);
    cr_assert_str_eq(info[0].id, "conn");
    cr_assert_str_eq(info[1].id, "conn");
    act_free(info);
    /* Static-only operations are refused. */
    cr_assert_eq(act_sup_terminate_child(sup, "conn"), ACT_ENOTSUP);
    act_child_spec_t spec = {ACT_WORKER_CHILD("x", conn_start, NULL)};
    cr_assert_eq(act_sup_add_child(sup, &spec, NULL), ACT_ENOTSUP);
    /* terminate_pid stops and forgets a child. */
    cr_assert_eq(act_sup_terminate_pid(sup, a), 0);
    cr_assert_not(act_is_alive(a));
    /* A pid that is no longer alive answers ok (OTP's child_adm_simple); a live actor that is
     * not a child does not. */
    cr_assert_eq(act_sup_terminate_pid(sup, a), 0);
    cr_assert_eq(act_sup_terminate_pid(sup, act_self()), ACT_ENOCHILD);
    cr_assert_eq(act_sup_count_children(sup, &c), 0);
    cr_assert_eq(c.specs, 1);
    cr_assert_eq(c.workers, 1);
}

/* ---- asynchronous starts from a plain actor pinned to scheduler 1 (an HTTP listener) ---- */

typedef struct {
    act_pid_t sup;
    act_pid_t report;
    int pending;
    int ok;
    int max;
    int other;
} listener_t;

enum { ACCEPT = ACT_MSG_USER + 10 };

static int listener_init(void *state, void *arg)
{
    ((listener_t *)state)->report = TU_PID(arg);
    return 0;
}

static int listener_handle(void *state, act_msg_t *msg)
{
    listener_t *l = state;
    if (msg->type == ACCEPT) {
        tu_int_t *a = (tu_int_t *)msg;
        l->sup = (act_pid_t)a->hdr.ref; /* smuggled in ref by the test */
        for (int64_t i = 1; i <= a->v; i++) {
            /* extra = the "socket", tag = its number; replies for every request */
            int rc = act_sup_start_child_async(l->sup, (void *)(intptr_t)i, ACT_SCHED_SELF,
                                               ACT_SUP_REPLY_ALWAYS, act_self(), (uint64_t)i);
            TU_CHECK(rc == 0);
            l->pending++;
        }
        return 0;
    }
    if (msg->type == ACT_MSG_SUP_STARTED) {
        act_sup_started_t *r = (act_sup_started_t *)msg;
        TU_CHECK(r->hdr.from == l->sup);
        TU_CHECK((uint64_t)(intptr_t)r->extra == r->tag);
        if (r->status == 0)
            l->ok++;
        else if (r->status == ACT_EMAXCHILDREN && r->pid == ACT_PID_NONE)
            l->max++;
        else
            l->other++;
        if (--l->pending == 0) {
            tu_send_int(l->report, TU_RESULT, l->ok);
            tu_send_int(l->report, TU_RESULT, l->max);
            tu_send_int(l->report, TU_RESULT, l->other);
        }
    }
    return 0;
}

static const act_behaviour_t listener = {
    .name = "listener", .init = listener_init, .handle = listener_handle};

static act_pid_t spawn_listener(int sched)
{
    act_spawn_opts_t o = {.behaviour = &listener,
                          .state_size = sizeof(listener_t),
                          .arg = TU_ARG(act_self()),
                          .sched = sched};
    act_pid_t pid;
    cr_assert_eq(act_spawn(&o, &pid), 0);
    return pid;
}

static void accept_n(act_pid_t l, act_pid_t sup, int n)
{
    tu_int_t *m = act_msg_new(tu_int_t, ACCEPT);
    m->v = n;
    m->hdr.ref = sup;
    act_send(l, &m->hdr);
}

Test(dynsup, async_start_from_a_pinned_plain_actor_reports_max_children)
{
    act_pid_t sup = dyn_sup(ACT_TEMPORARY, 5);
    act_pid_t l = spawn_listener(ACT_SCHED_ON(1));
    accept_n(l, sup, 8);
    cr_assert_eq(tu_recv_int(TU_RESULT, 3000), 5, "started");
    cr_assert_eq(tu_recv_int(TU_RESULT, 3000), 3, "refused with ACT_EMAXCHILDREN");
    cr_assert_eq(tu_recv_int(TU_RESULT, 3000), 0);
    /* Every child runs pinned to the listener's scheduler. */
    act_child_info_t *info;
    size_t n;
    cr_assert_eq(act_sup_which_children(sup, &info, &n), 0);
    cr_assert_eq(n, 5);
    for (size_t i = 0; i < n; i++) {
        act_info_t ai;
        cr_assert_eq(act_info(info[i].pid, &ai), 0);
        cr_assert(ai.pinned);
        cr_assert_eq(who(info[i].pid) % 100, 1);
    }
    act_free(info);
    cr_assert_eq(tu_failures(), 0);
}

Test(dynsup, async_results_by_policy_and_from_foreign_threads)
{
    act_pid_t sup = dyn_sup(ACT_TEMPORARY, 1);
    act_pid_t self = act_self();
    /* Errors only: a success says nothing, a failure gives the extra back. */
    cr_assert_eq(act_sup_start_child_async(sup, (void *)1, 0, ACT_SUP_REPLY_ERRORS, self, 11), 0);
    cr_assert_eq(act_sup_start_child_async(sup, (void *)2, 0, ACT_SUP_REPLY_ERRORS, self, 12), 0);
    act_msg_t *m;
    cr_assert_eq(act_receive_type(ACT_MSG_SUP_STARTED, MS(2000), &m), 0);
    act_sup_started_t *r = (act_sup_started_t *)m;
    cr_assert_eq(r->status, ACT_EMAXCHILDREN);
    cr_assert_eq(r->tag, 12);
    cr_assert_eq((intptr_t)r->extra, 2);
    act_msg_free(m);
    cr_assert_eq(act_receive_type(ACT_MSG_SUP_STARTED, 50, &m), ACT_ETIMEDOUT);
    /* No reply: a failure is reported instead of dropped silently. */
    cr_assert_eq(act_sup_start_child_async(sup, (void *)3, 0, ACT_SUP_REPLY_NONE, 0, 0), 0);
    cr_assert(otp_wait_report(ACT_REPORT_START_FAILED, "ACT_EMAXCHILDREN", 2000));
    /* A static supervisor refuses, clearly. */
    static const act_child_spec_t kids[] = {{ACT_SERVER_CHILD("w", &otp_worker, OTP_W(1, 0))}};
    act_sup_spec_t spec = {.children = kids, .nchildren = 1};
    act_pid_t st;
    cr_assert_eq(act_sup_start_link(&spec, &st), 0);
    cr_assert_eq(act_sup_start_child_async(st, (void *)4, 0, ACT_SUP_REPLY_ALWAYS, self, 14), 0);
    cr_assert_eq(act_receive_type(ACT_MSG_SUP_STARTED, MS(2000), &m), 0);
    cr_assert_eq(((act_sup_started_t *)m)->status, ACT_ENOTSUP);
    act_msg_free(m);
    /* Bad requests. */
    cr_assert_eq(act_sup_start_child_async(sup, NULL, 0, 9, self, 0), ACT_EBADARG);
    cr_assert_eq(act_sup_start_child_async(ACT_PID_NONE, NULL, 0, 0, self, 0), ACT_EBADARG);
    act_exit(st, ACT_KILL);
    cr_assert(tu_wait_dead(st, 2000));
    cr_assert_eq(act_sup_start_child_async(st, NULL, 0, 0, self, 0), ACT_ENOPROC);
}

Test(dynsup, requests_a_dead_supervisor_never_took_come_back)
{
    /* Requests queued behind a slow start when the supervisor is killed: each comes back to
     * its requester with ACT_ENOPROC and its extra (a socket to close), whatever the policy
     * (except none); one sent after the death fails at once. */
    act_pid_t sup = dyn_sup(ACT_TEMPORARY, 0);
    act_pid_t self = act_self();
    cr_assert_eq(act_sup_start_child_async(sup, (void *)(intptr_t)SLOW_START, 0, ACT_SUP_REPLY_NONE,
                                           self, 0),
                 0);
    for (intptr_t i = 1; i <= 5; i++)
        cr_assert_eq(act_sup_start_child_async(sup, (void *)i, 0,
                                               i % 2 ? ACT_SUP_REPLY_ERRORS : ACT_SUP_REPLY_ALWAYS,
                                               self, (uint64_t)(10 + i)),
                     0);
    cr_assert_eq(act_sup_start_child_async(sup, (void *)6, 0, ACT_SUP_REPLY_NONE, self, 16), 0);
    usleep(50000); /* the supervisor is in the slow start, the others wait in its mailbox */
    act_exit(sup, ACT_KILL);
    cr_assert(tu_wait_dead(sup, 2000));
    for (intptr_t i = 1; i <= 5; i++) {
        act_msg_t *m;
        cr_assert_eq(act_receive_type(ACT_MSG_SUP_STARTED, MS(2000), &m), 0, "request %ld",
                     (long)i);
        act_sup_started_t *r = (act_sup_started_t *)m;
        cr_expect_eq(r->status, ACT_ENOPROC);
        cr_expect_eq(r->pid, ACT_PID_NONE);
        cr_expect_eq((intptr_t)r->extra, i, "in the order sent");
        cr_expect_eq(r->tag, (uint64_t)(10 + i));
        act_msg_free(m);
    }
    act_msg_t *m;
    cr_assert_eq(act_receive_type(ACT_MSG_SUP_STARTED, 100, &m), ACT_ETIMEDOUT,
                 "no answer for the start under way nor for a request that asked for none");
    cr_assert_eq(act_sup_start_child_async(sup, (void *)7, 0, ACT_SUP_REPLY_ERRORS, self, 17),
                 ACT_ENOPROC);
}

Test(dynsup, restart_types_of_dynamic_children)
{
    /* Permanent children come back with the same argument; temporary ones are forgotten. */
    act_pid_t perm = dyn_sup(ACT_PERMANENT, 0);
    act_pid_t a;
    cr_assert_eq(act_sup_start_child(perm, (void *)5, ACT_SCHED_ON(0), &a), 0);
    quit(a, ACT_NORMAL);
    act_child_info_t *info;
    size_t n;
    act_pid_t a2 = ACT_PID_NONE;
    for (int i = 0; i < 2000 && !a2; i++) {
        cr_assert_eq(act_sup_which_children(perm, &info, &n), 0);
        if (n == 1 && info[0].pid != a) {
            a2 = info[0].pid;
            cr_assert_eq(info[0].restarts, 1);
        }
        act_free(info);
        usleep(1000);
    }
    cr_assert_neq(a2, ACT_PID_NONE);
    cr_assert_eq(who(a2), 500, "same argument, same scheduler");

    act_pid_t tr = dyn_sup(ACT_TRANSIENT, 0);
    act_pid_t t;
    cr_assert_eq(act_sup_start_child(tr, (void *)6, 0, &t), 0);
    quit(t, ACT_SHUTDOWN);
    cr_assert(tu_wait_dead(t, 2000));
    usleep(20 * 1000);
    act_child_counts_t c;
    cr_assert_eq(act_sup_count_children(tr, &c), 0);
    cr_assert_eq(c.workers, 0, "transient, normal exit: forgotten");
    cr_assert_eq(act_sup_start_child(tr, (void *)6, 0, &t), 0);
    quit(t, ACT_CRASH);
    for (int i = 0; i < 2000; i++) {
        cr_assert_eq(act_sup_count_children(tr, &c), 0);
        if (c.active == 1 && otp_reports(ACT_REPORT_CHILD_EXIT, "restarting") == 1)
            break;
        usleep(1000);
    }
    cr_assert_eq(c.active, 1, "transient, abnormal exit: restarted");

    act_pid_t tmp = dyn_sup(ACT_TEMPORARY, 0);
    cr_assert_eq(act_sup_start_child(tmp, (void *)7, 0, &t), 0);
    quit(t, ACT_CRASH);
    cr_assert(tu_wait_dead(t, 2000));
    usleep(20 * 1000);
    cr_assert_eq(act_sup_count_children(tmp, &c), 0);
    cr_assert_eq(c.workers, 0);
}

Test(dynsup, ten_thousand_children)
{
    act_report_set(act_report_silent, NULL);
    int n = TU_SCALED(10000, 10000);
    act_pid_t sup = dyn_sup(ACT_TEMPORARY, 0);
    act_pid_t *pids = act_malloc((size_t)n * sizeof *pids);
    int64_t t0 = act_now_ms();
    for (int i = 0; i < n; i++)
        cr_assert_eq(act_sup_start_child(sup, (void *)(intptr_t)i, 0, &pids[i]), 0);
    int64_t t1 = act_now_ms();
    act_child_counts_t c;
    cr_assert_eq(act_sup_count_children(sup, &c), 0);
    cr_assert_eq(c.active, (size_t)n);
    act_child_info_t *info;
    size_t k;
    cr_assert_eq(act_sup_which_children(sup, &info, &k), 0);
    cr_assert_eq(k, (size_t)n);
    act_free(info);
    /* Half of them exit: found and forgotten in O(1) each. */
    for (int i = 0; i < n; i += 2)
        quit(pids[i], ACT_NORMAL);
    for (int i = 0; i < 5000; i++) {
        cr_assert_eq(act_sup_count_children(sup, &c), 0);
        if (c.active == (size_t)(n / 2))
            break;
        usleep(1000);
    }
    cr_assert_eq(c.active, (size_t)(n / 2));
    cr_assert_eq(c.workers, (size_t)(n / 2));
    /* Stopping the supervisor stops the rest at once. */
    int64_t t2 = act_now_ms();
    cr_assert_eq(act_sup_stop(sup, MS(10000)), 0);
    int64_t t3 = act_now_ms();
    for (int i = 1; i < n; i += 2)
        cr_assert_not(act_is_alive(pids[i]));
    cr_log_info("%d starts in %lld ms, stop of %d in %lld ms", n, (long long)(t1 - t0), n / 2,
                (long long)(t3 - t2));
    act_free(pids);
}

Test(dynsup, churn_from_plain_actors)
{
    /* Many short-lived children started asynchronously: nothing accumulates. */
    act_report_set(act_report_silent, NULL);
    act_pid_t sup = dyn_sup(ACT_TEMPORARY, 0);
    act_pid_t l = spawn_listener(ACT_SCHED_ON(0));
    int rounds = TU_SCALED(20, 5);
    for (int r = 0; r < rounds; r++) {
        accept_n(l, sup, 500);
        cr_assert_eq(tu_recv_int(TU_RESULT, 5000), 500 * (r + 1));
        tu_recv_int(TU_RESULT, 1000);
        tu_recv_int(TU_RESULT, 1000);
        act_child_info_t *info;
        size_t n;
        cr_assert_eq(act_sup_which_children(sup, &info, &n), 0);
        for (size_t i = 0; i < n; i++)
            quit(info[i].pid, ACT_NORMAL);
        act_free(info);
    }
    act_child_counts_t c;
    for (int i = 0; i < 5000; i++) {
        cr_assert_eq(act_sup_count_children(sup, &c), 0);
        if (c.workers == 0)
            break;
        usleep(1000);
    }
    cr_assert_eq(c.workers, 0);
    cr_assert_eq(tu_failures(), 0);
}

Test(dynsup, children_that_ignore_shutdown_are_killed_together)
{
    act_child_spec_t tmpl[] = {
        {ACT_WORKER_CHILD("stubborn", otp_stubborn_start, (void *)1), .shutdown = 100}};
    act_sup_spec_t spec = {.strategy = ACT_SIMPLE_ONE_FOR_ONE, .children = tmpl, .nchildren = 1};
    act_pid_t sup;
    cr_assert_eq(act_sup_start_link(&spec, &sup), 0);
    for (int i = 0; i < 20; i++)
        cr_assert_eq(act_sup_start_child(sup, NULL, 0, NULL), 0);
    int64_t t0 = act_now_ms();
    cr_assert_eq(act_sup_stop(sup, MS(5000)), 0);
    int64_t took = act_now_ms() - t0;
    cr_assert_geq(took, 95);
    cr_assert_lt(took, 1500, "one timeout for all, not one each (20 x 100 ms)");
    cr_assert_eq(otp_reports(ACT_REPORT_SHUTDOWN_KILL, "20 children"), 1);
    cr_assert(otp_log_wait(40, 2000));
}

/* A dynamic supervisor killed while it waits for its children to stop (their shutdown time not
 * over) frees what that wait holds: nothing leaks (tu_stop counts the blocks). The HTTP
 * server's connection supervisor met this when its listener was killed during a stop. */
Test(dynsup, killed_while_stopping_its_children_leaks_nothing)
{
    act_child_spec_t tmpl[] = {
        {ACT_WORKER_CHILD("stubborn", otp_stubborn_start, (void *)1), .shutdown = MS(10000)}};
    act_sup_spec_t spec = {.strategy = ACT_SIMPLE_ONE_FOR_ONE, .children = tmpl, .nchildren = 1};
    act_pid_t sup;
    cr_assert_eq(act_sup_start_link(&spec, &sup), 0);
    for (int i = 0; i < 8; i++) /* past the map's inline entry: its arrays are allocated */
        cr_assert_eq(act_sup_start_child(sup, NULL, 0, NULL), 0);
    act_ref_t ref;
    cr_assert_eq(act_monitor(sup, &ref), 0);
    act_exit(sup, ACT_SHUTDOWN); /* from its parent: it stops its children and waits */
    usleep(200000);              /* into that wait (if not yet, the test is only weaker) */
    act_exit(sup, ACT_KILL);
    act_msg_t *m;
    cr_assert_eq(act_receive_type(ACT_MSG_DOWN, MS(5000), &m), 0);
    act_msg_free(m);
}
