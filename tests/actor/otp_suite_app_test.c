/*
 * Erlang/OTP's application_SUITE (lib/kernel/test/application_SUITE.erl), the cases a single
 * node can run: each test is named after the OTP case and checks its assertions through app.h.
 * act_app_start is OTP's ensure_all_started (it starts the dependencies that do not run); OTP's
 * {error, {already_started, App}} is ACT_EAPPSTARTED, a missing application ACT_ENOAPP or
 * ACT_EDEPMISSING, get_env's undefined NULL.
 */
#include <string.h>

#include "otp_util.h"

TestSuite(otp_suite_app, .init = otp_start, .fini = tu_stop, .timeout = TMO(30));

#define APP(var, nm, tag_, ...)                                                                    \
    static const act_app_t var = {.name = nm,                                                      \
                                  .version = "2.0",                                                \
                                  .start = otp_app_start,                                          \
                                  .stop = otp_app_stop,                                            \
                                  .env = (const act_app_env_t[]){{"tag", #tag_}, {NULL, NULL}},    \
                                  __VA_ARGS__}

APP(app1, "app1", 1);
APP(app9, "app9", 9, .type = ACT_APP_TEMPORARY);
APP(app10, "app10", 10, .deps = (const char *const[]){"app9", NULL}, .type = ACT_APP_TEMPORARY);
APP(chain_error, "app_chain_error", 20, .deps = (const char *const[]){"app_chain_error2", NULL});
APP(chain_error2, "app_chain_error2", 21,
    .deps = (const char *const[]){"app10", "hopefully_not_an_existing_app", NULL});
APP(chain_fail, "app_chain_fail", 22,
    .deps = (const char *const[]){"app10", "app_start_error", NULL});
APP(start_error, "app_start_error", 99);

static bool runs(const char *name)
{
    act_app_info_t *info;
    size_t n;
    cr_assert_eq(act_app_which(&info, &n), 0);
    bool yes = false;
    for (size_t i = 0; i < n; i++)
        yes = yes || strcmp(info[i].name, name) == 0;
    act_free(info);
    return yes;
}

/* The applications running, in start order, as "a b c". */
static const char *which_apps(void)
{
    static char buf[256];
    act_app_info_t *info;
    size_t n;
    cr_assert_eq(act_app_which(&info, &n), 0);
    size_t len = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < n; i++)
        len += (size_t)snprintf(buf + len, sizeof buf - len, "%s%s", i ? " " : "", info[i].name);
    act_free(info);
    return buf;
}

static void load_all(void)
{
    const act_app_t *all[] = {&app1,         &app9,       &app10,      &chain_error,
                              &chain_error2, &chain_fail, &start_error};
    for (size_t i = 0; i < sizeof all / sizeof *all; i++)
        cr_assert_eq(act_app_load(all[i]), 0, "%s", all[i]->name);
}

/* ensure_started: a second start is refused as already started; stopped, it starts again. */
Test(otp_suite_app, ensure_started)
{
    load_all();
    cr_assert_eq(act_app_start("app1", NULL), 0);
    int again = act_app_start("app1", NULL);
    cr_assert_eq(again, ACT_EAPPSTARTED, "%s", act_err_name(again));
    cr_assert_eq(act_app_stop("app1"), 0);
    cr_assert_eq(act_app_start("hopefully_not_an_existing_app_file", NULL), ACT_ENOAPP);
    cr_assert_eq(act_app_start("app1", NULL), 0);
    cr_assert_eq(act_app_stop("app1"), 0);
    cr_assert_eq(act_app_stop("app1"), ACT_EAPPNOTSTARTED);
}

/* ensure_all_started: the dependencies start first and only those that do not run; a failure
 * anywhere in the chain stops what this start started and leaves what ran before. */
Test(otp_suite_app, ensure_all_started)
{
    load_all();
    cr_assert_not(runs("app1"));
    cr_assert_eq(act_app_start("app1", NULL), 0);
    cr_assert(runs("app1"));
    cr_assert_eq(act_app_stop("app1"), 0);
    cr_assert_not(runs("app1"));

    cr_assert_eq(act_app_start("hopefully_not_an_existing_app_file", NULL), ACT_ENOAPP);

    /* Start dependencies. */
    int from = otp_log_len();
    cr_assert_eq(act_app_start("app10", NULL), 0);
    cr_assert_str_eq(which_apps(), "app9 app10");
    cr_assert(otp_log_is(from, (int[]){9, 10}, 2), "%s", otp_log_str(from));
    /* Only the applications that need to start are started. */
    cr_assert_eq(act_app_stop("app10"), 0);
    cr_assert_str_eq(which_apps(), "app9", "stopping app10 leaves its dependency");
    from = otp_log_len();
    cr_assert_eq(act_app_start("app10", NULL), 0);
    cr_assert(otp_log_is(from, (int[]){10}, 1), "%s", otp_log_str(from));
    cr_assert_eq(act_app_stop("app9"), 0);
    cr_assert_eq(act_app_stop("app10"), 0);

    /* A deeper failure chain: chain_error -> chain_error2 -> {app10 -> app9, missing}. Nothing
     * starts. */
    cr_assert_eq(act_app_start("app_chain_error", NULL), ACT_EDEPMISSING);
    cr_assert_str_eq(which_apps(), "");
    cr_assert(otp_wait_report(ACT_REPORT_APP_START, "hopefully_not_an_existing_app", 1000));
    /* A start that fails half-way (app10 and app9 started first): they stop again, while an
     * application that ran before stays. */
    cr_assert_eq(act_app_start("app1", NULL), 0);
    cr_assert_eq(act_app_start("app_chain_fail", NULL), -EIO);
    cr_assert_str_eq(which_apps(), "app1");
    cr_assert_eq(act_app_start("app9", NULL), 0);
    cr_assert_eq(act_app_start("app_chain_fail", NULL), -EIO);
    cr_assert_str_eq(which_apps(), "app1 app9");
}

/* get_env: an unknown application or key is undefined; a default stands in. */
Test(otp_suite_app, get_env)
{
    load_all();
    cr_assert_str_eq(act_app_env_get("app1", "tag"), "1");
    cr_assert_null(act_app_env_get("undefined_app", "a"));
    cr_assert_null(act_app_env_get("app1", "error_logger_xyz"));
    cr_assert_eq(act_app_env_int("app1", "error_logger_xyz", 42), 42);
    cr_assert_eq(act_app_set_env("app1", "error_logger_xyz", "7"), 0);
    cr_assert_eq(act_app_env_int("app1", "error_logger_xyz", 42), 7);
    /* An application need not be loaded to have an environment set. */
    cr_assert_eq(act_app_set_env("later", "k", "v"), 0);
    cr_assert_str_eq(act_app_env_get("later", "k"), "v");
}

/* OTP-2973: two actors start the same application at once: both get ok (not one ok and one
 * already_started), and both get the same error when the start fails. */
enum { START = ACT_MSG_USER + 7000, RES };

static void starter(void *arg)
{
    act_pid_t parent = TU_PID(arg);
    for (;;) {
        act_msg_t *m;
        if (act_receive_type(START, ACT_INFINITY, &m) != 0)
            return;
        const char *name = (const char *)(intptr_t)((tu_int_t *)m)->v;
        act_msg_free(m);
        tu_send_int(parent, RES, act_app_start(name, NULL));
    }
}

static int slow_start(const act_app_t *app, act_pid_t *top)
{
    act_sleep(MS(200)); /* long enough for the other start to ask meanwhile */
    return otp_app_start(app, top);
}

static int slow_fail(const act_app_t *app, act_pid_t *top)
{
    (void)app;
    (void)top;
    act_sleep(MS(200));
    return -ENOENT;
}

static const act_app_env_t env77[] = {{"tag", "77"}, {NULL, NULL}};

Test(otp_suite_app, otp_2973)
{
    static const act_app_t app0 = {
        .name = "app0", .start = slow_start, .stop = otp_app_stop, .env = env77};
    static const act_app_t err = {.name = "app_start_error", .start = slow_fail};
    cr_assert_eq(act_app_load(&app0), 0);
    cr_assert_eq(act_app_load(&err), 0);
    act_pid_t p1 = tu_spawn_fiber(starter, TU_ARG(act_self()), NULL);
    act_pid_t p2 = tu_spawn_fiber(starter, TU_ARG(act_self()), NULL);

    tu_send_int(p1, START, (int64_t)(intptr_t) "app0");
    tu_send_int(p2, START, (int64_t)(intptr_t) "app0");
    cr_assert_eq(tu_recv_int(RES, 5000), 0);
    cr_assert_eq(tu_recv_int(RES, 5000), 0);
    cr_assert_eq(otp_log_len(), 1, "app0 started once: %s", otp_log_str(0));
    cr_assert_eq(act_app_start("app0", NULL), ACT_EAPPSTARTED, "asked after it started");
    cr_assert_eq(act_app_stop("app0"), 0);

    tu_send_int(p1, START, (int64_t)(intptr_t) "app_start_error");
    tu_send_int(p2, START, (int64_t)(intptr_t) "app_start_error");
    cr_assert_eq(tu_recv_int(RES, 5000), -ENOENT);
    cr_assert_eq(tu_recv_int(RES, 5000), -ENOENT);
    act_exit(p1, ACT_KILL);
    act_exit(p2, ACT_KILL);
}

/* OTP-2718: a transient application whose start fails, normally or not, fails the start and
 * nothing more: it never ran, so it never died, and the node goes on. */
static int exit_normal_start(const act_app_t *app, act_pid_t *top)
{
    (void)app;
    (void)top;
    return act_stop(ACT_NORMAL);
}

Test(otp_suite_app, otp_2718)
{
    static const act_app_t trans_normal = {
        .name = "trans_normal", .start = exit_normal_start, .type = ACT_APP_TRANSIENT};
    static const act_app_t trans_abnormal = {
        .name = "trans_abnormal", .start = slow_fail, .type = ACT_APP_TRANSIENT};
    cr_assert_eq(act_app_load(&trans_normal), 0);
    cr_assert_eq(act_app_load(&trans_abnormal), 0);
    cr_assert_neq(act_app_start("trans_normal", NULL), 0);
    cr_assert_not(runs("trans_normal"));
    cr_assert_eq(act_app_start("trans_abnormal", NULL), -ENOENT);
    cr_assert_not(runs("trans_abnormal"));
    /* Not an application's death: no exit report, and nothing else stops. */
    cr_assert_eq(otp_reports(ACT_REPORT_APP_EXIT, NULL), 0);
    load_all();
    cr_assert_eq(act_app_start("app1", NULL), 0);
    cr_assert(runs("app1"));
}

/* OTP-4227: an application whose dependency died is started again with it (OTP's
 * application:start answers {error, {not_running, App}}; act_app_start is ensure_all_started,
 * so it starts the dependency again). A temporary dependency killed is only reported. */
Test(otp_suite_app, otp_4227)
{
    load_all();
    cr_assert_eq(act_app_start("app9", NULL), 0);
    act_pid_t top9 = act_app_top("app9");
    cr_assert_neq(top9, ACT_PID_NONE);
    act_exit(top9, ACT_KILL);
    cr_assert(otp_wait_report(ACT_REPORT_APP_EXIT, "app9", 2000));
    cr_assert_not(runs("app9"));
    cr_assert_eq(act_app_start("app10", NULL), 0);
    cr_assert_str_eq(which_apps(), "app9 app10");
}
