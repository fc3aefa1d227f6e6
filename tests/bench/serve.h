/*
 * What the test servers share (http_hello, dynamo_bench, tests/soak's dynamo_soak_server): the
 * command line `PROG PORT [SCHEDULERS]`, the descriptor limit raised to its hard maximum (room
 * for the idle-connection benchmark's 10,000 connections), the runtime started, and SIGINT or
 * SIGTERM asking it to stop (act_system_wait then returns).
 */
#ifndef DYN_TESTS_SERVE_H
#define DYN_TESTS_SERVE_H

#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>

#include "actor/act.h"

static void serve_on_signal(int sig)
{
    (void)sig;
    act_system_request_stop(0);
}

/* Starts the runtime for prog and returns the port argv[1] names; exits with a message on a
 * bad command line (status 2) or a runtime that cannot start (1). */
static inline uint16_t serve_start(const char *prog, int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: %s PORT [SCHEDULERS]\n", prog);
        exit(2);
    }
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
    act_config_t ac = {.schedulers = argc > 2 ? (unsigned)atoi(argv[2]) : 0};
    int rc = act_system_start(&ac);
    if (rc) {
        fprintf(stderr, "%s: %s\n", prog, act_strerror(rc));
        exit(1);
    }
    signal(SIGINT, serve_on_signal);
    signal(SIGTERM, serve_on_signal);
    return (uint16_t)atoi(argv[1]);
}

#endif
