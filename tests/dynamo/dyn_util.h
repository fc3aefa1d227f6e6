/*
 * Shared helpers of the dynamo suites: an actor system per test with the report sink captured
 * (log lines, supervisor reports), and an end-of-test check that fails the test if blocks
 * leaked or a check off the test's thread failed.
 *
 * Criterion 2.4.1 ignores assertions in .fini and reports a crash there as a mere warning, so
 * the check runs at the end of the test's own body: declare tests with DY_TEST, which calls
 * dy_end() after the body (a body that already failed an assertion stops before it).
 */
#ifndef DYN_UTIL_H
#define DYN_UTIL_H

#include <criterion/criterion.h>
#include <stdbool.h>
#include <stdint.h>

#include "dynamo/dynamo.h"
#include "dynamo/test.h"

#ifndef DYN_TEST_TIMEOUT_SCALE
#define DYN_TEST_TIMEOUT_SCALE 1
#endif
#define TMO(s) ((double)(s)*DYN_TEST_TIMEOUT_SCALE)
#define MS(ms) ((int64_t)(ms)*DYN_TEST_TIMEOUT_SCALE)

/* .init / .fini of every suite. */
void dy_init(void);
void dy_fini(void);
/* Stops the system and asserts that nothing leaked and no off-thread check failed. */
void dy_end(void);

/* Test(suite, name, ...) whose body is followed by dy_end(). */
#define DY_TEST(suite_, name_, ...)                                                                \
    static void dy_body_##suite_##_##name_(void);                                                  \
    Test(suite_, name_, ##__VA_ARGS__)                                                             \
    {                                                                                              \
        dy_body_##suite_##_##name_();                                                              \
        dy_end();                                                                                  \
    }                                                                                              \
    static void dy_body_##suite_##_##name_(void)

/* Everything the report sink got so far, one line per report. */
const char *dy_reports(void);
bool dy_reported(const char *needle);
/* Waits up to ms for a report containing needle. */
bool dy_wait_report(const char *needle, int64_t ms);
void dy_reports_clear(void);

/* Checks off the test's thread (in routes, fibers): a failure is printed and counted, and the
 * teardown fails the test. */
#define DY_CHECK(cond) dy_check(!!(cond), __FILE__, __LINE__, #cond)
bool dy_check(bool ok, const char *file, int line, const char *expr);

/* Takes every free descriptor but `leave` (under a soft RLIMIT_NOFILE of 256 at most), so that
 * the opens after them fail with EMFILE; dy_fds_release gives them back (and the limit). */
void dy_fds_exhaust(int leave);
void dy_fds_release(void);

/* Runs a fresh test conn for method and target through router; the caller frees it. */
dyn_conn_t *dy_run(const dyn_router_t *router, http_method_t m, const char *target);

#endif
