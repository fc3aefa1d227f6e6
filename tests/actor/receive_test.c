/*
 * Blocking receive (fibers and foreign threads): selective receive keeps what it skips, in
 * order; timeouts (0 polls, finite ones end in a sane window, stale ones never surface);
 * plain actors get ACT_ENOTFIBER; act_sleep and act_yield let other actors run; and a fiber
 * that skips many messages does not starve its scheduler.
 */
#include <unistd.h>

#include "test_util.h"

TestSuite(receive, .init = tu_start2, .fini = tu_stop, .timeout = TMO(30));
/* Tests that need every actor on one scheduler. */
TestSuite(receive_1sched, .init = tu_start1, .fini = tu_stop, .timeout = TMO(30));

enum { MSG_A = TU_INT + 200, MSG_B, MSG_C, MSG_GO, MSG_LOG };

static bool match_v(const act_msg_t *m, void *arg)
{
    return m->type == TU_INT && ((const tu_int_t *)m)->v == *(int64_t *)arg;
}

/* Receives with `match` and checks the message. */
static void expect(uint32_t type, int64_t v)
{
    act_msg_t *m;
    int rc = act_receive_type(type, MS(5000), &m);
    cr_assert_eq(rc, 0, "type %u: %s", type, act_strerror(rc));
    cr_assert_eq(((tu_int_t *)m)->v, v, "type %u: got %lld want %lld", type,
                 (long long)((tu_int_t *)m)->v, (long long)v);
    act_msg_free(m);
}

Test(receive, selective_receive_keeps_skipped_messages_in_order_on_a_thread)
{
    act_pid_t self = act_self();
    for (int i = 0; i < 5; i++) {
        tu_send_int(self, MSG_A, i);
        tu_send_int(self, MSG_B, i);
    }
    tu_send_int(self, MSG_C, 0);
    expect(MSG_C, 0); /* skips all ten */
    for (int i = 0; i < 5; i++)
        expect(MSG_B, i);
    tu_send_int(self, MSG_A, 5);
    for (int i = 0; i <= 5; i++)
        expect(MSG_A, i);
    /* A match function picks by content. */
    for (int i = 0; i < 10; i++)
        tu_send_int(self, TU_INT, i);
    for (int64_t want = 9; want >= 0; want -= 3) {
        act_msg_t *m;
        cr_assert_eq(act_receive(match_v, &want, MS(5000), &m), 0);
        cr_assert_eq(((tu_int_t *)m)->v, want);
        act_msg_free(m);
    }
    int64_t rest[] = {1, 2, 4, 5, 7, 8};
    for (int i = 0; i < 6; i++) {
        act_msg_t *m;
        cr_assert_eq(act_receive(NULL, NULL, 0, &m), 0, "match NULL takes the oldest");
        cr_assert_eq(((tu_int_t *)m)->v, rest[i]);
        act_msg_free(m);
    }
    act_msg_t *m;
    cr_assert_eq(act_receive(NULL, NULL, 0, &m), ACT_ETIMEDOUT);
}

/* The same sequence in a fiber, reporting failures back. */
static void selective_fiber(void *arg)
{
    act_pid_t report = TU_PID(arg);
    act_pid_t self = act_self();
    int bad = 0;
    for (int i = 0; i < 50; i++) {
        tu_send_int(self, MSG_A, i);
        tu_send_int(self, MSG_B, i);
    }
    act_msg_t *m;
    for (int i = 0; i < 50; i++) {
        if (act_receive_type(MSG_B, MS(5000), &m) != 0 || ((tu_int_t *)m)->v != i)
            bad++;
        act_msg_free(m);
        m = NULL;
    }
    for (int i = 0; i < 50; i++) {
        if (act_receive(NULL, NULL, 0, &m) != 0 || m->type != MSG_A || ((tu_int_t *)m)->v != i)
            bad++;
        act_msg_free(m);
        m = NULL;
    }
    bad += act_receive(NULL, NULL, 0, &m) != ACT_ETIMEDOUT;
    tu_send_int(report, TU_RESULT, bad);
}

Test(receive, selective_receive_keeps_skipped_messages_in_order_in_a_fiber)
{
    tu_spawn_fiber(selective_fiber, TU_ARG(act_self()), NULL);
    cr_assert_eq(tu_recv_int(TU_RESULT, 10000), 0);
}

Test(receive, timeout_zero_polls)
{
    act_pid_t self = act_self();
    act_msg_t *m = NULL;
    int64_t t0 = act_now_ms();
    cr_assert_eq(act_receive(NULL, NULL, 0, &m), ACT_ETIMEDOUT);
    cr_assert_lt(act_now_ms() - t0, MS(50), "a poll does not wait");
    tu_send_int(self, TU_INT, 3);
    cr_assert_eq(act_receive(NULL, NULL, 0, &m), 0);
    cr_assert_eq(((tu_int_t *)m)->v, 3);
    act_msg_free(m);
    tu_send_int(self, MSG_A, 1);
    cr_assert_eq(act_receive_type(MSG_B, 0, &m), ACT_ETIMEDOUT, "no match: no wait");
    expect(MSG_A, 1);
}

/* A fiber measuring its own timeouts. */
static void timeout_fiber(void *arg)
{
    act_pid_t report = TU_PID(arg);
    int64_t t0 = act_now_ms();
    act_msg_t *m;
    int rc0 = act_receive_type(MSG_A, 0, &m);
    int64_t t1 = act_now_ms();
    int rc1 = act_receive_type(MSG_A, 50, &m);
    int64_t t2 = act_now_ms();
    int rc2 = act_receive_type(MSG_A, 30, &m); /* with other traffic arriving meanwhile */
    int64_t t3 = act_now_ms();
    TU_CHECK(rc0 == ACT_ETIMEDOUT);
    TU_CHECK(rc1 == ACT_ETIMEDOUT);
    TU_CHECK(rc2 == ACT_ETIMEDOUT);
    tu_send_int(report, TU_RESULT, t1 - t0);
    tu_send_int(report, TU_RESULT, t2 - t1);
    tu_send_int(report, TU_RESULT, t3 - t2);
}

Test(receive, finite_timeouts_end_in_a_sane_window)
{
    /* Thread. */
    act_msg_t *m;
    int64_t t0 = act_now_ms();
    cr_assert_eq(act_receive(NULL, NULL, 50, &m), ACT_ETIMEDOUT);
    int64_t dt = act_now_ms() - t0;
    cr_assert_geq(dt, 50);
    cr_assert_lt(dt, 50 + MS(1000));
    /* Fiber. */
    act_pid_t f = tu_spawn_fiber(timeout_fiber, TU_ARG(act_self()), NULL);
    for (int i = 0; i < 5; i++)
        tu_send_int(f, MSG_B, i); /* not what it waits for */
    cr_assert_lt(tu_recv_int(TU_RESULT, 5000), MS(20));
    dt = tu_recv_int(TU_RESULT, 5000);
    cr_assert_geq(dt, 50);
    cr_assert_lt(dt, 50 + MS(1000));
    dt = tu_recv_int(TU_RESULT, 5000);
    cr_assert_geq(dt, 30);
    cr_assert_lt(dt, 30 + MS(1000));
    cr_assert_eq(tu_failures(), 0);
}

/* Stale timeouts: a receive that got its message just as its timer fired leaves the timeout
 * behind in the mailbox. Later receives, calls and demonitor flushes must never hand it out,
 * nor end early because of it. */
static int echo_handle(void *state, act_msg_t *msg)
{
    (void)state;
    act_reply(msg, act_msg_alloc(sizeof(act_msg_t), TU_PONG));
    return 0;
}

static const act_behaviour_t echo_beh = {.handle = echo_handle};

static void stale_fiber(void *arg)
{
    act_pid_t report = TU_PID(arg);
    act_pid_t self = act_self();
    act_pid_t echo = ACT_PID_NONE;
    act_spawn_opts_t o = {.behaviour = &echo_beh};
    TU_CHECK(act_spawn(&o, &echo) == 0);
    int bad = 0, early = 0;
    for (int i = 0; i < 40; i++) {
        /* The message and the receive's timeout are due at the same moment, on the same
         * timer heap: both fire in one go, the message first. */
        int d = 2 + i % 3;
        act_send_after(self, d, act_msg_alloc(sizeof(act_msg_t), MSG_A), NULL);
        act_msg_t *m = NULL;
        int rc = act_receive_type(MSG_A, d, &m);
        if (rc != 0) /* the timeout won: the message is still coming */
            TU_CHECK(act_receive_type(MSG_A, MS(1000), &m) == 0);
        act_msg_free(m);
        /* A call and a demonitor flush sweep the mailbox in between. */
        if (i % 2) {
            act_msg_t *reply = NULL;
            if (TU_CHECK(act_call(echo, act_msg_alloc(sizeof(act_msg_t), TU_PING), MS(5000), &reply,
                                  NULL) == 0))
                act_msg_free(reply);
        } else {
            act_demonitor(12345, ACT_DEMONITOR_FLUSH);
        }
        /* Anything received now is a leftover. */
        while (act_receive(NULL, NULL, 0, &m) == 0) {
            fprintf(stderr, "stale message of type %u\n", m->type);
            bad++;
            act_msg_free(m);
        }
        /* A fresh wait runs its full time. */
        if (i % 8 == 0) {
            int64_t t0 = act_now_ms();
            rc = act_receive_type(MSG_B, 20, &m);
            if (rc != ACT_ETIMEDOUT || act_now_ms() - t0 < 20)
                early++;
        }
    }
    tu_send_int(report, TU_RESULT, bad);
    tu_send_int(report, TU_RESULT, early);
}

Test(receive, stale_timeouts_never_surface_later)
{
    tu_spawn_fiber(stale_fiber, TU_ARG(act_self()), NULL);
    cr_assert_eq(tu_recv_int(TU_RESULT, 20000), 0, "internal timeout messages were received");
    cr_assert_eq(tu_recv_int(TU_RESULT, 20000), 0, "a later receive ended early");
    cr_assert_eq(tu_failures(), 0);
}

/* ---- plain actors --------------------------------------------------------------------------- */

static int plain_handle(void *state, act_msg_t *msg)
{
    (void)state;
    act_msg_t *m = NULL;
    tu_send_int(msg->from, TU_RESULT, act_receive(NULL, NULL, 0, &m));
    tu_send_int(msg->from, TU_RESULT, act_receive_type(TU_INT, 10, &m));
    tu_send_int(msg->from, TU_RESULT, act_sleep(1));
    tu_send_int(msg->from, TU_RESULT,
                act_call(msg->from, act_msg_alloc(sizeof(act_msg_t), TU_INT), 10, &m, NULL));
    return 0;
}

static const act_behaviour_t plain_beh = {.handle = plain_handle};

Test(receive, plain_actor_cannot_block)
{
    act_self(); /* so that our messages name us */
    act_pid_t p = tu_spawn_plain(&plain_beh, 0, NULL, NULL);
    tu_send_int(p, TU_INT, 0);
    for (int i = 0; i < 4; i++)
        cr_assert_eq(tu_recv_int(TU_RESULT, 5000), ACT_ENOTFIBER, "call %d", i);
    cr_assert(tu_no_msg(TU_INT, MS(50)), "the refused call sent its request anyway");
    tu_stop(); /* act_call freed the request */
}

/* ---- sleep and yield ------------------------------------------------------------------------ */

#define SLEEP_MS MS(200)

static void sleeper(void *arg)
{
    act_pid_t report = TU_PID(arg);
    int64_t t0 = act_now_ms();
    TU_CHECK(act_sleep(SLEEP_MS) == 0);
    tu_send_int(report, TU_RESULT, act_now_ms() - t0);
}

static int pong_handle(void *state, act_msg_t *msg)
{
    (void)state;
    tu_send_int(msg->from, TU_PONG, ((tu_int_t *)msg)->v);
    return 0;
}

static const act_behaviour_t pong_beh = {.handle = pong_handle};

Test(receive_1sched, sleep_suspends_only_the_fiber)
{
    /* One scheduler: the sleeper and the ponger share it. */
    tu_spawn_fiber(sleeper, TU_ARG(act_self()), NULL);
    act_pid_t p = tu_spawn_plain(&pong_beh, 0, NULL, NULL);
    usleep(10000);
    for (int i = 0; i < 10; i++) {
        tu_send_int(p, TU_INT, i);
        cr_assert_eq(tu_recv_int(TU_PONG, 5000), i);
    }
    act_msg_t *m;
    cr_assert_eq(act_receive_type(TU_RESULT, 0, &m), ACT_ETIMEDOUT,
                 "the pongs waited for the sleeping fiber: it blocked the scheduler");
    int64_t slept = tu_recv_int(TU_RESULT, 5000);
    cr_assert_geq(slept, SLEEP_MS);
    cr_assert_lt(slept, SLEEP_MS + MS(1000));
    /* On a thread it sleeps the thread. */
    int64_t t0 = act_now_ms();
    cr_assert_eq(act_sleep(30), 0);
    cr_assert_geq(act_now_ms() - t0, 30);
    cr_assert_eq(act_sleep(-5), 0, "a negative sleep returns at once");
}

static _Atomic int turn_log[64];
static _Atomic int turn_n;

static void yielder(void *arg)
{
    int id = (int)(intptr_t)arg;
    for (int i = 0; i < 10; i++) {
        int k = atomic_fetch_add(&turn_n, 1);
        if (k < 64)
            atomic_store(&turn_log[k], id);
        act_yield();
    }
}

Test(receive_1sched, yield_lets_the_other_fibers_run)
{
    act_ref_t r1, r2;
    act_spawn_opts_t o1 = {.fiber = yielder, .arg = (void *)1, .monitor = &r1};
    act_spawn_opts_t o2 = {.fiber = yielder, .arg = (void *)2, .monitor = &r2};
    cr_assert_eq(act_spawn(&o1, NULL), 0);
    cr_assert_eq(act_spawn(&o2, NULL), 0);
    act_msg_free(&tu_recv_down(ACT_MSG_DOWN, 5000)->hdr);
    act_msg_free(&tu_recv_down(ACT_MSG_DOWN, 5000)->hdr);
    cr_assert_eq(atomic_load(&turn_n), 20);
    /* Each yield hands the scheduler to the other: they alternate. */
    int switches = 0;
    for (int i = 1; i < 20; i++)
        switches += atomic_load(&turn_log[i]) != atomic_load(&turn_log[i - 1]);
    cr_assert_geq(switches, 15, "only %d switches in 20 turns", switches);
    /* On a thread, yield is harmless. */
    cr_assert_eq(act_yield(), 0);
}

/* ---- fairness ------------------------------------------------------------------------------- */

/* The match function keeps the mailbox from ever running dry: each message it rejects sends
 * the fiber another one, until the test lets the real one through. */
static _Atomic bool stop_flood;
static _Atomic uint64_t skipped;

static bool flood_match(const act_msg_t *m, void *arg)
{
    (void)arg;
    if (m->type == MSG_GO)
        return true;
    atomic_fetch_add_explicit(&skipped, 1, memory_order_relaxed);
    if (!atomic_load_explicit(&stop_flood, memory_order_relaxed))
        act_send(act_self(), act_msg_alloc(sizeof(act_msg_t), MSG_A));
    return false;
}

static void skipper(void *arg)
{
    act_pid_t report = TU_PID(arg);
    act_send(act_self(), act_msg_alloc(sizeof(act_msg_t), MSG_A));
    act_msg_t *m;
    TU_CHECK(act_receive(flood_match, NULL, ACT_INFINITY, &m) == 0);
    act_msg_free(m);
    tu_send_int(report, TU_RESULT, 0);
}

Test(receive_1sched, fiber_skipping_endless_unmatched_messages_does_not_starve_others)
{
    act_pid_t f = tu_spawn_fiber(skipper, TU_ARG(act_self()), NULL);
    act_pid_t p = tu_spawn_plain(&pong_beh, 0, NULL, NULL);
    /* Wait until the skipper is busy skipping. */
    while (atomic_load(&skipped) < 1000)
        usleep(100);
    for (int i = 0; i < 10; i++) {
        tu_send_int(p, TU_INT, i);
        cr_assert_eq(tu_recv_int(TU_PONG, 5000), i, "starved behind a skipping fiber");
    }
    atomic_store(&stop_flood, true);
    act_send(f, act_msg_alloc(sizeof(act_msg_t), MSG_GO));
    cr_assert_eq(tu_recv_int(TU_RESULT, 10000), 0);
}
