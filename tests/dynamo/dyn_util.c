#include "dyn_util.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

static int64_t live_before;
static _Atomic int check_failures;
static pthread_mutex_t rlock = PTHREAD_MUTEX_INITIALIZER;
static char *reports;
static size_t rlen, rcap;

bool dy_check(bool ok, const char *file, int line, const char *expr)
{
    if (!ok) {
        fprintf(stderr, "%s:%d: check failed: %s\n", file, line, expr);
        atomic_fetch_add(&check_failures, 1);
    }
    return ok;
}

static void capture(const act_report_t *r, void *arg)
{
    (void)arg;
    pthread_mutex_lock(&rlock);
    size_t n = strlen(r->line);
    if (rlen + n + 2 > rcap) {
        rcap = (rlen + n + 2) * 2;
        reports = realloc(reports, rcap);
    }
    memcpy(reports + rlen, r->line, n);
    rlen += n;
    reports[rlen++] = '\n';
    reports[rlen] = '\0';
    pthread_mutex_unlock(&rlock);
    if (getenv("DY_VERBOSE"))
        fprintf(stderr, "%s\n", r->line);
}

const char *dy_reports(void)
{
    return reports ? reports : "";
}

bool dy_reported(const char *needle)
{
    pthread_mutex_lock(&rlock);
    bool found = reports && strstr(reports, needle) != NULL;
    pthread_mutex_unlock(&rlock);
    return found;
}

bool dy_wait_report(const char *needle, int64_t ms)
{
    for (int64_t waited = 0; waited <= ms; waited += 5) {
        if (dy_reported(needle))
            return true;
        usleep(5000);
    }
    return false;
}

void dy_reports_clear(void)
{
    pthread_mutex_lock(&rlock);
    rlen = 0;
    if (reports)
        reports[0] = '\0';
    pthread_mutex_unlock(&rlock);
}

void dy_init(void)
{
    act_report_set(capture, NULL);
    live_before = act_mem_live_blocks();
    act_config_t c = {.schedulers = 2};
    cr_assert_eq(act_system_start(&c), 0);
}

void dy_end(void)
{
    if (act_system_running())
        cr_assert_eq(act_system_stop(), 0, "the system did not stop");
    int64_t leaked = act_mem_live_blocks() - live_before;
    cr_assert_eq(leaked, 0, "%lld blocks leaked", (long long)leaked);
    cr_assert_eq(atomic_load(&check_failures), 0, "%d checks failed off the test thread",
                 atomic_load(&check_failures));
}

void dy_fini(void)
{
    /* After a failed assertion: stop what runs (the verdict is already in). */
    if (act_system_running())
        act_system_stop();
}

dyn_conn_t *dy_run(const dyn_router_t *router, http_method_t m, const char *target)
{
    return dyn_test_run(router, dyn_test_conn(m, target));
}

static int held[256];
static int nheld;
static struct rlimit fd_limit;

void dy_fds_exhaust(int leave)
{
    getrlimit(RLIMIT_NOFILE, &fd_limit);
    struct rlimit low = fd_limit;
    if (low.rlim_cur > 256)
        low.rlim_cur = 256;
    setrlimit(RLIMIT_NOFILE, &low);
    int fd;
    while (nheld < (int)(sizeof held / sizeof held[0]) && (fd = dup(2)) >= 0)
        held[nheld++] = fd;
    for (; leave > 0 && nheld > 0; leave--)
        close(held[--nheld]);
}

void dy_fds_release(void)
{
    while (nheld > 0)
        close(held[--nheld]);
    setrlimit(RLIMIT_NOFILE, &fd_limit);
}
