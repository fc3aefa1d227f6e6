/*
 * Monitors: one DOWN per monitor with ref, pid, reason and text; noproc for a dead pid;
 * act_demonitor (and its FLUSH flag, for fibers and foreign threads); many monitors on one
 * actor; monitors made by spawn options; monitors of foreign threads.
 */
#include <pthread.h>
#include <unistd.h>

#include "test_util.h"

TestSuite(monitor, .init = tu_start2, .fini = tu_stop, .timeout = TMO(30));

Test(monitor, down_carries_ref_pid_reason_and_text)
{
    act_pid_t p = tu_probe((tu_probe_opts_t){0});
    act_ref_t ref = 0;
    cr_assert_eq(act_monitor(p, &ref), 0);
    cr_assert_neq(ref, 0u);
    tu_cmd(p, TU_OP_FAILF, ACT_REASON_USER + 1, 0);
    act_down_t *d = tu_recv_down(ACT_MSG_DOWN, 5000);
    cr_assert_eq(d->hdr.type, ACT_MSG_DOWN);
    cr_assert_eq(d->hdr.ref, ref);
    cr_assert_eq(d->pid, p);
    cr_assert_eq(d->reason, ACT_REASON_USER + 1);
    cr_assert_str_eq(d->text, "failf 257");
    act_msg_free(&d->hdr);
    cr_assert(tu_no_msg(ACT_MSG_DOWN, MS(50)), "one DOWN per monitor");
}

Test(monitor, monitoring_a_dead_pid_gives_noproc_at_once)
{
    act_pid_t p = tu_probe((tu_probe_opts_t){0});
    act_exit(p, ACT_KILL);
    cr_assert(tu_wait_dead(p, 5000));
    act_ref_t ref;
    cr_assert_eq(act_monitor(p, &ref), 0);
    act_down_t *d = tu_recv_down(ACT_MSG_DOWN, 5000);
    cr_assert_eq(d->hdr.ref, ref);
    cr_assert_eq(d->pid, p);
    cr_assert_eq(d->reason, ACT_NOPROC);
    act_msg_free(&d->hdr);
    /* ACT_PID_NONE and pids that never existed too. */
    act_pid_t never[] = {ACT_PID_NONE, ((act_pid_t)99 << 32) | 12345, 0xffffffffffffffffull};
    for (int i = 0; i < 3; i++) {
        cr_assert_eq(act_monitor(never[i], &ref), 0);
        d = tu_recv_down(ACT_MSG_DOWN, 5000);
        cr_assert_eq(d->hdr.ref, ref);
        cr_assert_eq(d->reason, ACT_NOPROC);
        act_msg_free(&d->hdr);
    }
}

Test(monitor, monitor_of_an_actor_dying_before_it_sees_the_request_gives_noproc)
{
    act_pid_t p = tu_probe((tu_probe_opts_t){0});
    tu_cmd(p, TU_OP_WAIT_GATE, 0, 0);
    tu_cmd(p, TU_OP_RETURN, -EIO, 0);
    act_ref_t ref;
    cr_assert_eq(act_monitor(p, &ref), 0);
    atomic_store(&tu_gate, true);
    act_down_t *d = tu_recv_down(ACT_MSG_DOWN, 5000);
    cr_assert_eq(d->hdr.ref, ref);
    cr_assert_eq(d->reason, ACT_NOPROC);
    act_msg_free(&d->hdr);
}

Test(monitor, demonitor_prevents_the_down)
{
    act_pid_t p = tu_probe((tu_probe_opts_t){0});
    act_ref_t ref;
    cr_assert_eq(act_monitor(p, &ref), 0);
    cr_assert_eq(act_demonitor(ref, 0), 0);
    cr_assert_eq(act_demonitor(ref, 0), ACT_ENOMONITOR, "already removed");
    act_exit(p, ACT_SHUTDOWN);
    cr_assert(tu_wait_dead(p, 5000));
    cr_assert(tu_no_msg(ACT_MSG_DOWN, MS(100)));
    cr_assert_eq(act_demonitor(12345, 0), ACT_ENOMONITOR);
}

Test(monitor, plain_actor_never_sees_a_down_it_demonitored)
{
    /* The DOWN is already queued behind the handler that demonitors. */
    act_pid_t w = tu_probe((tu_probe_opts_t){.sched = ACT_SCHED_ON(0)});
    act_pid_t t = tu_probe((tu_probe_opts_t){.sched = ACT_SCHED_ON(1)});
    tu_cmd(w, TU_OP_MONITOR, 0, t);
    act_ref_t ref = (act_ref_t)tu_recv_int(TU_RESULT, 5000);
    tu_cmd(w, TU_OP_GATED_DEMONITOR, (int64_t)ref, 0);
    act_exit(t, ACT_KILL);
    cr_assert(tu_wait_dead(t, 5000));
    usleep(MS(20) * 1000); /* the DOWN lands in w's mailbox */
    atomic_store(&tu_gate, true);
    cr_assert_eq(tu_recv_int(TU_RESULT, 5000), 0, "the monitor was still in place");
    cr_assert(tu_no_msg(TU_SEEN_DOWN, MS(100)), "a removed monitor's DOWN reached the handler");
    act_info_t info;
    cr_assert_eq(act_info(w, &info), 0);
    cr_assert_eq(info.monitors, 0u);
}

Test(monitor, demonitor_flush_racing_with_death_never_leaves_a_down)
{
    /* Demonitor with FLUSH racing with the target's death (before it, while the DOWN is on
     * its way, after it is queued): no DOWN for a removed monitor is ever received. */
    for (int i = 0; i < TU_SCALED(300, 50); i++) {
        act_pid_t p = tu_probe((tu_probe_opts_t){0});
        act_ref_t ref;
        cr_assert_eq(act_monitor(p, &ref), 0);
        act_exit(p, ACT_KILL);
        if (i % 3 == 1)
            cr_assert(tu_wait_dead(p, 5000));
        int rc = act_demonitor(ref, ACT_DEMONITOR_FLUSH);
        cr_assert(rc == 0 || rc == ACT_ENOMONITOR);
    }
    cr_assert(tu_no_msg(ACT_MSG_DOWN, MS(100)), "a DOWN survived demonitor with FLUSH");
}

/* Receives until the DOWN with *ref has been taken out of the mailbox into the save queue
 * (the match looks at every message and takes none). */
static bool saw_down(const act_msg_t *m, void *arg)
{
    if (m->type == ACT_MSG_DOWN && m->ref == *(act_ref_t *)arg)
        *(act_ref_t *)arg = 0;
    return false;
}

static bool down_saved(act_ref_t ref)
{
    int64_t end = act_now_ms() + MS(5000);
    while (ref != 0 && act_now_ms() < end) {
        act_msg_t *m;
        act_receive(saw_down, &ref, 1, &m);
    }
    return ref == 0;
}

Test(monitor, demonitor_flush_removes_a_queued_down_on_a_thread)
{
    /* The DOWN is in the mailbox, not yet looked at. */
    act_pid_t p = tu_probe((tu_probe_opts_t){0});
    act_ref_t ref;
    cr_assert_eq(act_monitor(p, &ref), 0);
    act_exit(p, ACT_KILL);
    cr_assert(tu_wait_dead(p, 5000));
    /* The DOWN is sent right after the death is visible; give it ample time to land. If it
     * were still on its way, demonitor would drop it on arrival: the checks hold either way. */
    usleep(MS(20) * 1000);
    cr_assert_eq(act_demonitor(ref, ACT_DEMONITOR_FLUSH), 0);
    cr_assert(tu_no_msg(ACT_MSG_DOWN, MS(100)));

    /* The DOWN was already taken out of the mailbox by a receive for something else (kept
     * in the save queue): the monitor is gone, and FLUSH still removes it. */
    p = tu_probe((tu_probe_opts_t){0});
    cr_assert_eq(act_monitor(p, &ref), 0);
    act_exit(p, ACT_KILL);
    cr_assert(down_saved(ref));
    cr_assert_eq(act_demonitor(ref, ACT_DEMONITOR_FLUSH), ACT_ENOMONITOR);
    cr_assert(tu_no_msg(ACT_MSG_DOWN, MS(100)));
}

/* A fiber that monitors, waits until the DOWN is queued, demonitors with flush, then reports
 * whether any DOWN can still be received. */
static void flush_fiber(void *arg)
{
    act_pid_t report = TU_PID(arg);
    int bad = 0;
    for (int round = 0; round < 2; round++) {
        /* The target runs on the other scheduler: this fiber spins on its own without
         * receiving (a receive or a sleep would take the DOWN out of the mailbox). */
        act_pid_t p = tu_probe((tu_probe_opts_t){.sched = ACT_SCHED_ON(1 - act_sched_self())});
        act_ref_t ref;
        act_monitor(p, &ref);
        act_exit(p, ACT_KILL);
        if (round == 0) {
            int64_t end = act_now_ms() + MS(5000);
            while (act_is_alive(p) && act_now_ms() < end)
                usleep(100);
            usleep(MS(20) * 1000); /* the DOWN lands (if it were late, it is dropped) */
        } else {
            TU_CHECK(down_saved(ref)); /* the DOWN waits in the save queue */
        }
        int rc = act_demonitor(ref, ACT_DEMONITOR_FLUSH);
        bad += !TU_CHECK(rc == (round == 0 ? 0 : ACT_ENOMONITOR));
        act_msg_t *m;
        if (act_receive_type(ACT_MSG_DOWN, MS(50), &m) == 0) {
            bad++;
            act_msg_free(m);
        }
    }
    tu_send_int(report, TU_RESULT, bad);
}

Test(monitor, demonitor_flush_removes_a_queued_down_in_a_fiber)
{
    tu_spawn_fiber(flush_fiber, TU_ARG(act_self()), NULL);
    cr_assert_eq(tu_recv_int(TU_RESULT, 10000), 0);
}

Test(monitor, many_monitors_on_one_actor_each_get_their_down)
{
    enum { N = 1000 };
    act_pid_t p = tu_probe((tu_probe_opts_t){0});
    static act_ref_t refs[N];
    for (int i = 0; i < N; i++) {
        cr_assert_eq(act_monitor(p, &refs[i]), 0);
        for (int j = 0; j < i; j += 97)
            cr_assert_neq(refs[i], refs[j], "refs are unique");
    }
    act_info_t info;
    cr_assert_eq(act_info(act_self(), &info), 0);
    cr_assert_eq(info.monitors, (size_t)N);
    /* Half of them removed again. */
    for (int i = 0; i < N; i += 2)
        cr_assert_eq(act_demonitor(refs[i], 0), 0);
    act_exit(p, ACT_REASON_USER);
    static bool seen[N];
    for (int k = 0; k < N / 2; k++) {
        act_down_t *d = tu_recv_down(ACT_MSG_DOWN, 5000);
        int found = -1;
        for (int i = 1; i < N; i += 2)
            if (refs[i] == d->hdr.ref)
                found = i;
        cr_assert_geq(found, 0, "a DOWN for an unknown or removed monitor");
        cr_assert_not(seen[found], "two DOWNs for one monitor");
        seen[found] = true;
        cr_assert_eq(d->reason, ACT_REASON_USER);
        act_msg_free(&d->hdr);
    }
    cr_assert(tu_no_msg(ACT_MSG_DOWN, MS(100)));
    cr_assert_eq(act_info(act_self(), &info), 0);
    cr_assert_eq(info.monitors, 0u);
}

Test(monitor, many_watchers_each_get_their_down)
{
    enum { N = 50 };
    act_pid_t target = tu_probe((tu_probe_opts_t){0});
    act_pid_t w[N];
    for (int i = 0; i < N; i++) {
        w[i] = tu_probe((tu_probe_opts_t){.fiber = i % 2});
        tu_cmd(w[i], TU_OP_MONITOR, 0, target);
        cr_assert_gt(tu_recv_int(TU_RESULT, 5000), 0);
    }
    /* The MONITOR requests are queued before this ping, so the target holds them all. */
    tu_cmd(target, TU_OP_PING, 0, 0);
    tu_recv_int(TU_PONG, 5000);
    tu_cmd(target, TU_OP_FAILF, ACT_REASON_USER + 2, 0);
    bool seen[N] = {false};
    for (int k = 0; k < N; k++) {
        tu_seen_t *s = tu_recv_seen(TU_SEEN_DOWN, 5000);
        int found = -1;
        for (int i = 0; i < N; i++)
            if (w[i] == s->self)
                found = i;
        cr_assert_geq(found, 0);
        cr_assert_not(seen[found]);
        seen[found] = true;
        cr_assert_eq(s->pid, target);
        cr_assert_eq(s->reason, ACT_REASON_USER + 2);
        cr_assert_str_eq(s->text, "failf 258");
        act_msg_free(&s->hdr);
    }
}

Test(monitor, spawn_option_monitors_atomically)
{
    /* Even an actor that dies in its first turn is seen with its real reason, not noproc. */
    for (int i = 0; i < 100; i++) {
        act_ref_t ref = 0;
        act_pid_t p = tu_probe((tu_probe_opts_t){.monitor = &ref, .fiber = i % 2});
        cr_assert_neq(ref, 0u);
        act_exit(p, ACT_SHUTDOWN);
        act_down_t *d = tu_recv_down(ACT_MSG_DOWN, 5000);
        cr_assert_eq(d->hdr.ref, ref);
        cr_assert_eq(d->pid, p);
        cr_assert_eq(d->reason, ACT_SHUTDOWN);
        act_msg_free(&d->hdr);
    }
}

Test(monitor, dead_watchers_leave_nothing_behind)
{
    /* Watchers die first; the target's later death sends to nobody. tu_stop checks leaks, in
     * the body. */
    act_pid_t target = tu_probe((tu_probe_opts_t){0});
    for (int i = 0; i < 20; i++) {
        act_pid_t w = tu_probe((tu_probe_opts_t){0});
        tu_cmd(w, TU_OP_MONITOR, 0, target);
        tu_recv_int(TU_RESULT, 5000);
        act_exit(w, ACT_KILL);
        cr_assert(tu_wait_dead(w, 5000));
    }
    act_ref_t ref;
    cr_assert_eq(act_monitor(target, &ref), 0);
    act_exit(target, ACT_SHUTDOWN);
    act_down_t *d = tu_recv_down(ACT_MSG_DOWN, 5000);
    cr_assert_eq(d->hdr.ref, ref);
    act_msg_free(&d->hdr);
    tu_stop();
}

static void *monitored_thread(void *arg)
{
    act_pid_t test = *(act_pid_t *)arg;
    /* Introduce itself (the message names its proxy once it has one), wait to be monitored,
     * exit. */
    act_self();
    act_send(test, act_msg_alloc(sizeof(act_msg_t), TU_PING));
    act_msg_t *m;
    if (TU_CHECK(act_receive_type(TU_PONG, MS(5000), &m) == 0))
        act_msg_free(m);
    return NULL;
}

Test(monitor, foreign_thread_exit_is_a_normal_down)
{
    act_pid_t self = act_self();
    pthread_t th;
    cr_assert_eq(pthread_create(&th, NULL, monitored_thread, &self), 0);
    act_msg_t *m;
    cr_assert_eq(act_receive_type(TU_PING, MS(5000), &m), 0);
    act_pid_t proxy = m->from;
    act_msg_free(m);
    cr_assert_neq(proxy, ACT_PID_NONE);
    act_ref_t ref;
    cr_assert_eq(act_monitor(proxy, &ref), 0);
    act_send(proxy, act_msg_alloc(sizeof(act_msg_t), TU_PONG));
    act_down_t *d = tu_recv_down(ACT_MSG_DOWN, 5000);
    cr_assert_eq(d->hdr.ref, ref);
    cr_assert_eq(d->pid, proxy);
    cr_assert_eq(d->reason, ACT_NORMAL);
    act_msg_free(&d->hdr);
    pthread_join(th, NULL);
    cr_assert_not(act_is_alive(proxy));
}
