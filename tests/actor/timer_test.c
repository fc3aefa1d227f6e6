/*
 * Timers: act_send_after delivers no earlier than asked, in deadline order; a successful
 * cancel (from any thread) guarantees the message is never delivered and frees it; a fired
 * timer cannot be cancelled; timers made on foreign threads; bad arguments.
 */
#include <pthread.h>
#include <unistd.h>

#include "test_util.h"

TestSuite(timer, .init = tu_start2, .fini = tu_stop, .timeout = TMO(30));

static act_msg_t *int_msg(uint32_t type, int64_t v)
{
    tu_int_t *m = act_msg_new(tu_int_t, type);
    m->v = v;
    return &m->hdr;
}

Test(timer, delivers_after_at_least_the_delay)
{
    act_pid_t self = act_self();
    int64_t delays[] = {0, 1, 20, 60};
    for (int i = 0; i < 4; i++) {
        int64_t t0 = act_now_ms();
        act_timer_t t = 0;
        cr_assert_eq(act_send_after(self, delays[i], int_msg(TU_INT, i), &t), 0);
        cr_assert_neq(t, 0u);
        cr_assert_eq(tu_recv_int(TU_INT, 5000), i);
        int64_t dt = act_now_ms() - t0;
        cr_assert_geq(dt, delays[i], "delivered after %lld ms, asked %lld", (long long)dt,
                      (long long)delays[i]);
        cr_assert_lt(dt, delays[i] + MS(1000));
        cr_assert_eq(act_timer_cancel(t, NULL), ACT_ENOTIMER, "a fired timer is gone");
    }
}

/* A fiber makes timers with shuffled delays on its own scheduler; they must arrive in deadline
 * order (deadlines 4 ms apart, far more than the time it takes to make them all). */
#define ORDERED 60
static void order_fiber(void *arg)
{
    act_pid_t report = TU_PID(arg);
    act_pid_t self = act_self();
    for (int i = 0; i < ORDERED; i++) {
        int k = (i * 37) % ORDERED; /* a permutation: 37 is prime to 60 */
        TU_CHECK(act_send_after(self, 4 * k + 1, int_msg(TU_INT, k), NULL) == 0);
    }
    int bad = 0;
    for (int i = 0; i < ORDERED; i++) {
        act_msg_t *m;
        if (!TU_CHECK(act_receive_type(TU_INT, MS(5000), &m) == 0)) {
            bad++;
            break;
        }
        bad += ((tu_int_t *)m)->v != i;
        act_msg_free(m);
    }
    /* Equal delays: creation order. */
    for (int i = 0; i < ORDERED; i++)
        TU_CHECK(act_send_after(self, 10, int_msg(TU_INT, i), NULL) == 0);
    for (int i = 0; i < ORDERED; i++) {
        act_msg_t *m;
        if (!TU_CHECK(act_receive_type(TU_INT, MS(5000), &m) == 0)) {
            bad++;
            break;
        }
        bad += ((tu_int_t *)m)->v != i;
        act_msg_free(m);
    }
    tu_send_int(report, TU_RESULT, bad);
}

Test(timer, many_timers_fire_in_deadline_order)
{
    tu_spawn_fiber(order_fiber, TU_ARG(act_self()), NULL);
    cr_assert_eq(tu_recv_int(TU_RESULT, 10000), 0, "timers out of order");
    cr_assert_eq(tu_failures(), 0);
}

Test(timer, timers_from_a_thread_each_arrive_once)
{
    /* From a thread, timers go round robin over the schedulers' heaps. */
    act_pid_t self = act_self();
    for (int i = 0; i < 100; i++)
        cr_assert_eq(act_send_after(self, 30, int_msg(TU_INT, i), NULL), 0);
    bool seen[100] = {false};
    for (int i = 0; i < 100; i++) {
        int64_t v = tu_recv_int(TU_INT, 5000);
        cr_assert(v >= 0 && v < 100 && !seen[v], "duplicate or unknown timer message");
        seen[v] = true;
    }
    cr_assert(tu_no_msg(TU_INT, MS(50)));
}

Test(timer, cancel_before_firing_never_delivers)
{
    act_pid_t self = act_self();
    act_timer_t t;
    cr_assert_eq(act_send_after(self, 500, int_msg(TU_INT, 1), &t), 0);
    usleep(20000);
    int64_t left = -1;
    cr_assert_eq(act_timer_cancel(t, &left), 0);
    cr_assert_gt(left, 0);
    cr_assert_leq(left, 500 - 20, "remaining %lld ms", (long long)left);
    cr_assert_eq(act_timer_cancel(t, &left), ACT_ENOTIMER, "cancelled twice");
    cr_assert(tu_no_msg(TU_INT, 600), "a cancelled timer fired");
    /* A cancelled earliest timer does not hold back the next one. */
    act_timer_t a, b;
    cr_assert_eq(act_send_after(self, 300, int_msg(TU_INT, 2), &a), 0);
    cr_assert_eq(act_send_after(self, 320, int_msg(TU_INT, 3), &b), 0);
    cr_assert_eq(act_timer_cancel(a, NULL), 0);
    int64_t t0 = act_now_ms();
    cr_assert_eq(tu_recv_int(TU_INT, 5000), 3);
    cr_assert_lt(act_now_ms() - t0, 320 + MS(1000));
    cr_assert_eq(act_timer_cancel(b, NULL), ACT_ENOTIMER);
    cr_assert_eq(act_timer_cancel(0, NULL), ACT_ENOTIMER);
    cr_assert_eq(act_timer_cancel(0xffffffffffffffffull, NULL), ACT_ENOTIMER);
}

/* A fiber creates timers on its scheduler; this thread cancels them. */
static void creator_fiber(void *arg)
{
    act_pid_t report = TU_PID(arg);
    for (int i = 0; i < 100; i++) {
        act_timer_t t = 0;
        TU_CHECK(act_send_after(report, 100 + i, int_msg(TU_INT, i), &t) == 0);
        tu_send_int(report, TU_RESULT, (int64_t)t);
    }
}

Test(timer, cancel_from_another_thread_than_the_creator)
{
    tu_spawn_fiber(creator_fiber, TU_ARG(act_self()), NULL);
    for (int i = 0; i < 100; i++) {
        act_timer_t t = (act_timer_t)tu_recv_int(TU_RESULT, 5000);
        if (i % 2 == 0)
            cr_assert_eq(act_timer_cancel(t, NULL), 0, "timer %d", i);
    }
    /* Exactly the odd ones arrive. */
    for (int i = 1; i < 100; i += 2)
        cr_assert_eq(tu_recv_int(TU_INT, 5000), i);
    cr_assert(tu_no_msg(TU_INT, MS(100)));
}

/* Foreign threads create timers (to an actor) and cancel half of them. */
typedef struct {
    act_pid_t to;
    _Atomic int cancelled;
} fthr_t;

static void foreign_timers(void *arg, unsigned id)
{
    fthr_t *f = arg;
    for (int i = 0; i < 200; i++) {
        act_timer_t t;
        TU_CHECK(act_send_after(f->to, 1 + i % 20, int_msg(TU_INT, id * 1000 + i), &t) == 0);
        if (i % 4 == 0 && act_timer_cancel(t, NULL) == 0)
            atomic_fetch_add(&f->cancelled, 1);
    }
}

typedef struct {
    act_pid_t report;
    int got;
    bool seen[4000];
    int dup;
} counter_t;

static int counter_init(void *state, void *arg)
{
    ((counter_t *)state)->report = TU_PID(arg);
    return 0;
}

static int counter_handle(void *state, act_msg_t *msg)
{
    counter_t *c = state;
    int64_t v = ((tu_int_t *)msg)->v;
    if (msg->type == TU_PING) {
        tu_send_int(c->report, TU_RESULT, c->got);
        tu_send_int(c->report, TU_RESULT, c->dup);
        return 0;
    }
    if (v < 0 || v >= 4000 || c->seen[v])
        c->dup++;
    else
        c->seen[v] = true;
    c->got++;
    return 0;
}

static const act_behaviour_t counter_beh = {.init = counter_init, .handle = counter_handle};

Test(timer, timers_from_foreign_threads_fire_once_unless_cancelled)
{
    static fthr_t f;
    f.to = tu_spawn_plain(&counter_beh, sizeof(counter_t), TU_ARG(act_self()), NULL);
    tu_threads(4, foreign_timers, &f);
    int64_t want = 4 * 200 - atomic_load(&f.cancelled);
    /* Every deadline is at most 20 ms away: ask until all arrived (or clearly never will). */
    int64_t got = 0, dup = 0, end = act_now_ms() + MS(5000);
    do {
        usleep(20000);
        tu_send_int(f.to, TU_PING, 0);
        got = tu_recv_int(TU_RESULT, 5000);
        dup = tu_recv_int(TU_RESULT, 5000);
    } while (got < want && act_now_ms() < end);
    cr_assert_eq(dup, 0, "a timer fired twice");
    cr_assert_eq(got, want, "%lld timer messages arrived, %lld expected", (long long)got,
                 (long long)want);
    /* And nothing more comes: a cancelled timer never fires. */
    usleep(50000);
    tu_send_int(f.to, TU_PING, 0);
    cr_assert_eq(tu_recv_int(TU_RESULT, 5000), want);
    tu_recv_int(TU_RESULT, 5000);
    cr_assert_eq(tu_failures(), 0);
}

/* Timers made by threads while the schedulers go to sleep and wake up: a new earliest timer
 * made just as its scheduler is about to sleep must still be armed. Nothing else happens in
 * the system meanwhile (any activity would wake the schedulers and hide a lost timer). */
typedef struct {
    act_msg_t hdr;
    int64_t deadline;
} dl_t;

#define BURSTY 1000

static void bursty_timers(void *arg, unsigned id)
{
    act_pid_t to = *(act_pid_t *)arg;
    for (int i = 0; i < BURSTY; i++) {
        int d = 1 + (int)(i + id) % 20;
        dl_t *m = act_msg_new(dl_t, TU_INT);
        m->deadline = act_now_ms() + d;
        TU_CHECK(act_send_after(to, d, &m->hdr, NULL) == 0);
        if (i % 50 == 49)
            usleep(25000); /* let every timer fire and the schedulers fall asleep */
    }
}

static void *bursty_main(void *arg)
{
    tu_threads(4, bursty_timers, arg);
    return NULL;
}

Test(timer, timers_from_threads_racing_with_sleep_are_never_lost)
{
    static act_pid_t self;
    self = act_self();
    pthread_t th;
    cr_assert_eq(pthread_create(&th, NULL, bursty_main, &self), 0);
    int64_t worst = 0;
    for (int i = 0; i < 4 * BURSTY; i++) {
        act_msg_t *m;
        int rc = act_receive_type(TU_INT, MS(2000), &m);
        cr_assert_eq(rc, 0, "timer %d of %d never fired", i, 4 * BURSTY);
        int64_t late = act_now_ms() - ((dl_t *)m)->deadline;
        cr_assert_geq(late, 0, "fired early");
        if (late > worst)
            worst = late;
        act_msg_free(m);
    }
    pthread_join(th, NULL);
    cr_assert_lt(worst, MS(1000), "a timer fired %lld ms late", (long long)worst);
}

Test(timer, bad_arguments_and_dead_targets)
{
    act_pid_t self = act_self();
    act_timer_t t = 123;
    cr_assert_eq(act_send_after(self, -1, int_msg(TU_INT, 0), &t), ACT_EBADARG);
    cr_assert_eq(t, 123u, "no handle on failure");
    /* A timer to a dead pid fires into nothing: the message is freed (tu_stop checks, below). */
    act_pid_t p = tu_probe((tu_probe_opts_t){0});
    act_exit(p, ACT_KILL);
    cr_assert(tu_wait_dead(p, 5000));
    cr_assert_eq(act_send_after(p, 1, int_msg(TU_INT, 0), &t), 0);
    usleep(MS(20) * 1000);
    /* Pending timers at system stop are freed too. */
    cr_assert_eq(act_send_after(self, 100000, int_msg(TU_INT, 0), NULL), 0);
    tu_stop();
}

/* A timer made by an actor names the actor as the sender. */
static int stamp_handle(void *state, act_msg_t *msg)
{
    (void)state;
    if (msg->type == TU_PING)
        act_send_after(TU_PID(((tu_int_t *)msg)->v), 1, int_msg(TU_INT, 0), NULL);
    return 0;
}

static const act_behaviour_t stamp_beh = {.handle = stamp_handle};

Test(timer, timer_message_names_its_creator)
{
    act_pid_t p = tu_spawn_plain(&stamp_beh, 0, NULL, NULL);
    tu_send_int(p, TU_PING, (int64_t)act_self());
    act_msg_t *m;
    cr_assert_eq(act_receive_type(TU_INT, MS(5000), &m), 0);
    act_pid_t from = m->from;
    act_msg_free(m);
    cr_assert_eq(from, p);
}

/* An actor that arms a 1 ms timer to itself on TU_INT (cancelling the one before), cancels
 * it on TU_PONG, counts the timers that fire (TU_PING), and answers TU_CMD with the count. */
static int rearm_handle(void *state, act_msg_t *msg)
{
    struct {
        act_timer_t t;
        int64_t fired;
    } *r = state;
    if (r->t && msg->type != TU_PING && msg->type != TU_CMD)
        act_timer_cancel(r->t, NULL);
    if (msg->type == TU_INT)
        act_send_after(act_self(), 1, act_msg_alloc(sizeof(act_msg_t), TU_PING), &r->t);
    else if (msg->type == TU_PING)
        r->fired++;
    else if (msg->type == TU_CMD)
        tu_send_int((act_pid_t)((tu_int_t *)msg)->v, TU_RESULT, r->fired);
    if (msg->type == TU_PING || msg->type == TU_PONG)
        r->t = 0;
    return 0;
}

/* A timer that fires as its scheduler goes to sleep runs at the top of the loop's blocking
 * turn, before the poll: the actor it wakes must run then, not at the next event (on an idle
 * node: never; and a message sent to it meanwhile finds its mailbox busy and wakes nobody).
 * Rounds of "arm a 1 ms timer" then, about when it fires, "cancel it", from this thread;
 * every 50 rounds the actor must still answer. */
Test(timer, a_timer_firing_as_its_scheduler_sleeps_wakes_its_actor)
{
    static const act_behaviour_t b = {.name = "rearm", .handle = rearm_handle};
    act_pid_t p = tu_spawn_plain(&b, 2 * sizeof(int64_t), NULL, NULL);
    uint64_t x = 12345;
    int64_t fired = 0;
    for (int i = 0; i < TU_SCALED(2000, 500); i++) {
        tu_send_int(p, TU_INT, 0);
        x = x * 6364136223846793005ull + 1442695040888963407ull;
        usleep((useconds_t)(800 + (x >> 33) % 600));
        tu_send_int(p, TU_PONG, 0);
        if (i % 50 == 49) {
            tu_send_int(p, TU_CMD, (int64_t)act_self());
            act_msg_t *m;
            int rc = act_receive_type(TU_RESULT, MS(2000), &m);
            cr_assert_eq(rc, 0, "round %d: the actor no longer runs", i);
            fired = ((tu_int_t *)m)->v;
            act_msg_free(m);
        }
    }
    cr_log_info("%lld of the timers fired before their cancel", (long long)fired);
}
