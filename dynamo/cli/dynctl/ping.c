/*
 * dynctl ping: is the node up? "pong" and status 0, or why not and a non-zero status.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dynctl.h"

static int ping(int argc, char **argv);

const dynctl_cmd_t dynctl_ping = {
    .name = "ping",
    .fn = ping,
    .summary = "check that a node runs (prints pong)",
    .help = "usage: dynctl ping [PATH] [--env E | --node NAME]\n"
            "\n"
            "Asks the node of the project in PATH (default .) over its control socket.\n"
            "Prints `pong` and exits 0 when it runs; exits 3 when it does not run (removing\n"
            "a stale pid file), 1 while it is still starting, 7 when its socket belongs to\n"
            "another user, 11 when it does not answer within 5 s.\n",
};

static int ping(int argc, char **argv)
{
    dynctl_project_t p;
    char *answer;
    const char *body;
    int rc = dynctl_query(&dynctl_ping, argc, argv, "ping", 5000, &p, &answer, &body);
    if (rc)
        return rc < 0 ? DYNCTL_EXIT_OK : rc;
    rc = strcmp(body, "pong\n") == 0 ? DYNCTL_EXIT_OK : DYNCTL_EXIT_FAILED;
    if (rc == DYNCTL_EXIT_OK)
        fputs(body, stdout);
    else
        dynctl_note("%s (%s) is %.*s", p.name, p.node, (int)strcspn(body, "\n"), body);
    free(answer);
    return rc;
}
