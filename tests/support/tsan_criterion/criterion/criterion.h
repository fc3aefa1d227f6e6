/*
 * A Criterion-compatible test runner for the ThreadSanitizer build.
 *
 * Criterion cannot run under TSan: its BoxFort sandbox maps an arena at fixed addresses that
 * collide with TSan's shadow memory (Snaipe/Criterion#274, open since 2018). The TSan build
 * compiles the very same test sources against this header instead: the subset of Criterion's
 * API our suites use (Test, TestSuite with .init/.fini/.timeout/.signal/.exit_code/.disabled,
 * cr_assert*, cr_expect*, cr_log_*), each test in its own forked process as Criterion does.
 * Everything else builds against the real Criterion.
 */
#ifndef TSAN_CRITERION_H
#define TSAN_CRITERION_H

/* Assertions may carry no message: an empty format string is expected here. */
#pragma GCC diagnostic ignored "-Wformat-zero-length"

#include <stdbool.h>
#include <stddef.h>
#include <string.h>

struct tsr_extra {
    void (*init)(void);
    void (*fini)(void);
    double timeout;
    int signal;
    int exit_code;
    bool disabled;
    const char *description;
};

void tsr_register_test(const char *suite, const char *name, void (*fn)(void),
                       const struct tsr_extra *extra);
void tsr_register_suite(const char *suite, const struct tsr_extra *extra);
void tsr_fail(const char *file, int line, bool fatal, const char *expr, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
void tsr_log(const char *level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define Test(suite, name, ...)                                                                     \
    static void suite##__##name##__impl(void);                                                     \
    static const struct tsr_extra suite##__##name##__extra = {__VA_ARGS__};                        \
    __attribute__((constructor)) static void suite##__##name##__reg(void)                          \
    {                                                                                              \
        tsr_register_test(#suite, #name, suite##__##name##__impl, &suite##__##name##__extra);      \
    }                                                                                              \
    static void suite##__##name##__impl(void)

#define TestSuite(suite, ...)                                                                      \
    static const struct tsr_extra suite##__suite__extra = {__VA_ARGS__};                           \
    __attribute__((constructor)) static void suite##__suite__reg(void)                             \
    {                                                                                              \
        tsr_register_suite(#suite, &suite##__suite__extra);                                        \
    }

#define TSR_CHECK(fatal, cond, text, ...)                                                          \
    do {                                                                                           \
        if (!(cond))                                                                               \
            tsr_fail(__FILE__, __LINE__, fatal, text, "" __VA_ARGS__);                             \
    } while (0)

#define cr_assert(cond, ...) TSR_CHECK(true, cond, #cond, __VA_ARGS__)
#define cr_expect(cond, ...) TSR_CHECK(false, cond, #cond, __VA_ARGS__)
#define cr_assert_not(cond, ...) TSR_CHECK(true, !(cond), "!(" #cond ")", __VA_ARGS__)
#define cr_expect_not(cond, ...) TSR_CHECK(false, !(cond), "!(" #cond ")", __VA_ARGS__)
#define cr_assert_fail(...) TSR_CHECK(true, 0, "cr_assert_fail", __VA_ARGS__)
#define cr_expect_fail(...) TSR_CHECK(false, 0, "cr_expect_fail", __VA_ARGS__)

#define TSR_CMP(fatal, a, op, b, ...) TSR_CHECK(fatal, (a)op(b), #a " " #op " " #b, __VA_ARGS__)
#define cr_assert_eq(a, b, ...) TSR_CMP(true, a, ==, b, __VA_ARGS__)
#define cr_assert_neq(a, b, ...) TSR_CMP(true, a, !=, b, __VA_ARGS__)
#define cr_assert_lt(a, b, ...) TSR_CMP(true, a, <, b, __VA_ARGS__)
#define cr_assert_leq(a, b, ...) TSR_CMP(true, a, <=, b, __VA_ARGS__)
#define cr_assert_gt(a, b, ...) TSR_CMP(true, a, >, b, __VA_ARGS__)
#define cr_assert_geq(a, b, ...) TSR_CMP(true, a, >=, b, __VA_ARGS__)
#define cr_expect_eq(a, b, ...) TSR_CMP(false, a, ==, b, __VA_ARGS__)
#define cr_expect_neq(a, b, ...) TSR_CMP(false, a, !=, b, __VA_ARGS__)
#define cr_expect_lt(a, b, ...) TSR_CMP(false, a, <, b, __VA_ARGS__)
#define cr_expect_leq(a, b, ...) TSR_CMP(false, a, <=, b, __VA_ARGS__)
#define cr_expect_gt(a, b, ...) TSR_CMP(false, a, >, b, __VA_ARGS__)
#define cr_expect_geq(a, b, ...) TSR_CMP(false, a, >=, b, __VA_ARGS__)
#define cr_assert_null(p, ...) TSR_CHECK(true, (p) == NULL, #p " == NULL", __VA_ARGS__)
#define cr_assert_not_null(p, ...) TSR_CHECK(true, (p) != NULL, #p " != NULL", __VA_ARGS__)
#define cr_expect_null(p, ...) TSR_CHECK(false, (p) == NULL, #p " == NULL", __VA_ARGS__)
#define cr_expect_not_null(p, ...) TSR_CHECK(false, (p) != NULL, #p " != NULL", __VA_ARGS__)
#define cr_assert_str_eq(a, b, ...)                                                                \
    TSR_CHECK(true, strcmp((a), (b)) == 0, #a " == " #b, __VA_ARGS__)
#define cr_assert_str_neq(a, b, ...)                                                               \
    TSR_CHECK(true, strcmp((a), (b)) != 0, #a " != " #b, __VA_ARGS__)
#define cr_expect_str_eq(a, b, ...)                                                                \
    TSR_CHECK(false, strcmp((a), (b)) == 0, #a " == " #b, __VA_ARGS__)
#define cr_assert_str_empty(a, ...) TSR_CHECK(true, (a)[0] == '\0', #a " is empty", __VA_ARGS__)
#define cr_assert_arr_eq(a, b, n, ...)                                                             \
    TSR_CHECK(true, memcmp((a), (b), (n)) == 0, #a " == " #b, __VA_ARGS__)

#define cr_log_info(...) tsr_log("info", __VA_ARGS__)
#define cr_log_warn(...) tsr_log("warn", __VA_ARGS__)
#define cr_log_error(...) tsr_log("error", __VA_ARGS__)

#endif
