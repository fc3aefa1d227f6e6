/*
 * hello: the example application as a node (`mix server`).
 *
 *   hello [--port N] [--env dev|test|prod] [--schedulers N]
 *
 * Serves on 127.0.0.1:N (default 4000) until SIGTERM or SIGINT; prints the address once it
 * serves. The secret that keys session cookies comes from SECRET_KEY_BASE (64 bytes or more;
 * `head -c 48 /dev/urandom | base64` makes one): required in prod, a fixed dev one otherwise. Exit
 * status as act_node_run's: 0 after a requested stop, 2 if it could not start (a taken port: the
 * reason is on stderr).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hello.h"

static void started(void *arg)
{
    (void)arg;
    dyn_info_t info;
    if (dyn_info("hello", &info) == 0) {
        printf("hello: serving on http://%s:%u (%s)\n", info.host, info.port,
               dyn_env_name(info.env));
        fflush(stdout);
    }
}

static int usage(void)
{
    fprintf(stderr, "usage: hello [--port N] [--env dev|test|prod] [--schedulers N]\n");
    return 2;
}

int main(int argc, char **argv)
{
    act_node_opts_t opts = {.started = started};
    for (int i = 1; i < argc; i++) {
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(argv[i], "--port") == 0 && v) {
            char *end;
            long p = strtol(v, &end, 10);
            if (*end || p < 0 || p > 65535)
                return usage();
            hello_dynamo.port = (uint16_t)p;
        } else if (strcmp(argv[i], "--env") == 0 && v) {
            if (dyn_env_parse(v, &hello_dynamo.env) != 0)
                return usage();
        } else if (strcmp(argv[i], "--schedulers") == 0 && v) {
            opts.system.schedulers = (unsigned)atoi(v);
        } else {
            return usage();
        }
        i++;
    }
    const char *secret = getenv("SECRET_KEY_BASE");
    if (secret && *secret) {
        hello_dynamo.secret = secret;
    } else if (hello_dynamo.env == DYN_ENV_PROD) {
        fprintf(stderr, "hello: set SECRET_KEY_BASE (64 bytes or more) to run in prod\n");
        return 2;
    }
    return act_node_run(&hello_app, &opts);
}
