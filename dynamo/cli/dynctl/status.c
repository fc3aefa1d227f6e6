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
    dynctl_opts_t o;
    int rc = dynctl_parse(&dynctl_status, argc, argv, "env node", &o);
    if (rc)
        return rc == 1 ? DYNCTL_EXIT_OK : rc;
    dynctl_project_t p;
    if ((rc = dynctl_project_running(o.path, o.env, o.node, &p)))
        return rc;
    char *answer;
    const char *body;
    if ((rc = dynctl_ask(&p, "status", 10000, &answer, &body)))
        return rc;
    fputs(body, stdout);
    free(answer);
    return DYNCTL_EXIT_OK;
}
