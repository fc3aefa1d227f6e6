#include "test_util.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

static int64_t live_before;
static _Atomic int check_failures;

bool tu_check(bool ok, const char *file, int line, const char *expr)
{
    if (!ok) {
        fprintf(stderr, "%s:%d: check failed: %s\n", file, line, expr);
        atomic_fetch_add(&check_failures, 1);
    }
    return ok;
}

int tu_failures(void)
{
    return atomic_load(&check_failures);
}

void tu_start(unsigned n)
{
    live_before = act_mem_live_blocks();
    act_config_t c = {.schedulers = n};
    cr_assert_eq(act_system_start(&c), 0);
}

void tu_start2(void)
{
    tu_start(2);
}

void tu_start1(void)
{
    tu_start(1);
}

void tu_stop(void)
{
    cr_expect_eq(tu_failures(), 0, "%d checks failed off the test thread", tu_failures());
    if (!act_system_running())
        return;
    cr_assert_eq(act_system_stop(), 0);
    cr_expect_eq(act_mem_live_blocks(), live_before, "blocks leaked by the runtime: %lld",
                 (long long)(act_mem_live_blocks() - live_before));
}

int tu_send_int(act_pid_t pid, uint32_t type, int64_t v)
{
    tu_int_t *m = act_msg_new(tu_int_t, type);
    m->v = v;
    return act_send(pid, &m->hdr);
}

int64_t tu_recv_int(uint32_t type, int64_t ms)
{
    act_msg_t *m = NULL;
    int rc = act_receive_type(type, MS(ms), &m);
    cr_assert_eq(rc, 0, "no message of type %u within %lld ms: %s", type, (long long)ms,
                 act_strerror(rc));
    int64_t v = ((tu_int_t *)m)->v;
    act_msg_free(m);
    return v;
}

act_down_t *tu_recv_down(uint32_t type, int64_t ms)
{
    act_msg_t *m = NULL;
    int rc = act_receive_type(type, MS(ms), &m);
    cr_assert_eq(rc, 0, "no %s within %lld ms", type == ACT_MSG_DOWN ? "DOWN" : "EXIT",
                 (long long)ms);
    return (act_down_t *)m;
}

bool tu_wait(bool (*pred)(void *), void *arg, int64_t ms)
{
    int64_t end = act_now_ms() + MS(ms);
    while (!pred(arg)) {
        if (act_now_ms() > end)
            return false;
        usleep(200);
    }
    return true;
}

static bool is_dead(void *arg)
{
    return !act_is_alive(*(act_pid_t *)arg);
}

bool tu_wait_dead(act_pid_t pid, int64_t ms)
{
    return tu_wait(is_dead, &pid, ms);
}

act_pid_t tu_spawn_fiber(act_fiber_fn fn, void *arg, act_ref_t *ref)
{
    act_pid_t pid = ACT_PID_NONE;
    act_spawn_opts_t o = {.fiber = fn, .arg = arg, .monitor = ref};
    int rc = act_spawn(&o, &pid);
    cr_assert_eq(rc, 0, "spawn: %s", act_strerror(rc));
    return pid;
}

act_pid_t tu_spawn_plain(const act_behaviour_t *b, size_t state_size, void *arg, act_ref_t *ref)
{
    act_pid_t pid = ACT_PID_NONE;
    act_spawn_opts_t o = {.behaviour = b, .state_size = state_size, .arg = arg, .monitor = ref};
    int rc = act_spawn(&o, &pid);
    cr_assert_eq(rc, 0, "spawn: %s", act_strerror(rc));
    return pid;
}

struct tu_thread {
    pthread_t th;
    void (*fn)(void *arg, unsigned i);
    void *arg;
    unsigned i;
};

static void *tu_thread_main(void *p)
{
    struct tu_thread *t = p;
    t->fn(t->arg, t->i);
    return NULL;
}

void tu_threads(unsigned n, void (*fn)(void *arg, unsigned i), void *arg)
{
    struct tu_thread t[64];
    cr_assert_leq(n, 64u);
    for (unsigned i = 0; i < n; i++) {
        t[i] = (struct tu_thread){.fn = fn, .arg = arg, .i = i};
        cr_assert_eq(pthread_create(&t[i].th, NULL, tu_thread_main, &t[i]), 0);
    }
    for (unsigned i = 0; i < n; i++)
        pthread_join(t[i].th, NULL);
}

int64_t tu_cpu_us(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (int64_t)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000000 + ru.ru_utime.tv_usec +
           ru.ru_stime.tv_usec;
}

/* ---- the probe ------------------------------------------------------------------------------ */

_Atomic bool tu_gate;
_Atomic int tu_probe_terminated;
_Atomic int tu_probe_last_reason = -1;

int tu_cmd(act_pid_t to, int op, int64_t v, act_pid_t pid)
{
    tu_cmd_t *c = act_msg_new(tu_cmd_t, TU_CMD);
    c->op = op;
    c->v = v;
    c->pid = pid;
    return act_send(to, &c->hdr);
}

/* The report of an EXIT or DOWN message, built before anything is sent: a fiber must free what
 * it received before it sends, since a kill lands at a fiber's send and unwinds past its frames
 * (a DOWN still held there would leak). */
static tu_seen_t *seen_of(const act_msg_t *msg)
{
    const act_down_t *d = (const act_down_t *)msg;
    tu_seen_t *s = act_msg_new(tu_seen_t, msg->type == ACT_MSG_EXIT ? TU_SEEN_EXIT : TU_SEEN_DOWN);
    s->self = act_self();
    s->pid = d->pid;
    s->ref = msg->ref;
    s->reason = d->reason;
    snprintf(s->text, sizeof s->text, "%s", d->text);
    return s;
}

static __attribute__((noinline, noreturn)) void nested_fail(int depth, int reason)
{
    if (depth > 0)
        nested_fail(depth - 1, reason);
    act_fail(reason);
}

/* Runs one command; returns 0 to go on, or the plain handler's return value. */
static int probe_do(act_pid_t report, const act_msg_t *msg, bool fiber)
{
    if (msg->type == ACT_MSG_EXIT || msg->type == ACT_MSG_DOWN) {
        act_send(report, &seen_of(msg)->hdr); /* a plain actor's message is freed after it */
        return 0;
    }
    if (msg->type != TU_CMD)
        return 0;
    const tu_cmd_t *c = (const tu_cmd_t *)msg;
    int v = (int)c->v;
    switch (c->op) {
    case TU_OP_PING:
        tu_send_int(report, TU_PONG, c->v);
        return 0;
    case TU_OP_STOP:
        return act_stop(v);
    case TU_OP_RETURN:
        if (fiber)
            act_fail(v);
        return v;
    case TU_OP_FAIL:
        nested_fail(3, v);
    case TU_OP_FAILF:
        act_failf(v, "failf %d", v);
    case TU_OP_EXIT:
        act_exit(c->pid, v);
        return 0;
    case TU_OP_LINK:
        tu_send_int(report, TU_RESULT, act_link(c->pid));
        return 0;
    case TU_OP_UNLINK:
        tu_send_int(report, TU_RESULT, act_unlink(c->pid));
        return 0;
    case TU_OP_TRAP:
        tu_send_int(report, TU_RESULT, act_trap_exit(v != 0));
        return 0;
    case TU_OP_MONITOR: {
        act_ref_t ref = 0;
        int rc = act_monitor(c->pid, &ref);
        tu_send_int(report, TU_RESULT, rc ? rc : (int64_t)ref);
        return 0;
    }
    case TU_OP_WAIT_GATE:
        while (!atomic_load(&tu_gate))
            usleep(100);
        tu_send_int(report, TU_RESULT, 0);
        return 0;
    case TU_OP_GATED_DEMONITOR:
        while (!atomic_load(&tu_gate))
            usleep(100);
        tu_send_int(report, TU_RESULT, act_demonitor((act_ref_t)c->v, 0));
        return 0;
    default:
        TU_CHECK(!"unknown probe op");
        return 0;
    }
}

typedef struct {
    act_pid_t report;
} probe_t;

static int probe_init(void *state, void *arg)
{
    ((probe_t *)state)->report = TU_PID(arg);
    return 0;
}

static int probe_handle(void *state, act_msg_t *msg)
{
    return probe_do(((probe_t *)state)->report, msg, false);
}

static void probe_terminate(void *state, int reason)
{
    atomic_store(&tu_probe_last_reason, reason);
    atomic_fetch_add(&tu_probe_terminated, 1);
    tu_send_int(((probe_t *)state)->report, TU_TERMINATED, reason);
}

static const act_behaviour_t probe_beh = {
    .name = "probe", .init = probe_init, .handle = probe_handle, .terminate = probe_terminate};

static void probe_fiber(void *arg)
{
    act_pid_t report = TU_PID(arg);
    for (;;) {
        act_msg_t *m;
        if (!TU_CHECK(act_receive(NULL, NULL, ACT_INFINITY, &m) == 0))
            return;
        /* A fiber owns what it receives: copy a command and free it before anything that
         * unwinds. */
        tu_cmd_t c = {.op = -1};
        tu_seen_t *seen = NULL;
        if (m->type == TU_CMD)
            memcpy(&c, m, sizeof c);
        else if (m->type == ACT_MSG_EXIT || m->type == ACT_MSG_DOWN)
            seen = seen_of(m);
        act_msg_free(m);
        if (seen)
            act_send(report, &seen->hdr);
        if (c.op == TU_OP_STOP)
            return;
        if (c.op >= 0)
            probe_do(report, &c.hdr, true);
    }
}

act_pid_t tu_probe(tu_probe_opts_t po)
{
    act_pid_t pid = ACT_PID_NONE;
    act_spawn_opts_t o = {.arg = TU_ARG(act_self()),
                          .trap_exit = po.trap_exit,
                          .link = po.link,
                          .monitor = po.monitor,
                          .sched = po.sched};
    if (po.fiber) {
        o.fiber = probe_fiber;
    } else {
        o.behaviour = &probe_beh;
        o.state_size = sizeof(probe_t);
    }
    int rc = act_spawn(&o, &pid);
    if (act_sched_self() >= 0) /* called from an actor: no Criterion assertion here */
        TU_CHECK(rc == 0);
    else
        cr_assert_eq(rc, 0, "spawn probe: %s", act_strerror(rc));
    return pid;
}

tu_seen_t *tu_recv_seen(uint32_t type, int64_t ms)
{
    act_msg_t *m = NULL;
    int rc = act_receive_type(type, MS(ms), &m);
    cr_assert_eq(rc, 0, "no %s report within %lld ms", type == TU_SEEN_EXIT ? "EXIT" : "DOWN",
                 (long long)ms);
    return (tu_seen_t *)m;
}

bool tu_no_msg(uint32_t type, int64_t ms)
{
    act_msg_t *m = NULL;
    if (act_receive_type(type, ms, &m) == ACT_ETIMEDOUT)
        return true;
    act_msg_free(m);
    return false;
}
