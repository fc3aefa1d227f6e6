/* The node (node.h): boot, SIGTERM/SIGINT, a permanent application's death, start failures,
 * exit statuses, and nothing left behind. */
#include <signal.h>
#include <string.h>
#include <unistd.h>

#include "otp_util.h"

TestSuite(node, .init = otp_capture_reports, .timeout = TMO(20));

static const act_app_t dep = {.name = "dep",
                              .start = otp_app_start,
                              .stop = otp_app_stop,
                              .env = (const act_app_env_t[]){{"tag", "2"}, {NULL, NULL}}};
static const act_app_t main_app = {.name = "main",
                                   .version = "3.1",
                                   .deps = (const char *const[]){"dep", NULL},
                                   .start = otp_app_start,
                                   .stop = otp_app_stop,
                                   .env = (const act_app_env_t[]){{"tag", "1"}, {NULL, NULL}}};

static const act_app_t *const deps[] = {&dep, NULL};

static void expect_log(int from, const int *evs, int n)
{
    cr_assert(otp_log_wait(from + n, 3000), "log: %s", otp_log_str(0));
    cr_assert(otp_log_is(from, evs, n), "log from %d: %s", from, otp_log_str(from));
}

static int sig_to_raise;

static void started_raise(void *arg)
{
    (void)arg;
    TU_CHECK(act_app_top("main") != ACT_PID_NONE);
    TU_CHECK(act_app_top("dep") != ACT_PID_NONE);
    TU_CHECK(strcmp(act_app_env_get("main", "extra"), "yes") == 0);
    raise(sig_to_raise);
}

static void run_until(int sig)
{
    int64_t before = act_mem_live_blocks();
    sig_to_raise = sig;
    static const act_app_config_t config[] = {{"main", "extra", "yes"}, {NULL, NULL, NULL}};
    act_node_opts_t o = {
        .system = {.schedulers = 2}, .apps = deps, .config = config, .started = started_raise};
    cr_assert_eq(act_node_run(&main_app, &o), ACT_NODE_EXIT_OK);
    cr_assert_not(act_system_running());
    expect_log(0, (int[]){2, 1, -1, 101, -2, 102}, 6);
    cr_assert(otp_wait_report(ACT_REPORT_NODE, "starting main 3.1 on 2 schedulers", 100));
    cr_assert(otp_wait_report(ACT_REPORT_NODE, "stopped (exit status 0)", 100));
    cr_assert_eq(act_mem_live_blocks(), before);
    cr_assert_eq(tu_failures(), 0);
}

Test(node, runs_until_sigterm_and_stops_in_order)
{
    run_until(SIGTERM);
    cr_assert(otp_wait_report(ACT_REPORT_NODE, "stopping: SIGTERM", 100));
    /* The previous handler is back. */
    struct sigaction sa;
    sigaction(SIGTERM, NULL, &sa);
    cr_assert_eq(sa.sa_handler, SIG_DFL);
}

Test(node, runs_until_sigint)
{
    run_until(SIGINT);
    cr_assert(otp_wait_report(ACT_REPORT_NODE, "stopping: SIGINT", 100));
}

static void started_crash(void *arg)
{
    (void)arg;
    act_pid_t top = act_app_top("main");
    act_child_info_t *kids = NULL;
    size_t n = 0;
    TU_CHECK(act_sup_which_children(top, &kids, &n) == 0 && n == 1);
    if (n == 1)
        act_exit(kids[0].pid, ACT_CRASH);
    act_free(kids);
}

Test(node, a_permanent_application_death_stops_the_node_with_a_report)
{
    int64_t before = act_mem_live_blocks();
    static const act_app_config_t config[] = {{"main", "maxr", "0"}, {NULL, NULL, NULL}};
    act_node_opts_t o = {
        .apps = deps, .config = config, .started = started_crash, .no_signals = true};
    cr_assert_eq(act_node_run(&main_app, &o), ACT_NODE_EXIT_APP_DIED);
    cr_assert(otp_wait_report(ACT_REPORT_GAVE_UP, "] main <", 100));
    cr_assert(otp_wait_report(ACT_REPORT_APP_EXIT, "main exited: shutdown", 100));
    cr_assert(otp_wait_report(ACT_REPORT_NODE,
                              "stopping: permanent application main exited: shutdown: reached "
                              "max restart intensity (0 restarts in 5 s)",
                              100));
    cr_assert(otp_wait_report(ACT_REPORT_NODE, "stopped (exit status 1)", 100));
    /* main's worker crashed, main stopped, then dep. */
    expect_log(0, (int[]){2, 1, -1, 101, -2, 102}, 6);
    cr_assert_eq(act_mem_live_blocks(), before);
    otp_print_reports();
}

static void started_request(void *arg)
{
    act_system_request_stop((int)(intptr_t)arg);
}

Test(node, a_requested_stop_returns_its_status)
{
    act_node_opts_t o = {
        .apps = deps, .started = started_request, .arg = (void *)7, .no_signals = true};
    cr_assert_eq(act_node_run(&main_app, &o), 7);
}

Test(node, start_failures_return_2)
{
    int64_t before = act_mem_live_blocks();
    /* The dependency is not loaded. */
    act_node_opts_t o = {.no_signals = true};
    cr_assert_eq(act_node_run(&main_app, &o), ACT_NODE_EXIT_START_FAILED);
    cr_assert(
        otp_wait_report(ACT_REPORT_APP_START, "main depends on dep, which is not loaded", 100));
    cr_assert(otp_wait_report(ACT_REPORT_NODE, "main failed to start: ACT_EDEPMISSING", 100));
    cr_assert_not(act_system_running());
    cr_assert_eq(act_mem_live_blocks(), before);
    cr_assert_eq(act_node_run(NULL, NULL), ACT_NODE_EXIT_START_FAILED);
    act_node_opts_t bad = {.system = {.schedulers = 5000}};
    cr_assert_eq(act_node_run(&main_app, &bad), ACT_NODE_EXIT_START_FAILED);
    cr_assert(otp_wait_report(ACT_REPORT_NODE, "cannot start the actor system", 100));
    /* One system per process. */
    cr_assert_eq(act_system_start(NULL), 0);
    cr_assert_eq(act_node_run(&main_app, &o), ACT_NODE_EXIT_START_FAILED);
    cr_assert_eq(act_system_stop(), 0);
    cr_assert_eq(otp_log_len(), 0);
}
