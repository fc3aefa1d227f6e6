/* Spawning plain and fiber actors, pids, init, state, exits from handlers. */
#include "test_util.h"

TestSuite(spawn, .init = tu_start2, .fini = tu_stop, .timeout = TMO(20));

typedef struct {
    act_pid_t report;
    int64_t sum;
} acc_t;

static int acc_init(void *state, void *arg)
{
    ((acc_t *)state)->report = (act_pid_t)(uintptr_t)arg;
    return 0;
}

static int acc_handle(void *state, act_msg_t *msg)
{
    acc_t *a = state;
    tu_int_t *m = (tu_int_t *)msg;
    if (m->v < 0) {
        tu_send_int(a->report, TU_INT, a->sum);
        return act_stop(ACT_NORMAL);
    }
    a->sum += m->v;
    return 0;
}

static const act_behaviour_t acc = {.name = "acc", .init = acc_init, .handle = acc_handle};

Test(spawn, plain_actor_keeps_state_across_messages)
{
    act_pid_t pid;
    act_spawn_opts_t o = {
        .behaviour = &acc, .state_size = sizeof(acc_t), .arg = (void *)(uintptr_t)act_self()};
    cr_assert_eq(act_spawn(&o, &pid), 0);
    cr_assert_neq(pid, ACT_PID_NONE);
    for (int i = 1; i <= 100; i++)
        cr_assert_eq(tu_send_int(pid, TU_INT, i), 0);
    tu_send_int(pid, TU_INT, -1);
    cr_assert_eq(tu_recv_int(TU_INT, 5000), 5050);
    cr_assert(tu_wait_dead(pid, 5000));
    /* A send to a dead pid frees the message and says so. */
    cr_assert_eq(tu_send_int(pid, TU_INT, 1), ACT_ENOPROC);
}

static void fiber_sum(void *arg)
{
    act_pid_t report = (act_pid_t)(uintptr_t)arg;
    int64_t sum = 0;
    for (;;) {
        act_msg_t *m;
        cr_assert_eq(act_receive_type(TU_INT, ACT_INFINITY, &m), 0);
        int64_t v = ((tu_int_t *)m)->v;
        act_msg_free(m);
        if (v < 0)
            break;
        sum += v;
    }
    tu_send_int(report, TU_INT, sum);
}

Test(spawn, fiber_actor_blocks_in_receive)
{
    act_pid_t pid;
    act_spawn_opts_t o = {.fiber = fiber_sum, .arg = (void *)(uintptr_t)act_self()};
    cr_assert_eq(act_spawn(&o, &pid), 0);
    for (int i = 1; i <= 1000; i++)
        tu_send_int(pid, TU_INT, i);
    tu_send_int(pid, TU_INT, -1);
    cr_assert_eq(tu_recv_int(TU_INT, 5000), 500500);
    cr_assert(tu_wait_dead(pid, 5000));
}

Test(spawn, bad_options_are_refused)
{
    act_spawn_opts_t none = {0};
    cr_assert_eq(act_spawn(&none, NULL), ACT_EBADARG);
    act_spawn_opts_t both = {.behaviour = &acc, .fiber = fiber_sum};
    cr_assert_eq(act_spawn(&both, NULL), ACT_EBADARG);
    act_spawn_opts_t far = {.behaviour = &acc, .sched = ACT_SCHED_ON(99)};
    cr_assert_eq(act_spawn(&far, NULL), ACT_ENOSCHED);
}

static int fail_init(void *state, void *arg)
{
    (void)state;
    (void)arg;
    return -EINVAL;
}

Test(spawn, failing_init_exits_with_its_error)
{
    static const act_behaviour_t b = {.init = fail_init, .handle = acc_handle};
    act_ref_t ref;
    act_spawn_opts_t o = {.behaviour = &b, .monitor = &ref};
    act_pid_t pid;
    cr_assert_eq(act_spawn(&o, &pid), 0);
    act_down_t *d = tu_recv_down(ACT_MSG_DOWN, 5000);
    cr_assert_eq(d->hdr.ref, ref);
    cr_assert_eq(d->pid, pid);
    cr_assert_eq(d->reason, -EINVAL);
    act_msg_free(&d->hdr);
}

static int crash_handle(void *state, act_msg_t *msg)
{
    (void)state;
    if (((tu_int_t *)msg)->v == 1)
        act_failf(ACT_REASON_USER + 7, "bad value %d", 1);
    return -EIO;
}

Test(spawn, handler_errors_and_act_fail_become_exit_reasons)
{
    static const act_behaviour_t b = {.handle = crash_handle};
    for (int v = 0; v < 2; v++) {
        act_ref_t ref;
        act_pid_t pid;
        act_spawn_opts_t o = {.behaviour = &b, .monitor = &ref};
        cr_assert_eq(act_spawn(&o, &pid), 0);
        tu_send_int(pid, TU_INT, v);
        act_down_t *d = tu_recv_down(ACT_MSG_DOWN, 5000);
        cr_assert_eq(d->hdr.ref, ref);
        if (v == 0) {
            cr_assert_eq(d->reason, -EIO);
        } else {
            cr_assert_eq(d->reason, ACT_REASON_USER + 7);
            cr_assert_str_eq(d->text, "bad value 1");
        }
        act_msg_free(&d->hdr);
    }
}

static _Atomic int terminated_reason = -1;

static int term_handle(void *state, act_msg_t *msg)
{
    (void)state;
    (void)msg;
    return act_stop(ACT_SHUTDOWN);
}

static void term_terminate(void *state, int reason)
{
    (void)state;
    atomic_store(&terminated_reason, reason);
}

Test(spawn, terminate_runs_with_the_reason)
{
    static const act_behaviour_t b = {.handle = term_handle, .terminate = term_terminate};
    act_pid_t pid;
    act_spawn_opts_t o = {.behaviour = &b};
    cr_assert_eq(act_spawn(&o, &pid), 0);
    tu_send_int(pid, TU_INT, 0);
    cr_assert(tu_wait_dead(pid, 5000));
    cr_assert_eq(atomic_load(&terminated_reason), ACT_SHUTDOWN);
}

static void pinned_fiber(void *arg)
{
    act_pid_t report = (act_pid_t)(uintptr_t)arg;
    int first = act_sched_self();
    for (int i = 0; i < 50; i++) {
        act_yield();
        if (act_sched_self() != first)
            first = -100;
    }
    tu_send_int(report, TU_INT, first);
}

Test(spawn, pinned_actor_stays_on_its_scheduler)
{
    for (int s = 0; s < 2; s++) {
        act_spawn_opts_t o = {
            .fiber = pinned_fiber, .arg = (void *)(uintptr_t)act_self(), .sched = ACT_SCHED_ON(s)};
        cr_assert_eq(act_spawn(&o, NULL), 0);
        cr_assert_eq(tu_recv_int(TU_INT, 5000), s);
    }
}

Test(spawn, pids_are_not_reused_for_new_actors)
{
    act_pid_t first;
    act_spawn_opts_t o = {
        .behaviour = &acc, .state_size = sizeof(acc_t), .arg = (void *)(uintptr_t)act_self()};
    cr_assert_eq(act_spawn(&o, &first), 0);
    tu_send_int(first, TU_INT, -1);
    tu_recv_int(TU_INT, 5000);
    cr_assert(tu_wait_dead(first, 5000));
    for (int i = 0; i < 1000; i++) {
        act_pid_t p;
        cr_assert_eq(act_spawn(&o, &p), 0);
        cr_assert_neq(p, first);
        tu_send_int(p, TU_INT, -1);
        tu_recv_int(TU_INT, 5000);
    }
    cr_assert_eq(tu_send_int(first, TU_INT, 1), ACT_ENOPROC);
}
