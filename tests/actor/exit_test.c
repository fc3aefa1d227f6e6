/*
 * Exits with Erlang's rules: exit signals (normal is ignored unless sent to oneself; shutdown
 * and user reasons kill; kill cannot be trapped and becomes killed), trap_exit turning signals
 * into ACT_MSG_EXIT, act_fail/act_failf unwinding plain handlers and fibers, handler errors,
 * act_stop, and terminate running exactly once with the reason.
 */
#include "test_util.h"

TestSuite(exit, .init = tu_start2, .fini = tu_stop, .timeout = TMO(30));

/* Monitors a new probe, makes it exit with command `op`/`v`, and checks its DOWN. */
static void expect_down(tu_probe_opts_t po, int op, int64_t v, int reason, const char *text)
{
    act_ref_t ref;
    po.monitor = &ref;
    act_pid_t pid = tu_probe(po);
    tu_cmd(pid, op, v, ACT_PID_NONE);
    act_down_t *d = tu_recv_down(ACT_MSG_DOWN, 5000);
    cr_assert_eq(d->hdr.ref, ref);
    cr_assert_eq(d->pid, pid);
    cr_assert_eq(d->reason, reason, "reason %d (%s), want %d (%s)", d->reason,
                 act_reason_str(d->reason), reason, act_reason_str(reason));
    cr_assert_str_eq(d->text, text);
    act_msg_free(&d->hdr);
    cr_assert_not(act_is_alive(pid), "DOWN comes after the death");
}

/* ---- exit signals --------------------------------------------------------------------------- */

Test(exit, normal_exit_signal_is_ignored_by_another_actor)
{
    act_pid_t p = tu_probe((tu_probe_opts_t){0});
    cr_assert_eq(act_exit(p, ACT_NORMAL), 0);
    tu_cmd(p, TU_OP_PING, 1, 0);
    cr_assert_eq(tu_recv_int(TU_PONG, 5000), 1, "alive after a normal exit signal");
    cr_assert(act_is_alive(p));
    /* From another actor too. */
    act_pid_t q = tu_probe((tu_probe_opts_t){0});
    tu_cmd(q, TU_OP_EXIT, ACT_NORMAL, p);
    tu_cmd(q, TU_OP_PING, 2, 0);
    cr_assert_eq(tu_recv_int(TU_PONG, 5000), 2);
    tu_cmd(p, TU_OP_PING, 3, 0);
    cr_assert_eq(tu_recv_int(TU_PONG, 5000), 3);
    cr_assert_eq(atomic_load(&tu_probe_terminated), 0);
}

Test(exit, normal_exit_signal_to_self_exits)
{
    act_ref_t ref;
    act_pid_t p = tu_probe((tu_probe_opts_t){.monitor = &ref});
    tu_cmd(p, TU_OP_EXIT, ACT_NORMAL, p);
    act_down_t *d = tu_recv_down(ACT_MSG_DOWN, 5000);
    cr_assert_eq(d->pid, p);
    cr_assert_eq(d->reason, ACT_NORMAL);
    act_msg_free(&d->hdr);
    cr_assert_eq(tu_recv_int(TU_TERMINATED, 5000), ACT_NORMAL);
}

Test(exit, shutdown_and_user_reasons_kill_with_that_reason)
{
    int reasons[] = {ACT_SHUTDOWN, ACT_REASON_USER + 1, -EPIPE};
    for (int i = 0; i < 3; i++) {
        act_ref_t ref;
        act_pid_t p = tu_probe((tu_probe_opts_t){.monitor = &ref});
        cr_assert_eq(act_exit(p, reasons[i]), 0);
        act_msg_t *m;
        cr_assert_eq(act_receive_type(ACT_MSG_DOWN, MS(5000), &m), 0);
        cr_assert_eq(((act_down_t *)m)->reason, reasons[i]);
        cr_assert_eq(m->ref, ref);
        act_msg_free(m);
        cr_assert_eq(tu_recv_int(TU_TERMINATED, 5000), reasons[i]);
    }
}

Test(exit, exit_signal_to_a_dead_pid_is_noproc)
{
    act_pid_t p = tu_probe((tu_probe_opts_t){0});
    cr_assert_eq(act_exit(p, ACT_KILL), 0);
    cr_assert(tu_wait_dead(p, 5000));
    cr_assert_eq(act_exit(p, ACT_SHUTDOWN), ACT_ENOPROC);
}

Test(exit, kill_cannot_be_trapped_and_exits_with_killed)
{
    for (int fiber = 0; fiber < 2; fiber++) {
        act_ref_t ref;
        act_pid_t p =
            tu_probe((tu_probe_opts_t){.fiber = fiber, .trap_exit = true, .monitor = &ref});
        cr_assert_eq(act_exit(p, ACT_KILL), 0);
        act_msg_t *m;
        cr_assert_eq(act_receive_type(ACT_MSG_DOWN, MS(5000), &m), 0);
        cr_assert_eq(((act_down_t *)m)->reason, ACT_KILLED, "fiber=%d: reason %s", fiber,
                     act_reason_str(((act_down_t *)m)->reason));
        act_msg_free(m);
        cr_assert(tu_no_msg(TU_SEEN_EXIT, MS(50)), "a kill was delivered as a message");
        if (!fiber)
            cr_assert_eq(tu_recv_int(TU_TERMINATED, 5000), ACT_KILLED);
    }
}

Test(exit, trapped_exit_signals_become_exit_messages)
{
    for (int fiber = 0; fiber < 2; fiber++) {
        act_pid_t p = tu_probe((tu_probe_opts_t){.fiber = fiber, .trap_exit = true});
        int reasons[] = {ACT_NORMAL, ACT_SHUTDOWN, ACT_REASON_USER + 5};
        for (int i = 0; i < 3; i++) {
            cr_assert_eq(act_exit(p, reasons[i]), 0);
            tu_seen_t *s = tu_recv_seen(TU_SEEN_EXIT, 5000);
            cr_assert_eq(s->self, p);
            cr_assert_eq(s->pid, act_self(), "the EXIT names the signal's sender");
            cr_assert_eq(s->reason, reasons[i]);
            cr_assert_str_eq(s->text, "");
            act_msg_free(&s->hdr);
        }
        /* A trapping actor's signal to itself is a message too. */
        tu_cmd(p, TU_OP_EXIT, ACT_SHUTDOWN, p);
        tu_seen_t *s = tu_recv_seen(TU_SEEN_EXIT, 5000);
        cr_assert_eq(s->pid, p);
        cr_assert_eq(s->reason, ACT_SHUTDOWN);
        act_msg_free(&s->hdr);
        tu_cmd(p, TU_OP_PING, 9, 0);
        cr_assert_eq(tu_recv_int(TU_PONG, 5000), 9, "still alive");
        /* Trapping can be switched off again. */
        tu_cmd(p, TU_OP_TRAP, 0, 0);
        cr_assert_eq(tu_recv_int(TU_RESULT, 5000), 1, "it was trapping");
        act_ref_t ref;
        cr_assert_eq(act_monitor(p, &ref), 0);
        act_exit(p, ACT_SHUTDOWN);
        act_down_t *d = tu_recv_down(ACT_MSG_DOWN, 5000);
        cr_assert_eq(d->reason, ACT_SHUTDOWN);
        act_msg_free(&d->hdr);
    }
}

/* ---- failures from handlers and fibers ------------------------------------------------------ */

Test(exit, act_fail_unwinds_a_plain_handler_with_its_reason)
{
    expect_down((tu_probe_opts_t){0}, TU_OP_FAIL, ACT_REASON_USER + 2, ACT_REASON_USER + 2, "");
    cr_assert_eq(tu_recv_int(TU_TERMINATED, 5000), ACT_REASON_USER + 2);
}

Test(exit, act_failf_text_reaches_monitors_from_a_plain_handler)
{
    expect_down((tu_probe_opts_t){0}, TU_OP_FAILF, ACT_CRASH, ACT_CRASH, "failf 5");
}

Test(exit, act_fail_unwinds_a_fiber_with_its_reason_and_text)
{
    expect_down((tu_probe_opts_t){.fiber = true}, TU_OP_FAIL, ACT_REASON_USER + 3,
                ACT_REASON_USER + 3, "");
    expect_down((tu_probe_opts_t){.fiber = true}, TU_OP_FAILF, ACT_REASON_USER + 4,
                ACT_REASON_USER + 4, "failf 260");
    /* A fiber returning from its function exits normally. */
    expect_down((tu_probe_opts_t){.fiber = true}, TU_OP_STOP, 0, ACT_NORMAL, "");
}

Test(exit, failing_actors_tell_linked_trapping_actors_the_text)
{
    for (int fiber = 0; fiber < 2; fiber++) {
        act_pid_t watcher = tu_probe((tu_probe_opts_t){.trap_exit = true});
        act_pid_t p = tu_probe((tu_probe_opts_t){.fiber = fiber});
        tu_cmd(watcher, TU_OP_LINK, 0, p);
        cr_assert_eq(tu_recv_int(TU_RESULT, 5000), 0);
        /* The link is set up once p handled it: a ping through p orders that. */
        tu_cmd(p, TU_OP_PING, 0, 0);
        tu_recv_int(TU_PONG, 5000);
        tu_cmd(p, TU_OP_FAILF, ACT_REASON_USER + 9, 0);
        tu_seen_t *s = tu_recv_seen(TU_SEEN_EXIT, 5000);
        cr_assert_eq(s->self, watcher);
        cr_assert_eq(s->pid, p);
        cr_assert_eq(s->reason, ACT_REASON_USER + 9);
        cr_assert_str_eq(s->text, "failf 265");
        act_msg_free(&s->hdr);
    }
}

Test(exit, handler_returning_a_negative_error_exits_with_it)
{
    expect_down((tu_probe_opts_t){0}, TU_OP_RETURN, -ECONNRESET, -ECONNRESET, "");
    cr_assert_eq(tu_recv_int(TU_TERMINATED, 5000), -ECONNRESET);
    cr_assert_str_eq(act_reason_str(-ECONNRESET), act_strerror(-ECONNRESET));
}

Test(exit, act_stop_exits_after_the_message_and_skips_the_rest)
{
    act_ref_t ref;
    act_pid_t p = tu_probe((tu_probe_opts_t){.monitor = &ref});
    tu_cmd(p, TU_OP_PING, 1, 0);
    tu_cmd(p, TU_OP_STOP, ACT_SHUTDOWN, 0);
    tu_cmd(p, TU_OP_PING, 2, 0);
    cr_assert_eq(tu_recv_int(TU_PONG, 5000), 1);
    act_down_t *d = tu_recv_down(ACT_MSG_DOWN, 5000);
    cr_assert_eq(d->reason, ACT_SHUTDOWN);
    act_msg_free(&d->hdr);
    cr_assert(tu_no_msg(TU_PONG, MS(50)), "a message after act_stop was handled");
    /* act_stop(ACT_NORMAL) is a normal exit. */
    expect_down((tu_probe_opts_t){0}, TU_OP_STOP, ACT_NORMAL, ACT_NORMAL, "");
}

Test(exit, terminate_runs_once_with_the_reason_whatever_the_exit)
{
    struct {
        int op;
        int64_t v;
        int reason;
    } ways[] = {
        {TU_OP_STOP, ACT_SHUTDOWN, ACT_SHUTDOWN},
        {TU_OP_RETURN, -EIO, -EIO},
        {TU_OP_FAIL, ACT_REASON_USER, ACT_REASON_USER},
        {TU_OP_FAILF, ACT_CRASH, ACT_CRASH},
        {-1, ACT_KILL, ACT_KILLED},                     /* act_exit(kill) */
        {-1, ACT_REASON_USER + 1, ACT_REASON_USER + 1}, /* act_exit(reason) */
    };
    int n = (int)(sizeof ways / sizeof ways[0]);
    for (int i = 0; i < n; i++) {
        act_ref_t ref;
        act_pid_t p = tu_probe((tu_probe_opts_t){.monitor = &ref});
        if (ways[i].op >= 0) {
            tu_cmd(p, ways[i].op, ways[i].v, 0);
        } else {
            act_exit(p, (int)ways[i].v);
            act_exit(p, (int)ways[i].v); /* a second signal to a dying actor changes nothing */
        }
        cr_assert_eq(tu_recv_int(TU_TERMINATED, 5000), ways[i].reason, "way %d", i);
        act_down_t *d = tu_recv_down(ACT_MSG_DOWN, 5000);
        cr_assert_eq(d->reason, ways[i].reason, "way %d", i);
        act_msg_free(&d->hdr);
    }
    cr_assert(tu_no_msg(TU_TERMINATED, MS(50)));
    cr_assert_eq(atomic_load(&tu_probe_terminated), n, "terminate ran more than once");
}

/* terminate sees the actor still registered and able to send; links learn after it ran. */
static _Atomic int order_log[4];
static _Atomic int order_n;

static int ord_handle(void *state, act_msg_t *msg)
{
    (void)state;
    (void)msg;
    return -EIO;
}

static void ord_terminate(void *state, int reason)
{
    (void)state;
    (void)reason;
    atomic_store(&order_log[atomic_fetch_add(&order_n, 1)], 1);
    /* Still named while terminate runs. */
    TU_CHECK(act_whereis("ord") != ACT_PID_NONE);
}

static const act_behaviour_t ord_beh = {.handle = ord_handle, .terminate = ord_terminate};

Test(exit, terminate_runs_before_links_and_monitors_are_told)
{
    act_ref_t ref;
    act_pid_t p = tu_spawn_plain(&ord_beh, 0, NULL, &ref);
    cr_assert_eq(act_register("ord", p), 0);
    tu_send_int(p, TU_INT, 0);
    act_down_t *d = tu_recv_down(ACT_MSG_DOWN, 5000);
    atomic_store(&order_log[atomic_fetch_add(&order_n, 1)], 2);
    cr_assert_eq(d->reason, -EIO);
    act_msg_free(&d->hdr);
    cr_assert_eq(atomic_load(&order_n), 2);
    cr_assert_eq(atomic_load(&order_log[0]), 1, "DOWN arrived before terminate ran");
    cr_assert_eq(act_whereis("ord"), ACT_PID_NONE, "the name is released at death");
    cr_assert_eq(tu_failures(), 0);
}

/* init failing or stopping: the actor exits with that reason, terminate runs. */
static int init_stop(void *state, void *arg)
{
    (void)state;
    (void)arg;
    return act_stop(ACT_REASON_USER + 11);
}

static int init_fail(void *state, void *arg)
{
    (void)state;
    (void)arg;
    act_failf(ACT_NOSTART, "cannot start");
}

static void count_terminate(void *state, int reason)
{
    (void)state;
    atomic_store(&tu_probe_last_reason, reason);
    atomic_fetch_add(&tu_probe_terminated, 1);
}

Test(exit, init_can_stop_or_fail_the_actor)
{
    static const act_behaviour_t a = {
        .init = init_stop, .handle = ord_handle, .terminate = count_terminate};
    static const act_behaviour_t b = {
        .init = init_fail, .handle = ord_handle, .terminate = count_terminate};
    act_ref_t ref;
    tu_spawn_plain(&a, 0, NULL, &ref);
    act_down_t *d = tu_recv_down(ACT_MSG_DOWN, 5000);
    cr_assert_eq(d->reason, ACT_REASON_USER + 11);
    act_msg_free(&d->hdr);
    tu_spawn_plain(&b, 0, NULL, &ref);
    d = tu_recv_down(ACT_MSG_DOWN, 5000);
    cr_assert_eq(d->hdr.ref, ref);
    cr_assert_eq(d->reason, ACT_NOSTART);
    cr_assert_str_eq(d->text, "cannot start");
    act_msg_free(&d->hdr);
    cr_assert_eq(atomic_load(&tu_probe_terminated), 2);
}

/* An act_fail inside terminate ends terminate, not the death under way (nor the process). */
static _Atomic int after_fail_in_terminate;

static void failing_terminate(void *state, int reason)
{
    (void)state;
    (void)reason;
    atomic_fetch_add(&tu_probe_terminated, 1);
    act_fail(ACT_REASON_USER + 99);
    atomic_store(&after_fail_in_terminate, 1);
}

Test(exit, act_fail_inside_terminate_only_ends_terminate)
{
    static const act_behaviour_t b = {.handle = ord_handle, .terminate = failing_terminate};
    act_ref_t ref;
    act_pid_t p = tu_spawn_plain(&b, 0, NULL, &ref);
    tu_send_int(p, TU_INT, 0);
    act_down_t *d = tu_recv_down(ACT_MSG_DOWN, 5000);
    cr_assert_eq(d->pid, p);
    cr_assert_eq(d->reason, -EIO, "the reason stays the one the actor died with");
    act_msg_free(&d->hdr);
    cr_assert_eq(atomic_load(&tu_probe_terminated), 1);
    cr_assert_eq(atomic_load(&after_fail_in_terminate), 0);
    /* The scheduler is fine: another actor runs. */
    act_pid_t q = tu_probe((tu_probe_opts_t){0});
    tu_cmd(q, TU_OP_PING, 4, 0);
    cr_assert_eq(tu_recv_int(TU_PONG, 5000), 4);
}

/* ---- a kill overtakes the backlog ----------------------------------------------------------- */

static atomic_int slow_handled; /* messages the slow actors have handled */

static int slow_handle(void *state, act_msg_t *msg)
{
    (void)state;
    (void)msg;
    atomic_fetch_add(&slow_handled, 1);
    usleep(1000);
    return 0;
}

static const act_behaviour_t slow_beh = {.name = "slow", .handle = slow_handle};

static void slow_fiber(void *arg)
{
    (void)arg;
    for (;;) {
        act_msg_t *m;
        if (act_receive(NULL, NULL, ACT_INFINITY, &m) == 0) {
            act_msg_free(m);
            atomic_fetch_add(&slow_handled, 1);
        }
        usleep(1000);
    }
}

Test(exit, kill_lands_ahead_of_a_message_backlog)
{
    /* 3,000 messages of 1 ms each: handled in order, a kill would wait behind all of them. It
     * is judged by how many were handled before it landed, not by the clock (a loaded machine
     * slows both alike). */
    for (int fiber = 0; fiber < 2; fiber++) {
        atomic_store(&slow_handled, 0);
        act_ref_t ref;
        act_spawn_opts_t o = {.monitor = &ref};
        if (fiber)
            o.fiber = slow_fiber;
        else
            o.behaviour = &slow_beh;
        act_pid_t p;
        cr_assert_eq(act_spawn(&o, &p), 0);
        for (int i = 0; i < 3000; i++)
            tu_send_int(p, TU_INT, i);
        cr_assert_eq(act_exit(p, ACT_KILL), 0);
        act_down_t *d = tu_recv_down(ACT_MSG_DOWN, 30000);
        cr_assert_eq(d->reason, ACT_KILLED);
        act_msg_free(&d->hdr);
        int handled = atomic_load(&slow_handled);
        cr_assert_lt(handled, 1500, "fiber=%d: %d of the 3,000 messages went before the kill",
                     fiber, handled);
    }
}

/* A shutdown signal, by contrast, keeps its place behind the sender's messages. */
Test(exit, other_exit_signals_keep_their_order_with_messages)
{
    act_ref_t ref;
    act_pid_t p;
    act_spawn_opts_t o = {.behaviour = &slow_beh, .monitor = &ref};
    cr_assert_eq(act_spawn(&o, &p), 0);
    for (int i = 0; i < 200; i++)
        tu_send_int(p, TU_INT, i);
    int64_t t0 = act_now_ms();
    cr_assert_eq(act_exit(p, ACT_SHUTDOWN), 0);
    act_down_t *d = tu_recv_down(ACT_MSG_DOWN, 5000);
    cr_assert_eq(d->reason, ACT_SHUTDOWN);
    act_msg_free(&d->hdr);
    cr_assert_geq(act_now_ms() - t0, 150, "the 200 messages before it were handled first");
}
