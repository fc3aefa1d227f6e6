#include "otp_util.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* ---- reports ---------------------------------------------------------------------------- */

#define MAX_REPORTS 256

static pthread_mutex_t rlock = PTHREAD_MUTEX_INITIALIZER;
static struct {
    act_report_kind_t kind;
    char line[512];
} reports[MAX_REPORTS];
static int nreports;

static void capture(const act_report_t *r, void *arg)
{
    (void)arg;
    pthread_mutex_lock(&rlock);
    if (nreports < MAX_REPORTS) {
        reports[nreports].kind = r->kind;
        snprintf(reports[nreports].line, sizeof reports[nreports].line, "%s", r->line);
        nreports++;
    }
    pthread_mutex_unlock(&rlock);
}

void otp_capture_reports(void)
{
    act_report_set(capture, NULL);
}

void otp_start(void)
{
    otp_capture_reports();
    tu_start2();
}

int otp_reports(act_report_kind_t kind, const char *needle)
{
    int n = 0;
    pthread_mutex_lock(&rlock);
    for (int i = 0; i < nreports; i++)
        if (reports[i].kind == kind && (!needle || strstr(reports[i].line, needle)))
            n++;
    pthread_mutex_unlock(&rlock);
    return n;
}

bool otp_wait_report(act_report_kind_t kind, const char *needle, int64_t ms)
{
    int64_t end = act_now_ms() + MS(ms);
    while (otp_reports(kind, needle) == 0) {
        if (act_now_ms() > end)
            return false;
        usleep(1000);
    }
    return true;
}

void otp_print_reports(void)
{
    pthread_mutex_lock(&rlock);
    for (int i = 0; i < nreports; i++)
        cr_log_info("report %d: %s", i, reports[i].line);
    pthread_mutex_unlock(&rlock);
}

/* ---- the event log ---------------------------------------------------------------------- */

#define MAX_EVENTS 4096

static pthread_mutex_t llock = PTHREAD_MUTEX_INITIALIZER;
static int events[MAX_EVENTS];
static int nevents;

void otp_log(int ev)
{
    pthread_mutex_lock(&llock);
    if (nevents < MAX_EVENTS)
        events[nevents++] = ev;
    pthread_mutex_unlock(&llock);
}

int otp_log_len(void)
{
    pthread_mutex_lock(&llock);
    int n = nevents;
    pthread_mutex_unlock(&llock);
    return n;
}

int otp_log_at(int i)
{
    pthread_mutex_lock(&llock);
    int ev = i < nevents ? events[i] : 0;
    pthread_mutex_unlock(&llock);
    return ev;
}

bool otp_log_wait(int n, int64_t ms)
{
    int64_t end = act_now_ms() + MS(ms);
    while (otp_log_len() < n) {
        if (act_now_ms() > end)
            return false;
        usleep(500);
    }
    return true;
}

bool otp_log_is(int from, const int *evs, int n)
{
    pthread_mutex_lock(&llock);
    bool ok = from + n <= nevents && memcmp(&events[from], evs, (size_t)n * sizeof *evs) == 0;
    pthread_mutex_unlock(&llock);
    return ok;
}

const char *otp_log_str(int from)
{
    static char buf[1024];
    size_t len = 0;
    buf[0] = '\0';
    pthread_mutex_lock(&llock);
    for (int i = from; i < nevents && len < sizeof buf - 16; i++)
        len += (size_t)snprintf(buf + len, sizeof buf - len, "%d ", events[i]);
    pthread_mutex_unlock(&llock);
    return buf;
}

/* ---- workers ---------------------------------------------------------------------------- */

typedef struct {
    int tag;
    bool started;
} worker_t;

static int w_init(void *state, void *arg)
{
    worker_t *w = state;
    intptr_t a = (intptr_t)arg;
    w->tag = (int)(a & 0xffff);
    if (a & OTP_FAIL_INIT)
        return -EIO;
    if (a & OTP_TRAP)
        act_trap_exit(true);
    w->started = true;
    otp_log(w->tag);
    return 0;
}

static void w_terminate(void *state, int reason)
{
    (void)reason;
    worker_t *w = state;
    if (w->started)
        otp_log(-w->tag);
}

const act_server_t otp_worker = {
    .state_size = sizeof(worker_t),
    .init = w_init,
    .terminate = w_terminate,
};

typedef struct {
    int tag;
    bool slow;
    bool stopping;
} plain_t;

enum { DIE_NOW = ACT_MSG_USER + 2000 };

static int p_init(void *state, void *arg)
{
    plain_t *p = state;
    p->tag = (int)(intptr_t)arg & 0xffff;
    p->slow = ((intptr_t)arg & 0x10000) != 0;
    otp_log(p->tag);
    return 0;
}

static int p_handle(void *state, act_msg_t *msg)
{
    plain_t *p = state;
    if (msg->type == ACT_MSG_EXIT && p->slow && !p->stopping) {
        p->stopping = true;
        act_send_after(act_self(), 200, act_msg_alloc(sizeof(act_msg_t), DIE_NOW), NULL);
    }
    if (msg->type == DIE_NOW)
        return act_stop(ACT_SHUTDOWN);
    return 0; /* the stubborn one ignores everything */
}

static void p_terminate(void *state, int reason)
{
    (void)reason;
    otp_log(-((plain_t *)state)->tag);
}

static const act_behaviour_t plain_child = {
    .name = "otp_plain", .init = p_init, .handle = p_handle, .terminate = p_terminate};

static int plain_start(const act_child_start_t *cs, act_pid_t *out, intptr_t slow)
{
    act_spawn_opts_t o = {
        .behaviour = &plain_child,
        .state_size = sizeof(plain_t),
        .arg = (void *)((intptr_t)cs->arg | slow),
        .trap_exit = true,
        .sched = cs->sched,
    };
    return act_start_link(&o, ACT_INFINITY, out);
}

int otp_stubborn_start(const act_child_start_t *cs, act_pid_t *out)
{
    return plain_start(cs, out, 0);
}

int otp_slow_start(const act_child_start_t *cs, act_pid_t *out)
{
    return plain_start(cs, out, 0x10000);
}

act_pid_t otp_child(act_pid_t sup, const char *id)
{
    act_child_info_t *kids;
    size_t n;
    int rc = act_sup_which_children(sup, &kids, &n);
    cr_assert_eq(rc, 0, "which_children: %s", act_strerror(rc));
    act_pid_t pid = ACT_PID_NONE;
    for (size_t i = 0; i < n; i++)
        if (strcmp(kids[i].id, id) == 0)
            pid = kids[i].pid;
    act_free(kids);
    return pid;
}

act_pid_t otp_wait_restart(act_pid_t sup, const char *id, act_pid_t old, int64_t ms)
{
    int64_t end = act_now_ms() + MS(ms);
    for (;;) {
        act_pid_t pid = otp_child(sup, id);
        if (pid && pid != old)
            return pid;
        if (act_now_ms() > end)
            return ACT_PID_NONE;
        usleep(500);
    }
}

int otp_app_start(const act_app_t *app, act_pid_t *top)
{
    int tag = (int)act_app_env_int(app->name, "tag", 0);
    if (tag == 99)
        return -EIO;
    act_child_spec_t kids[] = {{ACT_SERVER_CHILD("w", &otp_worker, OTP_W(tag, 0))}};
    act_sup_spec_t spec = {.name = app->name,
                           .max_restarts = (int)act_app_env_int(app->name, "maxr", 3),
                           .max_seconds = 5,
                           .children = kids,
                           .nchildren = 1};
    return act_sup_start_link(&spec, top);
}

void otp_app_stop(const act_app_t *app)
{
    otp_log(100 + (int)act_app_env_int(app->name, "tag", 0));
}

act_pid_t otp_start_sup(bool register_name, act_strategy_t strategy, int max_r, int max_s,
                        const act_child_spec_t *kids, size_t n)
{
    act_sup_spec_t spec = {.name = "sup_test",
                           .register_name = register_name,
                           .strategy = strategy,
                           .max_restarts = max_r,
                           .max_seconds = max_s,
                           .children = kids,
                           .nchildren = n};
    act_pid_t sup;
    int rc = act_sup_start_link(&spec, &sup);
    cr_assert_eq(rc, 0, "start: %s", act_strerror(rc));
    return sup;
}
