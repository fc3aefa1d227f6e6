/*
 * Stress: many threads, many messages, many short lives. What the ThreadSanitizer run leans
 * on, and what the optimized run drives hardest (the sanitizer builds use smaller counts).
 *
 * (a) 8 producer threads x 1M messages into one plain actor: nothing lost or duplicated,
 *     per-sender order kept.
 * (b) spawn/exit storms while threads and actors send to the living and the dead.
 * (c) work stealing: everything spawned from one scheduler still runs on both.
 * (d) timers firing while the schedulers are busy: each exactly once, cancels exact.
 * (e) link and monitor storms among dying actors: one DOWN per monitor, nothing left.
 * (f) fibers that only yield, with messages piling up, die of exit signals sent from threads
 *     at once: each of the first reason that lands, its backlog freed.
 */
#include <pthread.h>
#include <stdlib.h>
#include <unistd.h>

#include "test_util.h"

TestSuite(stress, .init = tu_start2, .fini = tu_stop, .timeout = TMO(120));

enum { MSG_SEQ = TU_INT + 400, MSG_DONE, MSG_REPORT, MSG_STOP, MSG_WORK, MSG_TICK };

static uint64_t rng_next(uint64_t *x)
{
    *x = *x * 6364136223846793005ULL + 1442695040888963407ULL;
    return *x >> 33;
}

/* ---- (a) many producers, one mailbox -------------------------------------------------------- */

#define PRODUCERS 8
static const uint32_t per_producer = TU_SCALED(1000000, 50000);

typedef struct {
    act_pid_t report;
    uint64_t next[PRODUCERS];
    uint64_t got, bad;
    unsigned done;
} sink_t;

static int sink_init(void *state, void *arg)
{
    ((sink_t *)state)->report = TU_PID(arg);
    return 0;
}

static int sink_handle(void *state, act_msg_t *msg)
{
    sink_t *s = state;
    uint64_t v = (uint64_t)((tu_int_t *)msg)->v;
    unsigned p = (unsigned)(v >> 32);
    if (msg->type == MSG_SEQ) {
        if (p >= PRODUCERS || (uint32_t)v != s->next[p])
            s->bad++;
        else
            s->next[p]++;
        s->got++;
        return 0;
    }
    if (msg->type == MSG_DONE && ++s->done == PRODUCERS) {
        for (unsigned i = 0; i < PRODUCERS; i++)
            if (s->next[i] != per_producer)
                s->bad++;
        tu_send_int(s->report, MSG_REPORT, (int64_t)s->got);
        tu_send_int(s->report, MSG_REPORT, (int64_t)s->bad);
        return act_stop(ACT_NORMAL);
    }
    return 0;
}

static const act_behaviour_t sink_beh = {.name = "sink", .init = sink_init, .handle = sink_handle};

static void producer(void *arg, unsigned p)
{
    act_pid_t to = *(act_pid_t *)arg;
    for (uint32_t k = 0; k < per_producer; k++) {
        tu_int_t *m = act_msg_new(tu_int_t, MSG_SEQ);
        m->v = (int64_t)(((uint64_t)p << 32) | k);
        if (ACT_UNLIKELY(act_send(to, &m->hdr) != 0)) {
            TU_CHECK(!"send to the sink failed");
            return;
        }
    }
    tu_send_int(to, MSG_DONE, p);
}

Test(stress, eight_producers_one_mailbox_nothing_lost_and_order_kept)
{
    act_pid_t sink = tu_spawn_plain(&sink_beh, sizeof(sink_t), TU_ARG(act_self()), NULL);
    int64_t t0 = act_now_ms();
    tu_threads(PRODUCERS, producer, &sink);
    int64_t got = tu_recv_int(MSG_REPORT, 60000);
    int64_t bad = tu_recv_int(MSG_REPORT, 60000);
    int64_t ms = act_now_ms() - t0;
    cr_log_info("stress: %lld messages in %lld ms", (long long)got, (long long)ms);
    cr_assert_eq(got, (int64_t)per_producer * PRODUCERS, "lost or duplicated messages");
    cr_assert_eq(bad, 0, "%lld messages out of order", (long long)bad);
    cr_assert_eq(tu_failures(), 0);
}

/* ---- (b) spawn/exit storms ------------------------------------------------------------------ */

#define RING 256
/* Each spawner runs this long (and at least this many spawns), so the senders overlap. */
#define STORM_MS 400
#define STORM_MIN_SPAWNS 2000

typedef struct {
    act_pid_t _Atomic ring[RING]; /* recently spawned pids, alive or not */
    _Atomic uint64_t spawned;
    _Atomic bool stop;
    _Atomic uint64_t sends, dead_sends;
} storm_t;

static storm_t storm;

/* A victim handles a few messages, then exits one of several ways. */
static int victim_handle(void *state, act_msg_t *msg)
{
    int *n = state;
    if (msg->type == MSG_STOP) {
        switch (((tu_int_t *)msg)->v % 4) {
        case 0:
            return act_stop(ACT_NORMAL);
        case 1:
            return -EIO;
        case 2:
            act_fail(ACT_REASON_USER);
        default:
            act_exit(act_self(), ACT_SHUTDOWN);
            return 0;
        }
    }
    ++*n;
    return 0;
}

static const act_behaviour_t victim_beh = {.name = "victim", .handle = victim_handle};

static void victim_fiber(void *arg)
{
    (void)arg;
    for (;;) {
        act_msg_t *m;
        if (act_receive(NULL, NULL, ACT_INFINITY, &m) != 0)
            return;
        bool stop = m->type == MSG_STOP;
        act_msg_free(m);
        if (stop)
            return;
    }
}

/* Spawns victims in a loop, publishing them, and stops each some spawns later. */
static void spawner(void *arg)
{
    act_pid_t report = TU_PID(arg);
    uint64_t x = 42;
    act_pid_t lag[64] = {0};
    int64_t end = act_now_ms() + STORM_MS;
    for (int i = 0; i < STORM_MIN_SPAWNS || act_now_ms() < end; i++) {
        act_pid_t p = ACT_PID_NONE;
        act_spawn_opts_t o = {0};
        if (i % 8 == 7) {
            o.fiber = victim_fiber;
        } else {
            o.behaviour = &victim_beh;
            o.state_size = sizeof(int);
        }
        if (!TU_CHECK(act_spawn(&o, &p) == 0))
            break;
        atomic_store_explicit(&storm.ring[rng_next(&x) % RING], p, memory_order_relaxed);
        atomic_fetch_add_explicit(&storm.spawned, 1, memory_order_relaxed);
        if (lag[i % 64])
            tu_send_int(lag[i % 64], MSG_STOP, (int64_t)rng_next(&x));
        lag[i % 64] = p;
    }
    for (int i = 0; i < 64; i++)
        if (lag[i])
            tu_send_int(lag[i], MSG_STOP, i);
    tu_send_int(report, MSG_REPORT, 0);
}

static void storm_sender(void *arg, unsigned id)
{
    (void)arg;
    uint64_t x = id + 1, sends = 0, dead = 0;
    while (!atomic_load_explicit(&storm.stop, memory_order_relaxed)) {
        act_pid_t p = atomic_load_explicit(&storm.ring[rng_next(&x) % RING], memory_order_relaxed);
        if (!p)
            continue;
        unsigned what = rng_next(&x) % 64;
        if (what == 0) {
            act_exit(p, ACT_KILL);
        } else if (what == 1) {
            act_ref_t ref;
            act_monitor(p, &ref);
            act_demonitor(ref, ACT_DEMONITOR_FLUSH);
        } else if (tu_send_int(p, TU_INT, (int64_t)x) == ACT_ENOPROC) {
            dead++;
        }
        /* Bursts: unthrottled threads would outrun the two schedulers and grow mailboxes
         * without bound (there is no back-pressure on sends, as in Erlang). */
        if (++sends % 64 == 0)
            usleep(200);
    }
    atomic_fetch_add(&storm.sends, sends);
    atomic_fetch_add(&storm.dead_sends, dead);
}

/* An actor that sends to the ring too, one batch per message to itself. */
static int relay_handle(void *state, act_msg_t *msg)
{
    uint64_t *x = state;
    (void)msg;
    if (atomic_load_explicit(&storm.stop, memory_order_relaxed))
        return act_stop(ACT_NORMAL);
    for (int i = 0; i < 50; i++) {
        act_pid_t p = atomic_load_explicit(&storm.ring[rng_next(x) % RING], memory_order_relaxed);
        if (p)
            tu_send_int(p, TU_INT, i);
    }
    tu_send_int(act_self(), MSG_TICK, 0);
    return 0;
}

static const act_behaviour_t relay_beh = {.name = "relay", .handle = relay_handle};

static void *storm_senders(void *arg)
{
    tu_threads(2, storm_sender, arg);
    return NULL;
}

static bool all_dead(void *arg)
{
    (void)arg;
    return act_actor_count() == 0;
}

Test(stress, spawn_exit_storm_with_concurrent_senders)
{
    act_pid_t relay = tu_spawn_plain(&relay_beh, sizeof(uint64_t), NULL, NULL);
    tu_send_int(relay, MSG_TICK, 0);
    pthread_t th;
    cr_assert_eq(pthread_create(&th, NULL, storm_senders, NULL), 0);
    tu_spawn_fiber(spawner, TU_ARG(act_self()), NULL);
    tu_spawn_fiber(spawner, TU_ARG(act_self()), NULL);
    tu_recv_int(MSG_REPORT, 60000);
    tu_recv_int(MSG_REPORT, 60000);
    atomic_store(&storm.stop, true);
    pthread_join(th, NULL);
    cr_log_info("storm: %llu spawns, %llu sends (%llu to dead pids)",
                (unsigned long long)atomic_load(&storm.spawned),
                (unsigned long long)atomic_load(&storm.sends),
                (unsigned long long)atomic_load(&storm.dead_sends));
    cr_assert_geq(atomic_load(&storm.spawned), 2u * STORM_MIN_SPAWNS);
    cr_assert_gt(atomic_load(&storm.dead_sends), 0u, "the senders never met a dead pid");
    /* Every victim was told to stop (or killed), the relay stops on its next tick: no actor
     * is left. */
    cr_assert(tu_wait(all_dead, NULL, 10000), "%llu actors still alive",
              (unsigned long long)act_actor_count());
    cr_assert_eq(tu_failures(), 0);
}

/* ---- (c) stealing under uneven load --------------------------------------------------------- */

static const int steal_workers = TU_SCALED(400, 200);
static _Atomic int ran_on[2];

static int worker_handle(void *state, act_msg_t *msg)
{
    (void)state;
    /* About a millisecond of work, so one scheduler alone would take a while. */
    int64_t end = act_now_ms() + 1;
    while (act_now_ms() < end)
        ;
    int s = act_sched_self();
    if (TU_CHECK(s == 0 || s == 1))
        atomic_fetch_add(&ran_on[s], 1);
    tu_send_int(TU_PID((void *)(uintptr_t)((tu_int_t *)msg)->v), MSG_REPORT, s);
    return act_stop(ACT_NORMAL);
}

static const act_behaviour_t worker_beh = {.name = "worker", .handle = worker_handle};

static void steal_spawner(void *arg)
{
    act_pid_t report = TU_PID(arg);
    TU_CHECK(act_sched_self() == 0);
    for (int i = 0; i < steal_workers; i++) {
        act_pid_t p;
        act_spawn_opts_t o = {.behaviour = &worker_beh};
        if (!TU_CHECK(act_spawn(&o, &p) == 0))
            break;
        tu_send_int(p, TU_INT, (int64_t)report);
    }
}

Test(stress, idle_scheduler_steals_work_spawned_on_another)
{
    act_spawn_opts_t o = {
        .fiber = steal_spawner, .arg = TU_ARG(act_self()), .sched = ACT_SCHED_ON(0)};
    cr_assert_eq(act_spawn(&o, NULL), 0);
    int on[2] = {0, 0};
    for (int i = 0; i < steal_workers; i++) {
        int64_t s = tu_recv_int(MSG_REPORT, 30000);
        if (s == 0 || s == 1)
            on[s]++;
    }
    cr_log_info("steal: %d on scheduler 0, %d on scheduler 1", on[0], on[1]);
    cr_assert_eq(on[0] + on[1], steal_workers);
    /* Scheduler 1 had nothing of its own: whatever it ran, it stole. */
    cr_assert_gt(on[1], 0, "scheduler 1 stole nothing");
    cr_assert_gt(on[0], 0);
    /* act_info.sched agrees with where actors ran. */
    cr_assert_eq(atomic_load(&ran_on[0]) + atomic_load(&ran_on[1]), steal_workers);
    cr_assert_eq(tu_failures(), 0);
}

/* Pinned actors stay where they were put, however busy their scheduler and idle the other. */
static int pinned_handle(void *state, act_msg_t *msg)
{
    (void)state;
    int64_t end = act_now_ms() + 1;
    while (act_now_ms() < end)
        ;
    tu_send_int(TU_PID((void *)(uintptr_t)((tu_int_t *)msg)->v), MSG_REPORT, act_sched_self());
    return 0;
}

static const act_behaviour_t pinned_beh = {.name = "pinned", .handle = pinned_handle};

Test(stress, pinned_actors_never_migrate_under_stealing)
{
    enum { N = 60 };
    act_pid_t p[N];
    for (int i = 0; i < N; i++) {
        /* Two thirds on scheduler 0: an uneven load that invites stealing. */
        act_spawn_opts_t o = {.behaviour = &pinned_beh, .sched = ACT_SCHED_ON(i % 3 == 2)};
        cr_assert_eq(act_spawn(&o, &p[i]), 0);
    }
    for (int round = 0; round < 3; round++) {
        for (int i = 0; i < N; i++)
            tu_send_int(p[i], TU_INT, (int64_t)act_self());
        int on[2] = {0, 0};
        for (int i = 0; i < N; i++) {
            int64_t s = tu_recv_int(MSG_REPORT, 10000);
            cr_assert(s == 0 || s == 1);
            on[s]++;
        }
        cr_assert_eq(on[0], 2 * N / 3, "round %d: a pinned actor ran elsewhere", round);
        cr_assert_eq(on[1], N / 3);
    }
    for (int i = 0; i < N; i++) {
        act_info_t info;
        cr_assert_eq(act_info(p[i], &info), 0);
        cr_assert(info.pinned);
        cr_assert_eq(info.sched, i % 3 == 2);
    }
}

/* ---- (d) timers under load ------------------------------------------------------------------ */

static const int n_timers = TU_SCALED(20000, 3000);

/* The counter records which timers fired; the makers record which cancels succeeded. Both
 * are compared once everything is over (a cancel and its timer's delivery race: judging at
 * delivery time, before the maker knows whether its cancel won, cannot be exact). */
typedef struct {
    act_pid_t report;
    int got, dup, bad;
} tcount_t;

static uint8_t *t_seen;      /* written by the counter only */
static uint8_t *t_cancelled; /* written by each id's maker only, after a cancel returned 0 */

static int tcount_init(void *state, void *arg)
{
    tcount_t *c = state;
    c->report = TU_PID(arg);
    return 0;
}

static int tcount_handle(void *state, act_msg_t *msg)
{
    tcount_t *c = state;
    int64_t v = ((tu_int_t *)msg)->v;
    if (msg->type == TU_PING) {
        /* The report's send publishes t_seen to the test (mailbox release/acquire). */
        tu_send_int(c->report, MSG_REPORT, c->got);
        tu_send_int(c->report, MSG_REPORT, c->dup);
        tu_send_int(c->report, MSG_REPORT, c->bad);
        return 0;
    }
    if (v < 0 || v >= n_timers) {
        c->bad++;
        return 0;
    }
    if (t_seen[v])
        c->dup++;
    t_seen[v] = 1;
    c->got++;
    return 0;
}

static const act_behaviour_t tcount_beh = {
    .name = "tcount", .init = tcount_init, .handle = tcount_handle};

/* Keeps its scheduler busy: a message to itself per turn, with some work. */
static _Atomic bool busy_stop;

static int busy_handle(void *state, act_msg_t *msg)
{
    (void)state;
    (void)msg;
    if (atomic_load(&busy_stop))
        return act_stop(ACT_NORMAL);
    volatile uint64_t x = 0;
    for (int i = 0; i < 2000; i++)
        x += (uint64_t)i;
    tu_send_int(act_self(), MSG_TICK, 0);
    return 0;
}

static const act_behaviour_t busy_beh = {.name = "busy", .handle = busy_handle};

typedef struct {
    act_pid_t to;
    int first, count;
    _Atomic int *cancels;
} tmaker_arg_t;

static void make_timers(tmaker_arg_t *a)
{
    uint64_t x = (uint64_t)a->first + 7;
    int cancels = 0;
    act_timer_t recent[16] = {0};
    int recent_id[16];
    for (int i = a->first; i < a->first + a->count; i++) {
        tu_int_t *m = act_msg_new(tu_int_t, TU_INT);
        m->v = i;
        act_timer_t t;
        if (!TU_CHECK(act_send_after(a->to, (int64_t)(rng_next(&x) % 40), &m->hdr, &t) == 0))
            return;
        /* Cancel some: right away, or a little later (some will have fired by then). */
        unsigned k = (unsigned)(rng_next(&x) % 16);
        if (recent[k] && rng_next(&x) % 2 && act_timer_cancel(recent[k], NULL) == 0) {
            t_cancelled[recent_id[k]] = 1; /* a cancel that returns 0: never delivered */
            cancels++;
        }
        recent[k] = t;
        recent_id[k] = i;
        if (i % 100 == 0)
            usleep(500);
    }
    atomic_fetch_add(a->cancels, cancels);
}

static void tmaker_fiber(void *arg)
{
    make_timers(arg);
}

static void tmaker_thread(void *arg, unsigned i)
{
    make_timers(&((tmaker_arg_t *)arg)[i]);
}

Test(stress, timers_under_load_fire_exactly_once_and_cancels_are_exact)
{
    t_cancelled = calloc((size_t)n_timers, 1);
    t_seen = calloc((size_t)n_timers, 1);
    act_pid_t counter = tu_spawn_plain(&tcount_beh, sizeof(tcount_t), TU_ARG(act_self()), NULL);
    act_pid_t busy[2];
    for (int i = 0; i < 2; i++) {
        act_spawn_opts_t o = {.behaviour = &busy_beh, .sched = ACT_SCHED_ON(i)};
        cr_assert_eq(act_spawn(&o, &busy[i]), 0);
        tu_send_int(busy[i], MSG_TICK, 0);
    }
    static _Atomic int cancels;
    /* Half the timers from two threads, half from two fibers (one per scheduler). */
    static tmaker_arg_t args[4];
    int quarter = n_timers / 4;
    for (int i = 0; i < 4; i++)
        args[i] = (tmaker_arg_t){
            .to = counter, .first = i * quarter, .count = quarter, .cancels = &cancels};
    act_ref_t refs[2];
    for (int i = 0; i < 2; i++) {
        act_spawn_opts_t o = {.fiber = tmaker_fiber,
                              .arg = &args[2 + i],
                              .sched = ACT_SCHED_ON(i),
                              .monitor = &refs[i]};
        cr_assert_eq(act_spawn(&o, NULL), 0);
    }
    tu_threads(2, tmaker_thread, args);
    for (int i = 0; i < 2; i++)
        act_msg_free(&tu_recv_down(ACT_MSG_DOWN, 60000)->hdr);
    int want = 4 * quarter - atomic_load(&cancels);
    /* All deadlines are within 40 ms of their creation, and every timer is made: poll until
     * everything arrived and no late one (a cancelled timer firing after all) can still come. */
    int64_t made = act_now_ms();
    int64_t got = 0, dup = 0, bad = 0, end = made + MS(10000);
    do {
        usleep(20000);
        tu_send_int(counter, TU_PING, 0);
        got = tu_recv_int(MSG_REPORT, 10000);
        dup = tu_recv_int(MSG_REPORT, 10000);
        bad = tu_recv_int(MSG_REPORT, 10000);
    } while ((got < want || act_now_ms() < made + 100) && act_now_ms() < end);
    atomic_store(&busy_stop, true);
    cr_log_info("timers: %d made, %d cancelled", 4 * quarter, atomic_load(&cancels));
    cr_assert_eq(dup, 0, "%lld timers fired twice", (long long)dup);
    cr_assert_eq(bad, 0, "%lld messages with an unknown id", (long long)bad);
    cr_assert_eq(got, want, "%lld of %d timers fired", (long long)got, want);
    cr_assert_gt(atomic_load(&cancels), 0);
    /* Exact: every timer either fired or was cancelled, never both, never neither. The makers
     * are done (their DOWNs came) and the counter's last report published t_seen. */
    for (int i = 0; i < 4 * quarter; i++)
        cr_assert_neq(t_seen[i], t_cancelled[i], "timer %d %s", i,
                      t_seen[i] ? "fired although its cancel succeeded"
                                : "neither fired nor was cancelled");
    cr_assert_eq(tu_failures(), 0);
    free(t_seen);
    free(t_cancelled);
}

/* ---- (e) link and monitor storms ------------------------------------------------------------ */

#define GROUP 16
static const int storm_rounds = TU_SCALED(300, 40);

Test(stress, link_and_monitor_storms_among_dying_actors)
{
    uint64_t x = 12345;
    for (int round = 0; round < storm_rounds; round++) {
        act_pid_t g[GROUP];
        act_ref_t refs[GROUP];
        for (int i = 0; i < GROUP; i++)
            g[i] = tu_probe((tu_probe_opts_t){
                .fiber = i % 4 == 3, .trap_exit = i % 5 == 4, .monitor = &refs[i]});
        /* Links and monitors among them, while some already die. */
        for (int i = 0; i < GROUP; i++) {
            tu_cmd(g[i], TU_OP_LINK, 0, g[(i + 1) % GROUP]);
            tu_cmd(g[i], TU_OP_MONITOR, 0, g[rng_next(&x) % GROUP]);
            tu_cmd(g[i], TU_OP_LINK, 0, g[rng_next(&x) % GROUP]);
            if (rng_next(&x) % 6 == 0)
                tu_cmd(g[rng_next(&x) % GROUP], TU_OP_FAILF, ACT_REASON_USER + 1, 0);
            if (rng_next(&x) % 8 == 0)
                act_exit(g[rng_next(&x) % GROUP], ACT_KILL);
            if (rng_next(&x) % 8 == 0)
                tu_cmd(g[i], TU_OP_UNLINK, 0, g[(i + 1) % GROUP]);
        }
        /* Whoever survived (trappers, unlinked ones) goes now. */
        for (int i = 0; i < GROUP; i++)
            act_exit(g[i], ACT_KILL);
        /* Exactly one DOWN per member. */
        bool seen[GROUP] = {false};
        for (int k = 0; k < GROUP; k++) {
            act_down_t *d = tu_recv_down(ACT_MSG_DOWN, 10000);
            int found = -1;
            for (int i = 0; i < GROUP; i++)
                if (refs[i] == d->hdr.ref)
                    found = i;
            cr_assert_geq(found, 0, "round %d: a DOWN with an unknown ref", round);
            cr_assert_not(seen[found], "round %d: two DOWNs for one monitor", round);
            cr_assert_eq(d->pid, g[found]);
            seen[found] = true;
            act_msg_free(&d->hdr);
        }
        /* Drop the probes' reports (link results, their own DOWNs, EXITs). A duplicate DOWN
         * that comes later than this is caught by the next round (its ref is unknown there) or
         * by the final wait below. */
        act_msg_t *m;
        while (act_receive(NULL, NULL, 0, &m) == 0) {
            cr_assert_neq(m->type, ACT_MSG_DOWN, "round %d: a DOWN too many", round);
            act_msg_free(m);
        }
    }
    cr_assert(tu_wait(all_dead, NULL, 10000));
    /* Every actor is dead, so every DOWN has been sent: wait a while for a late one. */
    act_msg_t *m;
    while (act_receive(NULL, NULL, MS(100), &m) == 0) {
        cr_assert_neq(m->type, ACT_MSG_DOWN, "a DOWN too many, after the last round");
        act_msg_free(m);
    }
    cr_assert_eq(tu_failures(), 0);
}

/* ---- (f) exit signals to fibers that only yield ------------------------------------------ */

#define YIELDERS TU_SCALED(400, 60)
#define SIGNALLERS 3

static act_pid_t yielders[400];

static void yielder(void *arg)
{
    (void)arg;
    for (;;)
        act_yield();
}

/* Thread i floods every yielder with messages, then sends each its exit signal: reason
 * ACT_REASON_USER + i, or a kill from the last thread. */
static void signaller(void *arg, unsigned i)
{
    (void)arg;
    for (int k = 0; k < YIELDERS; k++)
        for (int j = 0; j < 20; j++)
            tu_send_int(yielders[k], MSG_WORK, j);
    for (int k = 0; k < YIELDERS; k++)
        act_exit(yielders[(k + (int)i * 17) % YIELDERS],
                 i == SIGNALLERS - 1 ? ACT_KILL : ACT_REASON_USER + (int)i);
    act_thread_detach();
}

Test(stress, yielding_fibers_die_of_concurrent_exit_signals)
{
    act_ref_t refs[400];
    for (int k = 0; k < YIELDERS; k++)
        yielders[k] = tu_spawn_fiber(yielder, NULL, &refs[k]);
    tu_threads(SIGNALLERS, signaller, NULL);
    for (int k = 0; k < YIELDERS; k++) {
        act_down_t *d = tu_recv_down(ACT_MSG_DOWN, 20000);
        cr_assert(d->reason == ACT_KILLED ||
                      (d->reason >= ACT_REASON_USER && d->reason < ACT_REASON_USER + SIGNALLERS),
                  "reason %s", act_reason_str(d->reason));
        act_msg_free(&d->hdr);
    }
    tu_stop(); /* every backlog freed */
}
