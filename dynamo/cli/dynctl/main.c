/*
 * dynctl's entry: the command table, help, messages and the options the commands share.
 *
 *     dynctl <command> [options] [PATH]
 *
 * Each command is a {name, fn, summary, help} entry defined in its own file; `dynctl --help`
 * lists them, `dynctl help <command>` and `dynctl <command> --help` print one. Messages go to
 * stderr as "dynctl: ...", results to stdout; the exit status says what happened
 * (DYNCTL_EXIT_MAP in dynctl.h).
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dynamo/types.h"
#include "dynctl.h"

static const dynctl_cmd_t *const commands[] = {
    &dynctl_new,    &dynctl_start, &dynctl_stop, &dynctl_ping,   &dynctl_status,
    &dynctl_routes, &dynctl_pid,   &dynctl_test, &dynctl_secret,
};
#define NCOMMANDS (sizeof commands / sizeof commands[0])

__attribute__((format(printf, 1, 0))) static void vnote(const char *fmt, va_list ap)
{
    fputs("dynctl: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
}

int dynctl_fail(int status, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vnote(fmt, ap);
    va_end(ap);
    return status;
}

void dynctl_note(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vnote(fmt, ap);
    va_end(ap);
}

int dynctl_usage(const dynctl_cmd_t *cmd, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "dynctl %s: ", cmd->name);
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, " (see dynctl help %s)\n", cmd->name);
    va_end(ap);
    return DYNCTL_EXIT_USAGE;
}

static void print_help(FILE *f)
{
    fprintf(f, "usage: dynctl <command> [options] [PATH]\n\n"
               "Creates Dynamo projects, runs their nodes and talks to running ones.\n"
               "PATH is the project's directory (default: the current one).\n\n"
               "Commands:\n");
    for (size_t i = 0; i < NCOMMANDS; i++)
        fprintf(f, "  %-8s %s\n", commands[i]->name, commands[i]->summary);
    fprintf(f, "\n`dynctl help <command>` or `dynctl <command> --help` tells more.\n\n"
               "Exit statuses:\n");
#define DYNCTL__EXIT_HELP(name, status, msg) fprintf(f, "  %2d  %s\n", status, msg);
    DYNCTL_EXIT_MAP(DYNCTL__EXIT_HELP)
#undef DYNCTL__EXIT_HELP
}

static const dynctl_cmd_t *find(const char *name)
{
    for (size_t i = 0; i < NCOMMANDS; i++)
        if (strcmp(commands[i]->name, name) == 0)
            return commands[i];
    return NULL;
}

/* ---- options -----------------------------------------------------------------------------------
 */

static bool allowed_opt(const char *allowed, const char *name)
{
    size_t n = strlen(name);
    for (const char *p = allowed; (p = strstr(p, name)) != NULL; p += n)
        if ((p == allowed || p[-1] == ' ') && (p[n] == ' ' || p[n] == '\0'))
            return true;
    return false;
}

static bool parse_int(const char *s, long min, long max, long *out)
{
    if (!s || !*s)
        return false;
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || *end || v < min || v > max)
        return false;
    *out = v;
    return true;
}

int dynctl_parse(const dynctl_cmd_t *cmd, int argc, char **argv, const char *allowed,
                 dynctl_opts_t *o)
{
    *o = (dynctl_opts_t){
        .path = ".", .max_restarts = 5, .max_seconds = 60, .heart_timeout = -1, .timeout = 30};
    bool have_path = false;
    static const struct {
        const char *name;
        long min, max;
        size_t off;
    } ints[] = {
        {"port", 0, 65535, offsetof(dynctl_opts_t, port)},
        {"max-restarts", 0, 1000, offsetof(dynctl_opts_t, max_restarts)},
        {"max-seconds", 1, 86400, offsetof(dynctl_opts_t, max_seconds)},
        {"heart-timeout", 0, 86400, offsetof(dynctl_opts_t, heart_timeout)},
        {"timeout", 1, 86400, offsetof(dynctl_opts_t, timeout)},
    };
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            fputs(cmd->help, stdout);
            return 1;
        }
        if (strncmp(a, "--", 2) != 0 || a[2] == '\0') {
            if (a[0] == '-' && a[1] != '\0' && strcmp(a, "--") != 0)
                return dynctl_usage(cmd, "unknown option %s", a);
            if (strcmp(a, "--") == 0 && ++i >= argc)
                break;
            if (have_path)
                return dynctl_usage(cmd, "one PATH only (got %s and %s)", o->path, argv[i]);
            o->path = argv[i];
            o->path_set = have_path = true;
            continue;
        }
        const char *name = a + 2;
        if (!allowed_opt(allowed, name))
            return dynctl_usage(cmd, "unknown option %s", a);
        if (strcmp(name, "daemon") == 0) {
            o->daemon = true;
            continue;
        }
        if (i + 1 >= argc)
            return dynctl_usage(cmd, "%s needs a value", a);
        const char *v = argv[++i];
        if (strcmp(name, "env") == 0) {
            o->env = v;
            continue;
        }
        if (strcmp(name, "node") == 0) {
            o->node = v;
            continue;
        }
        if (strcmp(name, "name") == 0) {
            o->name = v;
            continue;
        }
        bool found = false;
        for (size_t k = 0; k < sizeof ints / sizeof ints[0]; k++) {
            if (strcmp(name, ints[k].name) != 0)
                continue;
            long n;
            if (!parse_int(v, ints[k].min, ints[k].max, &n))
                return dynctl_usage(cmd, "%s %s: a number from %ld to %ld, please", a, v,
                                    ints[k].min, ints[k].max);
            if (strcmp(name, "port") == 0) {
                o->port = (unsigned)n;
                o->port_set = true;
            } else {
                *(int *)((char *)o + ints[k].off) = (int)n;
            }
            found = true;
        }
        if (!found)
            return dynctl_usage(cmd, "unknown option %s", a);
    }
    return 0;
}

/* ---- main ------------------------------------------------------------------------------------ */

int main(int argc, char **argv)
{
    if (argc < 2) {
        print_help(stderr);
        return DYNCTL_EXIT_USAGE;
    }
    const char *name = argv[1];
    if (strcmp(name, "--help") == 0 || strcmp(name, "-h") == 0) {
        print_help(stdout);
        return DYNCTL_EXIT_OK;
    }
    if (strcmp(name, "--version") == 0) {
        printf("dynctl %s\n", DYN_VERSION);
        return DYNCTL_EXIT_OK;
    }
    if (strcmp(name, "help") == 0) {
        if (argc < 3) {
            print_help(stdout);
            return DYNCTL_EXIT_OK;
        }
        const dynctl_cmd_t *cmd = find(argv[2]);
        if (!cmd)
            return dynctl_fail(DYNCTL_EXIT_USAGE, "no command %s (see dynctl --help)", argv[2]);
        fputs(cmd->help, stdout);
        return DYNCTL_EXIT_OK;
    }
    const dynctl_cmd_t *cmd = find(name);
    if (!cmd)
        return dynctl_fail(DYNCTL_EXIT_USAGE, "no command %s (see dynctl --help)", name);
    return cmd->fn(argc - 1, argv + 1);
}
