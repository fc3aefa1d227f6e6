/*
 * Erlang/OTP's erts process_SUITE and monitor_SUITE (erts/emulator/test/), ported: each test is
 * named after the OTP case it follows and checks the same rule of exits, links and monitors
 * through actor.h. Exit reasons are ints with a text (OTP's are terms): a "big reason" is a
 * long act_failf text, which arrives cut at 511 bytes (act_failure_t.text's size).
 */
#include <string.h>

#include "otp_util.h"

#define TEXT_MAX sizeof(((act_failure_t *)0)->text)

TestSuite(otp_suite_proc, .init = otp_start, .fini = tu_stop, .timeout = TMO(60));

enum { GO = ACT_MSG_USER + 4000, REF_MSG, RESULT_MSG };

#define FOO (ACT_REASON_USER + 1)
#define FROP (ACT_REASON_USER + 2)
#define DIE (ACT_REASON_USER + 3)
#define FIRST (ACT_REASON_USER + 4)
#define SECOND (ACT_REASON_USER + 5)

static bool match_exit_of(const act_msg_t *m, void *arg)
{
    return m->type == ACT_MSG_EXIT && ((const act_down_t *)m)->pid == *(const act_pid_t *)arg;
}

/* The EXIT of pid, within 5 s (scaled); the caller frees it. */
static act_down_t *recv_exit_of(act_pid_t pid)
{
    act_msg_t *m = NULL;
    int rc = act_receive(match_exit_of, &pid, MS(5000), &m);
    cr_assert_eq(rc, 0, "no EXIT from the pid");
    return (act_down_t *)m;
}

static void expect_exit(act_pid_t pid, int reason)
{
    act_down_t *d = recv_exit_of(pid);
    cr_assert_eq(d->reason, reason, "exit reason %s, expected %s", act_reason_str(d->reason),
                 act_reason_str(reason));
    act_msg_free(&d->hdr);
}

static bool match_down_ref(const act_msg_t *m, void *arg)
{
    return m->type == ACT_MSG_DOWN && m->ref == *(const act_ref_t *)arg;
}

static void expect_down(act_ref_t ref, act_pid_t pid, int reason)
{
    act_msg_t *m = NULL;
    cr_assert_eq(act_receive(match_down_ref, &ref, MS(5000), &m), 0, "no DOWN");
    act_down_t *d = (act_down_t *)m;
    cr_assert_eq(d->pid, pid);
    cr_assert_eq(d->reason, reason, "DOWN reason %s, expected %s", act_reason_str(d->reason),
                 act_reason_str(reason));
    act_msg_free(m);
}

/* No message of any kind within ms. */
static bool no_message(int64_t ms)
{
    act_msg_t *m = NULL;
    if (act_receive(NULL, NULL, ms, &m) == ACT_ETIMEDOUT)
        return true;
    cr_log_error("unexpected message of type %u", m->type);
    act_msg_free(m);
    return false;
}

static act_pid_t spawn_fiber(act_fiber_fn fn, void *arg, bool link, act_ref_t *mon)
{
    act_pid_t pid;
    act_spawn_opts_t o = {.fiber = fn, .arg = arg, .link = link, .monitor = mon};
    cr_assert_eq(act_spawn(&o, &pid), 0);
    return pid;
}

/* A fiber that waits for a GO for ever (OTP's `receive x -> ok end`). */
static void waiter(void *arg)
{
    (void)arg;
    act_msg_t *m;
    if (act_receive_type(GO, ACT_INFINITY, &m) == 0)
        act_msg_free(m);
}

/* ---- process_SUITE: exit/1, exit/2 ------------------------------------------------------- */

static char big[4096];

static void fail_big(void *arg)
{
    (void)arg;
    act_failf(FOO, "%s", big);
}

/* exit/1 with a big reason: the linked (trapping) parent gets the reason and the text, cut at
 * the documented limit, never overflowing. */
Test(otp_suite_proc, t_exit_1)
{
    memset(big, 'x', sizeof big - 1);
    for (int i = 0; i < 10; i++) {
        act_pid_t pid = spawn_fiber(fail_big, NULL, true, NULL);
        act_down_t *d = recv_exit_of(pid);
        cr_assert_eq(d->reason, FOO);
        cr_assert_eq(strlen(d->text), TEXT_MAX - 1);
        cr_assert_eq(strspn(d->text, "x"), TEXT_MAX - 1);
        act_msg_free(&d->hdr);
    }
}

/* exit/2 from another actor kills a linked, non-trapping actor with that reason. */
Test(otp_suite_proc, t_exit_2_other)
{
    for (int i = 0; i < 10; i++) {
        act_pid_t pid = spawn_fiber(waiter, NULL, true, NULL);
        cr_assert_eq(act_exit(pid, FOO), 0);
        expect_exit(pid, FOO);
    }
}

/* exit(Pid, normal) does not kill another actor, and nothing is reported. */
Test(otp_suite_proc, t_exit_2_other_normal)
{
    act_pid_t pid = spawn_fiber(waiter, NULL, true, NULL);
    cr_assert_eq(act_exit(pid, ACT_NORMAL), 0);
    cr_assert(no_message(MS(200)), "exit(Pid, normal) killed it");
    cr_assert(act_is_alive(pid));
    act_exit(pid, ACT_KILL);
    expect_exit(pid, ACT_KILLED);
}

/* A trapping actor receives its own exit/2 as an EXIT message from itself. */
static void self_exit_fiber(void *arg)
{
    act_pid_t parent = TU_PID(arg);
    act_trap_exit(true);
    act_pid_t me = act_self();
    for (int i = 0; i < 200; i++) {
        TU_CHECK(act_exit(me, FOO + i) == 0);
        act_msg_t *m;
        if (!TU_CHECK(act_receive_type(ACT_MSG_EXIT, MS(5000), &m) == 0))
            break;
        act_down_t *d = (act_down_t *)m;
        TU_CHECK(d->pid == me && d->reason == FOO + i);
        act_msg_free(m);
    }
    tu_send_int(parent, RESULT_MSG, 1);
}

Test(otp_suite_proc, self_exit)
{
    act_pid_t pid = spawn_fiber(self_exit_fiber, TU_ARG(act_self()), true, NULL);
    cr_assert_eq(tu_recv_int(RESULT_MSG, 10000), 1);
    expect_exit(pid, ACT_NORMAL);
    cr_assert_eq(tu_failures(), 0);
}

/* exit(self(), normal) ends an actor that does not trap exits, with reason normal. */
static void suicide(void *arg)
{
    act_exit(act_self(), (int)(intptr_t)arg);
    act_yield(); /* the signal lands at the next receive, send, spawn or yield */
    TU_CHECK(!"still alive after exit(self(), Reason)");
}

Test(otp_suite_proc, normal_suicide_exit)
{
    act_pid_t pid = spawn_fiber(suicide, (void *)(intptr_t)ACT_NORMAL, true, NULL);
    expect_exit(pid, ACT_NORMAL);
    cr_assert_eq(tu_failures(), 0);
}

Test(otp_suite_proc, abnormal_suicide_exit)
{
    act_pid_t pid = spawn_fiber(suicide, (void *)(intptr_t)DIE, true, NULL);
    expect_exit(pid, DIE);
    cr_assert_eq(tu_failures(), 0);
}

/* exit(self(), die) is a signal, not an exception: a catch does not stop it. */
static void exit_self_die(void *arg)
{
    (void)arg;
    act_exit(act_self(), DIE);
    act_yield();
}

static void catch_exit_self(void *arg)
{
    (void)arg;
    act_failure_t f;
    act_catch(exit_self_die, NULL, &f);
    /* Returning would exit with normal: the catch worked, which it must not. */
}

Test(otp_suite_proc, t_exit_2_catch)
{
    act_pid_t pid = spawn_fiber(catch_exit_self, NULL, true, NULL);
    expect_exit(pid, DIE);
}

/* An exit signal reaches an actor blocked in a receive with a timeout, and the timeout that
 * was pending does not trouble anything afterwards. */
static void eat_low(void *arg)
{
    (void)arg;
    act_msg_t *m;
    act_receive_type(GO, 2500, &m);
    act_receive(NULL, NULL, 1000, &m);
}

Test(otp_suite_proc, exit_and_timeout)
{
    act_pid_t low = spawn_fiber(eat_low, NULL, true, NULL);
    cr_assert(no_message(100));
    act_exit(low, FOO);
    expect_exit(low, FOO);
    cr_assert(no_message(MS(200)));
}

/* Two exit signals in a row: the actor dies of the first, the second is ignored. */
static void etwice_high(void *arg)
{
    act_pid_t low = TU_PID(arg);
    act_exit(low, FIRST);
    act_exit(low, SECOND);
}

static void spin_low(void *arg)
{
    (void)arg;
    for (;;)
        act_yield();
}

Test(otp_suite_proc, exit_twice)
{
    for (int i = 0; i < 50; i++) {
        act_pid_t low = spawn_fiber(spin_low, NULL, true, NULL);
        act_pid_t high = spawn_fiber(etwice_high, TU_ARG(low), true, NULL);
        expect_exit(low, FIRST);
        expect_exit(high, ACT_NORMAL);
    }
}

/* ---- monitor_SUITE ------------------------------------------------------------------------ */

/* g/1: waits for GO, then kills its parent with foo and exits. */
static void g_kill_parent(void *arg)
{
    act_pid_t parent = TU_PID(arg);
    act_msg_t *m;
    if (act_receive_type(GO, ACT_INFINITY, &m) == 0)
        act_msg_free(m);
    act_exit(parent, FOO);
}

/* A monitors B; B kills A then exits. */
static void case_1_a(void *arg)
{
    bool spawn_monitor = arg != NULL;
    act_ref_t ref;
    act_pid_t b;
    if (spawn_monitor) {
        act_spawn(
            &(act_spawn_opts_t){.fiber = g_kill_parent, .arg = TU_ARG(act_self()), .monitor = &ref},
            &b);
    } else {
        act_spawn(&(act_spawn_opts_t){.fiber = g_kill_parent, .arg = TU_ARG(act_self())}, &b);
        act_monitor(b, &ref);
    }
    tu_send_int(b, GO, 0);
    act_msg_t *m;
    act_receive_type(GO, ACT_INFINITY, &m); /* never comes: B kills us first */
}

Test(otp_suite_proc, case_1)
{
    act_pid_t a = spawn_fiber(case_1_a, NULL, true, NULL);
    expect_exit(a, FOO);
}

Test(otp_suite_proc, case_1a)
{
    act_pid_t a = spawn_fiber(case_1_a, (void *)1, true, NULL);
    expect_exit(a, FOO);
}

/* y2/1: B receives A's monitor ref and tries to demonitor it: the ref is not B's, so it is
 * refused (OTP: badarg) and A's monitor still fires, with normal. */
static void y2(void *arg)
{
    act_pid_t parent = TU_PID(arg);
    act_msg_t *m;
    if (act_receive_type(REF_MSG, ACT_INFINITY, &m) != 0)
        return;
    act_ref_t ref = (act_ref_t)((tu_int_t *)m)->v;
    act_msg_free(m);
    tu_send_int(parent, RESULT_MSG, act_demonitor(ref, 0));
}

static void case_2_with(bool spawn_monitor)
{
    act_ref_t ref;
    act_pid_t b = spawn_monitor ? spawn_fiber(y2, TU_ARG(act_self()), false, &ref)
                                : spawn_fiber(y2, TU_ARG(act_self()), false, NULL);
    if (!spawn_monitor)
        cr_assert_eq(act_monitor(b, &ref), 0);
    tu_send_int(b, REF_MSG, (int64_t)ref);
    cr_assert_eq(tu_recv_int(RESULT_MSG, 5000), ACT_ENOMONITOR);
    expect_down(ref, b, ACT_NORMAL);
}

Test(otp_suite_proc, case_2)
{
    case_2_with(false);
}

Test(otp_suite_proc, case_2a)
{
    case_2_with(true);
}

/* demonitor with a ref that names no monitor of the caller's: a fresh ref, or one taken at the
 * other end (the monitored actor holds it, not the caller). OTP answers true for an unknown
 * ref (demon_1) and badarg for the other end's (demon_e_1); we answer ACT_ENOMONITOR to both,
 * which is what OTP's demonitor(Ref, [info]) says (false), and nothing changes. */
static void monitor_parent(void *arg)
{
    act_pid_t parent = TU_PID(arg);
    act_ref_t ref;
    act_monitor(parent, &ref);
    tu_send_int(parent, REF_MSG, (int64_t)ref);
    waiter(NULL);
}

Test(otp_suite_proc, demon_e_1)
{
    cr_assert_eq(act_demonitor(act_make_ref(), 0), ACT_ENOMONITOR);
    cr_assert_eq(act_demonitor(act_make_ref(), ACT_DEMONITOR_FLUSH), ACT_ENOMONITOR);
    cr_assert_eq(act_demonitor(0, 0), ACT_ENOMONITOR);
    act_pid_t p2 = spawn_fiber(monitor_parent, TU_ARG(act_self()), true, NULL);
    act_ref_t r2 = (act_ref_t)tu_recv_int(REF_MSG, 5000);
    cr_assert_eq(act_demonitor(r2, 0), ACT_ENOMONITOR);
    tu_send_int(p2, GO, 0);
    expect_exit(p2, ACT_NORMAL);
}

/* demon_2: monitoring oneself and demonitoring (twice) leaves no message; a monitor removed
 * before the target's death never fires. */
Test(otp_suite_proc, demon_2)
{
    act_ref_t r1;
    cr_assert_eq(act_monitor(act_self(), &r1), 0);
    cr_assert_eq(act_demonitor(r1, 0), 0);
    cr_assert_eq(act_demonitor(r1, 0), ACT_ENOMONITOR, "extra demonitor");
    cr_assert(no_message(MS(50)));

    act_ref_t r2;
    act_pid_t p2 = spawn_fiber(waiter, NULL, false, NULL);
    cr_assert_eq(act_monitor(p2, &r2), 0);
    tu_send_int(p2, GO, 0);
    expect_down(r2, p2, ACT_NORMAL);

    act_ref_t r4;
    act_pid_t p4 = spawn_fiber(waiter, NULL, false, NULL);
    cr_assert_eq(act_monitor(p4, &r4), 0);
    cr_assert_eq(act_demonitor(r4, 0), 0);
    act_exit(p4, FROP);
    cr_assert(tu_wait_dead(p4, 5000));
    cr_assert(no_message(MS(100)));
}

/* demonitor with flush before and after the DOWN was queued; without flush a queued DOWN
 * stays. */
Test(otp_suite_proc, demonitor_flush)
{
    act_pid_t p = spawn_fiber(waiter, NULL, false, NULL);
    act_ref_t m1, m2, m3, m4;
    cr_assert_eq(act_monitor(p, &m1), 0);
    cr_assert_eq(act_monitor(p, &m2), 0);
    cr_assert_eq(act_monitor(p, &m3), 0);
    cr_assert_eq(act_monitor(p, &m4), 0);
    cr_assert_eq(act_demonitor(m1, ACT_DEMONITOR_FLUSH), 0);
    act_exit(p, FOO);
    expect_down(m2, p, FOO);
    /* m3's and m4's DOWN come with m2's (one death): both are queued by now. */
    cr_assert_eq(act_demonitor(m3, ACT_DEMONITOR_FLUSH), ACT_ENOMONITOR);
    cr_assert_eq(act_demonitor(m4, 0), ACT_ENOMONITOR);
    expect_down(m4, p, FOO);
    cr_assert(no_message(MS(100)), "a DOWN of m1 or m3 came");
}

/* mon_1: DOWN with normal, with another reason (monitor and spawn-monitor alike), and noproc at
 * once for a dead pid. */
Test(otp_suite_proc, mon_1)
{
    act_ref_t r2;
    act_pid_t p2 = spawn_fiber(waiter, NULL, false, NULL);
    cr_assert_eq(act_monitor(p2, &r2), 0);
    tu_send_int(p2, GO, 0);
    expect_down(r2, p2, ACT_NORMAL);
    act_ref_t r2a;
    act_pid_t p2a = spawn_fiber(waiter, NULL, false, &r2a);
    tu_send_int(p2a, GO, 0);
    expect_down(r2a, p2a, ACT_NORMAL);

    act_ref_t r3;
    act_pid_t p3 = spawn_fiber(waiter, NULL, false, NULL);
    cr_assert_eq(act_monitor(p3, &r3), 0);
    act_exit(p3, FROP);
    expect_down(r3, p3, FROP);
    act_ref_t r3a;
    act_pid_t p3a = spawn_fiber(waiter, NULL, false, &r3a);
    act_exit(p3a, FROP);
    expect_down(r3a, p3a, FROP);

    act_ref_t r4;
    cr_assert_eq(act_monitor(p3, &r4), 0);
    expect_down(r4, p3, ACT_NOPROC);
}

/* A large exit text reaches the monitor intact (up to the limit), a hundred times. */
static void large_exit_sub(void *arg)
{
    (void)arg;
    act_msg_t *m;
    if (act_receive_type(GO, ACT_INFINITY, &m) == 0)
        act_msg_free(m);
    act_failf(FROP, "{big,tuple,with,[list,4563784278]} %0400d", 7);
}

Test(otp_suite_proc, large_exit)
{
    for (int i = 0; i < 100; i++) {
        act_ref_t r;
        act_pid_t p = spawn_fiber(large_exit_sub, NULL, false, &r);
        tu_send_int(p, GO, 0);
        act_msg_t *m = NULL;
        cr_assert_eq(act_receive(match_down_ref, &r, MS(5000), &m), 0);
        act_down_t *d = (act_down_t *)m;
        cr_assert_eq(d->reason, FROP);
        cr_assert_eq(strlen(d->text), 35 + 400);
        cr_assert(strncmp(d->text, "{big,tuple,with,[list,4563784278]} 000", 38) == 0);
        act_msg_free(m);
    }
}

/* local_remove_monitor: demonitor races with the target's own death. Whatever the outcome,
 * it is consistent: removed (0) and no DOWN ever comes, or already fired (ACT_ENOMONITOR) and
 * the DOWN is in the mailbox. 100 groups of 100 monitors, each group in its own fiber. */
enum { RM_GROUPS = 100, RM_PROCS = 100 };

static void quick(void *arg)
{
    (void)arg;
}

static void rm_group(void *arg)
{
    act_pid_t master = TU_PID(arg);
    act_ref_t refs[RM_PROCS];
    for (int i = 0; i < RM_PROCS; i++) {
        act_pid_t p;
        act_spawn(&(act_spawn_opts_t){.fiber = quick}, &p);
        act_monitor(p, &refs[i]);
    }
    int removed = 0, fired = 0;
    for (int i = 0; i < RM_PROCS; i++) {
        int rc = act_demonitor(refs[i], 0);
        act_msg_t *m = NULL;
        bool down = act_receive(match_down_ref, &refs[i], 0, &m) == 0;
        act_msg_free(m);
        if (rc == 0) {
            removed++;
            TU_CHECK(!down);
        } else {
            fired++;
            TU_CHECK(rc == ACT_ENOMONITOR);
            TU_CHECK(down);
        }
    }
    /* No DOWN of a removed monitor comes late. */
    act_msg_t *m = NULL;
    TU_CHECK(act_receive_type(ACT_MSG_DOWN, 20, &m) == ACT_ETIMEDOUT);
    act_msg_free(m);
    tu_send_int(master, RESULT_MSG, (int64_t)removed << 32 | (uint32_t)fired);
}

Test(otp_suite_proc, local_remove_monitor)
{
    for (int g = 0; g < RM_GROUPS; g++)
        spawn_fiber(rm_group, TU_ARG(act_self()), false, NULL);
    int64_t removed = 0, fired = 0;
    for (int g = 0; g < RM_GROUPS; g++) {
        int64_t v = tu_recv_int(RESULT_MSG, 30000);
        removed += v >> 32;
        fired += v & 0xffffffff;
    }
    cr_assert_eq(removed + fired, RM_GROUPS * RM_PROCS);
    cr_log_info("local_remove_monitor: removed %lld, fired %lld", (long long)removed,
                (long long)fired);
    cr_assert_eq(tu_failures(), 0);
}

/* named_down: once the DOWN of a registered actor has arrived, its name is free. */
Test(otp_suite_proc, named_down)
{
    for (int i = 0; i < 100; i++) {
        act_pid_t p = spawn_fiber(waiter, NULL, false, NULL);
        cr_assert_eq(act_register("otp_suite_named_down", p), 0);
        act_exit(p, FOO);
        act_ref_t r;
        cr_assert_eq(act_monitor(p, &r), 0);
        act_msg_t *m;
        cr_assert_eq(act_receive(match_down_ref, &r, MS(5000), &m), 0);
        act_msg_free(m);
        cr_assert_eq(act_whereis("otp_suite_named_down"), ACT_PID_NONE);
        cr_assert_eq(act_register("otp_suite_named_down", act_self()), 0);
        cr_assert_eq(act_unregister("otp_suite_named_down"), 0);
    }
}

/* otp_5827: a monitor on a pid that was never issued (another generation of a slot, or a slot
 * that does not exist) is answered at once with noproc, never hangs. */
Test(otp_suite_proc, otp_5827)
{
    act_pid_t me = act_self();
    act_pid_t other_gen = (me & 0xffffffffu) | ((me >> 32) + 7) << 32;
    act_pid_t no_slot = (act_pid_t)0x7ffffff0u | (act_pid_t)1 << 32;
    act_pid_t pids[] = {other_gen, no_slot};
    for (size_t i = 0; i < 2; i++) {
        act_ref_t r;
        cr_assert_eq(act_monitor(pids[i], &r), 0);
        expect_down(r, pids[i], ACT_NOPROC);
        cr_assert_eq(act_link(pids[i]), ACT_ENOPROC);
        cr_assert_eq(act_exit(pids[i], ACT_KILL), ACT_ENOPROC);
        cr_assert_eq(tu_send_int(pids[i], GO, 0), ACT_ENOPROC);
    }
}
