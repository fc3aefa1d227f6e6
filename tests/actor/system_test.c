/*
 * The system: start/stop/start in one process, stop hooks (newest first, while actors live),
 * stop killing what is left (terminate runs) including blocked fibers, request_stop/wait,
 * stop refused on a scheduler thread, the API after stop, an idle system using no CPU,
 * act_info, and the error and reason strings.
 */
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "test_util.h"

TestSuite(system, .init = tu_start2, .fini = tu_stop, .timeout = TMO(30));

static int echo_handle(void *state, act_msg_t *msg)
{
    (void)state;
    if (msg->type == TU_PING)
        act_reply(msg, act_msg_alloc(sizeof(act_msg_t), TU_PONG));
    return 0;
}

static const act_behaviour_t echo_beh = {.name = "echo", .handle = echo_handle};

static int ping(act_pid_t p)
{
    act_msg_t *r = NULL;
    int rc = act_call(p, act_msg_alloc(sizeof(act_msg_t), TU_PING), MS(5000), &r, NULL);
    act_msg_free(r);
    return rc;
}

Test(system, start_stop_start_again_in_one_process)
{
    act_config_t c = {.schedulers = 2};
    cr_assert_eq(act_system_start(&c), -EALREADY);
    for (int round = 0; round < 3; round++) {
        cr_assert(act_system_running());
        cr_assert_eq(act_sched_count(), 2u);
        act_pid_t p = tu_spawn_plain(&echo_beh, 0, NULL, NULL);
        cr_assert_eq(ping(p), 0, "round %d", round);
        cr_assert_eq(act_register("echo", p), 0);
        act_timer_t t;
        cr_assert_eq(act_send_after(p, 100000, act_msg_alloc(sizeof(act_msg_t), TU_INT), &t), 0);
        cr_assert_eq(act_system_stop(), 0);
        cr_assert_not(act_system_running());
        cr_assert_eq(act_sched_count(), 0u);
        cr_assert_eq(act_system_stop(), ACT_ENOTRUNNING);
        cr_assert_eq(act_system_start(&c), 0);
        cr_assert_eq(act_whereis("echo"), ACT_PID_NONE, "the registry starts empty");
        cr_assert_eq(act_actor_count(), 0u);
    }
}

Test(system, bad_config_is_refused)
{
    cr_assert_eq(act_system_stop(), 0);
    act_config_t c = {.schedulers = 100000};
    cr_assert_eq(act_system_start(&c), ACT_EBADARG);
    cr_assert_not(act_system_running());
    c.schedulers = 1;
    cr_assert_eq(act_system_start(&c), 0);
    cr_assert_eq(act_sched_count(), 1u);
}

/* ---- stop hooks ----------------------------------------------------------------------------- */

static int hook_log[8];
static int hook_n;
static act_pid_t hook_target;

static void hook(void *arg)
{
    int id = (int)(intptr_t)arg;
    hook_log[hook_n++] = id;
    /* Actors still live and answer while hooks run. */
    TU_CHECK(act_is_alive(hook_target));
    TU_CHECK(ping(hook_target) == 0);
    TU_CHECK(act_sched_self() == -1);
}

Test(system, stop_runs_hooks_newest_first_while_actors_live)
{
    hook_target = tu_spawn_plain(&echo_beh, 0, NULL, NULL);
    for (int i = 1; i <= 3; i++)
        cr_assert_eq(act_system_on_stop(hook, (void *)(intptr_t)i), 0);
    tu_stop();
    cr_assert_eq(hook_n, 3);
    cr_assert_eq(hook_log[0], 3);
    cr_assert_eq(hook_log[1], 2);
    cr_assert_eq(hook_log[2], 1);
    cr_assert_eq(tu_failures(), 0);
    cr_assert_eq(act_system_on_stop(hook, NULL), ACT_ENOTRUNNING);
}

/* ---- stop kills what is left ---------------------------------------------------------------- */

static _Atomic int terminated;
static _Atomic int terminated_killed;

static void count_terminate(void *state, int reason)
{
    (void)state;
    atomic_fetch_add(&terminated, 1);
    if (reason == ACT_KILLED)
        atomic_fetch_add(&terminated_killed, 1);
}

static int nop_handle(void *state, act_msg_t *msg)
{
    (void)state;
    (void)msg;
    return 0;
}

static const act_behaviour_t mortal_beh = {.handle = nop_handle, .terminate = count_terminate};

static void blocked_receive(void *arg)
{
    (void)arg;
    act_msg_t *m;
    act_receive_type(TU_INT, ACT_INFINITY, &m);
}

static void blocked_sleep(void *arg)
{
    (void)arg;
    act_sleep(1000000);
}

static void blocked_call(void *arg)
{
    act_msg_t *r;
    /* The target never replies. */
    act_call(TU_PID(arg), act_msg_alloc(sizeof(act_msg_t), TU_INT), ACT_INFINITY, &r, NULL);
}

Test(system, stop_kills_remaining_actors_and_blocked_fibers)
{
    enum { N = 200 };
    for (int i = 0; i < N; i++) {
        act_spawn_opts_t o = {.behaviour = &mortal_beh, .trap_exit = i % 2 == 0};
        cr_assert_eq(act_spawn(&o, NULL), 0);
    }
    act_pid_t sink = tu_spawn_plain(&mortal_beh, 0, NULL, NULL);
    for (int i = 0; i < 20; i++) {
        tu_spawn_fiber(blocked_receive, NULL, NULL);
        tu_spawn_fiber(blocked_sleep, NULL, NULL);
        tu_spawn_fiber(blocked_call, TU_ARG(sink), NULL);
    }
    /* Let the fibers block. */
    usleep(MS(50) * 1000);
    cr_assert_eq(act_actor_count(), (uint64_t)(N + 1 + 60));
    int64_t t0 = act_now_ms();
    tu_stop();
    cr_assert_lt(act_now_ms() - t0, MS(3000), "stop took too long");
    cr_assert_eq(atomic_load(&terminated), N + 1, "every plain actor's terminate ran");
    cr_assert_eq(atomic_load(&terminated_killed), N + 1, "with reason killed");
}

/* ---- request_stop / wait -------------------------------------------------------------------- */

static int requester_handle(void *state, act_msg_t *msg)
{
    (void)state;
    act_system_request_stop((int)((tu_int_t *)msg)->v);
    act_system_request_stop(99); /* the first request wins */
    return 0;
}

static const act_behaviour_t requester_beh = {.handle = requester_handle};

static void *waiter(void *arg)
{
    *(int *)arg = act_system_wait();
    return NULL;
}

Test(system, request_stop_wakes_every_waiter_with_the_first_status)
{
    act_pid_t p = tu_spawn_plain(&requester_beh, 0, NULL, NULL);
    int other = -1;
    pthread_t th;
    cr_assert_eq(pthread_create(&th, NULL, waiter, &other), 0);
    usleep(10000);
    tu_send_int(p, TU_INT, 7);
    cr_assert_eq(act_system_wait(), 7);
    pthread_join(th, NULL);
    cr_assert_eq(other, 7);
    cr_assert_eq(act_system_wait(), 7, "waiting again returns at once");
    cr_assert(act_system_running(), "a request does not stop by itself");
}

/* ---- stop from a scheduler thread ----------------------------------------------------------- */

static int stopper_handle(void *state, act_msg_t *msg)
{
    (void)state;
    tu_send_int(msg->from, TU_RESULT, act_system_stop());
    return 0;
}

static const act_behaviour_t stopper_beh = {.handle = stopper_handle};

static void stopper_fiber(void *arg)
{
    tu_send_int(TU_PID(arg), TU_RESULT, act_system_stop());
}

Test(system, stop_from_a_scheduler_thread_is_edeadlk)
{
    act_self();
    act_pid_t p = tu_spawn_plain(&stopper_beh, 0, NULL, NULL);
    tu_send_int(p, TU_INT, 0);
    cr_assert_eq(tu_recv_int(TU_RESULT, 5000), -EDEADLK);
    tu_spawn_fiber(stopper_fiber, TU_ARG(act_self()), NULL);
    cr_assert_eq(tu_recv_int(TU_RESULT, 5000), -EDEADLK);
    cr_assert(act_system_running());
}

/* ---- the API after stop --------------------------------------------------------------------- */

static void api_after_stop(void)
{
    act_msg_t *m = NULL;
    act_pid_t p = ((act_pid_t)1 << 32) | 5;
    TU_CHECK(act_send(p, act_msg_alloc(sizeof(act_msg_t), TU_INT)) == ACT_ENOTRUNNING);
    act_spawn_opts_t o = {.behaviour = &echo_beh};
    act_pid_t out = 123;
    TU_CHECK(act_spawn(&o, &out) == ACT_ENOTRUNNING);
    TU_CHECK(act_self() == ACT_PID_NONE);
    TU_CHECK(act_receive(NULL, NULL, 0, &m) == ACT_ENOTRUNNING);
    TU_CHECK(act_receive(NULL, NULL, 10, &m) == ACT_ENOTRUNNING);
    TU_CHECK(act_call(p, act_msg_alloc(sizeof(act_msg_t), TU_INT), 10, &m, NULL) ==
             ACT_ENOTRUNNING);
    TU_CHECK(act_exit(p, ACT_KILL) == ACT_ENOTRUNNING);
    TU_CHECK(act_link(p) == ACT_ENOTRUNNING);
    TU_CHECK(act_unlink(p) == ACT_ENOTRUNNING);
    act_ref_t ref;
    TU_CHECK(act_monitor(p, &ref) == ACT_ENOTRUNNING);
    TU_CHECK(act_demonitor(1, 0) == ACT_ENOTRUNNING);
    TU_CHECK(act_register("x", p) == ACT_ENOTRUNNING);
    TU_CHECK(act_whereis("x") == ACT_PID_NONE);
    TU_CHECK(act_send_name("x", act_msg_alloc(sizeof(act_msg_t), TU_INT)) < 0);
    TU_CHECK(act_send_after(p, 1, act_msg_alloc(sizeof(act_msg_t), TU_INT), NULL) ==
             ACT_ENOTRUNNING);
    TU_CHECK(act_timer_cancel(((uint64_t)1 << 48) | 1, NULL) == ACT_ENOTRUNNING);
    TU_CHECK(act_sleep(1) == ACT_ENOTRUNNING);
    TU_CHECK(!act_is_alive(p));
    act_info_t info;
    TU_CHECK(act_info(p, &info) == ACT_ENOTRUNNING);
    TU_CHECK(act_sched_self() == -1);
    TU_CHECK(act_sched_count() == 0);
    TU_CHECK(act_loop() == NULL);
    TU_CHECK(act_make_ref() == 0);
    TU_CHECK(act_system_on_stop(NULL, NULL) == ACT_ENOTRUNNING);
    TU_CHECK(act_system_stop() == ACT_ENOTRUNNING);
    TU_CHECK(act_system_wait() == ACT_ENOTRUNNING);
    act_thread_detach();
}

/* A thread that used the system while it ran, then calls everything once it is stopped (its
 * thread context was freed by the stop). */
static _Atomic int phase;

static void *user_thread(void *arg)
{
    act_pid_t echo = TU_PID(arg);
    TU_CHECK(act_self() != ACT_PID_NONE);
    TU_CHECK(ping(echo) == 0);
    TU_CHECK(act_register("user", act_self()) == 0);
    atomic_store(&phase, 1);
    while (atomic_load(&phase) != 2)
        usleep(1000);
    api_after_stop();
    return NULL;
}

Test(system, api_calls_after_stop_return_enotrunning)
{
    act_pid_t echo = tu_spawn_plain(&echo_beh, 0, NULL, NULL);
    pthread_t th;
    cr_assert_eq(pthread_create(&th, NULL, user_thread, TU_ARG(echo)), 0);
    while (atomic_load(&phase) != 1)
        usleep(1000);
    act_self();
    tu_stop();
    api_after_stop(); /* this thread, which stopped the system */
    atomic_store(&phase, 2);
    pthread_join(th, NULL);
    cr_assert_eq(tu_failures(), 0);
}

/* ---- an idle system ------------------------------------------------------------------------- */

Test(system, idle_system_uses_no_cpu, .timeout = TMO(30))
{
    /* Some activity first: actors living and dying (memory for the collector), names,
     * timers fired and pending, a fiber blocked for good; then nothing. */
    for (int i = 0; i < 1000; i++) {
        act_pid_t p = tu_spawn_plain(&echo_beh, 0, NULL, NULL);
        if (i % 100 == 0) {
            cr_assert_eq(ping(p), 0);
            char name[16];
            snprintf(name, sizeof name, "idle%d", i);
            cr_assert_eq(act_register(name, p), 0);
            act_send_after(p, 5, act_msg_alloc(sizeof(act_msg_t), TU_INT), NULL);
        }
        act_exit(p, ACT_KILL);
    }
    act_send_after(act_self(), 100000, act_msg_alloc(sizeof(act_msg_t), TU_INT), NULL);
    tu_spawn_fiber(blocked_receive, NULL, NULL);
    usleep(200000);
    int64_t cpu0 = tu_cpu_us();
    int64_t t0 = act_now_ms();
    usleep(1000000);
    int64_t used = tu_cpu_us() - cpu0;
    int64_t wall = act_now_ms() - t0;
    cr_log_info("idle: %lld us of CPU in %lld ms", (long long)used, (long long)wall);
    /* A spinning scheduler would burn ~1,000,000 us here; sleeping ones almost nothing. */
    cr_assert_lt(used, 5000 * DYN_TEST_TIMEOUT_SCALE, "an idle system used %lld us of CPU",
                 (long long)used);
}

/* ---- act_info ------------------------------------------------------------------------------- */

static _Atomic bool info_gate;

static int busy_handle(void *state, act_msg_t *msg)
{
    (void)state;
    if (msg->type == TU_PING)
        while (!atomic_load(&info_gate))
            usleep(100);
    return 0;
}

static const act_behaviour_t busy_beh = {.name = "busy", .handle = busy_handle};

static int slowish_handle(void *state, act_msg_t *msg)
{
    (void)state;
    (void)msg;
    usleep(200);
    return 0;
}

static const act_behaviour_t slowish_beh = {.name = "slowish", .handle = slowish_handle};

/* A busy actor counts its own queue at the end of a turn (no counter on the send path). */
Test(system, act_info_counts_a_busy_actors_backlog)
{
    act_pid_t p;
    act_spawn_opts_t o = {.behaviour = &slowish_beh};
    cr_assert_eq(act_spawn(&o, &p), 0);
    /* 2,000 messages of 200 us each: a backlog for 400 ms at least. A turn of 100 takes ~20 ms,
     * so the answer comes within act_info's 100 ms, unless a loaded machine stretches the
     * sleeps: then the asker may ask again, as a status page would. */
    for (int i = 0; i < 2000; i++)
        tu_send_int(p, TU_INT, i);
    act_info_t info;
    for (int tries = 0; tries < 5; tries++) {
        cr_assert_eq(act_info(p, &info), 0);
        if (info.mailbox_known)
            break;
    }
    cr_assert(info.mailbox_known, "a turn of 100 messages takes ~20 ms: it answers in time");
    cr_assert_gt(info.mailbox_len, 100u, "%zu waiting", info.mailbox_len);
    cr_assert_leq(info.mailbox_len, 2000u);
    /* The asker's own mailbox: counted directly. */
    act_pid_t self = act_self();
    for (int i = 0; i < 7; i++)
        tu_send_int(self, TU_PONG, i);
    cr_assert_eq(act_info(self, &info), 0);
    cr_assert(info.mailbox_known);
    cr_assert_eq(info.mailbox_len, 7u);
    for (int i = 0; i < 7; i++)
        tu_recv_int(TU_PONG, 1000);
}

Test(system, act_info_reports_the_actor)
{
    act_pid_t self = act_self();
    act_spawn_opts_t o = {
        .behaviour = &busy_beh, .sched = ACT_SCHED_ON(1), .trap_exit = true, .link = true};
    act_pid_t p;
    cr_assert_eq(act_spawn(&o, &p), 0);
    act_ref_t r1, r2;
    cr_assert_eq(act_monitor(p, &r1), 0);
    cr_assert_eq(act_monitor(p, &r2), 0);
    act_info_t info;
    cr_assert_eq(act_info(p, &info), 0);
    cr_assert_eq(info.pid, p);
    cr_assert_str_eq(info.behaviour, "busy");
    cr_assert(info.pinned);
    cr_assert(info.trap_exit);
    cr_assert_eq(info.links, 1u);
    /* The monitors this thread holds. */
    cr_assert_eq(act_info(self, &info), 0);
    cr_assert_str_eq(info.behaviour, "proxy");
    cr_assert_eq(info.monitors, 2u);
    cr_assert_eq(info.links, 1u);
    /* While it is stuck in a handler, where it runs is known at once. */
    tu_send_int(p, TU_PING, 0);
    usleep(MS(20) * 1000);
    for (int i = 0; i < 10; i++)
        tu_send_int(p, TU_INT, i);
    cr_assert_eq(act_info(p, &info), 0);
    cr_assert_eq(info.sched, 1, "it runs on its pinned scheduler");
    atomic_store(&info_gate, true);
    /* Once it has caught up, the mailbox is empty. */
    int64_t end = act_now_ms() + MS(5000);
    do {
        cr_assert_eq(act_info(p, &info), 0);
    } while ((info.mailbox_len != 0 || !info.mailbox_known) && act_now_ms() < end);
    cr_assert(info.mailbox_known);
    cr_assert_eq(info.mailbox_len, 0u);
    /* A fiber's unmatched messages count as waiting. */
    act_pid_t f = tu_spawn_fiber(blocked_receive, NULL, NULL);
    for (int i = 0; i < 5; i++)
        tu_send_int(f, TU_PONG, i); /* blocked_receive wants TU_INT */
    end = act_now_ms() + MS(5000);
    do {
        usleep(1000);
        cr_assert_eq(act_info(f, &info), 0);
    } while (info.mailbox_len != 5 && act_now_ms() < end);
    cr_assert_eq(info.mailbox_len, 5u);
    cr_assert(info.mailbox_known);
    cr_assert_str_eq(info.behaviour, "fiber");
    cr_assert_eq(act_info(ACT_PID_NONE, &info), ACT_ENOPROC);
    char buf[ACT_PID_STRLEN];
    cr_assert_str_eq(act_pid_str(((act_pid_t)3 << 32) | 17, buf), "<17.3>");
}

/* ---- strings -------------------------------------------------------------------------------- */

Test(system, reason_and_error_strings)
{
    cr_assert_str_eq(act_reason_str(ACT_NORMAL), "normal");
    cr_assert_str_eq(act_reason_str(ACT_SHUTDOWN), "shutdown");
    cr_assert_str_eq(act_reason_str(ACT_KILLED), "killed");
    cr_assert_str_eq(act_reason_str(ACT_NOPROC), "noproc");
    cr_assert_str_eq(act_reason_str(ACT_REASON_USER + 3), "reason 259");
    cr_assert_str_eq(act_reason_str(ACT_ENOPROC), "no such actor");
    cr_assert_str_eq(act_reason_str(-ENOENT), strerror(ENOENT));
    cr_assert_str_eq(act_strerror(ACT_ETIMEDOUT), strerror(ETIMEDOUT));
    cr_assert_str_eq(act_strerror(ACT_ECALLDOWN), "called actor exited before replying");
    cr_assert_str_eq(act_strerror(0), "success");
    cr_assert_not_null(act_strerror(-999999));
    cr_assert_not_null(act_strerror(12345));
    cr_assert_str_eq(act_err_name(ACT_ENOPROC), "ACT_ENOPROC");
    cr_assert_str_eq(act_err_name(ACT_EBADARG), "ACT_EBADARG");
    cr_assert_str_eq(act_err_name(ACT_ETIMEDOUT), "ETIMEDOUT");
    cr_assert_str_eq(act_err_name(-ENOMEM), "ENOMEM");
    cr_assert_str_eq(act_err_name(0), "OK");
    cr_assert_not_null(act_err_name(-999999));
    /* Every code of the table has a distinct name and message. */
#define CHECK_ROW(name, msg)                                                                       \
    cr_assert_str_eq(act_err_name(ACT_E##name), "ACT_E" #name);                                    \
    cr_assert_str_eq(act_strerror(ACT_E##name), msg);
    ACT_ERRNO_MAP(CHECK_ROW)
#undef CHECK_ROW
}

static bool no_actors(void *arg)
{
    (void)arg;
    return act_actor_count() == 0;
}

Test(system, sched_queries_on_threads_and_actors)
{
    cr_assert_eq(act_sched_self(), -1);
    cr_assert_null(act_loop());
    cr_assert_eq(act_sched_count(), 2u);
    act_ref_t a = act_make_ref(), b = act_make_ref();
    cr_assert_neq(a, 0u);
    cr_assert_neq(a, b);
    cr_assert_eq(act_actor_count(), 0u, "proxies do not count");
    act_pid_t p = tu_spawn_plain(&echo_beh, 0, NULL, NULL);
    cr_assert_eq(act_actor_count(), 1u);
    act_exit(p, ACT_KILL);
    /* The pid is dead as soon as its slot is cleared; the count drops at the end of the death
     * sequence, a little later. */
    cr_assert(tu_wait(no_actors, NULL, 5000), "%llu actors", (unsigned long long)act_actor_count());
}

/* ---- scheduler time (act_sched_time) ------------------------------------------------------ */

static _Atomic bool spin_stop;

static void spinner(void *arg)
{
    (void)arg;
    while (!atomic_load(&spin_stop))
        ; /* never yields: its scheduler never sleeps */
}

static act_sched_time_t sched_time(unsigned i)
{
    act_sched_time_t t;
    cr_assert_eq(act_sched_time(i, &t), 0);
    cr_assert_leq(t.idle_ns, t.wall_ns);
    return t;
}

Test(system, sched_time_counts_sleep_as_idle_and_a_running_actor_as_busy)
{
    act_sched_time_t t;
    cr_assert_eq(act_sched_time(2, &t), ACT_EBADARG);
    /* Idle: both schedulers spend most of 300 ms asleep. */
    act_sched_time_t a0 = sched_time(0), a1 = sched_time(1);
    usleep(300000);
    act_sched_time_t b0 = sched_time(0), b1 = sched_time(1);
    cr_assert_gt((b0.idle_ns - a0.idle_ns) * 2, b0.wall_ns - a0.wall_ns);
    cr_assert_gt((b1.idle_ns - a1.idle_ns) * 2, b1.wall_ns - a1.wall_ns);
    /* Busy: scheduler 0 runs a fiber that never yields, so it never waits in its poll. */
    act_pid_t pid;
    cr_assert_eq(act_spawn(&(act_spawn_opts_t){.fiber = spinner, .sched = ACT_SCHED_ON(0)}, &pid),
                 0);
    usleep(50000); /* it has started spinning (a sleep that began before ends by now) */
    a0 = sched_time(0);
    usleep(300000);
    b0 = sched_time(0);
    atomic_store(&spin_stop, true);
    cr_assert_lt((b0.idle_ns - a0.idle_ns) * 10, b0.wall_ns - a0.wall_ns, "idle %llu of %llu ns",
                 (unsigned long long)(b0.idle_ns - a0.idle_ns),
                 (unsigned long long)(b0.wall_ns - a0.wall_ns));
}

Test(system_down, sched_time_needs_a_running_system)
{
    act_sched_time_t t;
    cr_assert_eq(act_sched_time(0, &t), ACT_ENOTRUNNING);
}
