/*
 * Links: spawn with .link, act_link/act_unlink, exit propagation along chains, normal exits
 * that do not propagate, trap_exit, links to dead or dying actors (noproc), and foreign-thread
 * proxies, which always trap.
 */
#include "test_util.h"

TestSuite(link, .init = tu_start2, .fini = tu_stop, .timeout = TMO(30));

/* Links a to b from a's side and waits until both ends hold the link (b handled it). */
static void link_pair(act_pid_t a, act_pid_t b)
{
    tu_cmd(a, TU_OP_LINK, 0, b);
    cr_assert_eq(tu_recv_int(TU_RESULT, 5000), 0);
    /* a sent LINK to b before it answered us, so b's mailbox holds LINK before this ping. */
    tu_cmd(b, TU_OP_PING, 0, 0);
    tu_recv_int(TU_PONG, 5000);
}

static size_t links_of(act_pid_t p)
{
    act_info_t info;
    cr_assert_eq(act_info(p, &info), 0);
    return info.links;
}

Test(link, spawn_link_from_a_thread_delivers_the_exit_as_a_message)
{
    act_pid_t p = tu_probe((tu_probe_opts_t){.link = true});
    cr_assert_eq(links_of(p), 1u);
    cr_assert_eq(links_of(act_self()), 1u);
    tu_cmd(p, TU_OP_RETURN, -EIO, 0);
    act_down_t *d = tu_recv_down(ACT_MSG_EXIT, 5000);
    cr_assert_eq(d->pid, p);
    cr_assert_eq(d->reason, -EIO);
    act_msg_free(&d->hdr);
    cr_assert_eq(links_of(act_self()), 0u, "the link is gone with the exit");
}

Test(link, abnormal_exit_propagates_along_a_chain)
{
    /* test -mon-> each; chain: p0 - p1 - p2 - p3 (links); p3 crashes, all die with its reason. */
    enum { N = 4 };
    act_pid_t p[N];
    act_ref_t ref[N];
    for (int i = 0; i < N; i++)
        p[i] = tu_probe((tu_probe_opts_t){.monitor = &ref[i], .fiber = i % 2 == 1});
    for (int i = 0; i + 1 < N; i++)
        link_pair(p[i], p[i + 1]);
    tu_cmd(p[N - 1], TU_OP_FAILF, ACT_REASON_USER + 42, 0);
    bool seen[N] = {false};
    for (int i = 0; i < N; i++) {
        act_down_t *d = tu_recv_down(ACT_MSG_DOWN, 5000);
        int k = -1;
        for (int j = 0; j < N; j++)
            if (d->hdr.ref == ref[j])
                k = j;
        cr_assert_geq(k, 0);
        cr_assert_not(seen[k]);
        seen[k] = true;
        cr_assert_eq(d->reason, ACT_REASON_USER + 42, "p%d died with %s", k,
                     act_reason_str(d->reason));
        /* The text travels with the exit signal too. */
        cr_assert_str_eq(d->text, "failf 298");
        act_msg_free(&d->hdr);
    }
}

Test(link, normal_exit_does_not_kill_linked_actor)
{
    for (int fiber = 0; fiber < 2; fiber++) {
        act_pid_t a = tu_probe((tu_probe_opts_t){.fiber = fiber});
        act_pid_t b = tu_probe((tu_probe_opts_t){0});
        link_pair(a, b);
        tu_cmd(b, TU_OP_STOP, ACT_NORMAL, 0);
        cr_assert(tu_wait_dead(b, 5000));
        tu_cmd(a, TU_OP_PING, 5, 0);
        cr_assert_eq(tu_recv_int(TU_PONG, 5000), 5, "a linked actor died of a normal exit");
        cr_assert_eq(links_of(a), 0u, "the exit ended the link");
    }
}

Test(link, trapping_actor_receives_exit_and_lives)
{
    act_pid_t a = tu_probe((tu_probe_opts_t){.trap_exit = true});
    act_pid_t b = tu_probe((tu_probe_opts_t){.fiber = true});
    link_pair(a, b);
    tu_cmd(b, TU_OP_RETURN, ACT_SHUTDOWN, 0);
    tu_seen_t *s = tu_recv_seen(TU_SEEN_EXIT, 5000);
    cr_assert_eq(s->self, a);
    cr_assert_eq(s->pid, b);
    cr_assert_eq(s->reason, ACT_SHUTDOWN);
    act_msg_free(&s->hdr);
    tu_cmd(a, TU_OP_PING, 1, 0);
    cr_assert_eq(tu_recv_int(TU_PONG, 5000), 1);
    /* A normal exit reaches a trapping actor too. */
    act_pid_t c = tu_probe((tu_probe_opts_t){0});
    link_pair(a, c);
    tu_cmd(c, TU_OP_STOP, ACT_NORMAL, 0);
    s = tu_recv_seen(TU_SEEN_EXIT, 5000);
    cr_assert_eq(s->pid, c);
    cr_assert_eq(s->reason, ACT_NORMAL);
    act_msg_free(&s->hdr);
}

Test(link, links_go_both_ways)
{
    act_ref_t ref;
    act_pid_t a = tu_probe((tu_probe_opts_t){0});
    act_pid_t b = tu_probe((tu_probe_opts_t){.monitor = &ref});
    link_pair(a, b);
    cr_assert_eq(links_of(a), 1u);
    cr_assert_eq(links_of(b), 1u);
    /* The linker dies: the linked one follows. */
    act_exit(a, ACT_SHUTDOWN);
    act_down_t *d = tu_recv_down(ACT_MSG_DOWN, 5000);
    cr_assert_eq(d->pid, b);
    cr_assert_eq(d->reason, ACT_SHUTDOWN);
    act_msg_free(&d->hdr);
}

Test(link, kill_propagates_as_killed)
{
    act_pid_t a = tu_probe((tu_probe_opts_t){.trap_exit = true});
    act_pid_t b = tu_probe((tu_probe_opts_t){0});
    link_pair(a, b);
    act_exit(b, ACT_KILL);
    tu_seen_t *s = tu_recv_seen(TU_SEEN_EXIT, 5000);
    cr_assert_eq(s->reason, ACT_KILLED, "a linked actor learns `killed`, not `kill`");
    act_msg_free(&s->hdr);
}

Test(link, link_to_a_dead_pid_is_noproc)
{
    act_pid_t p = tu_probe((tu_probe_opts_t){0});
    act_exit(p, ACT_KILL);
    cr_assert(tu_wait_dead(p, 5000));
    cr_assert_eq(act_link(p), ACT_ENOPROC);
    cr_assert_eq(links_of(act_self()), 0u);
    /* From an actor as well. */
    act_pid_t a = tu_probe((tu_probe_opts_t){0});
    tu_cmd(a, TU_OP_LINK, 0, p);
    cr_assert_eq(tu_recv_int(TU_RESULT, 5000), ACT_ENOPROC);
    /* Linking to oneself is a no-op. */
    cr_assert_eq(act_link(act_self()), 0);
    cr_assert_eq(links_of(act_self()), 0u);
}

Test(link, link_to_an_actor_dying_before_it_sees_the_link_gives_noproc)
{
    /* The target is stuck in a handler; we link (it is alive), then let it crash before its
     * mailbox reaches our LINK. Its death answers the LINK with an exit signal noproc. */
    act_pid_t p = tu_probe((tu_probe_opts_t){0});
    tu_cmd(p, TU_OP_WAIT_GATE, 0, 0);
    tu_cmd(p, TU_OP_RETURN, -EIO, 0);
    cr_assert_eq(act_link(p), 0);
    atomic_store(&tu_gate, true);
    cr_assert_eq(tu_recv_int(TU_RESULT, 5000), 0);
    act_down_t *d = tu_recv_down(ACT_MSG_EXIT, 5000);
    cr_assert_eq(d->pid, p);
    cr_assert_eq(d->reason, ACT_NOPROC, "got %s", act_reason_str(d->reason));
    act_msg_free(&d->hdr);
    cr_assert_eq(links_of(act_self()), 0u);
}

Test(link, non_trapping_actor_dies_of_noproc_when_its_link_target_was_dying)
{
    act_ref_t ref;
    act_pid_t a = tu_probe((tu_probe_opts_t){.monitor = &ref});
    act_pid_t p = tu_probe((tu_probe_opts_t){0});
    tu_cmd(p, TU_OP_WAIT_GATE, 0, 0);
    tu_cmd(p, TU_OP_RETURN, -EIO, 0);
    tu_cmd(a, TU_OP_LINK, 0, p);
    cr_assert_eq(tu_recv_int(TU_RESULT, 5000), 0);
    atomic_store(&tu_gate, true);
    act_down_t *d = tu_recv_down(ACT_MSG_DOWN, 5000);
    cr_assert_eq(d->pid, a);
    cr_assert_eq(d->reason, ACT_NOPROC);
    act_msg_free(&d->hdr);
}

Test(link, unlink_then_peer_crash_leaves_caller_unaffected)
{
    for (int fiber = 0; fiber < 2; fiber++) {
        /* Non-trapping caller: must not die. */
        act_pid_t a = tu_probe((tu_probe_opts_t){.fiber = fiber});
        act_pid_t b = tu_probe((tu_probe_opts_t){0});
        link_pair(a, b);
        tu_cmd(a, TU_OP_UNLINK, 0, b);
        cr_assert_eq(tu_recv_int(TU_RESULT, 5000), 0);
        cr_assert_eq(links_of(a), 0u);
        /* Crash at once: the UNLINK may still be on its way to b, whose exit signal then
         * reaches a, which must ignore it. */
        act_exit(b, ACT_REASON_USER);
        cr_assert(tu_wait_dead(b, 5000));
        tu_cmd(a, TU_OP_PING, 7, 0);
        cr_assert_eq(tu_recv_int(TU_PONG, 5000), 7);
    }
    /* Trapping caller (this thread): no EXIT message either. */
    act_pid_t b = tu_probe((tu_probe_opts_t){.link = true});
    cr_assert_eq(act_unlink(b), 0);
    cr_assert_eq(act_unlink(b), 0, "unlinking twice is harmless");
    tu_cmd(b, TU_OP_RETURN, -EIO, 0);
    cr_assert(tu_wait_dead(b, 5000));
    cr_assert(tu_no_msg(ACT_MSG_EXIT, MS(100)), "an EXIT from an unlinked actor");
}

Test(link, unlink_race_never_delivers_an_exit)
{
    /* Many rounds of link, unlink and an immediate crash, from this (trapping) thread. */
    for (int i = 0; i < TU_SCALED(300, 50); i++) {
        act_pid_t b = tu_probe((tu_probe_opts_t){.link = i % 2 == 0});
        if (i % 2)
            cr_assert_eq(act_link(b), 0);
        act_exit(b, ACT_SHUTDOWN);
        cr_assert_eq(act_unlink(b), 0);
        cr_assert(tu_wait_dead(b, 5000));
    }
    cr_assert(tu_no_msg(ACT_MSG_EXIT, MS(100)));
    cr_assert_eq(links_of(act_self()), 0u);
}

Test(link, many_links_unlinked_in_any_order_deliver_exactly_the_linked_exits)
{
    /* The first link is held inline and the others in a map: unlink and relink across both
     * (first, middle, last), then let every peer exit; only the linked ones are heard of. */
    enum { N = 6 };
    act_pid_t p[N];
    for (int i = 0; i < N; i++) {
        p[i] = tu_probe((tu_probe_opts_t){0});
        cr_assert_eq(act_link(p[i]), 0);
        cr_assert_eq(act_link(p[i]), 0, "linking twice is one link");
    }
    cr_assert_eq(links_of(act_self()), (size_t)N);
    cr_assert_eq(act_unlink(p[0]), 0);
    cr_assert_eq(act_unlink(p[3]), 0);
    cr_assert_eq(act_unlink(p[N - 1]), 0);
    cr_assert_eq(links_of(act_self()), (size_t)N - 3);
    cr_assert_eq(act_link(p[3]), 0); /* relinked: lands where there is room */
    cr_assert_eq(links_of(act_self()), (size_t)N - 2);
    bool linked[N] = {false, true, true, true, true, false};
    for (int i = 0; i < N; i++) {
        tu_cmd(p[i], TU_OP_PING, 0, 0); /* LINK/UNLINK applied before the exit */
        tu_recv_int(TU_PONG, 5000);
        cr_assert_eq(links_of(p[i]), linked[i] ? 1u : 0u, "peer %d", i);
        tu_cmd(p[i], TU_OP_RETURN, -EIO, 0);
        cr_assert(tu_wait_dead(p[i], 5000));
    }
    for (int i = 0; i < N; i++) {
        if (!linked[i])
            continue;
        act_down_t *d = tu_recv_down(ACT_MSG_EXIT, 5000);
        cr_assert_not_null(d);
        bool known = false;
        for (int j = 0; j < N; j++)
            known |= linked[j] && d->pid == p[j];
        cr_assert(known, "an EXIT from an actor we were not linked to");
        cr_assert_eq(d->reason, -EIO);
        act_msg_free(&d->hdr);
    }
    cr_assert(tu_no_msg(ACT_MSG_EXIT, MS(100)), "an EXIT from an unlinked actor");
    cr_assert_eq(links_of(act_self()), 0u);
}

Test(link, foreign_thread_proxies_always_trap_exits)
{
    act_pid_t self = act_self();
    cr_assert_eq(act_trap_exit(false), true, "a proxy traps and cannot stop");
    cr_assert_eq(act_trap_exit(false), true);
    /* kill arrives as a message with reason killed. */
    act_pid_t k = tu_probe((tu_probe_opts_t){0});
    tu_cmd(k, TU_OP_EXIT, ACT_KILL, self);
    act_down_t *d = tu_recv_down(ACT_MSG_EXIT, 5000);
    cr_assert_eq(d->pid, k);
    cr_assert_eq(d->reason, ACT_KILLED);
    act_msg_free(&d->hdr);
    /* Even a kill from the thread to itself. */
    cr_assert_eq(act_exit(self, ACT_KILL), 0);
    d = tu_recv_down(ACT_MSG_EXIT, 5000);
    cr_assert_eq(d->pid, self);
    cr_assert_eq(d->reason, ACT_KILLED);
    act_msg_free(&d->hdr);
    /* And a linked actor's crash. */
    act_pid_t l = tu_probe((tu_probe_opts_t){0});
    cr_assert_eq(act_link(l), 0);
    tu_cmd(l, TU_OP_RETURN, -EPIPE, 0);
    d = tu_recv_down(ACT_MSG_EXIT, 5000);
    cr_assert_eq(d->pid, l);
    cr_assert_eq(d->reason, -EPIPE);
    act_msg_free(&d->hdr);
    cr_assert_eq(act_self(), self, "the proxy survived all of it");
}

/* A thread that links to an actor, then exits: the actor learns, with reason normal. */
static void linker_thread(void *arg, unsigned i)
{
    (void)i;
    act_pid_t p = *(act_pid_t *)arg;
    TU_CHECK(act_link(p) == 0);
    /* Thread exit detaches the proxy. */
}

Test(link, thread_exit_sends_normal_exit_to_linked_actors)
{
    act_pid_t a = tu_probe((tu_probe_opts_t){.trap_exit = true});
    tu_threads(1, linker_thread, &a);
    tu_seen_t *s = tu_recv_seen(TU_SEEN_EXIT, 5000);
    cr_assert_eq(s->self, a);
    cr_assert_eq(s->reason, ACT_NORMAL);
    act_msg_free(&s->hdr);
    cr_assert_eq(links_of(a), 0u);
}
