/*
 * dynctl routes: the route table of each Dynamo of the running node (dyn_routes_text).
 */
#include <stdio.h>
#include <stdlib.h>

#include "dynctl.h"

static int routes(int argc, char **argv);

const dynctl_cmd_t dynctl_routes = {
    .name = "routes",
    .fn = routes,
    .summary = "print the route table of each Dynamo of a running node",
    .help = "usage: dynctl routes [PATH] [--env E | --node NAME]\n"
            "\n"
            "Prints, for each Dynamo of the node of the project in PATH (default .), its\n"
            "routes as the running code has them (in dev: the last web/ that built): method,\n"
            "path, the router, the handler and its hooks, forwards included.\n"
            "\n"
            "Exit status: 0, 3 not running, 7 permission denied, 11 no answer.\n",
};

static int routes(int argc, char **argv)
{
    dynctl_opts_t o;
    int rc = dynctl_parse(&dynctl_routes, argc, argv, "env node", &o);
    if (rc)
        return rc == 1 ? DYNCTL_EXIT_OK : rc;
    dynctl_project_t p;
    if ((rc = dynctl_project_running(o.path, o.env, o.node, &p)))
        return rc;
    char *answer;
    const char *body;
    if ((rc = dynctl_ask(&p, "routes", 10000, &answer, &body)))
        return rc;
    fputs(body, stdout);
    free(answer);
    return DYNCTL_EXIT_OK;
}
