/*
 * actor_bench: the runtime's benchmarks, mode for mode the programs of the Erlang peer
 * (tests/bench/peers/actor/actor_bench.erl), printing the same JSON fields so one script pairs
 * them (scripts/bench-actor.sh).
 *
 *   actor_bench MODE [SCHEDULERS]
 *
 * Modes: spawn_exit, spawn_idle, spawn_idle_fiber, spawn_idle_linked, spawn_idle_server,
 * ping_pong, ring_1k, ring_100k, fan_in, skynet, sup_restart, sup_restart_chunked (bench_sup.c).
 * Every message is allocated and freed like any user message (no recycling tricks), and every
 * actor is an ordinary plain actor unless the mode says fiber or server.
 */
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "actor/act.h"
#include "bench_sup.h"

#define N_SPAWN 1000000
#define PINGPONG_MSGS 10000000
#define RING_HOPS 10000000
#define FANIN_SENDERS 1000
#define FANIN_PER_SENDER 10000
#define IDLE_FIBERS 10000

enum { M_GO = ACT_MSG_USER, M_INT, M_DONE, M_STOP, M_NEXT };

typedef struct {
    act_msg_t hdr;
    int64_t v;
} int_msg_t;

static act_pid_t main_pid;
static unsigned nsched;

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* One JSON line; extra is a preformatted ",\"k\":v..." suffix or "". */
static void emit(const char *bench, const char *metric, double value, const char *unit,
                 const char *extra_fmt, ...)
{
    char extra[256] = "";
    if (extra_fmt) {
        va_list ap;
        va_start(ap, extra_fmt);
        vsnprintf(extra, sizeof extra, extra_fmt, ap);
        va_end(ap);
    }
    printf("{\"peer\":\"dynamo\",\"bench\":\"%s\",\"metric\":\"%s\",\"value\":%.4f,"
           "\"unit\":\"%s\",\"schedulers\":%u%s}\n",
           bench, metric, value, unit, nsched, extra);
    fflush(stdout);
}

static long rss_bytes(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    long kb = 0;
    while (f && fgets(line, sizeof line, f))
        if (sscanf(line, "VmRSS: %ld kB", &kb) == 1)
            break;
    if (f)
        fclose(f);
    return kb * 1024;
}

static void send_int(act_pid_t to, uint32_t type, int64_t v)
{
    int_msg_t *m = act_msg_new(int_msg_t, type);
    m->v = v;
    act_send(to, &m->hdr);
}

static void wait_done(void)
{
    act_msg_t *m;
    if (act_receive_type(M_DONE, ACT_INFINITY, &m) == 0)
        act_msg_free(m);
}

static void wait_actors(uint64_t base)
{
    while (act_actor_count() > base)
        usleep(1000);
}

/* ---- spawn ---------------------------------------------------------------------------------- */

static int exit_at_once(void *state, void *arg)
{
    (void)state;
    (void)arg;
    return act_stop(ACT_NORMAL);
}

static int never(void *state, act_msg_t *msg)
{
    (void)state;
    (void)msg;
    return act_stop(ACT_NORMAL);
}

static const act_behaviour_t quick = {.name = "quick", .init = exit_at_once, .handle = never};

/* The Erlang peer spawns from a process: so do we, from a fiber. */
static void spawner(void *arg)
{
    const act_behaviour_t *b = arg;
    act_spawn_opts_t o = {.behaviour = b};
    for (long i = 0; i < N_SPAWN; i++)
        if (act_spawn(&o, NULL) != 0)
            abort();
    send_int(main_pid, M_DONE, 0);
}

static void run_spawn_exit(void)
{
    uint64_t base = act_actor_count();
    double t0 = now_s();
    act_spawn_opts_t o = {.fiber = spawner, .arg = (void *)&quick};
    act_spawn(&o, NULL);
    wait_done();
    double t1 = now_s();
    wait_actors(base);
    double t2 = now_s();
    emit("spawn_exit", "time_s", t2 - t0, "s", ",\"spawn_loop_s\":%.4f", t1 - t0);
    emit("spawn_exit", "rate", N_SPAWN / (t2 - t0), "actors/s", NULL);
}

static _Atomic long started;

static int idle_init(void *state, void *arg)
{
    (void)state;
    (void)arg;
    atomic_fetch_add_explicit(&started, 1, memory_order_relaxed);
    return 0;
}

static const act_behaviour_t idle = {.name = "idle", .init = idle_init, .handle = never};

static void run_spawn_idle(void)
{
    uint64_t base = act_actor_count();
    act_pid_t *pids = malloc(sizeof *pids * N_SPAWN);
    /* Touch the pid array first so its pages do not count as actor memory. */
    memset(pids, 0, sizeof *pids * N_SPAWN);
    long rss0 = rss_bytes();
    double t0 = now_s();
    act_spawn_opts_t o = {.behaviour = &idle};
    for (long i = 0; i < N_SPAWN; i++)
        if (act_spawn(&o, &pids[i]) != 0)
            abort();
    while (atomic_load(&started) < N_SPAWN)
        usleep(1000);
    double t1 = now_s();
    long rss1 = rss_bytes();
    emit("spawn_idle", "time_s", t1 - t0, "s", NULL);
    emit("spawn_idle", "bytes_per_actor", (double)(rss1 - rss0) / N_SPAWN, "B", NULL);
    double t2 = now_s();
    for (long i = 0; i < N_SPAWN; i++)
        act_send(pids[i], act_msg_alloc(sizeof(act_msg_t), M_STOP));
    wait_actors(base);
    emit("spawn_idle", "shutdown_s", now_s() - t2, "s", NULL);
    free(pids);
}

/* An idle actor with one link and one monitor, the shape of a supervised server that
 * someone watches: pairs (a, b) where a's init spawns b linked to a and monitored by a, so each
 * actor holds exactly one link and one monitor entry (a the monitor, b the watcher). The
 * memory is counted over both, with no hub whose tables would grow with N. */
static int linked_child_init(void *state, void *arg)
{
    (void)state;
    (void)arg;
    atomic_fetch_add_explicit(&started, 1, memory_order_relaxed);
    return 0;
}

static const act_behaviour_t linked_child = {
    .name = "linked", .init = linked_child_init, .handle = never};

static int linked_parent_init(void *state, void *arg)
{
    (void)state;
    (void)arg;
    act_ref_t ref;
    act_spawn_opts_t o = {.behaviour = &linked_child, .link = true, .monitor = &ref};
    if (act_spawn(&o, NULL) != 0)
        abort();
    atomic_fetch_add_explicit(&started, 1, memory_order_relaxed);
    return 0;
}

static const act_behaviour_t linked_parent = {
    .name = "linked", .init = linked_parent_init, .handle = never};

/* The same pairs as servers (no user state): a server a starts server b linked (without
 * waiting: it is a plain actor) and monitors it. */
static int server_child_init(void *state, void *arg)
{
    (void)state;
    (void)arg;
    atomic_fetch_add_explicit(&started, 1, memory_order_relaxed);
    return 0;
}

static const act_server_t idle_child_server = {.init = server_child_init};

static int server_parent_init(void *state, void *arg)
{
    (void)state;
    (void)arg;
    act_server_opts_t o = {.no_wait = true};
    act_pid_t b;
    act_ref_t ref;
    if (act_server_start_link(&idle_child_server, NULL, &o, &b) != 0 || act_monitor(b, &ref) != 0)
        abort();
    atomic_fetch_add_explicit(&started, 1, memory_order_relaxed);
    return 0;
}

static const act_server_t idle_parent_server = {.init = server_parent_init};

typedef struct {
    bool servers;
    long pairs;
    act_pid_t *pids;
} pairs_arg_t;

/* Spawned from a fiber, as spawn_exit's spawner: a server's start record is freed on the
 * thread that allocated it, so the figure holds what stays, not transient garbage. */
static void pair_spawner(void *arg)
{
    pairs_arg_t *p = arg;
    act_spawn_opts_t o = {.behaviour = &linked_parent};
    act_server_opts_t so = {.no_wait = true};
    for (long i = 0; i < p->pairs; i++) {
        int rc = p->servers ? act_server_start(&idle_parent_server, NULL, &so, &p->pids[i])
                            : act_spawn(&o, &p->pids[i]);
        if (rc != 0)
            abort();
    }
}

static void run_idle_pairs(const char *bench, bool servers)
{
    uint64_t base = act_actor_count();
    long pairs = N_SPAWN / 2;
    act_pid_t *pids = malloc(sizeof *pids * (size_t)pairs);
    memset(pids, 0, sizeof *pids * (size_t)pairs);
    pairs_arg_t arg = {servers, pairs, pids};
    long rss0 = rss_bytes();
    double t0 = now_s();
    act_spawn_opts_t o = {.fiber = pair_spawner, .arg = &arg};
    if (act_spawn(&o, NULL) != 0)
        abort();
    while (atomic_load(&started) < 2 * pairs)
        usleep(1000);
    double t1 = now_s();
    long rss1 = rss_bytes();
    emit(bench, "time_s", t1 - t0, "s", NULL);
    emit(bench, "bytes_per_actor", (double)(rss1 - rss0) / (double)(2 * pairs), "B", NULL);
    for (long i = 0; i < pairs; i++)
        act_exit(pids[i], ACT_KILL); /* its partner goes through the link */
    wait_actors(base);
    free(pids);
}

static void run_spawn_idle_linked(void)
{
    run_idle_pairs("spawn_idle_linked", false);
}

static void run_spawn_idle_server(void)
{
    run_idle_pairs("spawn_idle_server", true);
}

static void idle_fiber(void *arg)
{
    (void)arg;
    atomic_fetch_add_explicit(&started, 1, memory_order_relaxed);
    act_msg_t *m;
    if (act_receive_type(M_STOP, ACT_INFINITY, &m) == 0)
        act_msg_free(m);
}

/* Fibers cost a stack each (mapped with a guard page, so two kernel mappings): measured with
 * 10,000 of them, below the default vm.max_map_count of 65,530. */
static void run_spawn_idle_fiber(void)
{
    uint64_t base = act_actor_count();
    act_pid_t *pids = calloc(IDLE_FIBERS, sizeof *pids);
    long rss0 = rss_bytes();
    double t0 = now_s();
    act_spawn_opts_t o = {.fiber = idle_fiber};
    for (long i = 0; i < IDLE_FIBERS; i++)
        if (act_spawn(&o, &pids[i]) != 0)
            abort();
    while (atomic_load(&started) < IDLE_FIBERS)
        usleep(1000);
    double t1 = now_s();
    long rss1 = rss_bytes();
    emit("spawn_idle_fiber", "time_s", t1 - t0, "s", ",\"fibers\":%d", IDLE_FIBERS);
    emit("spawn_idle_fiber", "bytes_per_actor", (double)(rss1 - rss0) / IDLE_FIBERS, "B",
         ",\"fibers\":%d", IDLE_FIBERS);
    for (long i = 0; i < IDLE_FIBERS; i++)
        act_send(pids[i], act_msg_alloc(sizeof(act_msg_t), M_STOP));
    wait_actors(base);
    free(pids);
}

/* ---- ping-pong ------------------------------------------------------------------------------ */

typedef struct {
    act_pid_t peer;
    int64_t left; /* ping only */
} pp_t;

static int pp_handle(void *state, act_msg_t *msg)
{
    pp_t *s = state;
    int_msg_t *m = (int_msg_t *)msg;
    if (msg->type == M_NEXT) {
        s->peer = (act_pid_t)m->v;
        return 0;
    }
    if (msg->type == M_GO) { /* ping: start */
        s->left = m->v;
        send_int(s->peer, M_INT, s->left);
        return 0;
    }
    if (msg->type == M_STOP)
        return act_stop(ACT_NORMAL);
    if (s->left > 0) { /* ping got a pong */
        if (--s->left == 0) {
            act_send(s->peer, act_msg_alloc(sizeof(act_msg_t), M_STOP));
            send_int(main_pid, M_DONE, 0);
            return act_stop(ACT_NORMAL);
        }
        send_int(s->peer, M_INT, s->left);
        return 0;
    }
    send_int(s->peer, M_INT, m->v); /* pong */
    return 0;
}

static const act_behaviour_t pp = {.name = "pingpong", .handle = pp_handle};

static void run_ping_pong(void)
{
    act_pid_t ping, pong;
    act_spawn_opts_t o = {.behaviour = &pp, .state_size = sizeof(pp_t)};
    double t0 = now_s();
    act_spawn(&o, &pong);
    act_spawn(&o, &ping);
    send_int(pong, M_NEXT, (int64_t)ping);
    send_int(ping, M_NEXT, (int64_t)pong);
    send_int(ping, M_GO, PINGPONG_MSGS / 2);
    wait_done();
    double t1 = now_s();
    emit("ping_pong", "rate", PINGPONG_MSGS / (t1 - t0), "msg/s", ",\"elapsed_s\":%.4f", t1 - t0);
}

/* ---- rings ---------------------------------------------------------------------------------- */

typedef struct {
    act_pid_t next;
} ring_t;

static int ring_handle(void *state, act_msg_t *msg)
{
    ring_t *s = state;
    int_msg_t *m = (int_msg_t *)msg;
    switch (msg->type) {
    case M_NEXT:
        s->next = (act_pid_t)m->v;
        return 0;
    case M_STOP:
        return act_stop(ACT_NORMAL);
    default:
        if (m->v == 0)
            send_int(main_pid, M_DONE, 0);
        else
            send_int(s->next, M_INT, m->v - 1);
        return 0;
    }
}

static const act_behaviour_t ring = {.name = "ring", .handle = ring_handle};

static void run_ring(long n, const char *name)
{
    uint64_t base = act_actor_count();
    act_pid_t *pids = malloc(sizeof *pids * (size_t)n);
    double tb0 = now_s();
    act_spawn_opts_t o = {.behaviour = &ring, .state_size = sizeof(ring_t)};
    for (long i = 0; i < n; i++)
        act_spawn(&o, &pids[i]);
    for (long i = 0; i < n; i++)
        send_int(pids[i], M_NEXT, (int64_t)pids[(i + 1) % n]);
    double tb1 = now_s();
    double t0 = now_s();
    send_int(pids[0], M_INT, RING_HOPS);
    wait_done();
    double t1 = now_s();
    emit(name, "rate", RING_HOPS / (t1 - t0), "hops/s", ",\"elapsed_s\":%.4f,\"build_s\":%.4f",
         t1 - t0, tb1 - tb0);
    for (long i = 0; i < n; i++)
        act_send(pids[i], act_msg_alloc(sizeof(act_msg_t), M_STOP));
    wait_actors(base);
    free(pids);
}

/* ---- fan-in --------------------------------------------------------------------------------- */

typedef struct {
    int64_t left;
} count_t;

static int count_handle(void *state, act_msg_t *msg)
{
    (void)msg;
    count_t *c = state;
    if (--c->left == 0) {
        send_int(main_pid, M_DONE, 0);
        return act_stop(ACT_NORMAL);
    }
    return 0;
}

static int count_init(void *state, void *arg)
{
    ((count_t *)state)->left = (int64_t)(intptr_t)arg;
    return 0;
}

static const act_behaviour_t counter = {
    .name = "count", .init = count_init, .handle = count_handle};

static int sender_init(void *state, void *arg)
{
    (void)state;
    act_pid_t to = (act_pid_t)(uintptr_t)arg;
    for (int i = FANIN_PER_SENDER; i > 0; i--)
        send_int(to, M_INT, i);
    return act_stop(ACT_NORMAL);
}

static const act_behaviour_t sender = {.name = "sender", .init = sender_init, .handle = never};

static void fanin_driver(void *arg)
{
    act_pid_t recv = (act_pid_t)(uintptr_t)arg;
    act_spawn_opts_t o = {.behaviour = &sender, .arg = (void *)(uintptr_t)recv};
    for (int i = 0; i < FANIN_SENDERS; i++)
        act_spawn(&o, NULL);
}

static void run_fan_in(void)
{
    int64_t total = (int64_t)FANIN_SENDERS * FANIN_PER_SENDER;
    double t0 = now_s();
    act_pid_t recv;
    act_spawn_opts_t r = {
        .behaviour = &counter, .state_size = sizeof(count_t), .arg = (void *)(intptr_t)total};
    act_spawn(&r, &recv);
    act_spawn_opts_t d = {.fiber = fanin_driver, .arg = (void *)(uintptr_t)recv};
    act_spawn(&d, NULL);
    wait_done();
    double t1 = now_s();
    emit("fan_in", "rate", (double)total / (t1 - t0), "msg/s", ",\"elapsed_s\":%.4f", t1 - t0);
}

/* ---- skynet --------------------------------------------------------------------------------- */

typedef struct {
    act_pid_t parent;
    int64_t num, size;
} sky_arg_t;

typedef struct {
    act_pid_t parent;
    int64_t sum;
    int pending;
} sky_t;

static int sky_init(void *state, void *arg);

static int sky_handle(void *state, act_msg_t *msg)
{
    sky_t *s = state;
    s->sum += ((int_msg_t *)msg)->v;
    if (--s->pending > 0)
        return 0;
    send_int(s->parent, M_INT, s->sum);
    return act_stop(ACT_NORMAL);
}

static const act_behaviour_t sky = {.name = "skynet", .init = sky_init, .handle = sky_handle};

static int sky_init(void *state, void *arg)
{
    sky_t *s = state;
    sky_arg_t *a = arg;
    s->parent = a->parent;
    if (a->size == 1) {
        send_int(a->parent, M_INT, a->num);
        act_free(a);
        return act_stop(ACT_NORMAL);
    }
    int64_t sub = a->size / 10;
    for (int i = 0; i < 10; i++) {
        sky_arg_t *c = act_xmalloc(sizeof *c);
        *c = (sky_arg_t){act_self(), a->num + i * sub, sub};
        act_spawn_opts_t o = {.behaviour = &sky, .state_size = sizeof(sky_t), .arg = c};
        act_spawn(&o, NULL);
    }
    s->pending = 10;
    act_free(a);
    return 0;
}

static void run_skynet(void)
{
    double t0 = now_s();
    sky_arg_t *a = act_xmalloc(sizeof *a);
    *a = (sky_arg_t){main_pid, 0, N_SPAWN};
    act_spawn_opts_t o = {.behaviour = &sky, .state_size = sizeof(sky_t), .arg = a};
    act_spawn(&o, NULL);
    act_msg_t *m;
    act_receive_type(M_INT, ACT_INFINITY, &m);
    int64_t sum = ((int_msg_t *)m)->v;
    act_msg_free(m);
    double t1 = now_s();
    if (sum != 499999500000LL) {
        fprintf(stderr, "skynet: wrong sum %lld\n", (long long)sum);
        exit(1);
    }
    emit("skynet", "time_s", t1 - t0, "s", NULL);
}

/* ---- main ----------------------------------------------------------------------------------- */

static void run_ring_1k(void)
{
    run_ring(1000, "ring_1k");
}

static void run_ring_100k(void)
{
    run_ring(100000, "ring_100k");
}

static void run_sup_restart(void)
{
    if (bench_sup_restart(0, 0) != 0)
        exit(1);
}

static void run_sup_restart_chunked(void)
{
    if (bench_sup_restart_chunked(0, 0) != 0)
        exit(1);
}

static const struct mode {
    const char *name;
    void (*run)(void);
} modes[] = {
    {"spawn_exit", run_spawn_exit},
    {"spawn_idle", run_spawn_idle},
    {"spawn_idle_fiber", run_spawn_idle_fiber},
    {"spawn_idle_linked", run_spawn_idle_linked},
    {"spawn_idle_server", run_spawn_idle_server},
    {"ping_pong", run_ping_pong},
    {"ring_1k", run_ring_1k},
    {"ring_100k", run_ring_100k},
    {"fan_in", run_fan_in},
    {"skynet", run_skynet},
    {"sup_restart", run_sup_restart},
    {"sup_restart_chunked", run_sup_restart_chunked},
};

int main(int argc, char **argv)
{
    const struct mode *mode = NULL;
    for (size_t i = 0; argc > 1 && i < sizeof modes / sizeof modes[0]; i++)
        if (strcmp(argv[1], modes[i].name) == 0)
            mode = &modes[i];
    if (!mode) {
        fprintf(stderr, "usage: actor_bench MODE [SCHEDULERS]\nmodes:");
        for (size_t i = 0; i < sizeof modes / sizeof modes[0]; i++)
            fprintf(stderr, " %s", modes[i].name);
        fprintf(stderr, "\n");
        return 2;
    }
    act_config_t cfg = {.schedulers = argc > 2 ? (unsigned)atoi(argv[2]) : 0};
    int rc = act_system_start(&cfg);
    if (rc) {
        fprintf(stderr, "actor_bench: %s\n", act_strerror(rc));
        return 1;
    }
    nsched = act_sched_count();
    main_pid = act_self();
    mode->run();
    act_system_stop();
    return 0;
}
