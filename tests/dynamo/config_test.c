/*
 * Environments' settings applied to a Dynamo (dynamo/config.h): what comes from where, and
 * the errors a person gets for a wrong PORT, level or secret.
 */
#include <stdlib.h>
#include <string.h>

#include "dyn_util.h"

static const char secret[] = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

static void clear_env(void)
{
    unsetenv("PORT");
    unsetenv("DYNAMO_HOST");
    unsetenv("DYNAMO_LOG_LEVEL");
    unsetenv("SECRET_KEY_BASE");
}

TestSuite(config, .init = clear_env, .timeout = TMO(10));

Test(config, the_file_then_the_environment_then_the_command_line)
{
    dyn_dynamo_t d = {.name = "web", .port = 1234, .log_level = DYN_LOG_ERROR};
    const dyn_config_t dev = {.port = 4000,
                              .host = "0.0.0.0",
                              .code_reload = DYN_SWITCH_ON,
                              .debug_errors = DYN_SWITCH_OFF,
                              .static_cache_control = "no-store",
                              .secret = secret,
                              .stop_timeout_ms = 900};
    char err[256];
    cr_assert_eq(dyn_config_apply(&d, DYN_ENV_DEV, &dev, false, 0, NULL, err, sizeof err), 0, "%s",
                 err);
    cr_assert_eq(d.port, 4000);
    cr_assert_str_eq(d.host, "0.0.0.0");
    cr_assert_eq(d.log_level, DYN_LOG_ERROR, "the declaration's, the file sets none");
    cr_assert_eq(d.code_reload, DYN_SWITCH_ON);
    cr_assert_eq(d.debug_errors, DYN_SWITCH_OFF);
    cr_assert_str_eq(d.static_cache_control, "no-store");
    cr_assert_eq(d.secret, secret);
    cr_assert_eq(d.stop_timeout_ms, 900);
    cr_assert_eq(d.env, DYN_ENV_DEV);

    setenv("PORT", "5000", 1);
    setenv("DYNAMO_HOST", "127.0.0.2", 1);
    setenv("DYNAMO_LOG_LEVEL", "warn", 1);
    cr_assert_eq(dyn_config_apply(&d, DYN_ENV_TEST, &dev, false, 0, NULL, err, sizeof err), 0);
    cr_assert_eq(d.port, 5000);
    cr_assert_str_eq(d.host, "127.0.0.2");
    cr_assert_eq(d.log_level, DYN_LOG_WARN);
    cr_assert_eq(d.env, DYN_ENV_TEST);

    cr_assert_eq(dyn_config_apply(&d, DYN_ENV_DEV, &dev, true, 0, "::1", err, sizeof err), 0);
    cr_assert_eq(d.port, 0, "--port 0 over PORT");
    cr_assert_str_eq(d.host, "::1");
}

Test(config, defaults_without_a_file)
{
    dyn_dynamo_t d = {.name = "web"};
    char err[256];
    cr_assert_eq(dyn_config_apply(&d, DYN_ENV_DEV, NULL, false, 0, NULL, err, sizeof err), 0);
    cr_assert_eq(d.port, 4000);
    cr_assert_null(d.host);
    cr_assert_eq(d.code_reload, DYN_SWITCH_DEFAULT);
}

Test(config, bad_values_are_refused_with_a_message_and_change_nothing)
{
    dyn_dynamo_t d = {.name = "web", .port = 1};
    char err[256];
    setenv("PORT", "80a", 1);
    cr_assert_eq(dyn_config_apply(&d, DYN_ENV_DEV, NULL, false, 0, NULL, err, sizeof err),
                 ACT_EBADARG);
    cr_assert(strstr(err, "PORT=80a is not a port number"), "%s", err);
    setenv("PORT", "65536", 1);
    cr_assert_eq(dyn_config_apply(&d, DYN_ENV_DEV, NULL, false, 0, NULL, err, sizeof err),
                 ACT_EBADARG);
    setenv("PORT", "-1", 1);
    cr_assert_eq(dyn_config_apply(&d, DYN_ENV_DEV, NULL, false, 0, NULL, err, sizeof err),
                 ACT_EBADARG);
    unsetenv("PORT");
    setenv("DYNAMO_LOG_LEVEL", "loud", 1);
    cr_assert_eq(dyn_config_apply(&d, DYN_ENV_DEV, NULL, false, 0, NULL, err, sizeof err),
                 ACT_EBADARG);
    cr_assert(strstr(err, "DYNAMO_LOG_LEVEL=loud"), "%s", err);
    unsetenv("DYNAMO_LOG_LEVEL");
    const dyn_config_t weak = {.secret = "short"};
    cr_assert_eq(dyn_config_apply(&d, DYN_ENV_DEV, &weak, false, 0, NULL, err, sizeof err),
                 ACT_EBADARG);
    cr_assert(strstr(err, "5 bytes long: it needs at least 64"), "%s", err);
    cr_assert_eq(d.port, 1, "nothing applied");
    cr_assert_eq(d.env, DYN_ENV_DEV);
}

Test(config, prod_takes_its_secret_from_secret_key_base_only)
{
    dyn_dynamo_t d = {.name = "web"};
    char err[512];
    cr_assert_eq(dyn_config_apply(&d, DYN_ENV_PROD, NULL, false, 0, NULL, err, sizeof err),
                 ACT_EBADARG);
    cr_assert(strstr(err, "SECRET_KEY_BASE is not set"), "%s", err);
    cr_assert(strstr(err, "dynctl secret"), "%s", err);
    const dyn_config_t in_source = {.secret = secret};
    setenv("SECRET_KEY_BASE", secret, 1);
    cr_assert_eq(dyn_config_apply(&d, DYN_ENV_PROD, &in_source, false, 0, NULL, err, sizeof err),
                 ACT_EBADARG);
    cr_assert(strstr(err, "keep secrets out of the source"), "%s", err);
    cr_assert_eq(dyn_config_apply(&d, DYN_ENV_PROD, NULL, false, 0, NULL, err, sizeof err), 0, "%s",
                 err);
    cr_assert_str_eq(d.secret, secret);
    cr_assert_eq(d.env, DYN_ENV_PROD);
    setenv("SECRET_KEY_BASE", "too-short", 1);
    cr_assert_eq(dyn_config_apply(&d, DYN_ENV_PROD, NULL, false, 0, NULL, err, sizeof err),
                 ACT_EBADARG);
    cr_assert(strstr(err, "(SECRET_KEY_BASE) is 9 bytes long"), "%s", err);
}

Test(config, log_levels_by_name)
{
    dyn_log_level_t l;
    cr_assert_eq(dyn_log_level_parse("debug", &l), 0);
    cr_assert_eq(l, DYN_LOG_DEBUG);
    cr_assert_eq(dyn_log_level_parse("none", &l), 0);
    cr_assert_eq(l, DYN_LOG_NONE);
    cr_assert_eq(dyn_log_level_parse("DEBUG", &l), ACT_EBADARG);
    cr_assert_str_eq(dyn_log_level_name(DYN_LOG_WARN), "warn");
}

/* The switches reach the running Dynamo: debug_errors on in test shows the debug page. */
static dyn_conn_t *boom(dyn_conn_t *conn)
{
    (void)conn;
    act_failf(ACT_CRASH, "boom");
}
DYN_ROUTER(boom_router, DYN_GET("/", boom));

DY_TEST(config, debug_errors_on_outside_dev_shows_the_exception_page, .init = dy_init,
        .fini = dy_fini)
{
    const dyn_dynamo_t plain = {.name = "t", .endpoint = &boom_router, .env = DYN_ENV_PROD};
    dyn_conn_t *c = dyn_test_run_dynamo(&plain, dyn_test_conn(HTTP_METHOD_GET, "/"));
    cr_assert_eq(dyn_test_status(c), 500);
    cr_assert_null(strstr(dyn_test_body(c, NULL), "boom"));
    dyn_test_conn_free(c);
    const dyn_dynamo_t debug = {
        .name = "t", .endpoint = &boom_router, .env = DYN_ENV_PROD, .debug_errors = DYN_SWITCH_ON};
    c = dyn_test_run_dynamo(&debug, dyn_test_conn(HTTP_METHOD_GET, "/"));
    cr_assert_eq(dyn_test_status(c), 500);
    cr_assert(strstr(dyn_test_body(c, NULL), "boom"));
    dyn_test_conn_free(c);
}
