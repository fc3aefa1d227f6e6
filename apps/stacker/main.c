/*
 * stacker: runs the Stacker application as a node, with a console on stdin (the seed's
 * `iex -S mix`):
 *
 *   stacker [--schedulers N] [--port N] [--set KEY=VALUE]... [--no-console]
 *
 * The stack is served over HTTP too (stacker.h), on 127.0.0.1:4001 unless --port (or --set
 * port=N) says otherwise.
 *
 * Console commands, one per line: `push N` (prints "ok"), `pop` (prints the value, or the
 * error: popping an empty stack crashes the server, which its supervisor restarts), `status`
 * (the supervision tree), `stop` (stops the node). The node runs until SIGTERM/SIGINT, `stop`,
 * or the application's death (more than max_restarts crashes within max_seconds); the exit
 * status says which (0, or 1 when the application died; see node.h).
 */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "stacker.h"

#define MAX_SETS 32

static pthread_t console_thread;
static _Atomic bool console_quit;

/* The stacker may be between a crash and its restart: retry a missing name for a second. */
static int with_retry(int (*op)(long long *), long long *v)
{
    int rc = op(v);
    for (int i = 0; rc == ACT_ENONAME && i < 100; i++) {
        usleep(10000);
        rc = op(v);
    }
    return rc;
}

static long long push_arg;

static int do_push(long long *v)
{
    (void)v;
    return stacker_push(push_arg);
}

static void command(char *line)
{
    line[strcspn(line, "\r\n")] = '\0';
    long long v = 0;
    int rc;
    if (sscanf(line, "push %lld", &push_arg) == 1) {
        rc = with_retry(do_push, &v);
        printf(rc ? "error: %s\n" : "ok\n", act_strerror(rc));
    } else if (strcmp(line, "pop") == 0) {
        rc = with_retry(stacker_pop, &v);
        if (rc)
            printf("error: %s\n", act_strerror(rc));
        else
            printf("%lld\n", v);
    } else if (strcmp(line, "status") == 0) {
        char *text = NULL;
        rc = act_app_dump(&text);
        printf("%s", rc ? act_strerror(rc) : text);
        act_free(text);
    } else if (strcmp(line, "stop") == 0) {
        act_system_request_stop(0);
    } else if (line[0]) {
        printf("commands: push N | pop | status | stop\n");
    }
    fflush(stdout);
}

/* Reads stdin until EOF or the node stops; polls so the stop hook can end it promptly. */
static void *console(void *arg)
{
    (void)arg;
    char buf[256];
    size_t len = 0;
    while (!atomic_load(&console_quit)) {
        struct pollfd p = {.fd = STDIN_FILENO, .events = POLLIN};
        int n = poll(&p, 1, 50);
        if (n < 0 && errno != EINTR)
            break;
        if (n <= 0)
            continue;
        ssize_t got = read(STDIN_FILENO, buf + len, sizeof buf - 1 - len);
        if (got <= 0)
            break;
        len += (size_t)got;
        buf[len] = '\0';
        char *nl;
        while ((nl = strchr(buf, '\n')) != NULL) {
            *nl = '\0';
            command(buf);
            memmove(buf, nl + 1, len - (size_t)(nl + 1 - buf) + 1);
            len -= (size_t)(nl + 1 - buf);
        }
        if (len == sizeof buf - 1)
            len = 0; /* a line too long: drop it */
    }
    act_thread_detach();
    return NULL;
}

/* Stop hook: the console must be gone before the runtime goes. */
static void console_stop(void *arg)
{
    (void)arg;
    atomic_store(&console_quit, true);
    pthread_join(console_thread, NULL);
}

static void started(void *arg)
{
    (void)arg;
    if (pthread_create(&console_thread, NULL, console, NULL) == 0)
        act_system_on_stop(console_stop, NULL);
}

int main(int argc, char **argv)
{
    act_app_config_t sets[MAX_SETS + 1] = {{0}};
    char *copies[MAX_SETS] = {0};
    size_t nsets = 0;
    act_node_opts_t opts = {.started = started};
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--schedulers") == 0 && i + 1 < argc) {
            opts.system.schedulers = (unsigned)atoi(argv[++i]);
        } else if (strcmp(argv[i], "--set") == 0 && i + 1 < argc && nsets < MAX_SETS) {
            char *kv = copies[nsets] = strdup(argv[++i]);
            char *eq = kv ? strchr(kv, '=') : NULL;
            if (!eq) {
                fprintf(stderr, "stacker: --set wants KEY=VALUE\n");
                return 2;
            }
            *eq = '\0';
            sets[nsets++] = (act_app_config_t){"stacker", kv, eq + 1};
        } else if (strcmp(argv[i], "--port") == 0 && i + 1 < argc && nsets < MAX_SETS) {
            sets[nsets++] = (act_app_config_t){"stacker", "port", argv[++i]};
        } else if (strcmp(argv[i], "--no-console") == 0) {
            opts.started = NULL;
        } else {
            fprintf(stderr, "usage: stacker [--schedulers N] [--port N] [--set KEY=VALUE]... "
                            "[--no-console]\n");
            return 2;
        }
    }
    opts.config = sets;
    int status = act_node_run(&stacker_app, &opts);
    for (size_t i = 0; i < nsets; i++)
        free(copies[i]);
    return status;
}
