/*
 * The runner behind criterion/criterion.h in the TSan build: registers tests from
 * constructors, runs each matching test in a forked child with its suite's or its own
 * init/fini and timeout, checks the expected signal or exit code, and prints a Criterion-like
 * synthesis. A disabled test (its own .disabled or its suite's) is not run and is counted as
 * skipped, never as passing. A failed assertion fails the test wherever it is, .fini
 * included. Options: --filter GLOB (suite/name), -j N (accepted; tests run one at a time),
 * --verbose.
 */
#include "criterion/criterion.h"

#include <fnmatch.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

struct test {
    const char *suite, *name;
    void (*fn)(void);
    const struct tsr_extra *extra;
};
struct suite {
    const char *name;
    const struct tsr_extra *extra;
};

static struct test *tests;
static size_t ntests, captests;
static struct suite suites[256];
static size_t nsuites;
static bool failed;
static const char *current;

void tsr_register_test(const char *suite, const char *name, void (*fn)(void),
                       const struct tsr_extra *extra)
{
    if (ntests == captests) {
        captests = captests ? captests * 2 : 64;
        tests = realloc(tests, captests * sizeof *tests);
        if (!tests)
            abort();
    }
    tests[ntests++] = (struct test){suite, name, fn, extra};
}

void tsr_register_suite(const char *suite, const struct tsr_extra *extra)
{
    if (nsuites < sizeof suites / sizeof suites[0])
        suites[nsuites++] = (struct suite){suite, extra};
}

void tsr_fail(const char *file, int line, bool fatal, const char *expr, const char *fmt, ...)
{
    fprintf(stderr, "[----] %s:%d: %s: %s", file, line, current ? current : "?",
            fmt && *fmt ? "" : expr);
    if (fmt && *fmt) {
        va_list ap;
        va_start(ap, fmt);
        vfprintf(stderr, fmt, ap);
        va_end(ap);
    }
    fputc('\n', stderr);
    failed = true;
    if (fatal) {
        fflush(stderr);
        _exit(1);
    }
}

void tsr_log(const char *level, const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "[%s] ", level);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

static const struct tsr_extra *suite_extra(const char *name)
{
    for (size_t i = 0; i < nsuites; i++)
        if (strcmp(suites[i].name, name) == 0)
            return suites[i].extra;
    return NULL;
}

static bool disabled(const struct test *t)
{
    const struct tsr_extra *s = suite_extra(t->suite);
    return t->extra->disabled || (s && s->disabled);
}

static int run_one(const struct test *t, bool verbose)
{
    const struct tsr_extra *s = suite_extra(t->suite);
    const struct tsr_extra *e = t->extra;
    void (*init)(void) = e->init ? e->init : (s ? s->init : NULL);
    void (*fini)(void) = e->fini ? e->fini : (s ? s->fini : NULL);
    double timeout = e->timeout > 0 ? e->timeout : (s && s->timeout > 0 ? s->timeout : 0);
    int want_signal = e->signal ? e->signal : (s ? s->signal : 0);
    int want_code = e->exit_code ? e->exit_code : (s ? s->exit_code : 0);
    char full[512];
    snprintf(full, sizeof full, "%s::%s", t->suite, t->name);
    if (verbose)
        fprintf(stderr, "[RUN ] %s\n", full);
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    if (pid < 0) {
        perror("fork");
        return 1;
    }
    if (pid == 0) {
        current = full;
        if (timeout > 0)
            alarm((unsigned)(timeout + 0.999));
        if (init)
            init();
        t->fn();
        if (fini)
            fini();
        fflush(stdout);
        fflush(stderr);
        _exit(failed ? 1 : 0);
    }
    int status;
    while (waitpid(pid, &status, 0) < 0)
        ;
    bool ok;
    if (WIFSIGNALED(status)) {
        int sig = WTERMSIG(status);
        ok = sig == want_signal;
        if (!ok)
            fprintf(stderr, "[FAIL] %s: %s (signal %d)\n", full,
                    sig == SIGALRM ? "timed out" : "crashed", sig);
    } else {
        int code = WEXITSTATUS(status);
        ok = want_signal == 0 && code == want_code;
        if (!ok)
            fprintf(stderr, "[FAIL] %s: exit code %d%s\n", full, code,
                    want_signal ? " (a signal was expected)" : "");
    }
    if (ok && verbose)
        fprintf(stderr, "[PASS] %s\n", full);
    return ok ? 0 : 1;
}

int main(int argc, char **argv)
{
    const char *filter = NULL;
    bool verbose = false;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--filter") == 0 && i + 1 < argc)
            filter = argv[++i];
        else if (strncmp(argv[i], "--filter=", 9) == 0)
            filter = argv[i] + 9;
        else if (strcmp(argv[i], "--verbose") == 0)
            verbose = true;
        else if (strcmp(argv[i], "-j") == 0 && i + 1 < argc)
            i++;
    }
    size_t run = 0, bad = 0, skipped = 0;
    for (size_t i = 0; i < ntests; i++) {
        char full[512];
        snprintf(full, sizeof full, "%s/%s", tests[i].suite, tests[i].name);
        if (filter && fnmatch(filter, full, 0) != 0)
            continue;
        if (disabled(&tests[i])) {
            skipped++;
            if (verbose)
                fprintf(stderr, "[SKIP] %s::%s: disabled\n", tests[i].suite, tests[i].name);
            continue;
        }
        run++;
        bad += (size_t)run_one(&tests[i], verbose);
    }
    fprintf(stderr, "[====] Synthesis: Tested: %zu | Passing: %zu | Failing: %zu | Skipped: %zu\n",
            run, run - bad, bad, skipped);
    free(tests);
    return bad ? 1 : 0;
}
