/* Applications (app.h): dependency order, missing and circular dependencies, failures and
 * rollback, environment, types and their consequences, the stop hook, dumps. */
#include <string.h>
#include <unistd.h>

#include "otp_util.h"

TestSuite(app, .init = otp_start, .fini = tu_stop, .timeout = TMO(20));

#define APP(var, nm, tag_, ...)                                                                    \
    static const act_app_t var = {.name = nm,                                                      \
                                  .version = "1.0",                                                \
                                  .start = otp_app_start,                                          \
                                  .stop = otp_app_stop,                                            \
                                  .env = (const act_app_env_t[]){{"tag", #tag_}, {NULL, NULL}},    \
                                  __VA_ARGS__}

APP(app_c, "c", 3);
APP(app_b, "b", 2, .deps = (const char *const[]){"c", NULL});
APP(app_a, "a", 1, .deps = (const char *const[]){"b", "c", NULL});
APP(app_x, "x", 4, .deps = (const char *const[]){"c", "missing", NULL});
APP(app_cy1, "cy1", 5, .deps = (const char *const[]){"cy2", NULL});
APP(app_cy2, "cy2", 6, .deps = (const char *const[]){"c", "cy3", NULL});
APP(app_cy3, "cy3", 7, .deps = (const char *const[]){"cy1", NULL});
APP(app_fails, "fails", 99, .deps = (const char *const[]){"c", NULL});
APP(app_perm, "perm", 10, .type = ACT_APP_PERMANENT);
APP(app_trans, "trans", 11, .type = ACT_APP_TRANSIENT);
APP(app_temp, "temp", 12, .type = ACT_APP_TEMPORARY);
static const act_app_t app_lib = {
    .name = "lib", .version = "2.0", .env = (const act_app_env_t[]){{"k", "v"}, {NULL, NULL}}};

static atomic_int selfish_rc;

static int selfish_start(const act_app_t *app, act_pid_t *top)
{
    (void)app;
    (void)top;
    atomic_store(&selfish_rc, act_app_start("c", NULL));
    return 0; /* a library application after all */
}

static const act_app_t app_selfish = {.name = "selfish", .start = selfish_start};

static void load(const act_app_t *const *apps)
{
    for (; *apps; apps++)
        cr_assert_eq(act_app_load(*apps), 0, "%s", (*apps)->name);
}

static size_t running(const char **names, size_t max)
{
    act_app_info_t *info;
    size_t n;
    cr_assert_eq(act_app_which(&info, &n), 0);
    for (size_t i = 0; i < n && i < max; i++)
        names[i] = info[i].name;
    act_free(info);
    return n;
}

static void expect_log(int from, const int *evs, int n)
{
    cr_assert(otp_log_wait(from + n, 3000), "log: %s", otp_log_str(0));
    cr_assert(otp_log_is(from, evs, n), "log from %d: %s", from, otp_log_str(from));
}

Test(app, starts_dependencies_first_and_stops_in_reverse)
{
    load((const act_app_t *[]){&app_a, &app_b, &app_c, NULL});
    cr_assert_eq(act_app_start("a", NULL), 0);
    expect_log(0, (int[]){3, 2, 1}, 3);
    const char *names[8];
    cr_assert_eq(running(names, 8), 3);
    cr_assert_str_eq(names[0], "c");
    cr_assert_str_eq(names[1], "b");
    cr_assert_str_eq(names[2], "a");
    cr_assert_neq(act_app_top("a"), ACT_PID_NONE);
    cr_assert_eq(act_app_start("a", NULL), ACT_EAPPSTARTED);
    cr_assert_eq(act_app_stop_all(), 0);
    expect_log(3, (int[]){-1, 101, -2, 102, -3, 103}, 6);
    cr_assert_eq(running(names, 8), 0);
    cr_assert_eq(act_app_top("a"), ACT_PID_NONE);
}

Test(app, stop_one_application)
{
    load((const act_app_t *[]){&app_b, &app_c, NULL});
    cr_assert_eq(act_app_start("b", NULL), 0);
    cr_assert_eq(act_app_stop("c"), 0, "dependents keep running, as in OTP");
    expect_log(2, (int[]){-3, 103}, 2);
    const char *names[4];
    cr_assert_eq(running(names, 4), 1);
    cr_assert_str_eq(names[0], "b");
    cr_assert_eq(act_app_stop("c"), ACT_EAPPNOTSTARTED);
    cr_assert_eq(act_app_stop("nope"), ACT_ENOAPP);
    cr_assert_eq(act_app_start("nope", NULL), ACT_ENOAPP);
    cr_assert(otp_wait_report(ACT_REPORT_APP_START, "nope is not loaded", 1000));
}

Test(app, missing_dependency_is_refused_before_anything_starts)
{
    load((const act_app_t *[]){&app_x, &app_c, NULL});
    cr_assert_eq(act_app_start("x", NULL), ACT_EDEPMISSING);
    cr_assert(
        otp_wait_report(ACT_REPORT_APP_START, "x depends on missing, which is not loaded", 1000));
    const char *names[4];
    cr_assert_eq(running(names, 4), 0);
    cr_assert_eq(otp_log_len(), 0);
}

Test(app, circular_dependency_is_refused_with_the_chain)
{
    load((const act_app_t *[]){&app_cy1, &app_cy2, &app_cy3, &app_c, NULL});
    cr_assert_eq(act_app_start("cy1", NULL), ACT_EDEPCYCLE);
    cr_assert(otp_wait_report(ACT_REPORT_APP_START, "cy1 -> cy2 -> cy3 -> cy1", 1000));
    otp_print_reports();
    const char *names[4];
    cr_assert_eq(running(names, 4), 0);
    cr_assert_eq(otp_log_len(), 0);
}

Test(app, a_failed_start_stops_what_it_started)
{
    load((const act_app_t *[]){&app_fails, &app_c, NULL});
    cr_assert_eq(act_app_start("fails", NULL), -EIO);
    expect_log(0, (int[]){3, -3, 103}, 3);
    cr_assert(otp_wait_report(ACT_REPORT_APP_START, "fails failed to start: EIO", 1000));
    const char *names[4];
    cr_assert_eq(running(names, 4), 0);
}

Test(app, environment_defaults_and_overrides)
{
    load((const act_app_t *[]){&app_lib, &app_c, NULL});
    cr_assert_str_eq(act_app_env_get("lib", "k"), "v");
    cr_assert_null(act_app_env_get("lib", "nope"));
    cr_assert_null(act_app_env_get("nope", "k"));
    cr_assert_eq(act_app_set_env("lib", "k", "w"), 0);
    cr_assert_str_eq(act_app_env_get("lib", "k"), "w");
    cr_assert_eq(act_app_set_env("unloaded", "n", "42"), 0);
    cr_assert_eq(act_app_env_int("unloaded", "n", 0), 42);
    cr_assert_eq(act_app_env_int("lib", "k", -1), -1, "not a number");
    cr_assert_eq(act_app_set_env(NULL, "k", "v"), ACT_EBADARG);
    /* Start-time overrides win over the defaults: c's worker gets tag 8. */
    cr_assert_eq(act_app_start("c", (const act_app_env_t[]){{"tag", "8"}, {NULL, NULL}}), 0);
    expect_log(0, (int[]){8}, 1);
    /* A library application runs no actor. */
    cr_assert_eq(act_app_start("lib", NULL), 0);
    cr_assert_eq(act_app_top("lib"), ACT_PID_NONE);
    const char *names[4];
    cr_assert_eq(running(names, 4), 2);
}

Test(app, loading_rules)
{
    cr_assert_eq(act_app_load(NULL), ACT_EBADARG);
    cr_assert_eq(act_app_load(&(act_app_t){.name = ""}), ACT_EBADARG);
    cr_assert_eq(act_app_load(&app_c), 0);
    cr_assert_eq(act_app_load(&app_c), 0, "loading again is harmless");
    static const act_app_t other_c = {.name = "c"};
    cr_assert_eq(act_app_load(&other_c), -EEXIST);
    cr_assert_eq(act_app_start(NULL, NULL), ACT_EBADARG);
    cr_assert_eq(act_app_stop(""), ACT_EBADARG);
}

Test(app, a_start_callback_calling_the_controller_gets_edeadlk)
{
    load((const act_app_t *[]){&app_selfish, &app_c, NULL});
    cr_assert_eq(act_app_start("selfish", NULL), 0);
    cr_assert_eq(atomic_load(&selfish_rc), -EDEADLK);
}

static void crash_worker_of(const char *app)
{
    act_pid_t top = act_app_top(app);
    cr_assert_neq(top, ACT_PID_NONE);
    act_exit(otp_child(top, "w"), ACT_CRASH);
}

Test(app, permanent_application_death_stops_the_others_then_asks_the_node_to_stop)
{
    load((const act_app_t *[]){&app_perm, &app_c, NULL});
    cr_assert_eq(act_app_start("c", NULL), 0);
    cr_assert_eq(act_app_start("perm", (const act_app_env_t[]){{"maxr", "0"}, {NULL, NULL}}), 0);
    crash_worker_of("perm");
    cr_assert_eq(act_system_wait(), ACT_NODE_EXIT_APP_DIED);
    cr_assert(otp_wait_report(ACT_REPORT_APP_EXIT,
                              "perm exited: shutdown: reached max restart intensity", 1000));
    cr_assert(otp_wait_report(ACT_REPORT_APP_EXIT, "permanent: stopping the node", 1000));
    /* perm's worker crashed (-10), perm stopped (110), then c (-3, 103). */
    expect_log(2, (int[]){-10, 110, -3, 103}, 4);
    const char *names[4];
    cr_assert_eq(running(names, 4), 0);
}

Test(app, transient_application_stops_the_node_only_on_an_abnormal_exit)
{
    load((const act_app_t *[]){&app_trans, &app_c, NULL});
    cr_assert_eq(act_app_start("c", NULL), 0);
    cr_assert_eq(act_app_start("trans", NULL), 0);
    /* A normal exit of its top supervisor: reported, nothing else. */
    cr_assert_eq(act_sup_stop(act_app_top("trans"), MS(2000)), 0);
    cr_assert(otp_wait_report(ACT_REPORT_APP_EXIT, "transient, normal exit: no action", 2000));
    const char *names[4];
    cr_assert_eq(running(names, 4), 1);
    /* An abnormal one stops the node. */
    cr_assert_eq(act_app_start("trans", (const act_app_env_t[]){{"maxr", "0"}, {NULL, NULL}}), 0);
    crash_worker_of("trans");
    cr_assert_eq(act_system_wait(), ACT_NODE_EXIT_APP_DIED);
    cr_assert(otp_wait_report(ACT_REPORT_APP_EXIT, "transient: stopping the node", 1000));
}

Test(app, temporary_application_death_is_only_reported)
{
    load((const act_app_t *[]){&app_temp, &app_c, NULL});
    cr_assert_eq(act_app_start("c", NULL), 0);
    cr_assert_eq(act_app_start("temp", (const act_app_env_t[]){{"maxr", "0"}, {NULL, NULL}}), 0);
    crash_worker_of("temp");
    cr_assert(otp_wait_report(ACT_REPORT_APP_EXIT, "temp exited: shutdown", 2000));
    cr_assert(otp_wait_report(ACT_REPORT_APP_EXIT, "temporary: no action", 2000));
    const char *names[4];
    cr_assert_eq(running(names, 4), 1);
    cr_assert_str_eq(names[0], "c");
    expect_log(2, (int[]){-12, 112}, 2);
}

Test(app, dump_shows_every_application_and_its_tree)
{
    load((const act_app_t *[]){&app_b, &app_c, &app_lib, NULL});
    cr_assert_eq(act_app_start("b", NULL), 0);
    cr_assert_eq(act_app_start("lib", NULL), 0);
    char *text;
    cr_assert_eq(act_app_dump(&text), 0);
    cr_log_info("%s", text);
    cr_assert(strstr(text, "application c 1.0 permanent top=<"), "%s", text);
    cr_assert(strstr(text, "\n  c <"), "%s", text);
    cr_assert(strstr(text, "\n    w <"), "%s", text);
    cr_assert(strstr(text, "application b 1.0 permanent top=<"), "%s", text);
    cr_assert(strstr(text, "application lib 2.0 permanent top=-"), "%s", text);
    act_free(text);
}

static void stop_log(void *arg)
{
    (void)arg;
    otp_log(1000);
}

TestSuite(app_stop, .init = otp_capture_reports, .timeout = TMO(20));

Test(app_stop, system_stop_stops_applications_newest_first)
{
    int64_t before = act_mem_live_blocks();
    act_config_t cfg = {.schedulers = 2};
    cr_assert_eq(act_system_start(&cfg), 0);
    /* A hook registered before the controller's runs after it (hooks run newest first). */
    cr_assert_eq(act_system_on_stop(stop_log, NULL), 0);
    load((const act_app_t *[]){&app_a, &app_b, &app_c, NULL});
    cr_assert_eq(act_app_start("c", NULL), 0);
    cr_assert_eq(act_app_start("a", NULL), 0);
    cr_assert_eq(act_system_stop(), 0);
    expect_log(3, (int[]){-1, 101, -2, 102, -3, 103, 1000}, 7);
    cr_assert_eq(act_mem_live_blocks(), before, "leaked %lld blocks",
                 (long long)(act_mem_live_blocks() - before));
    /* Everything is forgotten with the system. */
    cr_assert_null(act_app_env_get("c", "tag"));
    cr_assert_eq(act_app_load(&app_c), ACT_ENOTRUNNING);
}
