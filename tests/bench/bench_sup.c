/*
 * Supervisor restart rate, program for program the Erlang peer's sup_restart and
 * sup_restart_chunked (tests/bench/peers/actor/actor_bench.erl):
 *
 * - the worker is a server (gen_server) whose init tells the driver "started, here is my pid"
 *   and whose handle_cast crashes it;
 * - its supervisor is one_for_one with one permanent child, brutal_kill, and an intensity
 *   that never trips (1,000,000,000 restarts in 1 s, as the peer's): ours keeps its restart
 *   history in fixed storage, so the rate does not depend on the intensity;
 * - the driver waits for "started", casts the crash, and so on: every restart is waited for.
 *   The clock starts once the first worker runs. The chunked variant starts a fresh supervisor
 *   every 1,000 restarts and stops it (exit signal, then its EXIT), both inside the timing.
 *
 * The driver is a fiber actor, as the Erlang driver is a process: a foreign thread would add a
 * semaphore wake-up per restart that the peer does not pay. Reports are silenced (the peer
 * sets the logger level to none).
 *
 * Build alone with -DBENCH_SUP_MAIN for `bench_sup MODE [SCHEDULERS] [RESTARTS]`; actor_bench
 * calls the two functions of bench_sup.h.
 */
#include "bench_sup.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "actor/act.h"

#define SUP_RESTARTS 100000
#define CHUNK 1000

enum { B_STARTED = ACT_MSG_USER + 500, B_CRASH, B_DONE };

typedef struct {
    act_msg_t hdr;
    act_pid_t pid;
} started_t;

typedef struct {
    act_msg_t hdr;
    double elapsed;
    int status;
} done_t;

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ---- the worker --------------------------------------------------------------------------- */

static int worker_init(void *state, void *arg)
{
    (void)state;
    started_t *m = act_msg_new(started_t, B_STARTED);
    m->pid = act_self();
    act_send((act_pid_t)(uintptr_t)arg, &m->hdr);
    return 0;
}

static int worker_cast(void *state, act_msg_t *msg)
{
    (void)state;
    (void)msg;
    act_fail(ACT_CRASH); /* exit(crash) */
}

static const act_server_t worker = {.init = worker_init, .handle_cast = worker_cast};

/* ---- the driver --------------------------------------------------------------------------- */

typedef struct {
    long restarts;
    long chunk; /* 0: one supervisor for all */
    act_pid_t report;
} run_t;

static act_pid_t start_sup(act_pid_t driver, int *rc)
{
    act_child_spec_t kids[] = {{ACT_SERVER_CHILD("worker", &worker, (void *)(uintptr_t)driver),
                                .shutdown = ACT_SHUTDOWN_BRUTAL_KILL}};
    act_sup_spec_t spec = {.strategy = ACT_ONE_FOR_ONE,
                           .max_restarts = 1000000000,
                           .max_seconds = 1,
                           .children = kids,
                           .nchildren = 1};
    act_pid_t sup = ACT_PID_NONE;
    *rc = act_sup_start_link(&spec, &sup);
    return sup;
}

static act_pid_t wait_started(void)
{
    act_msg_t *m;
    if (act_receive_type(B_STARTED, 10000, &m) != 0)
        return ACT_PID_NONE;
    act_pid_t pid = ((started_t *)m)->pid;
    act_msg_free(m);
    return pid;
}

/* crash_loop: cast crash, wait for the next worker, k times. */
static int crash_loop(long k, act_pid_t w)
{
    for (; k > 0; k--) {
        act_server_cast(w, act_msg_alloc(sizeof(act_msg_t), B_CRASH));
        if (!(w = wait_started()))
            return ACT_ETIMEDOUT;
    }
    return 0;
}

static bool is_exit_of(const act_msg_t *m, void *arg)
{
    return m->type == ACT_MSG_EXIT && ((const act_down_t *)m)->pid == *(act_pid_t *)arg;
}

static int stop_sup(act_pid_t sup)
{
    act_exit(sup, ACT_SHUTDOWN);
    act_msg_t *m;
    int rc = act_receive(is_exit_of, &sup, 10000, &m);
    if (rc == 0)
        act_msg_free(m);
    return rc;
}

static void driver(void *arg)
{
    run_t *r = arg;
    act_trap_exit(true);
    act_pid_t self = act_self();
    int rc = 0;
    double t0 = 0, t1 = 0;
    if (r->chunk == 0) {
        act_pid_t sup = start_sup(self, &rc);
        act_pid_t w = rc ? ACT_PID_NONE : wait_started();
        t0 = now_s();
        if (rc == 0)
            rc = w ? crash_loop(r->restarts, w) : ACT_ETIMEDOUT;
        t1 = now_s();
        if (sup)
            stop_sup(sup);
    } else {
        t0 = now_s();
        for (long done = 0; rc == 0 && done < r->restarts; done += r->chunk) {
            act_pid_t sup = start_sup(self, &rc);
            act_pid_t w = rc ? ACT_PID_NONE : wait_started();
            if (rc == 0)
                rc = w ? crash_loop(r->chunk, w) : ACT_ETIMEDOUT;
            if (sup && rc == 0)
                rc = stop_sup(sup);
        }
        t1 = now_s();
    }
    done_t *d = act_msg_new(done_t, B_DONE);
    d->elapsed = t1 - t0;
    d->status = rc;
    act_send(r->report, &d->hdr);
}

static int run(const char *bench, unsigned schedulers, long restarts, long chunk)
{
    if (restarts <= 0)
        restarts = SUP_RESTARTS;
    if (chunk && restarts % chunk)
        restarts += chunk - restarts % chunk;
    bool own = !act_system_running();
    if (own) {
        act_config_t cfg = {.schedulers = schedulers};
        int rc = act_system_start(&cfg);
        if (rc) {
            fprintf(stderr, "%s: %s\n", bench, act_strerror(rc));
            return 1;
        }
    }
    act_report_set(act_report_silent, NULL);
    run_t r = {.restarts = restarts, .chunk = chunk, .report = act_self()};
    act_spawn_opts_t o = {.fiber = driver, .arg = &r};
    int rc = act_spawn(&o, NULL);
    act_msg_t *m = NULL;
    if (rc == 0)
        rc = act_receive_type(B_DONE, ACT_INFINITY, &m);
    done_t d = {.status = rc};
    if (m) {
        d = *(done_t *)m;
        act_msg_free(m);
    }
    act_report_set(NULL, NULL);
    unsigned n = act_sched_count();
    if (own)
        act_system_stop();
    if (d.status) {
        fprintf(stderr, "%s: %s\n", bench, act_strerror(d.status));
        return 1;
    }
    printf("{\"peer\":\"dynamo\",\"bench\":\"%s\",\"metric\":\"rate\",\"value\":%.4f,"
           "\"unit\":\"restarts/s\",\"schedulers\":%u,\"elapsed_s\":%.4f,\"restarts\":%ld",
           bench, (double)restarts / d.elapsed, n, d.elapsed, restarts);
    if (chunk)
        printf(",\"chunk\":%ld", chunk);
    printf("}\n");
    fflush(stdout);
    return 0;
}

int bench_sup_restart(unsigned schedulers, long restarts)
{
    return run("sup_restart", schedulers, restarts, 0);
}

int bench_sup_restart_chunked(unsigned schedulers, long restarts)
{
    return run("sup_restart_chunked", schedulers, restarts, CHUNK);
}
