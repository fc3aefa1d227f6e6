/*
 * dynctl status: what the node runs, as its control socket reports it (dyn_node_status).
 */
#include <stdio.h>
#include <stdlib.h>

#include "dynctl.h"

static int status(int argc, char **argv);

const dynctl_cmd_t dynctl_status = {
    .name = "status",
    .fn = status,
    .summary = "print a node's supervision tree, Dynamos, connections and schedulers",
    .help = "usage: dynctl status [PATH] [--env E | --node NAME]\n"
            "\n"
            "Prints what the node of the project in PATH (default .) runs:\n"
            "  - the node: application, environment, pid, uptime;\n"
            "  - each scheduler's utilisation over a quarter of a second, the actor count;\n"
            "  - each application's supervision tree: supervisors with their strategy,\n"
            "    workers, restart counts, mailbox lengths, servers' states, and which\n"
            "    supervisor is a Dynamo's;\n"
            "  - each Dynamo: address, environment, routes, requests, crashes, open\n"
            "    connections, and in dev the version of its reloaded web code.\n"
            "\n"
            "Exit status: 0, 3 not running, 7 permission denied, 11 no answer.\n",
};

static int status(int argc, char **argv)
{
    dynctl_project_t p;
    char *answer;
    const char *body;
    int rc = dynctl_query(&dynctl_status, argc, argv, "status", 10000, &p, &answer, &body);
    if (rc)
        return rc < 0 ? DYNCTL_EXIT_OK : rc;
    fputs(body, stdout);
    free(answer);
    return DYNCTL_EXIT_OK;
}
