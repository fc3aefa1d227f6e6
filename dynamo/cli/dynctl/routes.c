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
    dynctl_project_t p;
    char *answer;
    const char *body;
    int rc = dynctl_query(&dynctl_routes, argc, argv, "routes", 10000, &p, &answer, &body);
    if (rc)
        return rc < 0 ? DYNCTL_EXIT_OK : rc;
    fputs(body, stdout);
    free(answer);
    return DYNCTL_EXIT_OK;
}
